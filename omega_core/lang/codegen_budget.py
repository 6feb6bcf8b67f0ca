"""How much code generation one slice may do before it ends (a slice boundary, nothing else).

The first time a node runs, its specialised Python code is written and compiled (``fastcall``,
``fused``, ``fused_test``: about a millisecond per new shape, cached for the process after that).
A command that is the first in its backend to use some code (the prelude's ``append``, a user's new
functions) compiled 20-30 shapes in its first slice: 24-38 ms of one slice, while every other
client of the backend waited (found by ``bench/isolation.py``: the longest loop stall of the list
doubling case, at its start). Each first run charges its time here; past ``CODEGEN_SLICE_S`` in one
slice, the slice ends after the current step (``Machine.slice_break``), and the next shapes are
made in the next slices. Only where slices end changes: the generated code takes exactly the
steps the generic code takes.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

CODEGEN_SLICE_S = 0.002
"""Code generation (seconds) after which a slice ends at the next step boundary."""


@contextlib.contextmanager
def charged(machine: Any) -> Iterator[None]:
    """Around a node's first run making its code (not around the step it then takes): its time
    counts against the machine's ``slice_work.codegen_limit_s``, infinite unless its host runs it
    in slices that may end early (``Evaluator`` sets ``CODEGEN_SLICE_S``), so a bare
    ``Machine.run(n)`` takes its n steps whatever the clock says."""
    started = time.perf_counter()
    yield
    charge(machine, started)


def charge(machine: Any, started: float) -> None:
    """Code made since ``started`` (``time.perf_counter``) counts against the machine's limit."""
    work = machine.slice_work
    work.codegen_s += time.perf_counter() - started
    if work.codegen_s > work.codegen_limit_s:
        machine.slice_break = True
