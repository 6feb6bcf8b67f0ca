"""The files of a recorded session beside its log: derived files (states, index, meta) and the
descriptors an idle session gives back.

Split from ``recorded.py`` so the evaluation side (inputs, checkpoints, goto) and the file side
(when to rewrite the index, how to close and reopen the log) can each be read alone. This is a
mixin of ``RecordedSession``: it uses the session's attributes (``paths``, ``states``, ``_writer``,
``next_seq`` ...), which ``RecordedSession.__init__`` sets.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from omega_core.errors import OmegaError
from omega_core.lang.machine import Machine
from omega_core.lang.serialize_shared import SharedEncoder
from omega_core.session.errors import StorageError
from omega_core.session.index import new_index, write_index
from omega_core.session.listing import write_meta
from omega_core.session.log import SessionLogWriter
from omega_core.session.timeline import timeline_path

INDEX_GROWTH = 0.05
"""The index is rewritten when the log has grown by this share of its length since the last write."""


class SessionFiles:
    """Derived files and descriptors of a ``RecordedSession`` (see the module docstring)."""

    def estimated_memory(self) -> int:
        """A cheap estimate of this session's resident size (exact sizing would cost more than it
        saves): what its captured values hold (``SharedEncoder.value_bytes``) and the encoder's
        table entry for each, per checkpoint, recent event and global, plus a base."""
        encoder = self.states.encoder
        estimate = (64 * 1024 + encoder.value_bytes + len(encoder.addr) * 100 + len(self.checkpoints) * 120
                    + len(self.recent) * 300 + len(self.machine.globals) * 64)
        self.peak_memory = max(self.peak_memory, estimate)
        return estimate

    def disk_bytes(self) -> int:
        total = 0
        for path in (self.paths.log, self.paths.index, self.paths.states, self.paths.meta,
                     timeline_path(self.paths.log.parent, self.name)):
            try:
                total += path.stat().st_size
            except OSError:
                pass
        return total

    def flush(self, force_index: bool = False) -> None:
        """Write pending states; rewrite the index when it lags enough (or ``force_index``)."""
        self.flush_states()
        job = self.index_job(force_index)
        if job is not None:
            job()

    @property
    def needs_persisting(self) -> bool:
        """States to write, or an index that lags the log (whose rewrite the interval may hold back)."""
        return self.dirty or bool(self.states.pending) or self.next_seq > self.last_index_count

    def flush_states(self) -> None:
        self.bytes_written += self.states.flush()
        self.dirty = False
        self.last_flush = time.monotonic()

    def flush_states_job(self) -> Callable[[], int] | None:
        """``flush_states`` in two halves for a server: this (on its loop) returns the write, to
        run in a worker thread (None: nothing to write); ``states_flushed`` (on the loop) then
        installs what it wrote. Why: writing a big state held the loop (``CheckpointStates.flush_job``)."""
        job = self.states.flush_job()
        self.dirty = False  # a command appending while the job runs sets it again
        if job is None:
            self.last_flush = time.monotonic()
        return job

    def states_flushed(self, written: int) -> None:
        """After the job of ``flush_states_job`` (done, or failed: ``written`` 0, nothing installed
        but what it finished)."""
        self.states.flushed(written)
        self.bytes_written += written
        self.last_flush = time.monotonic()

    def index_job(self, force: bool = False) -> Callable[[], None] | None:
        """The index (and meta) rewrite, if due, as a function a server can run off its loop.

        Due when the log grew by ``INDEX_GROWTH`` of its length since the last one (so the
        amortized cost per event stays constant) and ``index_interval_ms`` has passed, or when
        forced. Recovery reads the log past the index: at most 5% of it or one interval of commands.
        The data is copied now, so the job does not race with later commands. Not fsynced: the
        index is a cache of the log.
        """
        if self.damaged is not None:
            return None  # the index of a damaged log is evidence: only :session repair replaces it
        grown = self.next_seq - self.last_index_count
        due = grown >= max(1, int(self.next_seq * INDEX_GROWTH)) and \
            (time.monotonic() - self.last_index_time) * 1000 >= self.config.server.index_interval_ms
        if not (due or (force and (grown or not self.paths.index.exists()))):
            return None
        self.last_index_time = time.monotonic()
        index = new_index(self.session_id)
        index["eventCount"] = self.next_seq
        index["checkpoints"] = list(self.checkpoints)
        index["states"] = dict(self.states.refs)
        index["receipts"] = dict(self.receipts)
        index["omega"] = {"version": 1, "metrics": self.metrics.to_json()}
        self.last_index_count = self.next_seq
        meta = dict(session_id=self.session_id, created=self.created, event_count=self.next_seq,
                    checkpoint_count=len(self.checkpoints),
                    log_size=self._writer.size if self._writer is not None else self.paths.log.stat().st_size)
        index_path, meta_path = self.paths.index, self.paths.meta

        def write() -> None:
            write_index(index_path, index, fsync=False)
            try:
                write_meta(meta_path, **meta)
            except (OmegaError, OSError):
                pass  # a sidecar only speeds listings up

        return write

    def close(self, sync_in_background: bool = False) -> None:
        """Flush and close. ``sync_in_background``: the log's interval sync still due is left to
        a thread (``SessionLogWriter.close``), as a server's pool does."""
        if self.closed:
            return
        self.closed = True
        try:
            self.flush(force_index=True)
        finally:
            if self._writer is not None:
                self._writer.close(sync_in_background)
                self._writer = None
            self.states.close()
            # Break the session <-> recorder cycle, so a closed session is freed as soon as it is
            # dropped, not at the next full collection (a server evicting thousands of sessions
            # grew by ~2 KB per session it had ever loaded).
            self.evaluator.observer = None
            self.recorder.session = None  # type: ignore[assignment]

    def hand_over_values(self) -> tuple[Any, dict[str, Any], list[Any]]:
        """After ``close``: the session's capture encoder, its global table and its other values
        (machine, checkpoint list), replaced by empty ones, for the caller to free off its thread
        (``lang.release.release_session_values``). Dropped with the session, a big session's
        values were freed in one cascade on the server's loop (0.76 s for four million pairs)."""
        assert self.closed, "values are handed over only by a closed session"
        encoder = self.states.encoder
        self.states.encoder = SharedEncoder()
        machine = self.evaluator.machine
        global_table = machine.globals
        values: list[Any] = [machine, self.checkpoints]
        self.evaluator.machine = Machine()
        self.checkpoints = []
        self._checkpoint_seqs = []
        return encoder, global_table, values

    @property
    def log_size(self) -> int:
        if self._writer is not None:
            return self._writer.size
        return self._released_log_size or 0

    # --- descriptors of an idle session (a server's pool, issue 10 item 8) ---------------------

    @property
    def files_open(self) -> bool:
        """Whether this session holds descriptors now: its log (written, and locked) or states file."""
        return self._writer is not None or self.states.store_open

    @property
    def log_needs_fsync(self) -> bool:
        """Appended data the ``interval`` policy has not forced to the disk yet (closing the log
        would fsync it: a blocking call)."""
        return self._writer is not None and self._writer.needs_fsync

    @property
    def files_released(self) -> bool:
        """Whether ``release_idle_files`` gave the log back and nothing has opened it since."""
        return self._released_log_size is not None and self._writer is None and not self.closed

    def release_idle_files(self) -> None:
        """Close the log and the states file of an idle session; its next command (or the pool's
        ``get``) opens them again (``reopen_files``). Why: a server keeping hundreds of sessions
        loaded held two descriptors each and ran out of them. Pending states are written first.
        While released the log's ``flock`` is not held, so reopening checks nobody wrote to it."""
        if self.closed or not self.files_open:
            return
        self.flush_states()
        if self._writer is not None:
            self._released_log_size = self._writer.size
            self._writer.close()  # fsyncs what the policy still owes the disk
            self._writer = None
        self.states.close()

    def _take_log_back(self) -> None:
        """Open the log writer before an append: again after ``release_idle_files``, else anew."""
        if not self.files_released:
            self._open_writer()
        elif not self.reopen_files():
            raise StorageError(f"session '{self.name}': its log changed on disk while the session was idle "
                               "(another program wrote to it); it is opened again from its files: run the "
                               "command again", self.paths.log)

    def reopen_files(self) -> bool:
        """Take the log back after ``release_idle_files``; True when the session can go on.

        False when the log changed on disk meanwhile (another program wrote to it): this session's
        memory no longer matches its log, so it is closed without writing anything (a server's
        pool then opens it again from its files). ``LogLocked`` when another writer holds it now.
        """
        size = self._released_log_size
        if size is None or self._writer is not None:
            return self._writer is not None
        writer = SessionLogWriter(self.paths.log, str(self.config.server.fsync), session_id=self.session_id,
                                  created=self.created, next_seq=self.next_seq)
        if writer.size != size or writer.repair_warning:
            writer.close()
            self.release_files()
            return False
        self._writer = writer
        self._released_log_size = None
        return True
