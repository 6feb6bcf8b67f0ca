"""What the running slice did that may end it before its last step (``Machine.slice_break``).

Two kinds of work end a slice early, each after the step that did it: big objects built by
primitives (``Machine.reserve``, past ``budgets.SLICE_HEAVY_BYTES``) and code made for nodes run
the first time (``codegen_budget``, past the limit the evaluator sets). One small object on the
machine rather than three attributes: the machine's attribute lookups are on the hot path, and
CPython 3.11 keeps an instance's attributes in its fast shared-key layout only up to 30 of them
(three more attributes here cost 3.4% of the instructions per element of a list program).
"""

from __future__ import annotations

import math
from typing import Any

from omega_core.lang.release import release_in_background


class SliceWork:
    """Counters of the current slice (reset by ``Machine.run``) and the code generation limit."""

    __slots__ = ("heavy_bytes", "codegen_s", "codegen_limit_s", "built")

    def __init__(self) -> None:
        self.heavy_bytes = 0
        """Bytes of the big objects primitives built in this slice (``Machine.reserve``)."""
        self.codegen_s = 0.0
        """Seconds this slice spent making code for nodes run the first time (``codegen_budget``)."""
        self.codegen_limit_s = math.inf
        """Past this much code generation the slice ends early; infinite unless the host runs the
        machine in slices that may end early (the evaluator sets ``CODEGEN_SLICE_S``)."""
        self.built: list[object] = []
        """Lists of at least ``BUILT_HELD_PAIRS`` pairs primitives built in this slice, held until
        it ends (``keep_built``); then the ones nobody else holds are freed in pieces."""

    def start(self) -> None:
        self.heavy_bytes = 0
        self.codegen_s = 0.0


BUILT_HELD_PAIRS = 65_536
"""A list a primitive builds from this many pairs on is held to the end of its slice
(``keep_built``)."""


def keep_built(machine: Any, value: Any, pairs: int) -> None:
    """Hold ``value``, a list of ``pairs`` pairs a primitive just built, until the slice ends
    (``release_built``). Why: such a list is often a temporary (``(length (string-split s ""))``)
    that dies inside the step that used it, freed by one C-level cascade of about 35 ns per pair
    (150 ms for 4 million) during which nobody else gets the GIL. Held here, it outlives the
    step; at the slice's end, if nothing else holds it, the release thread frees it in pieces."""
    if pairs >= BUILT_HELD_PAIRS:
        machine.slice_work.built.append(value)


def release_built(machine: Any) -> None:
    """At a slice's end: free, off this thread and in pieces, the lists ``keep_built`` held that
    nothing else holds now (``release.release_in_background`` leaves the others alone)."""
    built = machine.slice_work.built
    if built:
        release_in_background(built)  # empties the list
