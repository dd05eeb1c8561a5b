"""UltraFeedback-style rows (instruction, completions with per-aspect ratings) and the
Zephyr-style binarised form, for campaigns whose task rates each response.

Aspects are the campaign's current per-response rating questions (by key, e.g. HelpSteer2's
helpfulness…verbosity); the schema is fixed per export from them. A completion's aspect
``Rating`` is the mean of the deciding source's ratings (humans if any rated the instance,
else imported, else LLMs) over the three most agreeing, rounded half away from zero, written
as a string as UltraFeedback does ("N/A" when nobody rated it); ``Rationale`` is blank (no
per-aspect rationale is asked). ``fine-grained_score`` is the mean of the aspect ratings,
except that HelpSteer2's five attributes are weighted as the MultiPref paper does
(0.65·helpfulness + 0.8·correctness + 0.45·coherence + 0.55·complexity − 0.4·verbosity).

``ultrafeedback``: ``source`` (the instance's ``source`` metadata, else the campaign slug),
``instruction``, ``models``, ``completions`` [{model, principle, custom_system_prompt,
response, annotations: {aspect: {Rating, Rationale}}, fine-grained_score}], ``id``,
``provenance``.

``ultrafeedback_binarized``: ``prompt``, ``prompt_id`` (SHA-256 hex of the prompt),
``chosen`` / ``rejected`` (message lists with the user turns), ``messages`` (= chosen),
``score_chosen``, ``score_rejected``, ``id``, ``provenance``. Chosen = the highest
fine-grained score; rejected = the lowest (deterministic, not random); instances whose
best and worst scores are equal, or with fewer than two scored responses, are dropped and
counted (``equal_scores`` / ``fewer_than_two_scored``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from annotate.exports.base import (
    Exporter,
    messages_type,
    plain_messages,
    prompt_text,
    provenance_type,
)
from annotate.exports.helpsteer2 import deciding_raters, released_score
from annotate.models import Question, QuestionKind, QuestionTarget
from annotate.selectors import iter_instances_with_annotations

HELPSTEER2_WEIGHTS = {"helpfulness": 0.65, "correctness": 0.8, "coherence": 0.45, "complexity": 0.55, "verbosity": -0.4}


class UltraFeedbackExporter(Exporter):
    format_name = "ultrafeedback"
    title = "UltraFeedback (completions with per-aspect ratings)"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.aspects = list(
            Question.objects.filter(
                schema=self.campaign.task_schema, kind=QuestionKind.RATING, target=QuestionTarget.EACH_RESPONSE
            )
            .order_by("order")
            .values_list("key", flat=True)
        ) if self.campaign.task_schema_id else []

    def score(self, ratings: dict[str, int | None]) -> float | None:
        known = {k: v for k, v in ratings.items() if v is not None}
        if not known:
            return None
        if set(self.aspects) == set(HELPSTEER2_WEIGHTS) and len(known) == len(HELPSTEER2_WEIGHTS):
            return round(sum(HELPSTEER2_WEIGHTS[k] * v for k, v in known.items()), 6)
        return sum(known.values()) / len(known)

    def iter_scored(self) -> Iterator[tuple]:
        summary = self.summary
        for item in iter_instances_with_annotations(campaign=self.campaign, labels=self.options.labels):
            summary.instances_seen += 1
            source, raters = _deciding_raters_of(item, self.aspects)
            if source is None:
                summary.skipped["unrated"] += 1
                continue
            completions = []
            for response in item.responses:
                ratings = {}
                for aspect in self.aspects:
                    scores = [
                        v.value for a in raters for v in a.answers
                        if v.question == aspect and v.response_position == response.position and v.value is not None
                    ]
                    ratings[aspect] = released_score(scores)
                completions.append((response, ratings, self.score(ratings)))
            aggregation = f"single_{source}" if len(raters) == 1 else f"{source}_mean"
            provenance = self.rater_provenance(item=item, source=source, raters=raters, aggregation=aggregation)
            yield item, completions, provenance

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for item, completions, provenance in self.iter_scored():
            self.summary.written += 1
            yield item.messages, {
                "id": item.external_id,
                "source": str(item.metadata.get("source") or self.campaign.slug),
                "instruction": prompt_text(item.messages),
                "models": [response.model_name for response, _, _ in completions],
                "completions": [
                    {
                        "model": response.model_name,
                        "principle": "",
                        "custom_system_prompt": "",
                        "response": response.text,
                        "annotations": {
                            aspect: {"Rating": "N/A" if value is None else str(value), "Rationale": ""}
                            for aspect, value in ratings.items()
                        },
                        "fine-grained_score": score,
                    }
                    for response, ratings, score in completions
                ],
                "provenance": provenance,
            }

    def arrow_schema(self):
        import pyarrow as pa

        rating = pa.struct([("Rating", pa.string()), ("Rationale", pa.string())])
        annotations = pa.struct([(aspect, rating) for aspect in self.aspects]) if self.aspects else pa.struct([("none", pa.string())])
        completion = pa.struct(
            [
                ("model", pa.string()),
                ("principle", pa.string()),
                ("custom_system_prompt", pa.string()),
                ("response", pa.string()),
                ("annotations", annotations),
                ("fine-grained_score", pa.float64()),
            ]
        )
        return pa.schema(
            [
                ("id", pa.string()),
                ("source", pa.string()),
                ("instruction", pa.string()),
                ("models", pa.list_(pa.string())),
                ("completions", pa.list_(completion)),
                ("provenance", provenance_type()),
            ]
        )


class UltraFeedbackBinarizedExporter(UltraFeedbackExporter):
    format_name = "ultrafeedback_binarized"
    title = "UltraFeedback, binarised (Zephyr)"

    def iter_rows(self) -> Iterator[tuple[list, dict]]:
        for item, completions, provenance in self.iter_scored():
            scored = [c for c in completions if c[2] is not None]
            if len(scored) < 2:
                self.summary.skipped["fewer_than_two_scored"] += 1
                continue
            best = max(scored, key=lambda c: c[2])
            worst = min(scored, key=lambda c: c[2])
            if best[2] == worst[2]:
                self.summary.skipped["equal_scores"] += 1
                continue
            conversation = plain_messages(item.messages)
            prompt = prompt_text(item.messages)
            chosen = conversation + [{"role": "assistant", "content": best[0].text}]
            self.summary.written += 1
            yield item.messages, {
                "prompt": prompt,
                "prompt_id": hashlib.sha256(prompt.encode()).hexdigest(),
                "chosen": chosen,
                "rejected": conversation + [{"role": "assistant", "content": worst[0].text}],
                "messages": chosen,
                "score_chosen": best[2],
                "score_rejected": worst[2],
                "id": item.external_id,
                "provenance": provenance,
            }

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema(
            [
                ("prompt", pa.string()),
                ("prompt_id", pa.string()),
                ("chosen", messages_type()),
                ("rejected", messages_type()),
                ("messages", messages_type()),
                ("score_chosen", pa.float64()),
                ("score_rejected", pa.float64()),
                ("id", pa.string()),
                ("provenance", provenance_type()),
            ]
        )


def _deciding_raters_of(item, aspects):
    if not aspects:
        return None, []
    return deciding_raters(item, aspects=tuple(aspects))
