from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import SHARED_DIR

HH_HARMLESS_TEST = SHARED_DIR / "data" / "hh-rlhf-harmless-test" / "test.jsonl.gz"


@pytest.fixture(scope="session")
def hh_harmless_path() -> Path:
    if not HH_HARMLESS_TEST.is_file():
        if os.environ.get("REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"REQUIRE_SHARED_DATA=1 but {HH_HARMLESS_TEST} is missing")
        pytest.skip(f"hh-rlhf harmless test split not available at {HH_HARMLESS_TEST}")
    return HH_HARMLESS_TEST


@pytest.fixture(scope="session")
def minilm_encoder():
    """The real all-MiniLM-L6-v2 encoder, loaded once (tests using it are marked slow)."""
    from models_rm.encoders import SentenceEncoder

    return SentenceEncoder(max_length=256)
