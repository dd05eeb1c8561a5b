"""Liveness/readiness probe for load balancers and compose healthchecks."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # the probe reports any database failure as unhealthy
        # The reason goes to the log only: anonymous callers must not read connection strings,
        # host names or driver messages.
        logger.exception("healthz: the database is unavailable")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
