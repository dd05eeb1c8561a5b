"""Jobs survive a Redis restart: a real `celery worker` keeps serving its queues after its broker
was restarted in the middle of a job, and a job queued while the broker was down is sent again by
the reaper once it is back. Each test runs its own throwaway `redis-server` on a free port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import kombu.pools
import psycopg
import pytest
from django.db import connection

from annotate.models import JobRun, JobStatus
from annotate.services.imports import start_import_job
from annotate.services.job_reaper import UNSENT_GRACE, reap_stale_jobs
from tests.annotate.test_job_recovery import WorkerProcess, wait_for
from tests.conftest import build_campaign, is_postgres, make_user, pairwise_rows

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
    pytest.mark.skipif(not is_postgres(), reason="holds a PostgreSQL row lock across processes"),
]


PRODUCTION_OFF = ("--without-gossip", "--without-mingle")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A `redis-server` of this test alone, persisted as in production (append-only file), so
    that queued messages survive its restart."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.process.wait(timeout=10)

    def restart(self, *, down_for_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for_s)
        self.start()


@pytest.fixture
def redis_server(tmp_path):
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on(redis_server, monkeypatch):
    """This process's Celery app sends to the throwaway broker (its connection pools rebuilt)."""
    from config.celery import app

    def point_at(url: str) -> None:
        # Celery reads the broker URL from the environment before its configuration.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        # The app's pools come from kombu's process-wide registry (keyed by connection): close
        # them and empty the registry, or the next test is handed a closed pool for its broker.
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = url

    original = app.conf.broker_url
    point_at(redis_server.url)
    yield app
    point_at(original)


@pytest.fixture
def worker_on(redis_server, transactional_db, tmp_path):
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(
            queues="default", log=tmp_path / "worker.log", CELERY_BROKER_URL=redis_server.url
        )
        # As deployed (docker/compose.yaml): two pool children, gossip and mingle on.
        worker.command = [arg for arg in worker.command if arg not in PRODUCTION_OFF]
        worker.command[worker.command.index("--concurrency") + 1] = "2"
        started.append(worker.start())
        wait_for(
            lambda: "ready." in worker.log_tail(), timeout=60, what="the worker", workers=started
        )
        return worker

    yield start
    for worker in started:
        worker.stop()


@contextlib.contextmanager
def job_row_locked(job: JobRun):
    """Hold the job's row lock from another connection: a worker claiming the job waits on it,
    with the job's message delivered and not yet acknowledged (acks_late)."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"], port=db["PORT"] or None,
    ) as other:  # fmt: skip
        other.execute("SELECT id FROM annotate_jobrun WHERE id = %s FOR UPDATE", [job.pk])
        yield
        other.rollback()


def someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def queue_import(*, campaign, pm, prefix: str) -> JobRun:
    return start_import_job(
        campaign=campaign, created_by=pm, filename=f"{prefix}.jsonl",
        data=pairwise_rows(3, prefix=prefix), file_format="generic",
    )  # fmt: skip


def finished(job: JobRun) -> JobRun | None:
    return JobRun.objects.filter(pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]).first()


def test_a_worker_whose_broker_restarts_mid_job_keeps_running_and_runs_the_next_job(
    redis_server, app_on, worker_on
):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=0)
    worker = worker_on()
    first = queue_import(campaign=campaign, pm=pm, prefix="before")
    with job_row_locked(first):
        wait_for(someone_waits_on_a_lock, timeout=30, what="the worker to claim", workers=[worker])
        time.sleep(1)  # the worker settles into its event loop with the message unacknowledged
        redis_server.restart()
        # The worker notices the lost connection with the job's message unacknowledged.
        wait_for(
            lambda: "Connection to broker lost" in worker.log.read_text(errors="replace"),
            timeout=30, what="the worker to see the restart", workers=[worker],
        )  # fmt: skip
    second = queue_import(campaign=campaign, pm=pm, prefix="after")

    for job in (first, second):
        done = wait_for(lambda job=job: finished(job), timeout=60, what=f"job {job.pk}", workers=[worker])
        assert (done.status, done.error) == (JobStatus.SUCCEEDED, "")
    assert worker.process.poll() is None, worker.log_tail()
    assert "Unrecoverable error" not in worker.log.read_text(errors="replace")
    assert campaign.instances.count() == 6


def test_a_job_queued_while_the_broker_is_down_is_sent_again_by_the_reaper_and_runs(
    redis_server, app_on, worker_on, settings
):
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=0)
    worker = worker_on()
    redis_server.stop()

    job = queue_import(campaign=campaign, pm=pm, prefix="during")  # the send fails: no error here

    job.refresh_from_db()
    assert (job.status, job.sent_at) == (JobStatus.QUEUED, None)
    redis_server.start()
    JobRun.objects.filter(pk=job.pk).update(created_at=job.created_at - UNSENT_GRACE)
    assert reap_stale_jobs().resent == [job.pk]  # as Celery beat does every half stale threshold
    done = wait_for(lambda: finished(job), timeout=60, what="the resent job", workers=[worker])
    assert (done.status, done.error) == (JobStatus.SUCCEEDED, "")
    assert done.sent_at is not None
    assert campaign.instances.count() == 3
    assert reap_stale_jobs().resent == []
