"""A hundred annotators submit a thousand labels over HTTP against a real gunicorn on PostgreSQL,
clicking twice, resending after a dropped response and going back or refreshing at random:
afterwards every acknowledged submit is stored, nothing is counted twice and no item has more
labels than its overlap."""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation, Assignment, AssignmentStatus, QueueItem
from tests.annotate.test_job_recovery import worker_database_url
from tests.conftest import REPO_DIR, build_campaign, is_postgres, make_user, simple_pairwise_post

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_postgres(), reason="concurrent writers on PostgreSQL"),
]

ANNOTATORS = 100
OVERLAP = 2
INSTANCES = 500  # x OVERLAP = 1,000 submissions drain the queue
ASSIGNMENT_IN_PAGE = re.compile(r'data-assignment="(\d+)"')
ACKNOWLEDGED = ("Saved item", "already saved", "Updated your earlier answer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """`gunicorn config.wsgi` (2 gthread workers x 8 threads) on the test database."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DEBUG": "1",  # plain HTTP and static files without collectstatic; nothing else differs
        "DB_CONN_MAX_AGE": "0",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "8",
             "--timeout", "60"],
            cwd=REPO_DIR, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=20).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise AssertionError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        process.terminate()  # the master stops its workers
        process.wait(timeout=30)


class Annotator:
    """One annotator's browser: its session cookie, its CSRF token, and what it was told."""

    def __init__(self, *, user, base: str, slug: str, seed: int) -> None:
        client = Client()
        client.force_login(user)
        self.cookies = {"sessionid": client.cookies["sessionid"].value}
        self.base, self.slug = base, slug
        self.random = random.Random(seed)
        self.acknowledged: set[int] = set()
        self.errors: list[str] = []
        self.http = self._session()
        self.http.get(f"{base}{reverse('label_next', args=[slug])}", timeout=30)  # the CSRF cookie
        self.http.headers["X-CSRFToken"] = self.http.cookies["csrftoken"]

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.cookies.update(self.cookies)
        session.headers["HX-Request"] = "true"
        return session

    def post(self, path: str, data: dict | None = None, *, timeout: float = 60, http=None):
        http = http or self.http
        response = self._resend_on_reset(
            lambda: http.post(f"{self.base}{path}", data=data or {}, timeout=timeout)
        )
        if response.status_code >= 500:
            self.errors.append(f"{path}: {response.status_code}")
        return response

    def get(self, path: str) -> requests.Response:
        return self._resend_on_reset(lambda: self.http.get(f"{self.base}{path}", timeout=60))

    @staticmethod
    def _resend_on_reset(send, attempts: int = 3) -> requests.Response:
        """Send again when the connection is reset, as a browser does.

        Under load the server closes idle keep-alive connections (gunicorn's `--keep-alive`), and a
        request written into one as it closes is reset before any answer. A browser resends it on a
        fresh connection; whether the first one reached the server or not, a resent submit must be
        stored once, which is what this test checks.
        """
        for attempt in range(attempts):
            try:
                return send()
            except requests.ConnectionError as reset:
                if isinstance(reset, requests.Timeout) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def submit(self, assignment_id: int, *, http=None) -> requests.Response:
        path = reverse("submit_label", args=[self.slug, assignment_id])
        response = self.post(path, simple_pairwise_post(), http=http)
        if response.status_code == 200 and any(text in response.text for text in ACKNOWLEDGED):
            self.acknowledged.add(assignment_id)
        return response

    def work(self) -> None:
        """Label until no item is left; an exception is recorded, not lost with the thread."""
        try:
            self._label_until_done()
        except Exception as error:  # noqa: BLE001 - reported by the test's assertion
            self.errors.append(f"annotator stopped: {error!r}")

    def _label_until_done(self) -> None:
        response = self.post(reverse("label_claim", args=[self.slug]))
        previous = None
        while match := ASSIGNMENT_IN_PAGE.search(response.text):
            current = int(match.group(1))
            behaviour = self.random.random()
            if behaviour < 0.1:
                # A double click: the same submit posted twice at once.
                twin = self._session()
                twin.headers.update(self.http.headers)
                other = threading.Thread(target=self.submit, args=(current,), kwargs={"http": twin})
                other.start()
                response = self.submit(current)
                other.join()
            elif behaviour < 0.2:
                # The response is lost on the way back: the browser sends the same submit again.
                with contextlib.suppress(requests.Timeout):
                    self.post(
                        reverse("submit_label", args=[self.slug, current]),
                        simple_pairwise_post(), timeout=0.005,
                    )  # fmt: skip
                response = self.submit(current)
            elif behaviour < 0.3 and previous is not None:
                # Back to the item answered before, submitted again; then a refresh.
                self.submit(previous)
                self.get(reverse("label_next", args=[self.slug]))
                response = self.submit(current)
            else:
                response = self.submit(current)
            if not ASSIGNMENT_IN_PAGE.search(response.text) and response.status_code == 200:
                # A lost race may have rendered the item after next: ask for the open one.
                response = self.post(reverse("label_claim", args=[self.slug]))
            previous = current


def test_a_hundred_annotators_submitting_a_thousand_labels_lose_and_double_count_nothing(
    gunicorn, settings
):
    # Sessions are made here (force_login): hashing 101 passwords slowly would only cost time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    pm = make_user("pm")
    people = [make_user(f"load{i}") for i in range(ANNOTATORS)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=INSTANCES, overlap=OVERLAP)
    annotators = [
        Annotator(user=person, base=gunicorn, slug=campaign.slug, seed=i)
        for i, person in enumerate(people)
    ]
    threads = [threading.Thread(target=a.work) for a in annotators]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    errors = [error for a in annotators for error in a.errors]
    assert not errors, errors[:10]
    acknowledged = {pk for a in annotators for pk in a.acknowledged}
    submitted = set(
        Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SUBMITTED).values_list(
            "pk", flat=True
        )
    )
    # Zero lost: every acknowledged submit is stored (and every stored one was acknowledged).
    assert acknowledged == submitted
    labels = Counter(Annotation.objects.filter(campaign=campaign).values_list("assignment_id", flat=True))
    # Zero double-counted: one label per assignment, a thousand in all.
    assert set(labels) == submitted and set(labels.values()) == {1}
    assert len(labels) == INSTANCES * OVERLAP
    per_instance = Counter(
        Annotation.objects.filter(campaign=campaign).values_list("instance_id", flat=True)
    )
    assert set(per_instance.values()) == {OVERLAP}  # overlap reached, never exceeded
    live = Q(assignments__status__in=[AssignmentStatus.LEASED, AssignmentStatus.SUBMITTED])
    items = QueueItem.objects.filter(campaign=campaign).annotate(live=Count("assignments", filter=live))
    assert all(item.slots_taken == item.live <= item.required_overlap for item in items)
    print(f"\n{len(labels)} labels by {ANNOTATORS} annotators over HTTP in {elapsed:.1f} s")
