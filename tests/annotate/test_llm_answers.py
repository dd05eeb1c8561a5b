"""An LLM annotator's judgement as answers to the task's questions (llm_answers_for)."""

from __future__ import annotations

import pytest

from annotate.judgements import PairwiseJudgement
from annotate.services.annotations import LLMPairwiseLabel, llm_answers_for, record_llm_annotations
from annotate.services.answers import AnswerInput
from annotate.services.task_schemas import campaign_schema
from tests.conftest import build_campaign, make_user, stored_answers


@pytest.mark.django_db
def test_response_ratings_answer_the_per_response_rating_questions_by_position():
    campaign = build_campaign(pm=make_user("pm"), n_instances=1, template="rate_then_prefer")
    judgement = PairwiseJudgement(
        overall_preference=1,
        response_ratings=({"helpfulness": 2, "verbosity": 4}, {"helpfulness": 3, "tone": 1}),
    )

    answers = llm_answers_for(schema=campaign_schema(campaign), judgement=judgement)

    assert AnswerInput(question="helpfulness", slot=0, codes=("2",)) in answers
    assert AnswerInput(question="verbosity", slot=0, codes=("4",)) in answers
    assert AnswerInput(question="helpfulness", slot=1, codes=("3",)) in answers
    # "tone" is no question of this task: left to the label's raw output.
    assert not any(a.question == "tone" for a in answers)


@pytest.mark.django_db
def test_a_rating_outside_the_questions_options_and_a_missing_overall_give_no_answer():
    campaign = build_campaign(pm=make_user("pm"), n_instances=1, template="rate_then_prefer")
    judgement = PairwiseJudgement(
        overall_preference=None, response_ratings=({"helpfulness": 9}, {})
    )

    assert llm_answers_for(schema=campaign_schema(campaign), judgement=judgement) == []


@pytest.mark.django_db
def test_a_justification_longer_than_its_question_allows_is_cut_and_kept_whole_in_raw_output():
    campaign = build_campaign(pm=make_user("pm"), n_instances=1)  # justification: at most 5000
    instance = campaign.instances.get()
    long = "A is right. " * 600
    label = LLMPairwiseLabel(
        instance_id=instance.pk,
        model_name="judge/m",
        prompt_version="v1",
        judgement=PairwiseJudgement(overall_preference=-1, justification=long),
        raw_output={},
    )

    assert record_llm_annotations(campaign=campaign, labels=[label]) == 1

    annotation = instance.annotations.get()
    assert stored_answers(annotation)[("justification", None)] == long[:5000]
    assert annotation.raw_output["justification"] == long
