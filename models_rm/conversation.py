"""Render a conversation plus a candidate reply into the single text a reward model reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ROLE_MARKERS: dict[str, str] = {
    "system": "System:",
    "user": "User:",
    "human": "User:",
    "assistant": "Assistant:",
}


def render_conversation(
    messages: Sequence[Mapping[str, str]],
    response: str,
    *,
    max_context_messages: int | None = None,
) -> str:
    """Return ``messages`` followed by ``response`` as one text, one role-marked turn per line.

    Each message is ``{"role": ..., "content": ...}`` with role ``system``, ``user`` (``human`` is
    accepted as an alias) or ``assistant``; ``response`` is rendered as the final assistant turn,
    so it is always the last thing in the text. Long texts are cut from the left by the encoder's
    tokenizer (``truncation_side="left"``), which keeps the last turns and the response.

    ``max_context_messages`` keeps only the last N messages of context (0 renders the response
    alone, still with its role marker); ``None`` keeps them all.
    """
    if max_context_messages is not None and max_context_messages < 0:
        raise ValueError(f"max_context_messages must be >= 0 or None, got {max_context_messages}")
    context = list(messages)
    if max_context_messages is not None:
        context = context[len(context) - max_context_messages :] if max_context_messages else []
    lines = []
    for index, message in enumerate(context):
        role = message.get("role")
        if role not in ROLE_MARKERS:
            raise ValueError(
                f"message {index}: unknown role {role!r}; expected one of {sorted(ROLE_MARKERS)}"
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise TypeError(
                f"message {index}: content must be a string, got {type(content).__name__}"
            )
        lines.append(f"{ROLE_MARKERS[role]} {content.strip()}")
    lines.append(f"{ROLE_MARKERS['assistant']} {response.strip()}")
    return "\n".join(lines)
