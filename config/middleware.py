"""Project-wide middleware."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse

logger = logging.getLogger(__name__)

# Errors of the database connection itself (a restart, a failover, a killed backend), as opposed
# to errors in what was asked: the request may simply be sent again.
DATABASE_CONNECTION_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_S = 2


class DatabaseConnectionLostMiddleware:
    """Answer a request whose database connection was lost with 503 and ``Retry-After``, not a
    500: its transaction was rolled back, and every write the pages and the API make can be
    sent again safely (a submit sent twice is counted once). The connection is dropped so
    that the next request opens a fresh one. The driver's message goes to the log only."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_CONNECTION_ERRORS):
            return None
        logger.warning("%s %s: database connection lost", request.method, request.path, exc_info=True)
        connection.close()
        response = HttpResponse(
            "The server lost its connection to the database, so this request was not completed. "
            "Please send it again: an answer sent twice is counted once.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
