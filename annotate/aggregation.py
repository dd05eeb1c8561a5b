"""One final pairwise label per instance, and where it came from.

Pure functions over plain values so that exports, dashboards and routing share one rule:
1. Human labels win when there are any: the direction (A, B or tie) of a strict majority
   of the human overall preferences, i.e. more than half of them (2 of 3, 3 of 4; not
   2 of 4 even when no other direction has 2). One human → ``single_human``; a strict
   majority of several → ``human_majority``; no strict majority → ``human_split`` with no
   label (flagged, never guessed; the MultiPref paper's order-based tie-break is not used).
2. Otherwise imported labels (the source dataset's own annotators), by the same rule:
   ``single_imported`` / ``imported_majority`` / ``imported_split``. They come after this
   platform's humans, so an imported label never outvotes or splits the campaign's own work.
3. Otherwise LLM labels. When routing gave the item a reliability-weighted jury label (a vote
   from the model ``jury``), that label alone decides (``llm_jury``): it already weighs every
   judge by its measured reliability, and counting the judges again beside it would undo that.
   Otherwise the same strict-majority rule (``llm`` when one model, named in ``models``;
   ``llm_majority`` for several); no strict majority → ``llm_split``, no label.
4. No label at all → ``unlabelled``.
Strength is the mean overall preference of the winning side's labels. The deciding votes
are all votes of the source that decided (humans, else imported, else LLMs), whichever way
they went;
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
    SINGLE_IMPORTED = "single_imported"
    IMPORTED_MAJORITY = "imported_majority"
    IMPORTED_SPLIT = "imported_split"
    LLM = "llm"
    LLM_MAJORITY = "llm_majority"
    LLM_JURY = "llm_jury"
    LLM_SPLIT = "llm_split"
    UNLABELLED = "unlabelled"
    # Other aggregation policies (annotate.aggregation_policies) and the PM's adjudication.
    STRENGTH_MEAN = "strength_mean"
    STRENGTH_SPREAD_TOO_WIDE = "strength_spread_too_wide"
    STRENGTH_AMBIGUOUS = "strength_ambiguous"
    DAWID_SKENE = "dawid_skene"
    DAWID_SKENE_TIE = "dawid_skene_tie"
    ADJUDICATED = "adjudicated"


@dataclass(frozen=True)
class Vote:
    source: str  # "human" | "imported" (a human label from the source dataset) | "llm"
    overall_preference: int
    who: str  # pseudonymous annotator id or model name (with prompt version)
    guidelines_version: int | None = None  # the campaign guidelines the label was made under
    pool: str = ""  # the annotator pool (e.g. MultiPref's "normal" / "expert"); blank = default


@dataclass(frozen=True)
class AggregatedLabel:
    winner: Winner | None
    strength: float | None  # mean overall preference of the winning side, -2..2
    provenance: LabelProvenance
    n_human: int  # this platform's human labels
    n_llm: int
    models: tuple[str, ...]  # LLM annotators that decided the label, when provenance is LLM
    agreement: float | None  # share of the deciding votes that agree with the winner
    # Sorted distinct guidelines versions of the deciding votes (unknown ones left out).
    guidelines_versions: tuple[int, ...] = ()
    n_imported: int = 0
    deciding_source: str | None = None  # "human" | "imported" | "llm"


def direction_of(preference: int) -> Winner:
    if preference < 0:
        return Winner.A
    if preference > 0:
        return Winner.B
    return Winner.TIE


JURY_MODEL_NAME = "jury"  # the model name of routing's reliability-weighted jury labels


def is_jury_vote(vote: Vote) -> bool:
    return vote.source == "llm" and (vote.who == JURY_MODEL_NAME or vote.who.startswith(JURY_MODEL_NAME + "@"))


def aggregate_pairwise_votes(votes: Iterable[Vote]) -> AggregatedLabel:
    votes = list(votes)
    by_source = {source: [v for v in votes if v.source == source] for source in ("human", "imported", "llm")}
    human, imported, llm = by_source["human"], by_source["imported"], by_source["llm"]
    source = next((name for name in ("human", "imported", "llm") if by_source[name]), None)
    counts = {"n_human": len(human), "n_llm": len(llm), "n_imported": len(imported)}
    if source is None:
        return AggregatedLabel(None, None, LabelProvenance.UNLABELLED, 0, 0, (), None)
    deciding = by_source[source]
    jury = [v for v in llm if is_jury_vote(v)]
    if source == "llm" and jury:
        deciding = jury
    versions = tuple(
        sorted({v.guidelines_version for v in deciding if v.guidelines_version is not None})
    )
    tally = Counter(direction_of(v.overall_preference) for v in deciding)
    ((top, top_count),) = tally.most_common(1)
    if top_count * 2 <= len(deciding):
        provenance = {
            "human": LabelProvenance.HUMAN_SPLIT,
            "imported": LabelProvenance.IMPORTED_SPLIT,
            "llm": LabelProvenance.LLM_SPLIT,
        }[source]
        return AggregatedLabel(
            None, None, provenance, models=(), agreement=None, guidelines_versions=versions,
            deciding_source=source, **counts,
        )
    winning = [v.overall_preference for v in deciding if direction_of(v.overall_preference) == top]
    models: tuple[str, ...] = ()
    if source == "human":
        provenance = LabelProvenance.SINGLE_HUMAN if len(human) == 1 else LabelProvenance.HUMAN_MAJORITY
    elif source == "imported":
        provenance = LabelProvenance.SINGLE_IMPORTED if len(imported) == 1 else LabelProvenance.IMPORTED_MAJORITY
    elif jury:
        models = tuple(sorted({v.who for v in jury}))
        provenance = LabelProvenance.LLM_JURY
    else:
        models = tuple(sorted({v.who for v in llm}))
        provenance = LabelProvenance.LLM if len(models) == 1 else LabelProvenance.LLM_MAJORITY
    return AggregatedLabel(
        winner=top,
        strength=sum(winning) / len(winning),
        provenance=provenance,
        models=models,
        agreement=top_count / len(deciding),
        guidelines_versions=versions,
        deciding_source=source,
        **counts,
    )


def deciding_votes(votes: Iterable[Vote], label: AggregatedLabel) -> list[Vote]:
    """The votes that decided ``label``: those of its deciding source, only the jury's when a
    jury label decided."""
    if label.provenance == LabelProvenance.LLM_JURY:
        return [v for v in votes if is_jury_vote(v)]
    if label.deciding_source == "mixed":  # Dawid–Skene weighs every source together
        return list(votes)
    return [v for v in votes if v.source == label.deciding_source]
