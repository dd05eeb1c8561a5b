"""Routing on the LLMBar gold sets: does the default strategy find the LLM's mistakes?

For each LLMBar file (``llmbar``: 419 pairs, 65 judges; ``llmbar_casestudy``: 315 pairs, 30
judges) and each main judge (a strong one, GPT-4/Metrics_Reference, and a weak one,
ChatGPT/Vanilla, chosen before any run), the other judges are the jury. Every strategy runs on
the same splits in the same run: random, the oracle (reads every human label: the upper bound),
the jury rule (main-judge ties/unparseable first, then jury disagreement) and the default
strategy (``error-model``). Budgets 10/25/50% of the routing pool, 10 seeds.

Printed per (file, judge, budget): composed-label agreement with the gold labels (mean over
seeds), the share of the random-to-oracle gap the default closes (and the jury rule's), its
margin over the jury rule
and over random, and whether the issue's targets hold (≥ 50% of the gap at 10 and 25%; above
random and the jury rule at 10, 25 and 50%). Where the jury rule already reaches the oracle, no
strategy can beat it; the table says "= oracle". Then the proxy headroom (oracle − random
proxy-RM test accuracy, paired by seed), and how well the LLM-side posterior finds the errors of
each label an LLM-routed item can keep (the main judge's, the jury's), away from routing: error
rate, ROC AUC, and the error share of the items it suspects most.

This is a development set: nothing in the router is tuned to it, and its figures are not a
benchmark result. ``--quick`` runs one file, one judge, two seeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LLMBAR = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared")) / "data" / "llmbar-gold"
FILES = ("llmbar", "llmbar_casestudy")
JUDGES = {"strong": "GPT-4/Metrics_Reference", "weak": "ChatGPT/Vanilla"}
STRATEGIES = ("random", "jury-rule", "error-model")


def make_embed(cache_dir: Path):
    from models_rm.cache import CachedEncoder, EmbeddingCache
    from models_rm.encoders import SentenceEncoder

    encoder = CachedEncoder(SentenceEncoder(), EmbeddingCache(cache_dir))
    return lambda texts: encoder.encode(list(texts))


def run(file: str, judge: str, *, seeds: int, budgets, embed, llm_label: str = "main"):
    from routing.core.datasets import join_dataset, load_instances, load_labels
    from routing.core.simulation import SimulationConfig, run_simulation

    dataset = join_dataset(
        instances=load_instances(LLMBAR / f"{file}.instances.jsonl.gz"),
        labels=load_labels(LLMBAR / f"{file}.labels.jsonl.gz"),
        llm=judge,
        jury="all",
    )
    config = SimulationConfig(
        budgets=budgets, seeds=seeds, strategies=STRATEGIES, llm_label=llm_label
    )
    return dataset, run_simulation(dataset=dataset, embed=embed, config=config)


def error_detection(dataset, *, seeds: int, llm_label: str) -> str:
    """How well the LLM-side posterior finds the errors of the label LLM-routed items keep, away
    from routing: per seed, a random sample of ``MIN_LABELLED`` human labels weighs the
    judges (as the default strategy's calibration sample does), and every other item with a
    decisive human label and a decisive kept label is scored by P(kept label wrong). Printed:
    the kept label's error rate there (the precision of a random pick), the score's ROC AUC,
    and the share of errors among its top 10% (the precision a targeted batch can reach)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from routing.core.datasets import LABEL_A, LABEL_B
    from routing.core.jury import (
        fit_judge_reliability,
        jury_log_odds,
        p_label_wrong,
        shipped_jury_labels,
    )
    from routing.core.simulation.strategies.error_model import MIN_LABELLED

    votes = np.concatenate(
        [np.asarray(dataset.llm, dtype=np.int8)[:, None], np.asarray(dataset.jury, np.int8)], axis=1
    )
    names = [dataset.llm_name, *dataset.jury_names]
    human = np.asarray(dataset.human, dtype=np.int8)

    def decisive(codes: np.ndarray) -> np.ndarray:
        return (codes == LABEL_A) | (codes == LABEL_B)

    rng = np.random.default_rng(2026)
    base, aucs, top = [], [], []
    for _ in range(seeds):
        sample = rng.choice(len(human), MIN_LABELLED, replace=False)
        if llm_label == "main":
            reliability = fit_judge_reliability(
                votes=votes[sample], names=names, human=human[sample]
            )
            kept = votes[:, 0]
        else:
            kept, _, reliability = shipped_jury_labels(
                votes=votes, names=names, labelled=sample, human=human[sample]
            )
        p_wrong = p_label_wrong(
            log_odds=jury_log_odds(votes=votes, weight=reliability.weight), codes=kept
        )
        rest = np.setdiff1d(np.arange(len(human)), sample)
        rest = rest[decisive(kept[rest]) & decisive(human[rest])]
        wrong = (kept[rest] != human[rest]).astype(int)
        score = p_wrong[rest]
        base.append(wrong.mean())
        aucs.append(roc_auc_score(wrong, score) if 0 < wrong.sum() < len(wrong) else np.nan)
        ranked = np.lexsort((rng.random(len(rest)), -score))  # exact ties in a random order
        top.append(wrong[ranked[: max(1, len(rest) // 10)]].mean())
    return (
        f"error rate {np.mean(base):.1%}, AUC {np.nanmean(aucs):.2f}, "
        f"top 10% {np.mean(top):.1%} wrong"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", default="0.1,0.25,0.5")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--llm-label",
        default="main",
        choices=("main", "jury", "fallback", "auto"),
        help="label an LLM-routed item keeps (see python -m routing.core simulate --help)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    budgets = tuple(float(b) for b in args.budgets.split(","))
    files, judges, seeds = FILES, JUDGES, args.seeds
    if args.quick:
        files, judges, seeds = FILES[:1], {"strong": JUDGES["strong"]}, 2
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="bench-routing-"))
    embed = make_embed(cache)
    print(
        f"{'file':<17} {'main judge':<24} {'budget':>6} {'random':>7} {'oracle':>7} "
        f"{'rule':>7} {'default':>7} {'gap':>5} {'rule':>5} {'vs rule':>8} {'vs rand':>8}  targets"
    )
    from routing.core.simulation.strategies.error_model import MIN_LABELLED

    headroom_lines, detection_lines, failures = [], [], []
    for file in files:
        for kind, judge in judges.items():
            dataset, report = run(
                file, judge, seeds=seeds, budgets=budgets, embed=embed, llm_label=args.llm_label
            )
            rows = {(r.strategy, r.budget_share): r for r in report.summary}
            for share in budgets:
                rnd, orc = rows["random", share], rows["oracle", share]
                rule, best = rows["jury-rule", share], rows["error-model", share]
                gap = best.gap_closed if best.gap_closed is not None else float("nan")
                notes = []
                at_oracle = rule.agreement_mean >= orc.agreement_mean - 1e-6
                if share in (0.1, 0.25) and not gap >= 0.5:
                    notes.append("gap<50%")
                if not best.agreement_mean > rnd.agreement_mean:
                    notes.append("not>random")
                if at_oracle and best.agreement_mean >= orc.agreement_mean - 1e-6:
                    notes.append("= oracle")
                elif not best.agreement_mean > rule.agreement_mean:
                    notes.append("not>rule")
                ok = not [n for n in notes if n != "= oracle"]
                if not ok:
                    failures.append((file, kind, share, notes))
                print(
                    f"{file:<17} {kind + ' ' + judge:<24.24} {share:>6.0%} "
                    f"{rnd.agreement_mean:>7.1%} {orc.agreement_mean:>7.1%} "
                    f"{rule.agreement_mean:>7.1%} {best.agreement_mean:>7.1%} {gap:>5.0%} "
                    f"{rule.gap_closed if rule.gap_closed is not None else float('nan'):>5.0%} "
                    f"{100 * (best.agreement_mean - rule.agreement_mean):>+7.1f}pp "
                    f"{100 * (best.agreement_mean - rnd.agreement_mean):>+7.1f}pp  "
                    f"{'ok' if ok else 'MISSED'}{' (' + ', '.join(notes) + ')' if notes else ''}"
                )
            detection_lines.append(
                f"  {file} / {judge}: "
                + "; ".join(
                    f"{kept} label: " + error_detection(dataset, seeds=seeds, llm_label=kept)
                    for kept in ("main", "jury")
                )
            )
            headroom = report.to_json()["proxy_headroom"]
            headroom_lines.append(
                f"  {file} / {judge}: "
                + "; ".join(
                    f"{h['budget_share']:.0%} {h['headroom_mean']:+.3f} ± {h['headroom_sd']:.3f}"
                    for h in headroom
                )
            )
    print(f"\nProxy headroom (oracle − random proxy-RM test accuracy, {seeds} seeds, paired):")
    print("\n".join(headroom_lines))
    print(
        f"\nFinding the kept label's decisive errors from LLM-side signals ({seeds} random "
        f"{MIN_LABELLED}-item samples weigh the judges; scored on every other item):"
    )
    print("\n".join(detection_lines))
    print(
        f"\nTargets missed: {len(failures)}"
        + "".join(f"\n  {f} / {k} at {s:.0%}: {', '.join(n)}" for f, k, s, n in failures)
    )


if __name__ == "__main__":
    main()
