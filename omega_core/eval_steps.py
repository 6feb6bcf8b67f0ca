"""How an evaluator's cooperative generators talk to their host: what they yield (a pause, an
effect to perform, a slice to run, a form's result) and ``drive``, the host that runs one to its
end in the calling thread (batch, line mode, replays; the server's is ``Backend.run_cooperative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator

from omega_core.effects import EffectOutcome
from omega_core.errors import OmegaError
from omega_core.lang.machine import Status


@dataclass(frozen=True)
class FormResult:
    """What one top-level form did: its printed value or its error, and its ``display`` output."""

    source: str
    line: int
    value: str | None
    output: str
    error: str | None
    error_code: str | None
    steps: int
    ms: float

    @property
    def ok(self) -> bool:
        return self.error is None

    def transcript(self) -> str:
        """The text a REPL prints for this form: output, then ``=> value`` or ``error: ...``."""
        text = self.output
        if text and not text.endswith("\n"):
            text += "\n"
        if self.error is not None:
            return text + f"error: {self.error}"
        return text + f"=> {self.value}"


@dataclass(frozen=True)
class Pause:
    """Yielded by the cooperative drivers at each slice boundary: a host may serve others now."""


@dataclass(frozen=True)
class EffectCall:
    """Yielded when the machine needs a host effect; send back an ``EffectOutcome`` or throw an
    ``OmegaError`` into the generator. (A server performs it off its event loop.)"""

    op: str
    args: list[Any]


@dataclass(frozen=True)
class RunSlice:
    """Yielded instead of running the next slice when the host runs slices elsewhere
    (``Evaluator.slices_to_host``: the server's machine thread, ``server.machine_thread``): the
    host calls ``run()`` where it likes and sends back its ``Status``, or throws its exception
    into the generator (raised where the slice would have run)."""

    run: Callable[[], Status]
    meter: Any = None
    """The slice's memory meter (``budgets.MemoryMeter``), or None when it is not measured: a host
    that pauses the slice midway (a long step's turn) stops and restarts it around the pause."""


PAUSE = Pause()

Step = Pause | EffectCall | FormResult | RunSlice


def drive(steps: Generator[Step, Any, Any], perform: Callable[[str, list[Any]], EffectOutcome]) -> Iterator[FormResult]:
    """Run a cooperative generator to its end synchronously, performing effects in this thread."""
    to_send: Any = None
    to_throw: Exception | None = None
    while True:
        try:
            item = steps.throw(to_throw) if to_throw is not None else steps.send(to_send)
        except StopIteration:
            return
        to_send = to_throw = None
        if isinstance(item, EffectCall):
            try:
                to_send = perform(item.op, item.args)
            except OmegaError as error:
                to_throw = error
        elif isinstance(item, FormResult):
            yield item
        elif isinstance(item, RunSlice):  # an evaluator set to hand its slices out, driven here
            try:
                to_send = item.run()
            except Exception as problem:
                to_throw = problem
