"""Celery beat's health: a real `celery -A config beat` writes its heartbeat on every tick, and
`manage.py check_beat` (the compose healthcheck) passes while it is fresh and fails, saying why,
when beat never ran or stopped ticking."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import REPO_DIR

pytestmark = pytest.mark.worker


def test_check_beat_fails_when_beat_never_wrote_its_heartbeat(settings, tmp_path):
    settings.BEAT_HEARTBEAT_FILE = tmp_path / "beat-heartbeat"

    with pytest.raises(CommandError, match="has not written its heartbeat"):
        call_command("check_beat")


def test_a_running_beat_passes_the_check_and_a_stopped_one_fails_it(settings, tmp_path, capsys):
    heartbeat = tmp_path / "beat-heartbeat"
    settings.BEAT_HEARTBEAT_FILE = heartbeat
    settings.BEAT_STALE_AFTER_S = 120
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "EMBEDDED": "1",
        "CELERY_BROKER_URL": "filesystem://",  # beat only sends; no broker server needed
        "CELERY_BROKER_DIR": str(tmp_path / "broker"),
        "BEAT_HEARTBEAT_FILE": str(heartbeat),
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
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
