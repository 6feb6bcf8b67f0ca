"""Exactly-once for every request, whatever its size or kind: the persisted request-id record.

A client resends a request under its original id when its connection broke before the reply came
(a backend crash, a kill -9). The backend must then answer from what it did, never run it twice.
The record is a small append-only file in the session dir (``.omega-requests``, one JSON line per
mutating request; not a session file, listings ignore it), read back when a backend starts:

* code (``execute`` of an input): ``{"rid", "session", "offset"}``, written in the same loop turn
  as the input's events reach the log (the input line carries the rid too). The reply is rebuilt
  from the log at that offset, so a resend of an input that made 100,000 events is answered as
  cheaply as one that made three, and the record stays small.
* ``:`` commands and the mutating structured ops (goto, snapshot, restore, annotate, delete,
  rename ...): ``{"rid", "reply"}``, written when the command succeeded, before it is answered.

``answer`` is consulted before any lock or access rule (a resend finding another client holding
the write lock still gets its original reply). Requests that failed are not recorded: they did
not run, so a resend runs them. The record keeps the last ``KEEP`` requests of all clients
(a client resends only requests still waiting for a reply, at most its pipeline depth), and is
compacted when twice that size: one rewrite of a few hundred KB per ``KEEP`` requests.

Not covered: a crash in the instant between a command's effect and its record (two writes, same
loop turn for code); then the session's recent events (``recorded_reply``) still find an input.
"""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path
from typing import Any

from omega_core.server import protocol as proto
from omega_core.server.execute_reply import reply_from_events
from omega_core.server.protocol import Op, Request
from omega_core.server.record_reading import ReadPosition, read_record
from omega_core.session.atomic import FILE_MODE, atomic_write_bytes, dumps_compact
from omega_core.session.log_reader import SessionLogReader
from omega_core.session.names import session_paths

log = logging.getLogger("omega.backend")

RECORD_NAME = ".omega-requests"
KEEP = 5000
RECORDED_OPS = frozenset({Op.GOTO, Op.DELETE, Op.RENAME, Op.SNAPSHOT, Op.RESTORE, Op.SNAPSHOT_DELETE,
                          Op.ANNOTATE, Op.UNANNOTATE})
"""Structured ops whose success changes something: their replies are recorded."""


ANONYMOUS_PREFIX = "anonymous-"
"""Client ids the server makes up for a connection that never said hello (``connection``): they are
numbered per backend, so the next backend reuses them for other clients. Such a client cannot resend
under its id anyway; its requests are never recorded nor answered from the record."""


def request_key(client_id: str, request_id: Any) -> str:
    """The rid as the session log stores it on an input line (``ops._execute``)."""
    return f"{client_id}:{request_id}"


def is_anonymous(rid_or_client: str) -> bool:
    return rid_or_client.startswith(ANONYMOUS_PREFIX)


class RequestRecord:
    def __init__(self, sessions_dir: Path, load: bool = True) -> None:
        """``load`` False: read the file later (``load``): a standby backend builds its record
        while another backend still appends to the file (``backend_process``)."""
        self.sessions_dir = sessions_dir
        self.path = sessions_dir / RECORD_NAME
        self.entries: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._fd = -1
        self._lines = 0
        self.loaded = False
        self._read: ReadPosition | None = None
        """How far ``preload`` read the file (``load`` then reads only what came after)."""
        if load:
            self.load()

    # --- file ----------------------------------------------------------------------------------

    @staticmethod
    def consulted_for(request: Request) -> bool:
        """Whether handling ``request`` reads or adds entries (``answer``, ``remember``, and
        ``input_logged`` while code runs): only these wait for ``load``; ``ping``, ``hello``,
        listings ... never do."""
        return request.op == Op.EXECUTE or request.op in RECORDED_OPS

    def preload(self) -> None:
        """Read what the file holds now, or what was appended since the last ``preload``, writing
        nothing (a standby backend, while the active one still appends): ``load`` then reads only
        the lines appended since (``record_reading``)."""
        self._read = read_record(self.path, self.entries, self._read)

    def load(self) -> None:
        """Read the file, or what was appended since ``preload`` (once, before the first request
        that ``consulted_for``; it may compact the file). All of a full record (5,000 entries, up
        to twice that many lines) takes 20-40 ms."""
        read = read_record(self.path, self.entries, self._read)
        self._read = None
        while len(self.entries) > KEEP:
            self.entries.popitem(last=False)
        self._lines = read.lines
        # A torn last line (a crash mid-write: that request had no record yet) would swallow the
        # next append: rewrite the file without it. Otherwise the file is compacted when it
        # reaches twice ``KEEP`` lines (``_append``), as while serving: rewriting a full record at
        # every start cost 10-20 ms of a restart.
        if read.torn or self._lines > 2 * KEEP:
            self._compact()
        self.loaded = True

    def _open(self) -> int:
        if self._fd < 0:
            self.sessions_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                               | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        return self._fd

    def _append(self, entry: dict[str, Any]) -> None:
        self.entries[entry["rid"]] = entry
        self.entries.move_to_end(entry["rid"])
        try:
            os.write(self._open(), (dumps_compact(entry) + "\n").encode("utf-8"))
        except (OSError, ValueError) as problem:  # the command ran; only its resend protection is lost
            log.error("could not record request %s in %s: %s", entry["rid"], self.path, problem)
            return
        self._lines += 1
        if self._lines > 2 * KEEP:
            while len(self.entries) > KEEP:
                self.entries.popitem(last=False)
            self._compact()

    def _compact(self) -> None:
        data = b"".join((dumps_compact(entry) + "\n").encode("utf-8") for entry in self.entries.values())
        try:
            atomic_write_bytes(self.path, data, fsync=False)
        except OSError as problem:
            log.error("could not compact %s: %s", self.path, problem)
            return
        self.close()
        self._lines = len(self.entries)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # --- recording -----------------------------------------------------------------------------

    def input_logged(self, rid: str, session: str, offset: int) -> None:
        """An input carrying ``rid`` is in ``session``'s log at ``offset`` (called right after the append)."""
        if is_anonymous(rid):
            return
        self._append({"rid": rid, "session": session, "offset": offset})

    def remember(self, client_id: str, request: Request, reply: dict[str, Any]) -> None:
        """Record the reply of a successful ``:`` command or mutating op (see the module docstring)."""
        if not reply.get("ok") or is_anonymous(client_id) or not self.is_recorded(request):
            return
        rid = request_key(client_id, request.id)
        if rid in self.entries:  # code: recorded with its offset when its input was logged
            return
        self._append({"rid": rid, "reply": reply.get("result")})

    @staticmethod
    def is_recorded(request: Request) -> bool:
        if request.op == Op.EXECUTE:
            line = request.args.get("line")
            if not isinstance(line, str) or not line.strip().startswith(":"):
                return False
            from omega_core.server.ops import READ_COMMANDS, command_of

            return command_of(line) not in READ_COMMANDS
        return request.op in RECORDED_OPS

    # --- answering -----------------------------------------------------------------------------

    def answer(self, client_id: str, request: Request) -> dict[str, Any] | None:
        """The original reply of a request already done (a resend), or None: run it."""
        if (request.op != Op.EXECUTE and request.op not in RECORDED_OPS) or is_anonymous(client_id):
            return None
        entry = self.entries.get(request_key(client_id, request.id))
        if entry is None:
            return None
        if "reply" in entry:
            return proto.ok_reply(request.id, entry["reply"])
        result = self._reply_from_log(entry)
        return None if result is None else proto.ok_reply(request.id, result)

    def _reply_from_log(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        try:
            log_path = session_paths(self.sessions_dir, str(entry.get("session"))).log
            with SessionLogReader(log_path) as reader:
                events = []
                for _, event in reader.iter_events(int(entry["offset"])):
                    if events and event.get("type") == "input":
                        break
                    events.append(event)
        except Exception as problem:  # noqa: BLE001 - a session since deleted or damaged
            log.warning("request %s: its input cannot be read back (%s)", entry.get("rid"), problem)
            return None
        if not events or events[0].get("type") != "input" or events[0].get("rid") != entry["rid"]:
            return None
        return reply_from_events(events, str(entry["session"]))
