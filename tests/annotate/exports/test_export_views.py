"""The campaign page's export section: researchers start jobs and download files; nobody else
learns the files exist."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotate.models import ExportFile, JobRun
from annotate.services.exports import run_export_job
from tests.annotate.exports.helpers import export, labelled_campaign
from tests.conftest import HTMX, logged_in


def test_a_researcher_starts_an_export_from_the_campaign_page(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)
    client = logged_in(researcher)

    page = client.get(reverse("campaign_detail", args=[campaign.slug]))
    assert b'id="exports"' in page.content
    response = client.post(
        reverse("campaign_exports", args=[campaign.slug]),
        {"format": "dpo_standard", "file_type": "parquet", "validation_fraction": "0.1", "split": "on"},
        **HTMX,
    )

    assert response.status_code == 200
    job = JobRun.objects.get(campaign=campaign, kind="export")
    assert job.params["format"] == "dpo_standard" and job.params["split"] is True
    assert job.task_name == "annotate.run_export" and job.queue == "default"
    run_export_job(job_id=job.pk)
    listing = client.get(reverse("campaign_exports", args=[campaign.slug]), **HTMX)
    for stored in ExportFile.objects.filter(job=job):
        assert stored.name.encode() in listing.content


def test_a_researcher_downloads_a_finished_file(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)
    job = export(campaign, researcher, "dpo")
    stored = ExportFile.objects.exclude(name="README.md").get(job=job)

    response = logged_in(researcher).get(reverse("download_export_file", args=[campaign.slug, stored.pk]))

    assert response.status_code == 200
    assert f'filename="{stored.name}"' in response["Content-Disposition"]
    assert len(b"".join(response.streaming_content).splitlines()) == 3


def test_a_site_admin_downloads_too(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)
    stored = ExportFile.objects.filter(job=export(campaign, researcher, "dpo")).first()
    admin = get_user_model().objects.create_superuser("root", password="root-pw")

    response = logged_in(admin).get(reverse("download_export_file", args=[campaign.slug, stored.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("who", ["pm", "annotator", "outsider"])
def test_everyone_else_gets_404_for_files_and_the_export_section(request, campaign, annotator, researcher, who):
    labelled_campaign(campaign, annotator)
    stored = ExportFile.objects.filter(job=export(campaign, researcher, "dpo")).first()
    client = logged_in(request.getfixturevalue(who))

    assert client.get(reverse("download_export_file", args=[campaign.slug, stored.pk])).status_code == 404
    assert client.get(reverse("campaign_exports", args=[campaign.slug])).status_code == 404
    assert client.post(reverse("campaign_exports", args=[campaign.slug]), {"format": "dpo"}).status_code == 404


def test_a_file_of_another_campaign_is_404(campaign, annotator, researcher, pm):
    from tests.conftest import build_campaign

    labelled_campaign(campaign, annotator)
    stored = ExportFile.objects.filter(job=export(campaign, researcher, "dpo")).first()
    other = build_campaign(pm=pm, researchers=[researcher], n_instances=1, name="Other")

    response = logged_in(researcher).get(reverse("download_export_file", args=[other.slug, stored.pk]))

    assert response.status_code == 404


def test_the_streamed_dpo_download_still_works(campaign, annotator, researcher):
    labelled_campaign(campaign, annotator)

    response = logged_in(researcher).get(reverse("download_export", args=[campaign.slug, "dpo"]))

    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 3
