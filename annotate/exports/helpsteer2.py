"""HelpSteer2 ratings, one row per (prompt, response), and the "disagreements" form.

``helpsteer2``: ``prompt`` (earlier turns joined with ``<extra_id_1>User`` /
``<extra_id_1>Assistant`` markers, as HelpSteer2 writes them), ``response``, and
``helpfulness``, ``correctness``, ``coherence``, ``complexity``, ``verbosity`` (0–4): per
attribute, the labels of the deciding source (this platform's humans if any rated the
instance, else imported labels, else LLMs) aggregated by the ``helpsteer2_ratings`` policy
(:func:`annotate.aggregation_policies.helpsteer2_ratings.aggregate_ratings`: the mean of the
three most agreeing, rounded half up, as HelpSteer2 releases its scores); null when nobody
answered it, and null and counted under ``flagged`` (``<attribute>_ambiguous``) when equally
agreeing triples give different means: a draw is never settled by label order. The two responses of a pair
are consecutive rows. Plus ``id``, ``response_position``, ``model`` and ``provenance``
(``aggregation``: ``single_<source>`` or ``<source>_mean``; ``agreement``/``strength`` null).

``helpsteer2_disagreements``: the same rows with each attribute as the list of the deciding
labels' scores (in label order; null where a label left it out) and ``annotators`` naming
them. Instances no one rated are left out and counted (``unrated``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from annotate.aggregation_policies.helpsteer2_ratings import aggregate_ratings
from annotate.exports.base import Exporter, provenance_type
from annotate.selectors import (
    AnnotationView,
    InstanceWithAnnotations,
    iter_instances_with_annotations,
)

ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
SOURCES = ("human", "imported", "llm")


def helpsteer2_prompt(messages: list) -> str:
    parts = []
    for i, message in enumerate(messages):
        content = message.get("content", "")
        if i == 0 and message.get("role", "user") == "user":
            parts.append(content)
        else:
            role = "Assistant" if message.get("role") == "assistant" else "User"
            parts.append(f"<extra_id_1>{role}\n{content}")
    return "\n".join(parts)


def most_agreeing_three(scores: list[int]) -> list[int]:
    """Indices of the three scores with the smallest range (all when ≤ 3; the earliest labels
    on a draw), in label order."""
    if len(scores) <= 3:
        return list(range(len(scores)))
    ordered = sorted(range(len(scores)), key=lambda i: scores[i])
    windows = [ordered[i : i + 3] for i in range(len(ordered) - 2)]
    return sorted(min(windows, key=lambda w: (scores[w[-1]] - scores[w[0]], sorted(w))))


def round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def released_score(scores: list[int]) -> int | None:
    """The released score of one attribute under the ``helpsteer2_ratings`` policy: the mean
    of the three most agreeing scores (all of them when ≤ 3), rounded half up; None when there
    are none, or when equally agreeing triples give different means."""
    return aggregate_ratings(scores).score


def ratings_of(annotation: AnnotationView, position: int) -> dict[str, int | None]:
    found = {
        v.question: v.value
        for v in annotation.answers
        if v.response_position == position and v.question in ATTRIBUTES
    }
    return {name: found.get(name) for name in ATTRIBUTES}


class HelpSteer2Exporter(Exporter):
    format_name = "helpsteer2"
    title = "HelpSteer2 ratings (one row per response)"
    per_annotator = False

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        summary = self.summary
        for item in iter_instances_with_annotations(campaign=self.campaign, labels=self.options.labels):
            summary.instances_seen += 1
            source, raters = deciding_raters(item)
            if source is None:
                summary.skipped["unrated"] += 1
                continue
            aggregation = f"single_{source}" if len(raters) == 1 else f"{source}_mean"
            provenance = self.rater_provenance(item=item, source=source, raters=raters, aggregation=aggregation)
            prompt = helpsteer2_prompt(item.messages)
            for response in item.responses:
                per_label = [ratings_of(a, response.position) for a in raters]
                record = {"id": item.external_id, "prompt": prompt, "response": response.text}
                for name in ATTRIBUTES:
                    scores = [r[name] for r in per_label]
                    if self.per_annotator:
                        record[name] = scores
                    else:
                        released = aggregate_ratings([s for s in scores if s is not None])
                        record[name] = released.score
                        if released.ambiguous:
                            summary.flagged[f"{name}_ambiguous"] += 1
                if self.per_annotator:
                    record["annotators"] = [a.who for a in raters]
                record |= {"response_position": response.position, "model": response.model_name, "provenance": provenance}
                summary.written += 1
                yield item.messages, record

    def arrow_schema(self):
        import pyarrow as pa

        score = pa.list_(pa.int64()) if self.per_annotator else pa.int64()
        fields = [("id", pa.string()), ("prompt", pa.string()), ("response", pa.string())]
        fields += [(name, score) for name in ATTRIBUTES]
        if self.per_annotator:
            fields.append(("annotators", pa.list_(pa.string())))
        fields += [("response_position", pa.int64()), ("model", pa.string()), ("provenance", provenance_type())]
        return pa.schema(fields)


class HelpSteer2DisagreementsExporter(HelpSteer2Exporter):
    format_name = "helpsteer2_disagreements"
    title = "HelpSteer2 ratings, per-annotator lists"
    per_annotator = True


def deciding_raters(
    item: InstanceWithAnnotations, *, aspects: tuple[str, ...] = ATTRIBUTES
) -> tuple[str | None, list[AnnotationView]]:
    """The labels of the first source (human, imported, LLM) that rated any response on any of
    ``aspects``."""
    for source in SOURCES:
        raters = [
            a for a in item.annotations
            if a.source == source and any(v.question in aspects and v.response_position is not None for v in a.answers)
        ]
        if raters:
            return source, raters
    return None, []
