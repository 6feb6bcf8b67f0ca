"""Rebuilding the machine state at any seq by replaying the log from a stored checkpoint state.

Replay re-runs the recorded inputs and answers every oracle effect from the answers recorded after
that input (full texts in our ``llm_resp`` events, else the receipt, else the preview): the oracle is
never asked again. For inputs Omega recorded (``"omega": 1`` on the input event) the replayed events
are the recorded ones, seq for seq, so replay can stop at *any* seq, mid-input included. Inputs of
another recorder (OmegaLLM's files) are replayed whole: a seq inside one lands after it completes.
"""

from __future__ import annotations

import bisect
import enum
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from omega_core.effects import ORACLE_OPS, EffectOutcome, OracleExchange, value_of_exchange
from omega_core.errors import EvalError, OmegaError
from omega_core.eval_steps import drive
from omega_core.evaluator import STOPPED_CODES, Evaluator
from omega_core.lang.machine import Machine
from omega_core.session import events as ev
from omega_core.session.log_reader import SessionLogReader
from omega_core.session.recorder import SessionRecorder
from omega_core.session.replay_sidecar import ReplaySidecar, input_crc
from omega_core.session.replay_sidecar_read import warm_caches
from omega_core.session.states import is_state_ref

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.session.recorded import RecordedSession

OMEGA_MARK = "omega"
SIDECAR_EVERY = 4
"""The first replay of foreign inputs stores a sidecar state after every 4th one (and after the
last): a goto then replays at most 3 inputs after a restore, and the first open spends a quarter of
what a state per input would cost in captures."""

SIDECAR_STEPS = 5_000
"""... or sooner, after the input that brings the steps run since the last capture to 5,000: a goto
then replays at most about that many steps of heavy inputs (a few ms) after its restore. Counted in
steps, never time, so the same log always gives the same sidecar."""

WARM_AFTER_CAPTURES = 64
"""A replay that captured this many sidecar states (the first open of an OmegaLLM session) warms
the sidecar's caches as an open with a sidecar does (``replay_sidecar_read.warm_caches``)."""

_SIDECARS: "weakref.WeakKeyDictionary[Any, ReplaySidecar]" = weakref.WeakKeyDictionary()
"""Session -> its replay sidecar (read once per loaded session, kept while the session lives)."""


class StartKind(enum.Enum):
    """Where a replay starts: a fresh machine, one of our checkpoint states, or a sidecar state."""

    SCRATCH = "scratch"
    NATIVE = "native"
    SIDECAR = "sidecar"


def sidecar_of(session: "RecordedSession") -> ReplaySidecar | None:
    """The sidecar of Omega's states for the session's foreign inputs (None for a damaged session:
    its files are never written until repaired)."""
    if getattr(session, "damaged", None) is not None:
        return None
    sidecar = _SIDECARS.get(session)
    if sidecar is None:
        sidecar = _SIDECARS[session] = ReplaySidecar(session.paths.log)
        if sidecar.problem:
            session.warnings.append(sidecar.problem)
        warm_caches(sidecar)
    return sidecar


class StopAtSeq(Exception):
    """Raised by the event sink when replay has regenerated the target event."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


@dataclass
class _Input:
    seq: int
    code: str
    exact: bool
    record_steps: bool
    answers: list[dict[str, Any]] = field(default_factory=list)
    step_limits: list[int | None] = field(default_factory=list)
    checkpointed: bool = False
    resume: tuple[int, int] | None = None
    """For the input a mid-input checkpoint interrupted: (form number, steps that form had run)."""
    offset: int = -1
    """Byte offset of the input's line in the log (anchors a sidecar state)."""
    crc: int = 0
    """``replay_sidecar.input_crc`` of the input's event (anchors a sidecar state)."""


class Replayer:
    """One replay of one session's log (an ``EventSink`` for the recorder while it runs)."""

    def __init__(self, session: "RecordedSession") -> None:
        self.session = session
        self.next_seq = 0
        self.target = -1
        self.inputs_run = 0
        self.steps_run = 0
        self.receipts_used = 0
        self.events: dict[int, dict[str, Any]] = {}
        self._answers: list[dict[str, Any]] = []
        self._exact = False
        """Whether the input being replayed regenerates the logged events seq for seq (ours)."""
        self.start_kind = StartKind.SCRATCH
        self.captured = 0
        """States this replay added to the sidecar."""

    # --- the event sink ------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        event["seq"] = self.next_seq
        self.next_seq += 1
        if self._exact and event["seq"] >= self.target:
            raise StopAtSeq(event["seq"])

    def checkpoint(self, machine: Machine, reason: ev.CheckpointReason, depth: int = 0, defer: bool = False,
                   **extra: Any) -> None:
        self.emit(ev.checkpoint_event(self.next_seq, depth, reason, f"state-{self.next_seq}", **extra))

    def add_receipt(self, exchange: OracleExchange) -> None:
        """Receipts already exist for replayed exchanges."""

    # --- answering effects ---------------------------------------------------------------------

    def answer(self, op: str, args: list[Any]) -> EffectOutcome:
        if op not in ORACLE_OPS:
            return self.session.effects.perform(op, args)
        if not self._answers:
            raise EvalError(
                f"replay: no recorded answer left for {op} in this input (the log does not match the "
                "program); the oracle is never asked again during replay"
            )
        recorded = self._answers.pop(0)
        self.receipts_used += 1
        key = recorded.get("receiptKey", "")
        texts = recorded.get("texts")
        if not isinstance(texts, list):
            receipt = self.session.receipts.get(key, {})
            response = receipt.get("response", {}) if isinstance(receipt, dict) else {}
            if isinstance(response.get("contents"), list):
                texts = response["contents"]
            elif isinstance(response.get("content"), str):
                texts = [response["content"]]
            else:
                texts = [recorded.get("valuePreview", "")]
        request = recorded.get("request") or {}
        exchange = OracleExchange(
            op=op, request=request, key=key, model=recorded.get("model", ""), prompt=recorded.get("prompt", ""),
            texts=tuple(str(text) for text in texts), tokens=recorded.get("tokens"),
            duration_ms=recorded.get("durationMs", 0), timestamp_ms=recorded.get("ts", 0),
        )
        return EffectOutcome(value_of_exchange(exchange), exchange)

    # --- replay --------------------------------------------------------------------------------

    def _start_point(self, target: int, sidecar: ReplaySidecar | None,
                     owns: bool) -> tuple[Machine, int, int, StartKind]:
        """The machine at the nearest stored state at or before ``target`` (or a fresh one): one of
        our checkpoint states, or a sidecar state (after a foreign input), whichever is later."""
        session = self.session
        checkpoints = session.checkpoints
        position = bisect.bisect_right(session.checkpoint_seqs, target)
        side = sidecar.candidates_at_or_before(target) if sidecar is not None else 0
        states = session.states
        while position > 0 or side > 0:
            side_seq = sidecar.seqs[side - 1] if sidecar is not None and side > 0 else -1
            if position > 0 and checkpoints[position - 1]["seq"] > side_seq:
                position -= 1
                cp = checkpoints[position]
                state_id = cp["stateId"]
                if state_id in states.pending or is_state_ref(states.refs.get(state_id)):
                    try:
                        return states.restore(state_id), cp["seq"], cp["byteOffset"], StartKind.NATIVE
                    except (OmegaError, ValueError, OSError) as problem:
                        session.warnings.append(f"state {state_id} unusable ({problem}); replaying from further back")
                continue
            assert sidecar is not None
            side -= 1
            machine = sidecar.restore(side_seq, adopt_encoder=owns)
            if machine is not None:
                return machine, side_seq, sidecar.anchor(side_seq).offset, StartKind.SIDECAR
            if sidecar.problem:
                session.warnings.append(sidecar.problem)
        return Machine(), -1, 0, StartKind.SCRATCH

    def state_at(self, target: int, progress: Callable[[int, int], None] | None = None) -> tuple[Machine, int]:
        """The machine at event ``target``. Foreign inputs replayed from scratch or from a sidecar
        state are captured into the sidecar as they complete (the first replay of an OmegaLLM session
        fills it), unless another replay is capturing (a nested one, for a recorded jump)."""
        if target < 0:
            return Machine(), -1
        sidecar = sidecar_of(self.session)
        owns = sidecar is not None and sidecar.claim()
        try:
            return self._state_at(target, progress, sidecar if owns else None, sidecar)
        finally:
            if owns:
                assert sidecar is not None
                sidecar.end_run()
                if self.captured >= WARM_AFTER_CAPTURES:  # the first replay filled it: gotos follow
                    warm_caches(sidecar)

    def _state_at(self, target: int, progress: Callable[[int, int], None] | None,
                  capturing_into: ReplaySidecar | None, sidecar: ReplaySidecar | None) -> tuple[Machine, int]:
        machine, from_seq, offset, self.start_kind = self._start_point(target, sidecar, capturing_into is not None)
        if self.start_kind is StartKind.NATIVE:
            capturing_into = None  # that machine's encoder is the session's: the sidecar keeps its own
        elif self.start_kind is StartKind.SCRATCH and capturing_into is not None:
            capturing_into.fresh_encoder()
        if from_seq == target:
            return machine, target
        inputs, jumps = self._collect(from_seq, offset, target)
        self.target = target
        language = self.session.config.language
        recorder = SessionRecorder(self, self.session.config.session.periodic_checkpoint_steps)  # type: ignore[arg-type]
        evaluator = Evaluator(machine, language, self.session.effects, perform=self.answer, observer=recorder,
                              measure_memory=False)
        total = len(inputs)
        since_capture = steps_since_capture = 0
        for number, item in enumerate(inputs):
            if item.seq > target:
                break
            jump = jumps.get(item.seq)
            if jump is not None:  # a recorded jump: the state there is the state at its target
                evaluator.machine = Replayer(self.session).state_at(jump)[0]
                capturing_into = None  # a machine of another replay from now on
                if item.seq >= target:
                    break
                continue
            self._exact = item.exact
            self._answers = list(item.answers)
            recorder.record_steps = item.record_steps
            before = evaluator.machine.steps
            try:
                if item.resume is not None:
                    self.next_seq = from_seq + 1
                    recorder.resume_form(evaluator.machine, item.resume[1])
                else:
                    self.next_seq = item.seq
                    self.emit(ev.input_event(item.seq, item.code))
                form_count = len(item.step_limits) if item.exact and not item.checkpointed else None
                steps = evaluator.text_steps(item.code, item.step_limits, item.resume, form_count=form_count)
                for result in drive(steps, self.answer):
                    if result.ok:
                        self.emit(ev.result_event(0, result.value or ""))
                    else:
                        self.emit(ev.error_event(0, 0, result.error or ""))
                if self._exact and item.checkpointed:
                    self.checkpoint(evaluator.machine, ev.CheckpointReason.MANUAL)
            except StopAtSeq:
                self.steps_run += evaluator.machine.steps - before
                self.inputs_run += 1
                return evaluator.machine, target
            self.steps_run += evaluator.machine.steps - before
            self.inputs_run += 1
            if capturing_into is not None and not item.exact and item.resume is None and item.offset >= 0:
                since_capture += 1
                steps_since_capture += evaluator.machine.steps - before
                last = number + 1 == total or inputs[number + 1].seq > target
                due = since_capture >= SIDECAR_EVERY or steps_since_capture >= SIDECAR_STEPS or last
                if due and capturing_into.wants(item.seq):
                    capturing_into.capture(evaluator.machine, item.seq, item.offset, item.crc)
                    self.captured += 1
                    since_capture = steps_since_capture = 0
            if progress is not None:
                progress(number + 1, total)
        return evaluator.machine, target

    def _resumed_input(self, start: dict[str, Any], offset: int) -> _Input | None:
        """The input a mid-input checkpoint belongs to, set up to continue where it stopped."""
        input_seq, form, form_steps = start.get("input"), start.get("form"), start.get("formSteps")
        if not (isinstance(input_seq, int) and isinstance(form, int) and isinstance(form_steps, int)):
            return None
        with SessionLogReader(self.session.paths.log) as reader:
            count = 16
            while True:
                before = reader.tail(count, end=offset)
                found = next((event for _, event in before if event.get("seq") == input_seq), None)
                if found is not None or len(before) < count:
                    break
                count *= 4
        if found is None or found.get("type") != "input":
            return None
        item = _Input(input_seq, str(found.get("code", "")), True, found.get("record", True) is not False)
        item.resume = (form, form_steps)
        item.step_limits = [None] * form
        return item

    def _collect(self, from_seq: int, offset: int, target: int) -> tuple[list[_Input], dict[int, int]]:
        """Inputs (with their recorded answers and limits) and jumps after ``from_seq``."""
        inputs: list[_Input] = []
        jumps: dict[int, int] = {}
        current: _Input | None = None
        requests: dict[str, dict[str, Any]] = {}
        with SessionLogReader(self.session.paths.log) as reader:
            for event_offset, event in reader.iter_events(offset):
                seq = event.get("seq")
                if not isinstance(seq, int):
                    continue
                if seq == from_seq and event.get("type") == "checkpoint" and "input" in event:
                    current = self._resumed_input(event, offset)
                    if current is not None:
                        inputs.append(current)
                if seq <= from_seq:
                    continue
                self.events[seq] = event
                kind = event.get("type")
                if kind == "input":
                    if seq > target:
                        break
                    current = _Input(seq, str(event.get("code", "")), bool(event.get(OMEGA_MARK)),
                                     event.get("record", True) is not False, offset=event_offset,
                                     crc=input_crc(event))
                    inputs.append(current)
                elif kind == "checkpoint" and isinstance(event.get("jumpTo"), int):
                    jumps[seq] = event["jumpTo"]
                    inputs.append(_Input(seq, "", True, True))
                    current = None
                    if seq >= target:
                        break
                elif current is not None:
                    if kind == "llm_req":
                        requests[str(event.get("receiptKey"))] = event
                    elif kind == "llm_resp":
                        request = requests.get(str(event.get("receiptKey")), {})
                        current.answers.append({**event, "model": request.get("model", ""),
                                                "prompt": request.get("fullPrompt", request.get("promptPreview", ""))})
                    elif kind in ("result", "error"):
                        limit = event.get("steps") if event.get("code") in STOPPED_CODES else None
                        current.step_limits.append(limit if isinstance(limit, int) else None)
                    elif kind == "checkpoint" and event.get("reason") == "manual":
                        current.checkpointed = True
        return inputs, jumps

    def event_at(self, seq: int) -> dict[str, Any] | None:
        return self.events.get(seq)
