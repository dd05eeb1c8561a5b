"""Forms of the project manager's campaign setup screens (create, settings, task, guidelines, clone)."""

from __future__ import annotations

from django import forms
from django.utils.text import slugify

from annotate.models import AggregationPolicy, Campaign, QuestionKind, QuestionTarget
from annotate.task_templates import TEMPLATES, OptionSpec, QuestionSpec


def _check_new_slug(slug: str) -> str:
    if Campaign.objects.filter(slug=slug).exists():
        raise forms.ValidationError(f'The slug "{slug}" is taken by another campaign; choose another.')
    return slug


class CampaignCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=80, required=False,
        help_text="Used in the campaign's addresses. Left empty, it is made from the name.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    template = forms.ChoiceField(
        choices=[(t.name, f"{t.label}: {t.description}") for t in TEMPLATES.values()],
        widget=forms.RadioSelect,
    )

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name")
        if name and not cleaned.get("slug"):
            slug = slugify(name)[:80]
            if not slug:
                self.add_error("slug", "The name has no letters or digits to make a slug from; enter one.")
                return cleaned
            cleaned["slug"] = slug
        if cleaned.get("slug"):
            try:
                _check_new_slug(cleaned["slug"])
            except forms.ValidationError as exc:
                self.add_error("slug", exc)
        return cleaned


class CampaignSettingsForm(forms.Form):
    overlap = forms.IntegerField(min_value=1, max_value=20, help_text="Annotators per instance (1–20).")
    lease_minutes = forms.IntegerField(min_value=1, max_value=24 * 60, help_text="Minutes an annotator holds an item.")
    pools = forms.CharField(
        required=False, help_text='Annotator pool names, separated by commas (e.g. "normal, expert").'
    )
    human_budget = forms.IntegerField(min_value=0, required=False, help_text="Most instances sent to humans; empty: no limit.")
    allowed_llm_annotators = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Which LLM annotators may label this campaign; none ticked: all of them.",
    )
    deadline = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    human_hourly_rate_usd = forms.DecimalField(
        required=False, min_value=0, max_digits=8, decimal_places=2, label="Hourly rate (USD)"
    )
    aggregation_policy = forms.ChoiceField(choices=AggregationPolicy.choices)
    randomize_response_order = forms.BooleanField(required=False, label="Randomise the order of responses")

    def __init__(self, *args, llm_annotators: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allowed_llm_annotators"].choices = [(name, name) for name in llm_annotators]

    def clean_pools(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["pools"].split(",") if name.strip()]
        for name in names:
            if len(name) > 40:
                raise forms.ValidationError(f'The pool name "{name[:40]}…" is longer than 40 characters.')
        return list(dict.fromkeys(names))

    @staticmethod
    def initial_for(campaign: Campaign) -> dict:
        return {
            "overlap": campaign.overlap, "lease_minutes": campaign.lease_minutes,
            "pools": ", ".join(campaign.pools), "human_budget": campaign.human_budget,
            "allowed_llm_annotators": campaign.allowed_llm_annotators, "deadline": campaign.deadline,
            "human_hourly_rate_usd": campaign.human_hourly_rate_usd,
            "aggregation_policy": campaign.aggregation_policy,
            "randomize_response_order": campaign.randomize_response_order,
        }


class CloneCampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=80)
    include_instances = forms.BooleanField(required=False, label="Also copy its instances (never its labels)")

    def clean_slug(self) -> str:
        return _check_new_slug(self.cleaned_data["slug"])


class GuidelinesForm(forms.Form):
    markdown = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 20, "class": "wide"}), required=False, strip=False,
        label="Guidelines (Markdown)",
    )


class QuestionForm(forms.Form):
    """One question of the task editor; its options one per line as ``code | label | value | description``."""

    key = forms.CharField(max_length=60)
    # The blank choice lets the empty "add a question" row stay unchanged (and so be ignored).
    kind = forms.ChoiceField(choices=[("", "---------"), *QuestionKind.choices])
    target = forms.ChoiceField(choices=[("", "---------"), *QuestionTarget.choices])
    label = forms.CharField(max_length=500)
    help_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    required = forms.BooleanField(required=False)
    primary = forms.BooleanField(required=False, label="Overall preference")
    group = forms.CharField(required=False, max_length=60)
    max_length = forms.IntegerField(required=False, min_value=1)
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One option a line, in order: code | label | value | anchor description (value empty for none).",
    )

    def clean_options(self) -> tuple[OptionSpec, ...]:
        specs = []
        for n, line in enumerate(self.cleaned_data["options"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) < 3:
                raise forms.ValidationError(
                    f"Option line {n}: write code | label | value | description (at least code, label and value)."
                )
            code, label, value = parts[0], parts[1], parts[2]
            description = " | ".join(parts[3:])
            if value:
                try:
                    number = int(value)
                except ValueError:
                    raise forms.ValidationError(f'Option line {n}: the value "{value}" is not a whole number.') from None
            else:
                number = None
            specs.append(OptionSpec(code=code, label=label, value=number, description=description))
        return tuple(specs)

    def to_spec(self) -> QuestionSpec:
        d = self.cleaned_data
        return QuestionSpec(
            key=d["key"].strip(), kind=QuestionKind(d["kind"]), label=d["label"], options=d["options"],
            target=QuestionTarget(d["target"]), required=d["required"], primary=d["primary"],
            group=d["group"].strip(), help_text=d["help_text"], max_length=d["max_length"],
        )

    @staticmethod
    def initial_for(spec: QuestionSpec) -> dict:
        lines = [
            " | ".join([o.code, o.label, "" if o.value is None else str(o.value), *([o.description] if o.description else [])])
            for o in spec.options
        ]
        return {
            "key": spec.key, "kind": spec.kind, "target": spec.target, "label": spec.label,
            "help_text": spec.help_text, "required": spec.required, "primary": spec.primary,
            "group": spec.group, "max_length": spec.max_length, "options": "\n".join(lines),
        }


QuestionFormSet = forms.formset_factory(QuestionForm, extra=1, can_delete=True, can_order=True)
