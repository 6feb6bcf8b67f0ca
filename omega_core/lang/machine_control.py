"""The machine's control operators: the machine-level primitives (``apply``, ``call/cc``,
``force``, ``eval``, ``require``, ``%reverse-onto``), ``amb``'s choice points and effects (a
program's handlers, or a stop for the host). ``Machine`` mixes them in.

Why apart from ``machine``: each of these rewires the registers in its own way (a new
continuation, a choice point, a handler's frame), while ``machine`` is the step loop and its
bookkeeping; a reader of one rarely needs the other. Both share ``Status`` and ``Suspend``,
defined here.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

from omega_core.errors import EvalError
from omega_core.lang import frames as fr
from omega_core.lang.list_copy import ReverseInProgress, copy_piece
from omega_core.lang.nodes import Amb, Unit
from omega_core.lang.values import NIL, Continuation, Pair, Promise, is_true, list_to_python

HOST_OPS = frozenset({"infer.op", "search.op", "shell.op", "file.read.op", "file.write.op"})
"""Effects the host performs when no ``handle`` in the program catches them."""


class Status(enum.Enum):
    RUNNING = "running"
    DONE = "done"
    EFFECT = "effect"
    ERROR = "error"


class Suspend(Exception):
    """Leaves the step loop at once when the machine stops for a host effect, or between two
    pieces of a step (``list_copy``)."""


class MachineControl:
    """The control operators of ``Machine`` (a mixin: these are its registers and fields)."""

    node: Any
    env: Any
    value: Any
    k: Any
    choices: Any
    status: Status
    effect_op: str | None
    effect_args: list[Any]
    fused_steps: int

    apply: Callable[[Any, list[Any]], None]
    """``Machine.apply``."""
    compile: Callable[..., Unit]
    """``Machine.compile``."""

    # --- machine-level primitives (see builtins.MACHINE_PRIMITIVES) ----------------------------

    def op_apply(self, args: list[Any]) -> None:
        f = args[0]
        spread = list(args[1:-1]) + list_to_python(args[-1], "apply") if len(args) > 1 else []
        self.apply(f, spread)

    def op_callcc(self, args: list[Any]) -> None:
        self.apply(args[0], [Continuation(self.k)])

    def op_force(self, args: list[Any]) -> None:
        promise = args[0]
        if type(promise) is not Promise:
            self.value = promise
            self.node = None
        elif promise.forced:
            self.value = promise.value
            self.node = None
        else:
            self.k = fr.ForceK(self.k, promise)
            if promise.thunk is not None:
                self.apply(promise.thunk, [])
            else:
                self.node = promise.node
                self.env = promise.env

    def op_eval(self, args: list[Any]) -> None:
        unit = self.compile(args[0])
        self.node = unit.root
        self.env = None

    def op_require(self, args: list[Any]) -> None:
        if is_true(args[0]):
            self.value = True
            self.node = None
        else:
            self.fail()

    def op_reverse_onto(self, args: list[Any]) -> None:
        """``(%reverse-onto WHO ORIGINAL REST ACC)``: move up to ``REVERSE_CHUNK_PAIRS`` elements of
        ``REST`` onto ``ACC`` and return ``(REST' . ACC')`` (``REST'`` is ``()`` when done). The
        prelude's ``reverse`` and ``append`` loop over it, so copying a long list is many short
        steps, each chunk ending the slice: the host then serves other sessions, measures memory
        and can stop the command between chunks; the host gets turns inside a step too, between
        its pieces (``list_copy``). ``ORIGINAL`` is only for the error message."""
        who, original, current, acc = args
        self.reverse_piece(who, original, current, acc, 0)

    @property
    def inside_step(self) -> bool:
        """The last slice ended between two pieces of one step (``list_copy``): no step boundary."""
        return type(self.node) is ReverseInProgress

    def reverse_piece(self, who: Any, original: Any, current: Any, acc: Any, copied: int) -> None:
        """The next piece of a ``%reverse-onto`` step. A piece that leaves the step unfinished
        gives its dispatch's step back (the step is counted once, by the dispatch that ends it)."""
        if copy_piece(self, who, original, current, acc, copied):
            if type(self.node) is ReverseInProgress:
                self.fused_steps -= 1  # summed with the dispatches when the slice ends
            raise Suspend()

    # --- amb ----------------------------------------------------------------------------------

    def choose(self, node: Amb, index: int, env: Any) -> None:
        alternatives = node.alternatives
        if not alternatives:
            self.fail()
            return
        if index + 1 < len(alternatives):
            self.choices = fr.ChoicePoint(node, index + 1, env, self.k, None, self.choices)
        self.node = alternatives[index]
        self.env = env

    def choose_value(self, values: tuple[Any, ...], index: int) -> None:
        if not values:
            self.fail()
            return
        if index + 1 < len(values):
            self.choices = fr.ChoicePoint(None, index + 1, None, self.k, values, self.choices)
        self.value = values[index]
        self.node = None

    def fail(self) -> None:
        """Backtrack to the most recent choice point (depth-first, chronological)."""
        point = self.choices
        if point is None:
            raise EvalError("amb: no more choices")
        self.choices = point.next
        self.k = point.k
        if point.node is not None:
            self.choose(point.node, point.index, point.env)
        else:
            self.choose_value(point.choices, point.index)

    # --- effects ------------------------------------------------------------------------------

    def perform(self, op: str, args: list[Any]) -> None:
        if op == "amb.fail":
            self.fail()
            return
        if op == "amb.choose":
            single_list = len(args) == 1 and (args[0] is NIL or type(args[0]) is Pair)
            values = list_to_python(args[0], "amb.choose") if single_list else list(args)
            self.choose_value(tuple(values), 0)
            return
        segment: list[Any] = []
        frame = self.k
        while frame is not None:
            segment.append(frame)
            if type(frame) is fr.HandlerK:
                clause = frame.node.clauses.get(op)
                if clause is not None:
                    self._run_handler(frame, clause, segment, args, op)
                    return
            frame = frame.next
        if op in HOST_OPS:
            self.status = Status.EFFECT
            self.effect_op = op
            self.effect_args = list(args)
            raise Suspend()
        raise EvalError(
            f"unhandled effect {op}: no handler for it is installed (wrap the code in "
            f"(handle ... (on {op} (ARG ... k) ...))) and the host does not perform it"
        )

    def _run_handler(self, handler: Any, clause: Any, segment: list[Any], args: list[Any], op: str) -> None:
        expected = clause.nparams - 1
        if len(args) != expected:
            raise EvalError(f"handler for {op}: expects {expected} argument(s) besides k, the effect passed {len(args)}")
        resumption = Continuation(tuple(segment), delimited=True)
        frame = [handler.env]
        frame.extend(args)
        frame.append(resumption)
        if clause.extra_slots:
            frame.extend(clause.extra_slots)
        self.k = handler.next
        self.env = frame
        self.node = clause.body
