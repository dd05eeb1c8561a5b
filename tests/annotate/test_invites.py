"""Invite links: a PM makes one per role and pool; it joins one person once, until it expires
or is withdrawn; only its hash is stored."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotate.models import CampaignMembership, CampaignRole, Invite
from annotate.services.campaigns import add_member
from annotate.services.invites import (
    InviteError,
    InviteNotUsable,
    accept_invite,
    create_invite,
    hash_invite_token,
)
from tests.conftest import build_campaign, logged_in, make_user


@pytest.fixture
def pooled_campaign(pm):
    campaign = build_campaign(pm=pm, n_instances=0)
    campaign.pools = ["normal", "expert"]
    campaign.save(update_fields=["pools"])
    return campaign


def new_invite(campaign, pm, **options):
    options.setdefault("role", CampaignRole.ANNOTATOR)
    return create_invite(campaign=campaign, created_by=pm, **options)


def test_invite_stores_only_the_hash_of_its_token(pooled_campaign, pm):
    created = new_invite(pooled_campaign, pm)
    invite = Invite.objects.get()
    assert invite.token_hash == hash_invite_token(created.token) and created.token not in invite.token_hash
    assert timedelta(days=6, hours=23) < invite.expires_at - timezone.now() <= timedelta(days=7)


def test_accepting_gives_the_role_in_the_invites_pool(pooled_campaign, pm, annotator):
    created = new_invite(pooled_campaign, pm, pool="expert")
    membership = accept_invite(token=created.token, user=annotator)
    assert (membership.role, membership.pool, membership.is_active) == ("annotator", "expert", True)
    invite = Invite.objects.get()
    assert invite.used_by == annotator and invite.used_at is not None


def test_second_use_of_an_invite_is_refused(pooled_campaign, pm, annotator, second_annotator):
    created = new_invite(pooled_campaign, pm)
    accept_invite(token=created.token, user=annotator)
    with pytest.raises(InviteNotUsable, match="already been used"):
        accept_invite(token=created.token, user=second_annotator)
    assert not CampaignMembership.objects.filter(user=second_annotator).exists()


def test_expired_invite_is_refused(pooled_campaign, pm, annotator):
    created = new_invite(pooled_campaign, pm)
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InviteNotUsable, match="expired"):
        accept_invite(token=created.token, user=annotator)
    assert not CampaignMembership.objects.filter(user=annotator).exists()


def test_revoked_invite_is_refused_and_a_used_one_cannot_be_revoked(pooled_campaign, pm, annotator):
    from annotate.services.invites import revoke_invite

    revoked = new_invite(pooled_campaign, pm)
    assert revoke_invite(invite=revoked.invite) is True
    with pytest.raises(InviteNotUsable, match="withdrawn"):
        accept_invite(token=revoked.token, user=annotator)
    used = new_invite(pooled_campaign, pm)
    accept_invite(token=used.token, user=annotator)
    assert revoke_invite(invite=used.invite) is False
    assert Invite.objects.get(pk=used.invite.pk).revoked_at is None


def test_unknown_token_is_refused(db, annotator):
    with pytest.raises(InviteNotUsable, match="not valid"):
        accept_invite(token="no-such-token", user=annotator)


def test_existing_member_gets_the_new_pool_not_a_second_membership(pooled_campaign, pm, annotator):
    add_member(campaign=pooled_campaign, user=annotator, role=CampaignRole.ANNOTATOR, pool="normal")
    accept_invite(token=new_invite(pooled_campaign, pm, pool="expert").token, user=annotator)
    memberships = CampaignMembership.objects.filter(campaign=pooled_campaign, user=annotator)
    assert [(m.role, m.pool) for m in memberships] == [("annotator", "expert")]


def test_invite_does_not_reactivate_a_deactivated_member_and_stays_unused(pooled_campaign, pm, annotator):
    membership = add_member(campaign=pooled_campaign, user=annotator, role=CampaignRole.ANNOTATOR)
    CampaignMembership.objects.filter(pk=membership.pk).update(is_active=False)
    created = new_invite(pooled_campaign, pm)
    with pytest.raises(InviteError, match="deactivated"):
        accept_invite(token=created.token, user=annotator)
    assert Invite.objects.get().used_at is None
    assert CampaignMembership.objects.get(pk=membership.pk).is_active is False


def test_pool_must_be_one_of_the_campaigns(pooled_campaign, pm):
    with pytest.raises(InviteError, match="not one of this campaign's pools"):
        new_invite(pooled_campaign, pm, pool="gold-team")
    assert not Invite.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_use_an_invite_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locking")
    pm = make_user("pm")
    campaign = build_campaign(pm=pm, n_instances=0)
    created = new_invite(campaign, pm)
    users = [make_user(f"racer{i}") for i in range(4)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def accept(user):
        try:
            barrier.wait()
            accept_invite(token=created.token, user=user)
            outcomes.append("joined")
        except InviteNotUsable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["joined", "refused", "refused", "refused"]
    assert CampaignMembership.objects.filter(campaign=campaign, role=CampaignRole.ANNOTATOR).count() == 1


# --- the pages --------------------------------------------------------------------------------


def test_pm_makes_an_invite_link_on_the_people_page_and_sees_it_once(pooled_campaign, pm):
    client = logged_in(pm)
    url = reverse("create_campaign_invite", args=[pooled_campaign.slug])
    response = client.post(url, {"role": "annotator", "pool": "expert", "expires_in_days": 3, "email": ""})
    assert response.status_code == 200
    link = response.context["created_link"]
    assert link.startswith("http://testserver/invites/") and link in response.content.decode()
    invite = Invite.objects.get()
    assert (invite.role, invite.pool) == ("annotator", "expert")
    assert timedelta(days=2, hours=23) < invite.expires_at - timezone.now() <= timedelta(days=3)
    page = client.get(reverse("campaign_people", args=[pooled_campaign.slug])).content.decode()
    assert link not in page and "open" in page


def test_invite_form_rejects_an_unknown_pool_with_a_specific_error(pooled_campaign, pm):
    response = logged_in(pm).post(
        reverse("create_campaign_invite", args=[pooled_campaign.slug]),
        {"role": "annotator", "pool": "nope", "expires_in_days": 7},
    )
    assert response.status_code == 400 and "nope is not one of the available choices" in response.content.decode()
    assert not Invite.objects.exists()


def test_invite_is_emailed_when_email_is_configured(pooled_campaign, pm, settings):
    settings.EMAIL_HOST = "smtp.example.org"
    response = logged_in(pm).post(
        reverse("create_campaign_invite", args=[pooled_campaign.slug]),
        {"role": "researcher", "pool": "", "expires_in_days": 7, "email": "new@example.org"},
    )
    assert response.context["created"].emailed
    (message,) = mail.outbox
    assert message.to == ["new@example.org"] and response.context["created_link"] in message.body


def test_invite_is_not_emailed_without_email_host(pooled_campaign, pm, settings):
    settings.EMAIL_HOST = ""
    logged_in(pm).post(
        reverse("create_campaign_invite", args=[pooled_campaign.slug]),
        {"role": "annotator", "pool": "", "expires_in_days": 7, "email": "new@example.org"},
    )
    assert mail.outbox == [] and Invite.objects.get().email == "new@example.org"


def test_pm_revokes_an_open_invite_from_the_people_page(pooled_campaign, pm, annotator):
    created = new_invite(pooled_campaign, pm)
    client = logged_in(pm)
    client.post(reverse("revoke_campaign_invite", args=[pooled_campaign.slug, created.invite.pk]))
    assert Invite.objects.get().revoked_at is not None
    response = logged_in(annotator).get(reverse("accept_invite", args=[created.token]))
    assert response.status_code == 410 and "withdrawn" in response.content.decode()


def test_pm_cannot_revoke_another_campaigns_invite(pooled_campaign, pm):
    other_pm = make_user("other-pm")
    other = build_campaign(pm=other_pm, n_instances=0, name="Other")
    theirs = new_invite(other, other_pm)
    response = logged_in(pm).post(reverse("revoke_campaign_invite", args=[other.slug, theirs.invite.pk]))
    assert response.status_code == 404
    response = logged_in(pm).post(reverse("revoke_campaign_invite", args=[pooled_campaign.slug, theirs.invite.pk]))
    assert response.status_code == 404 and Invite.objects.get().revoked_at is None


def test_logged_in_user_joins_with_one_click(pooled_campaign, pm, annotator):
    created = new_invite(pooled_campaign, pm, pool="normal")
    client = logged_in(annotator)
    url = reverse("accept_invite", args=[created.token])
    assert "Join the campaign" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("campaign_detail", args=[pooled_campaign.slug])
    assert CampaignMembership.objects.get(user=annotator).pool == "normal"
    again = client.post(url)
    assert again.status_code == 410 and "already been used" in again.content.decode()


def test_visitor_makes_an_account_and_joins(pooled_campaign, pm):
    created = new_invite(pooled_campaign, pm, role=CampaignRole.RESEARCHER)
    client = Client()
    url = reverse("accept_invite", args=[created.token])
    response = client.post(url, {"username": "newcomer", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"})
    assert response.status_code == 302
    membership = CampaignMembership.objects.get(user__username="newcomer")
    assert membership.role == "researcher"
    assert client.get(reverse("campaign_detail", args=[pooled_campaign.slug])).status_code == 200


def test_visitor_with_a_weak_password_gets_the_validators_errors_and_nothing_is_used(pooled_campaign, pm):
    from django.contrib.auth import get_user_model

    created = new_invite(pooled_campaign, pm)
    response = Client().post(
        reverse("accept_invite", args=[created.token]), {"username": "newcomer", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 400 and "too short" in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()
    assert Invite.objects.get().used_at is None


def test_account_is_not_made_when_the_invite_was_used_meanwhile(pooled_campaign, pm, annotator):
    from django.contrib.auth import get_user_model

    created = new_invite(pooled_campaign, pm)
    client = Client()
    url = reverse("accept_invite", args=[created.token])
    client.get(url)
    accept_invite(token=created.token, user=annotator)
    response = client.post(url, {"username": "late", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"})
    assert response.status_code == 410 and "already been used" in response.content.decode()
    assert not get_user_model().objects.filter(username="late").exists()


@pytest.mark.parametrize(
    ("state", "status", "message"),
    [("unknown", 404, "not valid"), ("expired", 410, "expired"), ("used", 410, "already been used")],
)
def test_accept_page_says_why_an_invite_cannot_be_used(pooled_campaign, pm, annotator, state, status, message):
    created = new_invite(pooled_campaign, pm)
    token = created.token
    if state == "unknown":
        token = "x" + token
    elif state == "expired":
        Invite.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    else:
        accept_invite(token=token, user=annotator)
    response = Client().get(reverse("accept_invite", args=[token]))
    assert response.status_code == status and message in response.content.decode()


def test_a_failed_email_keeps_the_invite_and_shows_its_link(pooled_campaign, pm, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 9, False
    response = logged_in(pm).post(
        reverse("create_campaign_invite", args=[pooled_campaign.slug]),
        {"role": "annotator", "pool": "", "expires_in_days": 7, "email": "new@example.org"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "could not be sent" in page
    assert response.context["created_link"] in page and Invite.objects.count() == 1
