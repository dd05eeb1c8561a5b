"""Celery tasks of the annotate app: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from annotate.services.imports import run_import_job


@shared_task(name="annotate.run_import", acks_late=True)
def run_import(job_id: int) -> None:
    """Run import JobRun ``job_id``; a redelivered message is a no-op (the job is claimed once)."""
    run_import_job(job_id=job_id)
