"""The quick start as a user runs it: SQLite, the filesystem broker, a real worker process.

Runs ``migrate``, ``seed_demo_campaign`` (twice: it must be safe) and ``serve_embedded``
in subprocesses with no DATABASE_URL or CELERY_BROKER_URL, then drives the demo over HTTP:
the project manager starts the local judge and the worker process labels the demo items.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.worker]

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def embedded_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DEBUG="1", VAR_DIR=str(tmp_path / "var"), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )


class Browser:
    """Just enough of a browser: cookies and CSRF tokens from forms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str, str]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def post_form(self, path: str, data: dict, *, token_from: str) -> tuple[int, str, str]:
        _, _, page = self.get(token_from)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + token_from}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


def test_quickstart_serves_the_demo_and_its_worker_process_runs_the_llm_job(embedded_env):
    assert manage(embedded_env, "migrate", "--noinput").returncode == 0
    first = manage(embedded_env, "seed_demo_campaign")
    assert first.returncode == 0, first.stderr
    # One demo campaign per task template, 16 items each.
    for slug in (
        "demo-everyday-assistant", "demo-multipref", "demo-helpsteer2-preference",
        "demo-helpsteer2-rating", "demo-rate-then-prefer",
    ):
        assert f"Imported 16 demo instances into {slug}." in first.stdout
    for login in ("pm", "annotator1", "annotator2", "researcher"):
        assert re.search(rf"\b{login}\s+/ demo-{login}-pass", first.stdout)
    again = manage(embedded_env, "seed_demo_campaign")
    assert again.returncode == 0 and "Imported" not in again.stdout  # safe to run twice

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_embedded", "--port", str(port), "--concurrency", "1"],
        cwd=REPO, env=embedded_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        browser = Browser(base)
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, health = browser.get("/healthz")
                if status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert json.loads(health) == {"status": "ok"}

        browser.post_form(
            "/accounts/login/", {"username": "pm", "password": "demo-pm-pass"},
            token_from="/accounts/login/",
        )
        campaign_page = "/campaigns/demo-everyday-assistant/"
        _, job_url, _ = browser.post_form(
            campaign_page + "llm-jobs/", {}, token_from=campaign_page
        )
        job_id = int(job_url.rstrip("/").split("/")[-1])

        token_request = urllib.request.Request(
            base + "/api/auth/token/",
            data=urllib.parse.urlencode({"username": "pm", "password": "demo-pm-pass"}).encode(),
        )
        with urllib.request.urlopen(token_request, timeout=30) as response:
            api_token = json.loads(response.read())["token"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            _, _, body = Browser(base).get(
                f"/api/jobs/{job_id}/", headers={"Authorization": f"Token {api_token}"}
            )
            job = json.loads(body)
            if job["status"] in {"succeeded", "failed"}:
                break
            time.sleep(1)
        assert job["status"] == "succeeded", job
        assert job["result"]["judged"] == 16 and job["result"]["created"] == 16
    finally:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert server.returncode is not None
    assert "celery@" in output or "embedded@" in output  # a real worker process served the job
    leftovers = subprocess.run(
        ["pgrep", "-f", f"runserver 127.0.0.1:{port}"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""
