"""How a recorded session appends an input's events to its log: one write, or none at all.

Split from ``recorded.py`` (a mixin of ``RecordedSession``, using the attributes its ``__init__``
sets: ``_writer``, ``recent``, ``checkpoints``, ``listeners`` ...). An append is what makes an input
acknowledged, so it lives apart from evaluation: every path that records something ends here, and
a failed write leaves no trace (``_forget_batch``).
"""

from __future__ import annotations

from typing import Any, Generator

from omega_core.errors import OmegaError
from omega_core.eval_steps import PAUSE, Step
from omega_core.session.log import encode_events
from omega_core.session.replay import Replayer

RECENT_EVENTS = 2000
"""Events (and request ids) of the log's end kept in memory: a resend is answered from them."""
ENCODE_PIECE_EVENTS = 64
"""Events of an input encoded for the log between two pauses (about a millisecond)."""


class LogAppending:
    """The log side of ``RecordedSession`` (see the module docstring)."""

    def _encode_in_pieces(self, batch: list[dict[str, Any]]) -> Generator[Step, Any, list[bytes] | None]:
        """The log lines of a big input's events, ``ENCODE_PIECE_EVENTS`` at a time with pauses
        between (an input of 100 defines has 200 events: encoding them at once held the loop
        3-4 ms after its last form); None for a small one (``_append`` encodes it)."""
        if len(batch) <= ENCODE_PIECE_EVENTS:
            return None
        lines: list[bytes] = []
        for start in range(0, len(batch), ENCODE_PIECE_EVENTS):
            yield PAUSE
            lines += encode_events(batch[start:start + ENCODE_PIECE_EVENTS], batch[start]["seq"], self.name)
        return lines

    def _append(self, batch: list[dict[str, Any]], lines: list[bytes] | None = None) -> None:
        if not batch:
            return
        if self.closed:
            raise OmegaError(f"session '{self.name}' was closed (unloaded); nothing was recorded")
        self.require_intact()
        if self._writer is None:
            try:
                self._take_log_back()
            except BaseException:
                self._forget_batch(batch)
                raise
        assert self._writer is not None
        first_seq = batch[0]["seq"]
        if self._writer.next_seq != first_seq:  # pragma: no cover - a bug, never user input
            raise RuntimeError(f"log at seq {self._writer.next_seq}, batch starts at {first_seq}")
        try:
            offsets = self._writer.append(batch, lines)
        except BaseException:
            self._forget_batch(batch)
            raise
        self.bytes_written += self._writer.size - offsets[0]
        for event, offset in zip(batch, offsets):
            self.recent.append(event)
            if "rid" in event:
                self.recent_rids[event["rid"]] = event["seq"]
                if self.request_logged is not None:
                    self.request_logged(event["rid"], offset)
                if len(self.recent_rids) > RECENT_EVENTS:
                    self.recent_rids.pop(next(iter(self.recent_rids)))
            if event.get("type") == "checkpoint":
                self.checkpoints.append(
                    {"seq": event["seq"], "byteOffset": offset, "stateId": event["stateId"], "reason": event["reason"],
                     **({"jumpTo": event["jumpTo"]} if "jumpTo" in event else {})}
                )
        self.dirty = True
        for listener in list(self.listeners):
            listener(batch)

    def _forget_batch(self, batch: list[dict[str, Any]]) -> None:
        """A failed write: the input is not recorded, so it must leave no trace: forget what it
        captured and the seqs it took, and put the machine back as the log says it is."""
        for event in batch:
            if event.get("type") == "checkpoint":
                self.states.discard(event["stateId"])
        self.next_seq = batch[0]["seq"]
        try:
            machine, _ = Replayer(self).state_at(self.next_seq - 1)
        except OmegaError as problem:  # pragma: no cover - the log itself is unreadable
            self.warnings.append(f"could not restore the state after a failed write: {problem.message}")
            return
        self._install(machine)
