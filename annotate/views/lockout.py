"""The answer to a login refused because its username and address are locked out (django-axes).

``settings.AXES_LOCKOUT_CALLABLE`` points here; axes' middleware calls it for any request whose
``authenticate()`` it refused or whose failure reached ``LOGIN_FAILURE_LIMIT``: the login page,
then, shows the form again with the reason, and the API answers its JSON error shape. Both are
429 with ``Retry-After`` (the whole cool-off, since every refused attempt restarts it).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, round(seconds / 60))
    message = (
        f"Too many failed logins for this username from your address: locked for {minutes} "
        f"minute{'s' if minutes != 1 else ''}. Try again later."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": {"code": "locked_out", "message": message, "details": []}}, status=429
        )
    else:
        response = render(
            request,
            "registration/login.html",
            {"locked_out_message": message, "next": request.POST.get("next", "")},
            status=429,
        )
    response["Retry-After"] = str(seconds)
    return response
