"""Reading checkpoint states back: a stored body, a records line (cached), and a machine restored
from them, shared states or the older delta chains.

Split from ``checkpoint_states.py`` (a mixin of ``CheckpointStates``, using its ``pending``,
``refs``, ``path`` and records cache): the capture side writes, this side reads, and each can be
read alone.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from omega_core.lang.release import release_in_background
from omega_core.lang.restore_shared import restore_shared
from omega_core.lang.serialize import StateFormatError, merge_chain
from omega_core.lang.serialize_read import load_state
from omega_core.lang.serialize_shared import READABLE_FORMATS as SHARED_FORMATS
from omega_core.lang.serialize_shared import SharedEncoder, payload_pieces
from omega_core.session.records_line import loads_records
from omega_core.session.states import is_state_ref, read_line_at, read_state_ref

DELTA_FORMAT = "omega-delta/2"
"""Delta chains written before shared states; read only."""
MAX_CHAIN = 256
RECORDS_CACHE_BYTES = 32 * 1024 * 1024
"""Parsed records lines kept between restores (gotos near each other read the same ones). A
longer line is kept for its restore only: parsed, four million records take in the order of a
gigabyte (an estimate, about 300 bytes a record)."""

RELEASE_RECORDS_AT = 16384
"""Records in a line a restore kept past which it is freed by a release thread (``_Reader.release``)."""

_ORIGINS: "weakref.WeakKeyDictionary[Any, SharedEncoder]" = weakref.WeakKeyDictionary()
"""Restored machine -> an encoder that knows its objects' addresses (used when it is installed)."""


_EMPTY: dict[str, Any] = {"records": [], "rewrites": {}, "units": {}}


def state_id_of(capture: int) -> str:
    return f"state-{capture}"


class _Reader:  # a restore_shared.StoreReader
    """Reads captures for one restore: pending bodies in memory, else lines of the states file."""

    def __init__(self, states: "StateRestoring", handle: Any) -> None:
        self.states = states
        self.handle = handle
        self.bodies: dict[int, dict[str, Any]] = {}
        self.parsed: dict[int, dict[str, Any]] = {}
        """Every capture's records read so far (a restore reads them once per object it decodes)."""
        self.own: list[int] = []
        """The captures in ``parsed`` that only this restore holds (pending, or too long to cache)."""

    def body(self, capture: int) -> dict[str, Any]:
        body = self.bodies.get(capture)
        if body is None:
            body = self.states.body(state_id_of(capture), self.handle)
            if body.get("format") not in SHARED_FORMATS or body.get("seq") != capture:
                raise StateFormatError(f"capture {capture} is not a shared state of this session")
            self.bodies[capture] = body
        return body

    def records(self, capture: int) -> dict[str, Any]:
        parsed = self.parsed.get(capture)
        if parsed is not None:
            return parsed
        body = self.body(capture)
        if "payload" in body:  # captured, not flushed yet
            payload = body["payload"]
            parsed = loads_records(payload_pieces(payload)) if payload is not None else _EMPTY
            self.own.append(capture)
        elif body.get("rec") is None:
            return _EMPTY
        else:
            offset = body["rec"]
            parsed = self.states.records_at(offset, self.handle, state_id_of(capture))
            if offset not in self.states._records_cache:  # too long to keep: this restore keeps it
                self.own.append(capture)
        self.parsed[capture] = parsed
        return parsed

    def release(self) -> None:
        """Free the records this restore alone kept, off this thread and in pieces: dropped at
        once, the parse of a line of four million records held the GIL for over a second."""
        big = [entry for entry in (self.parsed[capture] for capture in self.own)
               if len(entry.get("records") or ()) > RELEASE_RECORDS_AT]
        self.parsed.clear()  # the small ones here: a thread costs more than freeing them
        self.own.clear()
        if big:
            release_in_background(big)


class StateRestoring:
    """The reading side of ``CheckpointStates`` (see the module docstring)."""

    pending: dict[str, dict[str, Any]]
    refs: dict[str, Any]
    path: Any
    _records_cache: Any
    _records_cache_bytes: int
    complete: Callable[[], None]
    """Ends the capture in progress (``CheckpointStates.complete``): a restore reads finished states."""

    def body(self, state_id: str, handle: Any = None) -> dict[str, Any]:
        """The stored body of ``state_id``; ``handle``: an open states file to read it from."""
        pending = self.pending.get(state_id)
        if pending is not None:
            return pending
        ref = self.refs.get(state_id)
        if ref is None:
            raise StateFormatError(f"no stored state {state_id!r}")
        if handle is not None and is_state_ref(ref) and ref.get("file") == self.path.name:
            entry = read_line_at(handle, self.path, ref["offset"])
            if entry.get("stateId") != state_id or "state" not in entry:
                raise StateFormatError(f"state {state_id!r} not found where the index says (found {entry.get('stateId')!r})")
            return entry["state"]
        if is_state_ref(ref):
            stored_id, body = read_state_ref(self.path.parent, ref)
            if stored_id != state_id:  # the states file was replaced: this reference is stale
                raise StateFormatError(f"state {state_id!r} not found where the index says (found {stored_id!r})")
            return body
        return ref  # stored inline (only OmegaLLM does that; such states are not ours)

    def records_at(self, offset: int, handle: Any, state_id: str) -> dict[str, Any]:
        """The records line at ``offset`` (parsed lines are cached by size)."""
        cached = self._records_cache.get(offset)
        if cached is not None:
            self._records_cache.move_to_end(offset)
            return cached[1]
        if handle is None:
            raise StateFormatError(f"records of {state_id!r}: the states file cannot be opened")
        entry = read_line_at(handle, self.path, offset)
        size = max(0, handle.tell() - offset)
        if entry.get("recordsOf") != state_id:
            raise StateFormatError(f"records of {state_id!r} not found at byte {offset} of {self.path}")
        if size > RECORDS_CACHE_BYTES:
            return entry  # the caller keeps it for as long as it needs it (``_Reader``)
        self._records_cache[offset] = (size, entry)
        self._records_cache_bytes += size
        while self._records_cache_bytes > RECORDS_CACHE_BYTES and len(self._records_cache) > 1:
            _, (dropped, _) = self._records_cache.popitem(last=False)
            self._records_cache_bytes -= dropped
        return entry

    def restore(self, state_id: str) -> Any:
        """A new machine in the captured state."""
        self.complete()
        try:
            handle: Any = open(self.path, "rb")
        except OSError:
            handle = None
        try:
            body = self.body(state_id, handle)
            if body.get("format") in SHARED_FORMATS:
                reader = _Reader(self, handle)
                try:
                    machine, encoder = restore_shared(body, reader)
                finally:
                    reader.release()
                _ORIGINS[machine] = encoder
                return machine
            return self._restore_chain(state_id, handle)
        except ValueError as problem:  # a damaged line (StateFormatError is one too)
            if isinstance(problem, StateFormatError):
                raise
            raise StateFormatError(f"state {state_id!r} unreadable: {problem}") from None
        finally:
            if handle is not None:
                handle.close()

    def _restore_chain(self, state_id: str, handle: Any) -> Any:
        """A state written before shared states: merge its delta chain, oldest first."""
        chain: list[dict[str, Any]] = []
        current: str | None = state_id
        while current is not None:
            body = self.body(current, handle)
            if body.get("format") != DELTA_FORMAT:
                raise StateFormatError(f"state {current!r} is not an Omega state")
            chain.append(body)
            current = body.get("base")
            if len(chain) > MAX_CHAIN + 1:
                raise StateFormatError(f"state {state_id!r}: delta chain too long (corrupt base links)")
        return load_state(merge_chain(list(reversed(chain))))
