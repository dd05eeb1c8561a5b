"""Long jobs as JobRun rows: create, claim, keep alive, report progress, finish.

A Celery task receives a JobRun id and calls :func:`run_claimed_job`, which claims the row,
runs a plain service function that reports through :class:`JobProgress` and records the
outcome. The claim is a conditional UPDATE that writes a new claim token and the owner's
host and pid; every later write of that run (heartbeat, progress, finish, failure) matches
the token, so a worker that lost the job can never overwrite it.

How a job survives a lost worker (a SIGKILL, an out-of-memory kill, a lost machine):

- while the work runs, a thread touches the row's heartbeat every ``JOB_HEARTBEAT_S``
  seconds, whether or not the work reports progress;
- a redelivered message for a RUNNING job takes it over when its owner is gone (a process
  of this host that no longer exists, or a heartbeat older than ``JOB_STALE_AFTER_S``) and
  otherwise raises :class:`JobBusy`, so that the task retries later instead of dropping it;
- :func:`~annotate.services.job_reaper.reap_stale_jobs` (Celery beat, worker start, before
  starting an LLM job) requeues the RUNNING jobs whose owner is gone, or fails them once
  ``JOB_MAX_ATTEMPTS`` workers were lost on them;
- the work itself must be safe to run again: a resumed job skips what an earlier attempt
  committed (see the import and local-judge jobs).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotate.models import Campaign, JobKind, JobRun, JobStatus

logger = logging.getLogger(__name__)

# Recording a job's outcome over a dropped database connection: reconnect and try again after
# 0.5, 1 and 2 seconds before giving up (the message is then retried and the reaper covers it).
RECORD_ATTEMPTS = 4
RECORD_FIRST_DELAY_S = 0.5
# Connection errors, as opposed to errors in what was written.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


class JobFailed(Exception):
    """A known, user-facing failure: its message is shown in the UI as it is."""

    def __init__(self, message: str, *, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class JobBusy(Exception):
    """The job is RUNNING in a worker that is alive: try this message again later.

    By ``retry_after_s`` the job has either finished (the retry is a no-op) or stopped
    heartbeating, and the retry takes it over.
    """

    def __init__(self, *, job_id: int, retry_after_s: int) -> None:
        super().__init__(f"JobRun {job_id} is running in a live worker")
        self.job_id = job_id
        self.retry_after_s = retry_after_s


class JobLost(Exception):
    """This worker's claim on the job is gone (another worker took it over): stop, write nothing."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"JobRun {job_id} was taken over by another worker")
        self.job_id = job_id


# Celery's hard time limit comes this long after the soft one, so the task can record its failure.
HARD_TIME_LIMIT_GRACE_S = 60


def stale_after() -> timedelta:
    return timedelta(seconds=settings.JOB_STALE_AFTER_S)


def job_timeout_s(kind: str) -> int:
    """How long one attempt of a job of ``kind`` may run before it counts as hung."""
    return settings.JOB_KIND_TIMEOUT_S.get(kind, settings.JOB_TIMEOUT_S)


def time_limit_options(kind: str) -> dict[str, int]:
    """Celery's soft and hard time limits for a job of ``kind``, as options of its message."""
    timeout_s = job_timeout_s(kind)
    return {"soft_time_limit": timeout_s, "time_limit": timeout_s + HARD_TIME_LIMIT_GRACE_S}


def timed_out_error(kind: str) -> str:
    return (
        f"The job ran longer than its time limit ({job_timeout_s(kind):,} s for "
        f"{JobKind(kind).label.lower()} jobs) and was stopped; nothing it wrote was kept."
    )


def is_past_its_time_limit(*, job: JobRun, now: datetime) -> bool:
    return job.started_at is not None and job.started_at < now - timedelta(
        seconds=job_timeout_s(job.kind)
    )


def this_host() -> str:
    return socket.gethostname()


def create_job(
    *, kind: JobKind, campaign: Campaign | None, created_by=None, params: dict | None = None
) -> JobRun:
    return JobRun.objects.create(
        kind=kind, campaign=campaign, created_by=created_by, params=params or {}
    )


def enqueue_job(*, job: JobRun, task_name: str, queue: str | None = None) -> None:
    """Record which task runs the job, and send it once the surrounding transaction commits
    (never before). The reaper sends the same task again if the job's worker is lost."""
    job.task_name, job.queue = task_name, queue or ""
    JobRun.objects.filter(pk=job.pk).update(task_name=job.task_name, queue=job.queue)
    send_job_on_commit(job_id=job.pk, task_name=task_name, queue=job.queue, kind=job.kind)


def send_job_on_commit(*, job_id: int, task_name: str, queue: str, kind: str) -> None:
    """Send ``task_name(job_id)`` (to ``queue``; blank = routed by name) after the commit.

    A broker that is down does not fail the caller (the job is committed already): the send
    is logged, the job stays QUEUED with no ``sent_at``, and the reaper sends it again.
    """
    transaction.on_commit(
        lambda: send_job(job_id=job_id, task_name=task_name, queue=queue, kind=kind)
    )


def send_job(*, job_id: int, task_name: str, queue: str, kind: str) -> bool:
    """Publish the job's message now, under the kind's time limits, and record ``sent_at``;
    False (logged) when the broker did not take it."""
    from kombu.exceptions import OperationalError as BrokerUnavailable

    from config.celery import app

    options: dict[str, Any] = {"args": [job_id], **time_limit_options(kind)}
    if queue:
        options["queue"] = queue
    try:
        app.send_task(task_name, **options)
    except BrokerUnavailable:
        logger.warning(
            "JobRun %s: the broker did not take its message; the reaper sends it again",
            job_id,
            exc_info=True,
        )
        return False
    JobRun.objects.filter(pk=job_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True


# --- Claiming ------------------------------------------------------------------------------------


def claim_job(*, job_id: int) -> JobRun | None:
    """Claim JobRun ``job_id`` for this process: QUEUED → RUNNING, or take over a RUNNING job
    whose owner is gone.

    Returns None when there is nothing to run: no such job, a finished one, or one that lost
    ``JOB_MAX_ATTEMPTS`` workers (it is failed with the reason). Raises :class:`JobBusy` while
    a live worker holds the job, or when another claimer changed the row first.
    """
    job = JobRun.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("JobRun %s does not exist; message dropped", job_id)
        return None
    if job.is_finished:
        logger.info("JobRun %s is %s already; nothing to do", job_id, job.status)
        return None
    now = timezone.now()
    if job.status == JobStatus.RUNNING and is_past_its_time_limit(job=job, now=now):
        # Hung, not lost: running it again would hang again.
        fail_timed_out_job(job=job, now=now)
        return None
    if job.status == JobStatus.RUNNING:
        if not owner_is_gone(job=job, now=now):
            raise JobBusy(job_id=job.pk, retry_after_s=settings.JOB_STALE_AFTER_S)
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            fail_abandoned_job(job=job, now=now)
            return None
        logger.warning(
            "JobRun %s: its worker %s (pid %s) is gone; taking it over",
            job.pk,
            job.owner_host,
            job.owner_pid,
        )
    # Settles the race between redelivered messages, retries and the reaper: the UPDATE
    # matches only the row as read here, so exactly one of them claims it.
    claimed = unchanged_since_read(job).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        owner_host=this_host(),
        owner_pid=os.getpid(),
        claim_token=uuid.uuid4().hex,
        error="",
        error_details=[],
    )
    if claimed != 1:
        raise JobBusy(job_id=job.pk, retry_after_s=settings.JOB_STALE_AFTER_S)
    job.refresh_from_db()
    return job


def owner_is_gone(*, job: JobRun, now: datetime) -> bool:
    """Whether the worker process that claimed RUNNING ``job`` is known to be gone: its
    heartbeat is stale, or it ran on this host and its pid no longer exists."""
    if job.heartbeat_at is None or job.heartbeat_at < now - stale_after():
        return True
    return (
        job.owner_host == this_host()
        and job.owner_pid is not None
        and not _pid_alive(job.owner_pid)
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # A killed process whose parent has not reaped it yet ("Z") is dead all the same.
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def unchanged_since_read(job: JobRun) -> QuerySet[JobRun]:
    """The job's row only if nobody claimed, heartbeat or changed its status since it was read."""
    return JobRun.objects.filter(
        pk=job.pk, status=job.status, claim_token=job.claim_token, heartbeat_at=job.heartbeat_at
    )


def _owned(job: JobRun) -> QuerySet[JobRun]:
    """The job's row only while ``job``'s claim owns it."""
    return JobRun.objects.filter(pk=job.pk, status=JobStatus.RUNNING, claim_token=job.claim_token)


def hold_job_claim(*, job: JobRun) -> None:
    """Inside the caller's transaction, lock the job's row if ``job``'s claim still owns it,
    else raise :class:`JobLost`.

    Called just before a job commits its result rows: they commit only while the claim holds,
    and a takeover (an UPDATE of the row) waits for the lock, so it sees them.
    """
    if not list(_owned(job).select_for_update().values_list("pk", flat=True)):
        raise JobLost(job.pk)


def fail_abandoned_job(*, job: JobRun, now: datetime) -> bool:
    """Fail RUNNING ``job`` (as read) whose workers were lost, saying so; False when the row
    changed since it was read (someone else settled it)."""
    times = "once" if job.attempts == 1 else f"{job.attempts} times"
    if job.task_name:
        error = f"The worker running this job stopped responding {times}; it was not started again."
    else:
        error = (
            f"The worker running this job stopped responding {times}; the job cannot be requeued."
        )
    failed = unchanged_since_read(job).update(status=JobStatus.FAILED, error=error, finished_at=now)
    if failed == 1:
        logger.error("JobRun %s: %s", job.pk, error)
    return failed == 1


# Per job kind, what removes the files an unfinished run left (rows are the run's transaction's).
_PARTIAL_OUTPUT_DISCARDERS: dict[str, Callable[[JobRun], None]] = {}


def register_partial_output_discarder(kind: JobKind, discard: Callable[[JobRun], None]) -> None:
    _PARTIAL_OUTPUT_DISCARDERS[kind] = discard


def discard_partial_output(job: JobRun) -> None:
    discard = _PARTIAL_OUTPUT_DISCARDERS.get(job.kind)
    if discard is not None:
        discard(job)


def fail_timed_out_job(*, job: JobRun, now: datetime) -> bool:
    """Fail RUNNING ``job`` (as read) that ran past its kind's time limit and discard its
    partial output; its run loses its claim, so whatever it still writes is refused
    (:class:`JobLost`). False when the row changed since it was read."""
    error = timed_out_error(job.kind)
    failed = unchanged_since_read(job).update(status=JobStatus.FAILED, error=error, finished_at=now)
    if failed == 1:
        logger.error("JobRun %s: %s", job.pk, error)
        discard_partial_output(job)
    return failed == 1


# --- Running ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSession:
    """A PostgreSQL server session (backend), told apart from a later one with a reused pid."""

    pid: int
    started_at: datetime | None  # None: any session with this pid


def current_database_session() -> DatabaseSession | None:
    """This thread's PostgreSQL session (connecting if needed); None on other databases."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        row = cursor.fetchone()
    return DatabaseSession(pid=row[0], started_at=row[1]) if row else None


def end_interrupted_database_session(session: DatabaseSession | None) -> None:
    """After Celery's soft time limit interrupted the work, maybe in the middle of a query:
    drop this thread's connection and terminate its server session from a fresh one.

    The exception only stops the client waiting: the server runs the query to its end (hours,
    for a hung one), holding its transaction's locks, and the connection is left busy (an
    enclosing ``atomic`` that fails to roll back closes it, and Django then opens a fresh
    one). ``session`` is the one the work started on; a connection the work opened since and
    left in the middle of a query is ended too.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # In the caller's transaction (a job run inline, as tests do) the connection is theirs.
        return
    from psycopg.pq import TransactionStatus

    sessions = [session] if session is not None else []
    raw = connection.connection
    if (
        raw is not None
        and raw.info.transaction_status == TransactionStatus.ACTIVE
        and (session is None or raw.info.backend_pid != session.pid)
    ):
        sessions.append(DatabaseSession(pid=raw.info.backend_pid, started_at=None))
    connection.close()
    for ended in sessions:
        try:
            with connection.cursor() as cursor:
                # backend_start tells the session apart from a later one that reuses its pid.
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s"
                    " AND (%s::timestamptz IS NULL OR backend_start = %s) AND pid <> pg_backend_pid()",
                    [ended.pid, ended.started_at, ended.started_at],
                )
        except TRANSIENT_DATABASE_ERRORS:
            logger.warning("The interrupted job's database session %s was not ended", ended.pid, exc_info=True)
            connection.close()


class JobHeartbeat:
    """Touches the job's heartbeat every ``interval_s`` seconds from its own thread (and so its
    own database connection) while the work runs, whether or not the work reports progress.

    Stops at :meth:`stop`, or by itself once the claim is lost. A beat that meets a database
    error is logged and tried again at the next beat.
    """

    def __init__(self, *, job: JobRun, interval_s: float) -> None:
        self._job = job
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"jobrun-{job.pk}-heartbeat", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval_s + 10)

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self._interval_s):
                if not self._beat():
                    logger.warning("JobRun %s: the claim was lost; heartbeat stopped", self._job.pk)
                    return
        finally:
            connections.close_all()  # this thread's own connection

    def _beat(self) -> bool:
        try:
            return _owned(self._job).update(heartbeat_at=timezone.now()) == 1
        except TRANSIENT_DATABASE_ERRORS:
            logger.warning("JobRun %s: heartbeat not written", self._job.pk, exc_info=True)
            connection.close()
            return True


@dataclass
class JobProgress:
    """Progress reporter handed to services; writes at most every ``min_interval`` seconds.

    Raises :class:`JobLost` when the job was taken over, so that a worker that lost it stops.
    """

    job: JobRun | None
    min_interval: float = 0.5
    _last_write: float = field(default=0.0, repr=False)

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        if self.job is None:
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        fields: dict[str, Any] = {"progress_done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = total
        if message:
            fields["message"] = message[:300]
        if _owned(self.job).update(**fields) != 1:
            raise JobLost(self.job.pk)


def finish_job(*, job: JobRun, result: dict | None = None, message: str = "") -> bool:
    """Record success; False when ``job``'s claim no longer owns the job (nothing written)."""
    return _record(
        job,
        status=JobStatus.SUCCEEDED,
        result=result or {},
        message=message[:300],
        finished_at=timezone.now(),
    )


def fail_job(*, job: JobRun, error: str, details: list[dict] | None = None) -> bool:
    """Record failure; False when ``job``'s claim no longer owns the job (nothing written)."""
    return _record(
        job,
        status=JobStatus.FAILED,
        error=error,
        error_details=details or [],
        finished_at=timezone.now(),
    )


def _record(job: JobRun, **fields: Any) -> bool:
    """Write the outcome of ``job``'s claim; over a dropped connection, close it and try again
    with backoff. Raises the database error once ``RECORD_ATTEMPTS`` writes failed."""
    delay = RECORD_FIRST_DELAY_S
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            written = _owned(job).update(**fields) == 1
        except TRANSIENT_DATABASE_ERRORS:
            # Inside a transaction a new connection would not see (or keep) its writes.
            if attempt == RECORD_ATTEMPTS or connection.in_atomic_block:
                raise
            logger.warning(
                "JobRun %s: recording %s failed (attempt %d of %d); reconnecting",
                job.pk,
                fields["status"],
                attempt,
                RECORD_ATTEMPTS,
                exc_info=True,
            )
            connection.close()
            time.sleep(delay)
            delay *= 2
            continue
        if not written:
            logger.warning(
                "JobRun %s: taken over by another worker; this run's %s is discarded",
                job.pk,
                fields["status"],
            )
        return written
    raise AssertionError("unreachable")


def run_claimed_job(*, job_id: int, work: Callable[[JobRun, JobProgress], dict]) -> None:
    """Claim the job, run ``work(job, progress)`` under a heartbeat, record its result or its
    failure.

    ``JobFailed`` is a known failure shown as it is; any other exception is recorded with a
    generic message (details go to the log) and re-raised for Celery. A run that loses its
    claim (``JobLost``) stops and writes nothing. Raises :class:`JobBusy` (see
    :func:`claim_job`), and a database error when the outcome could not be recorded.
    """
    job = claim_job(job_id=job_id)
    if job is None:
        return
    heartbeat = JobHeartbeat(job=job, interval_s=settings.JOB_HEARTBEAT_S)
    # Inside a transaction (a caller running the job inline, as tests do) no other connection
    # sees the claim, so none can reap it, and a beat would only wait on our row lock.
    beating = not connection.in_atomic_block
    if beating:
        heartbeat.start()
    session = None
    try:
        try:
            # Where the work started, so that a soft time limit can end its server session.
            session = current_database_session()
            result = work(job, JobProgress(job))
        except JobLost:
            logger.warning("JobRun %s: taken over by another worker; this run stops", job_id)
            return
        except JobFailed as exc:
            fail_job(job=job, error=str(exc), details=exc.details)
            return
        except SoftTimeLimitExceeded:
            # Celery's soft limit: the work's transaction is rolled back (its query stopped and
            # its session ended on the server); its files go too.
            end_interrupted_database_session(session)
            if fail_job(job=job, error=timed_out_error(job.kind)):
                discard_partial_output(job)
            return
        except Exception:
            logger.exception("JobRun %s failed", job_id)
            fail_job(job=job, error="The job failed unexpectedly; the worker log has the details.")
            raise
        finish_job(job=job, result=result, message="Done")
    finally:
        if beating:
            heartbeat.stop()
