from __future__ import annotations

from pathlib import Path

import pytest

HH_HARMLESS_TEST = Path("/work/shared/data/hh-rlhf-harmless-test/test.jsonl.gz")


@pytest.fixture(scope="session")
def hh_harmless_path() -> Path:
    if not HH_HARMLESS_TEST.is_file():
        pytest.skip(f"hh-rlhf harmless test split not available at {HH_HARMLESS_TEST}")
    return HH_HARMLESS_TEST


@pytest.fixture(scope="session")
def minilm_encoder():
    """The real all-MiniLM-L6-v2 encoder, loaded once (tests using it are marked slow)."""
    from models_rm.encoders import SentenceEncoder

    return SentenceEncoder(max_length=256)
