from __future__ import annotations

import numpy as np
import pytest

from models_rm.heads import BradleyTerryHead


def synthetic_preferences(*, n=3000, dim=16, seed=0):
    """Unit embeddings and labels drawn from a Bradley–Terry model with a known direction."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    a = rng.normal(size=(n, dim))
    b = rng.normal(size=(n, dim))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    prefer_a = rng.random(n) < 1 / (1 + np.exp(-8 * (a - b) @ direction))
    chosen = np.where(prefer_a[:, None], a, b).astype(np.float32)
    rejected = np.where(prefer_a[:, None], b, a).astype(np.float32)
    return chosen, rejected, direction


def test_fit_recovers_the_direction_that_generated_the_preferences():
    chosen, rejected, direction = synthetic_preferences()

    head = BradleyTerryHead.fit(chosen, rejected, l2=1.0)

    cosine = head.weights @ direction / np.linalg.norm(head.weights)
    assert cosine > 0.95
    assert np.mean(head.score(chosen) > head.score(rejected)) > 0.7


def test_prob_first_preferred_is_the_sigmoid_of_the_score_difference_and_symmetric():
    chosen, rejected, _ = synthetic_preferences(n=200)
    head = BradleyTerryHead.fit(chosen, rejected)

    prob = head.prob_first_preferred(chosen, rejected)

    expected = 1 / (1 + np.exp(-(head.score(chosen) - head.score(rejected))))
    np.testing.assert_allclose(prob, expected, rtol=1e-12)
    np.testing.assert_allclose(head.prob_first_preferred(rejected, chosen), 1 - prob, atol=1e-12)


def test_extreme_score_differences_do_not_overflow():
    head = BradleyTerryHead(np.array([1000.0]))

    with np.errstate(over="raise"):
        prob = head.prob_first_preferred(np.array([[1.0], [-1.0]]), np.array([[-1.0], [1.0]]))

    np.testing.assert_array_equal(prob, [1.0, 0.0])


def test_fit_is_deterministic_for_a_fixed_seed():
    chosen, rejected, _ = synthetic_preferences(n=500)

    first = BradleyTerryHead.fit(chosen, rejected, l2=0.5, seed=7)
    second = BradleyTerryHead.fit(chosen, rejected, l2=0.5, seed=7)

    np.testing.assert_array_equal(first.weights, second.weights)


def test_save_and_load_round_trip_exactly(tmp_path):
    chosen, rejected, _ = synthetic_preferences(n=300)
    head = BradleyTerryHead.fit(chosen, rejected, l2=2.0, seed=3)

    head.save(tmp_path / "head.safetensors")
    loaded = BradleyTerryHead.load(tmp_path / "head.safetensors")

    assert loaded.weights.dtype == np.float32
    np.testing.assert_array_equal(loaded.weights, head.weights)
    assert loaded.metadata == head.metadata == {"l2": 2.0, "seed": 3, "train_pairs": 300}
    assert b"pickle" not in (tmp_path / "head.safetensors").read_bytes()


def test_load_rejects_missing_or_foreign_files(tmp_path):
    from safetensors.numpy import save_file

    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        BradleyTerryHead.load(tmp_path / "absent.safetensors")
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a BradleyTerryHead file"):
        BradleyTerryHead.load(tmp_path / "other.safetensors")


def test_score_rejects_embeddings_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        BradleyTerryHead(np.ones(3)).score(np.ones((2, 4)))
