"""Export throughput (rows/s) and peak traced memory at 100k annotations, JSONL and Parquet,
against the current streamed download (the web view's ``Exporter.iter_lines``) in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/prefroute .venv/bin/python bench/bench_exports.py
    ... --quick     (10k annotations: checks that it runs)

Each case runs twice: once timed, once under tracemalloc for the peak (tracemalloc slows it).
A throwaway test database is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def run_case(*, campaign, user, file_type: str | None) -> dict:
    from annotate.exports import get_exporter
    from annotate.models import JobRun
    from annotate.services.exports import run_export_job, start_export_job

    def once() -> int:
        if file_type is None:  # the streamed download, as the web view sends it
            return sum(1 for _ in get_exporter("dpo")(campaign=campaign).iter_lines())
        job = start_export_job(campaign=campaign, created_by=user, format_name="dpo", options={"file_type": file_type})
        run_export_job(job_id=job.pk)
        return JobRun.objects.get(pk=job.pk).result["rows"]

    started = time.perf_counter()
    rows = once()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"case": file_type or "streamed-jsonl (current view)", "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "peak_traced_mib": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from annotate.exports.synthetic import fill_with_llm_labels
    from annotate.services.campaigns import create_campaign

    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    settings.EXPORT_DIR = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    try:
        user = get_user_model().objects.create_user("bench")
        campaign = create_campaign(name="Bench exports", created_by=user)
        n_instances = 2_500 if args.quick else 25_000
        annotations = fill_with_llm_labels(campaign=campaign, n_instances=n_instances)
        results = [run_case(campaign=campaign, user=user, file_type=t) for t in (None, "jsonl", "parquet")]
        print(json.dumps({"annotations": annotations, "instances": n_instances, "results": results}, indent=2))
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
