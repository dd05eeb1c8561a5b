"""Task schemas: every template is a valid schema, each task's scale is stored and checked,
and answers are stored by response position whatever order the annotator saw."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, Assignment, QuestionKind, QuestionTarget
from annotate.services.annotations import SubmissionRejected, submit_annotation
from annotate.services.answers import AnswerInput
from annotate.services.assignments import claim_next_assignment, mark_opened
from annotate.services.task_schemas import (
    InvalidTaskSchema,
    campaign_schema,
    check_question_specs,
    create_task_schema,
)
from annotate.task_templates import LIKERT_5, TEMPLATES, OptionSpec, QuestionSpec
from tests.conftest import build_campaign, stored_answers


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_is_a_valid_schema(pm, template):
    campaign = build_campaign(pm=pm, n_instances=0, template=template)
    schema = campaign_schema(campaign)
    assert schema.template == template and schema.version == 1
    assert [q.key for q in schema.questions] == [q.key for q in TEMPLATES[template].questions]


def test_each_public_scale_is_stored_with_its_own_bounds(pm):
    strength = campaign_schema(build_campaign(pm=pm, n_instances=0, template="helpsteer2_preference"))
    assert [o.value for o in strength.by_key["preference_strength"].options] == [-3, -2, -1, 0, 1, 2, 3, None]
    ratings = campaign_schema(build_campaign(pm=pm, n_instances=0, name="r", template="helpsteer2_rating"))
    assert all(
        [o.value for o in q.options] == [0, 1, 2, 3, 4] and q.target == QuestionTarget.EACH_RESPONSE
        for q in ratings.questions
    )
    multipref = campaign_schema(build_campaign(pm=pm, n_instances=0, name="m", template="multipref"))
    assert [o.code for o in multipref.by_key["overall"].options] == [
        "A-is-clearly-better", "A-is-slightly-better", "Tie", "B-is-slightly-better", "B-is-clearly-better",
    ]


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "at least one question"),
        (
            [QuestionSpec("p", QuestionKind.PAIRWISE, "P", (OptionSpec("a", "a", -1), OptionSpec("b", "b", 2)))],
            "symmetric",
        ),
        ([QuestionSpec("p", QuestionKind.PAIRWISE, "P", LIKERT_5, target=QuestionTarget.EACH_RESPONSE)], "about the pair"),
        ([QuestionSpec("p", QuestionKind.PAIRWISE, "P", LIKERT_5)] * 2, "used twice"),
        (
            [
                QuestionSpec("p", QuestionKind.PAIRWISE, "P", LIKERT_5, primary=True),
                QuestionSpec("q", QuestionKind.PAIRWISE, "Q", LIKERT_5, primary=True),
            ],
            "At most one",
        ),
        ([QuestionSpec("Bad Key", QuestionKind.TEXT, "T")], "keys are lower-case"),
        ([QuestionSpec("r", QuestionKind.RATING, "R")], "needs options"),
        (
            [QuestionSpec("r", QuestionKind.RATING, "R", tuple(OptionSpec(str(i), str(i), i) for i in range(11)))],
            "at most 10 options",
        ),
        ([QuestionSpec("r", QuestionKind.RATING, "R", (OptionSpec("x", "x", None),))], "every option needs a value"),
    ],
)
def test_a_schema_that_breaks_a_rule_is_refused_naming_it(questions, message):
    with pytest.raises(InvalidTaskSchema, match=message):
        check_question_specs(questions)


def test_a_new_schema_version_becomes_current_and_labels_keep_theirs(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=2)
    first = claim_next_assignment(campaign=campaign, annotator=annotator)
    submit_annotation(
        assignment_id=first.pk,
        annotator=annotator,
        answers=[AnswerInput("overall", codes=("Tie",)), AnswerInput("justification", text="same")],
    )
    v2 = create_task_schema(campaign=campaign, questions=TEMPLATES["helpsteer2_preference"].questions)
    assert v2.version == 2 and campaign.task_schema_id == v2.pk
    assert Annotation.objects.get(assignment=first).task_schema.version == 1


def test_a_rating_campaign_stores_every_rating_of_every_response(pm, annotator):
    """Bug: a rating campaign gave annotators the pairwise form and refused every submit."""
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1, template="helpsteer2_rating")
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    keys = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
    answers = [
        AnswerInput(key, slot=slot, codes=(str((i + slot) % 5),)) for slot in (0, 1) for i, key in enumerate(keys)
    ]
    annotation = submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=answers).annotation
    assert stored_answers(annotation) == {
        (key, slot): (i + slot) % 5 for slot in (0, 1) for i, key in enumerate(keys)
    }
    assert annotation.overall_preference is None


def test_a_missing_rating_is_refused_naming_the_response(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1, template="helpsteer2_rating")
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    answers = [AnswerInput(key, slot=0, codes=("2",)) for key in ("helpfulness", "correctness", "coherence", "complexity", "verbosity")]
    with pytest.raises(SubmissionRejected, match='"Helpfulness" for response B is required'):
        submit_annotation(assignment_id=assignment.pk, annotator=annotator, answers=answers)


def test_answers_are_stored_by_position_when_the_pair_was_shown_swapped(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1, template="rate_then_prefer")
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    assignment.display_order = [1, 0]  # the row's second response is shown as A
    assignment.save(update_fields=["display_order"])
    keys = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
    shown_a = [AnswerInput(key, slot=0, codes=("4",)) for key in keys]
    shown_b = [AnswerInput(key, slot=1, codes=("1",)) for key in keys]
    prefer_shown_a = AnswerInput("overall", codes=("A-is-clearly-better",))
    annotation = submit_annotation(
        assignment_id=assignment.pk, annotator=annotator, answers=[*shown_a, *shown_b, prefer_shown_a]
    ).annotation
    answers = stored_answers(annotation)
    assert annotation.overall_preference == 2  # shown A is position 1: "B" by position
    assert answers[("overall", None)] == 2
    assert {answers[(key, 1)] for key in keys} == {4} and {answers[(key, 0)] for key in keys} == {1}


def test_randomised_display_orders_are_recorded_per_assignment(pm):
    from tests.conftest import make_user

    people = [make_user(f"p{i}") for i in range(12)]
    campaign = build_campaign(pm=pm, annotators=people, n_instances=1, overlap=12, randomize_response_order=True)
    orders = set()
    for person in people:
        assignment = claim_next_assignment(campaign=campaign, annotator=person)
        mark_opened(assignment=assignment, positions=[0, 1])  # first shown: the order is drawn
        mark_opened(assignment=assignment, positions=[0, 1])  # shown again: it stays
        orders.add(tuple(Assignment.objects.get(pk=assignment.pk).display_order))
        assert Assignment.objects.get(pk=assignment.pk).opened_at is not None
    assert orders == {(0, 1), (1, 0)}  # both orders occur (chance of failing: 2 in 4096)


def test_helpsteer2_preference_takes_neither_valid_and_its_statement(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1, template="helpsteer2_preference")
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    annotation = submit_annotation(
        assignment_id=assignment.pk,
        annotator=annotator,
        answers=[
            AnswerInput("preference_strength", codes=("neither-valid",)),
            AnswerInput("preference_statement", text="Both ignore @Response 1's question."),
        ],
    ).annotation
    assert annotation.overall_preference is None
    assert stored_answers(annotation) == {
        ("preference_strength", None): None,
        ("preference_statement", None): "Both ignore @Response 1's question.",
    }


def test_response_names_in_free_text_are_stored_by_position_too(pm, annotator):
    campaign = build_campaign(pm=pm, annotators=[annotator], n_instances=1)
    assignment = claim_next_assignment(campaign=campaign, annotator=annotator)
    assignment.display_order = [1, 0]
    assignment.save(update_fields=["display_order"])
    text = "@A is right, @B is not; an email@Ahost and @Alice stay as written."
    annotation = submit_annotation(
        assignment_id=assignment.pk,
        annotator=annotator,
        answers=[AnswerInput("overall", codes=("A-is-slightly-better",)), AnswerInput("justification", text=text)],
    ).annotation
    assert stored_answers(annotation)[("justification", None)] == (
        "@B is right, @A is not; an email@Ahost and @Alice stay as written."
    )
