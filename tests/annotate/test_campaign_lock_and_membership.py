"""A locked campaign takes no new labels; a deactivated membership grants nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotate.models import Annotation, CampaignMembership, CampaignRole
from annotate.selectors import campaigns_visible_to
from annotate.services.annotations import SubmissionRejected, submit_annotation
from annotate.services.assignments import claim_next_assignment
from tests.conftest import logged_in, pairwise_answers

pytestmark = pytest.mark.django_db


def test_a_locked_campaign_hands_out_no_items(campaign, annotator):
    campaign.locked_at = timezone.now()
    campaign.save(update_fields=["locked_at"])
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None


def test_an_open_assignment_cannot_be_submitted_after_the_lock_and_nothing_is_stored(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    campaign.locked_at = timezone.now()
    campaign.save(update_fields=["locked_at"])
    with pytest.raises(SubmissionRejected, match="locked"):
        submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(-2))
    assert not Annotation.objects.filter(campaign=campaign).exists()


def test_a_submitted_label_cannot_be_edited_once_locked(campaign, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(-2))
    campaign.locked_at = timezone.now()
    campaign.save(update_fields=["locked_at"])
    with pytest.raises(SubmissionRejected, match="closed"):
        submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(2))
    assert Annotation.objects.get(assignment=assignment).overall_preference == -2


def test_a_deactivated_member_no_longer_sees_the_campaign(campaign, annotator):
    CampaignMembership.objects.filter(campaign=campaign, user=annotator, role=CampaignRole.ANNOTATOR).update(
        is_active=False
    )
    assert campaign not in campaigns_visible_to(annotator)
    assert logged_in(annotator).get(f"/campaigns/{campaign.slug}/label/").status_code == 404
