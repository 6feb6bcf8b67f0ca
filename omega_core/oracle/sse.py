"""Reading a streamed chat-completions reply (server-sent events) as its tokens arrive.

With ``"stream": true`` an OpenAI-compatible endpoint answers ``text/event-stream``: lines
``data: {json chunk}`` separated by blank lines, ending with ``data: [DONE]``. Each chunk carries
``choices[0].delta.content`` (a few tokens); the last may carry ``usage`` (when asked with
``stream_options.include_usage``). Why a reader of our own: it is thirty lines over the standard
library's HTTP response, while a client library would add a dependency to the core for this alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from omega_core.oracle.base import OracleError

TokenSink = Callable[[str], None]
"""Called with each piece of an answer as it arrives (from the oracle's worker thread)."""

_SNIPPET = 200


@dataclass(frozen=True)
class StreamedReply:
    """What a whole event stream said: the answer's text and the tokens it cost, if reported."""

    text: str
    tokens: int | None


def read_chat_stream(lines: Iterable[bytes], on_token: TokenSink, where: str) -> StreamedReply:
    """Read ``data:`` events from ``lines`` (the raw response lines), hand each content delta to
    ``on_token`` and return the whole answer. A malformed event or an ``error`` object in the
    stream raises ``OracleError`` naming ``where`` (the endpoint)."""
    pieces: list[str] = []
    tokens: int | None = None
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
            continue
        if line or not data:  # comments (":"), other fields (event:, id:), or stray blank lines
            continue
        event, data = "\n".join(data), []
        if event.strip() == "[DONE]":
            break
        delta, usage = _parse_event(event, where)
        if delta:
            pieces.append(delta)
            on_token(delta)
        if usage is not None:
            tokens = usage
    else:
        if data and "\n".join(data).strip() != "[DONE]":  # the last event had no blank line after it
            delta, usage = _parse_event("\n".join(data), where)
            if delta:
                pieces.append(delta)
                on_token(delta)
            if usage is not None:
                tokens = usage
    return StreamedReply("".join(pieces), tokens)


def _parse_event(event: str, where: str) -> tuple[str, int | None]:
    """One event's content delta and, if present, its ``usage.total_tokens``."""
    try:
        chunk = json.loads(event)
    except json.JSONDecodeError:
        raise OracleError(
            f"the streamed reply from the oracle at {where} has an event that is not JSON ({event[:_SNIPPET]!r}); "
            "set [oracle] stream = false if this endpoint streams in another format"
        ) from None
    if not isinstance(chunk, dict):
        return "", None
    if chunk.get("error"):
        said = json.dumps(chunk["error"], ensure_ascii=False)[:_SNIPPET]
        raise OracleError(f"the oracle at {where} failed while answering (the server says: {said})")
    delta_text = ""
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            delta_text = content
    usage = chunk.get("usage")
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    tokens = total if isinstance(total, int) and not isinstance(total, bool) else None
    return delta_text, tokens
