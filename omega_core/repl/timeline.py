"""What the debugger remembers about one debugged evaluation, so that any step can be revisited.

An evaluation is deterministic given its starting state and the answers the host gave to its
effects. So the timeline keeps: serialized checkpoints every ``every`` steps (``dump_state`` data,
JSON-able), the answer of every host effect by the step at which the machine asked for it, and a
bounded ring of per-step trace entries. Going to step S = loading the nearest checkpoint <= S and
re-running to S, answering effects from the record: the host (the oracle) is never asked twice.

Memory and time stay bounded: when there are more than ``max_checkpoints`` checkpoints, or they hold
more than ``max_records`` heap records in all (big data in the globals makes every checkpoint big),
every other one is dropped and the interval doubles (a re-run then costs at most twice as many
steps). The interval also doubles while one dump costs more than a quarter of the time the steps
between two checkpoints take, so a huge global does not make stepping crawl.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator

from omega_core.lang.machine import Status
from omega_core.lang.printer import write_string
from omega_core.lang.serialize import dump_state
from omega_core.repl.views import DepthCounter, control_text, node_text, value_text

_IDENTS = itertools.count(1)
_STEP_SECONDS = 3e-6
"""About what one recorded debugger step costs; only used to weigh the cost of a dump against."""
_DUMP_SHARE = 0.25


@dataclass(frozen=True)
class EffectAnswer:
    """How the host answered the effect the machine raised at ``step`` (a value or an error)."""

    step: int
    op: str
    key: str
    value: Any = None
    error: str | None = None


def effect_key(op: str, args: list[Any]) -> str:
    """Identifies a request, to notice a re-run that asks something else (a diverged timeline)."""
    text = op + "\0" + "\0".join(write_string(arg) for arg in args)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


TraceEntry = tuple[int, int, Any, Any, "str | None"]
"""(step, depth, node or None, value, detail): text is made only when the trace is shown, because
an entry is recorded after every step and most are never looked at."""


def entry_text(entry: TraceEntry, limit: int = 60) -> str:
    _step, _depth, node, value, detail = entry
    if detail is not None:
        return detail
    if node is not None:
        return node_text(node, limit)
    return "value " + value_text(value, limit)


class Timeline:
    def __init__(
        self,
        source: str,
        machine: Any,
        every: int = 1000,
        max_checkpoints: int = 256,
        trace_size: int = 10_000,
        state: dict[str, Any] | None = None,
        ident: int | None = None,
        max_records: int = 2_000_000,
    ) -> None:
        self.ident = ident if ident is not None else next(_IDENTS)
        self.source = source
        self.base = machine.steps
        self.every = max(1, every)
        self.max_checkpoints = max(2, max_checkpoints)
        self.max_records = max_records
        self.checkpoints: dict[int, dict[str, Any]] = {self.base: state if state is not None else dump_state(machine)}
        self.records: dict[int, int] = {self.base: len(self.checkpoints[self.base].get("heap", ()))}
        self.answers: dict[int, EffectAnswer] = {}
        self.trace: deque[TraceEntry] = deque(maxlen=max(1, trace_size))
        self.written: set[str] = set()
        """Globals the evaluation itself defined or set: time travel may have to remove them again."""
        self.depth = DepthCounter()
        self.furthest = self.base - 1
        self.record(machine)

    # --- recording --------------------------------------------------------------------------------

    def record(self, machine: Any) -> None:
        """Called once for each step the first time it is reached (never during re-runs)."""
        step = machine.steps
        self.furthest = step
        detail = None if machine.status is Status.RUNNING else control_text(machine)
        self.trace.append((step, self.depth(machine.k), machine.node, machine.value, detail))
        if step % self.every == 0 and step not in self.checkpoints:
            started = time.perf_counter()
            state = dump_state(machine)
            cost = time.perf_counter() - started
            self.checkpoints[step] = state
            self.records[step] = len(state.get("heap", ()))
            while cost > _DUMP_SHARE * self.every * _STEP_SECONDS:
                self.every *= 2
            while len(self.checkpoints) > 2 and (
                len(self.checkpoints) > self.max_checkpoints or sum(self.records.values()) > self.max_records
            ):
                self._thin()

    def _thin(self) -> None:
        self.every *= 2
        keep = [step for step in self.checkpoints if step == self.base or step % self.every == 0]
        if len(keep) == len(self.checkpoints):  # all on the new grid: drop the oldest but the base
            keep.remove(min(step for step in keep if step != self.base))
        self.checkpoints = {step: self.checkpoints[step] for step in keep}
        self.records = {step: self.records[step] for step in keep}

    def truncate(self, step: int) -> None:
        """The evaluation went another way at ``step`` (globals changed under it): forget the
        recorded future, which no longer describes what the machine will do."""
        self.furthest = min(self.furthest, step)
        self.checkpoints = {s: state for s, state in self.checkpoints.items() if s <= step}
        self.records = {s: count for s, count in self.records.items() if s <= step}
        self.answers = {s: answer for s, answer in self.answers.items() if s < step}
        while self.trace and self.trace[-1][0] > step:
            self.trace.pop()

    # --- looking back -------------------------------------------------------------------------------

    def nearest_checkpoint(self, step: int) -> int:
        return max(s for s in self.checkpoints if s <= step)

    @property
    def first_traced(self) -> int:
        return self.trace[0][0] if self.trace else self.base

    def entries(self, start: int, count: int) -> Iterator[TraceEntry]:
        """Recorded entries for steps ``start`` .. ``start + count - 1`` (steps are contiguous)."""
        first = self.first_traced
        offset = max(0, start - first)
        for index in range(offset, min(offset + count, len(self.trace))):
            yield self.trace[index]
