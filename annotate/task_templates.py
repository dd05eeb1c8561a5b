"""The task templates a campaign starts from: plain values, turned into rows by
``annotate.services.task_schemas.create_task_schema``.

Scales, codes and reason lists follow the public datasets (``shared/FORMATS.md``): MultiPref's
5-point labels and reasons, HelpSteer2-Preference's -3..3 strength, HelpSteer2's 0–4 attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from annotate.models import AggregationPolicy, QuestionKind, QuestionTarget


@dataclass(frozen=True)
class OptionSpec:
    code: str
    label: str
    value: int | None
    description: str = ""


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: QuestionKind
    label: str
    options: tuple[OptionSpec, ...] = ()
    target: QuestionTarget = QuestionTarget.PAIR
    required: bool = True
    primary: bool = False
    group: str = ""
    help_text: str = ""
    max_length: int | None = None


@dataclass(frozen=True)
class TaskTemplate:
    name: str
    label: str
    description: str
    questions: tuple[QuestionSpec, ...] = field(default_factory=tuple)
    # The aggregation policy a campaign made from this template starts with (the dataset's own
    # rule where it has one); the PM may change it in the settings.
    aggregation_policy: str = AggregationPolicy.STRICT_MAJORITY


LIKERT_5 = (
    OptionSpec("A-is-clearly-better", "A is clearly better", -2),
    OptionSpec("A-is-slightly-better", "A is slightly better", -1),
    OptionSpec("Tie", "Tie", 0),
    OptionSpec("B-is-slightly-better", "B is slightly better", 1),
    OptionSpec("B-is-clearly-better", "B is clearly better", 2),
)

STRENGTH_7 = (
    OptionSpec("-3", "A is much better", -3),
    OptionSpec("-2", "A is better", -2),
    OptionSpec("-1", "A is slightly better", -1),
    OptionSpec("0", "About the same", 0),
    OptionSpec("1", "B is slightly better", 1),
    OptionSpec("2", "B is better", 2),
    OptionSpec("3", "B is much better", 3),
    OptionSpec("neither-valid", "Neither response is valid", None),
)

CONFIDENCE_3 = (
    OptionSpec("not-confident", "Not confident", 1),
    OptionSpec("fairly-confident", "Fairly confident", 2),
    OptionSpec("absolutely-confident", "Absolutely confident", 3),
)

MULTIPREF_REASONS = {
    "helpfulness": (
        "correct", "informative", "concise", "well formatted", "coherent", "creative",
        "understandable", "better tone",
    ),
    "truthfulness": (
        "factual", "faithful to context", "aware of time", "aware of confusion",
        "aware of falsehood", "aware of incapabilities",
    ),
    "harmlessness": (
        "not offensive", "not dangerous", "avoids restricted content", "respects privacy",
    ),
}

# HelpSteer2's attributes with the anchors annotators see for 0 and 4.
HELPSTEER2_ATTRIBUTES = (
    ("helpfulness", "Overall helpfulness of the response to the prompt.",
     ("Not helpful at all", "Slightly helpful", "Partially helpful", "Mostly helpful", "Perfectly helpful")),
    ("correctness", "All pertinent facts, without errors.",
     ("Completely incorrect", "Mostly incorrect", "Partially correct", "Mostly correct", "Perfectly correct")),
    ("coherence", "Clear and self-consistent.",
     ("Incoherent", "Mostly incoherent", "Somewhat coherent", "Mostly coherent", "Perfectly coherent")),
    ("complexity", "Depth of expertise needed to write it.",
     ("Basic: anyone could write it", "Simple", "Intermediate", "Advanced", "Expert: only a specialist could write it")),
    ("verbosity", "Amount of detail relative to what was asked.",
     ("Succinct", "Pretty short", "Intermediate length", "Pretty long", "Verbose")),
)


def _rating_options(anchors: tuple[str, ...]) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(str(v), str(v), v, description=anchor) for v, anchor in enumerate(anchors))


def _helpsteer2_ratings(*, group: str = "ratings") -> tuple[QuestionSpec, ...]:
    return tuple(
        QuestionSpec(
            key=name,
            kind=QuestionKind.RATING,
            label=name.capitalize(),
            help_text=meaning,
            options=_rating_options(anchors),
            target=QuestionTarget.EACH_RESPONSE,
            group=group,
        )
        for name, meaning, anchors in HELPSTEER2_ATTRIBUTES
    )


def _reason_options(reasons: tuple[str, ...]) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(reason.replace(" ", "-"), reason, i) for i, reason in enumerate(reasons))


def _multipref_questions() -> tuple[QuestionSpec, ...]:
    questions = [
        QuestionSpec("overall", QuestionKind.PAIRWISE, "Overall, which response is better?",
                     LIKERT_5, primary=True, group="overall"),
        QuestionSpec("overall_confidence", QuestionKind.CONFIDENCE, "How confident are you?",
                     CONFIDENCE_3, group="overall"),
    ]
    for aspect, reasons in MULTIPREF_REASONS.items():
        questions += [
            QuestionSpec(aspect, QuestionKind.PAIRWISE, f"{aspect.capitalize()}: which is better?",
                         LIKERT_5, group=aspect),
            QuestionSpec(f"{aspect}_confidence", QuestionKind.CONFIDENCE, "Confidence",
                         CONFIDENCE_3, required=False, group=aspect),
            QuestionSpec(f"{aspect}_checked_reasons", QuestionKind.CHOICES, "Reasons (tick any)",
                         _reason_options(reasons), required=False, group=aspect),
            QuestionSpec(f"{aspect}_own_reason", QuestionKind.TEXT, "Another reason, in your own words",
                         required=False, max_length=2000, group=aspect),
        ]
    questions.append(
        QuestionSpec("overall_own_reason", QuestionKind.TEXT, "Your reason, in your own words",
                     required=False, max_length=5000, group="reason")
    )
    return tuple(questions)


TEMPLATES: dict[str, TaskTemplate] = {
    template.name: template
    for template in (
        TaskTemplate(
            "simple_pairwise",
            "Simple pairwise",
            "Overall preference on the 5-point scale with tie, optional per-aspect preferences and a justification.",
            (
                QuestionSpec("overall", QuestionKind.PAIRWISE, "Overall, which response is better?",
                             LIKERT_5, primary=True),
                *(
                    QuestionSpec(aspect, QuestionKind.PAIRWISE, aspect.capitalize(), LIKERT_5,
                                 required=False, group="aspects")
                    for aspect in ("helpfulness", "truthfulness", "harmlessness")
                ),
                QuestionSpec("justification", QuestionKind.TEXT, "Justification", max_length=5000,
                             help_text="Why? Name @A or @B and the deciding reason."),
            ),
        ),
        TaskTemplate(
            "multipref",
            "MultiPref pairwise",
            "Overall, helpfulness, truthfulness and harmlessness on the 5-point scale with tie, "
            "confidence and ticked reasons per aspect, and a free-text reason (as MultiPref).",
            _multipref_questions(),
            AggregationPolicy.MULTIPREF_MAJORITY,
        ),
        TaskTemplate(
            "helpsteer2_preference",
            "HelpSteer2-Preference",
            "Preference strength from -3 (A much better) to 3 (B much better), or neither valid; "
            "a short statement and a longer elaboration.",
            (
                QuestionSpec("preference_strength", QuestionKind.PAIRWISE, "Which response is better, and by how much?",
                             STRENGTH_7, primary=True),
                QuestionSpec("preference_statement", QuestionKind.TEXT, "Statement (one or two sentences)",
                             max_length=1000, help_text="Name the responses @A and @B, as shown."),
                QuestionSpec("preference_elaboration", QuestionKind.TEXT, "Elaboration", required=False,
                             max_length=10000),
            ),
            AggregationPolicy.HELPSTEER2_PREFERENCE,
        ),
        TaskTemplate(
            "helpsteer2_rating",
            "HelpSteer2 rating",
            "Each response rated 0–4 on helpfulness, correctness, coherence, complexity and verbosity.",
            _helpsteer2_ratings(),
            AggregationPolicy.HELPSTEER2_RATINGS,
        ),
        TaskTemplate(
            "rate_then_prefer",
            "Rate, then prefer",
            "HelpSteer2 ratings of both responses, then the overall 5-point preference and a justification.",
            (
                *_helpsteer2_ratings(),
                QuestionSpec("overall", QuestionKind.PAIRWISE, "Overall, which response is better?",
                             LIKERT_5, primary=True, group="preference"),
                QuestionSpec("justification", QuestionKind.TEXT, "Justification", required=False,
                             max_length=5000, group="preference"),
            ),
        ),
    )
}

DEFAULT_TEMPLATE = "simple_pairwise"
