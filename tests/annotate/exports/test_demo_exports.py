"""The demo, labelled as a new user would label it, exports in every format from the page and
through the API, and every file loads in ``datasets``."""

from __future__ import annotations

from collections import defaultdict

from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.exports import EXPORTERS
from annotate.models import Campaign, JobRun, QuestionKind
from annotate.services.annotations import submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment
from annotate.services.exports import run_export_job
from annotate.services.task_schemas import campaign_schema
from tests.annotate.exports.helpers import load
from tests.conftest import logged_in

LABELLED_PER_CAMPAIGN = 6


def answers_for(schema, k: int) -> list[AnswerInput]:
    """A full, schema-valid answer that varies with ``k``: pairwise questions alternate between
    the scale's two ends and its middle, ratings walk the scale, every text is filled."""
    answers = []
    for question in schema.questions:
        slots = (0, 1) if question.per_response else (None,)
        for slot in slots:
            if question.kind == QuestionKind.TEXT:
                answers.append(AnswerInput(question=question.key, slot=slot, text=f"Reason {k}."))
                continue
            options = [o for o in question.options if question.kind != QuestionKind.PAIRWISE or o.value is not None]
            if question.kind == QuestionKind.PAIRWISE:
                pick = (options[0], options[-1], options[len(options) // 2])[k % 3]
            else:
                pick = options[(k + (slot or 0)) % len(options)]
            answers.append(AnswerInput(question=question.key, slot=slot, codes=(pick.code,)))
    return answers


def label_demo(annotator) -> None:
    for campaign in Campaign.objects.all():
        schema = campaign_schema(campaign)
        for k in range(LABELLED_PER_CAMPAIGN):
            assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
            submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=answers_for(schema, k))


def test_the_labelled_demo_exports_in_every_format_from_the_page_and_the_api(db, settings, tmp_path):
    settings.DEBUG = True
    call_command("seed_demo_campaign", verbosity=0)
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    label_demo(users["annotator1"])
    page = logged_in(users["researcher"])
    api = APIClient()
    api.force_authenticate(users["researcher"])

    rows_by_format: dict[str, int] = defaultdict(int)
    for campaign in Campaign.objects.order_by("slug"):
        for format_name in EXPORTERS:
            started = page.post(
                reverse("campaign_exports", args=[campaign.slug]), {"format": format_name, "file_type": "jsonl", "validation_fraction": "0.1"}
            )
            assert started.status_code in (200, 302), (campaign.slug, format_name, started.content[:300])
            by_api = api.post(
                reverse("api_exports", args=[campaign.slug]), {"format": format_name, "file_type": "parquet"}, format="json"
            )
            assert by_api.status_code == 202, (campaign.slug, format_name, by_api.content[:300])
            jobs = JobRun.objects.filter(campaign=campaign, kind="export", params__format=format_name).order_by("pk")
            assert [j.params["file_type"] for j in jobs] == ["jsonl", "parquet"]
            counts = []
            for job in jobs:
                run_export_job(job_id=job.pk)
                job.refresh_from_db()
                assert job.status == "succeeded", (campaign.slug, format_name, job.error)
                if job.result["rows"]:
                    dataset = load(job, tmp_path)
                    assert len(dataset) == job.result["rows"]
                counts.append(job.result["rows"])
            assert counts[0] == counts[1], (campaign.slug, format_name, counts)  # JSONL and Parquet agree
            rows_by_format[format_name] += counts[0]

    # Every format fits at least one demo template, so each has rows once the demo is labelled.
    assert {name for name, rows in rows_by_format.items() if rows == 0} == set()
    print("rows per format over the labelled demo:", dict(sorted(rows_by_format.items())))
