"""`manage.py check_beat`: exit 0 when Celery beat ticked recently, else 1 saying why (the
compose healthcheck of the `beat` service)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.beat import beat_heartbeat_age_s, beat_heartbeat_file


class Command(BaseCommand):
    help = "Report whether Celery beat is alive (its heartbeat file is fresh)."

    def handle(self, *args, **options) -> None:
        age = beat_heartbeat_age_s()
        limit = settings.BEAT_STALE_AFTER_S
        if age is None:
            raise CommandError(
                f"Celery beat has not written its heartbeat {beat_heartbeat_file()}: "
                "it is not running, or not with config.beat.HeartbeatScheduler."
            )
        if age > limit:
            raise CommandError(
                f"Celery beat is stale: its last tick was {age:.0f} s ago "
                f"(BEAT_STALE_AFTER_S={limit}); jobs of lost workers are not being reaped."
            )
        self.stdout.write(f"Celery beat is alive: last tick {age:.0f} s ago.")
