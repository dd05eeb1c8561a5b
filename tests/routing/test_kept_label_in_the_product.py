"""In a routed campaign the seed decides which label LLM-routed items keep: the jury job stores
the main judge's own label (its strength and confidence) where the run chose it and the judge is
decisive, the reliability-weighted jury label elsewhere, and says which in the stored row."""

from __future__ import annotations

import pytest

from annotate.judgements import PairwiseJudgement
from annotate.models import Annotation, AnnotationSource, JobKind, JobStatus
from annotate.services.annotations import LLMPairwiseLabel, record_llm_annotations
from annotate.services.jobs import create_job
from routing.campaign_routing import run_jury_label_job
from routing.models import Route, RoutingDecision, RoutingRun
from tests.conftest import build_campaign, make_user

JUDGES = {"strong": ("strong/model", "p1"), "variant": ("variant/model", "p1")}


def judge(campaign, name, preferences):
    model, version = JUDGES[name]
    labels = [
        LLMPairwiseLabel(
            instance_id=instance.pk,
            model_name=model,
            prompt_version=version,
            judgement=PairwiseJudgement(overall_preference=preference, confidence=0.8),
            raw_output={},
        )
        for instance, preference in zip(campaign.instances.order_by("pk"), preferences, strict=True)
    ]
    record_llm_annotations(campaign=campaign, labels=labels)


def routed_run(campaign, pm, *, kept_source):
    reliability = {
        "strong": {"seen": 20, "matched": 18, "accuracy": 0.86, "weight": 1.8},
        "variant": {"seen": 20, "matched": 13, "accuracy": 0.64, "weight": 0.58},
    }
    run = RoutingRun.objects.create(
        campaign=campaign,
        created_by=pm,
        strategy="error-model",
        budget=0,
        main_annotator="strong",
        jury=["variant"],
        annotator_identities={name: list(identity) for name, identity in JUDGES.items()},
        n_instances=3,
        n_llm=3,
        model_details={
            "reliability": reliability,
            "kept_label": {
                "source": kept_source,
                "main_agreement": 0.9,
                "jury_agreement": 0.65,
                "seed_items": 20,
                "main_annotator": "strong",
            },
        },
    )
    for rank, instance in enumerate(campaign.instances.order_by("pk"), start=1):
        RoutingDecision.objects.create(
            run=run, instance=instance, route=Route.LLM, rank=rank,
            expected_gain=0.1, p_llm_wrong=0.2, p_human_decisive=0.5,
        )  # fmt: skip
    job = create_job(
        kind=JobKind.LLM_ANNOTATION,
        campaign=campaign,
        created_by=pm,
        params={"backend": "jury", "routing_run": run.pk},
    )
    run_jury_label_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return run


def kept_labels(campaign):
    return list(
        Annotation.objects.filter(
            campaign=campaign, source=AnnotationSource.LLM, model_name="jury"
        ).order_by("instance_id")
    )


@pytest.mark.django_db
def test_where_the_seed_chose_the_main_judge_its_own_labels_are_kept():
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=3)
    # The strong judge: "clearly A", a tie (its orders disagreed), "slightly B".
    judge(campaign, "strong", [-2, 0, 1])
    # Six variants would outvote it; here one with a weight of its own.
    judge(campaign, "variant", [2, 2, -2])
    run = routed_run(campaign, pm, kept_source="main")

    first, tied, third = kept_labels(campaign)
    assert (first.overall_preference, first.confidence) == (-2, 0.8)
    assert (third.overall_preference, third.confidence) == (1, 0.8)
    for label in (first, third):
        assert label.prompt_version == "jury-v1/main"
        assert label.raw_output["kept"] == "main" and label.raw_output["kept_from"] == "strong"
        assert (
            "matched 90% of the human labels and the jury 65%" in label.raw_output["justification"]
        )
    # Undecided, the main judge's tie is no label: the jury's weighted vote fills in (B).
    assert tied.prompt_version == "jury-v1" and tied.raw_output["kept"] == "jury"
    assert tied.overall_preference > 0
    assert run.model_details["kept_label"]["source"] == "main"


@pytest.mark.django_db
def test_where_the_seed_chose_the_jury_every_label_is_the_weighted_vote_and_a_switch_is_a_revision():
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=3)
    judge(campaign, "strong", [-2, 0, 1])
    judge(campaign, "variant", [2, 2, -2])
    routed_run(campaign, pm, kept_source="main")
    routed_run(campaign, pm, kept_source="jury")

    labels = kept_labels(campaign)
    assert len(labels) == 3  # revised in place, never a second label per item
    assert {label.prompt_version for label in labels} == {"jury-v1"}
    assert {label.raw_output["kept"] for label in labels} == {"jury"}
    first = labels[0]
    # strong 1.8 for A against variant 0.58 for B: A, slightly (P(A) = 0.77).
    assert first.overall_preference == -1 and first.revision == 2
    assert first.raw_output["previous"]["overall_preference"] == -2
    assert first.raw_output["justification"].startswith("Reliability-weighted jury of 2")
