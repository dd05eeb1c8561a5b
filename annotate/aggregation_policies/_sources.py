"""The source precedence every policy shares: this platform's humans, else imported labels,
else LLMs (routing's jury label alone when there is one)."""

from __future__ import annotations

from annotate.aggregation import LabelProvenance, Vote, is_jury_vote

SOURCES = ("human", "imported", "llm")


def deciding_source(votes: list[Vote]) -> tuple[str | None, list[Vote]]:
    by_source = {source: [v for v in votes if v.source == source] for source in SOURCES}
    source = next((name for name in SOURCES if by_source[name]), None)
    if source is None:
        return None, []
    deciding = by_source[source]
    if source == "llm" and (jury := [v for v in deciding if is_jury_vote(v)]):
        deciding = jury
    return source, deciding


def counts(votes: list[Vote]) -> dict[str, int]:
    return {
        "n_human": sum(v.source == "human" for v in votes),
        "n_llm": sum(v.source == "llm" for v in votes),
        "n_imported": sum(v.source == "imported" for v in votes),
    }


def versions(votes: list[Vote]) -> tuple[int, ...]:
    return tuple(sorted({v.guidelines_version for v in votes if v.guidelines_version is not None}))


def models(source: str, deciding: list[Vote]) -> tuple[str, ...]:
    return tuple(sorted({v.who for v in deciding})) if source == "llm" else ()


SPLIT = {
    "human": LabelProvenance.HUMAN_SPLIT,
    "imported": LabelProvenance.IMPORTED_SPLIT,
    "llm": LabelProvenance.LLM_SPLIT,
}
