"""A directory of answers keyed by content hash: one small JSON file per (model, endpoint,
prompt version, request parameters, rendered messages, response order). Only answers that
parsed are stored, so a failure is asked again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from routing.llm_annotators.openai_chat.client import ChatJudgeConfig


def cache_key(
    *, config: ChatJudgeConfig, prompt_version: str, messages: list[dict], order: str
) -> str:
    """sha256 of everything that shapes the answer (the API key and prices do not)."""
    material = {
        "model": config.model,
        "base_url": config.base_url.rstrip("/"),
        "prompt_version": prompt_version,
        "params": {
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "logprobs": config.request_logprobs,
        },
        "messages": messages,
        "order": order,
    }
    return hashlib.sha256(
        json.dumps(material, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


class DirectoryCache:
    """``<directory>/<2 hex>/<sha256>.json``; written atomically (temporary file + rename), so a
    concurrent reader sees a whole entry or none. Safe across threads and processes."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            value = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent or unreadable: a miss (a good answer overwrites it)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(value, handle, ensure_ascii=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
