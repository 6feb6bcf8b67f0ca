"""Compiled code: one class per kind of expression, each knowing how to take its own step.

``ev(m)`` takes one machine step for the node held in ``m.node`` (environment in ``m.env``): it
either produces a value (``m.value``, ``m.node = None``) or moves control to a sub-expression,
pushing a frame when the sub-expression is not in tail position. ``val(m, env)`` evaluates a node
*inline* when that needs no steps and has no side effect beyond the result (constants, variable
references, lambdas, and calls of primitives on such operands) and otherwise returns ``NOT_INLINE``.
Inlining keeps the step count, and so the run time, low without ever recursing in Python.
For ``Call`` and ``If``, the most frequent steps, ``ev``/``val`` are per-node functions held in
slots (``node_steps``): code generated for the node's shape (``fastcall.py``) that takes exactly
the same steps.

Nodes belong to a compilation ``Unit`` and know their index in it, so a serialized state can name
any node as (unit id, index) and get it back by recompiling the unit's source datum.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from omega_core.errors import EvalError
from omega_core.lang import fastcall
from omega_core.lang.frames import (
    NOT_INLINE,
    AndOrK,
    ConsStreamK,
    DefineK,
    HandlerK,
    SeqK,
    SetK,
    continue_effect,
    continue_let,
)
from omega_core.lang.node_steps import (
    chains_its_test,
    first_call_ev,
    first_call_resume,
    generic_call_ev,
    generic_call_resume,
    generic_call_val,
    if_ev,
    never_inline,
)
from omega_core.lang.source import SourcePositions
from omega_core.lang.values import (
    UNASSIGNED,
    UNSPECIFIED,
    Closure,
    OracleProc,
    Promise,
    sym,
)


class Unit:
    """The nodes compiled from one top-level datum, in creation order (deterministic)."""

    __slots__ = ("unit_id", "datum", "nodes", "root", "positions", "enclosing")

    def __init__(self, unit_id: str, datum: Any, positions: dict[int, tuple[int, int]] | None = None) -> None:
        self.unit_id = unit_id
        self.datum = datum
        self.nodes: list[Node] = []
        self.root: Node | None = None
        self.positions = positions or {}
        """Where forms were read (by ``id`` of the form): only for error messages, not saved.
        A ``SourcePositions`` also has the text of each form, for quoting code as it was written."""
        self.enclosing: dict[int, Any] = {}
        """For a variable node (by index): the nearest read list around it. A name is a shared
        object with no place of its own, so an error in it points at the list it was read in."""


class Node:
    __slots__ = ("unit", "idx", "form")
    pure = False
    fuse_entry = False
    """A call entering a closure whose body is this node may take its step too (``fused.py``)."""
    fuse_operand = False
    """A call waiting for this node as an operand may take its step too (``fused.py``)."""
    fuse_value = False
    """A call entering a closure whose body is this node may take its step too by asking its
    ``val`` (``fused.value_lines``): a call of a primitive on inline operands gives its value in
    that one step, whichever closure was entered (the written-in entry of ``fastcall_entry``
    knows only the lambda the call saw first; a ``map`` is given many)."""

    def __init__(self, unit: Unit, form: Any) -> None:
        self.unit = unit
        self.idx = len(unit.nodes)
        self.form = form
        unit.nodes.append(self)

    def val(self, m: Any, env: Any) -> Any:
        return NOT_INLINE

    def ev(self, m: Any) -> None:  # pragma: no cover - every node overrides it
        raise NotImplementedError

    def source_form(self) -> Any:
        """The form messages point at: this node's own, or for a variable, the list around it."""
        form = self.form
        if id(form) not in self.unit.positions:
            return self.unit.enclosing.get(self.idx, form)
        return form

    def position(self) -> tuple[int, int] | None:
        """(line, column) of this node's source when it was read from text in this process."""
        return self.unit.positions.get(id(self.source_form()))

    def text(self, limit: int = 60) -> str:
        """This node's source as written (printed, when not read from text), cut to ``limit``."""
        form = self.source_form()
        positions = self.unit.positions
        text = positions.written(form, limit) if type(positions) is SourcePositions else None
        if text is None:
            from omega_core.lang.printer import write_string

            text = write_string(form)
        return text if len(text) <= limit else text[: limit - 3] + "..."


class Const(Node):
    __slots__ = ("value",)
    pure = True

    def __init__(self, unit: Unit, form: Any, value: Any) -> None:
        super().__init__(unit, form)
        self.value = value

    def val(self, m: Any, env: Any) -> Any:
        return self.value

    def ev(self, m: Any) -> None:
        m.value = self.value
        m.node = None


class LocalRef(Node):
    """A variable bound by a lambda/let frame, found ``depth`` frames out at slot ``index``."""

    __slots__ = ("depth", "index", "name")
    pure = True

    def __init__(self, unit: Unit, form: Any, depth: int, index: int, name: str) -> None:
        super().__init__(unit, form)
        self.depth = depth
        self.index = index
        self.name = name

    def val(self, m: Any, env: Any) -> Any:
        for _ in range(self.depth):
            env = env[0]
        value = env[self.index]
        if value is UNASSIGNED:
            raise EvalError(f"{self.name}: used before its definition")
        return value

    def ev(self, m: Any) -> None:
        m.value = self.val(m, m.env)
        m.node = None


class LocalRef0(LocalRef):
    """The common case of a variable in the innermost frame, without the loop."""

    __slots__ = ()

    def val(self, m: Any, env: Any) -> Any:
        value = env[self.index]
        if value is UNASSIGNED:
            raise EvalError(f"{self.name}: used before its definition")
        return value

    def ev(self, m: Any) -> None:  # ``val`` written in: returning a variable is a frequent step
        value = m.env[self.index]
        if value is UNASSIGNED:
            raise EvalError(f"{self.name}: used before its definition")
        m.value = value
        m.node = None


class LocalRef1(LocalRef):
    __slots__ = ()

    def val(self, m: Any, env: Any) -> Any:
        value = env[0][self.index]
        if value is UNASSIGNED:
            raise EvalError(f"{self.name}: used before its definition")
        return value


class GlobalRef(Node):
    __slots__ = ("name",)
    pure = True

    def __init__(self, unit: Unit, form: Any, name: str) -> None:
        super().__init__(unit, form)
        self.name = name

    def val(self, m: Any, env: Any) -> Any:
        try:
            return m.globals[self.name]
        except KeyError:
            raise EvalError(f"unbound variable: {self.name}") from None

    def ev(self, m: Any) -> None:
        m.value = self.val(m, m.env)
        m.node = None


class Lambda(Node):
    """``lambda``: ``nparams`` fixed parameters, an optional rest parameter, and ``extra_slots``
    (UNASSIGNED placeholders) for the body's internal defines."""

    __slots__ = ("params", "rest", "nparams", "extra_slots", "body", "name", "fixed_arity")
    pure = True

    def __init__(self, unit: Unit, form: Any, params: tuple[str, ...], rest: str | None, name: str | None) -> None:
        super().__init__(unit, form)
        self.params = params
        self.rest = rest
        self.nparams = len(params)
        self.fixed_arity = self.nparams if rest is None else -1
        """The number of arguments a call must pass, -1 with a rest parameter: one test in calls."""
        self.extra_slots: tuple[Any, ...] = ()
        self.body: Node | None = None
        self.name = name

    def val(self, m: Any, env: Any) -> Any:
        return Closure(self, env)

    def ev(self, m: Any) -> None:
        m.value = Closure(self, m.env)
        m.node = None


class If(Node):
    """``ev`` is a per-node function (a slot) with the branches in its closure: one of the two
    most frequent steps, it then reads no attribute of the node."""

    __slots__ = ("test", "then", "otherwise", "ev", "fuse_entry")

    def __init__(self, unit: Unit, form: Any, test: Node, then: Node, otherwise: Node) -> None:
        super().__init__(unit, form)
        self.test = test
        self.then = then
        self.otherwise = otherwise
        self.ev = if_ev(self, test, then, otherwise)
        self.fuse_entry = not chains_its_test(test)
        """A call entering a closure whose body is this ``if`` may take its step too, unless the
        ``if`` chains its test's steps (``node_steps.if_ev``): a chain must not grow past ``FUSE_MAX_STEPS``."""


class Seq(Node):
    """A body: every expression in order; the last is in tail position."""

    __slots__ = ("body",)

    def __init__(self, unit: Unit, form: Any, body: tuple[Node, ...]) -> None:
        super().__init__(unit, form)
        self.body = body

    def ev(self, m: Any) -> None:
        body = self.body
        env = m.env
        last = len(body) - 1
        index = 0
        while index < last:
            if body[index].val(m, env) is NOT_INLINE:
                m.k = SeqK(m.k, self, env, index + 1)
                m.node = body[index]
                return
            index += 1
        m.node = body[last]


class Call(Node):
    """A procedure call. ``val`` and ``ev`` are per-node functions (slots, not methods): the
    generic ones below, or code specialised for the call's shape (``fastcall.py``), which behaves
    identically and falls back to the generic code for anything unusual."""

    __slots__ = ("fn", "args", "inline_ok", "val", "ev", "resume", "fn_kind", "kinds", "data", "fuse_operand",
                 "fuse_value")

    def __init__(self, unit: Unit, form: Any, fn: Node, args: tuple[Node, ...]) -> None:
        super().__init__(unit, form)
        self.fn = fn
        self.args = args
        self.inline_ok = fn.pure and all(arg.pure for arg in args)
        fn_kind = fastcall.operand_kind(fn)
        eligible = fn_kind in fastcall.OPERATOR_KINDS and len(args) <= fastcall.MAX_FAST_OPERANDS
        self.fn_kind = fn_kind if eligible else None
        self.kinds = tuple(fastcall.operand_kind(arg) for arg in args)
        self.fuse_operand = eligible and "N" not in self.kinds  # its own step chains no operand
        self.fuse_value = self.inline_ok  # a primitive's value at once, or NOT_INLINE (``Node.fuse_value``)
        self.data = (fastcall.operand_datum(fn, fn_kind),) + tuple(
            fastcall.operand_datum(arg, kind) for arg, kind in zip(args, self.kinds)
        )
        self.val = MethodType(generic_call_val, self) if self.inline_ok else never_inline
        # Specialised on first use: most calls compiled (the prelude's) never run in a process,
        # and generating a shape's code costs about a millisecond the first time.
        self.ev = MethodType(first_call_ev, self) if eligible else MethodType(generic_call_ev, self)
        self.resume = first_call_resume if 0 < len(args) <= fastcall.MAX_FAST_OPERANDS else generic_call_resume


class AndOr(Node):
    """``and`` / ``or`` with two or more operands (fewer are compiled to constants or the operand)."""

    __slots__ = ("parts", "is_and")

    def __init__(self, unit: Unit, form: Any, parts: tuple[Node, ...], is_and: bool) -> None:
        super().__init__(unit, form)
        self.parts = parts
        self.is_and = is_and

    def ev(self, m: Any) -> None:
        env = m.env
        parts = self.parts
        last = len(parts) - 1
        index = 0
        while index < last:
            value = parts[index].val(m, env)
            if value is NOT_INLINE:
                m.k = AndOrK(m.k, self, env, index)
                m.node = parts[index]
                return
            if (value is not False) != self.is_and:
                m.value = value
                m.node = None
                return
            index += 1
        m.node = parts[last]


class DefineGlobal(Node):
    __slots__ = ("name", "value")

    def __init__(self, unit: Unit, form: Any, name: str, value: Node) -> None:
        super().__init__(unit, form)
        self.name = name
        self.value = value

    def ev(self, m: Any) -> None:
        value = self.value.val(m, m.env)
        if value is NOT_INLINE:
            m.k = DefineK(m.k, self)
            m.node = self.value
            return
        m.define_global(self.name, value)
        m.value = sym(self.name)
        m.node = None


class SetVar(Node):
    """``set!`` of a local or global, and internal ``define`` (a set of a pre-allocated slot)."""

    __slots__ = ("name", "depth", "index", "value", "is_define")

    def __init__(
        self, unit: Unit, form: Any, name: str, depth: int, index: int, value: Node, is_define: bool
    ) -> None:
        super().__init__(unit, form)
        self.name = name
        self.depth = depth  # -1 for a global
        self.index = index
        self.value = value
        self.is_define = is_define

    def assign(self, m: Any, env: Any, value: Any) -> None:
        if self.depth < 0:
            if self.name not in m.globals:
                raise EvalError(f"set!: unbound variable {self.name} (define it first)")
            m.define_global(self.name, value)
            return
        for _ in range(self.depth):
            env = env[0]
        if not self.is_define and env[self.index] is UNASSIGNED:
            raise EvalError(f"set!: {self.name} used before its definition")
        env[self.index] = value
        m.globals.dirty_objects[id(env)] = env  # write barrier for incremental state capture

    def ev(self, m: Any) -> None:
        value = self.value.val(m, m.env)
        if value is NOT_INLINE:
            m.k = SetK(m.k, self, m.env)
            m.node = self.value
            return
        self.assign(m, m.env, value)
        m.value = UNSPECIFIED
        m.node = None


class Let(Node):
    """``let`` (and bodies with internal defines): inits in the outer frame, body in a new one."""

    __slots__ = ("inits", "extra_slots", "body")

    def __init__(self, unit: Unit, form: Any, inits: tuple[Node, ...]) -> None:
        super().__init__(unit, form)
        self.inits = inits
        self.extra_slots: tuple[Any, ...] = ()
        self.body: Node | None = None

    def ev(self, m: Any) -> None:
        continue_let(m, self, m.env, [], 0)


class Delay(Node):
    __slots__ = ("body",)
    pure = True

    def __init__(self, unit: Unit, form: Any, body: Node) -> None:
        super().__init__(unit, form)
        self.body = body

    def val(self, m: Any, env: Any) -> Any:
        return Promise(node=self.body, env=env)

    def ev(self, m: Any) -> None:
        m.value = Promise(node=self.body, env=m.env)
        m.node = None


class ConsStream(Node):
    __slots__ = ("head", "tail")

    def __init__(self, unit: Unit, form: Any, head: Node, tail: Node) -> None:
        super().__init__(unit, form)
        self.head = head
        self.tail = tail

    def ev(self, m: Any) -> None:
        m.k = ConsStreamK(m.k, self, m.env)
        m.node = self.head


class Amb(Node):
    __slots__ = ("alternatives",)

    def __init__(self, unit: Unit, form: Any, alternatives: tuple[Node, ...]) -> None:
        super().__init__(unit, form)
        self.alternatives = alternatives

    def ev(self, m: Any) -> None:
        m.choose(self, 0, m.env)


class Effect(Node):
    """``(effect OP ARG ...)``: OP is a symbol, not evaluated; the arguments are."""

    __slots__ = ("op", "args")

    def __init__(self, unit: Unit, form: Any, op: str, args: tuple[Node, ...]) -> None:
        super().__init__(unit, form)
        self.op = op
        self.args = args

    def ev(self, m: Any) -> None:
        continue_effect(m, self, m.env, [], 0)


class Handle(Node):
    """``(handle BODY (on OP (PARAM ... K) HANDLER-BODY ...) ...)``: clauses are lambdas."""

    __slots__ = ("body", "clauses")

    def __init__(self, unit: Unit, form: Any) -> None:
        super().__init__(unit, form)
        self.body: Node | None = None
        self.clauses: dict[str, Lambda] = {}

    def ev(self, m: Any) -> None:
        m.k = HandlerK(m.k, self, m.env)
        m.node = self.body


class OracleLambda(Node):
    """``(oracle-lambda (PARAM ...) BODY ...)``: calling it evaluates BODY to a prompt and asks."""

    __slots__ = ("lam",)
    pure = True

    def __init__(self, unit: Unit, form: Any, lam: Lambda) -> None:
        super().__init__(unit, form)
        self.lam = lam

    def val(self, m: Any, env: Any) -> Any:
        return OracleProc(self.lam, env)

    def ev(self, m: Any) -> None:
        m.value = OracleProc(self.lam, m.env)
        m.node = None


NODE_TYPES = (Const, LocalRef, LocalRef0, LocalRef1, GlobalRef, Lambda, If, Seq, Call, AndOr,
              DefineGlobal, SetVar, Let, Delay, ConsStream, Amb, Effect, Handle, OracleLambda)
