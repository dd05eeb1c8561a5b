"""The annotator's hot path on PostgreSQL: server time and queries per next item and per
submit-and-next, at two campaign sizes, and the claim's candidate query against v1's.

Baseline, measured in the same run on the same rows: the v1 claim's candidate query (live
assignments counted per instance by two correlated subqueries, sorted, 8 rows locked), which
this release replaced by one row of the open-items partial index. Requests go through Django's
test client in this process (no network, no worker pool: issue 18's load benchmark does that).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/prefroute .venv/bin/python bench/bench_workspace_hot_path.py
    ... --quick     (smaller campaigns, fewer loops: checks that it runs)
    ... --sizes 1000 --loops 150                 (one size; the CPU columns are the ones to compare)
    ... --sizes 500 --loops 100 --profile tottime (cProfile, CPU timer; PROFILE_FILTER=regex narrows it)

Per call it prints the wall-clock median, the median CPU time of this process
(``time.process_time``: Django's Python, the test client and the database driver, not
PostgreSQL's own work) and the queries. Compare two checkouts by running this same file in each.

A throwaway test database is created and dropped.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def rows(n: int, prefix: str) -> bytes:
    return "\n".join(
        json.dumps(
            {
                "id": f"{prefix}-{i}",
                "prompt": f"Question {i}: how long should I boil an egg?",
                "responses": [
                    {"model": "a", "text": f"Nine minutes ({i})."},
                    {"model": "b", "text": f"Microwave it ({i})."},
                ],
            }
        )
        for i in range(n)
    ).encode()


def v1_candidate_query(*, campaign, annotator, now):
    """The v1 claim's candidate query, kept here as the baseline."""
    from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
    from django.db.models.functions import Coalesce

    from annotate.models import Assignment, AssignmentStatus, Instance

    live = Q(status=AssignmentStatus.SUBMITTED) | Q(status=AssignmentStatus.LEASED, lease_expires_at__gt=now)
    live_count = Subquery(
        Assignment.objects.filter(instance=OuterRef("pk")).filter(live)
        .values("instance").annotate(n=Count("id")).values("n"),
        output_field=IntegerField(),
    )
    theirs = Assignment.objects.filter(instance=OuterRef("pk"), annotator=annotator).exclude(
        status=AssignmentStatus.EXPIRED
    )
    return (
        Instance.objects.filter(campaign=campaign)
        .annotate(live=Coalesce(live_count, Value(0)))
        .filter(live__lt=campaign.overlap)
        .exclude(Exists(theirs))
        .order_by("-live", "id")
    )


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def measure(*, size: int, loops: int, label: str, profile: str = "") -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from annotate.models import Assignment, CampaignRole
    from annotate.services.assignments import _open_items
    from annotate.services.campaigns import add_member, create_campaign
    from annotate.services.imports import import_instances

    User = get_user_model()
    pm = User.objects.create_user(f"pm-{label}")
    person = User.objects.create_user(f"annotator-{label}")
    campaign = create_campaign(name=f"Bench {label}", created_by=pm, overlap=2)
    add_member(campaign=campaign, user=person, role=CampaignRole.ANNOTATOR)
    for start in range(0, size, 10_000):
        import_instances(
            campaign=campaign, data=rows(min(10_000, size - start), f"{label}{start}"), file_format="generic"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = Client()
    client.force_login(person)
    claim_url = reverse("label_claim", args=[campaign.slug])
    claim_s, submit_s, claim_q, submit_q, claim_cpu, submit_cpu = [], [], [], [], [], []
    client.post(claim_url, HTTP_HX_REQUEST="true")  # warm up
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    for _ in range(loops):
        assignment = Assignment.objects.filter(annotator=person, campaign=campaign, status="leased").first()
        submit_url = reverse("submit_label", args=[campaign.slug, assignment.pk])
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            response = client.post(submit_url, {"overall": "Tie", "justification": "bench"}, HTTP_HX_REQUEST="true")
            if profiler:
                profiler.disable()
            submit_cpu.append(time.process_time() - cpu)
            submit_s.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        submit_q.append(len(queries))
        # An explicit claim of the item just handed out is idempotent: it measures "next item".
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            client.post(claim_url, HTTP_HX_REQUEST="true")
            if profiler:
                profiler.disable()
            claim_cpu.append(time.process_time() - cpu)
            claim_s.append(time.perf_counter() - started)
        claim_q.append(len(queries))

    if profiler:
        pstats.Stats(profiler).sort_stats(profile).print_stats(os.environ.get("PROFILE_FILTER", ""), 45)
    now = timezone.now()
    v1_s, v2_s = [], []
    for _ in range(max(5, loops // 4)):
        with transaction.atomic():
            started = time.perf_counter()
            list(
                v1_candidate_query(campaign=campaign, annotator=person, now=now)
                .select_for_update(skip_locked=True, of=("self",))[:8]
            )
            v1_s.append(time.perf_counter() - started)
        with transaction.atomic():
            started = time.perf_counter()
            _open_items(campaign=campaign, annotator=person).select_for_update(skip_locked=True).first()
            v2_s.append(time.perf_counter() - started)
    return {
        "size": size,
        "submit_and_next_ms": median_ms(submit_s),
        "next_item_ms": median_ms(claim_s),
        "submit_cpu_ms": median_ms(submit_cpu),
        "next_cpu_ms": median_ms(claim_cpu),
        "submit_queries": statistics.median(submit_q),
        "next_queries": statistics.median(claim_q),
        "v1_candidates_ms": median_ms(v1_s),
        "v2_candidate_ms": median_ms(v2_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--loops", type=int, default=200)
    parser.add_argument("--sizes", default="", help="campaign sizes, e.g. 1000,20000 (default: by --quick)")
    parser.add_argument(
        "--profile", default="", metavar="SORT",
        help="cProfile the requests and print the top functions, sorted by SORT (e.g. cumulative, tottime)",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the hot path is measured there).")
    sizes = (500, 5_000) if args.quick else (1_000, 20_000)
    if args.sizes:
        sizes = tuple(int(n) for n in args.sizes.split(","))
    loops = 20 if args.quick else args.loops
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        results = [measure(size=size, loops=loops, label=f"s{size}", profile=args.profile) for size in sizes]
    finally:
        teardown_databases(databases, verbosity=0)

    print(f"annotator hot path on PostgreSQL, median of {loops} loops (Django test client, in process)")
    print("(cpu: this process's CPU time per request, time.process_time: Django's Python and the database driver)")
    print(
        f"{'instances':>10} {'next ms':>8} {'cpu':>5} {'q':>3} {'submit+next ms':>15} {'cpu':>5} {'q':>3}"
        f" {'v1 candidates ms':>17} {'v2 candidate ms':>16} {'v1/v2':>6}"
    )
    for r in results:
        print(
            f"{r['size']:>10,} {r['next_item_ms']:>8.1f} {r['next_cpu_ms']:>5.1f} {r['next_queries']:>3.0f}"
            f" {r['submit_and_next_ms']:>15.1f} {r['submit_cpu_ms']:>5.1f}"
            f" {r['submit_queries']:>3.0f} {r['v1_candidates_ms']:>17.2f} {r['v2_candidate_ms']:>16.2f}"
            f" {r['v1_candidates_ms'] / r['v2_candidate_ms']:>6.1f}"
        )
    if len(results) < 2:
        return
    small, large = results[0], results[-1]
    print(
        f"growth {large['size'] // small['size']}x instances: claim candidate query x"
        f"{large['v2_candidate_ms'] / small['v2_candidate_ms']:.2f} (v1: x"
        f"{large['v1_candidates_ms'] / small['v1_candidates_ms']:.2f}), submit-and-next x"
        f"{large['submit_and_next_ms'] / small['submit_and_next_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
