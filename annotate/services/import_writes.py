"""Writing the rows of a checked import file: instances, responses, queue items, expected
answers and imported labels, a batch at a time, inside the caller's transaction.

On PostgreSQL the instances, responses and queue items go through COPY
(:mod:`annotate.services.bulk_copy`: 2-3x the import's rows/s of ``bulk_create`` measured by
``bench/bench_imports.py``), elsewhere (the embedded SQLite mode) through ``bulk_create``;
``tests/annotate/test_bulk_copy.py`` checks that both store the same rows. Expected answers and
imported labels, rare and few, always go through ``bulk_create``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator

from annotate.importers.base import ParsedInstance
from annotate.models import (
    Campaign,
    GoldAnswer,
    Instance,
    JobRun,
    QueueItem,
    QueueItemKind,
    Response,
)
from annotate.services.bulk_copy import copy_rows, copy_supported, reserve_ids
from annotate.services.import_checks import BATCH_SIZE
from annotate.services.imported_labels import (
    check_imported_labels,
    insert_imported_labels,
    write_imported_labels,
)
from annotate.services.quality import CHECK_ITEM_OVERLAP, check_column_answers
from annotate.services.task_schemas import SchemaView, campaign_schema

__all__ = ["write_instances"]


def write_instances(
    *, campaign: Campaign, parsed: Iterable[ParsedInstance], import_job: JobRun | None
) -> tuple[int, int, Counter]:
    """Insert the instances, their responses, queue items and imported labels, a batch at a
    time; returns how many instances and labels were written and the answers the task had
    no question for. The caller owns the transaction. On PostgreSQL the instances, responses
    and queue items go through COPY (:mod:`annotate.services.bulk_copy`), elsewhere through
    ``bulk_create``; both store the same rows."""
    schema = campaign_schema(campaign)
    insert = _copy_batch if copy_supported() else _bulk_create_batch
    created = labels_imported = 0
    not_in_task: Counter = Counter()
    for batch in _batches(parsed, BATCH_SIZE):
        created += len(batch)
        instance_ids = insert(campaign=campaign, schema=schema, batch=batch, import_job=import_job)
        pending = []
        for instance_id, item in zip(instance_ids, batch, strict=True):
            if not item.labels:
                continue
            check = check_imported_labels(schema=schema, item=item)
            not_in_task.update(check.not_in_task)
            pending += write_imported_labels(
                campaign=campaign, schema=schema, instance_id=instance_id, labels=check.labels
            )
        labels_imported += insert_imported_labels(pending, batch_size=BATCH_SIZE)
    return created, labels_imported, not_in_task


def _queue_kind(*, campaign: Campaign, schema: SchemaView, item: ParsedInstance) -> tuple[str, int, list[GoldAnswer]]:
    """The queue item's kind and overlap for ``item``, and its expected answers (unsaved)."""
    if item.check is None:
        return QueueItemKind.REGULAR, campaign.overlap, []
    kind, expected = check_column_answers(schema=schema, value=item.check)
    return kind, CHECK_ITEM_OVERLAP, expected


def _copy_batch(
    *, campaign: Campaign, schema: SchemaView, batch: list[ParsedInstance], import_job: JobRun | None
) -> list[int]:
    """One batch through COPY, with the instances' ids taken from their sequence first (the
    responses and queue items need them); returns those ids in batch order."""
    ids = reserve_ids(model=Instance, count=len(batch))
    job_id = import_job.pk if import_job is not None else None
    copy_rows(
        model=Instance,
        columns=("id", "campaign_id", "external_id", "messages", "metadata", "import_job_id"),
        rows=(
            (pk, campaign.pk, item.external_id, _json_text(item.messages), _json_text(item.metadata), job_id)
            for pk, item in zip(ids, batch, strict=True)
        ),
    )
    copy_rows(
        model=Response,
        columns=("instance_id", "position", "model_name", "text"),
        rows=(
            (pk, position, response.model_name, response.text)
            for pk, item in zip(ids, batch, strict=True)
            for position, response in enumerate(item.responses)
        ),
    )
    queue_rows = []
    golds: list[GoldAnswer] = []
    for pk, item in zip(ids, batch, strict=True):
        kind, overlap, expected = _queue_kind(campaign=campaign, schema=schema, item=item)
        for gold in expected:
            gold.instance_id = pk
        golds += expected
        queue_rows.append((campaign.pk, pk, kind, overlap))
    copy_rows(model=QueueItem, columns=("campaign_id", "instance_id", "kind", "required_overlap"), rows=queue_rows)
    GoldAnswer.objects.bulk_create(golds)
    return ids


# What Django's JSONField stores is json.dumps of the value; jsonb keeps the parsed value, so
# this shorter spelling (UTF-8 rather than \u escapes) stores the same. NaN and infinities
# were refused when the file was read.
_json_text = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False).encode


def _bulk_create_batch(
    *, campaign: Campaign, schema: SchemaView, batch: list[ParsedInstance], import_job: JobRun | None
) -> list[int]:
    """One batch through ``bulk_create`` (databases without COPY); returns the instances' ids."""
    instances = Instance.objects.bulk_create(
        [
            Instance(
                campaign=campaign,
                external_id=item.external_id,
                messages=item.messages,
                metadata=item.metadata,
                import_job=import_job,
            )
            for item in batch
        ]
    )
    if any(instance.pk is None for instance in instances):
        # Backends that cannot return ids from a bulk INSERT: look them up.
        pks = dict(
            Instance.objects.filter(
                campaign=campaign, external_id__in=[item.external_id for item in batch]
            ).values_list("external_id", "pk")
        )
        for instance in instances:
            instance.pk = pks[instance.external_id]
    Response.objects.bulk_create(
        [
            Response(
                instance=instance,
                position=position,
                model_name=response.model_name,
                text=response.text,
            )
            for instance, item in zip(instances, batch, strict=True)
            for position, response in enumerate(item.responses)
        ],
        batch_size=BATCH_SIZE,
    )
    golds: list[GoldAnswer] = []
    items = []
    for instance, item in zip(instances, batch, strict=True):
        kind, overlap, expected = _queue_kind(campaign=campaign, schema=schema, item=item)
        for gold in expected:
            gold.instance = instance
        golds += expected
        items.append(QueueItem(campaign=campaign, instance=instance, kind=kind, required_overlap=overlap))
    QueueItem.objects.bulk_create(items)
    GoldAnswer.objects.bulk_create(golds)
    return [instance.pk for instance in instances]


def _batches(items: Iterable[ParsedInstance], size: int) -> Iterator[list[ParsedInstance]]:
    batch: list[ParsedInstance] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
