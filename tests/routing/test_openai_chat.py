"""The OpenAI-compatible chat judge, against a real HTTP server on 127.0.0.1 scripted per test."""

from __future__ import annotations

import json
import math

import pytest

from routing.llm_annotators.openai_chat import (
    FIVE_POINT,
    HELPSTEER2_STRENGTH,
    LOGPROBS,
    VERBALISED,
    ChatJudgeConfig,
    ChatPair,
    DirectoryCache,
    EndpointRefused,
    JudgeTask,
    PairwiseQuestion,
    RatingQuestion,
    ScalePoint,
    UnparseableAnswer,
    build_messages,
    judge_pairs,
    parse_answer,
    preference_probabilities,
    prompt_version,
)
from tests.routing.chat_server import Reply, ScriptedChatServer, chat_reply, error_reply

OVERALL = PairwiseQuestion("overall", "Overall, which response is better?", FIVE_POINT)
PREFERENCE_ONLY = JudgeTask(preference=OVERALL)
CORRECTNESS_0_4 = tuple(
    ScalePoint(v, label) for v, label in enumerate(["terrible", "poor", "fair", "good", "perfect"])
)
FULL_TASK = JudgeTask(
    preference=OVERALL,
    aspects=(PairwiseQuestion("helpfulness", "Which is more helpful?", FIVE_POINT),),
    ratings=(RatingQuestion("correctness", "All facts right.", CORRECTNESS_0_4),),
    guidelines="Prefer the response that answers the question asked.",
)


def config_for(server: ScriptedChatServer, **overrides) -> ChatJudgeConfig:
    options = {
        "name": "scripted",
        "base_url": server.base_url,
        "model": "scripted-judge",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "max_concurrency": 4,
    }
    options.update(overrides)
    return ChatJudgeConfig(**options)


def pairs(n: int) -> list[ChatPair]:
    return [
        ChatPair(
            item_id=i,
            messages=[{"role": "user", "content": f"Question {i}: how do I boil an egg?"}],
            response_a=f"ALPHA-{i}: simmer it for nine minutes.",
            response_b=f"BRAVO-{i}: microwave it, shell on.",
        )
        for i in range(n)
    ]


def answer_json(preference=None, *, confidence=0.8, justification="A is right.", **extra) -> str:
    answer = {"preference": preference, "confidence": confidence, "justification": justification}
    answer.update(extra)
    return json.dumps({k: v for k, v in answer.items() if v is not None})


def alpha_first(call) -> bool:
    return call.shown_a.startswith("ALPHA")


def prefers_alpha(call) -> Reply:
    """A judge that sees through the order: ALPHA clearly better, wherever it is shown."""
    return chat_reply(answer_json(-2 if alpha_first(call) else 2))


# --- both orders -----------------------------------------------------------------------------------


def test_every_pair_is_judged_in_both_orders_and_each_verdict_is_mapped_back_to_positions(serve):
    def judge(call):
        # ALPHA is better overall and on helpfulness, and more correct, wherever it is shown.
        first = alpha_first(call)
        alpha_side, bravo_side = ("A", "B") if first else ("B", "A")
        return chat_reply(
            answer_json(
                -2 if first else 2,
                aspects={"helpfulness": -1 if first else 1},
                ratings={alpha_side: {"correctness": 4}, bravo_side: {"correctness": 1}},
                justification=f"{alpha_side} boils the egg.",
            )
        )

    server = serve(judge)
    run = judge_pairs(config_for(server), FULL_TASK, pairs(3))

    assert len(server.calls) == 6 and not run.failures
    for i in range(3):
        shown_first = sorted(c.shown_a.split(":")[0] for c in server.calls if f"-{i}:" in c.shown_a)
        assert shown_first == [f"ALPHA-{i}", f"BRAVO-{i}"]
    for verdict in run.results:
        ab, ba = verdict.orders
        assert (ab.order, ba.order) == ("ab", "ba")
        assert ab.preference == ba.preference == -2  # BRAVO-first's +2 means ALPHA, response_a
        assert json.loads(ba.raw_text)["preference"] == 2
        assert ab.aspects == ba.aspects == {"helpfulness": -1}
        assert ab.ratings == ba.ratings == ({"correctness": 4}, {"correctness": 1})
        assert verdict.preference == -2 and verdict.order_consistent is True
        assert verdict.aspects == {"helpfulness": -1} and verdict.aspects_consistent == {
            "helpfulness": True
        }
        assert verdict.ratings == ({"correctness": 4}, {"correctness": 1})
        # The A-first order's justification names the responses by position.
        assert (
            verdict.justification == "A boils the egg." and ba.justification == "B boils the egg."
        )
    record = run.results[0].as_record()
    assert set(record["orders"]) == {"ab", "ba"}
    assert record["orders"]["ba"]["raw_text"] == run.results[0].orders[1].raw_text


def test_a_judge_that_always_prefers_the_response_shown_first_gets_a_tie_marked_inconsistent(serve):
    server = serve(lambda call: chat_reply(answer_json(-1, confidence=0.9)))

    (verdict,) = judge_pairs(config_for(server), PREFERENCE_ONLY, pairs(1)).results

    assert (verdict.orders[0].preference, verdict.orders[1].preference) == (-1, 1)
    assert verdict.preference == 0 and verdict.order_consistent is False
    assert verdict.confidence == 0.0


def test_a_tie_in_one_order_against_a_side_in_the_other_is_inconsistent(serve):
    server = serve(lambda call: chat_reply(answer_json(-2 if alpha_first(call) else 0)))

    (verdict,) = judge_pairs(config_for(server), PREFERENCE_ONLY, pairs(1)).results

    assert verdict.preference == 0 and verdict.order_consistent is False


def test_orders_that_agree_on_the_side_combine_to_the_weaker_strength_and_ratings_to_the_mean_rounded_down(
    serve,
):
    task = JudgeTask(preference=OVERALL, ratings=FULL_TASK.ratings)

    def judge(call):
        if alpha_first(call):
            return chat_reply(
                answer_json(-2, ratings={"A": {"correctness": 4}, "B": {"correctness": 1}})
            )
        return chat_reply(
            answer_json(1, ratings={"A": {"correctness": 2}, "B": {"correctness": 3}})
        )

    server = serve(judge)
    (verdict,) = judge_pairs(config_for(server), task, pairs(1)).results

    assert verdict.preference == -1 and verdict.order_consistent is True
    assert verdict.orders[1].ratings == ({"correctness": 3}, {"correctness": 2})
    assert verdict.ratings == ({"correctness": 3}, {"correctness": 1})  # (4+3)//2, (1+2)//2


def test_a_rating_only_task_asks_no_preference_and_swaps_the_ratings_back(serve):
    task = JudgeTask(ratings=FULL_TASK.ratings)

    def judge(call):
        assert '"preference"' not in call.user_prompt
        alpha_side, bravo_side = ("A", "B") if alpha_first(call) else ("B", "A")
        ratings = {alpha_side: {"correctness": 4}, bravo_side: {"correctness": 0}}
        return chat_reply(json.dumps({"ratings": ratings, "confidence": 0.5, "justification": ""}))

    server = serve(judge)
    (verdict,) = judge_pairs(config_for(server), task, pairs(1)).results

    assert verdict.preference is None and verdict.order_consistent is None
    assert verdict.ratings == ({"correctness": 4}, {"correctness": 0})


# --- retries ----------------------------------------------------------------------------------------


def test_a_429_is_retried_after_the_servers_retry_after(serve):
    server = serve(
        lambda call: (
            error_reply(429, "slow down", Retry_After="1")
            if call.index == 0
            else prefers_alpha(call)
        )
    )

    run = judge_pairs(config_for(server, max_concurrency=1), PREFERENCE_ONLY, pairs(1))

    assert not run.failures and len(server.calls) == 3
    first, retried = server.calls[0], server.calls[1]
    assert first.body["messages"] == retried.body["messages"]
    assert retried.at - first.at >= 1.0
    (verdict,) = run.results
    retried_order = next(o for o in verdict.orders if o.failed_attempts)
    assert retried_order.failed_attempts == ("HTTP 429: slow down",)
    assert run.usage.requests == 3


def test_a_server_error_is_retried_with_backoff(serve):
    server = serve(
        lambda call: error_reply(500, "overloaded") if call.index == 0 else prefers_alpha(call)
    )

    run = judge_pairs(config_for(server, max_concurrency=1), PREFERENCE_ONLY, pairs(1))

    assert not run.failures and len(server.calls) == 3
    assert any(o.failed_attempts == ("HTTP 500: overloaded",) for o in run.results[0].orders)


def test_an_answer_slower_than_the_timeout_is_abandoned_and_asked_again(serve):
    def judge(call):
        reply = prefers_alpha(call)
        reply.delay = 1.0 if call.index == 0 else 0.0
        return reply

    server = serve(judge)
    run = judge_pairs(
        config_for(server, timeout_s=0.3, max_concurrency=1), PREFERENCE_ONLY, pairs(1)
    )

    assert not run.failures and len(server.calls) == 3
    assert any(o.failed_attempts == ("no answer within 0.3 s",) for o in run.results[0].orders)


def test_a_dropped_connection_is_retried(serve):
    server = serve(lambda call: Reply(drop=True) if call.index == 0 else prefers_alpha(call))

    run = judge_pairs(config_for(server, max_concurrency=1), PREFERENCE_ONLY, pairs(1))

    assert not run.failures and len(server.calls) == 3
    assert any(
        "connection failed" in o.failed_attempts[0]
        for o in run.results[0].orders
        if o.failed_attempts
    )


def test_a_client_error_fails_the_item_at_once_with_the_servers_text(serve):
    server = serve(
        lambda call: (
            error_reply(400, "This model's maximum context length is 8192 tokens")
            if call.shown_a.startswith("ALPHA-0")
            else prefers_alpha(call)
        )
    )

    run = judge_pairs(config_for(server), PREFERENCE_ONLY, pairs(2))

    assert [v.item_id for v in run.results] == [1]
    (failure,) = run.failures
    assert failure.item_id == 0
    assert (
        "HTTP 400: This model's maximum context length is 8192 tokens (after 1 request)"
        in failure.reason
    )
    assert len([c for c in server.calls if c.shown_a.startswith("ALPHA-0")]) == 1


def test_a_refused_key_stops_the_run(serve):
    server = serve(lambda call: error_reply(401, "Incorrect API key provided"))

    with pytest.raises(EndpointRefused, match="HTTP 401: Incorrect API key provided"):
        judge_pairs(config_for(server, max_concurrency=2), PREFERENCE_ONLY, pairs(20))

    assert len(server.calls) < 40


def test_the_api_key_is_sent_as_a_bearer_token(serve):
    server = serve(prefers_alpha)
    judge_pairs(config_for(server, api_key="sk-test-123"), PREFERENCE_ONLY, pairs(1))
    assert {c.headers["Authorization"] for c in server.calls} == {"Bearer sk-test-123"}
    assert {c.path for c in server.calls} == {"/v1/chat/completions"}
    assert "sk-test-123" not in repr(config_for(server, api_key="sk-test-123"))


# --- strict parsing -------------------------------------------------------------------------------------


def test_malformed_json_is_a_recorded_failure_then_asked_again(serve):
    def judge(call):
        if call.index == 0:
            return chat_reply(
                '{"preference": -2, "confidence": 0.9, "justif', finish_reason="length"
            )
        return prefers_alpha(call)

    server = serve(judge)
    run = judge_pairs(config_for(server, max_concurrency=1), PREFERENCE_ONLY, pairs(1))

    assert not run.failures and len(server.calls) == 3
    (failed,) = [o.failed_attempts for o in run.results[0].orders if o.failed_attempts]
    assert failed[0].startswith("unparseable answer (cut off at max_tokens): invalid JSON")


def test_reordered_and_extra_fields_are_accepted(serve):
    def judge(call):
        content = json.dumps(
            {
                "notes": "thinking...",
                "justification": "A is right.",
                "confidence": 1,
                "preference": -2 if alpha_first(call) else 2,
            }
        )
        return chat_reply(f"```json\n{content}\n```\n")

    server = serve(judge)
    (verdict,) = judge_pairs(config_for(server), PREFERENCE_ONLY, pairs(1)).results

    assert verdict.preference == -2 and verdict.confidence == 1.0


def test_an_out_of_range_answer_is_retried_then_reported_as_a_failed_item(serve):
    server = serve(lambda call: chat_reply(answer_json(5 if alpha_first(call) else -2)))

    run = judge_pairs(config_for(server, max_retries=2), PREFERENCE_ONLY, pairs(1))

    assert run.results == ()
    (failure,) = run.failures
    assert failure.reason == (
        "order ab: unparseable answer: preference: 5 is not one of -2, -1, 0, 1, 2 (after 3 requests)"
    )
    assert len(failure.attempts) == 3
    assert len(server.calls) == 4  # three for the failing order, one for the other
    assert run.usage.requests == 4 and failure.usage.requests == 4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('Sure! {"preference": -1, "confidence": 0.5, "justification": ""}', "not a JSON object"),
        (
            '{"preference": -1, "confidence": 0.5, "justification": ""} I hope this helps.',
            "invalid JSON",
        ),
        (
            '{"preference": -1, "confidence": 0.5, "justification": ""}{"preference": 1}',
            "invalid JSON",
        ),
        (
            '{"preference": -1, "preference": 1, "confidence": 0.5, "justification": ""}',
            "keys given twice: preference",
        ),
        (
            '{"preference": true, "confidence": 0.5, "justification": ""}',
            "preference: expected an integer, got true",
        ),
        (
            '{"preference": -1.0, "confidence": 0.5, "justification": ""}',
            "expected an integer, got -1.0",
        ),
        (
            '{"preference": "-1", "confidence": 0.5, "justification": ""}',
            'expected an integer, got "-1"',
        ),
        ('{"preference": -1, "justification": ""}', "missing keys: confidence"),
        (
            '{"preference": -1, "confidence": 1.5, "justification": ""}',
            "confidence: expected a number from 0 to 1",
        ),
        ('{"preference": -1, "confidence": NaN, "justification": ""}', "NaN is not a JSON number"),
        (
            '{"preference": -1, "confidence": 0.5, "justification": null}',
            "justification: expected a string",
        ),
        ("[1, 2]", "not a JSON object"),
        ("", "the answer is empty"),
    ],
)
def test_answers_that_are_not_exactly_the_object_asked_for_are_unparseable(text, reason):
    with pytest.raises(UnparseableAnswer, match=reason.replace("(", r"\(").replace(".", r"\.")):
        parse_answer(text, PREFERENCE_ONLY)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            {"aspects": {}, "ratings": {"A": {"correctness": 1}, "B": {"correctness": 1}}},
            'aspects: "helpfulness" is missing',
        ),
        ({"aspects": {"helpfulness": 3}, "ratings": {}}, "aspects.helpfulness: 3 is not one of"),
        (
            {"aspects": {"helpfulness": 0}, "ratings": {"A": {"correctness": 1}}},
            'ratings: "B" is missing',
        ),
        (
            {
                "aspects": {"helpfulness": 0},
                "ratings": {"A": {"correctness": 1}, "B": {"correctness": 5}},
            },
            "ratings.B.correctness: 5",
        ),
        (
            {"aspects": {"helpfulness": 0}, "ratings": {"A": {"correctness": 1}, "B": {}}},
            'ratings.B: "correctness" is missing',
        ),
    ],
)
def test_aspects_and_ratings_are_checked_key_by_key(answer, reason):
    text = json.dumps({"preference": 0, "confidence": 0.5, "justification": "", **answer})
    with pytest.raises(UnparseableAnswer, match=reason):
        parse_answer(text, FULL_TASK)


def test_unknown_aspect_and_rating_keys_are_ignored_and_values_come_back_as_shown():
    text = json.dumps(
        {
            "preference": 1,
            "aspects": {"helpfulness": -1, "style": 2},
            "ratings": {"A": {"correctness": 2, "tone": 9}, "B": {"correctness": 3}, "C": {}},
            "confidence": 0.25,
            "justification": "  B is right.  ",
        }
    )
    parsed = parse_answer(text, FULL_TASK)
    assert (parsed.preference, parsed.aspects, parsed.ratings) == (
        1,
        {"helpfulness": -1},
        ({"correctness": 2}, {"correctness": 3}),
    )
    assert (parsed.confidence, parsed.justification) == (0.25, "B is right.")


def test_the_helpsteer2_strength_scale_takes_values_from_minus_3_to_3():
    task = JudgeTask(
        preference=PairwiseQuestion("preference_strength", "By how much?", HELPSTEER2_STRENGTH)
    )
    assert (
        parse_answer('{"preference": -3, "confidence": 0.5, "justification": ""}', task).preference
        == -3
    )
    with pytest.raises(UnparseableAnswer, match="4 is not one of -3, -2, -1, 0, 1, 2, 3"):
        parse_answer('{"preference": 4, "confidence": 0.5, "justification": ""}', task)


# --- confidence -------------------------------------------------------------------------------------------


def token(text: str, probability: float, alternatives: dict[str, float] | None = None) -> dict:
    top = {text: probability, **(alternatives or {})}
    return {
        "token": text,
        "logprob": math.log(probability),
        "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in top.items()],
    }


def tokens_of(content: str, value_tokens: list[dict]) -> dict:
    """Logprobs for ``content``: the value spelled by ``value_tokens``, every other token certain."""
    head, tail = content.split('"preference":', 1)
    value_text = "".join(t["token"] for t in value_tokens)
    assert tail.startswith(value_text)
    rest = tail[len(value_text) :]
    return {
        "content": [token(head + '"preference":', 1.0), *value_tokens, token(rest, 1.0)],
    }


def test_confidence_comes_from_the_preference_tokens_logprobs_when_the_endpoint_returns_them(serve):
    def judge(call):
        assert call.body["logprobs"] is True and call.body["top_logprobs"] >= 5
        if alpha_first(call):
            # " -" then "2": P(-2) = 0.8 × 0.75, P(-1) = 0.8 × 0.25, P(0) = 0.15, P(1) = 0.05.
            content = '{"preference": -2, "confidence": 0.99, "justification": "A."}'
            value = [token(" -", 0.8, {" 0": 0.15, " 1": 0.05}), token("2", 0.75, {"1": 0.25})]
        else:
            content = '{"preference": 2, "confidence": 0.99, "justification": "B."}'
            value = [token(" 2", 0.7, {" 1": 0.2, " -": 0.1})]
        return chat_reply(content, logprobs=tokens_of(content, value))

    server = serve(judge)
    (verdict,) = judge_pairs(
        config_for(server, request_logprobs=True), PREFERENCE_ONLY, pairs(1)
    ).results

    ab, ba = verdict.orders
    assert ab.confidence_kind == ba.confidence_kind == verdict.confidence_kind == LOGPROBS
    assert ab.confidence == pytest.approx(0.6) and ba.confidence == pytest.approx(0.7)
    assert ab.preference_probs == pytest.approx({-2: 0.6, -1: 0.2, 0: 0.15, 1: 0.05, 2: 0.0})
    # By position: BRAVO-first's P(+2) is P(ALPHA clearly better).
    assert ba.preference_probs[-2] == pytest.approx(0.7) and ba.preference_probs[
        -1
    ] == pytest.approx(0.2)
    assert verdict.confidence == pytest.approx(0.65)
    assert ab.verbalised_confidence == 0.99


def test_without_logprobs_the_verbalised_confidence_is_used(serve):
    server = serve(
        lambda call: chat_reply(answer_json(-2 if alpha_first(call) else 2, confidence=0.7))
    )

    (plain,) = judge_pairs(config_for(server), PREFERENCE_ONLY, pairs(1)).results
    assert all("logprobs" not in c.body for c in server.calls)
    # Asked for, but the endpoint sends none: verbalised too.
    (asked,) = judge_pairs(
        config_for(server, request_logprobs=True), PREFERENCE_ONLY, pairs(1)
    ).results

    for verdict in (plain, asked):
        assert verdict.confidence_kind == VERBALISED and verdict.confidence == 0.7
        assert all(o.preference_probs is None for o in verdict.orders)


def test_logprobs_are_aligned_by_bytes_when_a_character_is_split_across_tokens():
    content = '{"justification": "Ü", "preference": 1, "confidence": 0.5}'
    head, tail = content.split("Ü")
    split = [
        {"token": head, "logprob": 0.0, "bytes": list(head.encode())},
        # "Ü" is two bytes, sent as two tokens whose strings are not the character.
        {"token": "\\xc3", "logprob": 0.0, "bytes": [0xC3]},
        {"token": "\\x9c", "logprob": 0.0, "bytes": [0x9C]},
        {"token": '", "preference":', "logprob": 0.0, "bytes": list(b'", "preference":')},
        {**token(" 1", 0.9, {" 0": 0.1}), "bytes": list(b" 1")},
        {
            "token": tail[len('", "preference": 1') :],
            "logprob": 0.0,
            "bytes": list(tail[len('", "preference": 1') :].encode()),
        },
    ]
    assert "".join(t["token"] for t in split) != content
    probabilities = preference_probabilities(content, {"content": split}, (-1, 0, 1))
    assert probabilities == pytest.approx({-1: 0.0, 0: 0.1, 1: 0.9})


def test_logprobs_that_do_not_spell_the_answer_are_not_used():
    content = '{"preference": -1, "confidence": 0.5, "justification": ""}'
    assert (
        preference_probabilities(content, {"content": [token("something else", 0.9)]}, (-1, 0, 1))
        is None
    )
    assert preference_probabilities(content, None, (-1, 0, 1)) is None


# --- usage, cost, cache, concurrency -------------------------------------------------------------------


def test_tokens_and_cost_are_totalled_from_usage_including_requests_that_failed_to_parse(serve):
    def judge(call):
        if call.index == 0:
            return chat_reply("I think A is better.", prompt_tokens=1000, completion_tokens=200)
        reply = prefers_alpha(call)
        reply.body["usage"].update(prompt_tokens=1000, completion_tokens=200)
        return reply

    server = serve(judge)
    config = config_for(
        server, input_price_per_mtok=2.0, output_price_per_mtok=10.0, max_concurrency=1
    )
    run = judge_pairs(config, PREFERENCE_ONLY, pairs(3))

    assert len(server.calls) == 7
    assert (run.usage.requests, run.usage.prompt_tokens, run.usage.completion_tokens) == (
        7,
        7000,
        1400,
    )
    assert run.cost_usd == pytest.approx(7 * (1000 * 2.0 + 200 * 10.0) / 1e6)
    assert sum(v.usage.cost_usd for v in run.results) == pytest.approx(run.cost_usd)
    first = run.results[0].as_record()
    assert first["prompt_tokens"] == 3000 and first["cost_usd"] == pytest.approx(0.012)


def test_a_cache_hit_makes_no_request_and_costs_nothing(serve, tmp_path):
    server = serve(prefers_alpha)
    config = config_for(server, input_price_per_mtok=1.0, output_price_per_mtok=1.0)
    cache = DirectoryCache(tmp_path / "cache")

    first = judge_pairs(config, PREFERENCE_ONLY, pairs(2), cache)
    second = judge_pairs(config, PREFERENCE_ONLY, pairs(2), DirectoryCache(tmp_path / "cache"))

    assert len(server.calls) == 4
    assert first.usage.cost_usd > 0 and first.usage.cache_hits == 0
    assert (second.usage.requests, second.usage.cache_hits, second.usage.cost_usd) == (0, 4, 0.0)
    assert all(v.cache_hit for v in second.results) and not any(v.cache_hit for v in first.results)
    assert [v.as_record()["orders"]["ba"]["raw_text"] for v in second.results] == [
        v.as_record()["orders"]["ba"]["raw_text"] for v in first.results
    ]
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 4
    # Another task (another prompt version) is another key.
    judge_pairs(config, JudgeTask(preference=OVERALL, guidelines="Be strict."), pairs(2), cache)
    assert len(server.calls) == 8


def test_failures_are_not_cached(serve, tmp_path):
    server = serve(
        lambda call: chat_reply("no JSON here") if alpha_first(call) else prefers_alpha(call)
    )
    config = config_for(server, max_retries=0)
    cache = DirectoryCache(tmp_path)

    judge_pairs(config, PREFERENCE_ONLY, pairs(1), cache)
    again = judge_pairs(config, PREFERENCE_ONLY, pairs(1), cache)

    assert len(again.failures) == 1 and again.usage.cache_hits == 1
    assert [alpha_first(c) for c in server.calls].count(True) == 2  # the failing order, asked twice


def test_requests_in_flight_never_exceed_the_concurrency_limit(serve):
    def judge(call):
        reply = prefers_alpha(call)
        reply.delay = 0.15
        return reply

    server = serve(judge)
    seen = []
    run = judge_pairs(
        config_for(server, max_concurrency=3),
        PREFERENCE_ONLY,
        pairs(6),
        progress=lambda d, t: seen.append((d, t)),
    )

    assert len(run.results) == 6 and len(server.calls) == 12
    assert server.max_in_flight == 3
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(1, 7))


# --- the prompt -------------------------------------------------------------------------------------------


def test_the_prompt_shows_the_guidelines_the_questions_and_the_responses_in_the_order_asked():
    pair = pairs(1)[0]
    ab = build_messages(FULL_TASK, pair, "ab")[1]["content"]
    ba = build_messages(FULL_TASK, pair, "ba")[1]["content"]
    assert FULL_TASK.guidelines in ab and "Question 0: how do I boil an egg?" in ab
    assert ab.index("ALPHA-0") < ab.index("BRAVO-0") and ba.index("BRAVO-0") < ba.index("ALPHA-0")
    assert '"helpfulness": Which is more helpful?' in ab and '"correctness": All facts right.' in ab
    assert "-2 = A is clearly better" in ab and "0 = terrible" in ab
    assert (
        '"ratings": {"A": {"correctness": <integer 0..4>}, "B": {"correctness": <integer 0..4>}}'
        in ab
    )


def test_the_prompt_version_changes_with_the_template_as_rendered_for_the_task():
    version = prompt_version(FULL_TASK)
    assert version.startswith("chat1.") and len(version) == len("chat1.") + 12
    assert prompt_version(FULL_TASK) == version
    assert (
        prompt_version(
            JudgeTask(preference=OVERALL, aspects=FULL_TASK.aspects, ratings=FULL_TASK.ratings)
        )
        != version
    )
    assert prompt_version(PREFERENCE_ONLY) != prompt_version(
        JudgeTask(preference=PairwiseQuestion("overall", "Overall?", HELPSTEER2_STRENGTH))
    )
    assert prompt_version(FULL_TASK, "rerun-2") == f"{version}.rerun-2"
    assert len(prompt_version(FULL_TASK, "x" * 24)) <= 64
    with pytest.raises(ValueError):
        prompt_version(FULL_TASK, "x" * 25)


def test_a_task_that_asks_nothing_or_a_bad_config_is_refused():
    with pytest.raises(ValueError, match="asks an overall preference"):
        JudgeTask()
    with pytest.raises(ValueError, match="max_concurrency: at least 1"):
        ChatJudgeConfig(name="x", base_url="http://127.0.0.1:1/v1", model="m", max_concurrency=0)
    with pytest.raises(ValueError, match="base_url"):
        ChatJudgeConfig(name="x", base_url="127.0.0.1:1/v1", model="m")
