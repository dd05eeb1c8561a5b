"""One final pairwise label per instance, and where it came from.

Pure functions over plain values so that exports, dashboards and routing share one rule:
1. Human labels win when there are any: the direction (A, B or tie) of a strict majority
   of the human overall preferences, i.e. more than half of them (2 of 3, 3 of 4; not
   2 of 4 even when no other direction has 2). One human → ``single_human``; a strict
   majority of several → ``human_majority``; no strict majority → ``human_split`` with no
   label (flagged, never guessed; the MultiPref paper's order-based tie-break is not used).
2. Otherwise LLM labels, by the same strict-majority rule (``llm`` when one model, named in
   ``models``; ``llm_majority`` for several); no strict majority → ``llm_split``, no label.
3. No label at all → ``unlabelled``.
Strength is the mean overall preference of the winning side's labels. The deciding votes
are all votes of the source that decided (humans, else LLMs), whichever way they went;
``guidelines_versions`` lists the guidelines versions they were made under.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Winner(StrEnum):
    A = "A"
    B = "B"
    TIE = "tie"


class LabelProvenance(StrEnum):
    SINGLE_HUMAN = "single_human"
    HUMAN_MAJORITY = "human_majority"
    HUMAN_SPLIT = "human_split"
    LLM = "llm"
    LLM_MAJORITY = "llm_majority"
    LLM_SPLIT = "llm_split"
    UNLABELLED = "unlabelled"


@dataclass(frozen=True)
class Vote:
    source: str  # "human" | "imported" (a human label from the source dataset) | "llm"
    overall_preference: int
    who: str  # pseudonymous annotator id or model name (with prompt version)
    guidelines_version: int | None = None  # the campaign guidelines the label was made under


@dataclass(frozen=True)
class AggregatedLabel:
    winner: Winner | None
    strength: float | None  # mean overall preference of the winning side, -2..2
    provenance: LabelProvenance
    n_human: int
    n_llm: int
    models: tuple[str, ...]  # LLM annotators that decided the label, when provenance is LLM
    agreement: float | None  # share of the deciding votes that agree with the winner
    # Sorted distinct guidelines versions of the deciding votes (unknown ones left out).
    guidelines_versions: tuple[int, ...] = ()


def direction_of(preference: int) -> Winner:
    if preference < 0:
        return Winner.A
    if preference > 0:
        return Winner.B
    return Winner.TIE


def aggregate_pairwise_votes(votes: Iterable[Vote]) -> AggregatedLabel:
    votes = list(votes)
    human = [v for v in votes if v.source in ("human", "imported")]
    llm = [v for v in votes if v.source == "llm"]
    deciding, from_humans = (human, True) if human else (llm, False)
    if not deciding:
        return AggregatedLabel(None, None, LabelProvenance.UNLABELLED, 0, 0, (), None)
    versions = tuple(
        sorted({v.guidelines_version for v in deciding if v.guidelines_version is not None})
    )
    counts = Counter(direction_of(v.overall_preference) for v in deciding)
    ((top, top_count),) = counts.most_common(1)
    if top_count * 2 <= len(deciding):
        provenance = LabelProvenance.HUMAN_SPLIT if from_humans else LabelProvenance.LLM_SPLIT
        return AggregatedLabel(
            None, None, provenance, len(human), len(llm), (), None, guidelines_versions=versions
        )
    winning = [v.overall_preference for v in deciding if direction_of(v.overall_preference) == top]
    if from_humans:
        provenance = (
            LabelProvenance.SINGLE_HUMAN if len(human) == 1 else LabelProvenance.HUMAN_MAJORITY
        )
        models: tuple[str, ...] = ()
    else:
        models = tuple(sorted({v.who for v in llm}))
        provenance = LabelProvenance.LLM if len(models) == 1 else LabelProvenance.LLM_MAJORITY
    return AggregatedLabel(
        winner=top,
        strength=sum(winning) / len(winning),
        provenance=provenance,
        n_human=len(human),
        n_llm=len(llm),
        models=models,
        agreement=top_count / len(deciding),
        guidelines_versions=versions,
    )
