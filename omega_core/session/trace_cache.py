"""The printed lines of a long ``:session trace``, kept per session and extended as the log grows.

Why: a full trace of a 48k-event session decoded and printed every event again at each request
(300 ms; OmegaLLM 61 ms). The log is append-only while a session is open (its writer holds it), so
a line printed once stays right: the cache keeps the lines of every event up to a byte offset and
reads only what was appended since. It is made only for traces longer than the session's recent
events (``RecordedSession.recent``, already in memory) and dropped with the session; if the log is
ever shorter than the cached end (a repair replaced it), it starts over.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from omega_core.session.log_reader import SessionLogReader

__all__ = ["TraceLines", "trace_tail"]


@dataclass
class TraceLines:
    """Printed lines of the events of one log, from its first event up to byte ``end``."""

    end: int = 0
    lines: list[str] = field(default_factory=list)


_CACHES: "weakref.WeakKeyDictionary[Any, TraceLines]" = weakref.WeakKeyDictionary()


def trace_tail(session: Any, count: int, render: Callable[[dict[str, Any]], str]) -> list[str]:
    """The printed lines of the last ``count`` events of ``session``'s log (``render`` prints one)."""
    cache = _CACHES.get(session)
    with SessionLogReader(session.paths.log) as reader:
        size = reader.complete_size()
        if cache is None or size < cache.end:
            cache = TraceLines()
            _CACHES[session] = cache
            events = reader.tail(max(1, session.next_seq) + 1, end=size)
            cache.lines = [render(event) for _, event in events]
        elif size > cache.end:
            cache.lines.extend(render(event) for offset, event in reader.iter_events(cache.end) if offset < size)
        cache.end = size
    return cache.lines[-count:] if count else []
