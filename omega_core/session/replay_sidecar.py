"""Omega's own states for a session written by OmegaLLM, kept in a sidecar beside its files.

Why: OmegaLLM's states belong to its TypeScript machine, so Omega rebuilt every goto by replaying
the log from event 0 (0.6 s median on a 48k-event session). The first replay now captures the
machine after each of the foreign inputs (structurally shared states, ``omega-delta/3``: a capture
costs what the input changed) into ``<name>.replay.ndjson``; later gotos and opens restore the
nearest one and replay at most the inputs after it. OmegaLLM never looks at that file (it lists
``*.jsonl`` and reads ``<name>.index.json``), and OmegaLLM's own files are never written for it.

File (one JSON object a line, appended with ``StateStore``; a torn last line is cut on append):

* line 1, the key: ``{"omegaReplay": 1, "headBytes": N, "headSha256": H, "generation": G}``: the
  SHA-256 of the log's first N bytes (its header and first events) when the sidecar was made. A log
  that no longer starts with those bytes (replaced, rewritten by OmegaLLM, another session of the
  same name) makes the whole sidecar stale: it is ignored and replaced on the next capture. G, a
  random token of each new file, names the file's caches (``replay_sidecar_read``: what restores
  share, keyed by line offsets); a file without one (written before it) gets private caches.
* ``{"anchor": S, "offset": O, "codeCrc": C}``: the state named ``state-S`` is the machine after the
  foreign input of seq S, whose line starts at byte O of the log and whose timestamp and code have
  CRC-32 C (``input_crc``: the same code typed again, by Omega after a repair, never matches). Checked
  against the log (one line read) before the state is used, so a log changed after the sidecar was
  written (cut, or rewritten past the head) never yields a wrong state; a log that only grew keeps
  its prefix, and the states of that prefix stay right.
* the records and state lines of ``checkpoint_states`` (``recordsOf`` / ``stateId``).

Anything unreadable (a damaged line, a state that does not restore) is ignored: the sidecar is a
cache, everything in it is rebuilt by replaying the log. Restores read it through
``replay_sidecar_read`` (block reads, caches shared by restores, a warm-up when it is opened).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_core.lang.machine import Machine
from omega_core.lang.restore_shared import restore_shared
from omega_core.lang.serialize import StateFormatError
from omega_core.session.atomic import atomic_write_bytes, dumps_compact
from omega_core.session.checkpoint_restore import state_id_of
from omega_core.session.checkpoint_states import CheckpointStates
from omega_core.session.errors import SessionFileError
from omega_core.session.log_reader import SessionLogReader
from omega_core.session.replay_sidecar_read import FileCaches, SidecarReader, caches_of, capture_crc
from omega_core.session.states import StateStore
from omega_core.session.warn import warn

__all__ = ["SIDECAR_SUFFIX", "SIDECAR_VERSION", "HEAD_BYTES", "Anchor", "ReplaySidecar", "sidecar_path",
           "input_crc"]

SIDECAR_SUFFIX = ".replay.ndjson"
"""Not ``.jsonl`` (OmegaLLM would list it as a session) nor ``.states.ndjson`` (no session's file)."""
SIDECAR_VERSION = 1
HEAD_BYTES = 64 * 1024
FLUSH_EVERY = 256
"""Captures kept in memory before they are appended (a first replay of 12k inputs)."""

_STATE_LINE = re.compile(rb'\{"stateId":"state-(\d+)","state":')
_ANCHOR_LINE = re.compile(rb'\{"anchor":(\d+),"offset":(\d+),"codeCrc":(\d+)\}\n\Z')


def sidecar_path(log_path: Path) -> Path:
    """``<name>.replay.ndjson`` beside the log ``<name>.jsonl``."""
    name = log_path.name[: -len(".jsonl")] if log_path.name.endswith(".jsonl") else log_path.name
    return log_path.with_name(name + SIDECAR_SUFFIX)


def input_crc(event: dict[str, Any]) -> int:
    """CRC-32 of what identifies a logged input: its timestamp and its code."""
    return zlib.crc32(f"{event.get('ts')}\x00{event.get('code', '')}".encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Anchor:
    """Where the state ``state-<seq>`` belongs in the log: after the input of ``seq`` at ``offset``."""

    seq: int
    offset: int
    code_crc: int


def _head_hash(log_path: Path, length: int) -> str | None:
    """SHA-256 of the first ``length`` bytes of the log; None if it is shorter."""
    try:
        with open(log_path, "rb") as handle:
            data = handle.read(length)
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest() if len(data) == length else None


class ReplaySidecar:
    """The sidecar of one session. One replay at a time captures into it (``begin_run``)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = Path(log_path)
        self.path = sidecar_path(self.log_path)
        self.store = CheckpointStates(self.path)
        self.anchors: dict[int, Anchor] = {}
        self.seqs: list[int] = []
        self.valid = False
        """The file on disk is a sound sidecar of this log (else the first flush replaces it)."""
        self.problem: str | None = None
        self.writable = True
        self._pending_anchors: list[Anchor] = []
        self.caches = FileCaches()
        """Shared with every other reader of the same file generation once it is loaded."""
        self.line_crcs: dict[int, int] = {}
        """Offset of a state line -> ``capture_crc`` of its lines (read at load, else when used)."""
        self._owner = threading.Lock()
        self._load()

    # --- reading -------------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.problem = f"sidecar {self.path} unreadable ({exc.strerror}); rebuilt by replaying the log"
            return
        refs: dict[str, Any] = {}
        anchors: dict[int, Anchor] = {}
        crcs: dict[int, int] = {}
        records_line: tuple[int, bytes] | None = None
        with handle:
            first = handle.readline()
            try:
                key = json.loads(first) if first.endswith(b"\n") else None
            except ValueError:
                key = None
            if not (isinstance(key, dict) and key.get("omegaReplay") == SIDECAR_VERSION
                    and isinstance(key.get("headBytes"), int) and isinstance(key.get("headSha256"), str)):
                self.problem = f"sidecar {self.path} has no valid first line; rebuilt by replaying the log"
                return
            if _head_hash(self.log_path, key["headBytes"]) != key["headSha256"]:
                self.problem = (f"sidecar {self.path} belongs to another version of the log (its head "
                                "changed); rebuilt by replaying the log")
                return
            offset = len(first)
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a torn last line: cut when the next capture is appended
                if line.startswith(b'{"recordsOf":'):
                    records_line = (offset, line)
                elif (match := _STATE_LINE.match(line)) is not None:
                    state_id = f"state-{int(match.group(1))}"
                    refs[state_id] = {"file": self.path.name, "offset": offset}
                    crc = capture_crc(line, records_line, state_id)
                    if crc is not None:
                        crcs[offset] = crc
                    records_line = None
                elif line.startswith(b'{"anchor":'):
                    anchor = self._anchor(line)
                    if anchor is None:
                        self.problem = f"sidecar {self.path} is damaged at byte {offset}; rebuilt by replaying the log"
                        return
                    anchors[anchor.seq] = anchor
                else:
                    self.problem = f"sidecar {self.path} is damaged at byte {offset}; rebuilt by replaying the log"
                    return
                offset += len(line)
        self.valid = True
        generation = key.get("generation")
        self.caches = caches_of(self.path, generation if isinstance(generation, str) else None)
        self.store.refs = refs
        self.line_crcs = crcs
        self.anchors = {seq: anchor for seq, anchor in anchors.items() if state_id_of(seq) in refs}
        self.seqs = sorted(self.anchors)

    @staticmethod
    def _anchor(line: bytes) -> Anchor | None:
        """The anchor on ``line`` (exactly as ``flush`` writes it), or None if it is damaged."""
        match = _ANCHOR_LINE.match(line)
        if match is None:
            return None
        return Anchor(int(match.group(1)), int(match.group(2)), int(match.group(3)))

    def candidates_at_or_before(self, target: int) -> int:
        """How many stored states follow an input at or before ``target`` (a position in ``seqs``)."""
        return bisect.bisect_right(self.seqs, target)

    def _anchor_holds(self, anchor: Anchor) -> bool:
        """The log still has this input at this offset (one line read)."""
        try:
            with SessionLogReader(self.log_path) as reader:
                event = reader.read_event_at(anchor.offset)
        except SessionFileError:
            return False
        return (event.get("type") == "input" and event.get("seq") == anchor.seq and not event.get("omega")
                and input_crc(event) == anchor.code_crc)

    def restore(self, seq: int, adopt_encoder: bool) -> Machine | None:
        """The machine after the input of ``seq``, or None (with ``problem`` set) if unusable.

        ``adopt_encoder``: later captures of this replay share with the restored state. Else the
        restore's encoder is dropped, so that neither the session nor an outer replay picks it up.
        """
        anchor = self.anchors.get(seq)
        if anchor is None or not self._anchor_holds(anchor):
            self.problem = f"sidecar state after seq {seq} does not match the log; replaying from further back"
            return None
        try:
            with SidecarReader(self) as reader:
                machine, encoder = restore_shared(reader.body(seq), reader, self.caches.decoded)
        except (StateFormatError, ValueError, KeyError, TypeError, SessionFileError, OSError) as problem:
            self.problem = f"sidecar state after seq {seq} unusable ({problem}); replaying from further back"
            return None
        if adopt_encoder:
            self.store.encoder = encoder
        return machine

    def anchor(self, seq: int) -> Anchor:
        return self.anchors[seq]

    # --- capturing -----------------------------------------------------------------------------

    def claim(self) -> bool:
        """Claim the right to capture for one replay (released by ``end_run``); False if another
        replay holds it (a nested one, for a recorded jump) or the sidecar cannot be written."""
        return self.writable and self._owner.acquire(blocking=False)

    def fresh_encoder(self) -> None:
        """The claiming replay starts from scratch: its first capture writes the whole state."""
        self.store.machine_replaced(None)

    def wants(self, seq: int) -> bool:
        """No state is stored or pending after the input of ``seq`` yet."""
        return self.writable and seq not in self.anchors and not (
            self._pending_anchors and self._pending_anchors[-1].seq >= seq)

    def capture(self, machine: Machine, seq: int, offset: int, crc: int) -> None:
        """Capture the machine as it is after the foreign input ``seq`` (line at ``offset``, its
        ``input_crc`` ``crc``)."""
        try:
            self.store.capture(machine, state_id_of(seq), seq)
        except (ValueError, TypeError, RecursionError) as problem:  # a value the encoder refuses
            warn(f"sidecar capture after seq {seq} failed ({problem}); no more captures in this replay")
            self.writable = False
            return
        self._pending_anchors.append(Anchor(seq, offset, crc))
        if len(self._pending_anchors) >= FLUSH_EVERY:
            self.flush()

    def end_run(self) -> None:
        """Write what the replay captured and release the capture right."""
        try:
            self.flush()
        finally:
            self.store.machine_replaced(None)  # the replay's machine goes to the session: let it go
            self._owner.release()

    def flush(self) -> None:
        """Append pending anchors and states (a new file with its key line first if needed)."""
        if not self._pending_anchors:
            return
        try:
            if not self.valid:
                self._start_file()
            store = StateStore(self.path)
            try:
                for anchor in self._pending_anchors:
                    store.append_line({"anchor": anchor.seq, "offset": anchor.offset, "codeCrc": anchor.code_crc})
            finally:
                store.close()
            self.store.flush()
            self.store.close()
        except (SessionFileError, OSError) as problem:
            warn(f"sidecar {self.path} not written ({problem}); gotos replay from further back")
            self.writable = False
            self.store.pending.clear()
            self._pending_anchors = []
            return
        for anchor in self._pending_anchors:
            self.anchors[anchor.seq] = anchor
        self._pending_anchors = []
        self.seqs = sorted(self.anchors)

    def _start_file(self) -> None:
        """Replace a missing, stale or damaged sidecar by one holding only its key line."""
        try:
            size = self.log_path.stat().st_size
        except OSError as exc:
            raise SessionFileError(f"log {self.log_path} unreadable ({exc.strerror})", self.log_path) from exc
        length = min(HEAD_BYTES, size)
        digest = _head_hash(self.log_path, length) or ""
        generation = os.urandom(8).hex()  # not secrets: it loads random, which a one-line batch need not
        key = {"omegaReplay": SIDECAR_VERSION, "headBytes": length, "headSha256": digest, "generation": generation}
        atomic_write_bytes(self.path, (dumps_compact(key) + "\n").encode("utf-8"), fsync=False)
        self.store.refs = {}
        self.line_crcs = {}
        self.caches = caches_of(self.path, generation)
        self.anchors = {}
        self.seqs = []
        self.valid = True
