"""Fixtures of the routing tests: a scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.routing.chat_server import ScriptedChatServer


@pytest.fixture
def serve():
    """``serve(answer)`` starts a :class:`ScriptedChatServer`; every one stops after the test."""
    with ExitStack() as stack:
        yield lambda answer: stack.enter_context(ScriptedChatServer(answer))
