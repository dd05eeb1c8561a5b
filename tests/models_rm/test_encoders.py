from __future__ import annotations

import numpy as np
import pytest

from models_rm.encoders import SentenceEncoder


def test_missing_model_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"

    with pytest.raises(FileNotFoundError, match="encoder model not found: .*no-such-model"):
        SentenceEncoder(missing)


@pytest.mark.slow
def test_embeddings_are_unit_length_float32_in_input_order(minilm_encoder):
    texts = ["short", "a somewhat longer sentence about cooking rice", "mid length text", "x"]

    together = minilm_encoder.encode(texts)
    one_by_one = np.concatenate([minilm_encoder.encode([text]) for text in texts])

    assert together.shape == (4, 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Length bucketing reorders internally; results come back in input order, unchanged.
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert minilm_encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_similar_texts_embed_closer_than_unrelated_ones(minilm_encoder):
    cat, kitten, tax = minilm_encoder.encode(
        ["The cat sleeps on the sofa.", "A kitten naps on the couch.", "File your tax return."]
    )

    assert cat @ kitten > cat @ tax + 0.3


@pytest.mark.slow
def test_model_id_is_stable_and_names_max_length(minilm_encoder):
    again = SentenceEncoder(max_length=128)

    assert minilm_encoder.model_id == SentenceEncoder(max_length=256).model_id
    assert again.model_id != minilm_encoder.model_id
    assert minilm_encoder.model_id.endswith("max_length=256")


@pytest.mark.slow
def test_progress_reports_texts_embedded_up_to_the_total(minilm_encoder):
    seen = []
    encoder = SentenceEncoder(batch_size=2)

    encoder.encode(["a", "bb", "ccc", "dddd", "eeeee"], progress=lambda d, t: seen.append((d, t)))

    assert seen == [(2, 5), (4, 5), (5, 5)]
