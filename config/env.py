"""Reading settings from environment variables, loudly.

Every setting comes from the environment. A value that cannot be parsed raises
``ImproperlyConfigured`` naming the variable and what was expected, instead of
silently falling back to a default. Secrets may also be read from a file named
by ``<NAME>_FILE`` (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def read_str(name: str, default: str | None = None) -> str:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def read_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def read_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def read_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}.")
    return value


def read_int_map(name: str, *, keys: tuple[str, ...], minimum: int) -> dict[str, int]:
    """``"key=number,key=number"`` (e.g. ``import=3600,export=1800``); each key one of ``keys``."""
    result: dict[str, int] = {}
    for item in read_list(name, []):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in keys:
            raise ImproperlyConfigured(
                f"{name}: {item!r} must be KIND=SECONDS with KIND one of {', '.join(keys)}."
            )
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {raw.strip()!r} for {key} is not an integer.") from None
        if value < minimum:
            raise ImproperlyConfigured(f"{name}: {key}={value} must be at least {minimum}.")
        result[key] = value
    return result
