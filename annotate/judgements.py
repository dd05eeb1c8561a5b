"""Frozen values that cross from forms/API/LLM annotators into the annotation services."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PairwiseJudgement:
    """A 5-point overall preference (-2 = A≫B … 0 tie … 2 = B≫A) and its details.

    ``overall_preference`` is None for a judge asked only ratings. ``response_ratings`` holds,
    per response position, rating question key → value.
    """

    overall_preference: int | None
    aspect_preferences: dict[str, int] = field(default_factory=dict)
    response_ratings: tuple[dict[str, int], ...] = ()
    justification: str = ""
    confidence: float | None = None
    time_spent_seconds: float | None = None


PREFERENCE_LABELS = {
    -2: "A is clearly better",
    -1: "A is slightly better",
    0: "Tie",
    1: "B is slightly better",
    2: "B is clearly better",
}
