"""Malformed uploads, generated: whatever the bytes, an import gives either a summary or a
rejection whose every error says where and why; never an unhandled exception (a 500 on the
page or the API), and never a partly written file: on any error the campaign's row counts are
what they were before."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.importers import IMPORT_FORMATS
from annotate.models import Annotation, Instance, JobRun, JobStatus, QueueItem, Response
from annotate.services.imports import (
    ImportRejected,
    import_instances,
    run_import_job,
    start_import_job,
)
from tests.conftest import build_campaign, logged_in

pytestmark = pytest.mark.django_db

FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples in every CI run; a failure reproduces
    database=None,  # so nothing is written beside the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- What the generated files are made of ----------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_junk = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ids = st.text(min_size=1, max_size=12) | st.integers(min_value=-(10**6), max_value=10**6)


@st.composite
def generic_rows(draw) -> dict:
    """A row of the generic format, often valid, with fields dropped, retyped or blown up."""
    row = {
        "id": draw(ids),
        "prompt": draw(st.text(min_size=1, max_size=30)),
        "responses": [{"text": draw(st.text(min_size=1, max_size=30))} for _ in range(draw(st.integers(0, 3)))],
    }
    if draw(st.booleans()):
        row["metadata"] = draw(json_junk)
    for key in draw(st.lists(st.sampled_from(["id", "prompt", "responses", "metadata", "messages", "check"]), max_size=2)):
        mutation = draw(st.sampled_from(["drop", "junk", "huge"]))
        if mutation == "drop":
            row.pop(key, None)
        elif mutation == "junk":
            row[key] = draw(json_junk)
        else:
            row[key] = "x" * draw(st.integers(1000, 5000))  # past the line limit set below
    return row


def jsonl_line(row) -> bytes:
    return json.dumps(row).encode()


@st.composite
def jsonl_files(draw) -> bytes:
    lines = draw(
        st.lists(
            generic_rows().map(jsonl_line)
            | json_junk.map(lambda v: json.dumps(v).encode())
            | st.binary(max_size=40)
            | st.just(b"[" * 3000 + b"]" * 3000)
            | st.just(b'{"id": ' + b"9" * 5000 + b"}"),
            max_size=8,
        )
    )
    data = b"\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "utf-16-le"]))
    if encoding != "utf-8":
        data = data.decode("utf-8", errors="replace").encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # truncated
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # a broken gzip stream
    return data


@st.composite
def csv_files(draw) -> bytes:
    """What a PM exports from a spreadsheet instead of JSON Lines."""
    columns = draw(st.lists(st.sampled_from(["id", "prompt", "response_a", "response_b", "x"]), min_size=1, max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for _ in range(draw(st.integers(0, 5))):
        writer.writerow([draw(st.text(max_size=15)) for _ in columns])
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])), errors="replace")


@st.composite
def parquet_files(draw) -> bytes:
    """A Parquet file (what the exports write), whole or cut short."""
    rows = draw(st.integers(0, 5))
    table = pa.table(
        {
            "id": [draw(st.text(max_size=8)) for _ in range(rows)],
            "prompt": [draw(st.text(max_size=20)) for _ in range(rows)],
            "n": [draw(st.integers(-5, 5)) for _ in range(rows)],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


plain_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@st.composite
def clean_files(draw) -> bytes:
    """Valid generic files (so that the fuzzing also sees imports that succeed), plain or
    gzipped, with or without a UTF-8 byte-order mark."""
    row_ids = draw(st.lists(st.from_regex(r"[a-z0-9-]{1,16}", fullmatch=True), min_size=1, max_size=5, unique=True))
    rows = [
        {"id": f"ok-{row_id}", "prompt": draw(plain_text), "responses": [{"text": draw(plain_text)}, {"text": draw(plain_text)}]}
        for row_id in row_ids
    ]
    data = ("\ufeff" if draw(st.booleans()) else "").encode() + b"\n".join(jsonl_line(row) for row in rows)
    return gzip.compress(data) if draw(st.booleans()) else data


formats = st.sampled_from(sorted(IMPORT_FORMATS))
# (file, format): malformed files in any format, and valid generic ones.
uploads = st.tuples(jsonl_files() | csv_files() | parquet_files(), formats) | st.tuples(clean_files(), st.just("generic"))


# --- The properties ------------------------------------------------------------------------------


@pytest.fixture
def campaign(pm, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1024  # "huge" fields are a few KB: cheap to generate
    settings.IMPORT_MAX_ROWS = 6  # some files pass the row cap
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 64 * 1024
    settings.IMPORT_INLINE_MAX_BYTES = 64 * 1024  # every file imports in the request
    return build_campaign(pm=pm, n_instances=0)


def row_counts() -> tuple[int, ...]:
    return (
        Instance.objects.count(),
        Response.objects.count(),
        QueueItem.objects.count(),
        Annotation.objects.count(),
        JobRun.objects.count(),
    )


def assert_specific(errors) -> None:
    assert errors, "a rejection lists at least one error"
    for error in errors:
        assert error.line >= 0 and error.message.strip()
        assert "Traceback" not in error.message and "object at 0x" not in error.message


@FUZZ
@given(upload=uploads)
def test_the_service_imports_the_whole_file_or_nothing_with_specific_errors(campaign, upload):
    data, file_format = upload
    before = row_counts()
    try:
        summary = import_instances(campaign=campaign, data=data, file_format=file_format)
    except ImportRejected as exc:
        event("rejected")
        assert_specific(exc.errors)
        assert exc.total_errors >= len(exc.errors)
        assert row_counts() == before
    else:
        event("imported")
        assert summary.created >= 1
        assert Instance.objects.count() == before[0] + summary.created


@FUZZ
@given(upload=uploads, preview=st.booleans())
def test_the_import_page_never_fails_with_a_500_nor_writes_part_of_a_file(campaign, pm, upload, preview):
    data, file_format = upload
    before = row_counts()
    response = logged_in(pm).post(
        reverse("import_instances", args=[campaign.slug]),
        {
            "file": SimpleUploadedFile("upload.jsonl", data),
            "file_format": file_format,
            "action": "preview" if preview else "import",
        },
    )  # an unhandled exception in the view is raised here

    if response.status_code == 302:
        assert not preview and row_counts()[0] > before[0]
        return
    assert response.status_code in (200, 400)
    assert row_counts() == before
    if response.status_code == 400:
        assert 'id="import-errors"' in response.content.decode() or "errorlist" in response.content.decode()


@FUZZ
@given(upload=uploads)
def test_the_import_api_never_fails_with_a_500_nor_writes_part_of_a_file(campaign, pm, upload):
    data, file_format = upload
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=pm)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    before = row_counts()

    response = client.post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile("upload.jsonl", data), "format": file_format},
        format="multipart",
    )

    if response.status_code == 201:
        assert Instance.objects.count() == before[0] + response.json()["created"]
        return
    assert response.status_code == 400, response.content
    assert row_counts() == before
    error = response.json()["error"]
    if error["code"] == "import_rejected":
        assert error["details"] and all(d["message"].strip() and d["line"] >= 0 for d in error["details"])


@hypothesis_settings(parent=FUZZ, max_examples=25)
@given(upload=uploads)
def test_an_import_job_from_a_stored_file_succeeds_whole_or_fails_with_specific_errors(
    campaign, pm, settings, tmp_path, upload
):
    data, file_format = upload
    settings.MEDIA_ROOT = tmp_path
    job = start_import_job(campaign=campaign, created_by=pm, filename="upload.jsonl", data=data, file_format=file_format)
    before = row_counts()

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    if job.status == JobStatus.SUCCEEDED:
        assert Instance.objects.filter(import_job=job).count() == job.result["created"] >= 1
        return
    assert job.status == JobStatus.FAILED and job.error.endswith("nothing was imported.")
    assert job.error_details and all(d["message"].strip() for d in job.error_details)
    assert row_counts() == before
