"""An OpenAI-compatible chat-completions endpoint (vLLM, OpenAI, others) as an LLM annotator.

A pure client library: plain dataclasses in and out, no Django, nothing of annotate (an
import-linter contract keeps it so). ``judge_pairs(config, task, pairs, cache)`` is the entry
point; ``routing.http_judge`` is the Django shell around it.
"""

from __future__ import annotations

from routing.llm_annotators.openai_chat.cache import DirectoryCache, cache_key
from routing.llm_annotators.openai_chat.client import (
    ChatJudgeConfig,
    EndpointRefused,
    RequestRejected,
    TransientError,
    post_chat_completion,
)
from routing.llm_annotators.openai_chat.judge import (
    LOGPROBS,
    VERBALISED,
    ChatJudgeRun,
    OrderVerdict,
    PairFailure,
    PairVerdict,
    Usage,
    judge_pairs,
)
from routing.llm_annotators.openai_chat.parsing import (
    ParsedAnswer,
    UnparseableAnswer,
    parse_answer,
    preference_probabilities,
)
from routing.llm_annotators.openai_chat.prompt import (
    FIVE_POINT,
    HELPSTEER2_STRENGTH,
    ORDERS,
    PROMPT_TEMPLATE_VERSION,
    ChatPair,
    JudgeTask,
    PairwiseQuestion,
    RatingQuestion,
    ScalePoint,
    build_messages,
    prompt_version,
)

__all__ = [
    "FIVE_POINT",
    "HELPSTEER2_STRENGTH",
    "LOGPROBS",
    "ORDERS",
    "PROMPT_TEMPLATE_VERSION",
    "VERBALISED",
    "ChatJudgeConfig",
    "ChatJudgeRun",
    "ChatPair",
    "DirectoryCache",
    "EndpointRefused",
    "JudgeTask",
    "OrderVerdict",
    "PairFailure",
    "PairVerdict",
    "PairwiseQuestion",
    "ParsedAnswer",
    "RatingQuestion",
    "RequestRejected",
    "ScalePoint",
    "TransientError",
    "UnparseableAnswer",
    "Usage",
    "build_messages",
    "cache_key",
    "judge_pairs",
    "parse_answer",
    "post_chat_completion",
    "preference_probabilities",
    "prompt_version",
]
