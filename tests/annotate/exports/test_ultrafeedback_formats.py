"""UltraFeedback-style exports of a rating campaign: per-aspect ratings per completion, and
the binarised pairs by weighted score."""

from __future__ import annotations

import hashlib
import json

import pytest

from annotate.services.imports import import_instances
from tests.annotate.exports.helpers import export, load
from tests.annotate.exports.test_helpsteer2_formats import DATA
from tests.conftest import build_campaign

ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
WEIGHTS = (0.65, 0.8, 0.45, 0.55, -0.4)


@pytest.fixture
def rated(pm, researcher):
    campaign = build_campaign(pm=pm, researchers=[researcher], n_instances=0, template="helpsteer2_rating")
    import_instances(campaign=campaign, data=DATA.read_bytes(), file_format="helpsteer2")
    source = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return campaign, [source[i : i + 2] for i in range(0, len(source), 2)]


def score(row):
    return round(sum(w * row[a] for w, a in zip(WEIGHTS, ATTRIBUTES, strict=True)), 6)


@pytest.mark.parametrize("file_type", ["jsonl", "parquet"])
def test_ultrafeedback_completions_carry_each_aspect_rating(rated, researcher, tmp_path, file_type):
    campaign, pairs = rated

    rows = list(load(export(campaign, researcher, "ultrafeedback", file_type=file_type), tmp_path))

    assert len(rows) == len(pairs)
    for row, pair in zip(rows, pairs, strict=True):
        assert [c["response"] for c in row["completions"]] == [p["response"] for p in pair]
        for completion, source in zip(row["completions"], pair, strict=True):
            assert {a: completion["annotations"][a]["Rating"] for a in ATTRIBUTES} == {a: str(source[a]) for a in ATTRIBUTES}
            assert completion["fine-grained_score"] == pytest.approx(score(source))
        assert row["provenance"]["label_source"] == "imported"


def test_ultrafeedback_binarised_prefers_the_higher_weighted_score(rated, researcher, tmp_path):
    campaign, pairs = rated

    rows = list(load(export(campaign, researcher, "ultrafeedback_binarized", file_type="parquet"), tmp_path))

    assert len(rows) == len(pairs)
    for row, pair in zip(rows, pairs, strict=True):
        best, worst = sorted(pair, key=score, reverse=True)
        assert row["chosen"][-1] == {"role": "assistant", "content": best["response"]}
        assert row["rejected"][-1] == {"role": "assistant", "content": worst["response"]}
        assert row["chosen"][0]["role"] == "user" and row["messages"] == row["chosen"]
        assert row["prompt_id"] == hashlib.sha256(row["prompt"].encode()).hexdigest()
        assert (row["score_chosen"], row["score_rejected"]) == pytest.approx((score(best), score(worst)))


def test_a_pairwise_campaign_has_nothing_to_rate(campaign, researcher):
    job = export(campaign, researcher, "ultrafeedback")
    assert job.result["rows"] == 0 and job.result["dropped"] == {"unrated": 4}
