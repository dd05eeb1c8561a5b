"""Local judge throughput: cold (embedding every text) vs warm (embedding cache hits).

Reads pairs from ../shared/data/hh-rlhf-harmless-test (or --data); prints pairs/s for a cold
pass with an empty persistent cache, a warm pass in a fresh judge over the same cache (what a
re-run job or a second worker sees), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "hh-rlhf-harmless-test" / "test.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from models_rm.datasets import load_hh_rlhf_pairs
    from models_rm.judge import load_pairwise_judge

    pairs = load_hh_rlhf_pairs(args.data)[: args.pairs]
    prompts = [list(p.messages) for p in pairs]
    chosen = [p.chosen for p in pairs]
    rejected = [p.rejected for p in pairs]

    with tempfile.TemporaryDirectory() as cache_dir:
        timings = {}
        for label in ("cold", "warm"):
            judge = load_pairwise_judge(cache_dir=Path(cache_dir))
            start = time.perf_counter()
            verdicts = judge.judge(prompts, chosen, rejected)
            timings[label] = time.perf_counter() - start
        accuracy = sum(v.prob_a > 0.5 for v in verdicts) / len(verdicts)

    n = len(pairs)
    print(f"judge: {judge.name} v{judge.version}, {n} pairs from {args.data.name}")
    print(f"cold  : {timings['cold']:.2f} s  {n / timings['cold']:.1f} pairs/s")
    print(f"warm  : {timings['warm']:.2f} s  {n / timings['warm']:.1f} pairs/s")
    print(f"warm/cold speed-up: {timings['cold'] / timings['warm']:.1f}x")
    print(f"agreement with the crowd label: {accuracy:.3f} (these pairs overlap the judge's training split; held-out accuracy is in its card)")


if __name__ == "__main__":
    main()
