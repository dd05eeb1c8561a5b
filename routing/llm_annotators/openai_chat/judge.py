"""Judging pairs with a chat endpoint: each pair in both response orders, each order retried
until it parses or its retries run out, both verdicts mapped back to response positions and
combined, with tokens, cost and a confidence.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from routing.llm_annotators.openai_chat.cache import DirectoryCache, cache_key
from routing.llm_annotators.openai_chat.client import (
    RETRY_AFTER_CAP_S,
    ChatJudgeConfig,
    RequestRejected,
    TransientError,
    post_chat_completion,
)
from routing.llm_annotators.openai_chat.parsing import (
    ParsedAnswer,
    UnparseableAnswer,
    parse_answer,
    preference_probabilities,
)
from routing.llm_annotators.openai_chat.prompt import (
    ORDERS,
    ChatPair,
    JudgeTask,
    build_messages,
    prompt_version,
)

LOGPROBS = "logprobs"
VERBALISED = "verbalised"


@dataclass(frozen=True)
class Usage:
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            requests=self.requests + other.requests,
            cache_hits=self.cache_hits + other.cache_hits,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True)
class OrderVerdict:
    """One order's answer, mapped to response positions (negative favours ``response_a``)."""

    order: str
    preference: int | None
    aspects: dict[str, int]
    ratings: tuple[dict[str, int], dict[str, int]]  # by position
    confidence: float
    confidence_kind: str  # LOGPROBS or VERBALISED
    verbalised_confidence: float
    preference_probs: dict[int, float] | None  # by position; None without logprobs
    justification: str  # names A and B as shown in this order
    raw_text: str
    failed_attempts: tuple[str, ...]
    cache_hit: bool
    usage: Usage

    def as_record(self) -> dict:
        return {
            "preference": self.preference,
            "aspects": self.aspects,
            "ratings": list(self.ratings),
            "confidence": self.confidence,
            "confidence_kind": self.confidence_kind,
            "verbalised_confidence": self.verbalised_confidence,
            "preference_probs": (
                {str(v): p for v, p in sorted(self.preference_probs.items())}
                if self.preference_probs is not None
                else None
            ),
            "justification": self.justification,
            "raw_text": self.raw_text,
            "failed_attempts": list(self.failed_attempts),
            "cache_hit": self.cache_hit,
            **{k: v for k, v in self.usage.as_dict().items() if k != "cache_hits"},
        }


@dataclass(frozen=True)
class PairVerdict:
    """Both orders combined. A side both orders agree on wins, at the weaker of their two
    strengths rounded toward zero; sides that disagree (a tie against a side included) give a
    tie with ``order_consistent=False`` and confidence 0. Ratings are the two orders' mean,
    halves rounded down. ``justification`` is the A-first order's, whose names match positions."""

    item_id: int | str
    preference: int | None
    order_consistent: bool | None  # None when the task asks no overall preference
    aspects: dict[str, int]
    aspects_consistent: dict[str, bool]
    ratings: tuple[dict[str, int], dict[str, int]]
    confidence: float
    confidence_kind: str
    justification: str
    orders: tuple[OrderVerdict, OrderVerdict]  # ("ab", "ba")

    @property
    def usage(self) -> Usage:
        return self.orders[0].usage + self.orders[1].usage

    @property
    def cache_hit(self) -> bool:
        return all(order.cache_hit for order in self.orders)

    def as_record(self) -> dict:
        return {
            "preference": self.preference,
            "order_consistent": self.order_consistent,
            "aspects": self.aspects,
            "aspects_consistent": self.aspects_consistent,
            "ratings": list(self.ratings),
            "confidence": self.confidence,
            "confidence_kind": self.confidence_kind,
            "justification": self.justification,
            "cache_hit": self.cache_hit,
            **{k: v for k, v in self.usage.as_dict().items() if k != "cache_hits"},
            "orders": {order.order: order.as_record() for order in self.orders},
        }


@dataclass(frozen=True)
class PairFailure:
    """A pair with no verdict: an order's every request failed (or was refused)."""

    item_id: int | str
    reason: str
    attempts: tuple[str, ...]  # every failed request's reason, both orders
    usage: Usage  # what was spent on it anyway


@dataclass(frozen=True)
class ChatJudgeRun:
    prompt_version: str
    results: tuple[PairVerdict, ...]
    failures: tuple[PairFailure, ...]
    usage: Usage = field(default_factory=Usage)

    @property
    def cost_usd(self) -> float:
        return self.usage.cost_usd


@dataclass
class _OrderOutcome:
    verdict: OrderVerdict | None
    failed_attempts: list[str]
    usage: Usage


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _combined(first: int, second: int) -> tuple[int, bool]:
    if _sign(first) != _sign(second):
        return 0, False
    return int((first + second) / 2), True  # int() rounds toward zero: the weaker strength


def _request_body(config: ChatJudgeConfig, task: JudgeTask, messages: list[dict]) -> dict:
    body = {
        "model": config.model,
        "messages": messages,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
    }
    if config.request_logprobs and task.preference is not None:
        body["logprobs"] = True
        body["top_logprobs"] = min(20, len(task.preference.values) + 3)
    return body


def _by_position(
    *,
    order: str,
    parsed: ParsedAnswer,
    shown_probs: dict[int, float] | None,
    raw_text: str,
    failed_attempts: list[str],
    cache_hit: bool,
    usage: Usage,
) -> OrderVerdict:
    sign = 1 if order == "ab" else -1
    chosen_probability = (
        shown_probs.get(parsed.preference)
        if shown_probs and parsed.preference is not None
        else None
    )
    if chosen_probability:
        confidence, kind = float(chosen_probability), LOGPROBS
    else:
        confidence, kind = parsed.confidence, VERBALISED
    return OrderVerdict(
        order=order,
        preference=None if parsed.preference is None else sign * parsed.preference,
        aspects={key: sign * value for key, value in parsed.aspects.items()},
        ratings=parsed.ratings if order == "ab" else (parsed.ratings[1], parsed.ratings[0]),
        confidence=round(confidence, 6),
        confidence_kind=kind,
        verbalised_confidence=parsed.confidence,
        preference_probs=(
            {sign * value: p for value, p in shown_probs.items()}
            if shown_probs is not None
            else None
        ),
        justification=parsed.justification,
        raw_text=raw_text,
        failed_attempts=tuple(failed_attempts),
        cache_hit=cache_hit,
        usage=usage,
    )


def _backoff_s(config: ChatJudgeConfig, attempt: int) -> float:
    ceiling = min(config.backoff_max_s, config.backoff_base_s * 2**attempt)
    return ceiling * random.uniform(0.5, 1.0)


def _judge_order(
    *,
    config: ChatJudgeConfig,
    task: JudgeTask,
    version: str,
    pair: ChatPair,
    order: str,
    cache: DirectoryCache | None,
    stop: threading.Event,
) -> _OrderOutcome:
    messages = build_messages(task, pair, order)
    key = cache_key(config=config, prompt_version=version, messages=messages, order=order)
    values = task.preference.values if task.preference is not None else ()
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        try:
            parsed = parse_answer(cached.get("content"), task)
        except UnparseableAnswer:
            pass  # written by an older parser: ask again
        else:
            probs = cached.get("preference_probs")
            shown_probs = (
                {int(v): float(p) for v, p in probs.items()} if isinstance(probs, dict) else None
            )
            usage = Usage(cache_hits=1)
            verdict = _by_position(
                order=order,
                parsed=parsed,
                shown_probs=shown_probs,
                raw_text=cached["content"],
                failed_attempts=[],
                cache_hit=True,
                usage=usage,
            )
            return _OrderOutcome(verdict, [], usage)

    failed: list[str] = []
    usage = Usage()
    body = _request_body(config, task, messages)
    for attempt in range(1 + config.max_retries):
        if stop.is_set():
            failed.append("the run stopped")
            break
        usage += Usage(requests=1)
        try:
            reply = post_chat_completion(config, body)
        except TransientError as exc:
            failed.append(str(exc))
            if attempt == config.max_retries:
                break
            delay = exc.retry_after if exc.retry_after is not None else _backoff_s(config, attempt)
            if delay > RETRY_AFTER_CAP_S:
                failed.append(f"asked to wait {delay:.0f} s, more than {RETRY_AFTER_CAP_S:.0f} s")
                break
            stop.wait(delay)
            continue
        except RequestRejected as exc:
            failed.append(str(exc))
            break
        reported = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        prompt_tokens = int(reported.get("prompt_tokens") or 0)
        completion_tokens = int(reported.get("completion_tokens") or 0)
        usage += Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=config.cost_usd(prompt_tokens, completion_tokens),
        )
        choice = reply["choices"][0] if isinstance(reply["choices"][0], dict) else {}
        content = (choice.get("message") or {}).get("content")
        try:
            parsed = parse_answer(content, task)
        except UnparseableAnswer as exc:
            cut = " (cut off at max_tokens)" if choice.get("finish_reason") == "length" else ""
            failed.append(f"unparseable answer{cut}: {exc}")
            continue
        shown_probs = (
            preference_probabilities(content, choice.get("logprobs"), values) if values else None
        )
        if cache is not None:
            cache.put(
                key,
                {
                    "content": content,
                    "preference_probs": (
                        {str(v): p for v, p in shown_probs.items()}
                        if shown_probs is not None
                        else None
                    ),
                    "model": reply.get("model"),
                },
            )
        verdict = _by_position(
            order=order,
            parsed=parsed,
            shown_probs=shown_probs,
            raw_text=content,
            failed_attempts=failed,
            cache_hit=False,
            usage=usage,
        )
        return _OrderOutcome(verdict, failed, usage)
    return _OrderOutcome(None, failed, usage)


def _combine(item_id: int | str, ab: OrderVerdict, ba: OrderVerdict) -> PairVerdict:
    preference, consistent = None, None
    if ab.preference is not None and ba.preference is not None:
        preference, consistent = _combined(ab.preference, ba.preference)
    aspects: dict[str, int] = {}
    aspects_consistent: dict[str, bool] = {}
    for key in ab.aspects:
        aspects[key], aspects_consistent[key] = _combined(ab.aspects[key], ba.aspects[key])
    ratings = tuple(
        {
            key: (ab.ratings[position][key] + ba.ratings[position][key]) // 2
            for key in ab.ratings[position]
        }
        for position in (0, 1)
    )
    # A tie made of two orders that disagree is no one's verdict: confidence 0.
    confidence = 0.0 if consistent is False else round((ab.confidence + ba.confidence) / 2, 6)
    kinds = {ab.confidence_kind, ba.confidence_kind}
    return PairVerdict(
        item_id=item_id,
        preference=preference,
        order_consistent=consistent,
        aspects=aspects,
        aspects_consistent=aspects_consistent,
        ratings=(ratings[0], ratings[1]),
        confidence=confidence,
        confidence_kind=kinds.pop() if len(kinds) == 1 else "mixed",
        justification=ab.justification,
        orders=(ab, ba),
    )


def _failure(item_id: int | str, ab: _OrderOutcome, ba: _OrderOutcome) -> PairFailure:
    by_order = (("ab", ab), ("ba", ba))
    reasons = []
    for name, outcome in by_order:
        if outcome.verdict is None:
            last = outcome.failed_attempts[-1] if outcome.failed_attempts else "failed"
            n = outcome.usage.requests
            reasons.append(f"order {name}: {last} (after {n} request{'s' if n != 1 else ''})")
    return PairFailure(
        item_id=item_id,
        reason="; ".join(reasons),
        attempts=tuple(
            f"order {name}: {reason}"
            for name, outcome in by_order
            for reason in outcome.failed_attempts
        ),
        usage=ab.usage + ba.usage,
    )


def judge_pairs(
    config: ChatJudgeConfig,
    task: JudgeTask,
    pairs: Sequence[ChatPair],
    cache: DirectoryCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ChatJudgeRun:
    """Judge every pair in both orders, at most ``config.max_concurrency`` requests at a time.

    Every pair ends as a verdict or a :class:`PairFailure` (with each failed request's reason);
    nothing is defaulted. ``progress(done, total)`` is called on this thread as pairs finish.
    Raises :class:`EndpointRefused` (401/403/404) and stops every request of the run.
    """
    version = prompt_version(task, config.prompt_version)
    total = len(pairs)
    stop = threading.Event()
    outcomes: dict[tuple[int, str], _OrderOutcome] = {}
    results: list[PairVerdict] = []
    failures: list[PairFailure] = []
    usage = Usage()
    # One pool per run: its size is the run's concurrency limit, shared by both orders of every pair.
    pool = ThreadPoolExecutor(
        max_workers=config.max_concurrency, thread_name_prefix=f"judge-{config.name}"
    )
    try:
        futures = {
            pool.submit(
                _judge_order,
                config=config,
                task=task,
                version=version,
                pair=pair,
                order=order,
                cache=cache,
                stop=stop,
            ): (index, order)
            for index, pair in enumerate(pairs)
            for order in ORDERS
        }
        pending = set(futures)
        done_pairs = 0
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                index, order = futures[future]
                outcomes[(index, order)] = future.result()  # EndpointRefused stops the run here
                other = outcomes.get((index, "ba" if order == "ab" else "ab"))
                if other is None:
                    continue
                ab, ba = outcomes[(index, "ab")], outcomes[(index, "ba")]
                pair_usage = ab.usage + ba.usage
                usage += pair_usage
                item_id = pairs[index].item_id
                if ab.verdict is not None and ba.verdict is not None:
                    results.append(_combine(item_id, ab.verdict, ba.verdict))
                else:
                    failures.append(_failure(item_id, ab, ba))
                done_pairs += 1
                if progress is not None:
                    progress(done_pairs, total)
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    order_of = {pair.item_id: i for i, pair in enumerate(pairs)}
    return ChatJudgeRun(
        prompt_version=version,
        results=tuple(sorted(results, key=lambda r: order_of[r.item_id])),
        failures=tuple(sorted(failures, key=lambda f: order_of[f.item_id])),
        usage=usage,
    )
