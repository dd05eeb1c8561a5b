"""Jobs survive lost workers: stale heartbeats are reaped, a redelivered message takes over a job
whose worker is gone (and only then), a worker that lost its job cannot overwrite it, a dropped
database connection does not keep a failure from being recorded, and a resumed job writes each
row once. The last tests SIGKILL real `celery worker` processes in the middle of a job."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from celery.exceptions import Retry
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from annotate.models import (
    Annotation,
    AnnotationSource,
    Instance,
    JobKind,
    JobRun,
    JobStatus,
    QueueItem,
    Response,
)
from annotate.services import import_writes
from annotate.services import imports as imports_service
from annotate.services import jobs as jobs_service
from annotate.services.imports import import_instances, run_import_job, start_import_job
from annotate.services.job_reaper import reap_stale_jobs
from annotate.services.jobs import (
    JobBusy,
    JobFailed,
    JobLost,
    JobProgress,
    claim_job,
    fail_job,
    finish_job,
    run_claimed_job,
    stale_after,
    time_limit_options,
)
from annotate.services.llm_jobs import JobAlreadyRunning, start_local_judge_job
from tests.conftest import (
    REPO_DIR,
    build_campaign,
    is_postgres,
    logged_in,
    make_user,
    pairwise_rows,
)

needs_postgres = pytest.mark.skipif(not is_postgres(), reason="terminates a PostgreSQL backend")


class WorkerKilled(BaseException):
    """Stands in for SIGKILL inside the test process: no ``except Exception`` handler runs."""


@pytest.fixture
def pm(db):
    return make_user("pm")


def queued_import(*, pm, n_rows: int = 3, prefix: str = "row", name: str = "Spec campaign"):
    campaign = build_campaign(pm=pm, n_instances=0, name=name)
    job = start_import_job(
        campaign=campaign,
        created_by=pm,
        filename="rows.jsonl",
        data=pairwise_rows(n_rows, prefix=prefix),
        file_format="generic",
    )
    return campaign, job


def as_if_its_worker_went_silent(job: JobRun, *, for_s: float | None = None) -> None:
    """The job's last heartbeat is older than the stale threshold (or ``for_s`` seconds old)."""
    age = timedelta(seconds=for_s) if for_s is not None else stale_after() * 2
    JobRun.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - age)


def dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def imported_rows(campaign) -> list[tuple]:
    """What an import wrote, comparable across campaigns."""
    return sorted(
        (
            instance.external_id,
            tuple(response.text for response in instance.responses.order_by("position")),
            instance.queue_item.required_overlap,
        )
        for instance in Instance.objects.filter(campaign=campaign)
        .select_related("queue_item")
        .prefetch_related("responses")
    )


# --- Reaping ---------------------------------------------------------------------------------------


def test_a_running_job_whose_heartbeat_went_stale_is_requeued_and_sent_again(
    pm, sent_tasks, django_capture_on_commit_callbacks
):
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)

    with django_capture_on_commit_callbacks(execute=True):
        reaped = reap_stale_jobs()

    job.refresh_from_db()
    assert (reaped.requeued, reaped.failed) == ([job.pk], [])
    assert (job.status, job.attempts, job.claim_token, job.owner_pid) == (
        JobStatus.QUEUED,
        1,
        "",
        None,
    )
    assert job.message == "Requeued after the worker stopped (attempt 1)"
    assert sent_tasks == [("annotate.run_import", {"args": [job.pk], **time_limit_options("import")})]
    # The message the reaper sent runs the job as a second attempt.
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result["created"]) == (JobStatus.SUCCEEDED, 2, 3)


def test_a_requeued_job_goes_back_to_its_own_queue(
    pm, sent_tasks, django_capture_on_commit_callbacks
):
    campaign = build_campaign(pm=pm, n_instances=2)
    with django_capture_on_commit_callbacks(execute=True):
        job = start_local_judge_job(campaign=campaign, created_by=pm)
    claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)

    with django_capture_on_commit_callbacks(execute=True):
        reap_stale_jobs()

    queued_twice = (
        "routing.gpu.annotate_with_local_judge",
        {"args": [job.pk], "queue": "gpu", **time_limit_options("llm_annotation")},
    )
    assert sent_tasks == [queued_twice, queued_twice]


def test_a_job_that_lost_its_worker_max_attempts_times_is_failed_with_the_reason(
    pm, sent_tasks, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_ATTEMPTS = 3
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    JobRun.objects.filter(pk=job.pk).update(attempts=3)
    as_if_its_worker_went_silent(job)

    with django_capture_on_commit_callbacks(execute=True):
        reaped = reap_stale_jobs()

    job.refresh_from_db()
    assert (reaped.requeued, reaped.failed) == ([], [job.pk])
    assert job.status == JobStatus.FAILED
    assert (
        job.error
        == "The worker running this job stopped responding 3 times; it was not started again."
    )
    assert job.finished_at is not None
    assert sent_tasks == []


def test_a_job_whose_task_is_unknown_is_failed_not_requeued_forever(pm, sent_tasks):
    campaign = build_campaign(pm=pm, n_instances=0)
    job = jobs_service.create_job(kind=JobKind.EXPORT, campaign=campaign)  # never enqueued
    claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)

    assert reap_stale_jobs().failed == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        "The worker running this job stopped responding once; the job cannot be requeued.",
    )


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(pm, sent_tasks):
    campaign, job = queued_import(pm=pm)
    claimed = claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job, for_s=stale_after().total_seconds() / 2)

    reaped = reap_stale_jobs()

    job.refresh_from_db()
    assert (reaped.requeued, reaped.failed) == ([], [])
    assert (job.status, job.claim_token) == (JobStatus.RUNNING, claimed.claim_token)
    assert sent_tasks == []


def test_a_job_whose_worker_process_on_this_host_is_gone_is_reaped_without_waiting(
    pm, sent_tasks, django_capture_on_commit_callbacks
):
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    JobRun.objects.filter(pk=job.pk).update(owner_pid=dead_pid())  # heartbeat still fresh

    with django_capture_on_commit_callbacks(execute=True):
        reaped = reap_stale_jobs()

    assert reaped.requeued == [job.pk]
    assert sent_tasks == [("annotate.run_import", {"args": [job.pk], **time_limit_options("import")})]


def test_a_dead_llm_job_no_longer_blocks_the_campaign(pm, settings, sent_tasks):
    settings.JOB_MAX_ATTEMPTS = 2
    campaign = build_campaign(pm=pm, n_instances=2)
    dead = start_local_judge_job(campaign=campaign, created_by=pm)
    claim_job(job_id=dead.pk)
    as_if_its_worker_went_silent(dead)

    # First loss: the job is requeued, and will run again, so a second one is still refused.
    with pytest.raises(JobAlreadyRunning, match=f"#{dead.pk} is still queued"):
        start_local_judge_job(campaign=campaign, created_by=pm)
    claim_job(job_id=dead.pk)
    as_if_its_worker_went_silent(dead)
    # Second loss: the job is failed with the reason, and a new one starts.
    new = start_local_judge_job(campaign=campaign, created_by=pm)

    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED and "stopped responding 2 times" in dead.error
    assert new.status == JobStatus.QUEUED and new.pk != dead.pk


# --- Redelivered messages --------------------------------------------------------------------------


def test_a_redelivered_message_for_a_job_running_in_a_live_worker_is_retried_not_dropped(
    pm, settings, monkeypatch
):
    from annotate.tasks import run_import

    settings.JOB_STALE_AFTER_S = 90
    campaign, job = queued_import(pm=pm)
    claimed = claim_job(job_id=job.pk)  # this process is the live owner; heartbeat fresh
    retries = []

    def retry(**options):
        retries.append(options)
        return Retry()

    monkeypatch.setattr(run_import, "retry", retry)

    with pytest.raises(Retry):
        run_import(job.pk)

    assert [(type(r["exc"]), r["countdown"]) for r in retries] == [(JobBusy, 90)]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.claim_token) == (
        JobStatus.RUNNING,
        1,
        claimed.claim_token,
    )
    assert campaign.instances.count() == 0


def test_a_redelivered_message_takes_over_a_job_whose_worker_process_on_this_host_is_gone(pm):
    campaign, job = queued_import(pm=pm)
    first = claim_job(job_id=job.pk)
    JobRun.objects.filter(pk=job.pk).update(owner_pid=dead_pid())  # the heartbeat is fresh

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.owner_pid) == (JobStatus.SUCCEEDED, 2, os.getpid())
    assert job.claim_token != first.claim_token
    assert campaign.instances.count() == 3


def test_a_redelivered_message_takes_over_a_job_whose_heartbeat_went_stale(pm):
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)  # the owner may be alive on another host: it is silent

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)


def test_a_message_for_a_job_that_lost_too_many_workers_fails_it_instead_of_running_it(
    pm, settings
):
    settings.JOB_MAX_ATTEMPTS = 2
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    JobRun.objects.filter(pk=job.pk).update(attempts=2, owner_pid=dead_pid())

    run_import_job(job_id=job.pk)  # e.g. the file makes every worker run out of memory

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert "stopped responding 2 times" in job.error
    assert campaign.instances.count() == 0


def test_a_message_for_a_finished_job_is_a_no_op(pm):
    campaign, job = queued_import(pm=pm)
    run_import_job(job_id=job.pk)

    run_import_job(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert campaign.instances.count() == 3


# --- A worker that lost its job ----------------------------------------------------------------


def test_a_worker_that_lost_its_job_cannot_overwrite_it_after_the_takeover(pm):
    campaign, job = queued_import(pm=pm)
    zombie = claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)  # e.g. its machine was cut off from the database
    successor = claim_job(job_id=job.pk)

    # The zombie comes back: none of its writes land.
    with pytest.raises(JobLost):
        JobProgress(zombie, min_interval=0)(5, 10, "zombie progress")
    assert finish_job(job=zombie, result={"by": "zombie"}) is False
    assert fail_job(job=zombie, error="zombie failure") is False
    with pytest.raises(JobLost):
        import_instances(
            campaign=campaign, data=pairwise_rows(2), file_format="generic", import_job=zombie
        )
    assert campaign.instances.count() == 0

    JobProgress(successor, min_interval=0)(1, 2, "successor progress")
    assert finish_job(job=successor, result={"by": "successor"}) is True
    job.refresh_from_db()
    assert (job.status, job.result, job.progress_done, job.attempts) == (
        JobStatus.SUCCEEDED,
        {"by": "successor"},
        1,
        2,
    )


def test_a_run_that_loses_its_job_stops_at_its_next_progress_report_and_writes_nothing(pm):
    campaign, job = queued_import(pm=pm)
    reports_after_the_takeover = []

    def work(job, progress):
        progress(1, 3, "first")
        # Meanwhile the job is taken over by another worker.
        JobRun.objects.filter(pk=job.pk).update(claim_token=uuid.uuid4().hex)
        progress(3, 3, "last")
        reports_after_the_takeover.append("unreachable")
        return {"by": "the lost run"}

    run_claimed_job(job_id=job.pk, work=work)

    job.refresh_from_db()
    assert (job.status, job.message, job.result) == (JobStatus.RUNNING, "first", {})
    assert reports_after_the_takeover == []


# --- The heartbeat ---------------------------------------------------------------------------------


def test_the_heartbeat_advances_while_the_work_reports_nothing_and_stops_with_it(
    transactional_db, pm, settings, sent_tasks
):
    settings.JOB_HEARTBEAT_S = 0.1
    campaign, job = queued_import(pm=pm)
    seen = []

    def silent_work(job, progress):
        for _ in range(3):
            seen.append(JobRun.objects.get(pk=job.pk).heartbeat_at)
            time.sleep(0.4)
        return {}

    run_claimed_job(job_id=job.pk, work=silent_work)

    assert seen == sorted(seen) and len(set(seen)) == 3
    assert not [t for t in threading.enumerate() if t.name == f"jobrun-{job.pk}-heartbeat"]
    assert JobRun.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


# --- A dropped database connection -------------------------------------------------------------------


def terminate_own_backend() -> None:
    """Have PostgreSQL end this thread's connection, as a restart or a network cut would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"],
        port=db["PORT"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@needs_postgres
def test_a_job_whose_connection_drops_is_recorded_as_failed_with_the_error(
    transactional_db, pm, sent_tasks
):
    campaign, job = queued_import(pm=pm)

    def work(job, progress):
        terminate_own_backend()
        campaign.instances.count()  # the work meets the dropped connection first
        return {}

    with pytest.raises(OperationalError):
        run_claimed_job(job_id=job.pk, work=work)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "The job failed unexpectedly; the worker log has the details."


@needs_postgres
def test_a_known_failure_is_recorded_over_a_dropped_connection(transactional_db, pm, sent_tasks):
    campaign, job = queued_import(pm=pm)

    def work(job, progress):
        terminate_own_backend()
        raise JobFailed("The file is not what it said it was.")

    run_claimed_job(job_id=job.pk, work=work)

    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "The file is not what it said it was.")


@needs_postgres
def test_a_success_is_recorded_over_a_dropped_connection(transactional_db, pm, sent_tasks):
    campaign, job = queued_import(pm=pm)

    def work(job, progress):
        terminate_own_backend()
        return {"done": 1}

    run_claimed_job(job_id=job.pk, work=work)

    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"done": 1})


def test_an_outcome_that_cannot_be_recorded_is_raised_and_left_to_the_reaper(
    transactional_db, pm, monkeypatch, sent_tasks
):
    campaign, job = queued_import(pm=pm)
    monkeypatch.setattr(jobs_service, "RECORD_FIRST_DELAY_S", 0)
    writes = []

    class DatabaseAway:
        def update(self, **fields):
            writes.append(fields["status"])
            raise OperationalError("the database is away")

    def work(job, progress):
        monkeypatch.setattr(jobs_service, "_owned", lambda job: DatabaseAway())
        return {}

    real_owned = jobs_service._owned
    with pytest.raises(OperationalError):  # the task retries the message
        run_claimed_job(job_id=job.pk, work=work)

    assert writes == [JobStatus.SUCCEEDED] * jobs_service.RECORD_ATTEMPTS
    monkeypatch.setattr(jobs_service, "_owned", real_owned)  # the database is back
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    as_if_its_worker_went_silent(job)
    assert reap_stale_jobs().requeued == [job.pk]


# --- Resumed jobs write each row once ----------------------------------------------------------------


def test_an_import_killed_while_writing_resumes_to_the_same_rows_as_an_uninterrupted_one(
    pm, monkeypatch
):
    monkeypatch.setattr(import_writes, "BATCH_SIZE", 40)  # several write batches
    interrupted_campaign, job = queued_import(pm=pm, n_rows=150, name="Interrupted")
    uninterrupted_campaign, baseline = queued_import(pm=pm, n_rows=150, name="Uninterrupted")
    real_hold = imports_service.hold_job_claim

    def killed_before_commit(*, job):
        raise WorkerKilled  # every batch is written, the transaction not committed

    monkeypatch.setattr(imports_service, "hold_job_claim", killed_before_commit)
    with pytest.raises(WorkerKilled):
        run_import_job(job_id=job.pk)
    assert JobRun.objects.get(pk=job.pk).status == JobStatus.RUNNING
    assert interrupted_campaign.instances.count() == 0

    monkeypatch.setattr(imports_service, "hold_job_claim", real_hold)
    as_if_its_worker_went_silent(job)
    run_import_job(job_id=job.pk)
    run_import_job(job_id=baseline.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.result["created"]) == (JobStatus.SUCCEEDED, 2, 150)
    assert imported_rows(interrupted_campaign) == imported_rows(uninterrupted_campaign)
    assert Response.objects.filter(instance__campaign=interrupted_campaign).count() == 300
    assert QueueItem.objects.filter(campaign=interrupted_campaign).count() == 150


def judged_rows(campaign) -> list[tuple]:
    return sorted(
        (a.instance.external_id, a.overall_preference, round(a.raw_output["prob_a"], 4))
        for a in Annotation.objects.filter(
            campaign=campaign, source=AnnotationSource.LLM
        ).select_related("instance")
    )


@pytest.fixture
def tiny_local_judge(settings, tmp_path):
    from tests.models_rm.test_rm_backbones import build_tiny_reward_model

    settings.LOCAL_JUDGE_MODEL = str(build_tiny_reward_model(tmp_path / "house-rm"))
    settings.MODELS_DEVICE = "cpu"
    settings.EMBEDDING_CACHE_DIR = tmp_path / "cache"
    return settings.LOCAL_JUDGE_MODEL


@pytest.mark.slow
def test_a_local_judge_job_killed_midway_resumes_to_the_same_labels_as_an_uninterrupted_one(
    pm, tiny_local_judge, monkeypatch
):
    import routing.services as routing_services
    from routing.services import BATCH_SIZE, run_local_judge_job

    n = 2 * BATCH_SIZE + 10
    interrupted_campaign = build_campaign(pm=pm, n_instances=n, name="Interrupted")
    uninterrupted_campaign = build_campaign(pm=pm, n_instances=n, name="Uninterrupted")
    job = start_local_judge_job(campaign=interrupted_campaign, created_by=pm)
    baseline = start_local_judge_job(campaign=uninterrupted_campaign, created_by=pm)
    real_record = routing_services.record_llm_annotations
    batches = []

    def killed_in_the_second_batch(*, campaign, labels, job):
        batches.append(len(labels))
        if len(batches) == 2:
            real_record(campaign=campaign, labels=labels[:5], job=job)
            raise WorkerKilled
        return real_record(campaign=campaign, labels=labels, job=job)

    monkeypatch.setattr(routing_services, "record_llm_annotations", killed_in_the_second_batch)
    with pytest.raises(WorkerKilled):
        run_local_judge_job(job_id=job.pk)
    monkeypatch.setattr(routing_services, "record_llm_annotations", real_record)
    assert len(judged_rows(interrupted_campaign)) == BATCH_SIZE + 5

    as_if_its_worker_went_silent(job)
    run_local_judge_job(job_id=job.pk)
    run_local_judge_job(job_id=baseline.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), job.error
    assert job.result["created"] == n - BATCH_SIZE - 5
    assert judged_rows(interrupted_campaign) == judged_rows(uninterrupted_campaign)
    assert len(judged_rows(interrupted_campaign)) == n


# --- The job page ------------------------------------------------------------------------------------


def test_the_job_page_and_api_say_a_job_was_requeued_and_which_attempt_runs(pm, sent_tasks):
    campaign, job = queued_import(pm=pm)
    claim_job(job_id=job.pk)
    as_if_its_worker_went_silent(job)
    reap_stale_jobs()
    client = logged_in(pm)

    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "Requeued after the worker stopped (attempt 1)" in page

    claim_job(job_id=job.pk)
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "(attempt 2, after the worker stopped)" in page
    assert client.get(reverse("api_job", args=[job.pk])).json()["attempts"] == 2


# --- Real worker processes, SIGKILLed ----------------------------------------------------------------


class WorkerProcess:
    """`celery -A config worker` (prefork, one child) in its own process group, on the test
    database and the configured broker."""

    def __init__(self, *, queues: str, log: Path, **env: str) -> None:
        from django.conf import settings

        self.log = log
        self.environment = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(settings.VAR_DIR),
            "DB_CONN_MAX_AGE": "0",
            # Beats every second; a heartbeat goes stale only after 30 s, so a takeover within
            # the test's time comes from knowing the worker process is gone, not from waiting.
            "JOB_HEARTBEAT_S": "1",
            "JOB_STALE_AFTER_S": "30",
            **env,
        }
        self.command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool", "prefork", "--concurrency", "1", "--queues", queues,
            "--hostname", f"recovery-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=REPO_DIR, env=self.environment, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker: the main process and its pool child, at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def worker_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def purge_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as broker:
        channel = broker.default_channel
        for queue in ("default", "llm", "gpu"):
            with contextlib.suppress(Exception):  # a queue this broker never declared
                channel.queue_purge(queue)
        if broker.transport.driver_type == "redis":
            # Messages the killed workers held stay "unacked" until the visibility timeout;
            # drop them so no later test sees them come back.
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


@pytest.fixture
def workers(transactional_db, tmp_path):
    purge_broker()
    started: list[WorkerProcess] = []

    def start(*, queues: str = "default", **env: str) -> WorkerProcess:
        worker = WorkerProcess(queues=queues, log=tmp_path / f"worker-{len(started)}.log", **env)
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
    purge_broker()


def wait_for(predicate, *, timeout: float, what: str, workers: list[WorkerProcess]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    logs = "\n".join(f"--- {worker.log.name}\n{worker.log_tail()}" for worker in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.mark.worker
@pytest.mark.slow
def test_a_whole_worker_killed_mid_import_leaves_the_job_to_a_fresh_worker_that_imports_it_once(
    workers, settings
):
    # Enough rows that writing them (PostgreSQL COPY, ~10k rows/s here) outlasts the kill below.
    n = 40_000
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=0)
    first = workers()
    job = start_import_job(
        campaign=campaign,
        created_by=pm,
        filename="big.jsonl",
        data=pairwise_rows(n, prefix="big"),
        file_format="generic",
    )
    # Every row checked: the worker is inside the one transaction that writes them.
    wait_for(
        lambda: JobRun.objects.filter(pk=job.pk, message=f"Checked {n:,} lines").exists(),
        timeout=30,
        what="the import to start writing",
        workers=[first],
    )
    time.sleep(0.3)
    first.kill()
    job.refresh_from_db()
    assert (job.status, campaign.instances.count()) == (JobStatus.RUNNING, 0)

    second = workers()  # its start reaps the job: its worker process is gone
    done = wait_for(
        lambda: JobRun.objects.filter(
            pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first(),
        timeout=45,
        what="the fresh worker to finish the import",
        workers=[first, second],
    )

    assert (done.status, done.attempts, done.error) == (JobStatus.SUCCEEDED, 2, "")
    assert done.result == {"created": n, "labels_imported": 0, "answers_not_in_task": {}}
    assert campaign.instances.count() == n
    assert len(set(campaign.instances.values_list("external_id", flat=True))) == n
    assert Response.objects.filter(instance__campaign=campaign).count() == 2 * n
    assert QueueItem.objects.filter(campaign=campaign).count() == n


@pytest.mark.worker
@pytest.mark.slow
def test_a_worker_child_killed_mid_judging_is_replaced_and_the_redelivered_message_resumes(
    workers, tiny_local_judge
):
    from routing.services import BATCH_SIZE, run_local_judge_job

    n = 4 * BATCH_SIZE
    pm = make_user("pm")
    interrupted_campaign = build_campaign(pm=pm, n_instances=n, name="Interrupted")
    worker = workers(
        queues="gpu",
        LOCAL_JUDGE_MODEL=tiny_local_judge,
        MODELS_DEVICE="cpu",
        EMBEDDING_CACHE_DIR=str(Path(tiny_local_judge).parent / "worker-cache"),
    )
    job = start_local_judge_job(campaign=interrupted_campaign, created_by=pm)
    labelled = Annotation.objects.filter(campaign=interrupted_campaign, source=AnnotationSource.LLM)
    wait_for(
        lambda: labelled.count() >= BATCH_SIZE, timeout=60, what="a first batch", workers=[worker]
    )
    owner_pid = JobRun.objects.get(pk=job.pk).owner_pid
    os.kill(owner_pid, signal.SIGKILL)  # the pool child; the worker's main process lives on

    done = wait_for(
        lambda: JobRun.objects.filter(
            pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first(),
        timeout=60,
        what="the worker to resume the job",
        workers=[worker],
    )
    # The same items judged in one go, in this process (no message: the worker stays out of it).
    uninterrupted_campaign = build_campaign(pm=pm, n_instances=n, name="Uninterrupted")
    baseline = jobs_service.create_job(kind=JobKind.LLM_ANNOTATION, campaign=uninterrupted_campaign)
    run_local_judge_job(job_id=baseline.pk)

    assert (done.status, done.attempts, done.error) == (JobStatus.SUCCEEDED, 2, "")
    assert done.owner_pid != owner_pid
    # The second attempt labelled what the first had not committed: each item once.
    by_the_first_attempt = labelled.filter(created_at__lt=done.started_at).count()
    assert BATCH_SIZE <= by_the_first_attempt < n
    assert done.result["created"] == n - by_the_first_attempt
    assert judged_rows(interrupted_campaign) == judged_rows(uninterrupted_campaign)
    assert labelled.count() == n
