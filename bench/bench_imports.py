"""Import throughput (rows/s) and peak traced memory for 100k generic instances, against a
row-at-a-time baseline measured in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/prefroute .venv/bin/python bench/bench_imports.py
    ... --quick     (5k instances: checks that it runs)
    ... --sizes 20000 100000   (import only, at each size: the peak must not grow with the file)

Cases, each into a fresh campaign of a throwaway test database:
- ``check only``: parse and validate every row (what a preview or a rejected file costs);
- ``import_instances``: the platform's import (check everything, then write in batches in one
  transaction: on PostgreSQL through COPY, elsewhere through ``bulk_create``);
- ``import_instances, bulk_create writes``: the same import with the write path it had before
  COPY (batched ``bulk_create`` of instances, responses and queue items), on PostgreSQL only;
- ``row-at-a-time baseline``: the same checked rows written with one ``create()`` per instance,
  response and queue item (what a straightforward ORM loop does), timed on a 10% slice and
  reported per row, so the ratio compares like with like.
Each case runs twice: once timed, once under tracemalloc for the peak (tracemalloc slows it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def generic_file(n: int) -> bytes:
    rows = (
        json.dumps(
            {
                "id": f"bench-{i}",
                "prompt": f"Question {i}: explain why the sky looks blue at noon and red at dusk.",
                "responses": [
                    {"model": "model-a", "text": f"Answer A to {i}: Rayleigh scattering favours short wavelengths."},
                    {"model": "model-b", "text": f"Answer B to {i}: the atmosphere reflects the ocean's colour."},
                ],
                "metadata": {"n": i, "source": "bench"},
            }
        )
        for i in range(n)
    )
    return "\n".join(rows).encode()


def row_at_a_time(*, campaign, parsed) -> int:
    from django.db import transaction

    from annotate.models import Instance, QueueItem, Response

    with transaction.atomic():
        for item in parsed:
            instance = Instance.objects.create(
                campaign=campaign, external_id=item.external_id, messages=item.messages, metadata=item.metadata
            )
            for position, response in enumerate(item.responses):
                Response.objects.create(
                    instance=instance, position=position, model_name=response.model_name, text=response.text
                )
            QueueItem.objects.create(campaign=campaign, instance=instance, required_overlap=campaign.overlap)
    return len(parsed)


def measure(name: str, work) -> dict:
    started = time.perf_counter()
    rows = work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"case": name, "rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "peak_traced_mib": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="only import files of these sizes (instances) and compare the peaks: memory must not grow with the file",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from annotate.services.campaigns import create_campaign
    from annotate.services.imports import check_upload, import_instances

    def check(campaign, data):
        return check_upload(campaign=campaign, file=io.BytesIO(data), file_format="generic", keep_rows=0).valid_rows

    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        user = get_user_model().objects.create_user("bench")
        campaigns = iter(create_campaign(name=f"Bench imports {i}", created_by=user) for i in range(100))
        if args.sizes:
            results = []
            for n in args.sizes:
                data = generic_file(n)
                result = measure(
                    f"import_instances {n:,}",
                    lambda data=data: import_instances(campaign=next(campaigns), data=data, file_format="generic").created,
                )
                results.append({**result, "file_mib": round(len(data) / 2**20, 1)})
                del data
            peaks = [r["peak_traced_mib"] for r in results]
            print(json.dumps({"results": results, "largest_over_smallest_peak": round(max(peaks) / min(peaks), 2)}, indent=2))
            return
        n = 5_000 if args.quick else 100_000
        data = generic_file(n)

        checked = measure("check only", lambda: check(next(campaigns), data))
        current = measure(
            "import_instances",
            lambda: import_instances(campaign=next(campaigns), data=data, file_format="generic").created,
        )
        before_copy = None
        from annotate.services import bulk_copy
        from annotate.services import import_writes as import_service

        if bulk_copy.copy_supported():
            # The write path before COPY, in the same run: the service with COPY switched off.
            import_service.copy_supported = lambda: False
            try:
                before_copy = measure(
                    "import_instances, bulk_create writes (before COPY)",
                    lambda: import_instances(campaign=next(campaigns), data=data, file_format="generic").created,
                )
            finally:
                import_service.copy_supported = bulk_copy.copy_supported
        slice_rows = data.split(b"\n")[: max(n // 10, 1)]
        sliced = b"\n".join(slice_rows)
        from annotate.importers import get_importer
        from annotate.importers.base import ResponseCount, read_json_lines

        parsed = list(get_importer("generic").parse(read_json_lines(sliced), response_count=ResponseCount.PAIR))
        baseline = measure("row-at-a-time baseline (10% slice)", lambda: row_at_a_time(campaign=next(campaigns), parsed=parsed))
        print(
            json.dumps(
                {
                    "instances": n,
                    "file_mib": round(len(data) / 2**20, 1),
                    "results": [r for r in (checked, current, before_copy, baseline) if r],
                    "import_vs_baseline_rows_per_s": round(current["rows_per_s"] / baseline["rows_per_s"], 1),
                    "import_vs_bulk_create_writes_rows_per_s": (
                        round(current["rows_per_s"] / before_copy["rows_per_s"], 2) if before_copy else None
                    ),
                },
                indent=2,
            )
        )
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
