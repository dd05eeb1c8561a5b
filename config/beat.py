"""Celery beat's heartbeat: the scheduler touches a file on every tick, so that a health check
(`manage.py check_beat`, the compose healthcheck) can tell a live beat from a hung or dead one.

Beat sends the job reaper; without it, jobs of lost workers wait for the next worker start.
"""

from __future__ import annotations

import time
from pathlib import Path

from celery.beat import PersistentScheduler
from django.conf import settings


def beat_heartbeat_file() -> Path:
    return Path(settings.BEAT_HEARTBEAT_FILE)


def beat_heartbeat_age_s(*, now: float | None = None) -> float | None:
    """Seconds since beat's last tick, or None when beat never wrote its heartbeat here."""
    try:
        last = beat_heartbeat_file().stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (now if now is not None else time.time()) - last)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler, touching ``BEAT_HEARTBEAT_FILE`` after every tick (at least
    every ``CELERY_BEAT_MAX_LOOP_INTERVAL`` seconds)."""

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        path = beat_heartbeat_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return interval
