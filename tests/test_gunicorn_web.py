"""The web container's gunicorn, started for real with the command docker/compose.yaml gives it:
it does not name itself, and only its trusted proxy can make a request count as https."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
SECRET = "gunicorn-test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGH"

pytestmark = [pytest.mark.slow]


def compose_default(value: str) -> str:
    """``${NAME:-default}`` → ``default`` (what compose substitutes when NAME is unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def web_command(*, port: int, forwarded_allow_ips: str | None = None) -> list[str]:
    """The compose web command with its defaults, bound to a free loopback port, one worker."""
    args = [compose_default(str(arg)) for arg in COMPOSE["services"]["web"]["command"]]
    assert args[0] == "gunicorn"
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    args[args.index("--workers") + 1] = "1"
    if forwarded_allow_ips is not None:
        args[args.index("--forwarded-allow-ips") + 1] = forwarded_allow_ips
    return [sys.executable, "-m", "gunicorn", *args[1:]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, **headers: str):
    """(status, headers) of GET url, redirects not followed."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def start_gunicorn(static_root: Path, **options) -> Iterator[str]:
    port = free_port()
    # The embedded database (SQLite in a folder of its own): /healthz's SELECT 1 needs a database
    # that exists, and the configured DATABASE_URL names one that only the test run's copy of
    # exists for (CI creates no "prefroute" database).
    skipped = {"DEBUG", "TRUST_X_FORWARDED_PROTO", "DATABASE_URL", "CELERY_BROKER_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in skipped}
    var_dir = static_root.parent / f"{static_root.name}-var"
    var_dir.mkdir(exist_ok=True)
    environment["VAR_DIR"] = str(var_dir)
    # Production settings as compose gives them (DEBUG off, so http is redirected to https).
    # The pages asked for here use no static file, so an empty manifest stands in for the
    # image's collectstatic (which takes seconds).
    (static_root / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    environment.update(SECRET_KEY=SECRET, DEBUG="0", EMBEDDED="1", STATIC_ROOT=str(static_root))
    environment.setdefault("CACHE_URL", "locmem://")
    process = subprocess.Popen(
        web_command(port=port, **options), cwd=REPO, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"gunicorn did not start:\n{process.communicate()[0]}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def gunicorn_behind_a_remote_proxy(tmp_path_factory) -> Iterator[str]:
    """The compose command, but trusting a proxy at 10.255.0.1: this test is not that proxy."""
    yield from start_gunicorn(tmp_path_factory.mktemp("static"), forwarded_allow_ips="10.255.0.1")


@pytest.fixture(scope="module")
def gunicorn_with_compose_defaults(tmp_path_factory) -> Iterator[str]:
    yield from start_gunicorn(tmp_path_factory.mktemp("static"))


def test_no_response_says_it_comes_from_gunicorn(gunicorn_with_compose_defaults):
    for path in ("/healthz", "/no-such-page/"):
        _, headers = get(f"{gunicorn_with_compose_defaults}{path}", **{"X-Forwarded-Proto": "https"})
        assert "gunicorn" not in (headers.get("Server") or "").lower(), headers.get("Server")
        assert headers.get("Server") == "prefroute"


def test_compose_trusts_no_x_forwarded_proto_in_django_by_default():
    environment = COMPOSE["x-app-environment"]
    assert compose_default(environment["TRUST_X_FORWARDED_PROTO"]) == "0"


def test_with_the_default_settings_django_does_not_believe_x_forwarded_proto():
    from django.conf import settings
    from django.test import RequestFactory

    assert not settings.TRUST_X_FORWARDED_PROTO
    assert not RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https").is_secure()


def test_x_forwarded_proto_from_an_address_that_is_not_the_proxy_is_not_https(gunicorn_behind_a_remote_proxy):
    status, headers = get(f"{gunicorn_behind_a_remote_proxy}/healthz", **{"X-Forwarded-Proto": "https"})
    # Still plain http to Django: redirected to https instead of served.
    assert status == 301
    assert headers["Location"].startswith("https://")


def test_x_forwarded_proto_from_the_trusted_proxy_address_is_https(gunicorn_with_compose_defaults):
    # The compose default trusts the container's loopback (its health probe) and Docker's bridges.
    status, _ = get(f"{gunicorn_with_compose_defaults}/healthz", **{"X-Forwarded-Proto": "https"})
    assert status == 200
    status, headers = get(f"{gunicorn_with_compose_defaults}/healthz")
    assert status == 301 and headers["Location"].startswith("https://")
