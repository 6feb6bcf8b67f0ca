"""Machine states of checkpoints: captured as deltas, kept in memory until flushed, then appended.

Each captured state is stored as what changed since the previous capture plus a ``base`` pointer to
that capture (``omega-delta/2``, see ``serialize.DeltaEncoder``). A capture is full when the machine
was replaced (load, goto), when ``MAX_CHAIN`` captures followed the last full one, or when the
deltas since it add up to more than its size: so consecutive checkpoints never repeat unchanged
data, the disk used stays within about twice the changes, and a restore reads a bounded chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_core.lang.serialize import DeltaEncoder, StateFormatError, load_state, merge_chain
from omega_core.session.states import StateStore, is_state_ref, read_state_ref

DELTA_FORMAT = "omega-delta/2"
MAX_CHAIN = 256
"""At most this many captures since a full one: bounds what a restore must read."""


@dataclass
class _Pending:
    state_id: str
    body: dict[str, Any]


class CheckpointStates:
    """The states of one session: refs of stored ones, bodies of captured-but-unflushed ones."""

    def __init__(self, states_path: Path, refs: dict[str, Any] | None = None) -> None:
        self.path = states_path
        self.refs: dict[str, Any] = dict(refs or {})
        self.pending: dict[str, dict[str, Any]] = {}
        self.encoder = DeltaEncoder()
        self.last_state_id: str | None = None
        self.chain_length = 0
        self.full_bytes = 0
        self.delta_bytes = 0
        self._store: StateStore | None = None

    # --- capture and flush ---------------------------------------------------------------------

    def machine_replaced(self) -> None:
        """The next capture must be full: the encoder's names refer to the old machine's objects."""
        self.last_state_id = None

    def capture(self, machine: Any, state_id: str, seq: int) -> None:
        full = self.last_state_id is None or self.chain_length >= MAX_CHAIN or self.delta_bytes > self.full_bytes
        root, records, units = self.encoder.encode(machine, full=full)
        size = len(records) * 64 + len(root["globals"]) * 32 + 256  # cheap size estimate
        if full:
            self.full_bytes, self.delta_bytes = size, 0
        else:
            self.delta_bytes += size
        self.pending[state_id] = {
            "format": DELTA_FORMAT,
            "seq": seq,
            "base": None if full else self.last_state_id,
            "root": root,
            "records": records,
            "units": units,
        }
        self.chain_length = 0 if full else self.chain_length + 1
        self.last_state_id = state_id

    def scan_newer(self) -> int:
        """Pick up states appended after the index was last written (it lags by design)."""
        if not self.path.exists():
            return 0
        known = [ref["offset"] for ref in self.refs.values() if is_state_ref(ref) and ref.get("file") == self.path.name]
        start = 0
        if known:
            start = max(known)
        found = 0
        with open(self.path, "rb") as handle:
            handle.seek(start)
            if known:
                handle.readline()  # the last known state itself
            while True:
                offset = handle.tell()
                line = handle.readline()
                if not line.endswith(b"\n"):
                    break
                try:
                    state_id = json.loads(line).get("stateId")
                except (ValueError, AttributeError):
                    break
                if isinstance(state_id, str):
                    self.refs[state_id] = {"file": self.path.name, "offset": offset}
                    found += 1
        return found

    def has(self, state_id: str) -> bool:
        return state_id in self.pending or state_id in self.refs

    def flush(self) -> int:
        """Append every pending state to the states file (one write each); return bytes added."""
        if not self.pending:
            return 0
        store = self._open_store()
        before = store.size
        for state_id, body in list(self.pending.items()):
            self.refs[state_id] = store.append(state_id, body)
            del self.pending[state_id]
        return store.size - before

    def fsync(self) -> None:
        if self._store is not None:
            self._store.fsync()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open_store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore(self.path)
        return self._store

    # --- restore -------------------------------------------------------------------------------

    def body(self, state_id: str, handle: Any = None) -> dict[str, Any]:
        """The stored body of ``state_id``; ``handle``: an open states file to read it from."""
        pending = self.pending.get(state_id)
        if pending is not None:
            return pending
        ref = self.refs.get(state_id)
        if ref is None:
            raise StateFormatError(f"no stored state {state_id!r}")
        if handle is not None and is_state_ref(ref) and ref.get("file") == self.path.name:
            handle.seek(ref["offset"])
            entry = json.loads(handle.readline())
            if entry.get("stateId") != state_id:
                raise StateFormatError(f"state {state_id!r} not found where the index says (found {entry.get('stateId')!r})")
            return entry["state"]
        if is_state_ref(ref):
            stored_id, body = read_state_ref(self.path.parent, ref)
            if stored_id != state_id:  # the states file was replaced: this reference is stale
                raise StateFormatError(f"state {state_id!r} not found where the index says (found {stored_id!r})")
            return body
        return ref  # stored inline (only OmegaLLM does that; such states are not ours)

    def restore(self, state_id: str) -> Any:
        """A new machine in the captured state (merging the delta chain, oldest first)."""
        chain: list[dict[str, Any]] = []
        current: str | None = state_id
        try:
            handle: Any = open(self.path, "rb")
        except OSError:
            handle = None
        try:
            while current is not None:
                body = self.body(current, handle)
                if body.get("format") != DELTA_FORMAT:
                    raise StateFormatError(f"state {current!r} is not an Omega state")
                chain.append(body)
                current = body.get("base")
                if len(chain) > MAX_CHAIN + 1:
                    raise StateFormatError(f"state {state_id!r}: delta chain too long (corrupt base links)")
        except ValueError as problem:  # a damaged line
            raise StateFormatError(f"state {state_id!r} unreadable: {problem}") from None
        finally:
            if handle is not None:
                handle.close()
        return load_state(merge_chain(list(reversed(chain))))
