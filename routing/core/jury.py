"""LLM juries: what several LLM judges' verdicts on one pair say, with or without human labels.

Five things, numpy (and scipy's ``expit``):

- :func:`jury_signals`: per-item measurements of a main judge's verdict against the jury's
  (support, vote margin, entropy, order-inconsistent ties), needing no human label.
- :func:`fit_judge_reliability`: each judge's reliability estimated from the items that carry a
  human label (the paid seed): a one-coin Dawid–Skene model, P(the judge's decisive verdict is the
  human's), smoothed by a Beta prior, turned into a log-odds vote weight. A judge that is wrong
  more often than right gets a negative weight (its vote is evidence for the other side); one at
  chance or never seen on the seed gets weight 0.
- :func:`jury_posterior` / :func:`jury_labels`: the reliability-weighted label of each item
  (naive-Bayes combination of the weighted votes): ``P(A preferred)`` and a label that is a tie
  when the evidence does not clear ``min_margin`` (never broken by order).
- :func:`p_label_wrong`: the chance that a label is not the human side, from the jury's log-odds
  (never through ``P(A)``, which float64 rounds to 0 or 1 for a large confident jury), which is
  what the router ranks items by.
- :func:`choose_kept_label`: which label LLM-routed items keep, the main judge's own or the
  jury's, whichever matched more of the seed's human labels (the jury's measured leave-one-out).

Why supervised one-coin weights rather than an unsupervised EM (crowd-kit's ``DawidSkene``,
initialised from the majority vote): on data built to fool LLM judges, the majority of a jury is
wrong exactly where it matters and an EM started from it converges to the fooled majority; the
seed's human labels, which the budget has paid for anyway, say directly who to trust.

Verdict codes are ``routing.core.datasets`` label codes: ``LABEL_A``, ``LABEL_B``, ``LABEL_TIE``
(a judge whose two presentation orders disagreed) and ``NO_LABEL`` (no parseable verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routing.core.datasets import LABEL_A, LABEL_B, LABEL_TIE, NO_LABEL

JURY_VERSION = "jury-v1"
EVEN_EVIDENCE = 1e-9  # |P(A) - 0.5| at or below this is a tie: float error, not evidence


@dataclass(frozen=True)
class JudgeReliability:
    """Per judge (``names`` order): decisive verdicts seen on labelled items, how many matched
    the human label, the smoothed accuracy and its log-odds vote weight."""

    names: tuple[str, ...]
    seen: np.ndarray  # int64 (j,)
    matched: np.ndarray  # int64 (j,)
    accuracy: np.ndarray  # float64 (j,), (matched + prior) / (seen + 2 * prior)
    weight: np.ndarray  # float64 (j,), log(accuracy / (1 - accuracy))
    prior: float

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            name: {
                "seen": int(self.seen[k]),
                "matched": int(self.matched[k]),
                "accuracy": float(self.accuracy[k]),
                "weight": float(self.weight[k]),
            }
            for k, name in enumerate(self.names)
        }


def _check_votes(votes: np.ndarray) -> np.ndarray:
    votes = np.asarray(votes, dtype=np.int8)
    if votes.ndim != 2:
        raise ValueError(f"votes must be (items, judges), got shape {votes.shape}")
    return votes


def fit_judge_reliability(
    *,
    votes: np.ndarray,
    names: Sequence[str],
    human: np.ndarray,
    prior: float = 1.0,
) -> JudgeReliability:
    """Each judge's reliability on the items where ``human`` is decisive.

    ``votes`` int8 (n, j) verdict codes of the labelled items, ``human`` int8 (n,) their human
    labels (ties and missing human labels are ignored: they say nothing about who is right).
    ``prior`` is the Beta(prior, prior) pseudo-count on each side: a judge seen on few items
    stays near weight 0.
    """
    votes = _check_votes(votes)
    human = np.asarray(human, dtype=np.int8)
    if votes.shape != (len(human), len(names)):
        raise ValueError(f"votes must be ({len(human)}, {len(names)}), got {votes.shape}")
    if prior <= 0:
        raise ValueError("prior must be positive")
    known = (human == LABEL_A) | (human == LABEL_B)
    decisive = ((votes == LABEL_A) | (votes == LABEL_B)) & known[:, None]
    seen = decisive.sum(axis=0).astype(np.int64)
    matched = (decisive & (votes == human[:, None])).sum(axis=0).astype(np.int64)
    accuracy = (matched + prior) / (seen + 2.0 * prior)
    weight = np.log(accuracy / (1.0 - accuracy))
    return JudgeReliability(
        names=tuple(names),
        seen=seen,
        matched=matched,
        accuracy=accuracy,
        weight=weight,
        prior=float(prior),
    )


def jury_log_odds(*, votes: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Sum over judges of ``weight`` × (+1 for an A verdict, −1 for B, 0 otherwise): the
    log-odds of A over B under the one-coin model with equal priors, float64 (n,)."""
    votes = _check_votes(votes)
    weight = np.asarray(weight, dtype=np.float64)
    if votes.shape[1] != len(weight):
        raise ValueError(f"{votes.shape[1]} judges in votes but {len(weight)} weights")
    sign = (votes == LABEL_A).astype(np.float64) - (votes == LABEL_B).astype(np.float64)
    return sign @ weight


def jury_posterior(*, votes: np.ndarray, reliability: JudgeReliability) -> np.ndarray:
    """P(A preferred) per item from the reliability-weighted votes, float64 (n,); 0.5 where no
    judge with a non-zero weight gave a decisive verdict. Past log-odds of about ±37 this is
    exactly 0 or 1 in float64: rank items by how likely a label is wrong with
    :func:`p_label_wrong`, not with ``1 - jury_posterior``."""
    from scipy.special import expit

    return expit(jury_log_odds(votes=votes, weight=reliability.weight))


def p_label_wrong(*, log_odds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """P(the human side is not the side of ``codes``) from the jury's log-odds of A over B,
    float64 (n,): ``sigmoid(-log_odds)`` for an A label, ``sigmoid(log_odds)`` for B, 1 where the
    label is a tie or missing (no usable pair). Computed without going through ``P(A)``, so a
    large confident jury still orders its items by evidence (``1 - P(A)`` is 0 for every item
    past log-odds 37, which would leave the router choosing among them at random)."""
    from scipy.special import expit

    log_odds = np.asarray(log_odds, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.int8)
    return np.where(
        codes == LABEL_A, expit(-log_odds), np.where(codes == LABEL_B, expit(log_odds), 1.0)
    )


def jury_labels(*, prob_a: np.ndarray, min_margin: float = 0.0) -> np.ndarray:
    """Label codes from ``P(A preferred)``: A when ``p - 0.5 > min_margin``, B when
    ``0.5 - p > min_margin``, otherwise a tie (never broken by judge order). Evidence that
    cancels out is a tie even when rounding leaves ``p`` a hair off 0.5 (weights of judges seen
    as often right as wrong are equal and opposite only up to float error)."""
    prob_a = np.asarray(prob_a, dtype=np.float64)
    margin = max(float(min_margin), EVEN_EVIDENCE)
    codes = np.full(prob_a.shape, LABEL_TIE, dtype=np.int8)
    codes[prob_a - 0.5 > margin] = LABEL_A
    codes[0.5 - prob_a > margin] = LABEL_B
    return codes


def shipped_jury_labels(
    *,
    votes: np.ndarray,
    names: Sequence[str],
    labelled: np.ndarray,
    human: np.ndarray,
    prior: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, JudgeReliability]:
    """The label an LLM-routed item ships with: the reliability-weighted jury label of every
    judge's verdict (``votes`` int8 (n, j), main judge included), each judge weighted by its
    reliability on the human labels ``human`` of the items ``labelled`` (positions, the paid
    ones). Before any judge has been measured (no decisive verdict on a decisive human label)
    every judge counts the same: a majority vote, as a campaign does before humans have labelled.

    Returns ``(codes int8 (n,), prob_a float64 (n,), reliability)``; a code is a tie where the
    evidence is even (``prob_a`` exactly 0.5).
    """
    votes = _check_votes(votes)
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1)
    reliability = fit_judge_reliability(
        votes=votes[labelled], names=names, human=human, prior=prior
    )
    if not reliability.seen.any():
        reliability = JudgeReliability(
            names=reliability.names,
            seen=reliability.seen,
            matched=reliability.matched,
            accuracy=reliability.accuracy,
            weight=np.ones(len(reliability.names)),
            prior=reliability.prior,
        )
    prob_a = jury_posterior(votes=votes, reliability=reliability)
    return jury_labels(prob_a=prob_a), prob_a, reliability


KEPT_MAIN = "main"
KEPT_JURY = "jury"


@dataclass(frozen=True)
class KeptLabel:
    """Which label LLM-routed items keep, chosen on the seed, and that label for every item.

    ``source`` is ``"main"`` (the main judge's own verdict where it is decisive, the jury label
    where it said tie or gave none) or ``"jury"`` (the reliability-weighted label of every judge).
    ``main_agreement`` / ``jury_agreement``: the share of the seed's decisive human labels each
    candidate matched, the jury's measured leave-one-out (an item's own label never weighs the
    judges that label it); ``None`` without a labelled seed item. ``codes`` int8 (n,) is the
    chosen label, ``prob_a`` the jury's posterior, ``reliability`` the judges' weights fitted on
    the whole seed.
    """

    source: str
    codes: np.ndarray
    prob_a: np.ndarray
    reliability: JudgeReliability
    main_agreement: float | None
    jury_agreement: float | None
    items: int

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "main_agreement": self.main_agreement,
            "jury_agreement": self.jury_agreement,
            "seed_items": self.items,
        }


def choose_kept_label(
    *,
    votes: np.ndarray,
    names: Sequence[str],
    labelled: np.ndarray,
    human: np.ndarray,
    prior: float = 1.0,
) -> KeptLabel:
    """Keep the main judge's label or the jury's, whichever matched more of the seed's humans.

    ``votes`` int8 (n, j) with the main judge in column 0; ``labelled`` the seed's positions
    (a uniformly random sample of the pool, so what holds on it holds for the items left to the
    LLM side) and ``human`` their labels. The jury label is measured leave-one-out, so a jury
    that merely fits the seed does not win on it. The main judge must do strictly better to be
    kept: a single judge is kept only on evidence; the jury, which includes it, is the default.

    Why a choice at all: the naive-Bayes jury treats judges as independent. A jury of prompt
    variants of one weak model outvotes a strong main judge even with honest weights (on LLMBar's
    adversarial set the jury label matched humans 16 points less often than the strong judge),
    while for a weak main judge the jury is far better. The seed, paid for anyway, says which
    case a campaign is in.
    """
    votes = _check_votes(votes)
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1)
    human = np.asarray(human, dtype=np.int8).reshape(-1)
    if len(labelled) != len(human):
        raise ValueError(f"{len(labelled)} labelled positions but {len(human)} human labels")
    jury_codes, prob_a, reliability = shipped_jury_labels(
        votes=votes, names=names, labelled=labelled, human=human, prior=prior
    )
    main = votes[:, 0]
    main_decisive = (main == LABEL_A) | (main == LABEL_B)
    main_codes = np.where(main_decisive, main, jury_codes).astype(np.int8)
    known = np.flatnonzero((human == LABEL_A) | (human == LABEL_B))
    main_right = jury_right = 0
    for k in known.tolist():
        others = np.delete(np.arange(len(labelled)), k)
        left_out = _jury_label_at(
            votes=votes,
            names=names,
            position=int(labelled[k]),
            labelled=labelled[others],
            human=human[others],
            prior=prior,
        )
        jury_right += int(left_out == human[k])
        kept_main = main[labelled[k]] if main_decisive[labelled[k]] else left_out
        main_right += int(kept_main == human[k])
    items = len(known)
    main_agreement = main_right / items if items else None
    jury_agreement = jury_right / items if items else None
    source = KEPT_MAIN if items and main_right > jury_right else KEPT_JURY
    return KeptLabel(
        source=source,
        codes=main_codes if source == KEPT_MAIN else jury_codes,
        prob_a=prob_a,
        reliability=reliability,
        main_agreement=main_agreement,
        jury_agreement=jury_agreement,
        items=items,
    )


def _jury_label_at(
    *,
    votes: np.ndarray,
    names: Sequence[str],
    position: int,
    labelled: np.ndarray,
    human: np.ndarray,
    prior: float,
) -> int:
    """The jury label of the item at ``position`` with the judges weighted on ``labelled`` only."""
    rows = np.concatenate([votes[labelled], votes[position : position + 1]], axis=0)
    codes, _, _ = shipped_jury_labels(
        votes=rows, names=names, labelled=np.arange(len(labelled)), human=human, prior=prior
    )
    return int(codes[-1])


def jury_signals(*, main: np.ndarray, jury: np.ndarray) -> dict[str, np.ndarray]:
    """LLM-side measurements per item, float64 (n,), needing no human label:

    - ``main.undecided``: 1 when the main judge's verdict is a tie (its two orders disagreed)
      or missing (no parseable answer): left to the LLM, such an item has no usable label.
    - ``jury.support``: share of the jury's decisive verdicts on the main judge's side (0.5
      when the main judge is undecided or the jury gave no decisive verdict).
    - ``jury.margin``: ``|#A − #B| / #decisive`` over the jury (0 when none decisive).
    - ``jury.entropy``: entropy (bits, / log2 3) of the jury's A / B / tie vote shares.
    - ``jury.inconsistent``: share of jurors with a verdict whose verdict is a tie.

    With an empty jury (``jury`` of shape (n, 0)) only ``main.undecided`` is returned.
    """
    main = np.asarray(main, dtype=np.int8)
    jury = _check_votes(jury)
    if jury.shape[0] != len(main):
        raise ValueError(f"{len(main)} main verdicts but {jury.shape[0]} jury rows")
    undecided = ~((main == LABEL_A) | (main == LABEL_B))
    signals = {"main.undecided": undecided.astype(np.float64)}
    if jury.shape[1] == 0:
        return signals
    votes_a = (jury == LABEL_A).sum(axis=1).astype(np.float64)
    votes_b = (jury == LABEL_B).sum(axis=1).astype(np.float64)
    ties = (jury == LABEL_TIE).sum(axis=1).astype(np.float64)
    decisive = votes_a + votes_b
    given = decisive + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        same = np.where(main == LABEL_A, votes_a, votes_b)
        support = np.where((decisive > 0) & ~undecided, same / decisive, 0.5)
        margin = np.where(decisive > 0, np.abs(votes_a - votes_b) / decisive, 0.0)
        shares = np.stack([votes_a, votes_b, ties], axis=1) / np.maximum(given, 1.0)[:, None]
        logs = np.where(shares > 0, np.log2(np.where(shares > 0, shares, 1.0)), 0.0)
        entropy = -(shares * logs).sum(axis=1) / np.log2(3.0)
        inconsistent = np.where(given > 0, ties / given, 0.0)
    signals.update(
        {
            "jury.support": support,
            "jury.margin": margin,
            "jury.entropy": entropy,
            "jury.inconsistent": inconsistent,
        }
    )
    return signals


def jury_rule_order(*, main: np.ndarray, jury: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The jury-rule baseline's ranking (positions, best first): items where the main judge is
    undecided, then decisive ones by the share of jurors voting against it (most first), ties in
    that share broken at random. No human label is read."""
    signals = jury_signals(main=main, jury=jury)
    against = 1.0 - signals.get("jury.support", np.full(len(main), 0.5))
    score = np.where(signals["main.undecided"] > 0, 2.0, against)
    jitter = rng.random(len(score))
    return np.lexsort((jitter, -score))


__all__ = [
    "JURY_VERSION",
    "JudgeReliability",
    "KEPT_JURY",
    "KEPT_MAIN",
    "KeptLabel",
    "NO_LABEL",
    "choose_kept_label",
    "fit_judge_reliability",
    "jury_labels",
    "jury_log_odds",
    "jury_posterior",
    "p_label_wrong",
    "jury_rule_order",
    "jury_signals",
    "shipped_jury_labels",
]
