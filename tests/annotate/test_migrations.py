"""Migrating v1 rows (campaign-level task config, labels in JSON) onto task schemas, answer
rows, guideline versions and queue items loses nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("annotate", "0002_assignment_drafts_and_annotation_revisions")]
AFTER = [("annotate", "0006_one_answer_per_single_choice_question")]


@pytest.fixture
def old_apps(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate_forward():
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    return executor.loader.project_state(AFTER).apps


def test_v1_campaigns_labels_and_leases_move_onto_the_v2_model(old_apps):
    User = old_apps.get_model("auth", "User")
    Campaign = old_apps.get_model("annotate", "Campaign")
    Instance = old_apps.get_model("annotate", "Instance")
    Response = old_apps.get_model("annotate", "Response")
    Assignment = old_apps.get_model("annotate", "Assignment")
    Annotation = old_apps.get_model("annotate", "Annotation")
    now = timezone.now()
    person = User.objects.create(username="old-annotator")
    campaign = Campaign.objects.create(
        name="Old", slug="old", task_kind="both", pairwise_aspects=["helpfulness", "harmlessness"],
        rating_scales=[{"name": "helpfulness", "min": 0, "max": 4}], require_justification=True,
        guidelines_markdown="# Now v3", guidelines_version=3, overlap=2,
    )
    labelled, leased, fresh = (
        Instance.objects.create(campaign=campaign, external_id=f"i{n}", messages=[{"role": "user", "content": "q"}])
        for n in range(3)
    )
    fresh.metadata = {"helpsteer2_ratings": {"0": {"helpfulness": 2}, "1": {"helpfulness": 4}}, "note": "kept"}
    fresh.save()
    leased.metadata = {"source": "hh-rlhf", "source_preference": "B"}
    leased.save()
    for instance in (labelled, leased, fresh):
        for position in (0, 1):
            Response.objects.create(instance=instance, position=position, text=f"r{position}")
    done = Assignment.objects.create(
        campaign=campaign, instance=labelled, annotator=person, status="submitted",
        leased_at=now, lease_expires_at=now, submitted_at=now,
    )
    Assignment.objects.create(
        campaign=campaign, instance=leased, annotator=person, status="leased",
        leased_at=now, lease_expires_at=now, draft={"justification": "half"},
    )
    Annotation.objects.create(
        campaign=campaign, instance=labelled, source="human", assignment=done, annotator=person,
        overall_preference=-1, aspect_preferences={"helpfulness": -2, "style": 1},
        ratings={"0": {"helpfulness": 3}, "1": {"helpfulness": 1, "verbosity": 4}},
        justification="@A is right", guidelines_version=1, time_spent_seconds=9.0,
    )
    Annotation.objects.create(
        campaign=campaign, instance=labelled, source="llm", model_name="judge", prompt_version="v1",
        overall_preference=2, guidelines_version=3, confidence=0.7,
    )

    apps = migrate_forward()

    Campaign = apps.get_model("annotate", "Campaign")
    Annotation = apps.get_model("annotate", "Annotation")
    QueueItem = apps.get_model("annotate", "QueueItem")
    Assignment = apps.get_model("annotate", "Assignment")
    campaign = Campaign.objects.get(slug="old")
    schema = campaign.task_schema
    questions = {q.key: q for q in schema.questions.all()}
    assert questions["overall"].primary and questions["overall"].kind == "pairwise"
    assert sorted(o.value for o in questions["overall"].options.all()) == [-2, -1, 0, 1, 2]
    assert questions["helpfulness"].kind == "pairwise" and not questions["helpfulness"].required
    assert questions["justification"].required
    ratings = sorted((q.key, q.label) for q in questions.values() if q.kind == "rating")
    assert ratings == [("helpfulness_rating", "Helpfulness"), ("verbosity", "Verbosity")]

    guidelines = {g.version: g.markdown for g in campaign.guideline_versions.all()}
    assert campaign.guidelines.version == 3 and guidelines[3] == "# Now v3"
    assert 1 in guidelines  # the version the human label was made under

    human = Annotation.objects.get(source="human")
    assert human.guidelines.version == 1 and human.task_schema_id == schema.pk
    rows = {
        (a.question.key, a.question.kind, a.response_position): a.value if a.option_id else a.text
        for a in human.answers.select_related("question")
    }
    assert rows[("overall", "pairwise", None)] == -1
    assert rows[("helpfulness", "pairwise", None)] == -2
    assert rows[("style", "pairwise", None)] == 1  # an aspect no longer configured is kept
    assert rows[("justification", "text", None)] == "@A is right"
    rating_rows = {(k, p): v for (k, kind, p), v in rows.items() if kind == "rating"}
    assert rating_rows == {
        ("helpfulness_rating", 0): 3, ("helpfulness_rating", 1): 1, ("verbosity", 1): 4,
    }
    assert human.answers.count() == 7
    llm = Annotation.objects.get(source="llm")
    assert llm.overall_preference == 2 and llm.guidelines.version == 3
    assert [a.value for a in llm.answers.all()] == [2]

    items = {q.instance.external_id: q for q in QueueItem.objects.select_related("instance")}
    assert {k: (q.slots_taken, q.required_overlap) for k, q in items.items()} == {
        "i0": (1, 2), "i1": (1, 2), "i2": (0, 2),
    }
    assert not Assignment.objects.filter(queue_item__isnull=True).exists()
    assert Assignment.objects.get(status="leased").draft == {"justification": "half"}

    Instance = apps.get_model("annotate", "Instance")
    release = Annotation.objects.get(external_annotator="helpsteer2-release")
    assert release.source == "imported" and release.instance.external_id == "i2"
    assert sorted((a.response_position, a.value) for a in release.answers.all()) == [(0, 2), (1, 4)]
    assert Instance.objects.get(external_id="i2").metadata == {"note": "kept"}
    crowd = Annotation.objects.get(external_annotator="hh-rlhf-crowdworker")
    assert crowd.instance.external_id == "i1" and crowd.overall_preference == 1


def test_v1_names_that_clash_or_do_not_fit_and_rows_of_three_responses_migrate(old_apps):
    User = old_apps.get_model("auth", "User")
    Campaign = old_apps.get_model("annotate", "Campaign")
    Instance = old_apps.get_model("annotate", "Instance")
    Response = old_apps.get_model("annotate", "Response")
    Assignment = old_apps.get_model("annotate", "Assignment")
    Annotation = old_apps.get_model("annotate", "Annotation")
    now = timezone.now()
    person = User.objects.create(username="v1-person")
    long_name = "Overall Quality, as judged by an expert reviewer with more than sixty characters!"
    campaign = Campaign.objects.create(
        name="Odd", slug="odd", task_kind="pairwise", pairwise_aspects=["overall", long_name, "justification"],
        rating_scales=[], require_justification=False, guidelines_markdown="", guidelines_version=1,
    )
    three = Instance.objects.create(campaign=campaign, external_id="three", messages=[{"role": "user", "content": "q"}])
    for position in range(3):
        Response.objects.create(instance=three, position=position, text=f"r{position}")
    done = Assignment.objects.create(
        campaign=campaign, instance=three, annotator=person, status="submitted",
        leased_at=now, lease_expires_at=now, submitted_at=now,
    )
    Annotation.objects.create(
        campaign=campaign, instance=three, source="human", assignment=done, annotator=person,
        overall_preference=1, aspect_preferences={"overall": -2, long_name: 2, "justification": 0},
        justification="why", guidelines_version=1,
    )

    apps = migrate_forward()

    Campaign = apps.get_model("annotate", "Campaign")
    Annotation = apps.get_model("annotate", "Annotation")
    campaign = Campaign.objects.get(slug="odd")
    keys = {q.key: (q.kind, q.primary) for q in campaign.task_schema.questions.all()}
    assert keys["overall"] == ("pairwise", True)
    assert keys["overall_aspect"] == ("pairwise", False)
    assert keys["justification"] == ("pairwise", False)
    assert keys["justification_text"] == ("text", False)
    long_keys = [k for k in keys if k.startswith("overall_quality")]
    assert len(long_keys) == 1 and len(long_keys[0]) <= 60
    label = Annotation.objects.get(source="human")
    rows = {a.question.key: a.value if a.option_id else a.text for a in label.answers.select_related("question")}
    assert rows == {"overall": 1, "overall_aspect": -2, long_keys[0]: 2, "justification": 0, "justification_text": "why"}
    item = apps.get_model("annotate", "QueueItem").objects.get(instance__external_id="three")
    assert (item.slots_taken, item.required_overlap) == (1, 1)  # kept, closed to new human labels
    assert apps.get_model("annotate", "Assignment").objects.get(pk=done.pk).display_order == [0, 1, 2]


def test_unfinished_jobs_from_before_0007_learn_the_task_that_runs_them(transactional_db):
    before = [("annotate", "0006_one_answer_per_single_choice_question")]
    after = [("annotate", "0007_jobrun_owner_and_task")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    JobRun = executor.loader.project_state(before).apps.get_model("annotate", "JobRun")
    running_import = JobRun.objects.create(kind="import", status="running")
    queued_judge = JobRun.objects.create(
        kind="llm_annotation", status="queued", params={"backend": "local_judge"}
    )
    finished_import = JobRun.objects.create(kind="import", status="succeeded")

    executor.loader.build_graph()
    executor.migrate(after)
    JobRun = executor.loader.project_state(after).apps.get_model("annotate", "JobRun")
    tasks = dict(JobRun.objects.values_list("pk", "task_name"))
    queues = dict(JobRun.objects.values_list("pk", "queue"))
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert tasks == {
        running_import.pk: "annotate.run_import",
        queued_judge.pk: "routing.gpu.annotate_with_local_judge",
        finished_import.pk: "",
    }
    assert queues[queued_judge.pk] == "gpu"
