"""Shared fixtures: personas set up through the real services, a live Celery worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from annotate.models import Campaign, CampaignRole
from annotate.services.campaigns import add_member, create_campaign
from annotate.services.imports import import_instances

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_DIR.parent / "shared"))
DEMO_DIR = REPO_DIR / "annotate" / "demo"


def pytest_configure(config):
    """Production settings, except that tests speak plain HTTP and skip collectstatic.

    (Applied before the live server builds its middleware; the deploy-check test loads the
    untouched production settings in a subprocess.)
    """
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0
    # Worker and server threads close their connections after each task/request, so the
    # test database can be dropped at the end of the run.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user):
    """A test client with ``user``'s session."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def simple_pairwise_post(**overrides) -> dict:
    """A simple pairwise answer as the workspace form posts it (A clearly better)."""
    data = {"overall": "A-is-clearly-better", "justification": "@A is correct.", "helpfulness": "A-is-slightly-better"}
    data.update(overrides)
    return data


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=f"{username}-pw", **extra)


@pytest.fixture
def sent_tasks(monkeypatch):
    """Tasks sent to the broker, as (name, options); nothing reaches the real broker."""
    from config.celery import app

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    return sent


@pytest.fixture
def pm(db):
    return make_user("pm")


@pytest.fixture
def annotator(db):
    return make_user("annotator1")


@pytest.fixture
def second_annotator(db):
    return make_user("annotator2")


@pytest.fixture
def researcher(db):
    return make_user("researcher")


@pytest.fixture
def outsider(db):
    return make_user("outsider")


def pairwise_rows(n: int, *, prefix: str = "item") -> bytes:
    import json

    rows = [
        {
            "id": f"{prefix}-{i}",
            "prompt": f"Question number {i}: how do I boil an egg?",
            "responses": [
                {"model": "model-a", "text": f"Answer A to {i}: simmer it for nine minutes."},
                {"model": "model-b", "text": f"Answer B to {i}: microwave it, shell on."},
            ],
            "metadata": {"n": i},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(row) for row in rows).encode()


# The simple pairwise template's 5-point codes, by value (negative favours A).
LIKERT_CODES = {
    -2: "A-is-clearly-better",
    -1: "A-is-slightly-better",
    0: "Tie",
    1: "B-is-slightly-better",
    2: "B-is-clearly-better",
}


def pairwise_answers(overall: int | None, *, justification: str = "@A is right.", **aspects: int):
    """Answers to the simple pairwise template, in display slots (A = shown first)."""
    from annotate.services.answers import AnswerInput

    answers = []
    if overall is not None:
        answers.append(AnswerInput(question="overall", codes=(LIKERT_CODES[overall],)))
    answers += [AnswerInput(question=key, codes=(LIKERT_CODES[value],)) for key, value in aspects.items()]
    if justification:
        answers.append(AnswerInput(question="justification", text=justification))
    return answers


def stored_answers(annotation) -> dict:
    """An annotation's answers as {(question key, position): value or text or [codes]}."""
    result: dict = {}
    for row in annotation.answers.select_related("question", "option"):
        where = (row.question.key, row.response_position)
        if row.question.kind == "text":
            result[where] = row.text
        elif row.question.kind == "choices":
            result[where] = sorted([*result.get(where, []), row.option.code])
        else:
            result[where] = row.value
    return result


def build_campaign(*, pm, annotators=(), researchers=(), n_instances: int = 4, **options) -> Campaign:
    """A campaign set up through the services. Responses are shown in their row order unless
    a test asks for randomisation (``randomize_response_order=True``)."""
    options.setdefault("randomize_response_order", False)
    campaign = create_campaign(name=options.pop("name", "Spec campaign"), created_by=pm, **options)
    for user in annotators:
        add_member(campaign=campaign, user=user, role=CampaignRole.ANNOTATOR)
    for user in researchers:
        add_member(campaign=campaign, user=user, role=CampaignRole.RESEARCHER)
    if n_instances:
        import_instances(campaign=campaign, data=pairwise_rows(n_instances), file_format="generic")
    return campaign


@pytest.fixture
def campaign(pm, annotator, second_annotator, researcher):
    return build_campaign(
        pm=pm, annotators=[annotator, second_annotator], researchers=[researcher], n_instances=4
    )


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def celery_worker_all_queues(transactional_db):
    """A real Celery worker (in a thread) consuming every queue, on the configured broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app, ensure_filesystem_broker_folders

    ensure_filesystem_broker_folders()
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        queues=["default", "llm", "gpu"],
        shutdown_timeout=60,
    ) as worker:
        yield worker


def needs_shared_data(*paths: Path):
    """Skip when the shared data is absent locally; CI sets REQUIRE_SHARED_DATA=1 to fail instead."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing and os.environ.get("REQUIRE_SHARED_DATA") == "1":
        raise RuntimeError(f"REQUIRE_SHARED_DATA=1 but missing: {', '.join(missing)}")
    return pytest.mark.skipif(
        bool(missing), reason=f"shared data not found: {', '.join(missing)} (set SHARED_DIR)"
    )


@pytest.fixture(scope="session")
def minilm_encoder():
    """The real all-MiniLM-L6-v2 encoder, loaded once (tests using it are marked slow)."""
    from models_rm.encoders import SentenceEncoder

    return SentenceEncoder(max_length=256)


@pytest.fixture(scope="session")
def cached_minilm_encoder(minilm_encoder, tmp_path_factory):
    """MiniLM behind one on-disk embedding cache for the whole run: each text of the shared data
    is embedded once per run, whichever test file (and test process) asks first.

    ``PREFROUTE_TEST_EMBEDDING_CACHE`` names a persistent folder instead (a content-hash cache, so
    results are the same; re-runs skip the minutes of embedding).
    """
    from models_rm.cache import CachedEncoder, EmbeddingCache

    persistent = os.environ.get("PREFROUTE_TEST_EMBEDDING_CACHE")
    if persistent:
        directory = Path(persistent)
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        # One folder for both test processes (their base temps share a parent): a text embedded
        # by one is read by the other; the cache writes by atomic rename, so sharing is safe.
        directory = tmp_path_factory.getbasetemp().parent / "embeddings"
        directory.mkdir(exist_ok=True)
    else:
        directory = tmp_path_factory.mktemp("embeddings")
    return CachedEncoder(minilm_encoder, EmbeddingCache(directory))


HH_HARMLESS_TEST = SHARED_DIR / "data" / "hh-rlhf-harmless-test" / "test.jsonl.gz"
LLMBAR_DIR = SHARED_DIR / "data" / "llmbar-gold"


def require_shared_file(path: Path) -> Path:
    """``path`` if it exists; else skip locally, or fail when CI sets REQUIRE_SHARED_DATA=1."""
    if not path.is_file():
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"REQUIRE_SHARED_DATA=1 but {path} is missing")
        pytest.skip(f"shared data not available at {path} (set SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def hh_harmless_path() -> Path:
    return require_shared_file(HH_HARMLESS_TEST)
