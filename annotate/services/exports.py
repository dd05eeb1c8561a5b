"""Exports as jobs: a JobRun writes a dataset file (per split) and its card under EXPORT_DIR."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from annotate.exports import EXPORTERS, ExportOptions, get_exporter
from annotate.exports.card import render_card
from annotate.exports.writers import JSONLinesSink, ParquetSink
from annotate.models import Campaign, ExportFile, Instance, JobKind, JobRun
from annotate.services.jobs import (
    JobFailed,
    JobProgress,
    create_job,
    enqueue_job,
    register_partial_output_discarder,
    run_claimed_job,
)

EXPORT_TASK = "annotate.run_export"
FILE_TYPES = ("jsonl", "parquet")
LABEL_SOURCES = ("human", "imported", "llm")
TRAIN, VALIDATION = "train", "validation"


class ExportRejected(Exception):
    """Export options that cannot run; the message is shown as it is."""


def start_export_job(*, campaign: Campaign, created_by, format_name: str, options: dict) -> JobRun:
    """Validate ``options`` and create an EXPORT JobRun sent to ``annotate.run_export`` on commit.

    Options: ``file_type`` (jsonl | parquet), ``gzip`` (JSON lines only), ``split`` with
    ``validation_fraction`` (0 < f < 1, default 0.1), ``sources``, ``pools``, ``min_agreement``
    (0..1), ``created_from`` / ``created_to`` (ISO datetimes), ``include_margin``, ``license``.
    Raises :class:`ExportRejected` naming the bad option, creating nothing.
    """
    params = _validated(format_name=format_name, options=options)
    with transaction.atomic():
        job = create_job(kind=JobKind.EXPORT, campaign=campaign, created_by=created_by, params=params)
        enqueue_job(job=job, task_name=EXPORT_TASK, queue="default")
    return job


def _validated(*, format_name: str, options: dict) -> dict:
    if format_name not in EXPORTERS:
        raise ExportRejected(f"Unknown export format {format_name!r}; known: {', '.join(sorted(EXPORTERS))}.")
    file_type = options.get("file_type", "jsonl")
    if file_type not in FILE_TYPES:
        raise ExportRejected(f"File type must be one of {', '.join(FILE_TYPES)}.")
    compress = bool(options.get("gzip", False))
    if compress and file_type != "jsonl":
        raise ExportRejected("gzip applies to JSON lines only (Parquet is compressed already).")
    fraction = float(options.get("validation_fraction", 0.1))
    if not 0 < fraction < 1:
        raise ExportRejected("The validation fraction must be between 0 and 1.")
    sources = list(options.get("sources") or [])
    if unknown := set(sources) - set(LABEL_SOURCES):
        raise ExportRejected(f"Unknown label sources: {', '.join(sorted(unknown))}.")
    min_agreement = options.get("min_agreement")
    if min_agreement is not None:
        min_agreement = float(min_agreement)
        if not 0 <= min_agreement <= 1:
            raise ExportRejected("The agreement threshold must be between 0 and 1.")
    for name in ("created_from", "created_to"):
        if options.get(name):
            try:
                datetime.fromisoformat(options[name])
            except (TypeError, ValueError):
                raise ExportRejected(f"{name} must be an ISO date or datetime.") from None
    return {
        "format": format_name,
        "file_type": file_type,
        "gzip": compress,
        "split": bool(options.get("split", False)),
        "validation_fraction": fraction,
        "sources": sources,
        "pools": list(options.get("pools") or []),
        "min_agreement": min_agreement,
        "created_from": options.get("created_from") or None,
        "created_to": options.get("created_to") or None,
        "include_margin": bool(options.get("include_margin", True)),
        "license": str(options.get("license") or ""),
    }


def split_of(messages: list, *, validation_fraction: float) -> str:
    """``validation`` for a prompt whose SHA-256 falls in the first ``validation_fraction`` of
    the hash space, else ``train``: the same prompt always lands in the same split."""
    key = json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()
    position = int(hashlib.sha256(key).hexdigest()[:15], 16) / 16**15
    return VALIDATION if position < validation_fraction else TRAIN


def run_export_job(*, job_id: int) -> None:
    """Run a queued export job. Idempotent: a rerun (a redelivered message, a worker lost
    mid-way) deletes what an earlier attempt wrote and writes the files again.

    Result: ``{"format", "file_type", "rows", "rows_by_split", "dropped": {reason: n}, "flagged": {what: n},
    "label_sources", "aggregation", "files": [names]}``.
    """
    run_claimed_job(job_id=job_id, work=_write_export)


def discard_export_output(job: JobRun) -> None:
    """Remove what an unfinished export run wrote (its folder and any file rows)."""
    if job.campaign_id is None:
        return
    ExportFile.objects.filter(job=job).delete()
    shutil.rmtree(Path(settings.EXPORT_DIR) / job.campaign.slug / f"job-{job.pk}", ignore_errors=True)


register_partial_output_discarder(JobKind.EXPORT, discard_export_output)


def _write_export(job: JobRun, progress: JobProgress) -> dict:
    if job.campaign is None:
        raise JobFailed("The export job has no campaign.")
    params = job.params
    exporter = get_exporter(params["format"])(campaign=job.campaign, options=ExportOptions.from_params(params))
    folder = Path(job.campaign.slug) / f"job-{job.pk}"
    root = Path(settings.EXPORT_DIR) / folder
    ExportFile.objects.filter(job=job).delete()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)

    file_type, compress = params["file_type"], params["gzip"]
    suffix = ".jsonl.gz" if compress else f".{file_type}"
    content_type = {"parquet": "application/vnd.apache.parquet", "jsonl": "application/x-ndjson"}[file_type]
    if compress:
        content_type = "application/gzip"
    splits = (TRAIN, VALIDATION) if params["split"] else ("",)
    stem = f"{job.campaign.slug}-{exporter.format_name}"
    names = {split: f"{stem}-{split}{suffix}" if split else f"{stem}{suffix}" for split in splits}
    schema = exporter.arrow_schema() if file_type == "parquet" else None
    sinks = {
        split: ParquetSink(root / name, schema=schema) if schema is not None else JSONLinesSink(root / name, compress=compress)
        for split, name in names.items()
    }
    total = Instance.objects.filter(campaign=job.campaign).count()
    progress(0, total, "Writing rows")
    try:
        for prompt, record in exporter.iter_rows():
            split = split_of(prompt, validation_fraction=params["validation_fraction"]) if params["split"] else ""
            if "split" in record:  # formats with a split column (HelpSteer2-Preference) name it
                record["split"] = split or TRAIN
            sinks[split].write(record)
            progress(exporter.summary.instances_seen, total)
    finally:
        for sink in sinks.values():
            sink.close()
    progress(total, total, "Writing the dataset card")

    rows_by_name = {names[split]: sinks[split].rows for split in splits}
    card = render_card(exporter=exporter, file_type=file_type, files=rows_by_name, options=params)
    (root / "README.md").write_text(card, encoding="utf-8")
    ExportFile.objects.bulk_create(
        [
            ExportFile(
                job=job, campaign=job.campaign, name=names[split], path=str(folder / names[split]),
                split=split, content_type=content_type, size_bytes=(root / names[split]).stat().st_size,
                rows=sinks[split].rows,
            )
            for split in splits
        ]
        + [
            ExportFile(
                job=job, campaign=job.campaign, name="README.md", path=str(folder / "README.md"),
                content_type="text/markdown", size_bytes=(root / "README.md").stat().st_size,
            )
        ]
    )
    summary = exporter.summary
    return {
        "format": exporter.format_name,
        "file_type": file_type,
        "rows": summary.written,
        "rows_by_split": {split or "all": sinks[split].rows for split in splits},
        "instances": summary.instances_seen,
        "dropped": dict(summary.skipped),
        "flagged": dict(summary.flagged),
        "label_sources": dict(summary.by_label_source),
        "aggregation": dict(summary.by_provenance),
        "mean_agreement": summary.mean_agreement,
        "files": [*names.values(), "README.md"],
    }
