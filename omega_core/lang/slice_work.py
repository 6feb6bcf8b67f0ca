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


class SliceWork:
    """Counters of the current slice (reset by ``Machine.run``) and the code generation limit."""

    __slots__ = ("heavy_bytes", "codegen_s", "codegen_limit_s")

    def __init__(self) -> None:
        self.heavy_bytes = 0
        """Bytes of the big objects primitives built in this slice (``Machine.reserve``)."""
        self.codegen_s = 0.0
        """Seconds this slice spent making code for nodes run the first time (``codegen_budget``)."""
        self.codegen_limit_s = math.inf
        """Past this much code generation the slice ends early; infinite unless the host runs the
        machine in slices that may end early (the evaluator sets ``CODEGEN_SLICE_S``)."""

    def start(self) -> None:
        self.heavy_bytes = 0
        self.codegen_s = 0.0
