"""Import → export gives the same rows, for the formats the importer reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.services.imports import import_instances
from tests.annotate.exports.helpers import export, load
from tests.conftest import build_campaign

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_hh_rlhf_round_trip(pm, researcher, tmp_path, file_type):
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=0)
    source = (DATA / "hh_rlhf.jsonl").read_text()
    import_instances(campaign=campaign, data=source.encode(), file_format="hh-rlhf")

    rows = load(export(campaign, researcher, "hh_rlhf", file_type=file_type), tmp_path)

    expected = [json.loads(line) for line in source.splitlines() if line.strip()]
    assert sorted((r["chosen"], r["rejected"]) for r in rows) == sorted((e["chosen"], e["rejected"]) for e in expected)
    assert {r["provenance"]["aggregation"] for r in rows} == {"single_imported"}
