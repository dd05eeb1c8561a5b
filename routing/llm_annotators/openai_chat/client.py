"""One POST to an OpenAI-compatible ``/chat/completions`` endpoint, its failures sorted into
what to retry, what fails the item and what stops the run. Standard library HTTP (urllib):
one request per connection, which costs nothing next to a model's answer time.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class ChatJudgeConfig:
    """One configured chat judge. Prices are USD per million tokens; times are seconds.

    ``max_retries`` counts the requests made after the first for one item and order, whatever
    the reason (HTTP 429/5xx, timeout, lost connection, unparseable answer). ``prompt_version``
    is an optional tag appended to the computed prompt version (bump it to label afresh).
    """

    name: str
    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    max_concurrency: int = 4
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0
    prompt_version: str = ""
    request_logprobs: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name):
            problems.append("name: 1–40 lower-case letters, digits, '.', '_' or '-'")
        if not self.base_url.startswith(("http://", "https://")):
            problems.append("base_url: an http:// or https:// URL")
        if not self.model or len(self.model) > 150:
            problems.append("model: 1–150 characters")
        if not 0 <= self.temperature <= 2:
            problems.append("temperature: from 0 to 2")
        if self.max_tokens < 1:
            problems.append("max_tokens: at least 1")
        if self.timeout_s <= 0:
            problems.append("timeout_s: more than 0")
        if self.max_retries < 0:
            problems.append("max_retries: at least 0")
        if self.backoff_base_s < 0 or self.backoff_max_s < self.backoff_base_s:
            problems.append("backoff_base_s ≥ 0 and backoff_max_s ≥ backoff_base_s")
        if self.max_concurrency < 1:
            problems.append("max_concurrency: at least 1")
        if self.input_price_per_mtok < 0 or self.output_price_per_mtok < 0:
            problems.append("prices: at least 0")
        if problems:
            raise ValueError(f"LLM annotator {self.name!r}: " + "; ".join(problems))

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_price_per_mtok
            + completion_tokens * self.output_price_per_mtok
        ) / 1e6


class TransientError(Exception):
    """Worth another request: HTTP 429 or 5xx, a timeout, a lost connection, a garbled body."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RequestRejected(Exception):
    """The endpoint refused this request (a 4xx other than 429): retrying would not help."""


class EndpointRefused(Exception):
    """The endpoint refuses every request (401, 403, 404: key, permission, URL or model): the run stops."""


_RUN_LEVEL_STATUSES = {401, 403, 404}
# A Retry-After beyond this is not waited for in a worker; the item fails with the reason.
RETRY_AFTER_CAP_S = 600.0


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if seconds == seconds else None


def _error_text(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        error = json.loads(text).get("error")
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        elif isinstance(error, str):
            text = error
    except (ValueError, AttributeError):
        pass
    return text[:500] or "(no body)"


def post_chat_completion(config: ChatJudgeConfig, body: dict) -> dict:
    """The decoded JSON reply of one request; raises TransientError, RequestRejected or EndpointRefused."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(
        config.url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s) as reply:
            raw = reply.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, _error_text(exc.read() if exc.fp else b"")
        if status == 429:
            after = retry_after_seconds(exc.headers.get("Retry-After"))
            raise TransientError(f"HTTP 429: {text}", retry_after=after) from None
        if status >= 500:
            raise TransientError(f"HTTP {status}: {text}") from None
        if status in _RUN_LEVEL_STATUSES:
            raise EndpointRefused(f"{config.url} answered HTTP {status}: {text}") from None
        raise RequestRejected(f"HTTP {status}: {text}") from None
    except TimeoutError:
        raise TransientError(f"no answer within {config.timeout_s:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TransientError(f"no answer within {config.timeout_s:g} s") from None
        raise TransientError(f"connection failed: {exc.reason}") from None
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        raise TransientError(f"connection failed: {exc.__class__.__name__}: {exc}") from None
    try:
        reply_json = json.loads(raw)
    except ValueError:
        raise TransientError(f"the reply is not JSON: {raw[:120]!r}") from None
    if (
        not isinstance(reply_json, dict)
        or not isinstance(reply_json.get("choices"), list)
        or not reply_json["choices"]
    ):
        raise TransientError(f"the reply has no choices: {str(reply_json)[:120]}")
    return reply_json
