"""The people page: a PM sees this campaign's members with their work, changes their role and
pool, deactivates and reactivates them; the campaign always keeps an active PM."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import CampaignMembership, CampaignRole
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaigns import add_member
from tests.conftest import build_campaign, logged_in, make_user, pairwise_answers


def membership_of(campaign, user, role=CampaignRole.ANNOTATOR):
    return CampaignMembership.objects.get(campaign=campaign, user=user, role=role)


@pytest.fixture
def pooled(campaign):
    campaign.pools = ["normal", "expert"]
    campaign.save(update_fields=["pools"])
    return campaign


def label_one(campaign, user):
    assignment = claim_next_assignment(campaign=campaign, annotator=user)
    submit_annotation(assignment_id=assignment.pk, annotator=user, answers=pairwise_answers(-1))


def test_people_page_lists_members_with_labels_done_and_last_activity(campaign, pm, annotator):
    label_one(campaign, annotator)
    response = logged_in(pm).get(reverse("campaign_people", args=[campaign.slug]))
    rows = {(row.username, row.role): row for row, _form in response.context["member_rows"]}
    assert rows[("annotator1", "annotator")].labels == 1
    assert rows[("annotator1", "annotator")].last_activity is not None
    assert rows[("annotator2", "annotator")].labels == 0 and rows[("annotator2", "annotator")].last_activity is None
    assert set(rows) == {("pm", "project_manager"), ("annotator1", "annotator"), ("annotator2", "annotator"), ("researcher", "researcher")}


def test_pm_never_sees_another_campaigns_people(campaign, pm):
    other_pm = make_user("other-pm")
    other = build_campaign(pm=other_pm, n_instances=0, name="Other")
    add_member(campaign=other, user=make_user("their-annotator"), role=CampaignRole.ANNOTATOR)
    page = logged_in(pm).get(reverse("campaign_people", args=[campaign.slug])).content.decode()
    assert "their-annotator" not in page and "other-pm" not in page
    theirs = membership_of(other, other_pm, CampaignRole.PROJECT_MANAGER)
    response = logged_in(pm).post(
        reverse("set_campaign_member_active", args=[campaign.slug, theirs.pk]), {"active": "0"}
    )
    assert response.status_code == 404 and CampaignMembership.objects.get(pk=theirs.pk).is_active


def test_pm_changes_a_members_role_and_pool(pooled, pm, annotator):
    membership = membership_of(pooled, annotator)
    response = logged_in(pm).post(
        reverse("update_campaign_member", args=[pooled.slug, membership.pk]),
        {f"m{membership.pk}-role": "researcher", f"m{membership.pk}-pool": "expert"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.pool) == ("researcher", "expert")


def test_unknown_pool_is_refused_with_a_specific_error(pooled, pm, annotator):
    membership = membership_of(pooled, annotator)
    response = logged_in(pm).post(
        reverse("update_campaign_member", args=[pooled.slug, membership.pk]),
        {f"m{membership.pk}-role": "annotator", f"m{membership.pk}-pool": "gold"},
    )
    assert response.status_code == 400 and "gold is not one of the available choices" in response.content.decode()
    membership.refresh_from_db()
    assert membership.pool == ""


def test_giving_a_role_the_member_already_holds_is_refused(campaign, pm, annotator):
    add_member(campaign=campaign, user=annotator, role=CampaignRole.RESEARCHER)
    membership = membership_of(campaign, annotator)
    response = logged_in(pm).post(
        reverse("update_campaign_member", args=[campaign.slug, membership.pk]),
        {f"m{membership.pk}-role": "researcher", f"m{membership.pk}-pool": ""},
    )
    assert response.status_code == 400 and "already has the role researcher" in response.content.decode()
    assert membership_of(campaign, annotator).role == "annotator"


def test_deactivated_member_loses_access_and_reactivated_one_gets_it_back(campaign, pm, annotator):
    membership = membership_of(campaign, annotator)
    client = logged_in(pm)
    url = reverse("set_campaign_member_active", args=[campaign.slug, membership.pk])
    client.post(url, {"active": "0"})
    assert logged_in(annotator).get(reverse("campaign_detail", args=[campaign.slug])).status_code == 404
    client.post(url, {"active": "1"})
    assert logged_in(annotator).get(reverse("campaign_detail", args=[campaign.slug])).status_code == 200


def test_last_pm_cannot_deactivate_themselves(campaign, pm):
    membership = membership_of(campaign, pm, CampaignRole.PROJECT_MANAGER)
    response = logged_in(pm).post(
        reverse("set_campaign_member_active", args=[campaign.slug, membership.pk]), {"active": "0"}
    )
    assert response.status_code == 400 and "last active project manager" in response.content.decode()
    assert CampaignMembership.objects.get(pk=membership.pk).is_active


def test_last_pm_cannot_give_up_the_role(campaign, pm):
    membership = membership_of(campaign, pm, CampaignRole.PROJECT_MANAGER)
    response = logged_in(pm).post(
        reverse("update_campaign_member", args=[campaign.slug, membership.pk]),
        {f"m{membership.pk}-role": "annotator", f"m{membership.pk}-pool": ""},
    )
    assert response.status_code == 400 and "last active project manager" in response.content.decode()
    assert CampaignMembership.objects.get(pk=membership.pk).role == "project_manager"


def test_a_pm_may_step_down_when_another_pm_remains(campaign, pm, researcher):
    add_member(campaign=campaign, user=researcher, role=CampaignRole.PROJECT_MANAGER)
    membership = membership_of(campaign, pm, CampaignRole.PROJECT_MANAGER)
    response = logged_in(pm).post(
        reverse("set_campaign_member_active", args=[campaign.slug, membership.pk]), {"active": "0"}
    )
    assert response.status_code == 302 and response.url == reverse("home")
    assert not CampaignMembership.objects.get(pk=membership.pk).is_active


# --- who may open the PM pages ---------------------------------------------------------------


def pm_page_urls(campaign) -> list[tuple[str, str]]:
    membership = campaign.memberships.first()
    instance = campaign.instances.first()
    return [
        ("get", reverse("campaign_people", args=[campaign.slug])),
        ("post", reverse("create_campaign_invite", args=[campaign.slug])),
        ("post", reverse("update_campaign_member", args=[campaign.slug, membership.pk])),
        ("post", reverse("set_campaign_member_active", args=[campaign.slug, membership.pk])),
        ("post", reverse("revoke_campaign_invite", args=[campaign.slug, 1])),
        ("get", reverse("campaign_data", args=[campaign.slug])),
        ("get", reverse("campaign_instance", args=[campaign.slug, instance.pk])),
    ]


def test_people_and_data_pages_refuse_everyone_but_the_campaigns_pm(campaign, pm, annotator, researcher, outsider):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, n_instances=0, name="Other")
    refused = {"annotator": (annotator, 403), "researcher": (researcher, 403), "outsider": (outsider, 404), "other PM": (other_pm, 404)}
    for method, url in pm_page_urls(campaign):
        for who, (user, status) in refused.items():
            response = getattr(logged_in(user), method)(url)
            assert response.status_code == status, (who, url)
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login")), url
    assert CampaignMembership.objects.filter(is_active=False).count() == 0
    for method, url in pm_page_urls(campaign)[:1] + pm_page_urls(campaign)[5:]:
        assert getattr(logged_in(pm), method)(url).status_code == 200, url
