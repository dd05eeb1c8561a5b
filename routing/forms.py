"""The "Route campaign" form: budget as a count or a share, strategy, main judge and jury."""

from __future__ import annotations

import math

from django import forms

from routing.models import RoutingStrategy


class RouteCampaignForm(forms.Form):
    budget = forms.DecimalField(
        min_value=0,
        decimal_places=2,
        help_text="Instances humans label in all: a count (e.g. 120) or a share with % (e.g. 30%).",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    budget_unit = forms.ChoiceField(
        choices=[("percent", "% of the instances"), ("count", "instances")]
    )
    strategy = forms.ChoiceField(
        choices=RoutingStrategy.choices, initial=RoutingStrategy.ERROR_MODEL
    )
    main = forms.ChoiceField(
        label="Main LLM judge",
        help_text="Its label is the one an LLM-routed item keeps unless the jury outweighs it.",
    )
    jury = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Other LLM annotators: their verdicts are routing signals and weigh in the jury label.",
    )

    seed_size = forms.IntegerField(
        required=False,
        min_value=0,
        label="Seed",
        help_text="Instances of the budget drawn at random for humans first: the judges' weights "
        "are measured on them. Empty: 20, at most half the budget. A re-route keeps the seed.",
    )

    def __init__(self, *args, annotators: list[str], n_instances: int, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(name, name) for name in annotators]
        self.fields["main"].choices = choices
        self.fields["jury"].choices = choices
        self.n_instances = n_instances
        self.fields["budget"].initial = 30
        self.fields["budget_unit"].initial = "percent"

    def clean(self):
        cleaned = super().clean()
        amount, unit = cleaned.get("budget"), cleaned.get("budget_unit")
        if amount is not None and unit == "percent" and amount > 100:
            self.add_error("budget", "A share cannot be more than 100%.")
        if amount is not None and unit == "count":
            if amount != amount.to_integral_value():
                self.add_error("budget", "A count of instances is a whole number.")
            elif amount > self.n_instances:
                self.add_error("budget", f"The campaign has {self.n_instances} instances.")
        seed_size = cleaned.get("seed_size")
        if (
            seed_size is not None
            and amount is not None
            and not self.errors.get("budget")
            and seed_size > self._budget_count(amount, unit)
        ):
            self.add_error("seed_size", "The seed is part of the budget: it cannot be larger.")
        main, jury = cleaned.get("main"), cleaned.get("jury") or []
        if main and main in jury:
            self.add_error("jury", f"{main} is the main judge; leave it out of the jury.")
        return cleaned

    def budget_count(self) -> int:
        return self._budget_count(self.cleaned_data["budget"], self.cleaned_data["budget_unit"])

    def _budget_count(self, amount, unit) -> int:
        if unit == "count":
            return int(amount)
        return min(self.n_instances, math.floor(float(amount) / 100 * self.n_instances + 0.5))

    def annotators(self) -> list[str]:
        return [self.cleaned_data["main"], *self.cleaned_data.get("jury", [])]
