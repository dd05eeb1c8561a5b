"""The import's COPY path (PostgreSQL) stores exactly what its bulk_create path stores."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from annotate.models import GoldAnswer, Instance, QueueItem, Response
from annotate.services import import_writes
from annotate.services.bulk_copy import copy_rows, reserve_ids
from annotate.services.campaigns import create_campaign
from annotate.services.imports import ImportRejected, import_instances

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's; SQLite imports through bulk_create"
)

# Every character class COPY's text format must escape or could misread: its column and row
# delimiters (tab, newline, carriage return), its escape (backslash), its NULL marker spelled
# out (\N), quotes, and text outside ASCII (combining marks, right-to-left, astral emoji,
# the JSON-legal line and paragraph separators).
AWKWARD = [
    "tab\there",
    "new\nline and\r\ncrlf",
    "back\\slash \\N \\\\N \\t \\n",
    "\\N",
    "quotes \" ' `",
    "café ñ e\u0301 ‏שלום‎ 中文 🦜🏳️‍🌈",
    "line\u2028para\u2029sep",
    "trailing backslash \\",
]


def crafted_file() -> bytes:
    rows = []
    for i, text in enumerate(AWKWARD):
        rows.append(
            {
                "id": f"row-{i}-{text[:6]}",
                "messages": [
                    {"role": "system", "content": f"sys {text}"},
                    {"role": "user", "content": text},
                ],
                "responses": [
                    {"model": f"model {text}"[:200], "text": text},
                    {"text": f"{text}\t{text}"},
                ],
                "metadata": {
                    "text": text,
                    "nested": {"list": [1, 2.5, -3e-7, None, True, {"k\tey": text}], "empty": {}},
                    "big": 12345678901234567890,
                },
                **({"check": {"kind": "gold", "expected": {"overall": "A-is-clearly-better"}}} if i == 0 else {}),
            }
        )
    rows.append({"id": 99, "prompt": "metadata as JSON text", "metadata": json.dumps({"a": "b\\c"}),
                 "responses": [{"text": "x"}, {"text": "y"}]})
    return "\n".join(json.dumps(row, ensure_ascii=i % 2 == 0) for i, row in enumerate(rows)).encode()


def stored(campaign) -> dict[str, list]:
    """Every stored column of the campaign's rows but the ids and timestamps, in file order."""

    def columns(model, *skip):
        return [f.attname for f in model._meta.concrete_fields if f.attname not in {"id", "created_at", *skip}]

    instances = list(Instance.objects.filter(campaign=campaign).order_by("id"))
    assert all(instance.created_at is not None for instance in instances)
    by_pk = {instance.pk: instance.external_id for instance in instances}

    def rows(model, order):
        found = []
        for row in model.objects.filter(instance__campaign=campaign).order_by(*order).values(
            "instance_id", *columns(model, "instance_id")
        ):
            row["instance_id"] = by_pk[row["instance_id"]]
            row.pop("campaign_id", None)
            found.append(row)
        return found

    return {
        "instances": [
            {name: getattr(i, name) for name in columns(Instance, "campaign_id")} for i in instances
        ],
        "responses": rows(Response, ["instance_id", "position"]),
        "queue_items": rows(QueueItem, ["instance_id"]),
        "golds": rows(GoldAnswer, ["instance_id", "question_key"]),
        "timestamps_set": [
            QueueItem.objects.filter(campaign=campaign, created_at__isnull=True).count(),
        ],
    }


@needs_postgres
def test_copy_stores_the_same_rows_and_fields_as_bulk_create(django_user_model, monkeypatch):
    pm = django_user_model.objects.create_user(username="pm")
    through_copy = create_campaign(name="Copy", created_by=pm)
    through_bulk_create = create_campaign(name="Bulk", created_by=pm)
    data = crafted_file()

    import_instances(campaign=through_copy, data=data, file_format="generic")
    with monkeypatch.context() as patch:
        patch.setattr(import_writes, "copy_supported", lambda: False)
        import_instances(campaign=through_bulk_create, data=data, file_format="generic")

    copied, created = stored(through_copy), stored(through_bulk_create)
    assert len(copied["instances"]) == len(AWKWARD) + 1
    assert [r["text"] for r in copied["responses"][::2][: len(AWKWARD)]] == AWKWARD
    assert copied["instances"][3]["metadata"]["text"] == "\\N"  # COPY's NULL marker stays text
    assert len(copied["golds"]) == 1
    assert copied == created


DEEP = "is text that is not valid JSON (nested more than 64 levels deep); give an object or an object's JSON text"


@pytest.mark.parametrize(
    "metadata, error",
    [
        pytest.param(
            json.dumps({"note": "nul\u0000byte"}),
            'line 1, field "metadata.note": contains a NUL character (\\u0000), which the database cannot store',
            id="nul",
        ),
        pytest.param("[" * 5000 + "]" * 5000, f'line 1, field "metadata": {DEEP}', id="5000-levels"),
        pytest.param('{"deep": ' + "[" * 100 + "]" * 100 + "}", f'line 1, field "metadata": {DEEP}', id="100-levels"),
        pytest.param(
            '{"huge": 1e400}',
            'line 1, field "metadata": is text that is not valid JSON (the number 1e400 is too large to '
            "store); give an object or an object's JSON text",
            id="infinity",
        ),
    ],
)
def test_metadata_given_as_json_text_is_checked_like_the_rest_of_the_line(django_user_model, metadata, error):
    pm = django_user_model.objects.create_user(username="pm")
    campaign = create_campaign(name="Meta", created_by=pm)
    row = {"id": "a", "prompt": "p", "responses": [{"text": "x"}, {"text": "y"}], "metadata": metadata}

    with pytest.raises(ImportRejected) as caught:
        import_instances(campaign=campaign, data=json.dumps(row).encode(), file_format="generic")

    assert [str(e) for e in caught.value.errors] == [error]
    assert not Instance.objects.filter(campaign=campaign).exists()


def test_a_number_too_large_for_a_double_is_a_row_error(django_user_model):
    pm = django_user_model.objects.create_user(username="pm")
    campaign = create_campaign(name="Huge", created_by=pm)
    data = b'{"id": "a", "prompt": "p", "responses": [{"text": "x"}, {"text": "y"}], "metadata": {"n": 1e400}}'

    with pytest.raises(ImportRejected) as caught:
        import_instances(campaign=campaign, data=data, file_format="generic")

    assert [str(e) for e in caught.value.errors] == ["line 1: is not valid JSON (the number 1e400 is too large to store)"]


@needs_postgres
def test_copy_rows_fills_unnamed_columns_with_their_defaults_and_reports_unique_violations_as_integrity_errors(
    django_user_model,
):
    from django.db import IntegrityError, transaction

    pm = django_user_model.objects.create_user(username="pm")
    campaign = create_campaign(name="Defaults", created_by=pm)
    first, second = reserve_ids(model=Instance, count=2)
    assert first < second

    copy_rows(
        model=Instance,
        columns=("id", "campaign_id", "external_id", "messages"),
        rows=[(first, campaign.pk, "x", '[{"role": "user", "content": "hi"}]')],
    )
    instance = Instance.objects.get(pk=first)
    assert (instance.metadata, instance.import_job_id) == ({}, None)
    assert instance.created_at is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(
            model=Instance,
            columns=("id", "campaign_id", "external_id", "messages"),
            rows=[(second, campaign.pk, "x", "[]")],
        )
    with pytest.raises(ValueError, match="no columns"):
        copy_rows(model=Instance, columns=("nope",), rows=[])
