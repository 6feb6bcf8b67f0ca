"""Turns what happens during evaluation into session events (the ``EvalObserver`` of a session).

The same recorder runs live and during replay; replay regenerates exactly the events a live run
wrote (same order, same seqs), which is how ``goto`` finds the machine state at any seq: it replays
from the nearest stored state and stops when the event with that seq is emitted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from omega_core.effects import ORACLE_OPS, EffectOutcome
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.session import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.session.recorded import RecordedSession


def args_preview(args: list[Any]) -> str:
    return ev.preview(json.dumps([write_string(arg) for arg in args], ensure_ascii=False))


class SessionRecorder:
    """Emits step, periodic checkpoint, effect, llm and resume events for one session."""

    def __init__(self, session: "RecordedSession", periodic_steps: int) -> None:
        self.session = session
        self.periodic_steps = periodic_steps
        self.form_start_steps = 0
        self.next_periodic = periodic_steps
        self.record_steps = True
        self.skip_next_boundary = False
        """Set when resuming from the checkpoint taken just before an effect: not taken again."""

    def resume_form(self, machine: Machine, steps_done: int) -> None:
        """Continue counting for a form restored mid-run (replay from a mid-input checkpoint)."""
        self.form_start_steps = machine.steps - steps_done
        self.next_periodic = (steps_done // self.periodic_steps + 1) * self.periodic_steps
        self.skip_next_boundary = machine.status is Status.EFFECT

    def form_started(self, machine: Machine, source: str) -> None:
        self.form_start_steps = machine.steps
        self.next_periodic = self.periodic_steps
        if self.record_steps:
            self.session.emit(ev.step_event(0, 0, ev.preview(source)))

    def steps_until_checkpoint(self, machine: Machine) -> int | None:
        states = getattr(self.session, "states", None)
        if states is not None and states.capturing:  # the machine is about to run: a capture
            states.complete()                        # begun in slices must be finished first
        return self.next_periodic - (machine.steps - self.form_start_steps)

    def slice_done(self, machine: Machine) -> None:
        if machine.status is not Status.RUNNING:
            return
        ran = machine.steps - self.form_start_steps
        if ran >= self.next_periodic:
            while self.next_periodic <= ran:
                self.next_periodic += self.periodic_steps
            self.session.checkpoint(machine, ev.CheckpointReason.PERIODIC, depth=1, defer=True)

    def form_steps(self, machine: Machine) -> int:
        return machine.steps - self.form_start_steps

    def effect_started(self, machine: Machine, op: str, args: list[Any]) -> None:
        if self.skip_next_boundary:
            self.skip_next_boundary = False
        elif op in ORACLE_OPS:
            self.session.checkpoint(machine, ev.CheckpointReason.LLM_BOUNDARY, depth=0, defer=True)  # slices, before the call
        if self.record_steps:
            self.session.emit(ev.step_event(0, 1, f"effect:{op}"))
        self.session.emit(ev.effect_event(0, 1, op, args_preview(args)))

    def effect_done(self, machine: Machine, op: str, args: list[Any], outcome: EffectOutcome) -> None:
        exchange = outcome.exchange
        if exchange is not None:
            self.session.emit(
                ev.llm_req_event(0, 1, exchange.model, exchange.prompt, exchange.key, fullPrompt=exchange.prompt)
            )
            response_texts = list(exchange.texts)
            self.session.emit(
                ev.llm_resp_event(
                    0, 1, response_texts[0] if op == "infer.op" and response_texts else response_texts,
                    exchange.duration_ms, exchange.key, tokens=exchange.tokens, texts=response_texts,
                )
            )
            self.session.add_receipt(exchange)
        self.session.emit(ev.resume_event(0, 1, write_string(outcome.value)))
        reason = ev.CheckpointReason.LLM_BOUNDARY if exchange is not None else ev.CheckpointReason.EFFECT
        self.session.checkpoint(machine, reason, depth=1)
