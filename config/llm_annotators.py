"""``LLM_ANNOTATORS_JSON``: the OpenAI-compatible chat judges a campaign may run, checked loudly.

A JSON list of objects, one per annotator::

    [{"name": "gpt4o", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-2024-08-06",
      "api_key_env": "OPENAI_API_KEY", "input_price_per_mtok": 2.5, "output_price_per_mtok": 10,
      "max_concurrency": 8}]

Keys are never in this JSON: ``api_key_env`` names the variable (or ``<NAME>_FILE``) the
worker reads the key from when a job runs, so the web process needs no key. Every other key
is a field of ``routing.llm_annotators.openai_chat.ChatJudgeConfig``; omitted ones take its
defaults. Unknown keys, wrong types and out-of-range values stop the process, naming them.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import ImproperlyConfigured

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TAG = re.compile(r"^[A-Za-z0-9._-]{0,24}$")


def _number(minimum: float, maximum: float | None = None, *, above: bool = False):
    def check(value) -> str | None:
        if type(value) not in (int, float):
            return "a number"
        if (value <= minimum) if above else (value < minimum):
            return f"a number {'above' if above else 'at least'} {minimum:g}"
        if maximum is not None and value > maximum:
            return f"a number from {minimum:g} to {maximum:g}"
        return None

    return check


def _integer(minimum: int):
    def check(value) -> str | None:
        if type(value) is not int or value < minimum:
            return f"an integer, at least {minimum}"
        return None

    return check


def _text(pattern: re.Pattern, meaning: str, *, max_length: int | None = None):
    def check(value) -> str | None:
        if not isinstance(value, str) or not pattern.match(value):
            return meaning
        if max_length is not None and len(value) > max_length:
            return meaning
        return None

    return check


def _url(value) -> str | None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return "an http:// or https:// URL (the API root, e.g. https://api.openai.com/v1)"
    return None


def _boolean(value) -> str | None:
    return None if isinstance(value, bool) else "true or false"


_FIELDS = {
    "name": _text(_NAME, "1–40 lower-case letters, digits, '.', '_' or '-'"),
    "base_url": _url,
    "model": _text(
        re.compile(r"^\S"), "the model's name at the endpoint (1–150 characters)", max_length=150
    ),
    "api_key_env": _text(_ENV_NAME, "the name of an environment variable (A–Z, 0–9, _)"),
    "temperature": _number(0, 2),
    "max_tokens": _integer(1),
    "timeout_s": _number(0, above=True),
    "max_retries": _integer(0),
    "backoff_base_s": _number(0),
    "backoff_max_s": _number(0),
    "max_concurrency": _integer(1),
    "input_price_per_mtok": _number(0),
    "output_price_per_mtok": _number(0),
    "prompt_version": _text(_TAG, "a tag of at most 24 letters, digits, '.', '_' or '-'"),
    "request_logprobs": _boolean,
}
_REQUIRED = ("name", "base_url", "model")


def parse_llm_annotators(raw: str, *, variable: str = "LLM_ANNOTATORS_JSON") -> dict[str, dict]:
    """Annotator name → its settings (plain JSON values, ``api_key_env`` included), in order."""
    if not raw.strip():
        return {}
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} is not valid JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ImproperlyConfigured(
            f"{variable} must be a JSON list of objects, one per LLM annotator."
        )
    annotators: dict[str, dict] = {}
    for i, entry in enumerate(entries):
        where = f"{variable}[{i}]"
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(f"{where} must be an object.")
        unknown = sorted(set(entry) - set(_FIELDS))
        if unknown:
            raise ImproperlyConfigured(
                f"{where} has unknown keys {', '.join(unknown)}; known: {', '.join(_FIELDS)}."
            )
        missing = [key for key in _REQUIRED if key not in entry]
        if missing:
            raise ImproperlyConfigured(f"{where} needs {', '.join(missing)}.")
        for key, value in entry.items():
            expected = _FIELDS[key](value)
            if expected:
                raise ImproperlyConfigured(f"{where}.{key}={json.dumps(value)} must be {expected}.")
        if entry.get("backoff_max_s", 30.0) < entry.get("backoff_base_s", 1.0):
            raise ImproperlyConfigured(f"{where}: backoff_max_s must be at least backoff_base_s.")
        if entry["name"] in annotators:
            raise ImproperlyConfigured(f"{where}: the name {entry['name']!r} is used twice.")
        annotators[entry["name"]] = dict(entry)
    return annotators
