"""A recorded session: a machine whose every input, step, checkpoint and oracle exchange is logged.

Durability: an input's events are appended to the log with one write before ``execute`` returns
(the caller acknowledges only then). Checkpoint states, the index and the meta sidecar are caches of
the log, written by ``flush`` (throttled by the caller); everything in them can be rebuilt from the
log. The index is rewritten only when the log has grown by ``INDEX_GROWTH`` since the last write,
and at most once per ``[server] index_interval_ms`` (or on ``close``): the cost of persisting one more
input does not grow with the session, and a fast stream of commands pays for one rewrite a second,
not one per 5% (that was 8% of the server's time at 2,000 commands/s, all of it holding the GIL).

Time travel: ``goto(seq)`` restores the nearest checkpoint at or before ``seq`` whose state is
stored and replays the log forward (oracle effects answered from the recorded answers, never by
asking again) until the event ``seq`` is regenerated. The jump is then *recorded*: a checkpoint
event with ``jumpTo`` is appended, so inputs after a goto continue the log and nothing past the
jump point is lost (the timeline shows the branch).
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

from omega_core.config import Config
from omega_core.effects import EffectHost, OracleExchange
from omega_core.errors import OmegaError
from omega_core.eval_steps import PAUSE, FormResult, Step, drive
from omega_core.evaluator import STOPPED_CODES, Evaluator
from omega_core.lang.machine import Machine
from omega_core.session import events as ev
from omega_core.session.checkpoint_states import CheckpointStates
from omega_core.session.index import load_index, make_receipt, rebuild_index_from_log
from omega_core.session.log import SessionLogWriter
from omega_core.session.log_reader import SessionLogReader, events_since
from omega_core.session.names import session_paths
from omega_core.session.metrics import SessionMetrics
from omega_core.session.recorded_files import SessionFiles
from omega_core.session.recorded_log import RECENT_EVENTS, LogAppending
from omega_core.session.recorder import SessionRecorder
from omega_core.session.replay import Replayer, StopAtSeq
from omega_core.session.states import is_state_ref
from omega_core.session.time_travel import TimeTravel
from omega_core.session.timeline import Timeline, timeline_path
from omega_core.session.validation import SessionDamaged, check_log_covers_index, check_since_last_checkpoint

PRUNE_AFTER_STOP_RECORDS = 1_000
"""Records the periodic captures of a stopped command must have added for its end to prune."""
CAPTURE_SLICE_S = 0.003
"""Encoding of a checkpoint state between two pauses (the loop must never stall over 5 ms)."""
CAPTURE_SHARE = 0.25
"""Periodic checkpoints of a command store no state when capturing its new frames would take the
command's capture work past this share of its evaluation work (see ``_periodic_capture_allowance``)."""
RECORD_STEPS = 8
"""Encoding one record costs about as much as this many machine steps (measured on a deep stack)."""
CAPTURE_ALWAYS_FRAMES = 4096
"""A periodic capture with at most this many new frames is always taken (small: a few ms)."""


class RecordedSession(SessionFiles, LogAppending, TimeTravel):
    def __init__(self, sessions_dir: Path, name: str, config: Config, effects: EffectHost | None = None) -> None:
        self.config = config
        self.paths = session_paths(sessions_dir, name)
        self.name = name
        self.effects = effects or EffectHost(config.oracle, config.effects, config.language.search_samples)
        self.recorder = SessionRecorder(self, config.session.periodic_checkpoint_steps)
        self.recorder.record_steps = config.session.record_steps
        self.evaluator = Evaluator(Machine(), config.language, self.effects, observer=self.recorder)
        self.session_id = name
        self.created = ev.iso_now()
        self.next_seq = 0
        self.checkpoints: list[dict[str, Any]] = []
        self.receipts: dict[str, Any] = {}
        self.states = CheckpointStates(self.paths.states)
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_EVENTS)
        self.warnings: list[str] = []
        self.cursor: int | None = None
        """After a goto: the seq jumped to (``:session resume`` goes on from there)."""
        self.jump_record_seq: int | None = None
        self.last_index_count = 0
        self.last_index_time = 0.0
        self.dirty = False
        self.last_flush = 0.0
        self._writer: SessionLogWriter | None = None
        self._released_log_size: int | None = None
        """The log's size when an idle session gave its descriptors back (``release_idle_files``)."""
        self._batch: list[dict[str, Any]] | None = None
        self._target: int | None = None
        self._input_seq = 0
        self.metrics = SessionMetrics()
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        """Called with each appended batch of events (the server pushes them to subscribers)."""
        self.bytes_written = 0
        self._timeline: Timeline | None = None
        self._checkpoint_seqs: list[int] = []
        self.peak_memory = 0
        self.closed = False
        self.recent_rids: dict[str, int] = {}
        """Request id -> seq of its input, for recent inputs: a retried request is found in O(1)."""
        self.damaged: str | None = None
        """Why the log failed validation (what, file, byte offset): the session is read-only, and
        its files are never written, until ``:session repair`` (``damaged.open_damaged``)."""
        self.damaged_signature: tuple[int, ...] = ()
        self._command_steps = 0
        self._command_records = 0
        """Machine steps and captured records when the command began (its periodic capture share)."""
        self.request_logged: Callable[[str, int], None] | None = None
        """Called with (rid, byte offset) as soon as an input carrying a request id is in the log
        (the server's persisted request record, ``server.request_record``)."""

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, sessions_dir: Path, name: str, config: Config, effects: EffectHost | None = None,
             progress: Callable[[int, int], None] | None = None) -> "RecordedSession":
        """Open (or create) session ``name``: last index, newer states, then replay of the log tail."""
        session = cls(sessions_dir, name, config, effects)
        sessions_dir.mkdir(parents=True, exist_ok=True)
        try:
            if session.paths.log.exists() and (session.paths.log.stat().st_size > 0 or session.paths.index.exists()):
                session._load(progress)  # an empty log beside an index was cut: _load reports it
            else:
                session._open_writer()
        except BaseException:
            session.release_files()  # a failed open must not keep the log's flock (nor a descriptor)
            raise
        return session

    def require_intact(self) -> None:
        """Refuse any change to a damaged session (read-only until ``:session repair NAME``)."""
        if self.damaged is not None:
            raise SessionDamaged(f"session '{self.name}' is read-only because its log is damaged: {self.damaged}")

    def release_files(self) -> None:
        """Close the log writer (its flock) and the states file without writing anything: what a
        failed open leaves behind, so the next open (after a repair) is not refused as locked."""
        self.closed = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.states.close()

    def _load(self, progress: Callable[[int, int], None] | None) -> None:
        reader = SessionLogReader(self.paths.log)
        try:
            header = reader.header()
            self.session_id = str(header.get("id") or self.name)
            self.created = str(header.get("created") or self.created)
        finally:
            reader.close()
        self._open_writer()
        if self._writer is not None and self._writer.repair_warning:
            self.warnings.append(self._writer.repair_warning)
        index: dict[str, Any] | None
        try:
            index = load_index(self.paths.index, raw_states=True)  # OmegaLLM's states: never decoded
        except OmegaError as problem:
            self.warnings.append(f"session '{self.name}': index unreadable ({problem.message}); rebuilt from the log")
            index = None
        log_next = self._writer.next_seq if self._writer is not None else 0
        check_log_covers_index(self.paths.log, self.name, index, log_next, self.log_size)
        lagged_index = index
        lagged_from: int | None = None
        if index is None or index.get("eventCount", 0) != log_next:
            lagged_from = int(index.get("eventCount", 0)) if index is not None else 0
            if index is None and not self.paths.index.exists() and log_next > 0:
                self.warnings.append(f"session '{self.name}': index missing; rebuilt from the log")
            elif index is not None:
                self.warnings.append(f"session '{self.name}': index lags the log; brought up to date from the log")
            index = rebuild_index_from_log(self.paths.log, self.session_id, previous=index)
        self.checkpoints = list(index.get("checkpoints", []))
        check_since_last_checkpoint(self.paths.log, self.name, self.checkpoints, log_next)
        saved = (index.get("omega") or {}).get("metrics") if isinstance(index.get("omega"), dict) else None
        if isinstance(saved, dict):
            self.metrics = SessionMetrics.from_json(saved)
        if lagged_from is not None and lagged_from < log_next:  # inputs the saved figures miss
            try:
                self.metrics.catch_up(events_since(self.paths.log, lagged_from, lagged_index))
            except OmegaError as problem:  # figures are a courtesy: the session opens with the saved ones
                self.warnings.append(f"session '{self.name}': command figures not brought up to date ({problem.message})")
        self.receipts = dict(index.get("receipts", {}))
        refs = index.get("states", {})
        if not self.paths.states.exists():
            refs = {state_id: ref for state_id, ref in refs.items() if not is_state_ref(ref)}
        self.states = CheckpointStates(self.paths.states, refs)
        self.states.scan_newer()
        self.next_seq = index.get("eventCount", 0)
        self.last_index_count = self.next_seq
        machine, cursor = Replayer(self).state_at(self.next_seq - 1, progress=progress)
        self._install(machine)
        with SessionLogReader(self.paths.log) as reader:
            for _, event in reader.tail(RECENT_EVENTS):
                self.recent.append(event)
                if "rid" in event:  # a client may retry a request whose input is already logged
                    self.recent_rids[event["rid"]] = event["seq"]

    def _open_writer(self) -> None:
        self._writer = SessionLogWriter(
            self.paths.log, str(self.config.server.fsync), session_id=self.session_id, created=self.created
        )
        self.next_seq = self._writer.next_seq

    def _install(self, machine: Machine) -> None:
        self.evaluator.machine = machine
        self.states.machine_replaced(machine)

    @property
    def machine(self) -> Machine:
        return self.evaluator.machine

    @property
    def timeline(self) -> Timeline:
        """Annotations, snapshots and forks (a sidecar file, read on first use)."""
        if self._timeline is None:
            self._timeline = Timeline.load(timeline_path(self.paths.log.parent, self.name))
        return self._timeline

    @property
    def position(self) -> int:
        """The seq of the current point: where a goto landed, else the last event."""
        return self.cursor if self.cursor is not None else self.next_seq - 1

    @property
    def checkpoint_seqs(self) -> list[int]:
        """Seqs of the checkpoints, ascending (cached: goto and the timeline search it; extended
        when checkpoints were only appended, as each goto's jump record does)."""
        seqs, checkpoints = self._checkpoint_seqs, self.checkpoints
        known = len(seqs)
        if known < len(checkpoints) and known and checkpoints[known - 1]["seq"] == seqs[-1]:
            seqs.extend(cp["seq"] for cp in checkpoints[known:])
        elif known != len(checkpoints):
            self._checkpoint_seqs = [cp["seq"] for cp in checkpoints]
        return self._checkpoint_seqs

    # --- recording -----------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        """Give ``event`` the next seq; keep it for the write (live) or check the replay target."""
        event["seq"] = self.next_seq
        self.next_seq += 1
        if self._batch is not None:
            self._batch.append(event)
        if self._target is not None and event["seq"] >= self._target:
            raise StopAtSeq(event["seq"])

    def checkpoint(
        self, machine: Machine, reason: ev.CheckpointReason, depth: int = 0, capture: bool = True,
        defer: bool = False, **extra: Any
    ) -> None:
        """Record a checkpoint event and capture the machine's state. ``defer``: the caller yields
        before the machine runs again, so ``execute_steps`` encodes the state in slices then."""
        seq = self.next_seq
        state_id = f"state-{seq}"
        if reason is not ev.CheckpointReason.MANUAL:  # inside an input: say where, for replay
            extra.update(input=self._input_seq, form=self.evaluator.form_number,
                         formSteps=self.recorder.form_steps(machine))
        if self._batch is not None and capture:
            if reason is ev.CheckpointReason.PERIODIC and defer:
                self.states.propose_capture(machine, state_id, seq, self._periodic_capture_allowance(machine))
            elif defer:
                self.states.begin_capture(machine, state_id, seq)
            else:
                self.states.capture(machine, state_id, seq)
        self.emit(ev.checkpoint_event(seq, depth, reason, state_id, **extra))

    def _periodic_capture_allowance(self, machine: Machine) -> int:
        """How many new frames a periodic checkpoint may capture. A capture costs what is new
        since the last one; in a deep recursion that is every frame pushed, each costing about as
        much to encode as the steps that pushed it. A checkpoint without a state only makes a
        later ``goto`` there replay from an earlier one (the log is the same), and frames that
        are returned from before any capture reaches them are never encoded at all. So a capture
        whose new frames would take the command's capture work past ``CAPTURE_SHARE`` of its
        evaluation work is skipped (``CheckpointStates.propose_capture`` counts them): however
        deep a command recurses, capture adds at most about that share to it. Work is counted,
        not timed (steps run, records written), so a command stores the same states anywhere."""
        ran = machine.steps - self._command_steps
        allowance = int(CAPTURE_SHARE * ran / RECORD_STEPS) - (self.states.records_total - self._command_records)
        return max(CAPTURE_ALWAYS_FRAMES, allowance)

    def add_receipt(self, exchange: OracleExchange) -> None:
        if self._batch is None:
            return
        self.metrics.record_oracle(exchange.tokens, exchange.duration_ms)
        response = {"content": exchange.texts[0]} if exchange.op == "infer.op" else {"contents": list(exchange.texts)}
        self.receipts[exchange.key] = make_receipt(
            exchange.key, exchange.request, response, exchange.timestamp_ms, exchange.duration_ms, exchange.tokens
        )

    def execute(self, text: str, first_line: int = 1) -> list[FormResult]:
        """Run one input, record it, append its events with one write, return the form results."""
        return list(drive(self.execute_steps(text, first_line), self.effects.perform))

    def execute_steps(self, text: str, first_line: int = 1, request_id: str | None = None) -> Generator[Step, Any, None]:
        """The cooperative form of ``execute`` (a server interleaves it with other work).

        Yields pauses, effect calls and form results; the input's events are appended to the log
        (one write) before the generator finishes, so a caller acknowledges only after that.
        ``request_id`` is recorded on the input event so a retried request is answered from the log.
        """
        self.require_intact()
        self._batch = []
        results: list[FormResult] = []
        self._input_seq = self.next_seq
        started = time.perf_counter()
        self._command_steps = self.machine.steps
        self._command_records = self.states.records_total
        self.states.command_started()
        self.machine.memory.held = self.states.encoder.value_bytes  # the memory budget's earlier part
        self.machine.memory.replaced = False
        extra: dict[str, Any] = {"omega": 1}
        if not self.recorder.record_steps:
            extra["record"] = False
        if request_id is not None:
            extra["rid"] = request_id
        try:
            self.emit(ev.input_event(0, text, **extra))
            inner = self.evaluator.text_steps(text, first_line=first_line)
            to_send: Any = None
            to_throw: Exception | None = None
            while True:  # forward pauses, effect calls and slices (and their outcomes) to the evaluator
                try:
                    item = inner.throw(to_throw) if to_throw is not None else inner.send(to_send)
                except StopIteration:
                    break
                to_send = to_throw = None
                if self.states.capturing:  # a periodic checkpoint began: encode it, other work between
                    yield from self._capture_in_slices()
                if isinstance(item, FormResult):
                    results.append(item)
                    self._emit_result(item)
                    yield item
                    continue
                try:
                    to_send = yield item
                except Exception as error:  # an effect's failure, or what a slice run by the host raised
                    to_throw = error
            if results and (all(r.ok for r in results) or any(r.error_code in STOPPED_CODES for r in results)):
                if self._stopped_with_captures(results) or self._may_have_freed_held_values():
                    self.states.prune_soon()  # garbage among what the captures named: settle the count
                self.checkpoint(self.machine, ev.CheckpointReason.MANUAL, defer=True)
                yield from self._capture_in_slices()
            lines = yield from self._encode_in_pieces(self._batch)
            self._append(self._batch, lines)
        finally:
            self._batch = None
        self.cursor = None
        self.jump_record_seq = None
        self.metrics.record_input((time.perf_counter() - started) * 1000, sum(r.steps for r in results),
                                  sum(1 for r in results if not r.ok))

    def _stopped_with_captures(self, results: list[FormResult]) -> bool:
        """A form was stopped (and undone) after periodic captures named what it built: only the
        encoder's table holds that now. A prune walks every captured object (seconds for a session
        holding millions of pairs), so a stop that captured nothing (an output budget, an interrupt
        of a short loop) does not ask for one."""
        return (any(r.error_code in STOPPED_CODES for r in results)
                and self.states.records_total - self._command_records >= PRUNE_AFTER_STOP_RECORDS)

    def _may_have_freed_held_values(self) -> bool:
        """The command replaced a value that may have held memory (not a number or a short
        string: ``(define x 1)`` does not count) while what earlier commands keep is at least half
        the memory budget: what it replaced may be garbage, and the budget should not count it in
        the next command (a prune, O(captured objects), settles the count; smaller sessions settle
        when the encoder's table doubles)."""
        held = self.states.encoder.value_bytes
        return 2 * held >= self.machine.memory_limit and self.machine.memory.replaced

    def _capture_in_slices(self) -> Generator[Step, Any, None]:
        """Encode the capture in progress a few milliseconds at a time, pausing between (a server
        serves other clients then; this session's machine waits, so the state stays as captured)."""
        while not self.states.drain(CAPTURE_SLICE_S):
            yield PAUSE

    def _emit_result(self, result: FormResult) -> None:
        extra: dict[str, Any] = {"steps": result.steps}
        if result.output:
            extra["output"] = result.output
        if result.ok:
            self.emit(ev.result_event(0, result.value or "", **extra))
        else:
            self.emit(ev.error_event(0, 0, result.error or "", code=result.error_code, **extra))

    # --- reading -------------------------------------------------------------------------------

    def iter_events(self, start_offset: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        with SessionLogReader(self.paths.log) as reader:
            yield from reader.iter_events(start_offset)

    def tail_events(self, count: int) -> list[dict[str, Any]]:
        if count <= len(self.recent) or len(self.recent) >= self.next_seq:
            return list(self.recent)[-count:] if count else []
        with SessionLogReader(self.paths.log) as reader:
            return [event for _, event in reader.tail(count)]
