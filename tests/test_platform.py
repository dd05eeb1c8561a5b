"""The project's own rules: settings are loud, the web never imports torch, layers hold."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SECRET = secrets.token_urlsafe(50)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(*args: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


LOAD_SETTINGS = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','config.settings'); django.setup()"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe", "SECRET_KEY": REAL_SECRET}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0"}, "Environment variable SECRET_KEY is required"),
        (
            {"DEBUG": "0", "SECRET_KEY": "short"},
            "SECRET_KEY must be a random string of at least 50",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "DB_CONN_MAX_AGE": "soon"},
            "DB_CONN_MAX_AGE='soon' is not an integer",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "DATABASE_URL": "mysql://x@y/z"},
            "must point at PostgreSQL or SQLite",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "CELERY_BROKER_URL": "kafka://x"},
            "use redis://, amqp:// or filesystem://",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "MODELS_DEVICE": "tpu"},
            "MODELS_DEVICE='tpu' must be one of auto, cpu, cuda",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "LLM_ANNOTATORS_JSON": '[{"name": "gpt"'},
            "LLM_ANNOTATORS_JSON is not valid JSON",
        ),
        (
            {
                "SECRET_KEY": REAL_SECRET,
                "LLM_ANNOTATORS_JSON": '[{"name": "a", "base_url": "http://h/v1", "model": "m", "max_concurency": 2}]',
            },
            "LLM_ANNOTATORS_JSON[0] has unknown keys max_concurency",
        ),
        (
            {"SECRET_KEY": REAL_SECRET, "JOB_HEARTBEAT_S": "30", "JOB_STALE_AFTER_S": "60"},
            "JOB_STALE_AFTER_S=60 must be at least 3 x JOB_HEARTBEAT_S=30",
        ),
    ],
)
def test_bad_settings_fail_loudly_naming_the_variable(env, message):
    result = run_python(LOAD_SETTINGS, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(REAL_SECRET + "\n")
    result = run_python(
        LOAD_SETTINGS + "; from django.conf import settings; print(settings.SECRET_KEY)",
        DEBUG="0",
        SECRET_KEY_FILE=str(secret_file),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REAL_SECRET


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "a", "model": "m"}, "LLM_ANNOTATORS_JSON[0] needs base_url"),
        (
            {"name": "A b", "base_url": "http://h/v1", "model": "m"},
            'LLM_ANNOTATORS_JSON[0].name="A b" must be 1–40',
        ),
        (
            {"name": "a", "base_url": "h:8000", "model": "m"},
            'base_url="h:8000" must be an http:// or https:// URL',
        ),
        (
            {"name": "a", "base_url": "http://h/v1", "model": "m", "max_concurrency": 0},
            "max_concurrency=0 must be an integer, at least 1",
        ),
        (
            {"name": "a", "base_url": "http://h/v1", "model": "m", "timeout_s": "30"},
            'timeout_s="30" must be a number',
        ),
        (
            {"name": "a", "base_url": "http://h/v1", "model": "m", "request_logprobs": 1},
            "must be true or false",
        ),
        (
            {"name": "a", "base_url": "http://h/v1", "model": "m", "api_key_env": "sk-live-123"},
            "must be the name of an environment variable",
        ),
        (
            {
                "name": "a",
                "base_url": "http://h/v1",
                "model": "m",
                "backoff_base_s": 5,
                "backoff_max_s": 1,
            },
            "backoff_max_s must be at least",
        ),
    ],
)
def test_llm_annotator_settings_name_the_entry_and_key_that_is_wrong(entry, message):
    import json

    from django.core.exceptions import ImproperlyConfigured

    from config.llm_annotators import parse_llm_annotators

    with pytest.raises(ImproperlyConfigured) as raised:
        parse_llm_annotators(json.dumps([entry]))
    assert message in str(raised.value)


def test_llm_annotators_are_read_by_name_in_their_order_and_a_name_counts_once():
    import json

    from django.core.exceptions import ImproperlyConfigured

    from config.llm_annotators import parse_llm_annotators

    entries = [
        {
            "name": "strong",
            "base_url": "https://api.example.org/v1",
            "model": "big",
            "api_key_env": "EXAMPLE_KEY",
        },
        {
            "name": "weak",
            "base_url": "http://127.0.0.1:8000/v1",
            "model": "small",
            "max_concurrency": 16,
        },
    ]
    assert list(parse_llm_annotators(json.dumps(entries))) == ["strong", "weak"]
    assert parse_llm_annotators(json.dumps(entries))["weak"]["max_concurrency"] == 16
    assert parse_llm_annotators("") == {}
    with pytest.raises(ImproperlyConfigured, match="the name 'weak' is used twice"):
        parse_llm_annotators(json.dumps([*entries, entries[1]]))


def test_deploy_checks_are_clean_with_debug_off_and_a_real_secret():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECRET_KEY=REAL_SECRET
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_web_process_never_imports_torch():
    """Load every URL's view, the API, the admin and the Celery tasks as the web process does."""
    code = (
        LOAD_SETTINGS
        + """
import sys
from django.urls import get_resolver
import config.wsgi
from config.celery import app
app.loader.import_default_modules()
def walk(resolver):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, 'url_patterns'):
            walk(pattern)
        else:
            pattern.callback
walk(get_resolver())
from django.test import Client
Client().get('/accounts/login/')
heavy = sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules)
print('HEAVY', heavy)
"""
    )
    result = run_python(code, SECRET_KEY=REAL_SECRET, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_layering_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_migrations_match_the_models():
    result = run_manage("makemigrations", "--check", "--dry-run", SECRET_KEY=REAL_SECRET)
    assert result.returncode == 0, result.stdout + result.stderr


def test_filesystem_broker_keeps_every_kombu_folder_inside_the_broker_dir(tmp_path):
    """kombu's filesystem transport defaults some folders to paths relative to the working
    directory (``control``); the quick start must write only under CELERY_BROKER_DIR."""
    import inspect
    import re

    import kombu.transport.filesystem as filesystem_transport

    folder_options = set(
        re.findall(r"[\"'](\w+_folder\w*)[\"']", inspect.getsource(filesystem_transport))
    )
    assert "control_folder" in folder_options  # the scan still finds kombu's options
    code = (
        f"{LOAD_SETTINGS}; import json; from django.conf import settings; "
        "from config.celery import ensure_filesystem_broker_folders; "
        "ensure_filesystem_broker_folders(); "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    broker_dir = tmp_path / "broker"
    result = run_python(
        code, DEBUG="1", CELERY_BROKER_URL="filesystem://", CELERY_BROKER_DIR=str(broker_dir)
    )
    assert result.returncode == 0, result.stderr
    options = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    for option in folder_options:
        folder = Path(options[option])
        assert folder.is_relative_to(broker_dir), option
        assert folder.is_dir(), option


@pytest.mark.django_db
def test_healthz_says_the_database_is_down_without_telling_anonymous_callers_why(client, monkeypatch, caplog):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise RuntimeError('connection to server at "db.internal" (10.0.0.7), user "prefroute" failed')

    assert client.get("/healthz").json() == {"status": "ok"}
    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert b"db.internal" not in response.content
    assert "db.internal" in caplog.text  # the operator still finds the reason in the log


def test_the_web_process_refuses_to_start_with_debug_off_until_static_files_are_collected(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(DEBUG="0", SECRET_KEY=REAL_SECRET, STATIC_ROOT=str(tmp_path / "static"))
    start = [sys.executable, "-c", "import config.wsgi"]

    refused = subprocess.run(start, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "collectstatic" in refused.stderr and "staticfiles.json" in refused.stderr

    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert collected.returncode == 0, collected.stderr
    started = subprocess.run(start, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize("missing", ["DATABASE_URL", "CELERY_BROKER_URL"])
def test_with_debug_off_a_process_without_a_database_or_broker_refuses_to_start(missing):
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    del env[missing]
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "EMBEDDED", "DATABASE_URL", "CELERY_BROKER_URL"}}
    refused = subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS], cwd=REPO, env={**base, **env, "DEBUG": "0", "SECRET_KEY": REAL_SECRET},
        capture_output=True, text=True, timeout=120,
    )
    assert refused.returncode != 0
    assert f"Environment variable {missing} is required with DEBUG off" in refused.stderr
    assert "EMBEDDED=1" in refused.stderr

    embedded = subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS], cwd=REPO,
        env={**base, **env, "DEBUG": "0", "EMBEDDED": "1", "SECRET_KEY": REAL_SECRET},
        capture_output=True, text=True, timeout=120,
    )
    assert embedded.returncode == 0, embedded.stderr
