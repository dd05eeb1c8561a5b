"""Task schemas: creating a version from a template or a list of questions, and reading one.

A schema is never edited once created (a change is a new version), so its read-only view is
cached per process: the hot path (show an item, submit) reads it without a query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from django.db import transaction

from annotate.models import (
    Campaign,
    Question,
    QuestionKind,
    QuestionOption,
    QuestionTarget,
    TaskSchema,
)
from annotate.task_templates import DEFAULT_TEMPLATE, TEMPLATES, QuestionSpec

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# Options are chosen with the digit keys 1–9 (or 0–9 where values are single digits).
MAX_OPTIONS = 10
OPTION_KINDS = {QuestionKind.PAIRWISE, QuestionKind.RATING, QuestionKind.CONFIDENCE, QuestionKind.CHOICES}


class InvalidTaskSchema(ValueError):
    """The questions break a rule; the message names the question and the rule."""


@dataclass(frozen=True)
class OptionView:
    id: int
    code: str
    label: str
    value: int | None
    description: str


@dataclass(frozen=True)
class QuestionView:
    id: int
    key: str
    kind: str
    target: str
    label: str
    help_text: str
    required: bool
    primary: bool
    group: str
    max_length: int | None
    options: tuple[OptionView, ...]

    @property
    def per_response(self) -> bool:
        return self.target == QuestionTarget.EACH_RESPONSE

    @property
    def multiple(self) -> bool:
        return self.kind == QuestionKind.CHOICES

    @cached_property
    def option_by_code(self) -> dict[str, OptionView]:
        return {option.code: option for option in self.options}

    def option_with_value(self, value: int | None) -> OptionView | None:
        return next((o for o in self.options if o.value == value), None)

    @property
    def digit_is_value(self) -> bool:
        """Ratings 0–4 are chosen by pressing the value itself; other scales by position 1–n."""
        values = [o.value for o in self.options]
        return self.kind == QuestionKind.RATING and all(v is not None and 0 <= v <= 9 for v in values)

    def key_for(self, index: int, option: OptionView) -> str:
        if self.digit_is_value:
            return str(option.value)
        return "0" if index == 9 else str(index + 1)


@dataclass(frozen=True)
class SchemaView:
    id: int
    version: int
    template: str
    questions: tuple[QuestionView, ...]

    @cached_property
    def by_key(self) -> dict[str, QuestionView]:
        return {question.key: question for question in self.questions}

    @property
    def primary(self) -> QuestionView | None:
        return next((q for q in self.questions if q.primary), None)

    @property
    def compares_pairs(self) -> bool:
        """Whether any question is about the pair: items then need exactly two responses."""
        return any(q.kind == QuestionKind.PAIRWISE for q in self.questions)


_VIEWS: dict[tuple[int, str], SchemaView] = {}


def get_schema_view(schema: TaskSchema) -> SchemaView:
    """The schema's questions and options (two queries the first time, none after)."""
    cache_key = (schema.pk, schema.created_at.isoformat())
    view = _VIEWS.get(cache_key)
    if view is None:
        questions = list(schema.questions.order_by("order", "id").prefetch_related("options"))
        view = SchemaView(
            id=schema.pk,
            version=schema.version,
            template=schema.template,
            questions=tuple(
                QuestionView(
                    id=q.pk, key=q.key, kind=q.kind, target=q.target, label=q.label,
                    help_text=q.help_text, required=q.required, primary=q.primary, group=q.group,
                    max_length=q.max_length,
                    options=tuple(
                        OptionView(o.pk, o.code, o.label, o.value, o.description)
                        for o in sorted(q.options.all(), key=lambda o: (o.order, o.pk))
                    ),
                )
                for q in questions
            ),
        )
        _VIEWS[cache_key] = view
    return view


def campaign_schema(campaign: Campaign) -> SchemaView:
    if campaign.task_schema_id is None:
        raise InvalidTaskSchema(f"Campaign {campaign.slug} has no task schema.")
    return get_schema_view(campaign.task_schema)


def schema_for_assignment(*, campaign: Campaign, assignment) -> SchemaView:
    """The questions an assignment answers: the campaign's current version, or for a submitted
    item the version its label was made under (an edit answers the same questions)."""
    from annotate.models import Annotation, AssignmentStatus

    if assignment.status == AssignmentStatus.SUBMITTED:
        annotation = Annotation.objects.select_related("task_schema").filter(assignment=assignment).first()
        if annotation is not None and annotation.task_schema_id:
            return get_schema_view(annotation.task_schema)
    return campaign_schema(campaign)


def check_question_specs(questions: Sequence[QuestionSpec]) -> None:
    """Raise InvalidTaskSchema naming the first question that breaks a rule."""
    if not questions:
        raise InvalidTaskSchema("A task needs at least one question.")
    seen: set[str] = set()
    primaries = 0
    for spec in questions:
        where = f'question "{spec.key}"'
        if not _KEY.match(spec.key):
            raise InvalidTaskSchema(f"{where}: keys are lower-case letters, digits and _, starting with a letter.")
        if spec.key in seen:
            raise InvalidTaskSchema(f"{where}: the key is used twice.")
        seen.add(spec.key)
        if spec.kind == QuestionKind.TEXT:
            if spec.options:
                raise InvalidTaskSchema(f"{where}: a free-text question has no options.")
        else:
            _check_options(spec, where)
        if spec.kind == QuestionKind.PAIRWISE and spec.target != QuestionTarget.PAIR:
            raise InvalidTaskSchema(f"{where}: a pairwise question is about the pair.")
        if spec.primary:
            primaries += 1
            if spec.kind != QuestionKind.PAIRWISE:
                raise InvalidTaskSchema(f"{where}: only a pairwise question can be the overall preference.")
    if primaries > 1:
        raise InvalidTaskSchema("At most one question is the overall preference (primary).")


def _check_options(spec: QuestionSpec, where: str) -> None:
    if not spec.options:
        raise InvalidTaskSchema(f"{where}: needs options.")
    if len(spec.options) > MAX_OPTIONS:
        raise InvalidTaskSchema(f"{where}: at most {MAX_OPTIONS} options (one digit key each).")
    codes = [o.code for o in spec.options]
    if len(set(codes)) != len(codes) or any(not code for code in codes):
        raise InvalidTaskSchema(f"{where}: option codes must be non-empty and distinct.")
    values = [o.value for o in spec.options if o.value is not None]
    if len(set(values)) != len(values):
        raise InvalidTaskSchema(f"{where}: option values must be distinct.")
    if spec.kind == QuestionKind.PAIRWISE:
        if set(values) != {-v for v in values}:
            raise InvalidTaskSchema(
                f"{where}: a pairwise scale must be symmetric around 0 (negative favours A), got {sorted(values)}."
            )
        if any(abs(v) > 9 for v in values):
            raise InvalidTaskSchema(f"{where}: pairwise values run from -9 to 9 at most.")
    elif len(values) != len(spec.options):
        raise InvalidTaskSchema(f"{where}: every option needs a value.")


def create_task_schema(
    *, campaign: Campaign, questions: Sequence[QuestionSpec], template: str = ""
) -> TaskSchema:
    """Store the questions as the campaign's next schema version and make it current."""
    check_question_specs(questions)
    # One transaction, with the campaign row locked: two saves never take the same version.
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        latest = locked.task_schemas.order_by("-version").values_list("version", flat=True).first()
        schema = TaskSchema.objects.create(campaign=locked, version=(latest or 0) + 1, template=template)
        for order, spec in enumerate(questions):
            question = Question.objects.create(
                schema=schema, key=spec.key, kind=spec.kind, target=spec.target, label=spec.label,
                help_text=spec.help_text, required=spec.required, order=order, group=spec.group,
                primary=spec.primary, max_length=spec.max_length,
            )
            QuestionOption.objects.bulk_create(
                QuestionOption(
                    question=question, value=option.value, code=option.code, label=option.label,
                    description=option.description, order=i,
                )
                for i, option in enumerate(spec.options)
            )
        Campaign.objects.filter(pk=campaign.pk).update(task_schema=schema)
    campaign.task_schema = schema
    return schema


def create_task_schema_from_template(*, campaign: Campaign, template: str = DEFAULT_TEMPLATE) -> TaskSchema:
    if template not in TEMPLATES:
        raise InvalidTaskSchema(f'Unknown task template "{template}"; choose one of {", ".join(sorted(TEMPLATES))}.')
    return create_task_schema(campaign=campaign, questions=TEMPLATES[template].questions, template=template)
