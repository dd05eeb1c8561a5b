"""A real chat-completions server on 127.0.0.1 for the HTTP judge's tests, scripted per test.

``ScriptedChatServer(answer)`` calls ``answer(call)`` for every POST and sends the
:class:`Reply` it returns (status, headers, JSON body, an optional delay or a dropped
connection). It records every call and the most requests it ever held at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SHOWN_A = re.compile(r"<response_a>\n(.*?)\n</response_a>", re.DOTALL)
_SHOWN_B = re.compile(r"<response_b>\n(.*?)\n</response_b>", re.DOTALL)


@dataclass
class Call:
    index: int
    path: str
    headers: dict
    body: dict
    at: float

    @property
    def user_prompt(self) -> str:
        return next(m["content"] for m in self.body["messages"] if m["role"] == "user")

    @property
    def shown_a(self) -> str:
        return _SHOWN_A.search(self.user_prompt).group(1)

    @property
    def shown_b(self) -> str:
        return _SHOWN_B.search(self.user_prompt).group(1)


@dataclass
class Reply:
    status: int = 200
    body: dict | str = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without an answer


def chat_reply(
    content: str,
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    logprobs: dict | None = None,
    finish_reason: str = "stop",
    delay: float = 0.0,
) -> Reply:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish_reason,
    }
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "scripted-judge",
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
        delay=delay,
    )


def error_reply(status: int, message: str, **headers) -> Reply:
    return Reply(
        status=status, body={"error": {"message": message, "type": "test"}}, headers=headers
    )


class ScriptedChatServer:
    def __init__(self, answer: Callable[[Call], Reply]) -> None:
        self.answer = answer
        self.calls: list[Call] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    call = Call(
                        len(server.calls), self.path, dict(self.headers), body, time.monotonic()
                    )
                    server.calls.append(call)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                answered = False

                def answering() -> None:
                    # Out of flight before the first byte goes back: the client may send its next
                    # request as soon as it reads this answer, before this thread runs again.
                    nonlocal answered
                    if not answered:
                        answered = True
                        with server._lock:
                            server.in_flight -= 1

                try:
                    reply = server.answer(call)
                    if reply.delay:
                        time.sleep(reply.delay)
                    answering()
                    if reply.drop:
                        self.close_connection = True
                        return
                    payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                    data = payload.encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name.replace("_", "-"), str(value))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                finally:
                    answering()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> ScriptedChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
