"""The error model: where is the LLM-side label likely wrong, and what is a human label worth there.

For each item the router needs ``P(the LLM-side label differs from what a human would give)``
and ``P(a human gives a decisive label)``; the value of sending the item to a human is their
product (a human tie spends budget and leaves no pair). Both are fitted on the items that already
carry a human label (the seed, paid from the budget) and read nothing else of the humans.

``P(LLM wrong)``:

- an item where the main judge is undecided (a tie between its two presentation orders, or no
  parseable verdict) has no usable LLM label: 1;
- otherwise the one-coin reliability posterior (``routing.core.jury``): every judge's decisive
  verdict weighted by its log-odds reliability on the seed, main judge included, gives
  P(the human side is the main judge's side); one minus that;
- with enough labelled items, a logistic calibrator over that posterior's logit, the jury
  signals, the main judge's confidence and the instance features is fitted on cross-fitted
  posteriors and kept only when its cross-validated ROC AUC beats the posterior's own (the
  choice is made on the seed, never on unlabelled items).

``P(human decisive)``: the seed's smoothed rate of decisive human labels, or a logistic model
over the instance features when the seed holds enough human ties and its CV AUC beats chance.

Pure numpy + scikit-learn, deterministic for given inputs and seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from routing.core.datasets import LABEL_A, LABEL_B
from routing.core.jury import (
    JudgeReliability,
    fit_judge_reliability,
    jury_log_odds,
    jury_signals,
    p_label_wrong,
    shipped_jury_labels,
)

ERROR_MODEL_VERSION = "error-model-v1"
MIN_CALIBRATION_ITEMS = 40  # labelled items (both classes ≥ MIN_CLASS) before a calibrator
MIN_CLASS = 8
CV_FOLDS = 5
AUC_MARGIN = 0.02  # a calibrator must beat the posterior's CV AUC by this much to be used


@dataclass(frozen=True)
class LLMSideView:
    """What the router knows about the LLM side of every item (no human label).

    ``main`` int8 (n,) the main judge's verdict codes (its label is the one an LLM-routed item
    keeps); ``jury`` int8 (n, j) the other judges' verdicts (``jury_names`` order, may be empty);
    ``main_confidence`` float (n,) in [0, 1] or ``None``; ``features`` float (n, f) instance
    features with ``feature_names`` (may have no columns).
    """

    main_name: str
    main: np.ndarray
    jury_names: tuple[str, ...]
    jury: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    main_confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.main)
        if self.jury.shape != (n, len(self.jury_names)):
            raise ValueError(f"jury must be ({n}, {len(self.jury_names)}), got {self.jury.shape}")
        if self.features.shape != (n, len(self.feature_names)):
            raise ValueError(
                f"features must be ({n}, {len(self.feature_names)}), got {self.features.shape}"
            )
        if self.main_confidence is not None and self.main_confidence.shape != (n,):
            raise ValueError(f"main_confidence must be ({n},)")

    @property
    def n(self) -> int:
        return len(self.main)

    @property
    def all_votes(self) -> np.ndarray:
        return np.concatenate([self.main[:, None], self.jury], axis=1).astype(np.int8)

    @property
    def judge_names(self) -> tuple[str, ...]:
        return (self.main_name, *self.jury_names)


@dataclass(frozen=True)
class ErrorScores:
    """Per item: P(LLM-side label wrong), P(human decisive), their product ``value``; the jury
    signals they rest on; and how the fit went (``details``, JSON-ready)."""

    p_llm_wrong: np.ndarray
    p_human_decisive: np.ndarray
    value: np.ndarray
    signals: Mapping[str, np.ndarray]
    reliability: JudgeReliability
    details: dict[str, Any] = field(default_factory=dict)

    def top_signals(self, index: int, *, limit: int = 3) -> list[dict[str, Any]]:
        """Why item ``index`` scores as it does, most telling first (for the PM's "why a human")."""
        reasons: list[dict[str, Any]] = []
        s = {name: float(values[index]) for name, values in self.signals.items()}
        if s.get("main.undecided", 0.0) > 0:
            reasons.append(
                {
                    "signal": "main.undecided",
                    "value": 1.0,
                    "text": "the main judge gave no usable verdict (its two orders disagreed or "
                    "its answer did not parse)",
                }
            )
        if "posterior.p_wrong" in s and not s.get("main.undecided"):
            reasons.append(
                {
                    "signal": "posterior.p_wrong",
                    "value": round(s["posterior.p_wrong"], 4),
                    "text": f"reliability-weighted jury: P(main judge wrong) = "
                    f"{s['posterior.p_wrong']:.2f}",
                }
            )
        if "jury.support" in s and not s.get("main.undecided"):
            reasons.append(
                {
                    "signal": "jury.support",
                    "value": round(s["jury.support"], 4),
                    "text": f"{1 - s['jury.support']:.0%} of the jury's decisive votes go against "
                    "the main judge",
                }
            )
        if s.get("label.undecided", 0.0) > 0:
            reasons.append(
                {
                    "signal": "label.undecided",
                    "value": 1.0,
                    "text": "the reliability-weighted jury is split evenly: no usable label",
                }
            )
        if "label.p_wrong" in s and not s.get("label.undecided"):
            reasons.append(
                {
                    "signal": "label.p_wrong",
                    "value": round(s["label.p_wrong"], 4),
                    "text": f"reliability-weighted jury: P(its label wrong) = "
                    f"{s['label.p_wrong']:.2f}",
                }
            )
        if "label.support" in s and not s.get("label.undecided"):
            reasons.append(
                {
                    "signal": "label.support",
                    "value": round(s["label.support"], 4),
                    "text": f"{1 - s['label.support']:.0%} of the judges' decisive votes go "
                    "against the jury label",
                }
            )
        if s.get("jury.inconsistent", 0.0) > 0:
            reasons.append(
                {
                    "signal": "jury.inconsistent",
                    "value": round(s["jury.inconsistent"], 4),
                    "text": f"{s['jury.inconsistent']:.0%} of the jurors flip with the order",
                }
            )
        if "main.confidence" in s:
            reasons.append(
                {
                    "signal": "main.confidence",
                    "value": round(s["main.confidence"], 4),
                    "text": f"main judge confidence {s['main.confidence']:.2f}",
                }
            )
        return reasons[:limit]


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, score))


def _folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    splits = min(CV_FOLDS, int(np.bincount(y.astype(int)).min()))
    if splits < 2:
        return []
    return list(StratifiedKFold(splits, shuffle=True, random_state=seed).split(y, y))


def _logistic(seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)


def _p_main_wrong(*, votes: np.ndarray, main: np.ndarray, reliability: JudgeReliability):
    """One-coin posterior that the human side is not the main judge's (1 where undecided)."""
    return p_label_wrong(
        log_odds=jury_log_odds(votes=votes, weight=reliability.weight), codes=main
    )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def score_llm_errors(
    *,
    view: LLMSideView,
    labelled: Sequence[int] | np.ndarray,
    human: np.ndarray,
    rng_seed: int = 0,
    reliability_prior: float = 1.0,
) -> ErrorScores:
    """Score every item of ``view`` from the human labels ``human`` (int8 codes) of the items
    ``labelled`` (positions; the only human labels read). See the module docstring."""
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1)
    human = np.asarray(human, dtype=np.int8).reshape(-1)
    if len(labelled) != len(human):
        raise ValueError(f"{len(labelled)} labelled positions but {len(human)} human labels")
    votes = view.all_votes
    names = view.judge_names
    reliability = fit_judge_reliability(
        votes=votes[labelled], names=names, human=human, prior=reliability_prior
    )
    p_wrong = _p_main_wrong(votes=votes, main=view.main, reliability=reliability)
    signals: dict[str, np.ndarray] = dict(jury_signals(main=view.main, jury=view.jury))
    signals["posterior.p_wrong"] = p_wrong
    if view.main_confidence is not None:
        signals["main.confidence"] = np.nan_to_num(view.main_confidence, nan=0.0)
    details: dict[str, Any] = {
        "version": ERROR_MODEL_VERSION,
        "labelled": int(len(labelled)),
        "calibrator": "none",
    }

    decisive_human = (human == LABEL_A) | (human == LABEL_B)
    main_decisive = (view.main == LABEL_A) | (view.main == LABEL_B)
    train = labelled[decisive_human & main_decisive[labelled]]
    y = (view.main[train] != human[decisive_human & main_decisive[labelled]]).astype(int)
    details["seed_error_rate"] = float(y.mean()) if len(y) else None
    calibrated = p_wrong
    if len(train) >= MIN_CALIBRATION_ITEMS and min(y.sum(), len(y) - y.sum()) >= MIN_CLASS:
        calibrated, calibration = _calibrate(
            view=view,
            votes=votes,
            names=names,
            train=train,
            y=y,
            labelled=labelled,
            human=human,
            signals=signals,
            p_wrong=p_wrong,
            rng_seed=rng_seed,
            prior=reliability_prior,
        )
        details.update(calibration)
    calibrated = np.where(main_decisive, calibrated, 1.0)

    p_decisive, decisive_details = _p_human_decisive(
        view=view, labelled=labelled, decisive=decisive_human, rng_seed=rng_seed
    )
    details.update(decisive_details)
    return ErrorScores(
        p_llm_wrong=calibrated,
        p_human_decisive=p_decisive,
        value=calibrated * p_decisive,
        signals=signals,
        reliability=reliability,
        details=details,
    )


def score_jury_label_errors(
    *,
    view: LLMSideView,
    calibration: Sequence[int] | np.ndarray,
    labelled: Sequence[int] | np.ndarray,
    human: np.ndarray,
    rng_seed: int = 0,
    reliability_prior: float = 1.0,
) -> ErrorScores:
    """Score every item for the label an LLM-routed item ships with: the reliability-weighted
    jury label of every judge (``shipped_jury_labels``), weighted on the human labels of the
    ``calibration`` positions (a uniformly random sample of the pool, so representative of the
    items left to the jury; a subset of ``labelled``). ``human`` holds the labels of
    ``labelled`` (the only human labels read).

    P(label wrong) is the posterior's weight on the other side (1 where the jury label is a tie:
    it gives no usable pair); P(human decisive) as in ``score_llm_errors``, fitted on every
    labelled item (it conditions on the instance features, which the choice of items depends on).
    """
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1)
    human = np.asarray(human, dtype=np.int8).reshape(-1)
    calibration = np.asarray(calibration, dtype=np.int64).reshape(-1)
    if len(labelled) != len(human):
        raise ValueError(f"{len(labelled)} labelled positions but {len(human)} human labels")
    label_of = dict(zip(labelled.tolist(), human.tolist(), strict=True))
    missing = [p for p in calibration.tolist() if p not in label_of]
    if missing:
        raise ValueError(f"calibration position {missing[0]} carries no human label")
    votes = view.all_votes
    codes, _, reliability = shipped_jury_labels(
        votes=votes,
        names=view.judge_names,
        labelled=calibration,
        human=np.array([label_of[p] for p in calibration.tolist()], dtype=np.int8),
        prior=reliability_prior,
    )
    p_wrong = p_label_wrong(
        log_odds=jury_log_odds(votes=votes, weight=reliability.weight), codes=codes
    )
    # The jury's measurements taken against the label it ships, not the main judge's.
    measured = jury_signals(main=codes, jury=votes)
    signals: dict[str, np.ndarray] = {
        "label.undecided": measured["main.undecided"],
        "label.support": measured["jury.support"],
        "jury.margin": measured["jury.margin"],
        "jury.entropy": measured["jury.entropy"],
        "jury.inconsistent": measured["jury.inconsistent"],
        "label.p_wrong": p_wrong,
    }
    decisive_human = (human == LABEL_A) | (human == LABEL_B)
    p_decisive, decisive_details = _p_human_decisive(
        view=view, labelled=labelled, decisive=decisive_human, rng_seed=rng_seed
    )
    details: dict[str, Any] = {
        "version": ERROR_MODEL_VERSION,
        "target": "jury label",
        "labelled": int(len(labelled)),
        "calibration_items": int(len(calibration)),
        "calibrator": "none",
        **decisive_details,
    }
    return ErrorScores(
        p_llm_wrong=p_wrong,
        p_human_decisive=p_decisive,
        value=p_wrong * p_decisive,
        signals=signals,
        reliability=reliability,
        details=details,
    )


def _design(features: np.ndarray, signals: Mapping[str, np.ndarray], p_wrong: np.ndarray):
    columns = [_logit(p_wrong)[:, None]]
    for name in (
        "jury.support",
        "jury.margin",
        "jury.entropy",
        "jury.inconsistent",
        "main.confidence",
    ):
        if name in signals:
            columns.append(np.asarray(signals[name], dtype=np.float64)[:, None])
    columns.append(np.asarray(features, dtype=np.float64))
    return np.concatenate(columns, axis=1)


def _calibrate(
    *,
    view: LLMSideView,
    votes: np.ndarray,
    names: tuple[str, ...],
    train: np.ndarray,
    y: np.ndarray,
    labelled: np.ndarray,
    human: np.ndarray,
    signals: Mapping[str, np.ndarray],
    p_wrong: np.ndarray,
    rng_seed: int,
    prior: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Cross-fit the posterior on the training items (reliability from the other folds), fit
    the logistic calibrator on it, and keep the calibrator only if its CV AUC wins."""
    folds = _folds(y, rng_seed)
    if not folds:
        return p_wrong, {"calibrator": "none (too few items per class to cross-validate)"}
    oof_p = np.zeros(len(train))
    for _, held_idx in folds:
        held_positions = set(train[held_idx].tolist())
        keep = np.array([p not in held_positions for p in labelled.tolist()])
        fold_reliability = fit_judge_reliability(
            votes=votes[labelled[keep]], names=names, human=human[keep], prior=prior
        )
        oof_p[held_idx] = _p_main_wrong(
            votes=votes[train[held_idx]],
            main=view.main[train[held_idx]],
            reliability=fold_reliability,
        )
    design_train = _design(view.features[train], {k: v[train] for k, v in signals.items()}, oof_p)
    oof_cal = np.zeros(len(train))
    for fit_idx, held_idx in folds:
        model = _logistic(rng_seed).fit(design_train[fit_idx], y[fit_idx])
        oof_cal[held_idx] = model.predict_proba(design_train[held_idx])[:, 1]
    auc_posterior = _roc_auc(y, oof_p)
    auc_calibrated = _roc_auc(y, oof_cal)
    details = {"cv_auc_posterior": auc_posterior, "cv_auc_calibrated": auc_calibrated}
    if (
        auc_posterior is None
        or auc_calibrated is None
        or auc_calibrated < auc_posterior + AUC_MARGIN
    ):
        details["calibrator"] = "none (did not beat the reliability posterior in CV)"
        return p_wrong, details
    model = _logistic(rng_seed).fit(design_train, y)
    details["calibrator"] = "logistic on posterior, jury signals and instance features"
    return model.predict_proba(_design(view.features, signals, p_wrong))[:, 1], details


def _p_human_decisive(
    *, view: LLMSideView, labelled: np.ndarray, decisive: np.ndarray, rng_seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    n_ties = int((~decisive).sum())
    rate = (int(decisive.sum()) + 1.0) / (len(decisive) + 2.0)
    details: dict[str, Any] = {"human_decisive_rate": rate, "human_decisive_model": "rate"}
    constant = np.full(view.n, rate)
    if n_ties < MIN_CLASS or int(decisive.sum()) < MIN_CLASS or view.features.shape[1] == 0:
        return constant, details
    y = decisive.astype(int)
    folds = _folds(y, rng_seed)
    x = np.asarray(view.features[labelled], dtype=np.float64)
    oof = np.zeros(len(y))
    for fit_idx, held_idx in folds:
        oof[held_idx] = (
            _logistic(rng_seed).fit(x[fit_idx], y[fit_idx]).predict_proba(x[held_idx])[:, 1]
        )
    auc = _roc_auc(y, oof) if folds else None
    details["human_decisive_cv_auc"] = auc
    if auc is None or auc < 0.5 + AUC_MARGIN:
        return constant, details
    model = _logistic(rng_seed).fit(x, y)
    details["human_decisive_model"] = "logistic on instance features"
    return model.predict_proba(np.asarray(view.features, dtype=np.float64))[:, 1], details


def choose_next_batch(
    *, scores: ErrorScores, exclude: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """The ``count`` positions not in ``exclude`` (bool (n,)) of highest value, ties at random."""
    candidates = np.flatnonzero(~np.asarray(exclude, dtype=bool))
    if count <= 0 or not len(candidates):
        return np.empty(0, dtype=np.int64)
    jitter = rng.random(len(candidates))
    order = np.lexsort((jitter, -scores.value[candidates]))
    return candidates[order[:count]]
