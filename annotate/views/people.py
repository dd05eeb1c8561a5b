"""The people page (members, their roles and pools, invite links) and accepting an invite."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.forms_people import InviteForm, MembershipForm, SignUpForm
from annotate.models import CampaignRole
from annotate.permissions import (
    get_campaign_for_role_or_404,
    get_invite_of_campaign_or_404,
    get_membership_of_campaign_or_404,
)
from annotate.selectors_people import (
    list_campaign_invites,
    list_campaign_members,
)
from annotate.services.invites import (
    InviteError,
    InviteNotUsable,
    accept_invite,
    check_invite_usable,
    create_invite,
    find_invite,
    revoke_invite,
)
from annotate.services.people import (
    MembershipChangeRefused,
    change_membership,
    set_membership_active,
)

PM = {CampaignRole.PROJECT_MANAGER.value}


def _people_page(request, campaign, *, invite_form=None, created=None, error: str = "", status: int = 200):
    members = list_campaign_members(campaign=campaign)
    context = {
        "campaign": campaign,
        "member_rows": [
            (m, MembershipForm(campaign=campaign, initial={"role": m.role, "pool": m.pool}, prefix=f"m{m.membership_id}"))
            for m in members
        ],
        "invites": list_campaign_invites(campaign=campaign),
        "invite_form": invite_form or InviteForm(campaign=campaign),
        "created": created,
        "created_link": request.build_absolute_uri(reverse("accept_invite", args=[created.token])) if created else "",
        "email_configured": bool(settings.EMAIL_HOST),
        "error": error,
    }
    return render(request, "annotate/people/page.html", context, status=status)


@login_required
@require_GET
def campaign_people(request, slug: str):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    return _people_page(request, campaign)


@login_required
@require_POST
def create_campaign_invite(request, slug: str):
    """Make an invite link and show it once (only its hash is kept)."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    form = InviteForm(request.POST, campaign=campaign)
    if not form.is_valid():
        return _people_page(request, campaign, invite_form=form, status=400)
    data = form.cleaned_data
    try:
        created = create_invite(
            campaign=campaign,
            role=data["role"],
            pool=data["pool"],
            created_by=request.user,
            expires_in=timedelta(days=data["expires_in_days"]),
            email=data["email"],
            accept_url_of=lambda token: request.build_absolute_uri(reverse("accept_invite", args=[token])),
        )
    except InviteError as exc:
        return _people_page(request, campaign, invite_form=form, error=str(exc), status=400)
    return _people_page(request, campaign, created=created)


@login_required
@require_POST
def revoke_campaign_invite(request, slug: str, invite_id: int):
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    invite = get_invite_of_campaign_or_404(campaign=campaign, invite_id=invite_id)
    if revoke_invite(invite=invite):
        messages.success(request, "Invite withdrawn: its link no longer works.")
    else:
        messages.error(request, "This invite was already used or withdrawn; nothing changed.")
    return redirect("campaign_people", slug=campaign.slug)


@login_required
@require_POST
def update_campaign_member(request, slug: str, membership_id: int):
    """Change a member's role and pool."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    membership = get_membership_of_campaign_or_404(campaign=campaign, membership_id=membership_id)
    form = MembershipForm(request.POST, campaign=campaign, prefix=f"m{membership.pk}")
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return _people_page(request, campaign, error=f"Nothing changed: {problems}", status=400)
    try:
        change_membership(membership=membership, role=form.cleaned_data["role"], pool=form.cleaned_data["pool"])
    except MembershipChangeRefused as exc:
        return _people_page(request, campaign, error=f"Nothing changed: {exc}", status=400)
    messages.success(request, "Member updated.")
    return redirect("campaign_people", slug=campaign.slug)


@login_required
@require_POST
def set_campaign_member_active(request, slug: str, membership_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) a member."""
    campaign = get_campaign_for_role_or_404(user=request.user, slug=slug, roles=PM)
    membership = get_membership_of_campaign_or_404(campaign=campaign, membership_id=membership_id)
    if request.POST.get("active") not in ("0", "1"):
        return _people_page(request, campaign, error="Nothing changed: say active=1 or active=0.", status=400)
    is_active = request.POST["active"] == "1"
    try:
        set_membership_active(membership=membership, is_active=is_active)
    except MembershipChangeRefused as exc:
        return _people_page(request, campaign, error=f"Nothing changed: {exc}", status=400)
    messages.success(request, "Member reactivated." if is_active else "Member deactivated: the campaign grants them nothing now.")
    if membership.user_id == request.user.pk and not is_active:
        return redirect("home")
    return redirect("campaign_people", slug=campaign.slug)


@require_http_methods(["GET", "POST"])
def accept_invite_page(request, token: str):
    """Join a campaign with an invite link: logged in, with one click; otherwise by making an
    account (or logging in first). Used, expired, withdrawn and unknown links say so."""
    try:
        invite = check_invite_usable(find_invite(token=token))
    except InviteNotUsable as exc:
        return render(
            request, "annotate/people/invite_unusable.html", {"message": str(exc)},
            status=404 if exc.state == "unknown" else 410,
        )
    context = {"invite": invite, "campaign_name": invite.campaign.name, "error": "", "form": None}
    if request.method == "GET":
        if not request.user.is_authenticated:
            context["form"] = SignUpForm()
        return render(request, "annotate/people/invite_accept.html", context)
    if request.user.is_authenticated:
        user = request.user
        try:
            accept_invite(token=token, user=user)
        except InviteError as exc:
            context["error"] = str(exc)
            return render(request, "annotate/people/invite_accept.html", context, status=409)
    else:
        form = SignUpForm(request.POST)
        context["form"] = form
        if not form.is_valid():
            return render(request, "annotate/people/invite_accept.html", context, status=400)
        try:
            # One transaction: no account is left behind when the invite was used meanwhile.
            with transaction.atomic():
                user = form.save()
                accept_invite(token=token, user=user)
        except InviteError as exc:
            context["error"] = str(exc)
            return render(request, "annotate/people/invite_accept.html", context, status=409)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"You joined {invite.campaign.name} as {invite.get_role_display().lower()}.")
    return redirect("campaign_detail", slug=invite.campaign.slug)
