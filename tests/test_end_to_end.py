"""The whole slice with a real Celery worker: import → human labels → LLM job → export."""

from __future__ import annotations

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation, Assignment, JobRun, JobStatus
from tests.conftest import build_campaign, make_user, pairwise_rows

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def wait_for_job(job_id: int, *, timeout: float) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = JobRun.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} still {JobRun.objects.get(pk=job_id).status} after {timeout}s")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_import_label_llm_job_and_export_with_provenance(celery_worker_all_queues, settings):
    settings.IMPORT_INLINE_MAX_BYTES = 100  # force the background-job path for the upload
    pm, annotator, researcher = make_user("pm"), make_user("ann"), make_user("res")
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=0)

    # 1. The PM uploads through the API; the file is large enough to become a job.
    upload = SimpleUploadedFile("items.jsonl", pairwise_rows(12, prefix="e2e"))
    response = client_for(pm).post(
        reverse("api_import", args=[campaign.slug]), {"file": upload, "format": "generic"}
    )
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"], timeout=60)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result == {"created": 12, "labels_imported": 0, "answers_not_in_task": {}}
    assert client_for(pm).get(reverse("api_job", args=[job.pk])).json()["status"] == "succeeded"

    # 2. An annotator labels three items in the browser flow (HTMX submit-and-next).
    annotator_client = client_for(annotator)
    annotator_client.post(reverse("label_claim", args=[campaign.slug]))
    for preference in ("B-is-clearly-better", "A-is-slightly-better", "Tie"):
        assignment = Assignment.objects.get(annotator=annotator, status="leased")
        annotator_client.post(
            reverse("submit_label", args=[campaign.slug, assignment.pk]),
            {"overall": preference, "justification": "spec"},
            HTTP_HX_REQUEST="true",
        )
    human_ids = set(
        Annotation.objects.filter(source="human").values_list("instance__external_id", flat=True)
    )
    assert len(human_ids) == 3
    # The annotator's fourth item is leased and open: the LLM job leaves it alone.
    leased = Assignment.objects.get(annotator=annotator, status="leased").instance.external_id

    # 3. The PM starts the local judge; the worker labels the rest.
    response = client_for(pm).post(reverse("start_llm_job", args=[campaign.slug]))
    llm_job_id = int(response["Location"].rstrip("/").split("/")[-1])
    llm_job = wait_for_job(llm_job_id, timeout=300)
    assert llm_job.status == JobStatus.SUCCEEDED, llm_job.error
    assert llm_job.result["judged"] == 8 and llm_job.result["created"] == 8
    llm_labels = Annotation.objects.filter(source="llm")
    assert llm_labels.count() == 8
    model_name = llm_labels.first().model_name
    assert model_name.startswith("local-rm/")
    assert all(0.0 <= a.raw_output["prob_a"] <= 1.0 for a in llm_labels)

    # 4. The researcher downloads the DPO export; every row says where its label came from.
    response = client_for(researcher).get(reverse("download_export", args=[campaign.slug, "dpo"]))
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    by_id = {row["id"]: row for row in rows}
    tie_id = next(
        a.instance.external_id for a in Annotation.objects.filter(source="human", overall_preference=0)
    )
    assert tie_id not in by_id and leased not in by_id
    for external_id in human_ids - {tie_id}:
        assert by_id[external_id]["provenance"]["label_source"] == "human"
    llm_rows = [row for row in rows if row["provenance"]["label_source"] == "llm"]
    assert all(row["provenance"]["annotators"][0].startswith(model_name) for row in llm_rows)
    # Judge ties (P(A) near 0.5) are dropped from DPO like human ties.
    llm_ties = llm_labels.filter(overall_preference=0).count()
    assert len(llm_rows) == 8 - llm_ties
    assert len(rows) == 2 + 8 - llm_ties


def test_a_rejected_background_import_reports_row_errors_on_the_job(celery_worker_all_queues, settings):
    settings.IMPORT_INLINE_MAX_BYTES = 10
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=0)
    bad = pairwise_rows(3) + b'\n{"id": "broken", "prompt": "x", "responses": []}\n'
    response = client_for(pm).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile("bad.jsonl", bad), "format": "generic"},
    )
    job = wait_for_job(response.json()["id"], timeout=60)
    assert job.status == JobStatus.FAILED
    assert job.error_details[0]["line"] == 4
    assert job.error_details[0]["field"] == "responses"
    assert campaign.instances.count() == 0
    page = client_for(pm).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "responses" in page and "nothing was imported" in page
