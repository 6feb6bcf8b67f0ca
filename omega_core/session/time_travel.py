"""Time travel of a recorded session: ``goto`` restores the nearest stored state at or before the
target, replays the log forward, and records the jump (see ``recorded.py``'s docstring).

Split from ``recorded.py`` (a mixin of ``RecordedSession``): the long half (``prepare_goto``) leaves
the session untouched, so a server runs it in a worker thread; ``finish_goto`` installs the result
on the loop.
"""

from __future__ import annotations

from omega_core.errors import OmegaError
from omega_core.lang.machine import Machine
from omega_core.session import events as ev
from omega_core.session.replay import Replayer


class TimeTravel:
    """The goto side of ``RecordedSession`` (see the module docstring)."""

    def goto(self, seq: int, resuming: bool = False) -> str:
        """Jump to the state at event ``seq`` and record the jump; return the report line.

        ``resuming`` (``:session resume``) keeps the end of the timeline being walked, so repeated
        resumes move through the original timeline and never onto the jump records themselves.
        """
        return self.finish_goto(self.prepare_goto(seq), resuming)

    def prepare_goto(self, seq: int) -> tuple[int, Machine, Replayer]:
        """The long half of ``goto``: restore and replay to ``seq``, without changing the session
        (a server runs it in a worker thread while it holds the session). ``finish_goto`` ends it."""
        self.require_intact()
        if not 0 <= seq < self.next_seq:
            raise OmegaError(f"no event {seq} in session '{self.name}' (it has events 0 to {self.next_seq - 1})")
        self.states.complete()
        replayer = Replayer(self)
        machine, _ = replayer.state_at(seq)
        return seq, machine, replayer

    def finish_goto(self, prepared: tuple[int, Machine, Replayer], resuming: bool = False) -> str:
        """Install what ``prepare_goto`` computed and record the jump (short: on the server's loop)."""
        seq, machine, replayer = prepared
        self._install(machine)
        self._batch = []
        try:
            if not resuming or self.jump_record_seq is None:
                self.jump_record_seq = self.next_seq
            self.checkpoint(machine, ev.CheckpointReason.MANUAL, capture=False, jumpTo=seq)
            self._append(self._batch)
        finally:
            self._batch = None
        self.cursor = seq
        report = f"Jumped to seq {seq} (replayed {replayer.inputs_run} input(s), {replayer.steps_run} step(s), " \
                 f"{replayer.receipts_used} receipt(s) used)"
        event = replayer.event_at(seq)
        if event is not None and event.get("type") == "result":
            report += f"\n=> {event.get('value')}"
        return report

    def state_at(self, seq: int) -> Machine:
        """The machine as it was at event ``seq`` (without moving the session)."""
        return Replayer(self).state_at(seq)[0]
