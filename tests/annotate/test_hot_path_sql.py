"""The annotator hot path's fixed-SQL reads (annotate.sql_rows) return what the ORM would:
the same rows, the same field values and types, the related objects already read."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from annotate.models import Assignment, Campaign, CampaignMembership, CampaignRole, QueueItemKind
from annotate.selectors import campaign_and_roles, open_queue_items_for, open_queue_items_for_sql
from annotate.services.assignments import claim_next_assignment, get_current_assignment
from annotate.services.campaigns import add_member
from annotate.services.quality import update_quality_settings
from annotate.templatetags.markup import render_markdown_safely
from tests.annotate.test_quality import label_one, mark
from tests.conftest import build_campaign


def fields_of(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_campaign_and_roles_reads_the_campaign_with_schema_guidelines_and_settings_in_one_query(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    add_member(campaign=campaign, user=annotator, role=CampaignRole.RESEARCHER)
    update_quality_settings(campaign=campaign, gold_every=5)
    expected = Campaign.objects.select_related("task_schema", "guidelines", "quality_settings").get(pk=campaign.pk)

    with CaptureQueriesContext(connection) as queries:
        found, roles = campaign_and_roles(user=annotator, slug=campaign.slug)
        schema, guidelines, settings = found.task_schema, found.guidelines, found.quality_settings
    assert len(queries) == 1
    assert roles == {CampaignRole.ANNOTATOR, CampaignRole.RESEARCHER}
    assert fields_of(found) == fields_of(expected)
    assert fields_of(schema) == fields_of(expected.task_schema)
    assert model_to_dict(guidelines) == model_to_dict(expected.guidelines)
    assert (settings.gold_every, settings.campaign is found) == (5, True)


def test_campaign_and_roles_without_quality_settings_or_an_active_membership(pm, annotator, outsider):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    found, _ = campaign_and_roles(user=annotator, slug=campaign.slug)
    with CaptureQueriesContext(connection) as queries:
        assert not hasattr(found, "quality_settings") or found.quality_settings is None
    assert len(queries) == 0
    assert campaign_and_roles(user=outsider, slug=campaign.slug) == (None, set())
    CampaignMembership.objects.filter(campaign=campaign, user=annotator).update(is_active=False)
    assert campaign_and_roles(user=annotator, slug=campaign.slug) == (None, set())


def test_the_current_lease_read_equals_the_orm_read_with_its_instance(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=2)
    leased = claim_next_assignment(campaign=campaign, annotator=annotator)
    Assignment.objects.filter(pk=leased.pk).update(draft={"overall": "A"})
    expected = Assignment.objects.select_related("instance").get(pk=leased.pk)

    with CaptureQueriesContext(connection) as queries:
        current = get_current_assignment(campaign=campaign, annotator=annotator)
        instance = current.instance
    assert len(queries) == 1
    assert fields_of(current) == fields_of(expected)
    assert isinstance(current.leased_at, datetime) and current.leased_at.tzinfo is not None
    assert current.draft == {"overall": "A"} and isinstance(current.display_order, list)
    assert fields_of(instance) == fields_of(expected.instance)


def same_rows(campaign, user) -> tuple[set[int], set[int]]:
    sql, params = open_queue_items_for_sql(campaign=campaign, annotator=user)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        by_sql = {row[0] for row in cursor.fetchall()}
    return by_sql, set(open_queue_items_for(campaign=campaign, annotator=user).values_list("pk", flat=True))


def test_open_items_sql_selects_the_querysets_rows_under_every_quality_gate(pm, annotator, second_annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=8, overlap=2)
    by_sql, by_orm = same_rows(campaign, annotator)
    assert by_sql == by_orm and len(by_sql) == 8  # no quality control

    mark(campaign, "item-0", QueueItemKind.GOLD, expected=0)
    mark(campaign, "item-1", QueueItemKind.ATTENTION, expected=0)
    update_quality_settings(campaign=campaign, gold_every=3, attention_check_every=4)
    for _ in range(3):  # checks held back, then one due
        by_sql, by_orm = same_rows(campaign, annotator)
        assert by_sql == by_orm and by_sql
        label_one(campaign, annotator, {})

    mark(campaign, "item-6", QueueItemKind.QUALIFICATION, expected=-2)
    mark(campaign, "item-7", QueueItemKind.QUALIFICATION, expected=2)
    update_quality_settings(campaign=campaign, qualification_pass_fraction=1.0)
    by_sql, by_orm = same_rows(campaign, second_annotator)  # test not taken: qualification only
    assert by_sql == by_orm and len(by_sql) == 2
    label_one(campaign, second_annotator, {"item-6": 2})
    label_one(campaign, second_annotator, {"item-6": 2})  # failed: nothing
    by_sql, by_orm = same_rows(campaign, second_annotator)
    assert by_sql == by_orm == set()


def test_markdown_is_rendered_once_per_text_and_long_texts_each_time():
    from annotate.templatetags import markup

    markup._render_markdown_cached.cache_clear()
    first = render_markdown_safely("**bold** <script>x</script>")
    assert render_markdown_safely("**bold** <script>x</script>") == first
    assert "<strong>bold</strong>" in first and "<script>" not in first
    assert markup._render_markdown_cached.cache_info().hits == 1
    long_text = "word " * (markup._CACHED_TEXT_CHARS // 5 + 1)
    assert render_markdown_safely(long_text) == render_markdown_safely(long_text)
    assert markup._render_markdown_cached.cache_info().currsize == 1


def test_the_expiry_sweep_returns_exactly_the_leases_the_orm_finds_past_their_expiry(pm, annotator, second_annotator):
    from datetime import timedelta

    from django.utils import timezone

    from annotate.models import AssignmentStatus
    from annotate.services.assignments import return_expired_slots

    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=4)
    other = build_campaign(pm=pm, annotators=[annotator], n_instances=1, name="Other campaign")
    now = timezone.now()
    past = claim_next_assignment(campaign=campaign, annotator=annotator)
    at_now = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    future = claim_next_assignment(campaign=other, annotator=annotator)
    Assignment.objects.filter(pk=past.pk).update(lease_expires_at=now - timedelta(seconds=1))
    Assignment.objects.filter(pk=at_now.pk).update(lease_expires_at=now)
    Assignment.objects.filter(pk=future.pk).update(lease_expires_at=now - timedelta(hours=1))
    expected = set(
        Assignment.objects.filter(
            campaign=campaign, status=AssignmentStatus.LEASED, lease_expires_at__lte=now
        ).values_list("pk", flat=True)
    )
    assert expected == {past.pk, at_now.pk}

    assert return_expired_slots(campaign=campaign, now=now) == 2
    expired = Assignment.objects.filter(status=AssignmentStatus.EXPIRED).values_list("pk", flat=True)
    assert set(expired) == expected  # the other campaign's lease is its own sweep's
    assert return_expired_slots(campaign=campaign, now=now) == 0


def orm_first_open_item(*, campaign, annotator):
    """The claim's pick spelled with the ORM (what the fixed statements must equal): the first
    untouched open item, else the first open item, in hand-out order."""
    from django.db.models import Exists, OuterRef

    from annotate.models import AssignmentStatus

    items = open_queue_items_for(campaign=campaign, annotator=annotator).annotate(
        theirs_expired=Exists(
            Assignment.objects.filter(
                instance_id=OuterRef("instance_id"), annotator=annotator, status=AssignmentStatus.EXPIRED
            )
        )
    )
    return items.filter(slots_taken=0).first() or items.first()


def test_past_a_window_of_their_own_items_the_claim_takes_what_the_orm_would(pm, annotator, second_annotator, monkeypatch):
    """An annotator ahead of the others: the window (2 items here) holds only their own
    submitted items, so the claim falls back to the first untouched item, then to a plain scan."""
    from annotate.services import assignments
    from annotate.services.annotations import submit_annotation
    from tests.conftest import pairwise_answers

    monkeypatch.setattr(assignments, "_CLAIM_WINDOW", 2)
    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=4, overlap=2)

    def label(person):
        leased = claim_next_assignment(campaign=campaign, annotator=person)
        submit_annotation(assignment_id=leased.pk, annotator=person, answers=pairwise_answers(1))
        return leased.instance_id

    mine = [label(annotator), label(annotator)]  # items 1 and 2: one slot taken each
    expected = orm_first_open_item(campaign=campaign, annotator=annotator)
    assert expected.slots_taken == 0 and expected.instance_id not in mine
    picked = assignments._first_open_item(campaign=campaign, annotator=annotator, wait=True)
    assert fields_of(picked) == fields_of(expected)
    assert (picked.theirs_expired, picked.instance.pk) == (False, expected.instance_id)

    # Their own lease on item 3, expired: its slot is back, and the claim (not waiting for
    # locks this time) takes it again, as theirs.
    from datetime import timedelta

    from django.utils import timezone

    from annotate.services.assignments import return_expired_slots

    expired = claim_next_assignment(campaign=campaign, annotator=annotator)
    return_expired_slots(campaign=campaign, now=timezone.now() + timedelta(days=1))
    expected = orm_first_open_item(campaign=campaign, annotator=annotator)
    assert (expected.instance_id, expected.theirs_expired) == (expired.instance_id, True)
    picked = assignments._first_open_item(campaign=campaign, annotator=annotator, wait=False)
    assert fields_of(picked) == fields_of(expected)
    assert (picked.theirs_expired, picked.instance.pk) == (True, expired.instance_id)
    Assignment.objects.filter(pk=expired.pk).delete()

    # Items 3 and 4 leased by others (a slot taken each): nothing untouched is left.
    from annotate.models import QueueItem

    others = QueueItem.objects.filter(campaign=campaign).exclude(instance_id__in=mine)
    others.update(slots_taken=1)
    expected = orm_first_open_item(campaign=campaign, annotator=annotator)
    assert expected.slots_taken == 1 and expected.instance_id not in mine
    picked = assignments._first_open_item(campaign=campaign, annotator=annotator, wait=True)
    assert fields_of(picked) == fields_of(expected)
    assert picked.instance.external_id == expected.instance.external_id

    others.update(slots_taken=2)  # full: only their own items are open
    assert orm_first_open_item(campaign=campaign, annotator=annotator) is None
    assert assignments._first_open_item(campaign=campaign, annotator=annotator, wait=True) is None


def test_an_instances_responses_are_read_as_the_orm_reads_them(pm, annotator):
    from annotate.models import Response
    from annotate.selectors import responses_by_position

    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=2)
    instance = campaign.instances.order_by("id").first()
    expected = {r.position: r for r in Response.objects.filter(instance=instance)}
    with CaptureQueriesContext(connection) as queries:
        found = responses_by_position(instance_id=instance.pk)
    assert len(queries) == 1
    assert sorted(found) == sorted(expected) == [0, 1]
    assert {p: fields_of(r) for p, r in found.items()} == {p: fields_of(r) for p, r in expected.items()}
    assert responses_by_position(instance_id=0) == {}


def test_the_submits_read_of_an_assignment_equals_the_orm_read_with_instance_and_pool(pm, annotator, second_annotator):
    from annotate.models import CampaignMembership
    from annotate.selectors import annotator_pool_of_assignment
    from annotate.selectors_queue import own_assignment_with_pool

    campaign = build_campaign(pm=pm, annotators=[annotator, second_annotator], n_instances=2)
    CampaignMembership.objects.filter(campaign=campaign, user=annotator).update(pool="experts")
    leased = claim_next_assignment(campaign=campaign, annotator=annotator)
    theirs = claim_next_assignment(campaign=campaign, annotator=second_annotator)
    Assignment.objects.filter(pk=leased.pk).update(draft={"overall": "A"}, display_order=[1, 0])
    expected = (
        Assignment.objects.select_related("instance")
        .annotate(annotator_pool=annotator_pool_of_assignment())
        .get(pk=leased.pk)
    )
    with CaptureQueriesContext(connection) as queries:
        found = own_assignment_with_pool(annotator=annotator, pk=leased.pk)
        instance = found.instance
    assert len(queries) == 1
    assert fields_of(found) == fields_of(expected)
    assert fields_of(instance) == fields_of(expected.instance)
    assert (found.annotator_pool, found.draft, found.display_order) == ("experts", {"overall": "A"}, [1, 0])
    assert own_assignment_with_pool(annotator=second_annotator, pk=theirs.pk).annotator_pool == ""
    assert own_assignment_with_pool(annotator=annotator, pk=theirs.pk) is None  # not theirs
