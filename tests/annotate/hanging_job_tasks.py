"""Celery tasks for the time-limit tests only: loaded into a test worker with
``--include tests.annotate.hanging_job_tasks``. Each runs a JobRun through the real
``JobTask`` / ``run_claimed_job`` path; its work hangs for ``params["hang_s"]`` seconds, in
Python (``sleep``), inside a database query (``database``: ``pg_sleep``) or inside a
transaction that holds a row lock on job ``params["lock_job_id"]`` (``transaction``), or
returns at once when ``hang_s`` is 0."""

from __future__ import annotations

import time

from celery import shared_task
from django.db import connection, transaction

from annotate.models import JobRun
from annotate.services.jobs import run_claimed_job
from annotate.tasks import JobTask

HANGING_JOB_TASK = "tests.hanging_job"


@shared_task(name=HANGING_JOB_TASK, base=JobTask)
def hanging_job(job_id: int) -> None:
    def work(job, progress) -> dict:
        hang_s, where = job.params["hang_s"], job.params.get("where", "sleep")
        if hang_s and where == "transaction":
            with transaction.atomic():
                list(JobRun.objects.select_for_update().filter(pk=job.params["lock_job_id"]))
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(%s)", [hang_s])
        elif hang_s and where == "database":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(%s)", [hang_s])
        elif hang_s:
            deadline = time.monotonic() + hang_s
            while time.monotonic() < deadline:
                time.sleep(0.1)
        return {"hung_s": hang_s}

    run_claimed_job(job_id=job_id, work=work)
