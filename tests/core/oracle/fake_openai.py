"""A tiny OpenAI-compatible chat-completions server for tests (stdlib only, 127.0.0.1, port 0).

Usage::

    with FakeOpenAIServer(reply_text="Paris") as server:
        server.script(FakeReply(status=500), FakeReply(delay_s=1.0))   # then default replies
        oracle = OpenAICompatibleOracle(base_url=server.url, ...)
        ...
        server.requests[0].body["n"]

Each POST consumes the next scripted :class:`FakeReply`; when none are left the default reply is
used (``reply_text``, as many choices as ``n`` asked for, ``usage.total_tokens = usage_tokens``).

A request with ``"stream": true`` gets server-sent events, one per word of the text, then a usage
event and ``data: [DONE]`` (unless ``honor_stream`` is off: then plain JSON, as servers that do not
stream answer). ``stream_gate``, if set, is waited for after the first event, so a test can check
that the first piece reached its destination while the answer is still "being generated".
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class FakeReply:
    """One scripted behaviour for one request.

    - ``status``: HTTP status; non-200 sends ``{"error": {"message": error_message}}``.
    - ``text``: content of every choice (choice i > 0 gets `` (i+1)`` appended); ``None`` = default.
    - ``choices``: how many choices to return; ``None`` = as many as ``n`` asked for.
    - ``delay_s``: sleep before answering (to provoke client timeouts).
    - ``body``: raw bytes/str sent as-is with ``status`` (malformed replies); overrides the rest.
    - ``usage_tokens``: ``usage.total_tokens``; ``None`` leaves ``usage`` out. ``-1`` = default.
    """

    status: int = 200
    text: str | None = None
    choices: int | None = None
    delay_s: float = 0.0
    body: bytes | str | None = None
    usage_tokens: int | None = -1
    error_message: str = "fake server error"


@dataclass(frozen=True)
class ReceivedRequest:
    """What the server saw: path, headers (original case), parsed JSON body (or raw text)."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeOpenAIServer:
    """Context manager running the fake server in a daemon thread; ``.url`` is the base URL (…/v1)."""

    reply_text: str = "fake answer"
    usage_tokens: int | None = 7
    requests: list[ReceivedRequest] = field(default_factory=list)
    honor_stream: bool = True
    stream_gate: threading.Event | None = None
    stream_finished: threading.Event = field(default_factory=threading.Event)
    _queue: deque[FakeReply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def script(self, *replies: FakeReply) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next_reply(self, request: ReceivedRequest) -> FakeReply:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else FakeReply()

    def _completion(self, reply: FakeReply, request_body: Any) -> dict[str, Any]:
        asked = request_body.get("n", 1) if isinstance(request_body, dict) else 1
        count = reply.choices if reply.choices is not None else asked
        text = reply.text if reply.text is not None else self.reply_text
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": text if i == 0 else f"{text} ({i + 1})"},
                "finish_reason": "stop",
            }
            for i in range(count)
        ]
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": request_body.get("model", "?") if isinstance(request_body, dict) else "?",
            "choices": choices,
        }
        tokens = self.usage_tokens if reply.usage_tokens == -1 else reply.usage_tokens
        if tokens is not None:
            completion["usage"] = {"prompt_tokens": 1, "completion_tokens": tokens - 1, "total_tokens": tokens}
        return completion


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
"""Proxy settings would send 127.0.0.1 traffic elsewhere: tests that talk to the fake clear them."""
FAKE_KEY_ENV = "OMEGA_FAKE_KEY"


def oracle_config_toml(fake: FakeOpenAIServer) -> str:
    """An ``[oracle]`` section pointing at ``fake`` (the key comes from ``FAKE_KEY_ENV``; no retries)."""
    return (f'[oracle]\nkind = "openai"\nbase_url = "{fake.url}"\nmodel = "gpt-test"\n'
            f'api_key_env = "{FAKE_KEY_ENV}"\nretries = 0\n')


def _make_handler(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            try:
                body: Any = json.loads(raw)
            except json.JSONDecodeError:
                body = raw
            reply = fake._next_reply(ReceivedRequest(self.path, dict(self.headers.items()), body))
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.body is not None:
                payload = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self._send(reply.status, payload)
            elif reply.status != 200:
                error = {"error": {"message": reply.error_message, "type": "fake", "code": reply.status}}
                self._send(reply.status, json.dumps(error).encode("utf-8"))
            elif isinstance(body, dict) and body.get("stream") is True and fake.honor_stream:
                self._send_stream(fake._completion(reply, body))
            else:
                self._send(200, json.dumps(fake._completion(reply, body)).encode("utf-8"))

        def _send_stream(self, completion: dict[str, Any]) -> None:
            text = completion["choices"][0]["message"]["content"]
            words = [word for word in text.replace(" ", "\0 ").split("\0") if word]
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for number, word in enumerate(words):
                    chunk = {"choices": [{"index": 0, "delta": {"content": word}}]}
                    self.wfile.write(b"data: " + json.dumps(chunk).encode("utf-8") + b"\n\n")
                    self.wfile.flush()
                    if number == 0 and fake.stream_gate is not None:
                        fake.stream_gate.wait(5)
                if "usage" in completion:
                    self.wfile.write(b": usage follows\n" + b"data: " + json.dumps({"choices": [], "usage": completion["usage"]}).encode("utf-8") + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                fake.stream_finished.set()
            except OSError:
                pass
            self.close_connection = True

        def _send(self, status: int, payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout test); nothing to report

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler
