"""Machine states of checkpoints: structurally shared, kept in memory until flushed, then appended.

Each capture writes only what changed since the previous one (``serialize_shared``): new objects,
new versions of mutated ones, changed globals. Objects keep the address of the capture that first
wrote them, so a checkpoint after k new frames costs O(k) whatever the depth of the stack, and a
big value is written once. After a restore (goto, load) the encoder knows the restored objects'
addresses, so capture goes on sharing with what is on disk.

On disk a capture is two lines of ``<name>.states.ndjson``: its records (``{"recordsOf": ID,
"records": [...], "rewrites": {...}, "units": {...}}``, left out when empty), then the state line
``{"stateId": ID, "state": BODY}`` whose ``rec`` is the byte offset of the records line. Older
states (``omega-delta/2``: delta chains with full captures) still load.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from omega_core.lang.capture_walk import new_object_roots, walk_new_objects
from omega_core.lang.serialize_shared import READABLE_FORMATS as SHARED_FORMATS
from omega_core.lang.serialize_shared import SharedEncoder, payload_pieces
from omega_core.session.atomic import dumps_compact
from omega_core.session.checkpoint_restore import _ORIGINS, StateRestoring
from omega_core.session.states import StateStore, is_state_ref

WALK_CHUNK = 1024
"""New objects counted between two looks at the clock when deciding on a proposed capture (with
``capture_walk.VISITS_PER_COUNTED``, at most 2,048 items visited: about a millisecond; 4,096
counted frames of a deep stack, their fields visited too, took 10-35 ms)."""


@dataclass
class _Proposal:
    """A periodic capture waiting for its decision (``CheckpointStates.propose_capture``): the
    walk down the stack so far (mutable: it goes on in slices)."""

    machine: Any
    state_id: str
    seq: int
    max_new_records: int
    work: list[Any]
    """Objects still to look at (the walk goes on in slices)."""
    seen: set[int] = dataclasses.field(default_factory=set)
    counted: int = 0


class CheckpointStates(StateRestoring):
    """The states of one session: refs of stored ones, bodies of captured-but-unflushed ones."""

    def __init__(self, states_path: Path, refs: dict[str, Any] | None = None) -> None:
        self.path = states_path
        self.refs: dict[str, Any] = dict(refs or {})
        self.pending: dict[str, dict[str, Any]] = {}
        self.encoder = SharedEncoder()
        self.last_bytes = 0
        """Bytes the last flush wrote (the O(k) tests read it)."""
        self.records_total = 0
        """Records encoded by the captures of this object so far (a session's periodic capture share)."""
        self._records_cache: collections.OrderedDict[int, tuple[int, dict[str, Any]]] = collections.OrderedDict()
        self._records_cache_bytes = 0
        self._store: StateStore | None = None
        self._write_lock = threading.Lock()
        """Held while states are appended or the store opened or closed: a flush job runs in a
        worker thread (``flush_job``) while the session's thread may flush or close too."""
        self._written: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        """States a flush job wrote whose references are not installed yet: id -> (body, ref)."""
        self._capturing: str | None = None
        self._pruning: Iterator[None] | None = None
        self._proposal: _Proposal | None = None
        self._declined_allowance: int | None = None
        """The allowance of the command's last declined proposal: a proposal is walked again
        only once its allowance has doubled, so a command that keeps building new values walks
        O(log) times, not once per periodic checkpoint (each walk costs up to its allowance)."""

    # --- capture and flush ---------------------------------------------------------------------

    def machine_replaced(self, machine: Any = None) -> None:
        """A new machine is installed: capture it with the encoder of its restore, if it came from
        one (it shares what is stored), else from scratch (the next capture writes everything)."""
        origin = _ORIGINS.pop(machine, None) if machine is not None else None
        self.encoder = origin if origin is not None else SharedEncoder()

    def capture(self, machine: Any, state_id: str, seq: int) -> None:
        """Capture ``machine`` as state ``state_id`` now, in one go."""
        self.begin_capture(machine, state_id, seq)
        self.complete()

    def begin_capture(self, machine: Any, state_id: str, seq: int) -> None:
        """Start capturing ``machine`` as ``state_id``; ``drain`` (in slices) or ``complete``
        finish it, and the machine must not run before. Records become JSON text as they are
        encoded: held as lists until the flush they would be millions of objects for the garbage
        collector to walk again and again while the command goes on."""
        self.complete()
        try:
            self.encoder.begin(machine, seq)
        except BaseException:
            self.encoder = SharedEncoder()  # half-updated: start over rather than refer to nothing
            raise
        self._capturing = state_id

    def propose_capture(self, machine: Any, state_id: str, seq: int, max_new_records: int) -> None:
        """Capture ``machine`` as ``state_id`` only if it would write at most ``max_new_records``
        records (else the state is not stored): new frames of its stack, and new values such as
        the pairs of a list the command just built (``capture_walk.walk_new_objects``; counted,
        never timed, so the decision is the same on every run). Deciding walks the new objects
        from the capture's roots, up to one past the allowance: ``drain`` does it in slices,
        like the capture itself, so the machine must not run before ``drain`` is done or
        ``complete`` is called."""
        self.complete()
        declined = self._declined_allowance
        if declined is not None and max_new_records < 2 * declined:
            return  # declined at a smaller allowance in this command: not walked again so soon
        roots = new_object_roots(self.encoder, machine)
        roots.reverse()  # walked as a stack: the registers (the value, the stack) first
        self._proposal = _Proposal(machine, state_id, seq, max_new_records, roots)

    def command_started(self) -> None:
        """A new command runs: its proposals start from its own allowance."""
        self._declined_allowance = None

    def prune_soon(self) -> None:
        """Have the next capture forget (in slices, like the capture) the objects nothing else
        holds: a command stopped and undone leaves its captured stack only in the encoder's table,
        which would otherwise keep it alive until the table doubles."""
        self.encoder.prune_at = 0

    @property
    def capturing(self) -> bool:
        return self._capturing is not None or self._proposal is not None

    def _decide(self, budget_s: float | None) -> bool | None:
        """Walk the proposed capture's new objects for about ``budget_s``: True (capture it), False
        (too many new records), None (not decided yet)."""
        proposal = self._proposal
        assert proposal is not None
        deadline = None if budget_s is None else time.perf_counter() + budget_s
        while True:
            room = min(WALK_CHUNK, proposal.max_new_records - proposal.counted + 1)
            counted, finished = walk_new_objects(self.encoder, proposal.work, proposal.seen, room)
            proposal.counted += counted
            if proposal.counted > proposal.max_new_records:
                return False
            if finished:
                return True
            if deadline is not None and time.perf_counter() > deadline:
                return None

    def drain(self, budget_s: float | None) -> bool:
        """Go on with the capture in progress for about ``budget_s``; True when there is none left."""
        proposal = self._proposal
        if proposal is not None:
            decided = self._decide(budget_s)
            if decided is None:
                return False
            self._proposal = None
            if not decided:
                self._declined_allowance = proposal.max_new_records
                return True
            self._declined_allowance = None
            self.begin_capture(proposal.machine, proposal.state_id, proposal.seq)
        state_id = self._capturing
        if state_id is None:
            return True
        try:
            if self._pruning is None:
                if not self.encoder.step(budget_s):
                    return False
                body = self.pending[state_id] = self.encoder.finish()
                self.records_total += body["counts"][0]
                if not self.encoder.wants_prune:
                    self._capturing = None
                    return True
                self._pruning = self.encoder.prune_steps(budget_s)
            if next(self._pruning, True) is None:  # pruned a slice, more to do
                return False
        except BaseException:
            self.encoder = SharedEncoder()
            self._capturing = None
            self._pruning = None
            raise
        self._pruning = None
        self._capturing = None
        return True

    def complete(self) -> None:
        """Finish the capture in progress, if any (before anything reads or writes states)."""
        while self.capturing and not self.drain(None):
            pass

    def discard(self, state_id: str) -> None:
        """Forget a captured state that will never be written (its input failed to be logged);
        the encoder named objects in it, so it starts over."""
        if self._proposal is not None and self._proposal.state_id == state_id:
            self._proposal = None
        if self._capturing == state_id:
            self._capturing = None
            self._pruning = None
            self.encoder = SharedEncoder()
        if self.pending.pop(state_id, None) is not None:
            self.encoder = SharedEncoder()

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
                if line.startswith(b'{"recordsOf":'):  # records of a shared state: no need to parse
                    continue
                try:
                    state_id = json.loads(line).get("stateId")
                except (ValueError, AttributeError):
                    break
                if isinstance(state_id, str):
                    self.refs[state_id] = {"file": self.path.name, "offset": offset}
                    found += 1
        return found

    def has(self, state_id: str) -> bool:
        self.complete()
        return state_id in self.pending or state_id in self.refs

    def flush(self) -> int:
        """Append every pending state to the states file (records line, state line); return bytes added."""
        self.complete()
        with self._write_lock:
            self._install_written()
            if not self.pending:
                return 0
            store = self._open_store()
            before = store.size
            for state_id, body in list(self.pending.items()):
                self.refs[state_id] = self._append(store, state_id, body)
                del self.pending[state_id]
            self.last_bytes = store.size - before
            return self.last_bytes

    def flush_job(self) -> Callable[[], int] | None:
        """The states pending now, as a job that appends them from any thread (None: nothing to
        write); ``flushed`` installs what it wrote, on the session's thread, when it is done.

        Why: the write of a big state (a 16 MiB string: its UTF-8 encoding, the write itself) held
        a server's loop for tens of ms. The job writes the payload piece by piece (each piece a
        short call: the loop gets the GIL between them). Meanwhile the states stay pending, so
        restores read them from memory; a ``flush`` or ``close`` on the session's thread waits for
        the job's lock and then installs its references before writing the rest (nothing is
        written twice). States captured after this call are left to the next flush."""
        self.complete()
        taken = list(self.pending.items())
        if not taken:
            return None

        def write() -> int:
            with self._write_lock:
                store = self._open_store()
                before = store.size
                for state_id, body in taken:
                    if self.pending.get(state_id) is body and state_id not in self._written:
                        self._written[state_id] = (body, self._append(store, state_id, body))
                return store.size - before

        return write

    def flushed(self, written: int) -> None:
        """On the session's thread, after a ``flush_job`` ran (or failed): its states get their
        references (an index written after this names them) and leave ``pending``."""
        with self._write_lock:
            self._install_written()
        self.last_bytes = written

    def _install_written(self) -> None:
        """(Lock held.) The references of the states a flush job wrote; a state discarded since
        (never the case for states pending when the job was taken) keeps none."""
        for state_id, (body, ref) in self._written.items():
            if self.pending.get(state_id) is body:
                self.refs[state_id] = ref
                del self.pending[state_id]
        self._written.clear()

    @staticmethod
    def _append(store: StateStore, state_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Append one state (its records line, then its state line); return its reference."""
        if body.get("format") in SHARED_FORMATS:
            stored = {key: value for key, value in body.items() if key != "payload"}
            payload = body["payload"]
            if payload is None:
                stored["rec"] = None
            else:
                pieces = payload_pieces(payload)
                first = '{"recordsOf":' + dumps_compact(state_id) + "," + pieces[0][1:]
                stored["rec"] = store.append_pieces([first, *pieces[1:]])
            body = stored
        return store.append(state_id, body)

    def fsync(self) -> None:
        with self._write_lock:
            if self._store is not None:
                self._store.fsync()

    def close(self) -> None:
        with self._write_lock:
            self._install_written()
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def store_open(self) -> bool:
        """Whether the states file is open (a descriptor held): ``close`` gives it back, ``flush`` reopens it."""
        return self._store is not None

    def _open_store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore(self.path)
        return self._store
