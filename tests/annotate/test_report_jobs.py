"""Agreement and the aggregate as a JobRun: a big campaign's agreement page and dashboard read
the latest report job's result (with a message until one has run); a small campaign's are
computed as the page loads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import JobKind, JobRun, JobStatus
from annotate.services.jobs import claim_job, fail_job
from annotate.services.reports import run_report_job, start_report_job
from tests.annotate.exports.helpers import label_by_human
from tests.conftest import build_campaign, logged_in, make_user

NOT_COMPUTED = "have not been computed yet"


@pytest.fixture
def labelled(pm, annotator, second_annotator):
    """Two items, each labelled by both annotators: they agree on the first (A, A) and not
    on the second (A, B)."""
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=2, overlap=2)
    for first, second in ((-2, -2), (-1, 2)):
        label_by_human(campaign, annotator, first)
        label_by_human(campaign, second_annotator, second)
    return campaign


def agreement_page(user, campaign) -> str:
    return logged_in(user).get(reverse("campaign_agreement", args=[campaign.slug])).content.decode()


def test_a_small_campaigns_agreement_is_computed_as_the_page_loads(labelled, pm):
    html = agreement_page(pm, labelled)
    assert "2 items, 2 pairs" in html and "Computed as the page loaded" in html
    assert "1 of 2 instances have a final label" in html  # the 1–1 split has none
    assert not JobRun.objects.filter(kind=JobKind.REPORT).exists()


def test_a_big_campaign_shows_a_message_until_a_report_job_has_run(labelled, pm, settings):
    settings.REPORT_INLINE_MAX_LABELS = 3  # the campaign has 4 labels
    assert NOT_COMPUTED in agreement_page(pm, labelled)
    dashboard = logged_in(pm).get(reverse("campaign_dashboard", args=[labelled.slug])).content.decode()
    assert NOT_COMPUTED in dashboard

    response = logged_in(pm).post(reverse("recompute_campaign_report", args=[labelled.slug]))
    assert response.status_code == 302
    job = JobRun.objects.get(kind=JobKind.REPORT, campaign=labelled)
    assert (job.status, job.task_name, job.created_by) == (JobStatus.QUEUED, "annotate.recompute_report", pm)
    assert f"job #{job.pk}" in agreement_page(pm, labelled)  # shown as queued

    run_report_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == (JobStatus.SUCCEEDED, 1, 1)
    html = agreement_page(pm, labelled)
    assert NOT_COMPUTED not in html and "2 items, 2 pairs" in html and "by a report job" in html
    assert "1 of 2 instances have a final label" in html
    dashboard = logged_in(pm).get(reverse("campaign_dashboard", args=[labelled.slug])).content.decode()
    assert "2 items, 2 pairs" in dashboard
    job_page = logged_in(pm).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("campaign_agreement", args=[labelled.slug]) in job_page and "human_alpha" not in job_page


def test_under_dawid_skene_the_aggregate_comes_from_a_report_job_even_for_a_small_campaign(labelled, pm):
    # Dawid–Skene fits every label of the campaign at once: too slow to redo on each poll.
    labelled.aggregation_policy = "dawid_skene"
    labelled.save(update_fields=["aggregation_policy"])
    html = agreement_page(pm, labelled)
    assert "2 items, 2 pairs" in html and "so it is not computed while the page loads" in html
    run_report_job(job_id=start_report_job(campaign=labelled, created_by=pm).pk)
    html = agreement_page(pm, labelled)
    assert "Aggregate under the <code>dawid_skene</code> policy" in html and "of 2 instances have a final label" in html


def test_recompute_while_a_report_job_is_pending_starts_no_second_one(labelled, pm):
    first = start_report_job(campaign=labelled, created_by=pm)
    assert start_report_job(campaign=labelled, created_by=pm) == first
    run_report_job(job_id=first.pk)
    assert start_report_job(campaign=labelled, created_by=pm) != first


def test_a_failed_report_job_is_shown_with_its_error_and_the_last_result_stays(labelled, pm, settings):
    settings.REPORT_INLINE_MAX_LABELS = 3
    done = start_report_job(campaign=labelled, created_by=pm)
    run_report_job(job_id=done.pk)
    failed = start_report_job(campaign=labelled, created_by=pm)
    fail_job(job=claim_job(job_id=failed.pk), error="The database went away.")
    html = agreement_page(pm, labelled)
    assert "The last recompute failed: The database went away." in html
    assert "2 items, 2 pairs" in html  # the earlier result is still shown


@pytest.mark.parametrize("who", ["other_pm", "annotator", "researcher", "outsider"])
def test_only_the_campaigns_pms_may_recompute(labelled, annotator, researcher, outsider, who):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Theirs", n_instances=0)
    labelled.memberships.create(user=researcher, role="researcher")
    user = {"other_pm": other_pm, "annotator": annotator, "researcher": researcher, "outsider": outsider}[who]
    response = logged_in(user).post(reverse("recompute_campaign_report", args=[labelled.slug]))
    assert response.status_code in (403, 404)
    assert not JobRun.objects.filter(kind=JobKind.REPORT).exists()


@pytest.mark.worker
def test_a_real_worker_runs_the_recompute_started_from_the_page(celery_worker_all_queues, settings):
    from tests.test_end_to_end import wait_for_job

    settings.REPORT_INLINE_MAX_LABELS = 0
    pm, first, second = make_user("pm"), make_user("ann-1"), make_user("ann-2")
    campaign = build_campaign(pm=pm, annotators=[first, second], n_instances=1, overlap=2)
    label_by_human(campaign, first, -2)
    label_by_human(campaign, second, -2)
    logged_in(pm).post(reverse("recompute_campaign_report", args=[campaign.slug]))
    job = wait_for_job(campaign.jobs.get(kind=JobKind.REPORT).pk, timeout=60)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "1 items, 1 pairs" in agreement_page(pm, campaign)
