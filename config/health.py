"""Liveness/readiness probe for load balancers and compose healthchecks.

200 ``{"status": "ok"}`` while the database answers and, where beat is expected
(``BEAT_EXPECTED``), Celery beat ticked within ``BEAT_STALE_AFTER_S``; otherwise 503 naming
the part that failed in a word. Reasons go to the log only: anonymous callers never read
connection strings, host names or driver messages.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from config.beat import recorded_beat_tick_age_s

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # the probe reports any database failure as unhealthy
        logger.exception("healthz: the database is unavailable")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    if not settings.BEAT_EXPECTED:
        return JsonResponse({"status": "ok"})
    beat = _beat_state()
    if beat != "ok":
        return JsonResponse({"status": "error", "beat": beat}, status=503)
    return JsonResponse({"status": "ok", "beat": "ok"})


def _beat_state() -> str:
    """``ok``, ``missing`` (never ticked), ``stale`` (last tick too old) or ``unknown``."""
    try:
        age = recorded_beat_tick_age_s()
    except Exception:  # e.g. the table is not migrated yet
        logger.exception("healthz: beat's heartbeat could not be read")
        return "unknown"
    if age is None:
        logger.error("healthz: Celery beat has never recorded a tick (is it running?)")
        return "missing"
    if age > settings.BEAT_STALE_AFTER_S:
        logger.error(
            "healthz: Celery beat's last tick was %.0f s ago (BEAT_STALE_AFTER_S=%s); "
            "jobs of lost workers are not being reaped",
            age,
            settings.BEAT_STALE_AFTER_S,
        )
        return "stale"
    return "ok"
