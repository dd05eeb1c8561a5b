"""The import page's preview: first rows and every error, nothing written; then confirm."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate.models import Annotation, ImportUpload, Instance, JobRun
from annotate.services import import_preview
from annotate.services.import_preview import preview_import
from annotate.services.imports import import_instances
from tests.conftest import build_campaign, logged_in, make_user, pairwise_rows

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
BAD = (
    b'{"id": "ok-1", "prompt": "hi", "responses": [{"text": "a"}, {"text": "b"}]}\n'
    b'{"id": "no-responses", "prompt": "hi"}\n'
    b'{"id": "bad-text", "prompt": "hi", "responses": [{"text": "a"}, {"text": 7}]}\n'
)


def written() -> tuple[int, int, int, int]:
    return (
        Instance.objects.count(),
        Annotation.objects.count(),
        JobRun.objects.count(),
        ImportUpload.objects.count(),
    )


def post_preview(client, campaign, data: bytes, *, file_format="generic", name="upload.jsonl"):
    return client.post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile(name, data), "file_format": file_format, "action": "preview"},
    )


def sealed_of(response) -> str:
    match = re.search(r'name="sealed" value="([^"]*)"', response.content.decode())
    assert match, "no confirm form"
    return unescape(match.group(1))


def test_preview_shows_the_first_ten_rows_and_writes_nothing(campaign, pm):
    before = written()

    response = post_preview(logged_in(pm), campaign, pairwise_rows(12, prefix="new"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "12 valid instances" in html and "nothing has been imported yet" in html
    assert "Showing the first 10." in html
    assert "<code>new-9</code>" in html and "<code>new-10</code>" not in html
    assert "Question number 0: how do I boil an egg?" in html
    assert "<strong>model-a</strong>: Answer A to 0" in html
    assert "&#x27;n&#x27;: 0" in html  # the row's metadata
    assert written() == before


def test_preview_lists_every_error_with_its_line_and_field_and_offers_no_import(campaign, pm):
    before = written()

    response = post_preview(logged_in(pm), campaign, BAD)

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 valid instance and 2 errors" in html
    assert "<td>2</td><td><code>responses</code></td>" in html
    assert "<td>3</td><td><code>responses[1].text</code></td>" in html
    assert 'name="sealed"' not in html and "Fix the errors below" in html
    assert written() == before


def test_preview_counts_an_id_already_in_the_campaign_as_an_error(campaign, pm):
    response = post_preview(logged_in(pm), campaign, pairwise_rows(1))  # item-0 is already there

    assert "id &quot;item-0&quot; already exists in this campaign" in response.content.decode()


def test_preview_counts_the_labels_each_row_carries(pm):
    campaign = build_campaign(pm=pm, n_instances=0)
    data = (DATA / "multipref.jsonl").read_bytes()
    expected = import_instances(
        campaign=build_campaign(pm=pm, name="Other", n_instances=0),
        data=data,
        file_format="multipref",
    ).labels_imported

    preview = preview_import(campaign=campaign, data=data, file_format="multipref")

    assert expected > 0
    assert preview.labels == expected == sum(row.labels for row in preview.rows)
    assert not campaign.instances.exists()


def test_confirming_a_preview_imports_the_previewed_file(campaign, pm):
    client = logged_in(pm)
    preview = post_preview(client, campaign, pairwise_rows(3, prefix="new"))

    response = client.post(
        reverse("import_instances", args=[campaign.slug]), {"sealed": sealed_of(preview)}
    )

    assert response.status_code == 302 and response["Location"] == reverse(
        "campaign_detail", args=[campaign.slug]
    )
    imported = campaign.instances.filter(external_id__startswith="new-").order_by("external_id")
    assert [i.external_id for i in imported] == ["new-0", "new-1", "new-2"]
    assert imported[1].metadata == {"n": 1}
    assert [r.text for r in imported[0].responses.all()] == [
        "Answer A to 0: simmer it for nine minutes.",
        "Answer B to 0: microwave it, shell on.",
    ]


def test_a_confirmed_file_over_the_inline_limit_becomes_a_job(campaign, pm, settings):
    settings.IMPORT_INLINE_MAX_BYTES = 10
    client = logged_in(pm)
    data = pairwise_rows(2, prefix="big")
    preview = post_preview(client, campaign, data, name="big.jsonl")

    response = client.post(
        reverse("import_instances", args=[campaign.slug]), {"sealed": sealed_of(preview)}
    )

    job = JobRun.objects.get(kind="import")
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    with job.upload.open_content() as stored:
        assert stored.read() == data and job.upload.filename == "big.jsonl"


def test_confirm_checks_the_file_again(campaign, pm):
    client = logged_in(pm)
    preview = post_preview(client, campaign, pairwise_rows(2, prefix="race"))
    import_instances(campaign=campaign, data=pairwise_rows(1, prefix="race"), file_format="generic")
    before = written()

    response = client.post(
        reverse("import_instances", args=[campaign.slug]), {"sealed": sealed_of(preview)}
    )

    assert response.status_code == 400
    assert "already exists in this campaign" in response.content.decode()
    assert written() == before


@pytest.mark.parametrize("whose", ["another campaign", "another user", "tampered"])
def test_a_sealed_upload_only_confirms_for_its_campaign_and_user(campaign, pm, whose):
    client = logged_in(pm)
    token = sealed_of(post_preview(client, campaign, pairwise_rows(1, prefix="new")))
    target = campaign
    if whose == "another campaign":
        target = build_campaign(pm=pm, name="Second", n_instances=0)
    elif whose == "another user":
        other_pm = make_user("co-pm", is_superuser=True)
        client = logged_in(other_pm)
    else:
        value, stamp, signature = token.rsplit(":", 2)
        token = ":".join([json.dumps({**json.loads(value), "name": "x"}), stamp, signature])
    before = written()

    response = client.post(reverse("import_instances", args=[target.slug]), {"sealed": token})

    assert response.status_code == 400
    assert "The preview could not be confirmed: upload the file again." in response.content.decode()
    assert written() == before


def test_an_old_preview_must_be_uploaded_again(campaign, pm, monkeypatch):
    client = logged_in(pm)
    token = sealed_of(post_preview(client, campaign, pairwise_rows(1, prefix="new")))
    monkeypatch.setattr(import_preview, "TOKEN_MAX_AGE_SECONDS", -1)

    response = client.post(reverse("import_instances", args=[campaign.slug]), {"sealed": token})

    assert response.status_code == 400 and "more than an hour old" in response.content.decode()
    assert not campaign.instances.filter(external_id="new-0").exists()


def test_a_file_too_large_to_carry_is_previewed_and_chosen_again_to_import(campaign, pm, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = import_preview.POST_MARGIN_BYTES + 10

    response = post_preview(logged_in(pm), campaign, pairwise_rows(2, prefix="new"))

    html = response.content.decode()
    assert "2 valid instances" in html and 'name="sealed"' not in html
    assert "choose it again above" in html


def test_an_upload_over_the_limit_is_refused_at_preview_without_being_read(campaign, pm, settings):
    settings.IMPORT_MAX_BYTES = 10

    response = post_preview(logged_in(pm), campaign, pairwise_rows(1, prefix="new"))

    assert response.status_code == 400
    assert "The file is larger than 10 bytes." in response.content.decode()
    assert 'id="import-preview"' not in response.content.decode()


def test_preview_is_for_the_campaigns_pms_only(campaign, annotator, researcher, outsider):
    for user, status in ((annotator, 403), (researcher, 403), (outsider, 404)):
        assert (
            post_preview(logged_in(user), campaign, pairwise_rows(1, prefix="new")).status_code
            == status
        )
