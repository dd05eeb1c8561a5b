"""MultiPref (AI2) in its raw and binarised forms (field lists: ``shared/FORMATS.md``).

``multipref`` (raw): one row per comparison with ``comparison_id``, ``prompt_id``, ``text``,
``model_a``/``completion_a``, ``model_b``/``completion_b``, ``source``, ``category``,
``subject_study``, ``highest_level_degree`` (from the instance's metadata, null when absent),
and ``normal_worker_annotations`` / ``expert_worker_annotations``: pool ``expert`` labels in
the second list, every other human or imported label (pools ``normal`` and the default pool)
in the first. Each annotation has MultiPref's fields (``evaluator``, ``<aspect>_pref`` as the
5-point codes, ``<aspect>_confidence``, ``<aspect>_checked_reasons``, ``<aspect>_own_reason``,
``time_spent`` in whole seconds, ``timestamp`` = when the label was stored here) plus
``label_source`` and ``guidelines_version``. ``evaluator`` is the pseudonym for this
platform's annotators and the source dataset's own id for imported ones. Answers the task did
not ask are null. LLM labels are not annotator annotations: they are left out and counted.
``provenance`` is what aggregating the row's human or imported labels decided.

``multipref_binarized``: one row per comparison whose aggregated label prefers a response
(strict majority of the overall labels by direction, so "slightly" counts as "clearly"; ties
and 2–2 splits dropped and counted, never broken by order): ``comparison_id``, ``prompt_id``,
``prompt``, ``chosen``, ``rejected``, ``chosen_model``, ``rejected_model``, ``source``,
``category``, ``margin`` and ``provenance``.
"""

from __future__ import annotations

from collections.abc import Iterator

from annotate.aggregation import Vote
from annotate.exports.base import Exporter, prompt_text, provenance_of, provenance_type
from annotate.exports.pairs import iter_decided_pairs
from annotate.selectors import AnnotationView, iter_instances_with_annotations

ASPECTS = (("overall", "overall"), ("helpful", "helpfulness"), ("truthful", "truthfulness"), ("harmless", "harmlessness"))
LIKERT_CODES = {
    -2: "A-is-clearly-better",
    -1: "A-is-slightly-better",
    0: "Tie",
    1: "B-is-slightly-better",
    2: "B-is-clearly-better",
}
METADATA = ("source", "category", "subject_study", "highest_level_degree")


def _annotation_fields() -> list[str]:
    fields = ["evaluator"]
    for short, _key in ASPECTS:
        fields += [f"{short}_pref", f"{short}_confidence"]
        if short != "overall":
            fields.append(f"{short}_checked_reasons")
        fields.append(f"{short}_own_reason")
    return fields


def multipref_annotation(a: AnnotationView) -> dict:
    answers = {}
    for v in a.answers:
        if v.response_position is not None:
            continue
        if v.question.endswith("_checked_reasons"):
            answers.setdefault(v.question, []).append(v)
        else:
            answers[v.question] = v
    record: dict = {"evaluator": a.external_annotator if a.source == "imported" else a.who}
    for short, key in ASPECTS:
        pref = answers.get(key)
        record[f"{short}_pref"] = LIKERT_CODES.get(pref.value) if pref is not None and pref.value is not None else None
        confidence = answers.get(f"{key}_confidence")
        record[f"{short}_confidence"] = confidence.option if confidence is not None else None
        if short != "overall":
            reasons = answers.get(f"{key}_checked_reasons", [])
            record[f"{short}_checked_reasons"] = [r.option.replace("-", " ") for r in reasons if r.option]
        own = answers.get(f"{key}_own_reason")
        record[f"{short}_own_reason"] = own.text if own is not None and own.text else None
    record["time_spent"] = round(a.time_spent_seconds) if a.time_spent_seconds is not None else None
    record["timestamp"] = a.created_at.isoformat()
    record["label_source"] = a.source
    record["guidelines_version"] = a.guidelines_version
    return record


def annotation_type():
    import pyarrow as pa

    fields = []
    for name in _annotation_fields():
        kind = pa.list_(pa.string()) if name.endswith("_checked_reasons") else pa.string()
        fields.append((name, kind))
    fields += [
        ("time_spent", pa.int64()),
        ("timestamp", pa.string()),
        ("label_source", pa.string()),
        ("guidelines_version", pa.int64()),
    ]
    return pa.struct(fields)


class MultiPrefExporter(Exporter):
    format_name = "multipref"
    title = "MultiPref, raw (annotator lists)"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        summary = self.summary
        for item in iter_instances_with_annotations(campaign=self.campaign, labels=self.options.labels):
            summary.instances_seen += 1
            if len(item.responses) < 2:
                summary.skipped["fewer_than_two_responses"] += 1
                continue
            people = [a for a in item.annotations if a.source != "llm"]
            if llm := len(item.annotations) - len(people):
                summary.skipped["llm_labels_left_out"] += llm
            votes: list[Vote] = [v for a in people if (v := a.vote()) is not None]
            label = self.aggregate(instance_id=item.instance_id, votes=votes)
            if self.options.min_agreement is not None and (label.agreement or 0.0) < self.options.min_agreement:
                summary.skipped["below_agreement_threshold"] += 1
                continue
            summary.count_label(label)
            a, b = item.responses[0], item.responses[1]
            record = {
                "comparison_id": item.external_id,
                "prompt_id": _text_or_none(item.metadata.get("prompt_id")),
                "text": prompt_text(item.messages),
                "model_a": a.model_name,
                "completion_a": a.text,
                "model_b": b.model_name,
                "completion_b": b.text,
                **{name: _text_or_none(item.metadata.get(name)) for name in METADATA},
                "normal_worker_annotations": [multipref_annotation(x) for x in people if x.pool != "expert"],
                "expert_worker_annotations": [multipref_annotation(x) for x in people if x.pool == "expert"],
                "provenance": provenance_of(
                    campaign=self.campaign, votes=votes, label=label, routing=self.routing.columns(item.instance_id)
                ),
            }
            summary.written += 1
            yield item.messages, record

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("comparison_id", pa.string()),
                ("prompt_id", pa.string()),
                ("text", pa.string()),
                ("model_a", pa.string()),
                ("completion_a", pa.string()),
                ("model_b", pa.string()),
                ("completion_b", pa.string()),
                *((name, pa.string()) for name in METADATA),
                ("normal_worker_annotations", pa.list_(annotation_type())),
                ("expert_worker_annotations", pa.list_(annotation_type())),
                ("provenance", provenance_type()),
            ]
        )


def _text_or_none(value) -> str | None:
    return None if value is None else str(value)


class MultiPrefBinarizedExporter(Exporter):
    format_name = "multipref_binarized"
    title = "MultiPref, binarised (chosen/rejected)"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for pair in iter_decided_pairs(self):
            metadata = pair.item.metadata
            self.summary.written += 1
            yield pair.item.messages, {
                "comparison_id": pair.item.external_id,
                "prompt_id": _text_or_none(metadata.get("prompt_id")),
                "prompt": prompt_text(pair.item.messages),
                "chosen": pair.chosen.text,
                "rejected": pair.rejected.text,
                "chosen_model": pair.chosen.model_name,
                "rejected_model": pair.rejected.model_name,
                "source": _text_or_none(metadata.get("source")),
                "category": _text_or_none(metadata.get("category")),
                "margin": pair.margin,
                "provenance": pair.provenance,
            }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("comparison_id", pa.string()),
                ("prompt_id", pa.string()),
                ("prompt", pa.string()),
                ("chosen", pa.string()),
                ("rejected", pa.string()),
                ("chosen_model", pa.string()),
                ("rejected_model", pa.string()),
                ("source", pa.string()),
                ("category", pa.string()),
                ("margin", pa.float64()),
                ("provenance", provenance_type()),
            ]
        )
