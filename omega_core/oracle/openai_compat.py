"""An oracle backed by any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, vLLM, Ollama...).

Only the standard library is used (urllib), so the core has no run-time dependencies. With a token
sink (``ask(..., on_token=...)``) and ``[oracle] stream`` on, one-answer requests ask the endpoint to
stream (server-sent events, read by ``sse.py``) and hand each piece over as it arrives; an endpoint
that answers plain JSON anyway, or refuses the streaming request (HTTP 400), is asked again without
streaming and remembered as one that does not stream. Transient
failures (refused or reset connections, timeouts, HTTP 429 and 5xx) are retried with exponential
backoff; everything else fails at once with a message that names the URL and the config key to fix.
The API key is read from the environment at call time and never appears in any message.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omega_core import __version__
from omega_core.oracle.base import OracleAnswer, OracleError, check_samples
from omega_core.oracle.sse import TokenSink, read_chat_stream

_SNIPPET = 200


@dataclass(frozen=True)
class _Attempt:
    """Why one HTTP attempt failed, and whether trying again could help."""

    message: str
    retryable: bool
    status: int | None = None
    """The HTTP status the server answered with (None: no answer at all)."""


class _Refused(OracleError):
    """The endpoint answered the request with an HTTP error (``status``): the message says which."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Reply:
    """One parsed chat-completions reply."""

    texts: tuple[str, ...]
    tokens: int | None


class OpenAICompatibleOracle:
    """Asks a chat-completions endpoint; ``samples`` maps to the request's ``n``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str,
        timeout_s: float,
        retries: int,
        retry_backoff_s: float,
        environ: Mapping[str, str] | None = None,
        stream: bool = True,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise OracleError(
                f"the oracle base URL {base_url!r} is not an http:// or https:// URL; set [oracle] "
                "base_url to the API root, e.g. https://api.openai.com/v1"
            )
        if not model:
            raise OracleError("no oracle model is configured; set [oracle] model, e.g. model = \"gpt-4o-mini\"")
        if timeout_s <= 0:
            raise OracleError(f"[oracle] timeout_s must be positive (got {timeout_s}); set it to e.g. 60")
        if retries < 0 or retry_backoff_s < 0:
            raise OracleError(
                f"[oracle] retries ({retries}) and retry_backoff_s ({retry_backoff_s}) must not be negative"
            )
        self.base_url = base_url
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._environ = environ
        self.stream = stream
        """Whether to ask for streamed answers; turned off for good when the endpoint refuses."""

    def ask(self, prompt: str, samples: int = 1, on_token: TokenSink | None = None) -> OracleAnswer:
        """POST the prompt, asking again while the server returned fewer choices than ``samples``.

        ``on_token`` (one-answer requests only) gets the answer's pieces as they arrive; the
        returned answer is the whole text either way."""
        check_samples(samples)
        started = time.perf_counter()
        key = self._api_key()
        texts: list[str] = []
        tokens: int | None = None
        sink = on_token if samples == 1 else None
        # Every reply carries at least one choice (else _parse raises), so this ends after at most
        # `samples` requests even against a server that ignores `n`.
        while len(texts) < samples:
            body: dict[str, Any] = {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "n": samples - len(texts),
            }
            reply = self._post(body, key, sink)
            texts.extend(reply.texts[: samples - len(texts)])
            if reply.tokens is not None:
                tokens = (tokens or 0) + reply.tokens
        duration_ms = int((time.perf_counter() - started) * 1000)
        return OracleAnswer(texts=tuple(texts), model=self.model, tokens=tokens, duration_ms=duration_ms)

    def _api_key(self) -> str | None:
        """The key from the named environment variable; ``api_key_env = ""`` means no key (local servers)."""
        if not self.api_key_env:
            return None
        environ = os.environ if self._environ is None else self._environ
        key = environ.get(self.api_key_env)
        if not key:
            raise OracleError(
                f"the API key environment variable {self.api_key_env} is not set; export it or change "
                "[oracle] api_key_env"
            )
        return key

    def _post(self, body: dict[str, Any], key: str | None, on_token: TokenSink | None = None) -> _Reply:
        """One logical request with retries; raises the last attempt's error when they run out."""
        if on_token is not None and self.stream:
            streamed = self._post_streaming(body, key, on_token)
            if streamed is not None:
                return streamed
        reply = self._post_plain(body, key)
        if on_token is not None and reply.texts:
            on_token(reply.texts[0])  # not streamed: the whole answer is the one piece
        return reply

    def _post_streaming(self, body: dict[str, Any], key: str | None, on_token: TokenSink) -> _Reply | None:
        """Ask for a streamed answer; None when the endpoint refused to stream (ask plainly then)."""
        sent: list[str] = []

        def forward(piece: str) -> None:
            sent.append(piece)
            on_token(piece)

        streaming = {**body, "stream": True, "stream_options": {"include_usage": True}}
        try:
            reply = self._post_plain(streaming, key, forward)
        except _Refused as problem:
            if problem.status != 400 or sent:
                raise
            self.stream = False  # e.g. a server that knows no stream_options: do not ask again
            return None
        if not sent and reply.texts:
            on_token(reply.texts[0])  # the endpoint ignored "stream" and answered at once
        return reply

    def _post_plain(self, body: dict[str, Any], key: str | None, on_token: TokenSink | None = None) -> _Reply:
        """POST ``body`` with retries (``on_token`` set: read a streamed reply as it comes)."""
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"omega/{__version__}",
        }
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        attempt = 0
        pieces = 0

        def counting(piece: str) -> None:
            nonlocal pieces
            pieces += 1
            assert on_token is not None
            on_token(piece)

        while True:
            outcome = self._post_once(data, headers, key, counting if on_token is not None else None)
            if isinstance(outcome, _Reply):
                return outcome
            if not outcome.retryable or attempt >= self.retries:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                if outcome.status is not None:
                    raise _Refused(outcome.message + tries, outcome.status)
                raise OracleError(outcome.message + tries)
            if pieces and on_token is not None:  # what was shown so far is void: say so, then start over
                on_token("\n[the oracle's answer broke off; asking again]\n")
                pieces = 0
            time.sleep(self.retry_backoff_s * 2**attempt)
            attempt += 1

    def _post_once(self, data: bytes, headers: dict[str, str], key: str | None,
                   on_token: TokenSink | None = None) -> _Reply | _Attempt:
        """Send once; return the parsed reply or a classified failure (malformed replies raise)."""
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        # A fresh opener per call so proxy settings follow the current environment.
        opener = urllib.request.build_opener()
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                kind = response.headers.get("Content-Type", "") or ""
                if on_token is not None and kind.startswith("text/event-stream"):
                    streamed = read_chat_stream(response, on_token, self.url)
                    return _Reply(texts=(_redact(streamed.text, key),), tokens=streamed.tokens)
                raw = response.read()
        except urllib.error.HTTPError as exc:
            return self._http_error(exc, key)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, BaseException):
                return self._network_error(reason)
            return _Attempt(f"cannot reach the oracle at {self.url} ({reason}); {self._url_hint()}", False)
        except (OSError, http.client.HTTPException) as exc:
            return self._network_error(exc)
        return self._parse(raw, key)

    def _http_error(self, exc: urllib.error.HTTPError, key: str | None) -> _Attempt:
        """Status code plus the start of the body (usually the server's own error message)."""
        try:
            raw = exc.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        snippet = _redact(raw.decode("utf-8", errors="replace"), key)[:_SNIPPET]
        status = exc.code
        if status in (401, 403):
            hint = f"check the API key in the environment variable {self.api_key_env or '(none configured)'}"
        elif status == 404:
            hint = "check [oracle] base_url (it should end at the API root, e.g. .../v1) and [oracle] model"
        elif status == 429:
            hint = "the server is rate-limiting; wait, or raise [oracle] retries / retry_backoff_s"
        elif status >= 500:
            hint = "the server failed; try again later"
        else:
            hint = "the server rejected the request; see its message"
        body_part = f": {snippet}" if snippet.strip() else ""
        return _Attempt(
            f"the oracle at {self.url} answered HTTP {status}{body_part}; {hint}",
            status == 429 or status >= 500,
            status,
        )

    def _network_error(self, exc: BaseException) -> _Attempt:
        """Refused / reset / timed out connections are transient; other OS errors are not."""
        if isinstance(exc, TimeoutError):
            return _Attempt(
                f"the oracle at {self.url} did not answer within {self.timeout_s} s; the server may be "
                "overloaded, or raise [oracle] timeout_s",
                True,
            )
        if isinstance(exc, ConnectionRefusedError):
            return _Attempt(
                f"connection to the oracle at {self.url} was refused; {self._url_hint()}", True
            )
        if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, http.client.HTTPException)):
            return _Attempt(
                f"the connection to the oracle at {self.url} broke before a reply arrived "
                f"({type(exc).__name__}); try again, and check that the server is healthy",
                True,
            )
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return _Attempt(f"cannot reach the oracle at {self.url} ({detail}); {self._url_hint()}", False)

    def _url_hint(self) -> str:
        return "check [oracle] base_url and that the server is running"

    def _parse(self, raw: bytes, key: str | None) -> _Reply:
        """Pull ``choices[i].message.content`` and ``usage.total_tokens`` out of a reply."""
        text = _redact(raw.decode("utf-8", errors="replace"), key)
        where = f"the reply from the oracle at {self.url}"
        try:
            reply = json.loads(text)
        except json.JSONDecodeError:
            raise OracleError(
                f"{where} is not JSON (it starts {text[:_SNIPPET]!r}); check that [oracle] base_url "
                "points at an OpenAI-compatible API"
            ) from None
        choices = reply.get("choices") if isinstance(reply, dict) else None
        if not isinstance(choices, list) or not choices:
            problem = "has no 'choices'" if choices is None else "has an empty or non-list 'choices'"
            server_error = reply.get("error") if isinstance(reply, dict) else None
            said = _redact(json.dumps(server_error, ensure_ascii=False), key)[:_SNIPPET]
            extra = f" (the server says: {said})" if server_error else ""
            raise OracleError(
                f"{where} {problem}{extra}; check that [oracle] base_url points at an OpenAI-compatible "
                "chat-completions API"
            )
        texts: list[str] = []
        for index, choice in enumerate(choices):
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                if not isinstance(message, dict):
                    got = "no message"
                elif "content" not in message:
                    got = "no content"
                else:
                    got = json.dumps(content, ensure_ascii=False)[:40]
                raise OracleError(
                    f"{where}: choices[{index}].message.content is not a string (got {got}); the model "
                    "may have refused or returned a tool call"
                )
            texts.append(content)
        usage = reply.get("usage")
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        tokens = total if isinstance(total, int) and not isinstance(total, bool) else None
        return _Reply(texts=tuple(texts), tokens=tokens)


def _redact(text: str, key: str | None) -> str:
    """Servers sometimes echo the key back in errors; never let it reach a message or a log."""
    if key:
        text = text.replace(key, "***")
    return text
