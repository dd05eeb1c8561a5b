"""Simulation results: one ``RunResult`` per run, summaries per (strategy, budget), the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from routing.core.simulation.config import STRATEGIES


@dataclass(frozen=True)
class RunResult:
    strategy: str
    budget_share: float
    budget: int
    seed: int
    test_accuracy: float
    # composed vs human labels on the pool, over the items with a decisive human label (a
    # composed tie or missing label there counts as a disagreement)
    agreement: float
    composed_undecided: int  # of those items, how many have a composed tie or missing label
    n_train_pairs: int
    dropped: int  # pool items whose composed label is a tie or missing
    seed_items: int
    seconds: float
    ppm_source: str
    predicted_score: float | None
    details: dict[str, Any]


@dataclass(frozen=True)
class SummaryRow:
    strategy: str
    budget_share: float
    runs: int
    accuracy_mean: float
    accuracy_sd: float
    agreement_mean: float
    agreement_sd: float
    composed_undecided_mean: float
    # (agreement − random's) / (oracle's − random's) at the same budget, from the means
    gap_closed: float | None
    n_train_pairs_mean: float
    dropped_mean: float
    seed_items_mean: float
    seconds_mean: float
    ppm_source: str
    ppm_cv_spearman_mean: float | None  # mean CV rho of the seed-set PPM fits, when fitted


@dataclass(frozen=True)
class SimulationReport:
    version: str
    rules: tuple[str, ...]
    config: dict[str, Any]
    dataset: dict[str, Any]
    splits: list[dict[str, Any]]
    runs: list[RunResult]
    summary: list[SummaryRow]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "rules": list(self.rules),
            "config": self.config,
            "dataset": self.dataset,
            "splits": self.splits,
            "summary": [asdict(row) for row in self.summary],
            "proxy_headroom": proxy_headroom(self.runs),
            "runs": [asdict(run) for run in self.runs],
            "seconds": self.seconds,
        }


def summarise(runs: Sequence[RunResult]) -> list[SummaryRow]:
    """Mean ± sd (sample sd, 0 for one run) per (strategy, budget share), in first-seen order."""
    groups: dict[tuple[str, float], list[RunResult]] = {}
    for run in runs:
        groups.setdefault((run.strategy, run.budget_share), []).append(run)
    rows = []
    for (strategy, share), group in groups.items():
        accuracy = np.array([r.test_accuracy for r in group])
        sources = sorted({r.ppm_source for r in group if r.ppm_source})
        rhos = [
            r.details["ppm_cv_spearman"]
            for r in group
            if r.details.get("ppm_cv_spearman") is not None
        ]
        rows.append(
            SummaryRow(
                strategy=strategy,
                budget_share=share,
                runs=len(group),
                accuracy_mean=float(accuracy.mean()),
                accuracy_sd=float(accuracy.std(ddof=1)) if len(group) > 1 else 0.0,
                agreement_mean=float(np.mean([r.agreement for r in group])),
                agreement_sd=float(np.std([r.agreement for r in group], ddof=1))
                if len(group) > 1
                else 0.0,
                composed_undecided_mean=float(np.mean([r.composed_undecided for r in group])),
                gap_closed=None,
                n_train_pairs_mean=float(np.mean([r.n_train_pairs for r in group])),
                dropped_mean=float(np.mean([r.dropped for r in group])),
                seed_items_mean=float(np.mean([r.seed_items for r in group])),
                seconds_mean=float(np.mean([r.seconds for r in group])),
                ppm_source="; ".join(sources),
                ppm_cv_spearman_mean=float(np.mean(rhos)) if rhos else None,
            )
        )
    means = {(row.strategy, row.budget_share): row.agreement_mean for row in rows}
    for k, row in enumerate(rows):
        low = means.get(("random", row.budget_share))
        high = means.get(("oracle", row.budget_share))
        if low is not None and high is not None and high - low > 1e-12:
            rows[k] = replace(row, gap_closed=float((row.agreement_mean - low) / (high - low)))
    return rows


def proxy_headroom(runs: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Per budget: oracle minus random proxy test accuracy, paired by seed (mean and sample sd
    of the per-seed differences). A proxy whose headroom is not clearly above 0 does not respond
    to label quality, and a PPM fitted on it learns noise."""
    by_key = {(r.strategy, r.budget_share, r.seed): r.test_accuracy for r in runs}
    shares = sorted({r.budget_share for r in runs if r.strategy == "oracle"})
    out = []
    for share in shares:
        diffs = np.array(
            [
                by_key[("oracle", share, seed)] - by_key[("random", share, seed)]
                for (name, s, seed) in by_key
                if name == "oracle" and s == share and ("random", share, seed) in by_key
            ],
            dtype=np.float64,
        )
        diffs = diffs[~np.isnan(diffs)]
        if not len(diffs):
            continue
        out.append(
            {
                "budget_share": share,
                "seeds": int(len(diffs)),
                "headroom_mean": float(diffs.mean()),
                "headroom_sd": float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0,
            }
        )
    return out


def format_table(report: SimulationReport) -> str:
    """The rules, then one line per (budget, strategy): test accuracy mean ± sd, label agreement,
    training pairs, seed items, seconds; then where each PPM came from."""
    lines = ["Rules of honesty (enforced by routing.core.simulation):"]
    lines += [f"  {i}. {rule}" for i, rule in enumerate(report.rules, start=1)]
    d = report.dataset
    lines.append(
        f"Dataset: {d['n']} pairs ({d['human_name']} vs LLM {d['llm_name']!r}: "
        f"{d['llm_agreement']:.1%} agreement where both decisive, {d['llm_undecided']} LLM "
        f"ties/missing); pool ~{d['pool_mean']:.0f}, test ~{d['test_mean']:.0f} per seed, "
        f"{report.config['seeds']} seed(s)."
    )
    lines.append(
        f"Main judge {d['llm_name']!r}: {d.get('llm_agreement_all', float('nan')):.1%} of the "
        f"items with a decisive human label agree (ties and missing counted as misses); jury: "
        f"{len(d.get('jury') or [])} judge(s); {d.get('skipped_empty_responses', 0)} instance(s) "
        f"with an empty response skipped; {d['human_undecided']} human ties/missing excluded."
    )
    header = (
        f"{'budget':>7} {'strategy':<18} {'agree (mean ± sd)':>18} {'gap':>5} {'undec':>5} "
        f"{'test acc (mean ± sd)':>21} {'pairs':>6} {'seed':>5} {'ppm ρ':>6} {'sec':>6}"
    )
    lines += [header, "-" * len(header)]
    order = {name: i for i, name in enumerate(STRATEGIES)}
    rows = sorted(report.summary, key=lambda r: (r.budget_share, order.get(r.strategy, 99)))
    for row in rows:
        rho = "" if row.ppm_cv_spearman_mean is None else f"{row.ppm_cv_spearman_mean:.2f}"
        gap = (
            ""
            if row.gap_closed is None or row.strategy in ("random", "oracle")
            else (f"{row.gap_closed:.0%}")
        )
        name = row.strategy + ("*" if row.strategy == "oracle" else "")
        lines.append(
            f"{row.budget_share:>7.0%} {name:<18} "
            f"{row.agreement_mean:>9.1%} ± {row.agreement_sd:.1%} {gap:>5} "
            f"{row.composed_undecided_mean:>5.0f} "
            f"{row.accuracy_mean:>12.3f} ± {row.accuracy_sd:.3f}  "
            f"{row.n_train_pairs_mean:>6.0f} "
            f"{row.seed_items_mean:>5.0f} {rho:>6} {row.seconds_mean:>6.1f}"
        )
    headroom = proxy_headroom(report.runs)
    if headroom:
        lines.append(
            "Proxy headroom (oracle − random test accuracy, paired by seed): "
            + "; ".join(
                f"{h['budget_share']:.0%}: {h['headroom_mean']:+.3f} ± {h['headroom_sd']:.3f}"
                for h in headroom
            )
        )
    sources = sorted({row.ppm_source for row in rows if row.ppm_source})
    if sources:
        lines.append("PPM / model source:")
        lines += [f"  {source}" for source in sources]
    if report.config.get("predictor_provenance"):
        lines.append(f"Predictor provenance: {report.config['predictor_provenance']}")
    lines.append(
        "* the oracle reads every human label of the pool: an upper bound, not a strategy. "
        "agree: composed labels (human where routed, main judge elsewhere) vs the human label on "
        "the pool items with a decisive human label; gap: share of the random-to-oracle gap in "
        "agreement closed; undec: of those items, composed ties/missing; pairs: training "
        "pairs after dropping ties/missing; seed: human labels bought for fitting; ppm ρ: mean "
        "CV Spearman of the seed-set PPM fits; sec: routing + proxy per run (a PPM fit is "
        "charged to the first run that needs it)."
    )
    lines.append(f"Total wall time {report.seconds:.0f} s.")
    return "\n".join(lines)
