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
