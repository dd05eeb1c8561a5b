"""Inputs built to break the importer are row errors with a reason, never a 500 or a crash,
and nothing of the file is written."""

from __future__ import annotations

import json

import pytest

from annotate.importers.base import MAX_JSON_DEPTH
from annotate.services.imports import ImportRejected, import_instances
from tests.conftest import build_campaign

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
