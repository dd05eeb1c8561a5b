"""Campaign setup in the browser (issue 17): create from a template, settings, task editor,
guidelines and lifecycle, each a project manager's page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from annotate.models import (
    Annotation,
    Campaign,
    CampaignMembership,
    CampaignRole,
    CampaignStatus,
    JobRun,
)
from annotate.services.annotations import submit_annotation
from annotate.services.assignments import claim_next_assignment
from annotate.services.campaign_setup import (
    clone_campaign,
    close_campaign,
    lock_campaign,
    pause_campaign,
)
from annotate.services.campaigns import save_guidelines
from annotate.services.task_schemas import campaign_schema
from annotate.task_templates import TEMPLATES
from tests.conftest import HTMX, build_campaign, logged_in, make_user, pairwise_answers

PM_PAGES = ["campaign_settings", "campaign_task", "campaign_guidelines"]


def settings_post(**overrides) -> dict:
    data = {
        "overlap": "2", "lease_minutes": "45", "pools": "normal, expert", "human_budget": "100",
        "deadline": "2027-01-31T18:00", "human_hourly_rate_usd": "15.50",
        "aggregation_policy": "multipref_majority", "randomize_response_order": "on",
    }
    data.update(overrides)
    return data


def task_post(specs_initial: list[dict], *, extra_blank: bool = True) -> dict:
    """The task editor's POST for ``specs_initial`` (QuestionForm initial dicts), in order."""
    rows = [*specs_initial, *([{}] if extra_blank else [])]
    data = {"q-TOTAL_FORMS": str(len(rows)), "q-INITIAL_FORMS": str(len(specs_initial)),
            "q-MIN_NUM_FORMS": "0", "q-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        for name, value in row.items():
            if isinstance(value, bool):
                if value:
                    data[f"q-{i}-{name}"] = "on"
            elif value is not None:
                data[f"q-{i}-{name}"] = str(value)
    return data


def current_task_rows(campaign) -> list[dict]:
    from annotate.services.campaign_setup import question_specs_of
    from annotate.setup_forms import QuestionForm

    return [QuestionForm.initial_for(spec) | {"ORDER": i + 1} for i, spec in enumerate(question_specs_of(campaign))]


# --- who may open the pages -------------------------------------------------------------


@pytest.mark.parametrize("page", PM_PAGES)
def test_setup_pages_are_for_the_campaigns_project_managers_only(
    page, campaign, pm, annotator, researcher, outsider
):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Other campaign", n_instances=0)
    url = reverse(page, args=[campaign.slug])
    assert logged_in(pm).get(url).status_code == 200
    assert logged_in(make_user("root", is_superuser=True)).get(url).status_code == 200
    assert logged_in(other_pm).get(url).status_code == 404
    assert logged_in(outsider).get(url).status_code == 404
    assert logged_in(annotator).get(url).status_code == 403
    assert logged_in(researcher).get(url).status_code == 403
    assert logged_in(annotator).post(url, {}).status_code == 403
    from django.test import Client

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


@pytest.mark.parametrize("action", ["pause", "close", "lock"])
def test_lifecycle_buttons_are_post_only_and_for_project_managers(action, campaign, annotator, researcher, outsider):
    other_pm = make_user("other-pm")
    build_campaign(pm=other_pm, name="Other campaign", n_instances=0)
    url = reverse("campaign_lifecycle", args=[campaign.slug, action])
    assert logged_in(annotator).post(url).status_code == 403
    assert logged_in(researcher).post(url).status_code == 403
    assert logged_in(outsider).post(url).status_code == 404
    assert logged_in(other_pm).post(url).status_code == 404
    assert logged_in(campaign.created_by).get(url).status_code == 405
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE and not campaign.is_locked


def test_clone_is_for_project_managers_only(campaign, annotator, outsider):
    url = reverse("campaign_clone", args=[campaign.slug])
    assert logged_in(annotator).post(url, {"name": "X", "slug": "x"}).status_code == 403
    assert logged_in(outsider).post(url, {"name": "X", "slug": "x"}).status_code == 404
    assert not Campaign.objects.filter(slug="x").exists()


def test_creating_campaigns_needs_the_add_campaign_permission_or_site_admin(db, pm, outsider):
    url = reverse("campaign_create")
    assert logged_in(outsider).get(url).status_code == 403
    assert logged_in(outsider).post(url, {"name": "Sneaky", "template": "multipref"}).status_code == 403
    assert not Campaign.objects.filter(name="Sneaky").exists()
    assert "New campaign" not in logged_in(outsider).get(reverse("home")).content.decode()
    pm.user_permissions.add(Permission.objects.get(codename="add_campaign", content_type__app_label="annotate"))
    assert logged_in(pm).get(url).status_code == 200
    assert "New campaign" in logged_in(pm).get(reverse("home")).content.decode()
    assert logged_in(make_user("root", is_superuser=True)).get(url).status_code == 200
    from django.test import Client

    assert Client().get(url).status_code == 302


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["simple_pairwise", "multipref", "helpsteer2_preference", "helpsteer2_rating"])
def test_creating_a_campaign_from_each_template_makes_its_creator_the_pm(template, db):
    creator = make_user("creator", is_superuser=False)
    creator.user_permissions.add(Permission.objects.get(codename="add_campaign", content_type__app_label="annotate"))
    response = logged_in(creator).post(
        reverse("campaign_create"), {"name": f"Trial of {template}", "description": "A <b>trial</b>.", "template": template}
    )
    campaign = Campaign.objects.get(name=f"Trial of {template}")
    assert response.status_code == 302 and response["Location"] == reverse("campaign_settings", args=[campaign.slug])
    assert campaign.slug == f"trial-of-{template}"  # made from the name
    assert campaign.description == "A <b>trial</b>."
    assert campaign.task_schema.template == template and campaign.task_schema.version == 1
    assert [q.key for q in campaign_schema(campaign).questions] == [q.key for q in TEMPLATES[template].questions]
    assert CampaignMembership.objects.filter(
        campaign=campaign, user=creator, role=CampaignRole.PROJECT_MANAGER, is_active=True
    ).exists()


def test_a_taken_slug_is_refused_with_a_message_and_nothing_is_created(campaign, pm):
    root = make_user("root", is_superuser=True)
    response = logged_in(root).post(
        reverse("campaign_create"), {"name": "Another", "slug": campaign.slug, "template": "multipref"}
    )
    assert response.status_code == 400
    assert f"The slug &quot;{campaign.slug}&quot; is taken" in response.content.decode()
    assert not Campaign.objects.filter(name="Another").exists()


def test_an_edited_slug_is_used(db):
    root = make_user("root", is_superuser=True)
    logged_in(root).post(reverse("campaign_create"), {"name": "Long name", "slug": "short", "template": "multipref"})
    assert Campaign.objects.get(slug="short").name == "Long name"


def test_the_demo_project_manager_may_create_campaigns(db, settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo_campaign", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    demo_pm = get_user_model().objects.get(username="pm")
    assert demo_pm.has_perm("annotate.add_campaign")
    assert not get_user_model().objects.get(username="annotator1").has_perm("annotate.add_campaign")


# --- settings -----------------------------------------------------------------------------


def test_settings_are_saved(campaign, pm, settings):
    settings.LLM_ANNOTATORS = {"house-judge": {"name": "house-judge"}}
    response = logged_in(pm).post(
        reverse("campaign_settings", args=[campaign.slug]),
        settings_post(allowed_llm_annotators=["house-judge", "local"]),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.overlap == 2 and campaign.lease_minutes == 45
    assert campaign.pools == ["normal", "expert"]
    assert campaign.human_budget == 100
    assert campaign.allowed_llm_annotators == ["house-judge", "local"]
    assert campaign.deadline is not None and campaign.deadline.year == 2027
    assert str(campaign.human_hourly_rate_usd) == "15.50"
    assert campaign.aggregation_policy == "multipref_majority"
    assert campaign.randomize_response_order is True
    assert set(campaign.queue_items.values_list("required_overlap", flat=True)) == {2}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("overlap", "0", "Ensure this value is greater than or equal to 1."),
        ("aggregation_policy", "coin_flip", "Select a valid choice. coin_flip is not one of the available choices."),
        ("allowed_llm_annotators", "gpt-unknown", "Select a valid choice. gpt-unknown is not one of the available choices."),
        ("pools", "normal, " + "x" * 50, "longer than 40 characters"),
        ("deadline", "next tuesday", "Enter a valid date/time."),
    ],
)
def test_a_bad_setting_is_refused_with_a_specific_message_and_nothing_changes(campaign, pm, field, value, message):
    response = logged_in(pm).post(reverse("campaign_settings", args=[campaign.slug]), settings_post(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&quot;", '"')
    campaign.refresh_from_db()
    assert campaign.overlap == 1 and campaign.pools == [] and campaign.aggregation_policy == "strict_majority"


def test_start_llm_job_refuses_an_annotator_the_campaign_does_not_allow(campaign, pm, settings):
    settings.LLM_ANNOTATORS = {"house-judge": {"name": "house-judge"}}
    campaign.allowed_llm_annotators = ["house-judge"]
    campaign.save(update_fields=["allowed_llm_annotators"])
    response = logged_in(pm).post(reverse("start_llm_job", args=[campaign.slug]), follow=True)
    assert 'The LLM annotator "local" is not allowed to label this campaign' in response.content.decode().replace("&quot;", '"')
    assert not JobRun.objects.filter(campaign=campaign).exists()


# --- task editor ----------------------------------------------------------------------------


def test_a_task_edit_makes_the_next_version_and_old_labels_keep_theirs(campaign, pm, annotator):
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=pairwise_answers(-2))
    v1 = campaign.task_schema
    rows = current_task_rows(campaign)
    rows[0]["label"] = "Which answer would you rather get?"
    rows[0]["help_text"] = "Read both first."
    rows[1]["DELETE"] = True  # drop "helpfulness"
    rows[-1]["ORDER"] = 0  # move "justification" to the top
    rows[0]["options"] = rows[0]["options"].replace("| -2", "| -2 | A is much better, no doubt")
    response = logged_in(pm).post(reverse("campaign_task", args=[campaign.slug]), task_post(rows))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.task_schema.version == v1.version + 1
    schema = campaign_schema(campaign)
    assert [q.key for q in schema.questions] == ["justification", "overall", "truthfulness", "harmlessness"]
    overall = schema.by_key["overall"]
    assert overall.label == "Which answer would you rather get?" and overall.help_text == "Read both first."
    assert overall.option_with_value(-2).description == "A is much better, no doubt"
    assert Annotation.objects.get(assignment=assignment).task_schema_id == v1.pk


def test_a_question_can_be_added(campaign, pm):
    rows = current_task_rows(campaign)
    new = {"key": "fluency", "kind": "rating", "target": "each_response", "label": "Fluency", "required": True,
           "options": "bad | Bad | 0 | Hard to read\ngood | Good | 1"}
    logged_in(pm).post(reverse("campaign_task", args=[campaign.slug]), task_post([*rows, new], extra_blank=False))
    campaign.refresh_from_db()
    fluency = campaign_schema(campaign).by_key["fluency"]
    assert [(o.code, o.value, o.description) for o in fluency.options] == [("bad", 0, "Hard to read"), ("good", 1, "")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": "a | A better | -1\nb | B better | 2"}, "a pairwise scale must be symmetric around 0"),
        ({"key": "Overall Preference"}, "keys are lower-case letters"),
        ({"options": "a | A better | minus one"}, 'the value "minus one" is not a whole number'),
    ],
)
def test_an_invalid_task_is_refused_with_a_specific_message_and_no_version_is_made(campaign, pm, change, message):
    rows = current_task_rows(campaign)
    rows[0] |= change
    response = logged_in(pm).post(reverse("campaign_task", args=[campaign.slug]), task_post(rows))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&quot;", '"')
    campaign.refresh_from_db()
    assert campaign.task_schema.version == 1


def test_the_task_editor_without_changes_saves_the_same_questions(campaign, pm):
    before = campaign_schema(campaign)
    logged_in(pm).post(reverse("campaign_task", args=[campaign.slug]), task_post(current_task_rows(campaign)))
    campaign.refresh_from_db()
    after = campaign_schema(campaign)
    assert after.version == 2
    strip = lambda s: [(q.key, q.kind, q.label, q.required, q.primary, [(o.code, o.value, o.label, o.description) for o in q.options]) for q in s.questions]  # noqa: E731
    assert strip(after) == strip(before)


# --- guidelines -------------------------------------------------------------------------------


def test_each_guidelines_save_is_a_new_version_listed_on_the_page(campaign, pm):
    client = logged_in(pm)
    url = reverse("campaign_guidelines", args=[campaign.slug])
    client.post(url, {"markdown": "# Rules\nBe kind.", "save": "1"})
    client.post(url, {"markdown": "# Rules\nBe kind and exact.", "save": "1"})
    campaign.refresh_from_db()
    assert campaign.guidelines.version == 3 and campaign.guidelines_markdown == "# Rules\nBe kind and exact."
    assert list(campaign.guideline_versions.values_list("version", flat=True)) == [1, 2, 3]
    page = client.get(url).content.decode()
    assert "v3 (current)" in page and "v2" in page and "v1" in page


@pytest.mark.parametrize("extra", [{}, HTMX])
def test_the_preview_shows_html_as_text_and_saves_nothing(campaign, pm, extra):
    response = logged_in(pm).post(
        reverse("campaign_guidelines", args=[campaign.slug]),
        {"markdown": "**Bold** <script>alert(1)</script>", "preview": "1"}, **extra,
    )
    body = response.content.decode()
    assert "<strong>Bold</strong>" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    campaign.refresh_from_db()
    assert campaign.guidelines.version == 1


# --- lifecycle ---------------------------------------------------------------------------------


def test_pause_stops_claims_and_resume_restarts_them(campaign, pm, annotator):
    client = logged_in(pm)
    client.post(reverse("campaign_lifecycle", args=[campaign.slug, "pause"]))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None
    client.post(reverse("campaign_lifecycle", args=[campaign.slug, "resume"]))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is not None


def test_close_stops_claims_for_good(campaign, pm, annotator):
    response = logged_in(pm).post(reverse("campaign_lifecycle", args=[campaign.slug, "close"]), follow=True)
    assert "Closed" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None
    response = logged_in(pm).post(reverse("campaign_lifecycle", args=[campaign.slug, "pause"]), follow=True)
    assert "A closed campaign cannot be paused." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_lock_stops_claims_and_unlock_restarts_them(campaign, pm, annotator):
    client = logged_in(pm)
    client.post(reverse("campaign_lifecycle", args=[campaign.slug, "lock"]))
    campaign.refresh_from_db()
    assert campaign.is_locked and campaign.status == CampaignStatus.ACTIVE
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is None
    client.post(reverse("campaign_lifecycle", args=[campaign.slug, "unlock"]))
    campaign.refresh_from_db()
    assert not campaign.is_locked
    assert claim_next_assignment(campaign=campaign, annotator=annotator) is not None


def test_the_settings_page_offers_the_buttons_that_apply(campaign, pm):
    page = logged_in(pm).get(reverse("campaign_settings", args=[campaign.slug])).content.decode()
    assert reverse("campaign_lifecycle", args=[campaign.slug, "pause"]) in page
    assert reverse("campaign_lifecycle", args=[campaign.slug, "resume"]) not in page
    assert "data-confirm=" in page and "js/confirm.js" in page  # asked before it is sent
    pause_campaign(campaign=campaign)
    lock_campaign(campaign=campaign)
    page = logged_in(pm).get(reverse("campaign_settings", args=[campaign.slug])).content.decode()
    assert reverse("campaign_lifecycle", args=[campaign.slug, "resume"]) in page
    assert reverse("campaign_lifecycle", args=[campaign.slug, "unlock"]) in page
    close_campaign(campaign=campaign)
    page = logged_in(pm).get(reverse("campaign_settings", args=[campaign.slug])).content.decode()
    assert reverse("campaign_lifecycle", args=[campaign.slug, "close"]) not in page


# --- clone ---------------------------------------------------------------------------------------


def _labelled_campaign(pm, annotator, researcher):
    campaign = build_campaign(pm=pm, annotators=[annotator], researchers=[researcher], n_instances=3,
                              template="multipref", overlap=2, lease_minutes=40, human_budget=50)
    Campaign.objects.filter(pk=campaign.pk).update(
        pools=["normal", "expert"], aggregation_policy="dawid_skene", allowed_llm_annotators=["local"],
        description="Source description",
    )
    campaign.refresh_from_db()
    save_guidelines(campaign=campaign, markdown="Version two of the rules.", saved_by=pm)
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    from annotate.services.answers import AnswerInput

    submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=[
        AnswerInput(question=q.key, codes=(q.options[0].code,))
        for q in campaign_schema(campaign).questions if q.required and q.options
    ] + [AnswerInput(question=q.key, text="because") for q in campaign_schema(campaign).questions
         if q.required and not q.options])
    return campaign


def test_clone_copies_settings_task_guidelines_and_pools_but_no_labels_or_members(pm, annotator, researcher):
    source = _labelled_campaign(pm, annotator, researcher)
    cloner = make_user("cloner")
    from annotate.services.campaigns import add_member

    add_member(campaign=source, user=cloner, role=CampaignRole.PROJECT_MANAGER)
    response = logged_in(cloner).post(reverse("campaign_clone", args=[source.slug]), {"name": "Round 2", "slug": "round-2"})
    assert response.status_code == 302
    clone = Campaign.objects.get(slug="round-2")
    assert (clone.name, clone.status, clone.locked_at) == ("Round 2", CampaignStatus.DRAFT, None)
    for field in ["overlap", "lease_minutes", "human_budget", "pools", "aggregation_policy",
                  "allowed_llm_annotators", "description", "randomize_response_order"]:
        assert getattr(clone, field) == getattr(source, field), field
    assert clone.task_schema_id != source.task_schema_id and clone.task_schema.template == "multipref"
    assert [q.key for q in campaign_schema(clone).questions] == [q.key for q in campaign_schema(source).questions]
    assert clone.guidelines_markdown == "Version two of the rules." and clone.guidelines.version == 1
    assert list(clone.memberships.values_list("user__username", "role")) == [("cloner", CampaignRole.PROJECT_MANAGER)]
    assert not clone.instances.exists()
    assert not Annotation.objects.filter(campaign=clone).exists()
    assert Annotation.objects.filter(campaign=source).count() == 1


def test_clone_with_instances_copies_them_with_fresh_queue_items_and_no_labels(pm, annotator, researcher):
    source = _labelled_campaign(pm, annotator, researcher)
    clone = clone_campaign(campaign=source, name="Copy", slug="copy", cloned_by=pm, include_instances=True)
    assert sorted(clone.instances.values_list("external_id", flat=True)) == sorted(
        source.instances.values_list("external_id", flat=True)
    )
    first = clone.instances.get(external_id="item-0")
    assert list(first.responses.values_list("position", "model_name")) == [(0, "model-a"), (1, "model-b")]
    assert set(clone.queue_items.values_list("slots_taken", "required_overlap", "kind")) == {(0, 2, "regular")}
    assert clone.queue_items.count() == 3
    assert not Annotation.objects.filter(campaign=clone).exists()
    assert not clone.assignments.exists()


def test_clone_refuses_a_taken_slug(campaign, pm):
    response = logged_in(pm).post(reverse("campaign_clone", args=[campaign.slug]), {"name": "Again", "slug": campaign.slug})
    assert response.status_code == 400
    assert "is taken by another campaign" in response.content.decode()
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize(
    ("template", "policy"),
    [
        ("multipref", "multipref_majority"),
        ("helpsteer2_preference", "helpsteer2_preference"),
        ("helpsteer2_rating", "helpsteer2_ratings"),
        ("simple_pairwise", "strict_majority"),
        ("rate_then_prefer", "strict_majority"),
    ],
)
def test_a_campaign_from_a_template_starts_with_the_datasets_aggregation_policy(pm, template, policy):
    campaign = build_campaign(pm=pm, template=template, n_instances=0)
    assert TEMPLATES[template].aggregation_policy == policy
    assert campaign.aggregation_policy == policy
