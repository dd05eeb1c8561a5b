"""Sessions read from a cache every web worker shares (``cached_db``, chosen by
``config.settings`` when the cache is Redis): the database stays the record, a logout still
ends the session everywhere, and a signed-in request no longer reads the session table."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import make_user

CACHED_DB = "django.contrib.sessions.backends.cached_db"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(make_user(username))
    return client


def session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if Session._meta.db_table in q["sql"]]


@override_settings(SESSION_ENGINE=CACHED_DB)
def test_a_signed_in_request_reads_its_session_from_the_cache_not_the_database():
    client = signed_in("ada")
    assert Session.objects.count() == 1  # written through: the database keeps the record
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    assert session_queries(queries) == []


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_without_a_shared_cache_the_session_is_read_from_the_database():
    client = signed_in("bea")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    assert len(session_queries(queries)) == 1


@override_settings(SESSION_ENGINE=CACHED_DB)
def test_logging_out_ends_the_session_for_every_copy_of_its_cookie():
    client = signed_in("cyd")
    stolen = Client()
    stolen.cookies = client.cookies.__class__(client.cookies)  # the same session cookie
    assert stolen.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code in (200, 302)
    assert Session.objects.count() == 0
    after = stolen.get(reverse("home"))
    assert after.status_code == 302 and reverse("login") in after["Location"]
