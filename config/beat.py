"""Celery beat's heartbeat: on every tick the scheduler touches a file and records the tick in
the database, so that a health check can tell a live beat from a hung or dead one.

- the file (``BEAT_HEARTBEAT_FILE``) serves ``manage.py check_beat``, the healthcheck of the
  beat container itself, which needs nothing but beat's own disk;
- the database row (:class:`~annotate.models.SchedulerHeartbeat`) serves ``/healthz`` in any
  process: in compose the web container cannot see beat's file. The database rather than the
  cache: every process of every mode (the embedded quick start's per-process memory cache
  included) shares it, it survives a Redis restart, and one UPDATE per tick (at most every
  ``DATABASE_WRITE_MIN_INTERVAL_S``) costs nothing.

Beat sends the job reaper and the upload sweep; without it, jobs of lost workers wait for the
next worker start.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_NAME = "beat"
# Beat ticks whenever a task is due; more than one row write per this many seconds says nothing new.
DATABASE_WRITE_MIN_INTERVAL_S = 5.0


def beat_heartbeat_file() -> Path:
    return Path(settings.BEAT_HEARTBEAT_FILE)


def beat_heartbeat_age_s(*, now: float | None = None) -> float | None:
    """Seconds since beat's last tick by its file, or None when beat never wrote it here."""
    try:
        last = beat_heartbeat_file().stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (now if now is not None else time.time()) - last)


def record_beat_tick(*, at: datetime | None = None) -> None:
    """Upsert beat's row (one statement): the tick is visible to every process."""
    from django.utils import timezone

    from annotate.models import SchedulerHeartbeat

    SchedulerHeartbeat.objects.bulk_create(
        [SchedulerHeartbeat(name=HEARTBEAT_NAME, ticked_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["ticked_at"],
    )


def recorded_beat_tick_age_s() -> float | None:
    """Seconds since beat's last recorded tick, from the database; None when it never ticked."""
    from django.utils import timezone

    from annotate.models import SchedulerHeartbeat

    ticked_at = (
        SchedulerHeartbeat.objects.filter(name=HEARTBEAT_NAME).values_list("ticked_at", flat=True).first()
    )
    if ticked_at is None:
        return None
    return max(0.0, (timezone.now() - ticked_at).total_seconds())


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler, touching ``BEAT_HEARTBEAT_FILE`` and recording the tick in
    the database after every tick (at least every ``CELERY_BEAT_MAX_LOOP_INTERVAL`` seconds)."""

    _last_recorded = 0.0

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        path = beat_heartbeat_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        if time.monotonic() - self._last_recorded >= DATABASE_WRITE_MIN_INTERVAL_S:
            self._record_tick()
        return interval

    def _record_tick(self) -> None:
        from django.db import DatabaseError, close_old_connections, connection

        # Beat has no request cycle: apply CONN_MAX_AGE and the health check here, so a
        # connection the database dropped is replaced instead of failing every tick.
        close_old_connections()
        try:
            record_beat_tick()
        except DatabaseError:
            # A database outage must not stop beat; /healthz reports beat stale meanwhile.
            logger.warning("Beat's tick was not recorded in the database", exc_info=True)
            connection.close()
            return
        self._last_recorded = time.monotonic()
