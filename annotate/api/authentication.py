"""Authentication for the API: tokens for scripts, the session (with CSRF) for the browser.

Every attempt at ``POST /api/auth/token/`` counts against a per-client rate, and every failed
credential check (a wrong password there, an unknown token anywhere) counts against a smaller
per-client failure budget: once it is spent, the client gets 429 until the window passes, even
with good credentials, so guessing is slow.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from config.client_ip import client_ip


class _LiveRate:
    """Reads the scope's rate when used, not at import (DRF binds ``THROTTLE_RATES`` when its
    module loads), so a changed setting takes effect."""

    scope: str

    def __init__(self) -> None:
        self.rate = api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_ident(self, request) -> str:
        # DRF's own reads X-Forwarded-For from anyone (NUM_PROXIES unset): a client could
        # pick a fresh identity per call. The login lock's address is the one to count.
        return client_ip(request) or ""


class AnonymousCallThrottle(_LiveRate, AnonRateThrottle):
    """Every API call of an anonymous client, per address (``API_ANON_RATE``)."""


class UserCallThrottle(_LiveRate, UserRateThrottle):
    """Every API call of an authenticated user, per user (``API_USER_RATE``)."""


class _LiveRateThrottle(_LiveRate, SimpleRateThrottle):
    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainThrottle(_LiveRateThrottle):
    """Every attempt to obtain a token, per client address."""

    scope = "auth"


class FailedAuthThrottle(_LiveRateThrottle):
    """Failed credential checks per client address. Unlike a plain throttle, a request is
    recorded only when it fails (:meth:`record_failure`); :meth:`exhausted` refuses early."""

    scope = "auth_failure"

    def _history(self, request) -> list[float]:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        self.history = history
        return history

    def exhausted(self, request) -> bool:
        return len(self._history(request)) >= self.num_requests

    def record_failure(self, request) -> None:
        history = self._history(request)
        history.insert(0, self.now)
        self.cache.set(self.key, history, self.duration)

    def throttled(self) -> exceptions.Throttled:
        return exceptions.Throttled(wait=self.wait(), detail="Too many failed authentication attempts.")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``; an unknown key counts as a failed attempt."""

    def authenticate(self, request):
        if not authentication.get_authorization_header(request).split():
            return None
        budget = FailedAuthThrottle()
        if budget.exhausted(request):
            raise budget.throttled()
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            budget.record_failure(request)
            raise
