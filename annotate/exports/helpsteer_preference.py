"""HelpSteer2-Preference and HelpSteer3-preference: preference strength −3…3 with the
annotators' justifications (field lists: ``shared/FORMATS.md``).

The labels used are those of the deciding source (this platform's humans if any gave a
strength, else imported labels, else LLMs); a "neither response is valid" answer gives no
strength. Free text names the responses by position (@A = the first); HelpSteer2-Preference
writes them as @Response 1 / @Response 2.

``helpsteer2_preference``: ``split`` (``train`` / ``validation``: the file's split; ``train``
when the export is not split), ``prompt``
(HelpSteer2's ``<extra_id_1>`` turn markers), ``response_1``, ``response_2``,
``preference_strength`` (mean of the three most similar strengths, rounded half away from zero),
``preference_statement`` / ``preference_elaboration`` (of the first of those three),
``three_most_similar_preferences`` ({statement, elaboration, strength}),
``all_preferences_unprocessed`` ({strength, justification}). As in the release, items whose
three most similar strengths span more than 2 points, or whose strength is 0, are dropped
(counted as ``spread_over_2`` / ``about_the_same``).

``helpsteer3_preference``: ``domain`` and ``language`` (from the instance's metadata, null when
absent), ``context`` (the conversation's messages), ``response1``, ``response2``,
``overall_preference`` (as above; nothing dropped but unlabelled items) and
``individual_preference`` ({score, reasoning} per label).

Both add ``id``, ``response_1_model``/``response_2_model`` and ``provenance``. The strength
is the campaign's primary pairwise value as stored: −3…3 under the HelpSteer2-Preference
template, but −2…2 under a 5-point Likert template (not rescaled; the card names the format
and the campaign, so a reader can tell).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from annotate.exports.base import Exporter, messages_type, plain_messages, provenance_type
from annotate.exports.helpsteer2 import helpsteer2_prompt, most_agreeing_three, round_half_away
from annotate.selectors import (
    AnnotationView,
    InstanceWithAnnotations,
    iter_instances_with_annotations,
)

SOURCES = ("human", "imported", "llm")
_NAME = re.compile(r"@([AB])\b")


def _response_names(text: str) -> str:
    return _NAME.sub(lambda m: "@Response 1" if m.group(1) == "A" else "@Response 2", text)


def _text(annotation: AnnotationView, key: str) -> str:
    return next((v.text for v in annotation.answers if v.question == key and v.response_position is None), "")


def _justification(annotation: AnnotationView) -> str:
    """Statement and elaboration (HelpSteer templates) or the justification question, joined."""
    parts = [_text(annotation, k) for k in ("preference_statement", "preference_elaboration", "justification")]
    return "\n\n".join(p for p in parts if p)


class _StrengthExporter(Exporter):
    def deciding(self, item: InstanceWithAnnotations) -> tuple[str | None, list[AnnotationView]]:
        for source in SOURCES:
            labels = [a for a in item.annotations if a.source == source and a.overall_preference is not None]
            if labels:
                return source, labels
        return None, []

    def provenance(self, source: str, labels: list[AnnotationView], item: InstanceWithAnnotations, aggregation: str) -> dict:
        return self.rater_provenance(item=item, source=source, raters=labels, aggregation=aggregation)

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        summary = self.summary
        for item in iter_instances_with_annotations(campaign=self.campaign, labels=self.options.labels):
            summary.instances_seen += 1
            if len(item.responses) < 2:
                summary.skipped["fewer_than_two_responses"] += 1
                continue
            source, labels = self.deciding(item)
            if source is None:
                summary.skipped["unlabelled"] += 1
                continue
            record = self.record(item, source, labels)
            if record is None:
                continue
            summary.written += 1
            yield item.messages, record


class HelpSteer2PreferenceExporter(_StrengthExporter):
    format_name = "helpsteer2_preference"
    title = "HelpSteer2-Preference"

    def record(self, item, source, labels):
        strengths = [a.overall_preference for a in labels]
        three = [labels[i] for i in most_agreeing_three(strengths)]
        three_strengths = [a.overall_preference for a in three]
        if max(three_strengths) - min(three_strengths) > 2:
            self.summary.skipped["spread_over_2"] += 1
            return None
        strength = round_half_away(sum(three_strengths) / len(three_strengths))
        if strength == 0:
            self.summary.skipped["about_the_same"] += 1
            return None
        aggregation = f"single_{source}" if len(labels) == 1 else f"{source}_three_most_similar"
        a, b = item.responses[0], item.responses[1]
        return {
            "id": item.external_id,
            "split": "",
            "prompt": helpsteer2_prompt(item.messages),
            "response_1": a.text,
            "response_2": b.text,
            "preference_strength": strength,
            "preference_statement": _response_names(_text(three[0], "preference_statement")),
            "preference_elaboration": _response_names(_text(three[0], "preference_elaboration")),
            "three_most_similar_preferences": [
                {
                    "statement": _response_names(_text(x, "preference_statement")),
                    "elaboration": _response_names(_text(x, "preference_elaboration")),
                    "strength": x.overall_preference,
                }
                for x in three
            ],
            "all_preferences_unprocessed": [
                {"strength": x.overall_preference, "justification": _response_names(_justification(x))} for x in labels
            ],
            "response_1_model": a.model_name,
            "response_2_model": b.model_name,
            "provenance": self.provenance(source, labels, item, aggregation),
        }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("id", pa.string()),
                ("split", pa.string()),
                ("prompt", pa.string()),
                ("response_1", pa.string()),
                ("response_2", pa.string()),
                ("preference_strength", pa.int64()),
                ("preference_statement", pa.string()),
                ("preference_elaboration", pa.string()),
                (
                    "three_most_similar_preferences",
                    pa.list_(pa.struct([("statement", pa.string()), ("elaboration", pa.string()), ("strength", pa.int64())])),
                ),
                (
                    "all_preferences_unprocessed",
                    pa.list_(pa.struct([("strength", pa.int64()), ("justification", pa.string())])),
                ),
                ("response_1_model", pa.string()),
                ("response_2_model", pa.string()),
                ("provenance", provenance_type()),
            ]
        )


class HelpSteer3PreferenceExporter(_StrengthExporter):
    format_name = "helpsteer3_preference"
    title = "HelpSteer3 preference"

    def record(self, item, source, labels):
        strengths = [a.overall_preference for a in labels]
        chosen = [strengths[i] for i in most_agreeing_three(strengths)]
        aggregation = f"single_{source}" if len(labels) == 1 else f"{source}_three_most_similar"
        a, b = item.responses[0], item.responses[1]
        metadata = item.metadata
        return {
            "id": item.external_id,
            "domain": None if metadata.get("domain") is None else str(metadata["domain"]),
            "language": None if metadata.get("language") is None else str(metadata["language"]),
            "context": plain_messages(item.messages),
            "response1": a.text,
            "response2": b.text,
            "overall_preference": round_half_away(sum(chosen) / len(chosen)),
            "individual_preference": [
                {"score": x.overall_preference, "reasoning": _justification(x)} for x in labels
            ],
            "response_1_model": a.model_name,
            "response_2_model": b.model_name,
            "provenance": self.provenance(source, labels, item, aggregation),
        }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("id", pa.string()),
                ("domain", pa.string()),
                ("language", pa.string()),
                ("context", messages_type()),
                ("response1", pa.string()),
                ("response2", pa.string()),
                ("overall_preference", pa.int64()),
                ("individual_preference", pa.list_(pa.struct([("score", pa.int64()), ("reasoning", pa.string())]))),
                ("response_1_model", pa.string()),
                ("response_2_model", pa.string()),
                ("provenance", provenance_type()),
            ]
        )
