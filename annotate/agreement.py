"""Inter-annotator agreement, pure: plain ratings in, frozen dataclasses out (no ORM).

- Krippendorff's α (``krippendorff``): ordinal for scales (pairwise preferences, ratings),
  nominal for choices; over every rater of a group, items with at least two ratings.
- Cohen's κ (scikit-learn): quadratic-weighted for scales, unweighted for choices; over the
  (human, LLM) pairs that rated the same item (and response).
Every value carries the number of items and of rating pairs it rests on; when a value is
undefined (fewer than two items rated twice, a single value in the data) it is ``None`` with
``reason`` "not enough data", never NaN.
A campaign's figures (``annotate.selectors.agreement_report``) are over its regular items:
check items (gold, attention, qualification) are left out before the ratings reach here.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Rating:
    item: Hashable  # the instance, or (instance, response position) for per-response questions
    rater: str  # pseudonym or model name
    source: str  # "human" | "imported" | "llm"
    value: int | str


@dataclass(frozen=True)
class AgreementValue:
    value: float | None
    n_items: int
    n_pairs: int
    reason: str = ""  # why ``value`` is None

    @property
    def shown(self) -> str:
        return NOT_ENOUGH_DATA if self.value is None else f"{self.value:.3f}"


def _pairs_within_items(by_item: Mapping[Hashable, list]) -> int:
    return sum(len(ratings) * (len(ratings) - 1) // 2 for ratings in by_item.values())


def krippendorff_alpha(*, ratings: Iterable[Rating], ordinal: bool) -> AgreementValue:
    import krippendorff
    import numpy as np

    by_item: dict[Hashable, dict[str, int | str]] = defaultdict(dict)
    for r in ratings:
        by_item[r.item][r.rater] = r.value
    shared = {item: values for item, values in by_item.items() if len(values) >= 2}
    n_items, n_pairs = len(shared), _pairs_within_items({k: list(v) for k, v in shared.items()})
    values = {v for row in shared.values() for v in row.values()}
    if n_items < 2 or len(values) < 2:
        return AgreementValue(None, n_items, n_pairs, NOT_ENOUGH_DATA)
    raters = sorted({rater for row in shared.values() for rater in row})
    items = list(shared)
    if ordinal:
        codes = {v: float(v) for v in values}  # type: ignore[arg-type]
    else:
        codes = {v: float(i) for i, v in enumerate(sorted(values, key=str))}
    matrix = np.full((len(raters), len(items)), np.nan)
    for j, item in enumerate(items):
        for rater, value in shared[item].items():
            matrix[raters.index(rater), j] = codes[value]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        alpha = krippendorff.alpha(
            reliability_data=matrix,
            level_of_measurement="ordinal" if ordinal else "nominal",
            value_domain=sorted(codes.values()),
        )
    if alpha is None or math.isnan(alpha):
        return AgreementValue(None, n_items, n_pairs, NOT_ENOUGH_DATA)
    return AgreementValue(float(alpha), n_items, n_pairs)


def cohen_kappa(*, pairs: Sequence[tuple[Hashable, int | str, int | str]], ordinal: bool) -> AgreementValue:
    """κ over ``(item, first rater's value, second rater's value)`` pairs."""
    from sklearn.metrics import cohen_kappa_score

    n_items, n_pairs = len({item for item, _, _ in pairs}), len(pairs)
    first, second = [a for _, a, _ in pairs], [b for _, _, b in pairs]
    if n_pairs < 2 or len(set(first) | set(second)) < 2:
        return AgreementValue(None, n_items, n_pairs, NOT_ENOUGH_DATA)
    if not ordinal:
        first, second = [str(v) for v in first], [str(v) for v in second]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = cohen_kappa_score(first, second, weights="quadratic" if ordinal else None)
    if math.isnan(kappa):
        return AgreementValue(None, n_items, n_pairs, NOT_ENOUGH_DATA)
    return AgreementValue(float(kappa), n_items, n_pairs)


def human_llm_pairs(ratings: Iterable[Rating], *, model: str) -> list[tuple[Hashable, int | str, int | str]]:
    """Every (human rating, ``model``'s rating) of the same item, as ``(item, human, llm)``."""
    by_item: dict[Hashable, list[Rating]] = defaultdict(list)
    for r in ratings:
        by_item[r.item].append(r)
    pairs = []
    for item, here in by_item.items():
        llm = [r for r in here if r.source == "llm" and r.rater == model]
        for h in (r for r in here if r.source == "human"):
            pairs += [(item, h.value, m.value) for m in llm]
    return pairs


@dataclass(frozen=True)
class QuestionAgreement:
    question: str
    ordinal: bool
    human_alpha: AgreementValue
    human_kappa: AgreementValue  # pairwise κ over every two humans on the same item
    llm_kappa: tuple[tuple[str, AgreementValue], ...]  # per LLM annotator (model name)
    by_tag: tuple[tuple[str, AgreementValue], ...]  # human α per tag


def question_agreement(
    *,
    question: str,
    ratings: Sequence[Rating],
    ordinal: bool,
    tags: Mapping[Hashable, Sequence[str]] | None = None,
    instance_of=lambda item: item[0] if isinstance(item, tuple) else item,
) -> QuestionAgreement:
    """Agreement on one question. ``tags`` maps an instance to its tags (``instance_of`` takes
    an item to its instance)."""
    human = [r for r in ratings if r.source == "human"]
    by_item: dict[Hashable, list[Rating]] = defaultdict(list)
    for r in human:
        by_item[r.item].append(r)
    human_pairs = [
        (item, a.value, b.value)
        for item, here in by_item.items()
        for a, b in combinations(sorted(here, key=lambda r: r.rater), 2)
    ]
    models = sorted({r.rater for r in ratings if r.source == "llm"})
    by_tag = []
    if tags:
        names = sorted({t for values in tags.values() for t in values})
        for tag in names:
            tagged = [r for r in human if tag in tags.get(instance_of(r.item), ())]
            by_tag.append((tag, krippendorff_alpha(ratings=tagged, ordinal=ordinal)))
    return QuestionAgreement(
        question=question,
        ordinal=ordinal,
        human_alpha=krippendorff_alpha(ratings=human, ordinal=ordinal),
        human_kappa=cohen_kappa(pairs=human_pairs, ordinal=ordinal),
        llm_kappa=tuple(
            (model, cohen_kappa(pairs=human_llm_pairs(ratings, model=model), ordinal=ordinal)) for model in models
        ),
        by_tag=tuple(by_tag),
    )
