"""A sequence-classification reward model used as a pairwise judge (tiny random BERT, CPU)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from models_rm.scoring import SequenceRewardModel
from models_rm.sequence_judge import load_sequence_model_judge
from tests.models_rm.test_rm_backbones import build_tiny_reward_model

PROMPTS = [
    [{"role": "user", "content": "How do I boil an egg?"}],
    [
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "Another one?"},
    ],
    [{"role": "user", "content": "Say hello."}],
]
REPLIES_A = ["Simmer it for nine minutes.", "Eleven.", "Hello!"]
REPLIES_B = ["Eggs are oval.", "Four.", "Goodbye, and good luck with everything."]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_reward_model(tmp_path_factory.mktemp("tiny-rm"))


def test_verdicts_are_the_sigmoid_of_the_models_own_score_difference(tiny_model_dir):
    judge = load_sequence_model_judge(tiny_model_dir, device="cpu")
    model = SequenceRewardModel.load(tiny_model_dir, device="cpu")

    verdicts = judge.judge(PROMPTS, REPLIES_A, REPLIES_B)

    score_a = model.score(PROMPTS, REPLIES_A)
    score_b = model.score(PROMPTS, REPLIES_B)
    np.testing.assert_allclose([v.score_a for v in verdicts], score_a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([v.score_b for v in verdicts], score_b, rtol=1e-5, atol=1e-6)
    expected = [1 / (1 + math.exp(-(a - b))) for a, b in zip(score_a, score_b, strict=True)]
    np.testing.assert_allclose([v.prob_a for v in verdicts], expected, rtol=1e-5)
    assert len({round(v.prob_a, 6) for v in verdicts}) == 3  # random weights still tell pairs apart


def test_swapping_the_replies_gives_the_complementary_probability(tiny_model_dir):
    judge = load_sequence_model_judge(tiny_model_dir, device="cpu")

    forward = judge.judge(PROMPTS, REPLIES_A, REPLIES_B)
    swapped = judge.judge(PROMPTS, REPLIES_B, REPLIES_A)

    np.testing.assert_allclose(
        [v.prob_a for v in forward], [1 - v.prob_a for v in swapped], atol=1e-6
    )


def test_judge_is_named_after_the_model_and_versioned_by_its_fingerprint(tiny_model_dir, tmp_path):
    judge = load_sequence_model_judge(tiny_model_dir, device="cpu")
    other = load_sequence_model_judge(
        build_tiny_reward_model(tmp_path / "other-rm", seed=1), device="cpu"
    )

    assert judge.name == f"rm/{tiny_model_dir.name}"
    assert judge.model_id == SequenceRewardModel.load(tiny_model_dir, device="cpu").model_id
    assert re.fullmatch(r"[0-9a-f]{16}", judge.version)  # fits Annotation.prompt_version (64)
    assert other.version != judge.version


def test_progress_counts_pairs_and_ends_at_the_total(tiny_model_dir):
    judge = load_sequence_model_judge(tiny_model_dir, device="cpu")
    calls = []

    judge.judge(
        PROMPTS, REPLIES_A, REPLIES_B, progress=lambda done, total: calls.append((done, total))
    )

    assert calls[-1] == (3, 3)
    assert all(total == 3 and 0 <= done <= 3 for done, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_a_model_that_is_not_there_is_named_in_the_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-rm"):
        load_sequence_model_judge(tmp_path / "no-such-rm", device="cpu")


def test_a_sequence_model_judge_keeps_the_fixed_strength_thresholds(tiny_model_dir):
    from models_rm.judge import DEFAULT_STRENGTH_THRESHOLDS

    judge = load_sequence_model_judge(tiny_model_dir, device="cpu")

    assert judge.strength_thresholds == DEFAULT_STRENGTH_THRESHOLDS
