"""Guessing passwords is slow: the login page and the API's token endpoint lock a username out
for one address after LOGIN_FAILURE_LIMIT wrong passwords (django-axes, counted in the
database so every web worker sees it), and the API has per-client call rates (DRF throttles)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import make_user

LIMIT = 3


@pytest.fixture(autouse=True)
def small_failure_limit(settings):
    """A limit of 3 (the default is 10) and fresh throttle counters."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return make_user("victim")


def log_in(client: Client, password: str, username: str = "victim"):
    return client.post(reverse("login"), {"username": username, "password": password})


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_up_to_the_limit_lock_the_username_out_and_the_page_says_so(user):
    client = Client()
    for _ in range(LIMIT - 1):
        assert log_in(client, "guess").status_code == 200
    locked = log_in(client, "guess")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert 'id="locked-out"' in locked.content.decode()


def test_during_the_lock_out_the_right_password_is_refused_too(user):
    client = Client()
    for _ in range(LIMIT):
        log_in(client, "guess")
    refused = log_in(client, "victim-pw")
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.content.decode()
    assert int(refused["Retry-After"]) == 15 * 60
    assert not is_logged_in(client)


def test_the_lock_is_a_database_row_so_every_web_worker_sees_it(user):
    for _ in range(LIMIT):
        log_in(Client(), "guess")
    attempt = AccessAttempt.objects.get(username="victim")
    assert attempt.failures_since_start == LIMIT
    assert attempt.ip_address == "127.0.0.1"


def test_the_lock_ends_after_the_cool_off(user):
    client = Client()
    for _ in range(LIMIT):
        log_in(client, "guess")
    assert log_in(client, "victim-pw").status_code == 429
    # Fifteen minutes and a second pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert log_in(client, "victim-pw").status_code == 302
    assert is_logged_in(client)


def test_another_username_from_the_same_address_can_still_log_in(user):
    make_user("colleague")
    for _ in range(LIMIT):
        log_in(Client(), "guess")
    client = Client()
    assert log_in(client, "colleague-pw", username="colleague").status_code == 302
    assert is_logged_in(client)


def test_a_successful_login_before_the_limit_clears_the_count(user):
    for _ in range(LIMIT - 1):
        log_in(Client(), "guess")
    assert log_in(Client(), "victim-pw").status_code == 302
    for _ in range(LIMIT - 1):
        log_in(Client(), "guess")
    assert log_in(Client(), "victim-pw").status_code == 302


# --- the API's password endpoint counts the same failures ------------------------------------

def obtain_token(password: str, username: str = "victim"):
    return APIClient().post(reverse("api_token"), {"username": username, "password": password}, format="json")


def test_wrong_passwords_at_the_token_endpoint_lock_out_with_a_json_error(user):
    for _ in range(LIMIT - 1):
        assert obtain_token("guess").status_code == 400
    locked = obtain_token("guess")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    refused = obtain_token("victim-pw")
    assert refused.status_code == 429
    assert set(refused.json()["error"]) == {"code", "message", "details"}
    assert "Too many failed logins" in refused.json()["error"]["message"]
    assert not Token.objects.exists()


def test_failures_on_the_login_page_and_the_token_endpoint_add_up(user):
    log_in(Client(), "guess")
    obtain_token("guess")
    log_in(Client(), "guess")
    assert obtain_token("victim-pw").status_code == 429
    assert log_in(Client(), "victim-pw").status_code == 429


# --- DRF call rates --------------------------------------------------------------------------

def _rates(**rates):
    from django.conf import settings

    current = settings.REST_FRAMEWORK
    return override_settings(
        REST_FRAMEWORK={**current, "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **rates}}
    )


def test_an_authenticated_client_is_limited_to_the_user_rate(user):
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    with _rates(user="3/min"):
        statuses = [client.get(reverse("api_campaigns")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_an_anonymous_client_is_limited_to_the_anon_rate(db):
    client = APIClient()
    with _rates(anon="2/min"):
        statuses = [client.get(reverse("api_schema")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_default_rates_come_from_settings():
    from rest_framework.settings import api_settings

    rates = api_settings.DEFAULT_THROTTLE_RATES
    assert rates["anon"] and rates["user"]
    names = api_settings.DEFAULT_THROTTLE_CLASSES
    assert any("Anon" in c.__name__ for c in names) and any("User" in c.__name__ for c in names)


# --- Behind a reverse proxy ------------------------------------------------------------------------
# The compose proxy is one TCP peer for every client; it appends the address it saw to
# X-Forwarded-For. Trusted (FORWARDED_ALLOW_IPS), the client is that right-most hop.

PROXY = "172.18.0.2"


def behind_the_proxy(client_address: str, *, sent_by_client: str = "") -> Client:
    """A browser at ``client_address`` reaching us through the proxy; ``sent_by_client`` is
    an X-Forwarded-For the browser wrote itself, which the proxy passes on before its own hop."""
    forwarded = f"{sent_by_client}, {client_address}" if sent_by_client else client_address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.fixture
def trusted_proxy(settings):
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1", "172.16.0.0/12"]


def test_behind_a_trusted_proxy_one_client_locking_itself_out_leaves_another_able_to_log_in(
    user, trusted_proxy
):
    attacker = behind_the_proxy("203.0.113.7")
    for _ in range(LIMIT):
        log_in(attacker, "guess")
    assert log_in(attacker, "victim-pw").status_code == 429

    colleague = behind_the_proxy("198.51.100.20")
    assert log_in(colleague, "victim-pw").status_code == 302
    assert is_logged_in(colleague)
    assert AccessAttempt.objects.get(username="victim").ip_address == "203.0.113.7"


def test_behind_a_trusted_proxy_a_forged_left_most_hop_does_not_dodge_the_lock(user, trusted_proxy):
    for n in range(LIMIT):
        log_in(behind_the_proxy("203.0.113.7", sent_by_client=f"10.9.9.{n}"), "guess")

    forged = behind_the_proxy("203.0.113.7", sent_by_client="198.51.100.20")
    assert log_in(forged, "victim-pw").status_code == 429


def test_a_client_reaching_the_server_directly_cannot_dodge_the_lock_with_x_forwarded_for(
    user, trusted_proxy
):
    for n in range(LIMIT):
        direct = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        log_in(direct, "guess")

    spoofing = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert log_in(spoofing, "victim-pw").status_code == 429
    assert AccessAttempt.objects.get(username="victim").ip_address == "203.0.113.7"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(user, settings):
    settings.FORWARDED_ALLOW_IPS = []
    for n in range(LIMIT):
        log_in(behind_the_proxy(f"203.0.113.{n}"), "guess")
    assert log_in(behind_the_proxy("198.51.100.20"), "victim-pw").status_code == 429


def test_an_anonymous_api_client_cannot_reset_its_rate_by_writing_x_forwarded_for(db):
    with _rates(anon="2/min"):
        statuses = [
            APIClient(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").get(reverse("api_schema")).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_a_wildcard_trusted_proxy_list_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    from config.client_ip import parse_trusted_proxies

    with pytest.raises(ImproperlyConfigured, match="trust X-Forwarded-For from anyone"):
        parse_trusted_proxies(["*"])
    with pytest.raises(ImproperlyConfigured, match="'proxy' is not an address"):
        parse_trusted_proxies(["proxy"])
