"""The platform's own documented schema, one JSON object per line::

    {"id": "q-17",                                   # string or integer, unique in the file
     "prompt": "What is ...?",                       # either "prompt" ...
     "messages": [{"role": "user", "content": "..."}],  # ... or "messages", ending with a user turn
     "responses": [{"model": "gpt-x", "text": "..."}, {"text": "..."}],  # see below
     "metadata": {"source": "..."},                  # optional object, kept as it is
                                                     # (or that object as JSON text, as the
                                                     # ``generic`` export writes it)
     "check": {"kind": "gold", "expected": {"overall": "A-is-clearly-better"}, "tolerance": 1}}
                                                     # optional: a gold, attention or
                                                     # qualification item (answers in row order)

Roles are ``system``, ``user`` and ``assistant``; every text must be a non-empty
string; a response's ``model`` defaults to ``"unknown"``. Other keys are ignored.
A campaign that asks pairwise preferences takes exactly 2 responses per row; a
rating-only campaign takes 1 or more.
"""

from __future__ import annotations

from typing import Any

from annotate.importers.base import (
    DEFAULT_MODEL_NAME,
    MAX_MODEL_NAME_LENGTH,
    ROLES,
    JsonRefused,
    ParsedInstance,
    ParsedResponse,
    ResponseCount,
    RowChecker,
    RowImporter,
    load_json,
)


class GenericImporter(RowImporter):
    name = "generic"
    label = "Generic JSON Lines (id, prompt or messages, responses, metadata)"

    def parse_row(self, row: RowChecker, *, response_count: ResponseCount) -> ParsedInstance | None:
        external_id = row.identifier("id")
        messages = self._messages(row)
        responses = self._responses(row, count=response_count)
        metadata = _metadata(row)
        if row.errors or external_id is None or messages is None or responses is None:
            return None
        return ParsedInstance(
            line=row.line,
            external_id=external_id,
            messages=messages,
            responses=responses,
            metadata=metadata,
            check=row.row.get("check"),
        )

    def _messages(self, row: RowChecker) -> list[dict[str, str]] | None:
        has_prompt = row.row.get("prompt") is not None
        has_messages = row.row.get("messages") is not None
        if has_prompt and has_messages:
            row.add("prompt", 'give either "prompt" or "messages", not both')
            return None
        if has_prompt:
            prompt = row.text("prompt")
            return None if prompt is None else [{"role": "user", "content": prompt}]
        if not has_messages:
            row.add("prompt", 'is required (or give "messages")')
            return None
        return parse_messages(row, row.row["messages"], "messages")

    def _responses(self, row: RowChecker, *, count: ResponseCount) -> list[ParsedResponse] | None:
        value = row.row.get("responses")
        if value is None:
            row.add("responses", "is required")
            return None
        if not isinstance(value, list):
            row.add("responses", "must be an array")
            return None
        problem = count.problem(len(value))
        if problem is not None:
            row.add("responses", problem)
            return None
        responses: list[ParsedResponse] = []
        for i, item in enumerate(value):
            where = f"responses[{i}]"
            if not isinstance(item, dict):
                row.add(where, "must be an object")
                continue
            text = row.check_text(item.get("text"), f"{where}.text")
            model: Any = item.get("model")
            if model is None:
                model_name = DEFAULT_MODEL_NAME
            else:
                checked = row.check_text(model, f"{where}.model", max_length=MAX_MODEL_NAME_LENGTH)
                model_name = checked.strip() if checked else DEFAULT_MODEL_NAME
            if text is not None:
                responses.append(ParsedResponse(text=text, model_name=model_name))
        return responses if len(responses) == len(value) else None


def _metadata(row: RowChecker) -> dict:
    value = row.row.get("metadata")
    if value is None:
        return {}
    if isinstance(value, str):
        # The generic export writes metadata as JSON text (one column type in Parquet).
        try:
            value = load_json(value)
        except JsonRefused as exc:
            # Checked like a line of the file: the text could hide what the line's check saw
            # only escaped (a NUL, deep nesting, a number too large).
            if exc.path:
                row.add(f"metadata.{exc.path}", exc.message)
            else:
                row.add("metadata", f"is text that {exc.message}; give an object or an object's JSON text")
            return {}
    if not isinstance(value, dict):
        row.add("metadata", "must be an object (or an object's JSON text)")
        return {}
    return value


def parse_messages(row: RowChecker, value: Any, field: str) -> list[dict[str, str]] | None:
    """A list of {role, content} turns ending with a user turn, or None after errors."""
    if not isinstance(value, list) or not value:
        row.add(field, "must be a non-empty array")
        return None
    messages: list[dict[str, str]] = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            row.add(where, "must be an object")
            continue
        role = item.get("role")
        if role not in ROLES:
            row.add(f"{where}.role", 'must be one of "system", "user", "assistant"')
        content = row.check_text(item.get("content"), f"{where}.content")
        if role in ROLES and content is not None:
            messages.append({"role": role, "content": content})
    if len(messages) != len(value):
        return None
    if messages[-1]["role"] != "user":
        row.add(field, "must end with a user turn")
        return None
    return messages
