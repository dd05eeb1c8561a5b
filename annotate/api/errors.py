"""One error body for every API failure:
``{"error": {"code": str, "message": str, "details": [{"field"?, "line"?, "message"}, ...]}}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler


class Rejected(exceptions.APIException):
    """A domain refusal with its own code, message and details (e.g. an import's row errors)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "rejected"

    def __init__(self, *, message: str, code: str = "rejected", details: list[dict] | None = None,
                 status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(detail=message, code=code)
        self.code = code
        self.details = details or []
        self.status_code = status_code


def _flatten(detail, field: str | None = None) -> list[dict]:
    """DRF's nested validation errors as a flat list of ``{"field", "message"}``."""
    if isinstance(detail, dict):
        out: list[dict] = []
        for key, value in detail.items():
            name = key if field is None else f"{field}.{key}"
            out += _flatten(value, None if key == api_non_field() else name)
        return out
    if isinstance(detail, list):
        out = []
        for i, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            out += _flatten(value, f"{field}[{i}]" if nested and field else field)
        return out
    entry = {"message": str(detail)}
    if field:
        entry["field"] = field
    return [entry]


def api_non_field() -> str:
    from rest_framework.settings import api_settings

    return api_settings.NON_FIELD_ERRORS_KEY


def handle_exception(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {api_non_field(): exc.messages}
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500, never its text
    if isinstance(exc, Rejected):
        body = {"code": exc.code, "message": str(exc.detail), "details": exc.details}
    elif isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        body = {"code": "invalid", "message": "The request is not valid.", "details": details}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        body = {
            "code": codes if isinstance(codes, str) else exc.default_code,
            "message": str(exc.detail),
            "details": [],
        }
    else:
        body = {"code": "error", "message": str(response.data.get("detail", "")), "details": []}
    response.data = {"error": body}
    return response
