"""Celery beat's health: a real `celery -A config beat` writes its heartbeat on every tick (a file
and a database row), `manage.py check_beat` (the beat container's healthcheck) passes while the
file is fresh and fails, saying why, when beat never ran or stopped ticking; and where beat is
expected, `/healthz` (any process: the web container cannot see beat's file) is unhealthy once
the recorded tick is stale, with a one-word reason."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotate.models import SchedulerHeartbeat
from config.beat import record_beat_tick
from tests.annotate.test_job_recovery import worker_database_url
from tests.conftest import REPO_DIR

pytestmark = pytest.mark.worker


def test_check_beat_fails_when_beat_never_wrote_its_heartbeat(settings, tmp_path):
    settings.BEAT_HEARTBEAT_FILE = tmp_path / "beat-heartbeat"

    with pytest.raises(CommandError, match="has not written its heartbeat"):
        call_command("check_beat")


def start_beat(tmp_path, heartbeat, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "EMBEDDED": "1",
        "CELERY_BROKER_URL": "filesystem://",  # beat only sends; no broker server needed
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "BEAT_HEARTBEAT_FILE": str(heartbeat),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        cwd=REPO_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_running_beat_passes_the_check_and_a_stopped_one_fails_it(settings, tmp_path, capsys):
    heartbeat = tmp_path / "beat-heartbeat"
    settings.BEAT_HEARTBEAT_FILE = heartbeat
    settings.BEAT_STALE_AFTER_S = 120
    beat = start_beat(tmp_path, heartbeat)
    try:
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        call_command("check_beat")
        assert "Celery beat is alive" in capsys.readouterr().out
    finally:
        beat.terminate()
        beat.wait(timeout=20)

    # Beat is gone: its last tick ages past the limit.
    three_minutes_ago = time.time() - 180
    os.utime(heartbeat, (three_minutes_ago, three_minutes_ago))
    with pytest.raises(CommandError, match=r"stale: its last tick was 18\d s ago"):
        call_command("check_beat")


def test_the_compose_beat_service_is_health_checked_with_check_beat():
    import yaml

    beat = yaml.safe_load((REPO_DIR / "docker" / "compose.yaml").read_text())["services"]["beat"]
    assert beat["healthcheck"]["test"] == ["CMD", "python", "manage.py", "check_beat"]


def test_healthz_is_ok_while_a_real_beat_ticks_and_unhealthy_once_its_tick_is_stale(
    transactional_db, settings, tmp_path, client
):
    settings.BEAT_EXPECTED = True
    settings.BEAT_STALE_AFTER_S = 120
    # Beat's own file is elsewhere: /healthz must not need it (in compose it cannot see it).
    beat = start_beat(tmp_path, tmp_path / "beat-only" / "heartbeat", DATABASE_URL=worker_database_url())
    try:
        deadline = time.monotonic() + 60
        while not SchedulerHeartbeat.objects.filter(name="beat").exists():
            assert time.monotonic() < deadline, "beat never recorded a tick"
            time.sleep(0.2)
        response = client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok", "beat": "ok"})
    finally:
        beat.terminate()
        beat.wait(timeout=20)

    SchedulerHeartbeat.objects.filter(name="beat").update(
        ticked_at=timezone.now() - timedelta(seconds=180)
    )
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "error", "beat": "stale"})


def test_healthz_is_unhealthy_when_an_expected_beat_never_ticked(db, settings, client):
    settings.BEAT_EXPECTED = True
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "error", "beat": "missing"})


def test_healthz_ignores_beat_where_it_is_not_expected(db, settings, client):
    settings.BEAT_EXPECTED = False
    record_beat_tick(at=timezone.now() - timedelta(days=1))
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_beat_failing_to_read_tells_anonymous_callers_one_word_and_the_log_the_reason(
    db, settings, client, monkeypatch, caplog
):
    settings.BEAT_EXPECTED = True

    def broken(*args, **kwargs):
        raise RuntimeError('relation "annotate_schedulerheartbeat" does not exist on db.internal')

    monkeypatch.setattr("config.health.recorded_beat_tick_age_s", broken)
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "error", "beat": "unknown"})
    assert b"db.internal" not in response.content
    assert "db.internal" in caplog.text


def test_beat_is_expected_by_default_outside_the_embedded_mode():
    env = {k: v for k, v in os.environ.items() if k != "BEAT_EXPECTED"}
    show = "from django.conf import settings; print(settings.BEAT_EXPECTED)"
    expected = {}
    for embedded in ("0", "1"):
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {show}"],
            cwd=REPO_DIR, env={**env, "EMBEDDED": embedded, "DJANGO_SETTINGS_MODULE": "config.settings",
                               "CACHE_URL": "locmem://"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        expected[embedded] = result.stdout.strip()
    assert expected == {"0": "True", "1": "False"}
