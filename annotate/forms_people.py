"""Forms of the people page, the invite accept page and the data browser's filters."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from annotate.models import AnnotationSource, Campaign, CampaignRole, Route
from annotate.selectors_data import Agreement, DataFilters, InstanceStatus
from annotate.services.invites import DEFAULT_INVITE_DAYS, MAX_INVITE_DAYS, pool_choices_of


def _pool_field(campaign: Campaign) -> forms.ChoiceField:
    choices = [(pool, pool or "default pool") for pool in pool_choices_of(campaign)]
    return forms.ChoiceField(choices=choices, required=False, initial="")


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=CampaignRole.choices, initial=CampaignRole.ANNOTATOR)
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=MAX_INVITE_DAYS, initial=DEFAULT_INVITE_DAYS, label="Expires after (days)"
    )
    email = forms.EmailField(required=False, max_length=254, help_text="Optional: the link is also emailed when email is configured.")

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"] = _pool_field(campaign)


class MembershipForm(forms.Form):
    role = forms.ChoiceField(choices=CampaignRole.choices, widget=forms.Select(attrs={"aria-label": "Role"}))

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"] = _pool_field(campaign)
        self.fields["pool"].widget.attrs["aria-label"] = "Pool"


class SignUpForm(UserCreationForm):
    """A new account, its password checked by ``AUTH_PASSWORD_VALIDATORS``."""



class DataFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "any status"), *InstanceStatus.choices], required=False)
    route = forms.ChoiceField(choices=[("", "any route"), *Route.choices], required=False)
    source = forms.ChoiceField(choices=[("", "any source"), *AnnotationSource.choices], required=False, label="Label source")
    agreement = forms.ChoiceField(choices=[("", "any agreement"), *Agreement.choices], required=False)
    tag = forms.CharField(max_length=100, required=False)
    flagged = forms.BooleanField(required=False)
    skipped = forms.BooleanField(required=False)

    def filters(self) -> DataFilters:
        data = self.cleaned_data
        return DataFilters(
            status=data["status"],
            route=data["route"],
            source=data["source"],
            agreement=data["agreement"],
            tag=data["tag"].strip(),
            flagged=bool(data["flagged"]),
            skipped=bool(data["skipped"]),
        )
