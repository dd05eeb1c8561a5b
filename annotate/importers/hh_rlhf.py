"""Anthropic hh-rlhf: ``{"chosen": str, "rejected": str}`` per line.

Each column is a whole transcript ``"\\n\\nHuman: …\\n\\nAssistant: …"``. The two share
every turn before their last ``\\n\\nAssistant:``; that shared prefix becomes the
instance's messages (``Human`` → user, ``Assistant`` → assistant, each stripped) and
the two final replies become the responses. Rows whose transcripts do not share the
prefix are errors.

- Position: the dataset's own label must not become the display position, or an
  annotator who always picks A would agree with it every time. The chosen reply goes
  to position 0 or 1 by the last hex digit of the row's content hash (even → 0), which
  is deterministic and about half and half; ``metadata["source_preference"]`` records
  where it went (``"A"`` for position 0, ``"B"`` for position 1).
- External id: ``"hh-"`` + the first 16 hex digits of the SHA-256 of
  ``chosen + "\\0" + rejected`` (UTF-8); line numbers would collide across files.
- An empty final reply is kept as an empty response: the upstream data has a few
  (4 of 2,312 rows in harmless-base test) where saying nothing was the preferred,
  harmless answer, and dropping or rejecting them would misrepresent the dataset.
- Model names are not recorded upstream, so responses are ``"unknown"``.
"""

from __future__ import annotations

import hashlib
import re

from annotate.importers.base import (
    ParsedInstance,
    ParsedLabel,
    ParsedResponse,
    ResponseCount,
    RowChecker,
    RowImporter,
)

FINAL_REPLY_MARKER = "\n\nAssistant:"
_TURN_MARKER = re.compile(r"\n\n(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


class HhRlhfImporter(RowImporter):
    name = "hh-rlhf"
    label = "Anthropic hh-rlhf (chosen, rejected transcripts)"

    def parse_row(self, row: RowChecker, *, response_count: ResponseCount) -> ParsedInstance | None:
        # Always a pair (chosen, rejected), which every campaign accepts.
        chosen = row.text("chosen")
        rejected = row.text("rejected")
        if chosen is None or rejected is None:
            return None
        cut_chosen = chosen.rfind(FINAL_REPLY_MARKER)
        cut_rejected = rejected.rfind(FINAL_REPLY_MARKER)
        for column, cut in (("chosen", cut_chosen), ("rejected", cut_rejected)):
            if cut < 0:
                row.add(column, 'has no "\\n\\nAssistant:" turn')
        if row.errors:
            return None
        prefix = chosen[:cut_chosen]
        if rejected[:cut_rejected] != prefix:
            row.add(
                "rejected",
                'does not share the conversation before its last assistant reply with "chosen"',
            )
            return None
        messages = _split_transcript(row, prefix)
        if messages is None:
            return None
        chosen_reply = chosen[cut_chosen + len(FINAL_REPLY_MARKER) :].strip()
        rejected_reply = rejected[cut_rejected + len(FINAL_REPLY_MARKER) :].strip()
        digest = hashlib.sha256(f"{chosen}\0{rejected}".encode()).hexdigest()
        chosen_first = int(digest[-1], 16) % 2 == 0
        replies = [chosen_reply, rejected_reply] if chosen_first else [rejected_reply, chosen_reply]
        return ParsedInstance(
            line=row.line,
            external_id=f"hh-{digest[:16]}",
            messages=messages,
            responses=[ParsedResponse(text=reply) for reply in replies],
            metadata={"source": "hh-rlhf", "source_preference": "A" if chosen_first else "B"},
            id_field="chosen",
            # The crowd worker's choice: which response won, with no strength.
            labels=(
                ParsedLabel(
                    annotator="hh-rlhf-crowdworker",
                    field="chosen",
                    preferred="A" if chosen_first else "B",
                    raw={"chosen": "A" if chosen_first else "B"},
                ),
            ),
        )


def _split_transcript(row: RowChecker, prefix: str) -> list[dict[str, str]] | None:
    parts = _TURN_MARKER.split(prefix)
    # parts = [text before the first marker, speaker, text, speaker, text, ...]
    if parts[0].strip() or len(parts) < 3:
        row.add("chosen", 'must start with "\\n\\nHuman:"')
        return None
    messages = []
    for i, (speaker, text) in enumerate(zip(parts[1::2], parts[2::2], strict=False)):
        role = _ROLES[speaker]
        content = text.strip()
        if not content:
            row.add("chosen", f"turn {i + 1} ({role}) is empty")
            return None
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "user":
        row.add("chosen", "must end with a human turn before the last assistant reply")
        return None
    return messages
