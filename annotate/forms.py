from __future__ import annotations

from django import forms

from annotate.judgements import PREFERENCE_LABELS, PairwiseJudgement
from annotate.models import Campaign

PREFERENCE_CHOICES = [(value, label) for value, label in PREFERENCE_LABELS.items()]


class PairwiseJudgementForm(forms.Form):
    """The annotator's pairwise answer; aspect fields are added from the campaign's config."""

    overall_preference = forms.TypedChoiceField(
        choices=PREFERENCE_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    justification = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    time_spent_seconds = forms.FloatField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, campaign: Campaign, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["justification"].required = campaign.require_justification
        for aspect in campaign.pairwise_aspects:
            self.fields[f"aspect_{aspect}"] = forms.TypedChoiceField(
                label=aspect.capitalize(),
                choices=PREFERENCE_CHOICES,
                coerce=int,
                required=False,
                empty_value=None,
                widget=forms.RadioSelect,
            )

    def aspect_fields(self):
        return [self[f"aspect_{aspect}"] for aspect in self.campaign.pairwise_aspects]

    def draft_field_names(self) -> list[str]:
        """The answer fields an autosaved draft may hold."""
        return [name for name in self.fields if name != "time_spent_seconds"]

    def describe_answer(self) -> str:
        """The submitted answer as plain text, for an annotator whose submission was lost."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        parts = []
        overall = data.get("overall_preference")
        if overall is not None:
            parts.append(f"Overall: {PREFERENCE_LABELS[overall]}")
        for aspect in self.campaign.pairwise_aspects:
            value = data.get(f"aspect_{aspect}")
            if value is not None:
                parts.append(f"{aspect.capitalize()}: {PREFERENCE_LABELS[value]}")
        if data.get("justification"):
            parts.append(f"Justification: {data['justification']}")
        return "\n".join(parts)

    def to_judgement(self) -> PairwiseJudgement:
        data = self.cleaned_data
        aspects = {
            aspect: data[f"aspect_{aspect}"]
            for aspect in self.campaign.pairwise_aspects
            if data.get(f"aspect_{aspect}") is not None
        }
        return PairwiseJudgement(
            overall_preference=data["overall_preference"],
            aspect_preferences=aspects,
            justification=data.get("justification") or "",
            time_spent_seconds=data.get("time_spent_seconds"),
        )


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON Lines, optionally gzip-compressed.")
    file_format = forms.ChoiceField(label="Format")

    def __init__(self, *args, format_choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file_format"].choices = format_choices
