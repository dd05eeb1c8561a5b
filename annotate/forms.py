from __future__ import annotations

from dataclasses import dataclass

from django import forms

from annotate.models import QuestionKind, SkipReason
from annotate.services.annotations import measured_time_spent
from annotate.services.answers import AnswerInput, slot_letter
from annotate.services.task_schemas import OptionView, QuestionView, SchemaView

# A draft's text is cut here when its question sets no maximum length.
DRAFT_TEXT_LIMIT = 20_000


def field_name(question: QuestionView, slot: int | None) -> str:
    """``overall`` for a question about the pair, ``helpfulness-a`` for response A's answer."""
    return question.key if slot is None else f"{question.key}-{slot_letter(slot).lower()}"


@dataclass(frozen=True)
class OptionChoice:
    option: OptionView
    key: str  # the digit that picks it
    widget: object  # the bound radio / checkbox subwidget


@dataclass(frozen=True)
class AnswerUnit:
    """One thing to answer on screen: a question, for the pair or for one response."""

    question: QuestionView
    slot: int | None
    field: forms.BoundField
    choices: tuple[OptionChoice, ...]

    @property
    def response_letter(self) -> str:
        return slot_letter(self.slot) if self.slot is not None else ""

    @property
    def dom_id(self) -> str:
        return f"unit-{self.field.auto_id}"  # unique per assignment, like the fields


class TaskAnswerForm(forms.Form):
    """The annotator's answers to a task schema, in display slots (A = first shown).

    Fields are built from the schema: one per question about the pair, one per response for
    per-response questions. ``to_answers`` gives :class:`AnswerInput` values that the
    annotation service maps back to response positions.
    """

    time_spent_seconds = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, schema: SchemaView, n_responses: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.n_responses = n_responses
        self._units: list[tuple[QuestionView, int | None]] = []
        for question, slot in _units_in_screen_order(schema, n_responses):
            self._units.append((question, slot))
            self.fields[field_name(question, slot)] = _field_for(question)

    def units(self) -> list[AnswerUnit]:
        units = []
        for question, slot in self._units:
            bound = self[field_name(question, slot)]
            choices = ()
            if question.kind != QuestionKind.TEXT:
                subwidgets = list(bound)
                choices = tuple(
                    OptionChoice(option=option, key=question.key_for(i, option), widget=subwidgets[i])
                    for i, option in enumerate(question.options)
                )
            units.append(AnswerUnit(question=question, slot=slot, field=bound, choices=choices))
        return units

    def draft_from(self, data) -> dict:
        """The posted form state worth keeping as a draft: known option codes only (one for a
        single choice), text no longer than its question allows. Bounded whatever is posted."""
        draft: dict = {}
        for question, slot in self._units:
            name = field_name(question, slot)
            values = [v for v in data.getlist(name) if v]
            if not values:
                continue
            if question.kind == QuestionKind.TEXT:
                draft[name] = values[0][: question.max_length or DRAFT_TEXT_LIMIT]
                continue
            known = [v for v in dict.fromkeys(values) if v in question.option_by_code]
            if question.kind == QuestionKind.CHOICES:
                if known:
                    draft[name] = known
            elif known:
                draft[name] = known[-1]
        return draft

    def clean(self):
        cleaned = super().clean()
        # A single-choice field posted twice (a tampered or duplicated form) is refused, not
        # resolved by whichever value came last.
        for question, slot in self._units:
            name = field_name(question, slot)
            if question.kind not in (QuestionKind.TEXT, QuestionKind.CHOICES) and len(self.data.getlist(name)) > 1:
                self.add_error(name, "Choose one answer.")
        return cleaned

    def clean_time_spent_seconds(self):
        # The browser's timer is advisory: a value it cannot have produced is dropped, not an error.
        return measured_time_spent(self.cleaned_data.get("time_spent_seconds"))

    def to_answers(self) -> list[AnswerInput]:
        data = self.cleaned_data
        answers = []
        for question, slot in self._units:
            value = data.get(field_name(question, slot))
            if question.kind == QuestionKind.TEXT:
                if value and value.strip():
                    answers.append(AnswerInput(question=question.key, slot=slot, text=value))
            elif question.kind == QuestionKind.CHOICES:
                if value:
                    answers.append(AnswerInput(question=question.key, slot=slot, codes=tuple(value)))
            elif value:
                answers.append(AnswerInput(question=question.key, slot=slot, codes=(value,)))
        return answers

    def describe_answer(self) -> str:
        """The submitted answer as plain text, for an annotator whose submission was lost."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        lines = []
        for question, slot in self._units:
            value = data.get(field_name(question, slot))
            if not value:
                continue
            where = question.label + (f" (response {slot_letter(slot)})" if slot is not None else "")
            if question.kind == QuestionKind.TEXT:
                lines.append(f"{where}: {value}")
            else:
                codes = value if isinstance(value, list) else [value]
                labels = [question.option_by_code[c].label for c in codes if c in question.option_by_code]
                lines.append(f"{where}: {', '.join(labels)}")
        return "\n".join(lines)


def initial_from_answers(schema: SchemaView, answers) -> dict:
    """Form initial values (field name → code, codes or text) from answers in display slots."""
    initial: dict = {}
    for answer in answers:
        question = schema.by_key.get(answer.question)
        if question is None:
            continue
        name = field_name(question, answer.slot)
        if question.kind == QuestionKind.TEXT:
            initial[name] = answer.text
        elif question.kind == QuestionKind.CHOICES:
            initial[name] = list(answer.codes)
        elif answer.codes:
            initial[name] = answer.codes[0]
    return initial


def _units_in_screen_order(schema: SchemaView, n_responses: int):
    """Questions in schema order; a run of per-response questions of one group is asked
    response by response (all of A's ratings, then B's), as HelpSteer2 annotators rate."""
    if schema.compares_pairs and n_responses != 2:
        return  # such an item cannot be answered (the workspace says so and offers a skip)
    questions = list(schema.questions)
    i = 0
    while i < len(questions):
        question = questions[i]
        if not question.per_response:
            yield question, None
            i += 1
            continue
        run = [question]
        while i + len(run) < len(questions):
            nxt = questions[i + len(run)]
            if not nxt.per_response or nxt.group != question.group or not question.group:
                break
            run.append(nxt)
        for slot in range(n_responses):
            for member in run:
                yield member, slot
        i += len(run)


def _field_for(question: QuestionView) -> forms.Field:
    common = {"label": question.label, "required": question.required, "help_text": question.help_text}
    if question.kind == QuestionKind.TEXT:
        return forms.CharField(
            max_length=question.max_length, strip=True, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    choices = [(option.code, option.label) for option in question.options]
    if question.kind == QuestionKind.CHOICES:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)


class SkipForm(forms.Form):
    reason = forms.ChoiceField(choices=SkipReason.choices, widget=forms.RadioSelect)
    note = forms.CharField(required=False, max_length=500)

    def error_text(self) -> str:
        return " ".join(f"{self.fields[name].label or name.capitalize()}: {' '.join(errors)}" for name, errors in self.errors.items())


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON Lines, optionally gzip-compressed.")
    file_format = forms.ChoiceField(label="Format")

    def __init__(self, *args, format_choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file_format"].choices = format_choices


class ExportForm(forms.Form):
    """The researcher's export options; ``annotate.services.exports`` checks them again."""

    format = forms.ChoiceField(choices=())
    file_type = forms.ChoiceField(choices=[("parquet", "Parquet"), ("jsonl", "JSON lines")], initial="parquet")
    gzip = forms.BooleanField(required=False, label="gzip (JSON lines only)")
    split = forms.BooleanField(required=False, label="Train/validation split by prompt")
    validation_fraction = forms.FloatField(min_value=0.01, max_value=0.99, initial=0.1)
    sources = forms.MultipleChoiceField(
        required=False,
        choices=[("human", "Human"), ("imported", "Imported"), ("llm", "LLM")],
        widget=forms.CheckboxSelectMultiple,
        label="Label sources (none ticked = all)",
    )
    pools = forms.CharField(required=False, label="Pools (comma-separated; blank = all)")
    min_agreement = forms.FloatField(required=False, min_value=0, max_value=1, label="Minimum agreement")
    created_from = forms.DateField(required=False, label="Labels from (date)")
    created_to = forms.DateField(required=False, label="Labels before (date)")
    license = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, formats: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = list(formats.items())

    def export_options(self) -> dict:
        data = self.cleaned_data
        pools = [p.strip() for p in data["pools"].split(",") if p.strip()] if data["pools"] else []
        return {
            "file_type": data["file_type"],
            "gzip": data["gzip"],
            "split": data["split"],
            "validation_fraction": data["validation_fraction"],
            "sources": data["sources"],
            "pools": pools,
            "min_agreement": data["min_agreement"],
            "created_from": data["created_from"].isoformat() if data["created_from"] else None,
            "created_to": data["created_to"].isoformat() if data["created_to"] else None,
            "license": data["license"],
        }
