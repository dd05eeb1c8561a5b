"""The annotator loop under load, through the real pages over HTTP, against Label Studio.

Each annotator is a closed loop (no think time) with its own asyncio + httpx client and
cookies, for a fixed duration:

- ours: log in (the login form, its CSRF token), open the label page (the CSRF token the
  page hands to htmx), then loop: ``next`` = POST label/claim/ (HX-Request; returns the open
  lease, or leases one), ``submit`` = POST the answer (submit-and-next: it saves and claims the
  next item in the same request). Acknowledged = 200 with "Saved item". The explicit ``next``
  mirrors Label Studio's two calls per item; ``--loop submit-and-next`` measures our page's own
  loop instead: one request per item, the next item taken from the submit's answer.
- Label Studio (``--label-studio``): ``next`` = GET /api/projects/<id>/next/, ``submit`` =
  POST /api/tasks/<id>/annotations/ (legacy token auth). Acknowledged = 201.

Both servers run under gunicorn on this machine against the same PostgreSQL, each with its own
throwaway database (``bench_h3_ours``, ``bench_h3_ls``), production-like: ours with DEBUG=0,
collectstatic into a temporary folder, the worker model of docker/compose.yaml
(``--web-workers`` / ``--web-threads``); Label Studio with 2 sync workers (as issue 18
measured). Each run gets a fresh campaign/project of the same ``--instances`` pairwise items
with overlap ``--overlap``; runs of ours and theirs are interleaved. Plain HTTP on loopback:
SECURE_SSL_REDIRECT and the secure-cookie flags are off for ours (a TLS proxy is not measured).

After each run of ours the database is checked: no item over its overlap, no (item, annotator)
counted twice, submitted rows == acknowledged submits. Label Studio's run gets the same check
on its task_completion table.

    .venv/bin/python bench/bench_load.py --quick                      # ours only, seconds
    .venv/bin/python bench/bench_load.py --annotators 1,10,100 --seconds 30 --rounds 2 --label-studio
    .venv/bin/python bench/bench_load.py --annotators 1,10 --instances 10000,100000   # claim cost flat?
    .venv/bin/python bench/bench_load.py --annotators 0 --imports --label-studio   # 100k import LS vs ours, our export

Besides loops/s and latencies each run prints the CPU per loop of the web workers and of the
database backends they keep open: on a shared machine a steadier figure than loops/s.

Label Studio 1.23.2 is pip-installed once into ~/.cache/prefroute-bench/ls-venv (PyPI; a few
minutes the first time). PostgreSQL: BENCH_PG (default postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "prefroute-bench"))
LS_VERSION = "1.23.2"
PASSWORD = "bench-password-not-a-secret"
SECRET = "bench-secret-key-for-the-load-benchmark-only-0123456789abcdefghij"
OURS_DB = os.environ.get("BENCH_OURS_DB", "bench_h3_ours")
LS_DB = os.environ.get("BENCH_LS_DB", "bench_h3_ls")

CSRF_IN_PAGE = re.compile(r'"X-CSRFToken": "([^"]+)"')
CSRF_IN_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ASSIGNMENT_IN_TASK = re.compile(r'data-assignment="(\d+)"')

LS_LABEL_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="a" value="$a"/>
  <Text name="b" value="$b"/>
  <Choices name="overall" toName="prompt" choice="single" required="true">
    <Choice value="A"/><Choice value="B"/><Choice value="Tie"/>
  </Choices>
  <TextArea name="justification" toName="prompt"/>
</View>"""
LS_RESULT = [
    {"from_name": "overall", "to_name": "prompt", "type": "choices", "value": {"choices": ["Tie"]}},
    {"from_name": "justification", "to_name": "prompt", "type": "textarea", "value": {"text": ["bench"]}},
]


# --- items ------------------------------------------------------------------------------------


def item(i: int, prefix: str) -> tuple[str, str, str, str]:
    return (
        f"{prefix}-{i}",
        f"Question {i}: explain why the sky looks blue at noon and red at dusk.",
        f"Answer A to {i}: Rayleigh scattering favours short wavelengths.",
        f"Answer B to {i}: the atmosphere reflects the ocean's colour.",
    )


def ours_file(n: int, prefix: str) -> bytes:
    lines = []
    for i in range(n):
        ext, prompt, a, b = item(i, prefix)
        lines.append(
            json.dumps(
                {"id": ext, "prompt": prompt, "responses": [{"model": "a", "text": a}, {"model": "b", "text": b}]}
            )
        )
    return "\n".join(lines).encode()


def ls_tasks(n: int, prefix: str) -> bytes:
    tasks = []
    for i in range(n):
        ext, prompt, a, b = item(i, prefix)
        tasks.append({"data": {"id": ext, "prompt": prompt, "a": a, "b": b}})
    return json.dumps(tasks).encode()


# --- plumbing ---------------------------------------------------------------------------------


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle_database(name: str) -> None:
    """VACUUM (ANALYZE) a side's database after its items are imported, before a run: the
    runs then measure a campaign as it is once autovacuum has passed over a fresh import
    (statistics, visibility map, hint bits), not autovacuum and first reads catching up with
    100,000 new rows during the run. Both sides get it."""
    import psycopg

    with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, *, timeout: float, process: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def server_cpu_seconds(master: int, database: str) -> tuple[float, dict[int, float]]:
    """CPU seconds used so far by the gunicorn master's workers, and per PostgreSQL backend
    connected to ``database``: figures per loop that the other load on a shared machine does
    not distort the way it distorts loops/s. Only backends alive at both readings count (see
    :func:`db_cpu_between`): a server that opens a connection per request (Label Studio,
    CONN_MAX_AGE=0) shows none."""
    import psycopg

    workers = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent_of(int(entry.name)) == master
    ]
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        backends = [row[0] for row in conn.execute("select pid from pg_stat_activity where datname = %s", [database])]
    return sum(map(_cpu_seconds, workers)), {pid: _cpu_seconds(pid) for pid in backends}


def db_cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys() if after[pid] >= before[pid])


def _parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class RunStats:
    seconds: float = 0.0
    loops: int = 0
    acknowledged: int = 0
    exhausted: int = 0
    calls: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "submit": []})
    errors: Counter = field(default_factory=Counter)
    web_cpu_s: float = 0.0
    db_cpu_s: float = 0.0

    def record(self, kind: str, started: float) -> None:
        self.calls[kind].append(time.perf_counter() - started)

    def summary(self) -> dict:
        out = {
            "loops_per_s": self.loops / self.seconds if self.seconds else 0.0,
            "loops": self.loops,
            "acknowledged": self.acknowledged,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "web_cpu_ms_per_loop": 1000 * self.web_cpu_s / self.loops if self.loops else float("nan"),
            "db_cpu_ms_per_loop": 1000 * self.db_cpu_s / self.loops if self.loops else float("nan"),
        }
        for kind, samples in self.calls.items():
            for q in (0.5, 0.95, 0.99):
                out[f"{kind}_p{int(q * 100)}_ms"] = 1000 * percentile(samples, q)
        return out


async def run_closed_loops(*, loop_of, clients: list, seconds: float, master: int, database: str) -> RunStats:
    """Every client runs ``loop_of(client, stats, deadline)`` at once until the deadline."""
    stats = RunStats()
    web_before, db_before = server_cpu_seconds(master, database)
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(loop_of(client, stats, deadline) for client in clients))
    stats.seconds = time.monotonic() - started
    web_after, db_after = server_cpu_seconds(master, database)
    stats.web_cpu_s, stats.db_cpu_s = web_after - web_before, db_cpu_between(db_before, db_after)
    return stats


def make_clients(n: int, base_url: str):
    import httpx

    # One connection per annotator (a browser tab's keep-alive), a generous timeout: a slow
    # answer is measured, not turned into an error, unless it takes more than 60 s.
    return [
        httpx.AsyncClient(
            base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
        )
        for _ in range(n)
    ]


# --- ours -------------------------------------------------------------------------------------


class Ours:
    """Prefroute under gunicorn, DEBUG=0, on its own throwaway database."""

    def __init__(self, *, web_workers: int, web_threads: int, worker_class: str, n_users: int, loop: str) -> None:
        self.loop = loop
        self.static_root = Path(tempfile.mkdtemp(prefix="bench-h3-static-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web_workers, self.web_threads, self.worker_class = web_workers, web_threads, worker_class
        self.n_users = n_users
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "EMBEDDED": "0",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": f"{PG}/{OURS_DB}",
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/3"),
            # As compose: the cache (rate-limit counters) in Redis.
            "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/4"),
            # The benchmark runs no Celery beat; without this /healthz (its readiness probe) is 503.
            "BEAT_EXPECTED": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "STATIC_ROOT": str(self.static_root),
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        self.process: subprocess.Popen | None = None
        self.pm = None
        self.users: list = []
        self.sessions: list[dict] = []

    def prepare(self) -> None:
        recreate_database(OURS_DB)
        os.environ.update(self.env)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        User = get_user_model()
        # One hash for every annotator: 100 PBKDF2 hashes would take longer than the runs.
        hashed = make_password(PASSWORD)
        self.pm = User.objects.create_user("bench-pm")
        User.objects.bulk_create(User(username=f"bench-annotator-{i}", password=hashed) for i in range(self.n_users))
        self.users = list(User.objects.filter(username__startswith="bench-annotator-").order_by("id"))
        self._close_connections()

    @staticmethod
    def _close_connections() -> None:
        from django.db import connections

        connections.close_all()

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.web_workers),
            "--worker-class", self.worker_class,
            "--threads", str(self.web_threads),
            "--timeout", "120",
            "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        wait_until_up(f"{self.base_url}/healthz", timeout=90, process=self.process)

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self.static_root, ignore_errors=True)

    async def log_in_all(self) -> None:
        """Log every annotator in once through the login form; runs reuse the sessions."""
        import httpx

        async def log_in(user, gate):
            async with gate, httpx.AsyncClient(base_url=self.base_url, timeout=60) as client:
                page = await client.get("/accounts/login/")
                token = CSRF_IN_FORM.search(page.text).group(1)
                answer = await client.post(
                    "/accounts/login/",
                    data={"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                )
                if answer.status_code != 302:
                    raise SystemExit(f"login of {user.username} answered {answer.status_code}")
                return dict(client.cookies)

        gate = asyncio.Semaphore(4)
        self.sessions = await asyncio.gather(*(log_in(user, gate) for user in self.users))

    def new_campaign(self, *, instances: int, overlap: int, label: str) -> str:
        from annotate.models import CampaignRole
        from annotate.services.campaigns import add_member, create_campaign
        from annotate.services.imports import import_instances

        campaign = create_campaign(name=f"Load {label}", created_by=self.pm, overlap=overlap)
        for start in range(0, instances, 10_000):
            import_instances(
                campaign=campaign,
                data=ours_file(min(10_000, instances - start), f"{label}-{start}"),
                file_format="generic",
            )
        for user in self.users:
            add_member(campaign=campaign, user=user, role=CampaignRole.ANNOTATOR)
        self._close_connections()
        settle_database(OURS_DB)
        return campaign.slug

    async def run(self, *, slug: str, annotators: int, seconds: float) -> RunStats:
        clients = make_clients(annotators, self.base_url)
        for client, cookies in zip(clients, self.sessions, strict=False):
            client.cookies.update(cookies)

        async def loop_of(client, stats: RunStats, deadline: float) -> None:
            import httpx

            page = await client.get(f"/campaigns/{slug}/label/")
            if page.status_code != 200:
                stats.errors[f"label page {page.status_code}"] += 1
                return
            headers = {"HX-Request": "true", "X-CSRFToken": CSRF_IN_PAGE.search(page.text).group(1)}
            answer = {"overall": "Tie", "justification": "bench"}
            current = None  # the item the last submit-and-next showed (its next item)
            while time.monotonic() < deadline:
                try:
                    if current is None or self.loop == "next+submit":
                        started = time.perf_counter()
                        shown = await client.post(f"/campaigns/{slug}/label/claim/", headers=headers)
                        stats.record("next", started)
                        if shown.status_code != 200:
                            stats.errors[f"next {shown.status_code}"] += 1
                            continue
                        current = ASSIGNMENT_IN_TASK.search(shown.text)
                        if current is None:
                            stats.exhausted += 1
                            return
                    started = time.perf_counter()
                    saved = await client.post(
                        f"/campaigns/{slug}/label/{current.group(1)}/", data=answer, headers=headers
                    )
                    stats.record("submit", started)
                except httpx.HTTPError as exc:
                    stats.errors[type(exc).__name__] += 1
                    current = None
                    continue
                if saved.status_code == 200 and "Saved item" in saved.text:
                    stats.acknowledged += 1
                    stats.loops += 1
                    current = ASSIGNMENT_IN_TASK.search(saved.text)
                    if current is None:
                        stats.exhausted += 1
                        return
                else:
                    stats.errors[f"submit {saved.status_code}"] += 1
                    current = None

        try:
            return await run_closed_loops(
                loop_of=loop_of, clients=clients, seconds=seconds, master=self.process.pid, database=OURS_DB
            )
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))

    def check(self, *, slug: str, acknowledged: int) -> dict:
        from django.db.models import Count, F

        from annotate.models import Annotation, Assignment, AssignmentStatus, Campaign, QueueItem

        campaign = Campaign.objects.get(slug=slug)
        submitted = Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SUBMITTED)
        live = Assignment.objects.filter(
            campaign=campaign, status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.LEASED]
        )
        result = {
            "items_over_overlap": live.values("instance").annotate(n=Count("id")).filter(n__gt=campaign.overlap).count()
            + QueueItem.objects.filter(instance__campaign=campaign, slots_taken__gt=F("required_overlap")).count(),
            "double_counted": Annotation.objects.filter(campaign=campaign, annotator__isnull=False)
            .values("instance", "annotator")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count(),
            "submitted_rows": Annotation.objects.filter(campaign=campaign, annotator__isnull=False).count(),
            "submitted_assignments": submitted.count(),
            "acknowledged": acknowledged,
        }
        self._close_connections()
        result["ok"] = (
            result["items_over_overlap"] == 0
            and result["double_counted"] == 0
            and result["submitted_rows"] == result["submitted_assignments"] == acknowledged
        )
        return result


# --- Label Studio -----------------------------------------------------------------------------


class LabelStudio:
    """Label Studio from PyPI in its own virtualenv, under gunicorn (2 sync workers)."""

    venv = CACHE / "ls-venv"

    def __init__(self, *, n_users: int, workers: int = 2) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.n_users = n_users
        self.workers = workers
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench-h3-ls-"))
        self.python = str(self.venv / "bin" / "python")
        self.process: subprocess.Popen | None = None
        self.owner_token = ""
        self.tokens: list[str] = []
        user, _, hostport = PG.removeprefix("postgresql://").rpartition("@")
        host, _, port = hostport.partition(":")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
            "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
            "DJANGO_DB": "default",
            "POSTGRE_NAME": LS_DB,
            "POSTGRE_USER": user.partition(":")[0] or "postgres",
            "POSTGRE_PASSWORD": user.partition(":")[2],
            "POSTGRE_HOST": host or "127.0.0.1",
            "POSTGRE_PORT": port or "5432",
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": SECRET,
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "DATA_UPLOAD_MAX_NUMBER_FILES": "100",
            "DATA_UPLOAD_MAX_MEMORY_SIZE": str(1 << 30),
        }

    @property
    def package_dir(self) -> Path:
        found = list(self.venv.glob("lib/python3*/site-packages/label_studio"))
        if not found:
            raise SystemExit(f"label_studio is not installed in {self.venv}")
        return found[0]

    def install(self) -> None:
        ready = self.venv / f".label-studio-{LS_VERSION}"
        if ready.exists():
            return
        print(f"installing label-studio=={LS_VERSION} into {self.venv} (cached for later runs)", flush=True)
        if not self.venv.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run(
            [self.python, "-m", "pip", "install", "-q", f"label-studio=={LS_VERSION}", "gunicorn>=23"], check=True
        )
        ready.touch()

    def manage(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, "manage.py", *args], cwd=self.package_dir, env=self.env, check=True, **kwargs
        )

    def prepare(self) -> None:
        self.install()
        recreate_database(LS_DB)
        self.manage("migrate", "--noinput", "-v0", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        script = f"""
import json
from django.contrib.auth.hashers import make_password
from rest_framework.authtoken.models import Token
from organizations.models import Organization
from users.models import User
hashed = make_password({PASSWORD!r})
owner = User.objects.create_user(email="owner@bench.local", username="owner", password={PASSWORD!r})
org = Organization.create_organization(created_by=owner, title="bench")
owner.active_organization = org
owner.save()
from jwt_auth.models import JWTSettings
jwt, _ = JWTSettings.objects.get_or_create(organization=org)
jwt.legacy_api_tokens_enabled = True
jwt.save()
tokens = []
for i in range({self.n_users}):
    user = User.objects.create(email=f"annotator{{i}}@bench.local", username=f"annotator{{i}}", password=hashed)
    org.add_user(user)
    user.active_organization = org
    user.save()
    tokens.append(Token.objects.get_or_create(user=user)[0].key)
print("TOKENS" + json.dumps({{"owner": Token.objects.get_or_create(user=owner)[0].key, "annotators": tokens}}))
"""
        out = self.manage("shell", "-c", script, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        payload = json.loads(out[out.index("TOKENS") + len("TOKENS"):].strip().splitlines()[0])
        self.owner_token, self.tokens = payload["owner"], payload["annotators"]

    def start(self) -> None:
        command = [
            str(self.venv / "bin" / "gunicorn"), "core.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--timeout", "120",
            "--log-level", "warning",
        ]  # fmt: skip
        # Its log (start-up banners, an update check, its own "it's a bug" lock messages) goes
        # to a file beside its data, not between our figures.
        self.log = open(self.data_dir / "gunicorn.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(command, cwd=self.package_dir, env=self.env, stdout=self.log, stderr=self.log)
        wait_until_up(f"{self.base_url}/health", timeout=120, process=self.process)

    def stop(self) -> None:
        stop(self.process)
        if self.process is not None:
            self.log.close()
            lock_bugs = (self.data_dir / "gunicorn.log").read_text(errors="replace").count("it's a bug")
            if lock_bugs:
                print(f"Label Studio logged {lock_bugs} 'Num takes > overlap ... it's a bug' lock errors")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def owner(self):
        import httpx

        return httpx.Client(base_url=self.base_url, timeout=600, headers={"Authorization": f"Token {self.owner_token}"})

    def new_project(self, *, instances: int, overlap: int, label: str) -> tuple[int, float]:
        """The project with its items imported through the API; returns (id, import seconds)."""
        with self.owner() as client:
            created = client.post(
                "/api/projects/",
                json={"title": f"Load {label}", "label_config": LS_LABEL_CONFIG, "maximum_annotations": overlap},
            )
            created.raise_for_status()
            project = created.json()["id"]
            started = time.perf_counter()
            imported = client.post(
                f"/api/projects/{project}/import",
                content=ls_tasks(instances, label),
                headers={"Content-Type": "application/json"},
            )
            seconds = time.perf_counter() - started
            imported.raise_for_status()
            count = imported.json().get("task_count")
            if count != instances:
                raise SystemExit(f"Label Studio imported {count} of {instances} tasks: {imported.text[:300]}")
        settle_database(LS_DB)
        return project, seconds

    async def run(self, *, project: int, annotators: int, seconds: float) -> RunStats:
        clients = make_clients(annotators, self.base_url)
        for client, token in zip(clients, self.tokens, strict=False):
            client.headers["Authorization"] = f"Token {token}"

        async def loop_of(client, stats: RunStats, deadline: float) -> None:
            import httpx

            while time.monotonic() < deadline:
                try:
                    started = time.perf_counter()
                    shown = await client.get(f"/api/projects/{project}/next/")
                    stats.record("next", started)
                    if shown.status_code == 404:
                        stats.exhausted += 1
                        return
                    if shown.status_code != 200:
                        stats.errors[f"next {shown.status_code}"] += 1
                        continue
                    task = shown.json()["id"]
                    started = time.perf_counter()
                    saved = await client.post(
                        f"/api/tasks/{task}/annotations/?project={project}",
                        json={"result": LS_RESULT, "lead_time": 1.0, "project": project},
                    )
                    stats.record("submit", started)
                except httpx.HTTPError as exc:
                    stats.errors[type(exc).__name__] += 1
                    continue
                if saved.status_code == 201:
                    stats.acknowledged += 1
                    stats.loops += 1
                else:
                    stats.errors[f"submit {saved.status_code}"] += 1

        try:
            return await run_closed_loops(
                loop_of=loop_of, clients=clients, seconds=seconds, master=self.process.pid, database=LS_DB
            )
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))

    def check(self, *, project: int, overlap: int, acknowledged: int) -> dict:
        import psycopg

        with psycopg.connect(f"{PG}/{LS_DB}") as conn:

            def one(sql: str) -> int:
                return conn.execute(sql, {"p": project}).fetchone()[0]

            result = {
                "items_over_overlap": one(
                    "select count(*) from (select task_id from task_completion where project_id = %(p)s"
                    f" group by task_id having count(*) > {int(overlap)}) t"
                ),
                "double_counted": one(
                    "select count(*) from (select task_id from task_completion where project_id = %(p)s"
                    " group by task_id, completed_by_id having count(*) > 1) t"
                ),
                "submitted_rows": one("select count(*) from task_completion where project_id = %(p)s"),
                "acknowledged": acknowledged,
            }
        result["ok"] = (
            result["items_over_overlap"] == 0 and result["double_counted"] == 0 and result["submitted_rows"] == acknowledged
        )
        return result


# --- imports and export -----------------------------------------------------------------------


def measure_imports(*, ours: Ours, ls: LabelStudio | None, instances: int) -> list[dict]:
    """The same items into both: LS through its import API, ours through import_instances (the
    service the import page and the import job call), then our export of 100k annotations."""
    import tracemalloc

    from annotate.services.campaigns import create_campaign
    from annotate.services.imports import import_instances

    rows = []
    if ls is not None:
        _, seconds = ls.new_project(instances=instances, overlap=1, label="import")
        rows.append({"case": f"Label Studio import API, {instances:,} tasks", "seconds": seconds, "items_per_s": instances / seconds})
    data = ours_file(instances, "import")
    campaign = create_campaign(name="Import bench", created_by=ours.pm, overlap=1)
    started = time.perf_counter()
    import_instances(campaign=campaign, data=data, file_format="generic")
    seconds = time.perf_counter() - started
    campaign2 = create_campaign(name="Import bench traced", created_by=ours.pm, overlap=1)
    tracemalloc.start()
    import_instances(campaign=campaign2, data=data, file_format="generic")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows.append(
        {"case": f"ours import_instances, {instances:,} items", "seconds": seconds, "items_per_s": instances / seconds, "peak_mib": peak / 2**20}
    )
    rows.extend(measure_export(user=ours.pm, annotations=instances))
    return rows


def measure_export(*, user, annotations: int) -> list[dict]:
    """Our export job (DPO, JSONL and Parquet) of ``annotations`` LLM labels (4 per item),
    timed and traced by bench/bench_exports.py's run_case."""
    from django.conf import settings

    from annotate.exports.synthetic import fill_with_llm_labels
    from annotate.services.campaigns import create_campaign
    from bench.bench_exports import run_case

    settings.EXPORT_DIR = Path(tempfile.mkdtemp(prefix="bench-h3-exports-"))
    campaign = create_campaign(name="Export bench", created_by=user)
    written = fill_with_llm_labels(campaign=campaign, n_instances=annotations // 4)
    rows = []
    for file_type in ("jsonl", "parquet"):
        case = run_case(campaign=campaign, user=user, file_type=file_type)
        rows.append({"case": f"ours export {file_type}, {written:,} annotations ({case['rows']:,} rows)",
                     "seconds": case["seconds"], "rows_per_s": case["rows_per_s"], "peak_mib": case["peak_traced_mib"]})
    shutil.rmtree(settings.EXPORT_DIR, ignore_errors=True)
    return rows


# --- main -------------------------------------------------------------------------------------


def print_run(side: str, size: int, annotators: int, round_no: int, summary: dict, check: dict) -> None:
    print(
        f"{side:<5} {size:>7,} items {annotators:>4} ann. r{round_no} {summary['loops_per_s']:>7.1f} loops/s"
        f"  next p50/p95/p99 {summary['next_p50_ms']:>7.1f} {summary['next_p95_ms']:>7.1f} {summary['next_p99_ms']:>7.1f} ms"
        f"  submit {summary['submit_p50_ms']:>7.1f} {summary['submit_p95_ms']:>7.1f} {summary['submit_p99_ms']:>7.1f} ms"
        f"  cpu/loop web {summary['web_cpu_ms_per_loop']:.0f} db {summary['db_cpu_ms_per_loop']:.0f} ms"
        f"  errors {summary['errors']} {summary['error_kinds'] or ''}"
        f"  db {'ok' if check['ok'] else 'FAILED'} ({check['submitted_rows']} rows, {check['acknowledged']} acked,"
        f" over overlap {check['items_over_overlap']}, double {check['double_counted']})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", default="1,10,100", help="comma-separated annotator counts")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per annotator count")
    parser.add_argument("--instances", default="10000", help="campaign sizes, comma-separated (10000,100000: claim cost flat?)")
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--label-studio", action="store_true", help="also drive Label Studio, interleaved")
    parser.add_argument("--imports", action="store_true", help="import 100k items (LS vs ours) and export 100k")
    parser.add_argument("--import-instances", type=int, default=100_000)
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)))
    parser.add_argument("--web-threads", type=int, default=int(os.environ.get("WEB_THREADS", 4)))
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument(
        "--loop", choices=("next+submit", "submit-and-next"), default="next+submit",
        help="ours: an explicit next-item call before every submit, as Label Studio needs (default), or"
        " our page's own loop, one submit-and-next request per item (next timed only once per annotator)",
    )
    parser.add_argument("--quick", action="store_true", help="1 and 10 annotators, 5 s, 1,000 items: checks it runs")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases")
    args = parser.parse_args()
    if args.quick:
        args.annotators, args.seconds, args.rounds, args.instances = "1,10", 5.0, 1, "1000"
        args.import_instances = min(args.import_instances, 5_000)
    counts = [int(n) for n in args.annotators.split(",") if int(n) > 0]  # "0": no load runs (--imports alone)
    sizes = [int(n) for n in args.instances.split(",")]
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    ours = Ours(
        web_workers=args.web_workers, web_threads=args.web_threads, worker_class=args.worker_class,
        n_users=max(counts, default=1), loop=args.loop,
    )
    ls = LabelStudio(n_users=max(counts, default=1)) if args.label_studio else None
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "runs": [], "imports": []}
    try:
        print("preparing ours (database, migrate, collectstatic, users)", flush=True)
        ours.prepare()
        ours.start()
        asyncio.run(ours.log_in_all())
        if ls is not None:
            print("preparing Label Studio (database, migrate, users)", flush=True)
            ls.prepare()
            ls.start()
        print(
            f"ours ({args.loop}): gunicorn {args.worker_class} {args.web_workers} workers x {args.web_threads} threads;"
            f" Label Studio {LS_VERSION}: gunicorn sync {ls.workers if ls else '-'} workers;"
            f" {' and '.join(f'{n:,}' for n in sizes)} pairwise items, overlap {args.overlap}, {args.seconds:.0f} s per run",
            flush=True,
        )
        for round_no, size, annotators in (
            (r, size, n) for r in range(1, args.rounds + 1) for size in sizes for n in counts
        ):
            if True:
                label = f"r{round_no}-i{size}-n{annotators}"
                slug = ours.new_campaign(instances=size, overlap=args.overlap, label=label)
                stats = asyncio.run(ours.run(slug=slug, annotators=annotators, seconds=args.seconds))
                check = ours.check(slug=slug, acknowledged=stats.acknowledged)
                summary = stats.summary()
                print_run("ours", size, annotators, round_no, summary, check)
                results["runs"].append({"side": "ours", "instances": size, "annotators": annotators, "round": round_no, **summary, "check": check})
                if ls is not None:
                    project, _ = ls.new_project(instances=size, overlap=args.overlap, label=label)
                    stats = asyncio.run(ls.run(project=project, annotators=annotators, seconds=args.seconds))
                    check = ls.check(project=project, overlap=args.overlap, acknowledged=stats.acknowledged)
                    summary = stats.summary()
                    print_run("LS", size, annotators, round_no, summary, check)
                    results["runs"].append({"side": "LS", "instances": size, "annotators": annotators, "round": round_no, **summary, "check": check})
        if args.imports:
            results["imports"] = measure_imports(ours=ours, ls=ls, instances=args.import_instances)
    finally:
        ours.stop()
        if ls is not None:
            ls.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(OURS_DB)
            if ls is not None:
                drop_database(LS_DB)

    print()
    print("| items | annotators | ours loops/s | LS loops/s | ours / LS | ours p50 next / submit | ours p99 next / submit | LS p99 next / submit | web+db CPU ms/loop ours / LS | errors ours / LS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, annotators in ((size, n) for size in sizes for n in counts):
        mine = [r for r in results["runs"] if r["side"] == "ours" and r["annotators"] == annotators and r["instances"] == size]
        theirs = [r for r in results["runs"] if r["side"] == "LS" and r["annotators"] == annotators and r["instances"] == size]
        ours_rate = statistics.mean(r["loops_per_s"] for r in mine)
        ls_rate = statistics.mean(r["loops_per_s"] for r in theirs) if theirs else float("nan")
        p99 = lambda rs, kind: max(r[f"{kind}_p99_ms"] for r in rs) if rs else float("nan")  # noqa: E731
        p50 = lambda rs, kind: statistics.median(r[f"{kind}_p50_ms"] for r in rs)  # noqa: E731
        cpu = lambda rs: (  # noqa: E731
            statistics.mean(r["web_cpu_ms_per_loop"] + r["db_cpu_ms_per_loop"] for r in rs) if rs else float("nan")
        )
        rates = lambda rs: ", ".join(f"{r['loops_per_s']:.1f}" for r in rs) or "-"  # noqa: E731
        print(
            f"| {size:,} | {annotators} | {rates(mine)} | {rates(theirs)} | {ours_rate / ls_rate:.1f} |"
            f" {p50(mine, 'next'):.0f} / {p50(mine, 'submit'):.0f} ms |"
            f" {p99(mine, 'next'):.0f} / {p99(mine, 'submit'):.0f} ms | {p99(theirs, 'next'):.0f} / {p99(theirs, 'submit'):.0f} ms |"
            f" {cpu(mine):.0f} / {cpu(theirs):.0f} |"
            f" {sum(r['errors'] for r in mine)} / {sum(r['errors'] for r in theirs) if theirs else '-'} |"
        )
    for row in results["imports"]:
        extra = "".join(f", {k} {v:,.1f}" for k, v in row.items() if k not in ("case", "seconds"))
        print(f"{row['case']}: {row['seconds']:.1f} s{extra}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not all(r["check"]["ok"] for r in results["runs"]):
        raise SystemExit("database check FAILED (see the runs above)")


if __name__ == "__main__":
    main()
