"""The local judge's 5-point labels use the judge's own strength cut points."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from models_rm.judge import DEFAULT_STRENGTH_THRESHOLDS, JudgeVerdict
from models_rm.judge import StrengthThresholds as JudgeThresholds
from routing.llm_annotators.local_judge import (
    PairToJudge,
    StrengthThresholds,
    judge_pairs_with_local_judge,
)
from tests.conftest import DEMO_DIR

PROBS = [0.9, 0.7, 0.53, 0.5, 0.47, 0.3, 0.1]


class ScriptedJudge:
    """A judge whose verdicts are given, with or without cut points of its own."""

    name, version = "local-rm/spec", "1"

    def __init__(self, probs, strength_thresholds=None):
        self.probs = probs
        if strength_thresholds is not None:
            self.strength_thresholds = strength_thresholds

    def judge(self, prompts, responses_a, responses_b, *, progress=None):
        return [JudgeVerdict(prob_a=p, score_a=0.0, score_b=0.0) for p in self.probs]


def pairs(n: int) -> list[PairToJudge]:
    return [
        PairToJudge(
            instance_id=i,
            messages=[{"role": "user", "content": "q"}],
            response_a="a",
            response_b="b",
        )
        for i in range(n)
    ]


def preferences(judge) -> list[int]:
    labels = judge_pairs_with_local_judge(judge=judge, pairs=pairs(len(judge.probs)))
    return [label.judgement.overall_preference for label in labels]


def test_the_labels_use_the_judges_own_cut_points_and_record_them():
    judge = ScriptedJudge(
        PROBS, JudgeThresholds(slightly_prob_a=0.52, clearly_prob_a=0.8, method="spec")
    )

    labels = judge_pairs_with_local_judge(judge=judge, pairs=pairs(len(PROBS)))

    assert [label.judgement.overall_preference for label in labels] == [-2, -1, -1, 0, 1, 1, 2]
    assert {json.dumps(label.raw_output["thresholds"]) for label in labels} == {
        json.dumps({"clearly": 0.8, "slightly": 0.52})
    }


def test_a_judge_without_cut_points_of_its_own_uses_the_fixed_defaults():
    assert preferences(ScriptedJudge(PROBS)) == [-2, -1, 0, 0, 0, 1, 2]
    assert preferences(ScriptedJudge(PROBS, DEFAULT_STRENGTH_THRESHOLDS)) == [-2, -1, 0, 0, 0, 1, 2]
    assert StrengthThresholds() == StrengthThresholds(
        clearly=DEFAULT_STRENGTH_THRESHOLDS.clearly_prob_a,
        slightly=DEFAULT_STRENGTH_THRESHOLDS.slightly_prob_a,
    )


def test_a_judge_that_never_reaches_clearly_says_at_most_slightly():
    judge = ScriptedJudge(PROBS, JudgeThresholds(slightly_prob_a=0.52, clearly_prob_a=None))

    assert preferences(judge) == [-1, -1, -1, 0, 1, 1, 1]
    assert preferences(ScriptedJudge(PROBS, JudgeThresholds(None, None))) == [0] * len(PROBS)


def test_explicit_thresholds_win_over_the_judges_own():
    judge = ScriptedJudge(PROBS, JudgeThresholds(slightly_prob_a=0.52, clearly_prob_a=0.8))

    labels = judge_pairs_with_local_judge(
        judge=judge, pairs=pairs(len(PROBS)), thresholds=StrengthThresholds()
    )

    assert [label.judgement.overall_preference for label in labels] == [-2, -1, 0, 0, 0, 1, 2]


def demo_pairs() -> list[PairToJudge]:
    """The 24 demo items (the seeded campaign's file and the one the PM imports), as the generic
    importer reads them: ``prompt`` is one user message."""
    rows = [
        json.loads(line)
        for name in ("demo_campaign.jsonl", "more_items.jsonl")
        for line in (DEMO_DIR / name).read_text().splitlines()
        if line.strip()
    ]
    return [
        PairToJudge(
            instance_id=i,
            messages=row.get("messages") or [{"role": "user", "content": row["prompt"]}],
            response_a=row["responses"][0]["text"],
            response_b=row["responses"][1]["text"],
        )
        for i, row in enumerate(rows)
    ]


@pytest.mark.slow
def test_the_shipped_judge_calls_fewer_demo_items_a_tie_than_the_fixed_cut_points(
    cached_minilm_encoder,
):
    from models_rm.heads import BradleyTerryHead
    from models_rm.judge import DEFAULT_ARTIFACT_DIR, PairwiseJudge, read_judge_config

    config = read_judge_config(DEFAULT_ARTIFACT_DIR)
    judge = PairwiseJudge(
        name=config["name"],
        version=config["version"],
        encoder=cached_minilm_encoder,
        head=BradleyTerryHead.load(DEFAULT_ARTIFACT_DIR / config["head"]["file"]),
        max_context_messages=config["render"]["max_context_messages"],
        config=config,
    )
    items = demo_pairs()

    calibrated = judge_pairs_with_local_judge(judge=judge, pairs=items)
    fixed = judge_pairs_with_local_judge(judge=judge, pairs=items, thresholds=StrengthThresholds())

    block = config["strength_thresholds"]
    assert calibrated[0].raw_output["thresholds"] == {
        "clearly": block["clearly_prob_a"],
        "slightly": block["slightly_prob_a"],
    }
    ties = sum(label.judgement.overall_preference == 0 for label in calibrated)
    fixed_ties = sum(label.judgement.overall_preference == 0 for label in fixed)
    # Measured: 8 of 24 with the calibrated cut points, 17 of 24 with 0.55 / 0.75.
    assert len(items) == 24 and ties < fixed_ties
    # Only the strength moves: no item changes side.
    for ours, theirs in zip(calibrated, fixed, strict=True):
        assert ours.judgement.overall_preference * theirs.judgement.overall_preference >= 0


def test_thresholds_of_a_judge_object_without_the_attribute_are_the_defaults():
    assert StrengthThresholds.of_judge(SimpleNamespace()) == StrengthThresholds()


def test_labels_made_under_other_cut_points_carry_another_version():
    from types import SimpleNamespace

    from models_rm.judge import StrengthThresholds as JudgeThresholds
    from routing.llm_annotators.local_judge import label_version

    old = SimpleNamespace(version="1", strength_thresholds=None)
    calibrated = SimpleNamespace(
        version="1", strength_thresholds=JudgeThresholds(slightly_prob_a=0.51291, clearly_prob_a=None)
    )
    assert label_version(old) == "1"
    assert label_version(calibrated) == "1+cut0.5129-none"
