"""Read and check instances and labels files (plain or ``.gz``), collecting every bad row."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from routing.core.datasets.errors import DatasetError, RowError
from routing.core.datasets.model import Instance, LabelFile, LabelRecord

ROLES = ("system", "user", "assistant")


def _open_text(path: Path):
    return (
        gzip.open(path, "rt", encoding="utf-8")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8")
    )


def _read_json_lines(path: Path, kind: str) -> Iterator[tuple[int, Any] | RowError]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, [RowError(0, "", f"{kind} file not found")])
    try:
        with _open_text(path) as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield line_number, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield RowError(
                        line_number, "", f"invalid JSON: {exc.msg} at column {exc.colno}"
                    )
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DatasetError(path, [RowError(0, "", f"cannot read {kind} file: {exc}")]) from exc


def _json_objects(path: Path, kind: str, errors: list[RowError]) -> Iterator[tuple[int, dict]]:
    """``(line, object)`` for each JSON-object line; bad JSON and non-objects go to ``errors``."""
    for item in _read_json_lines(path, kind):
        if isinstance(item, RowError):
            errors.append(item)
            continue
        line, row = item
        if not isinstance(row, dict):
            errors.append(RowError(line, "", f"expected a JSON object, got {type(row).__name__}"))
            continue
        yield line, row


def _identifier(row: Mapping[str, Any], line: int, errors: list[RowError]) -> str | None:
    value = row.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append(RowError(line, "id", "is required: a string or an integer"))
        return None
    text = str(value).strip()
    if not text:
        errors.append(RowError(line, "id", "must not be empty"))
        return None
    return text


def _text(value: Any, line: int, where: str, errors: list[RowError]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors.append(RowError(line, where, "must be a non-empty string"))
        return None
    return value


def _messages(row: Mapping[str, Any], line: int, errors: list[RowError]) -> list[dict] | None:
    has_prompt = row.get("prompt") is not None
    has_messages = row.get("messages") is not None
    if has_prompt and has_messages:
        errors.append(RowError(line, "prompt", 'give either "prompt" or "messages", not both'))
        return None
    if has_prompt:
        prompt = _text(row["prompt"], line, "prompt", errors)
        return None if prompt is None else [{"role": "user", "content": prompt}]
    if not has_messages:
        errors.append(RowError(line, "prompt", 'is required (or give "messages")'))
        return None
    value = row["messages"]
    if not isinstance(value, list) or not value:
        errors.append(RowError(line, "messages", "must be a non-empty array"))
        return None
    messages = []
    for index, item in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(item, dict):
            errors.append(RowError(line, where, "must be an object"))
            continue
        role = item.get("role")
        if role not in ROLES:
            errors.append(RowError(line, f"{where}.role", f"must be one of {', '.join(ROLES)}"))
        content = _text(item.get("content"), line, f"{where}.content", errors)
        if role in ROLES and content is not None:
            messages.append({"role": role, "content": content})
    if len(messages) != len(value):
        return None
    if messages[-1]["role"] != "user":
        errors.append(RowError(line, "messages", "must end with a user turn"))
        return None
    return messages


def _note_first_line(
    identifier: str, line: int, first_line: dict[str, int], errors: list[RowError]
) -> None:
    """Remember where ``identifier`` first appeared; a repeat is an error naming that line."""
    if identifier in first_line:
        message = f"duplicate id {identifier!r} (first on line {first_line[identifier]})"
        errors.append(RowError(line, "id", message))
    else:
        first_line[identifier] = line


def load_instances(
    path: str | Path, *, skipped_empty: list[tuple[str, RowError]] | None = None
) -> tuple[Instance, ...]:
    """Read and check an instances file (generic import schema, plain or ``.gz``), file order.

    Raises ``DatasetError`` listing every bad row (missing id/prompt/responses, fewer than two
    responses, bad roles, duplicate ids) or naming a missing file. With ``skipped_empty`` (a
    list), a row whose only fault is an empty response text is left out and its error appended
    there as ``(id, error)`` instead (the caller counts and reports them, and ignores their
    labels).
    """
    path = Path(path)
    errors: list[RowError] = []
    instances: list[Instance] = []
    first_line: dict[str, int] = {}
    for line, row in _json_objects(path, "instances", errors):
        before = len(errors)
        identifier = _identifier(row, line, errors)
        messages = _messages(row, line, errors)
        responses = row.get("responses")
        texts: list[str | None] = []
        models: list[str] = []
        if not isinstance(responses, list):
            errors.append(RowError(line, "responses", "is required: an array of {model, text}"))
        elif len(responses) < 2:
            errors.append(
                RowError(line, "responses", f"needs at least 2 responses, got {len(responses)}")
            )
        else:
            for index, response in enumerate(responses[:2]):
                where = f"responses[{index}]"
                if not isinstance(response, dict):
                    errors.append(RowError(line, where, "must be an object with a text"))
                    texts.append(None)
                    continue
                texts.append(_text(response.get("text"), line, f"{where}.text", errors))
                model = response.get("model")
                models.append(
                    model.strip() if isinstance(model, str) and model.strip() else "unknown"
                )
        metadata = row.get("metadata") or {}
        if not isinstance(metadata, dict):
            errors.append(RowError(line, "metadata", "must be an object"))
        if identifier is not None:
            _note_first_line(identifier, line, first_line, errors)
        if skipped_empty is not None and len(errors) > before:
            row_errors = errors[before:]
            if (
                identifier is not None
                and all(e.field.endswith(".text") for e in row_errors)
                and all(
                    isinstance(r, dict) and isinstance(r.get("text"), str)
                    for r in (responses or [])[:2]
                )
            ):
                del errors[before:]
                skipped_empty.extend((identifier, error) for error in row_errors)
                continue
        if len(errors) > before or messages is None or identifier is None:
            continue
        instances.append(
            Instance(
                id=identifier,
                messages=tuple(messages),
                response_a=texts[0],
                response_b=texts[1],
                model_a=models[0],
                model_b=models[1],
                metadata=dict(metadata),
                line=line,
            )
        )
    if errors:
        raise DatasetError(path, errors)
    if not instances:
        raise DatasetError(path, [RowError(0, "", "no instances in the file")])
    return tuple(instances)


def _label_value(value: Any, line: int, where: str, errors: list[RowError]) -> str | None:
    if value is None or value in ("A", "B", "tie"):
        return value
    errors.append(
        RowError(line, where, f'unknown label {value!r}: expected "A", "B", "tie" or null')
    )
    return None


def load_labels(path: str | Path) -> LabelFile:
    """Read and check a labels file (plain or ``.gz``).

    Every top-level field other than ``id`` and ``llm`` is kept as given in ``fields``; those
    holding a string or null in some row are candidate human label columns (``human_fields``),
    checked only once one is chosen (:func:`check_label_name`), so a free-text field such as a
    note is no error. Every ``llm`` value must be ``"A"``, ``"B"``, ``"tie"`` or ``null``.
    Raises ``DatasetError`` listing every bad row (unknown LLM label values, ``llm`` not an
    object, duplicate ids) or naming a missing file.
    """
    path = Path(path)
    errors: list[RowError] = []
    records: list[LabelRecord] = []
    first_line: dict[str, int] = {}
    human_fields: set[str] = set()
    llm_names: set[str] = set()
    for line, row in _json_objects(path, "labels", errors):
        before = len(errors)
        identifier = _identifier(row, line, errors)
        fields = {key: value for key, value in row.items() if key not in ("id", "llm")}
        llm_value = row.get("llm", {})
        llm: dict[str, str | None] = {}
        if llm_value is None:
            llm_value = {}
        if not isinstance(llm_value, dict):
            errors.append(RowError(line, "llm", 'must be an object {"<name>": "A"|"B"|"tie"|null}'))
        else:
            for name, value in llm_value.items():
                llm[name] = _label_value(value, line, f"llm.{name}", errors)
        if identifier is not None:
            _note_first_line(identifier, line, first_line, errors)
        if len(errors) > before or identifier is None:
            continue
        human_fields.update(k for k, v in fields.items() if v is None or isinstance(v, str))
        llm_names.update(llm)
        records.append(LabelRecord(id=identifier, fields=fields, llm=llm, line=line))
    if errors:
        raise DatasetError(path, errors)
    if not records:
        raise DatasetError(path, [RowError(0, "", "no label rows in the file")])
    return LabelFile(
        path=path,
        records=tuple(records),
        human_fields=tuple(sorted(human_fields)),
        llm_names=tuple(sorted(llm_names)),
    )
