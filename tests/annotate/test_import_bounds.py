"""Inputs built to break the importer are row errors with a reason, never a 500 or a crash,
and nothing of the file is written."""

from __future__ import annotations

import gzip
import io
import json
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.importers.base import MAX_JSON_DEPTH
from annotate.models import JobRun
from annotate.services.imports import ImportRejected, check_upload, import_instances
from tests.conftest import build_campaign, logged_in

pytestmark = pytest.mark.django_db


def row(row_id="a", **overrides) -> str:
    value = {"id": row_id, "prompt": "Say hello.", "responses": [{"text": "Hello!"}, {"text": "Hi."}]}
    value.update(overrides)
    return json.dumps(value)


def rejected(campaign, *lines: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as caught:
        import_instances(campaign=campaign, data="\n".join(lines).encode(), file_format="generic")
    assert campaign.instances.count() == 0
    return [(e.line, e.field, e.message) for e in caught.value.errors]


@pytest.fixture
def campaign(pm):
    return build_campaign(pm=pm, n_instances=0)


def test_json_nested_five_thousand_levels_deep_is_a_row_error(campaign):
    deep = '{"id": "d", "prompt": "p", "responses": [], "metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    errors = rejected(campaign, row("ok"), deep)
    assert errors == [(2, "", f"is not valid JSON (nested more than {MAX_JSON_DEPTH} levels deep)")]


def test_json_nested_just_past_the_limit_is_refused_and_at_the_limit_accepted(campaign):
    def nested(depth: int) -> str:
        # the row object is level 1, metadata level 2, then lists down to ``depth``
        return '{"id": "n", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}], "metadata": {"x": ' + "[" * (depth - 2) + "]" * (depth - 2) + "}}"

    assert rejected(campaign, nested(MAX_JSON_DEPTH + 1))[0][2].startswith("is not valid JSON (nested more than")
    import_instances(campaign=campaign, data=nested(MAX_JSON_DEPTH).encode(), file_format="generic")
    assert campaign.instances.count() == 1


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "\\u0000"])
def test_a_nul_or_lone_surrogate_escape_is_refused_whatever_the_case_of_its_hex(campaign, escape):
    # Lines are only walked for these when their bytes hold such an escape: the search must
    # match every spelling JSON allows.
    line = '{"id": "s", "prompt": "p", "responses": [{"text": "a"}, {"text": "b' + escape + '"}]}'
    [(number, field, message)] = rejected(campaign, line)
    assert (number, field) == (1, "responses[1].text") and "which the database cannot store" in message


def test_an_escaped_backslash_before_u0000_or_a_surrogate_pair_is_ordinary_text(campaign):
    line = '{"id": "t", "prompt": "\\\\u0000 \\ud83e\\udd9c", "responses": [{"text": "a"}, {"text": "b"}]}'
    import_instances(campaign=campaign, data=line.encode(), file_format="generic")
    assert campaign.instances.get().messages[0]["content"] == "\\u0000 \U0001f99c"


def test_an_integer_id_of_five_thousand_digits_is_a_row_error(campaign):
    huge = '{"id": ' + "7" * 5000 + ', "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]}'
    [(line, field, message)] = rejected(campaign, huge)
    assert line == 1 and field == ""
    assert message.startswith("is not valid JSON (") and "digits" in message


def test_a_ten_megabyte_line_is_a_row_error_naming_the_limit(campaign, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1024 * 1024
    big = row("big", prompt="x" * (10 * 1024 * 1024))
    errors = rejected(campaign, row("ok"), big, row("ok2"))
    assert errors == [(2, "", f"is {len(big.encode()):,} bytes long; a line may hold at most 1,048,576 bytes")]


# --- Decompression bombs and floods of row errors (issue 18) ---------------------------------------
# The page and the API take the upload as a file; what they answer and what the server spends
# on it (wall time, traced peak memory) must not grow with what the file inflates to.

BOMB_LINES = 11_300_000  # "{}\n" × 11.3M = 34 MB, about 33 KB once gzipped


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    bomb = gzip.compress(b"{}\n" * BOMB_LINES, compresslevel=9)
    assert len(bomb) < 40 * 1024
    return bomb


def spent(work):
    """``(result, seconds, traced peak MiB)`` of ``work()``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = work()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, seconds, peak / 2**20


def post_page(pm, campaign, data: bytes, *, name="rows.jsonl.gz", action="import"):
    return logged_in(pm).post(
        reverse("import_instances", args=[campaign.slug]),
        {"file": SimpleUploadedFile(name, data), "file_format": "generic", "action": action},
    )


def post_api(pm, campaign, data: bytes, *, name="rows.jsonl.gz"):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=pm)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client.post(
        reverse("api_import", args=[campaign.slug]),
        {"file": SimpleUploadedFile(name, data), "format": "generic"},
        format="multipart",
    )


ROWS_CAP = "the file has more than 1,000,000 lines; an import holds at most 1,000,000 rows: split it up"


@pytest.mark.parametrize("action", ["import", "preview"])
def test_a_gzip_bomb_on_the_page_is_refused_by_its_line_count_in_bounded_time_and_memory(
    campaign, pm, gzip_bomb, settings, action
):
    settings.IMPORT_MAX_ROWS = 1_000_000
    logged_in(pm).get(reverse("import_instances", args=[campaign.slug]))  # templates compiled, not timed

    response, seconds, peak_mib = spent(lambda: post_page(pm, campaign, gzip_bomb, action=action))

    assert response.status_code == (200 if action == "preview" else 400)  # a preview is a page of errors
    assert ROWS_CAP in response.content.decode()
    assert seconds < 5 and peak_mib < 100, (seconds, peak_mib)
    assert campaign.instances.count() == 0 and not JobRun.objects.exists()


def test_a_gzip_bomb_on_the_api_is_a_400_naming_the_cap_in_bounded_time_and_memory(campaign, pm, gzip_bomb, settings):
    settings.IMPORT_MAX_ROWS = 1_000_000

    response, seconds, peak_mib = spent(lambda: post_api(pm, campaign, gzip_bomb))

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert error["details"] == [{"line": 0, "field": "", "message": ROWS_CAP, "text": ROWS_CAP}]
    assert seconds < 5 and peak_mib < 100, (seconds, peak_mib)
    assert campaign.instances.count() == 0 and not JobRun.objects.exists()


def test_a_gzip_bomb_under_the_row_cap_is_refused_by_its_decompressed_size(campaign, pm, gzip_bomb, settings):
    settings.IMPORT_MAX_ROWS = 100_000_000
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024

    response, seconds, peak_mib = spent(lambda: post_api(pm, campaign, gzip_bomb))

    assert response.status_code == 400, response.content
    [detail] = response.json()["error"]["details"]
    assert detail["message"] == "the file is larger than 16,777,216 bytes once decompressed; split it up"
    assert seconds < 5 and peak_mib < 100, (seconds, peak_mib)


def test_a_flood_of_row_errors_lists_the_first_thousand_and_counts_every_one(campaign, pm):
    lines = 10_000
    [per_line] = {len(rejected(campaign, "{}"))}  # "{}" lacks every required field
    data = gzip.compress(b"{}\n" * lines)

    with pytest.raises(ImportRejected) as caught:
        import_instances(campaign=campaign, data=data, file_format="generic")
    total = per_line * lines
    assert caught.value.total_errors == total and len(caught.value.errors) == 1000
    assert [e.line for e in caught.value.errors] == sorted(e.line for e in caught.value.errors)
    assert caught.value.errors[-1].line == -(-1000 // per_line)
    assert str(caught.value) == (
        f"The file has {total:,} errors (the first 1,000 are listed, and {total - 1000:,} more); nothing was imported."
    )

    page = post_page(pm, campaign, data)
    assert page.status_code == 400
    assert f"Showing the first 1000 … and {total - 1000:,} more errors." in page.content.decode()

    api = post_api(pm, campaign, data)
    assert api.status_code == 400 and len(api.json()["error"]["details"]) == 1000
    assert api.json()["error"]["message"] == f"{total} row error(s); nothing was imported."


def test_a_flood_of_row_errors_costs_memory_for_the_listed_ones_only(campaign):
    data = b"{}\n" * 10_000

    def check():
        return check_upload(campaign=campaign, file=io.BytesIO(data), file_format="generic")

    report, seconds, peak_mib = spent(check)

    assert report.total_errors > 10_000 and len(report.errors) == 1000
    # 30,000 RowErrors held at once take ~7 MB; a thousand of them well under 5.
    assert peak_mib < 5, peak_mib


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\xff\xfe{\x00}\x00", "is UTF-16 encoded; save it as UTF-8"),
        (b"PAR1\x15\x04", "is a Parquet file; imports read JSON Lines (one JSON object per line, optionally gzipped)"),
        (b"PK\x03\x04\x14\x00", "is a ZIP archive (or a spreadsheet); imports read JSON Lines, optionally gzipped"),
    ],
)
def test_a_file_that_is_not_json_lines_is_one_error_saying_what_it_is(campaign, head, what):
    for data in (head + b"\n" * 3, gzip.compress(head)):
        with pytest.raises(ImportRejected) as caught:
            import_instances(campaign=campaign, data=data, file_format="generic")
        assert [str(e) for e in caught.value.errors] == [f"the file {what}"]


def test_a_long_line_is_skipped_without_being_read_whole(campaign, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1024 * 1024
    big = row("big", prompt="x" * (50 * 1024 * 1024))
    data = "\n".join([row("ok"), big, row("ok2")]).encode()

    def check():
        return check_upload(campaign=campaign, file=io.BytesIO(data), file_format="generic")

    report, _, peak_mib = spent(check)

    assert [(e.line, e.message) for e in report.errors] == [
        (2, f"is {len(big.encode()):,} bytes long; a line may hold at most 1,048,576 bytes")
    ]
    assert peak_mib < 10, peak_mib  # the 50 MB line is never held whole


def test_a_small_gzip_that_inflates_past_the_inline_limit_becomes_a_job_not_a_long_request(campaign, pm, settings):
    settings.IMPORT_INLINE_MAX_BYTES = 4096
    rows = "\n".join(row(f"r{i}") for i in range(200)).encode()
    data = gzip.compress(rows)
    assert len(data) < 4096 < len(rows)

    response = post_api(pm, campaign, data)

    assert response.status_code == 202, response.content  # measured once decompressed
    assert campaign.instances.count() == 0 and JobRun.objects.get().params["size_bytes"] == len(data)
