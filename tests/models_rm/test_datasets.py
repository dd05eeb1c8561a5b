from __future__ import annotations

import gzip
import json
import logging

import pytest

from models_rm.datasets import (
    DatasetError,
    PreferencePair,
    TranscriptError,
    load_hh_rlhf_pairs,
    parse_hh_transcript,
    split_pairs,
)

PREFIX = "\n\nHuman: Hi\n\nAssistant: Hello, how can I help?\n\nHuman: Tell me a joke."


def write_jsonl(path, rows, *, compress=False):
    lines = "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def test_parses_shared_turns_into_messages_and_the_last_assistant_turn_into_the_reply():
    messages, reply = parse_hh_transcript(PREFIX + "\n\nAssistant:  Why did the chicken… ")

    assert messages == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]
    assert reply == "Why did the chicken…"


def test_inline_human_marker_without_a_blank_line_stays_in_the_content():
    messages, reply = parse_hh_transcript("\n\nHuman: Hi\n\nAssistant: Sure.  Human: that was odd")

    assert messages == [{"role": "user", "content": "Hi"}]
    assert reply == "Sure.  Human: that was odd"


def test_an_empty_final_reply_is_kept():
    assert parse_hh_transcript("\n\nHuman: Hi\n\nAssistant:") == (
        [{"role": "user", "content": "Hi"}],
        "",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("just some text", "no '\\\\n\\\\nHuman:'"),
        ("preamble\n\nHuman: Hi\n\nAssistant: Yo", "text before the first turn marker"),
        ("\n\nHuman: Hi\n\nAssistant: Yo\n\nHuman: And?", "last turn is not an Assistant turn"),
        ("\n\nAssistant: Yo", "no conversation before the final Assistant turn"),
        (None, "must be a string"),
    ],
)
def test_malformed_transcripts_are_rejected_with_the_reason(text, reason):
    with pytest.raises(TranscriptError, match=reason):
        parse_hh_transcript(text)


@pytest.mark.parametrize("compress", [False, True])
def test_loads_pairs_in_file_order_from_plain_or_gzipped_jsonl(tmp_path, compress):
    path = write_jsonl(
        tmp_path / ("pairs.jsonl.gz" if compress else "pairs.jsonl"),
        [
            {
                "chosen": PREFIX + "\n\nAssistant: A good one.",
                "rejected": PREFIX + "\n\nAssistant: No.",
            },
            {
                "chosen": "\n\nHuman: 2+2?\n\nAssistant: 4",
                "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5",
            },
        ],
        compress=compress,
    )

    pairs = load_hh_rlhf_pairs(path)

    assert pairs == [
        PreferencePair(
            messages=tuple(parse_hh_transcript(PREFIX + "\n\nAssistant: x")[0]),
            chosen="A good one.",
            rejected="No.",
        ),
        PreferencePair(messages=({"role": "user", "content": "2+2?"},), chosen="4", rejected="5"),
    ]


def test_every_bad_row_is_reported_by_line_and_reason(tmp_path):
    good = {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c"}
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            good,
            "{not json",
            {"chosen": good["chosen"]},
            {"chosen": good["chosen"], "rejected": "\n\nHuman: a"},
            ["a", "list"],
        ],
    )

    with pytest.raises(DatasetError) as raised:
        load_hh_rlhf_pairs(path)

    assert [line for line, _ in raised.value.errors] == [2, 3, 4, 5]
    message = str(raised.value)
    assert "line 2: invalid JSON" in message
    assert "line 3: missing field 'rejected'" in message
    assert "line 4: field 'rejected': the last turn is not an Assistant turn" in message
    assert "line 5: expected a JSON object, got list" in message


def test_rows_whose_transcripts_diverge_early_are_skipped_with_a_warning_or_reported(
    tmp_path, caplog
):
    good = {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c"}
    diverging = {
        "chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: d\n\nAssistant: e",
        "rejected": "\n\nHuman: a\n\nAssistant: X\n\nHuman: d\n\nAssistant: f",
    }
    path = write_jsonl(tmp_path / "pairs.jsonl", [good, diverging])

    with caplog.at_level(logging.WARNING, logger="models_rm.datasets"):
        assert len(load_hh_rlhf_pairs(path)) == 1
    assert "lines 2" in caplog.text
    with pytest.raises(DatasetError, match="line 2: chosen and rejected differ before the final"):
        load_hh_rlhf_pairs(path, on_prefix_mismatch="error")


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        load_hh_rlhf_pairs(tmp_path / "nowhere.jsonl")


def test_split_is_seeded_and_disjoint():
    pairs = [PreferencePair((), f"c{i}", f"r{i}") for i in range(10)]

    train, held_out = split_pairs(pairs, train_size=7, seed=3)

    assert (train, held_out) == split_pairs(pairs, train_size=7, seed=3)
    assert len(train) == 7 and len(held_out) == 3
    assert sorted(p.chosen for p in train + held_out) == sorted(p.chosen for p in pairs)
    assert split_pairs(pairs, train_size=7, seed=4) != (train, held_out)


def test_real_harmless_test_split_loads(hh_harmless_path):
    pairs = load_hh_rlhf_pairs(hh_harmless_path)

    assert len(pairs) == 2312 - 5
    assert all(pair.messages and pair.messages[0]["role"] == "user" for pair in pairs)
