"""Calibrating a judge artifact in place: training pairs only, every other field kept."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from models_rm.calibrate_judge_thresholds import calibrate_artifact
from models_rm.conversation import render_conversation
from models_rm.datasets import PreferencePair, split_pairs
from models_rm.fit_default_judge import pair_fingerprint, write_card
from models_rm.heads import BradleyTerryHead
from models_rm.judge import DEFAULT_ARTIFACT_DIR, read_judge_config, strength_thresholds_from_config

DIM = 16


class HashingEncoder:
    """A deterministic bag-of-hashed-words encoder that records every text it embeds."""

    model_id = "spec/hashing-encoder"

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, progress=None):
        self.seen += list(texts)
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, hashlib.sha256(word.encode()).digest()[0] % DIM] += 1.0
        if progress is not None:
            progress(len(texts), len(texts))
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def spec_pairs(n: int = 120) -> list[PreferencePair]:
    """Kind replies usually win; one pair in four the other way (label noise)."""
    rng = np.random.default_rng(7)
    pairs = []
    for i in range(n):
        kind = f"I am sorry, I cannot help with that, but here is a safe idea number {i}."
        rude = f"Sure, here is exactly how to do it, step {i}, no questions asked."
        kind_wins = rng.random() < 0.75
        pairs.append(
            PreferencePair(
                messages=({"role": "user", "content": f"Question {i}: how do I do it?"},),
                chosen=kind if kind_wins else rude,
                rejected=rude if kind_wins else kind,
            )
        )
    return pairs


def build_artifact(directory, pairs, *, train_pairs: int = 90, seed: int = 0):
    """A judge artifact fitted like the shipped one, on the spec encoder, without cut points."""
    config = read_judge_config(DEFAULT_ARTIFACT_DIR)
    config.pop("strength_thresholds", None)
    train, held_out = split_pairs(pairs, train_size=train_pairs, seed=seed)
    encoder = HashingEncoder()
    context = config["render"]["max_context_messages"]
    embeddings = encoder.encode(
        [
            render_conversation(p.messages, r, max_context_messages=context)
            for p in train
            for r in (p.chosen, p.rejected)
        ]
    )
    directory.mkdir(parents=True)
    BradleyTerryHead.fit(embeddings[0::2], embeddings[1::2], l2=config["head"]["l2"]).save(
        directory / config["head"]["file"]
    )
    config["backbone"] = {**config["backbone"], "dim": DIM, "fingerprint": None}
    config["provenance"] = {
        **config["provenance"],
        "seed": seed,
        "train_pairs": len(train),
        "held_out_pairs": len(held_out),
        "train_pair_fingerprints": sorted(
            {
                pair_fingerprint(messages=p.messages, chosen=p.chosen, rejected=p.rejected)
                for p in train
            }
        ),
    }
    (directory / "judge.json").write_text(json.dumps(config, indent=2) + "\n")
    write_card(directory, config)
    return train, held_out


def test_calibration_adds_its_cut_points_and_keeps_the_head_and_every_other_field(tmp_path):
    pairs = spec_pairs()
    artifact = tmp_path / "judge"
    build_artifact(artifact, pairs)
    before = json.loads((artifact / "judge.json").read_text())
    head_bytes = (artifact / "head.safetensors").read_bytes()

    block = calibrate_artifact(artifact_dir=artifact, pairs=pairs, encoder=HashingEncoder())

    after = json.loads((artifact / "judge.json").read_text())
    assert after == {**before, "strength_thresholds": block}
    assert list(after) == [*before, "strength_thresholds"]
    assert (artifact / "head.safetensors").read_bytes() == head_bytes
    assert block["calibration"]["pairs"] == 90 and block["calibration"]["folds"] == 5
    assert block["calibration"]["l2"] == before["head"]["l2"]
    thresholds = strength_thresholds_from_config(after)
    assert (thresholds.slightly_prob_a, thresholds.clearly_prob_a) == (
        block["slightly_prob_a"],
        block["clearly_prob_a"],
    )
    card = (artifact / "README.md").read_text()
    assert "## Strength cut points" in card and f"{block['slightly_prob_a']}" in card


def test_calibration_never_embeds_or_reads_a_held_out_pair(tmp_path):
    pairs = spec_pairs()
    build_artifact(tmp_path / "first", pairs)
    shutil.copytree(tmp_path / "first", tmp_path / "second")
    _, held_out = split_pairs(pairs, train_size=90, seed=0)
    held_out_ids = {id(p) for p in held_out}
    # The same pairs, except that every held-out label is flipped.
    flipped = [
        PreferencePair(messages=p.messages, chosen=p.rejected, rejected=p.chosen)
        if id(p) in held_out_ids
        else p
        for p in pairs
    ]
    encoder = HashingEncoder()

    first = calibrate_artifact(artifact_dir=tmp_path / "first", pairs=pairs, encoder=encoder)
    second = calibrate_artifact(
        artifact_dir=tmp_path / "second", pairs=flipped, encoder=HashingEncoder()
    )

    assert first == second
    held_out_texts = {f"{p.messages[0]['content']}" for p in held_out}
    assert len(encoder.seen) == 2 * 90
    assert not any(question in text for text in encoder.seen for question in held_out_texts)


def test_calibration_refuses_data_the_judge_was_not_fitted_on(tmp_path):
    pairs = spec_pairs()
    build_artifact(tmp_path / "judge", pairs)
    before = (tmp_path / "judge" / "judge.json").read_text()

    with pytest.raises(ValueError, match="not the ones the judge was fitted on"):
        calibrate_artifact(
            artifact_dir=tmp_path / "judge", pairs=pairs[::-1], encoder=HashingEncoder()
        )
    assert (tmp_path / "judge" / "judge.json").read_text() == before
