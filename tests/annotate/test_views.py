"""Pages: who may see what, the HTMX submit-and-next loop, escaping, CSRF."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation, Assignment, Response
from annotate.services.assignments import claim_next_assignment
from tests.conftest import HTMX, build_campaign, logged_in, simple_pairwise_post, stored_answers

answer = simple_pairwise_post


def test_anonymous_visitors_are_sent_to_log_in(campaign):
    response = Client().get(reverse("label_next", args=[campaign.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_outsiders_cannot_tell_a_campaign_exists(campaign, outsider):
    client = logged_in(outsider)
    assert client.get(reverse("campaign_detail", args=[campaign.slug])).status_code == 404
    assert client.get(reverse("label_next", args=[campaign.slug])).status_code == 404


def test_annotators_cannot_reach_project_manager_or_researcher_pages(campaign, annotator):
    client = logged_in(annotator)
    assert client.get(reverse("import_instances", args=[campaign.slug])).status_code == 403
    assert client.post(reverse("start_llm_job", args=[campaign.slug])).status_code == 403
    assert client.get(reverse("download_export", args=[campaign.slug, "dpo"])).status_code == 403


def test_researchers_cannot_label(campaign, researcher):
    assert logged_in(researcher).get(reverse("label_next", args=[campaign.slug])).status_code == 403


def test_label_page_shows_the_annotators_item_with_both_responses(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    response = client.get(reverse("label_next", args=[campaign.slug]))
    assignment = Assignment.objects.get(annotator=annotator)
    body = response.content.decode()
    assert response.status_code == 200
    for text in assignment.instance.responses.values_list("text", flat=True):
        assert text in body
    assert 'id="task-form"' in body and "hx-post" in body


def test_htmx_submit_saves_and_returns_the_next_item(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(reverse("submit_label", args=[campaign.slug, first.pk]), answer(), **HTMX)
    assert response.status_code == 200
    saved = Annotation.objects.get(assignment=first)
    assert saved.overall_preference == -2
    assert stored_answers(saved) == {
        ("overall", None): -2,
        ("helpfulness", None): -1,
        ("justification", None): "@A is correct.",
    }
    nxt = Assignment.objects.exclude(pk=first.pk).get(annotator=annotator)
    assert f'data-assignment="{nxt.pk}"' in response.content.decode()
    assert "<html" not in response.content.decode()  # a partial, not a page


def test_missing_justification_keeps_the_item_and_says_why(campaign, annotator):
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    first = Assignment.objects.get(annotator=annotator)
    response = client.post(
        reverse("submit_label", args=[campaign.slug, first.pk]), answer(justification=""), **HTMX
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert f'data-assignment="{first.pk}"' in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_annotator_cannot_submit_someone_elses_assignment(campaign, annotator, second_annotator):
    theirs = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    response = logged_in(annotator).post(
        reverse("submit_label", args=[campaign.slug, theirs.pk]), answer(), **HTMX
    )
    assert response.status_code == 404
    assert not Annotation.objects.exists()


def test_model_text_is_rendered_as_sanitised_markdown(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    Response.objects.filter(position=0).update(
        text="**bold** <script>alert('x')</script> <img src=x onerror=alert(1)> [link](javascript:alert(1))"
    )
    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    body = client.get(reverse("label_next", args=[campaign.slug])).content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert" not in body
    # Raw HTML is shown as text, so the annotator sees the attribute but no <img> tag exists.
    assert "<img" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "javascript:" not in body


def test_raw_html_in_prompts_and_responses_is_shown_as_text(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    instance = campaign.instances.get()
    instance.messages = [{"role": "user", "content": "Show me <b>bold</b>"}]
    instance.save(update_fields=["messages"])
    Response.objects.filter(position=1).update(text="Use <em>em</em> &amp; `a < b`")

    client = logged_in(annotator)
    client.post(reverse("label_claim", args=[campaign.slug]))
    body = client.get(reverse("label_next", args=[campaign.slug])).content.decode()

    assert "Show me &lt;b&gt;bold&lt;/b&gt;" in body
    assert "Use &lt;em&gt;em&lt;/em&gt; &amp;amp; <code>a &lt; b</code>" in body


def test_pages_load_the_code_highlight_stylesheet_after_the_app_stylesheet(campaign, annotator):
    body = logged_in(annotator).get(reverse("label_next", args=[campaign.slug])).content.decode()

    app = body.index('href="/static/css/app.css"')
    assert body.index('href="/static/css/codehilite.css"') > app


def test_posting_without_a_csrf_token_is_refused(campaign, annotator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    claim_next_assignment(campaign=campaign, annotator=annotator)
    assignment = Assignment.objects.get(annotator=annotator)
    response = client.post(reverse("submit_label", args=[campaign.slug, assignment.pk]), answer())
    assert response.status_code == 403
    assert not Annotation.objects.exists()


def test_pm_upload_page_lists_every_row_error_and_imports_nothing(campaign, pm):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = campaign.instances.count()
    bad = b'{"id": "x1", "prompt": "hi", "responses": [{"text": "a"}, {"text": "b"}]}\n{"id": "x2", "prompt": "hi"}\n'
    response = logged_in(pm).post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile("bad.jsonl", bad), "file_format": "generic"},
    )
    assert response.status_code == 400
    assert "nothing was imported" in response.content.decode()
    assert "responses" in response.content.decode()
    assert campaign.instances.count() == before


def test_pm_upload_page_imports_a_valid_file(campaign, pm):
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = b'{"id": "new-1", "prompt": "hi", "responses": [{"text": "a"}, {"text": "b"}]}\n'
    response = logged_in(pm).post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile("good.jsonl", good), "file_format": "generic"},
    )
    assert response.status_code == 302
    assert campaign.instances.filter(external_id="new-1").exists()


@pytest.mark.parametrize("role_fixture", ["pm", "researcher"])
def test_managers_and_researchers_see_progress(campaign, role_fixture, request):
    user = request.getfixturevalue(role_fixture)
    response = logged_in(user).get(reverse("campaign_detail", args=[campaign.slug]))
    assert response.status_code == 200 and 'id="progress"' in response.content.decode()


def test_api_import_reports_row_errors_as_json(campaign, pm):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = logged_in(pm).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile("bad.jsonl", b'{"id": 1}\n'), "format": "generic"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_rejected" and "nothing was imported" in error["message"]
    assert error["details"][0]["line"] == 1


def test_api_import_refuses_annotators(campaign, annotator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = logged_in(annotator).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile("x.jsonl", b"{}"), "format": "generic"},
    )
    assert response.status_code == 403


def test_site_admin_can_open_the_campaign_admin_with_its_members(campaign):
    from tests.conftest import make_user

    admin_user = make_user("root", is_staff=True, is_superuser=True)
    client = logged_in(admin_user)
    response = client.get(reverse("admin:annotate_campaign_change", args=[campaign.pk]))
    assert response.status_code == 200
    assert "annotator1" in response.content.decode()


def test_pm_upload_over_the_inline_limit_becomes_a_job_with_a_progress_page(campaign, pm, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from annotate.models import JobRun

    settings.IMPORT_INLINE_MAX_BYTES = 10
    good = b'{"id": "big-1", "prompt": "hi", "responses": [{"text": "a"}, {"text": "b"}]}\n'
    client = logged_in(pm)
    response = client.post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile("good.jsonl", good), "file_format": "generic"},
    )
    job = JobRun.objects.get(kind="import")
    assert response.status_code == 302 and response["Location"] == reverse("job_detail", args=[job.pk])
    with job.upload.open_content() as stored:
        assert stored.read() == good
    assert 'hx-trigger="every 1s"' in client.get(response["Location"]).content.decode()


def test_api_refuses_a_file_over_the_size_limit_with_413(campaign, pm, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.IMPORT_MAX_BYTES = 10
    response = logged_in(pm).post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile("x.jsonl", b"x" * 11), "format": "generic"},
    )
    assert response.status_code == 413
    assert not campaign.jobs.exists()


def test_the_deadline_is_shown_to_annotators_and_on_the_pm_dashboard(campaign, annotator, pm):
    import datetime as dt

    from django.utils import timezone

    campaign.deadline = timezone.make_aware(dt.datetime(2031, 5, 17, 18, 30))
    campaign.save(update_fields=["deadline"])

    labelling = logged_in(annotator).get(reverse("label_next", args=[campaign.slug]))
    assert b"due 2031-05-17 18:30" in labelling.content
    dashboard = logged_in(pm).get(reverse("campaign_dashboard", args=[campaign.slug]))
    assert b"Deadline 2031-05-17 18:30" in dashboard.content and b"(passed)" not in dashboard.content
