"""A 100k-annotation export keeps its memory flat (streamed reads, batched writes)."""

from __future__ import annotations

import tracemalloc

import pytest

from annotate.exports.synthetic import fill_with_llm_labels
from annotate.services.exports import run_export_job, start_export_job
from tests.conftest import build_campaign

PEAK_LIMIT_MB = 120


@pytest.mark.slow
@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_a_100k_annotation_export_peaks_under_a_bounded_memory(pm, researcher, file_type, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=0)
    assert fill_with_llm_labels(campaign=campaign, n_instances=25_000) == 100_000
    job = start_export_job(campaign=campaign, created_by=researcher, format_name="dpo", options={"file_type": file_type})

    tracemalloc.start()
    try:
        run_export_job(job_id=job.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result["rows"] + sum(job.result["dropped"].values()) == 25_000
    assert peak / 2**20 < PEAK_LIMIT_MB, f"peak {peak / 2**20:.0f} MiB"
