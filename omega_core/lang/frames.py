"""Continuation frames: what the machine does with a value once a sub-expression returns one.

The continuation is a linked chain of immutable frames (``next`` points outward). Immutability makes
capturing a continuation O(1) (``call/cc``, ``amb`` choice points and effect resumptions just keep a
pointer), and it lets two captured continuations share their tails safely. Each frame lists its data
fields in ``FIELDS`` so the serializer can save and restore any frame generically.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang.values import UNSPECIFIED, Closure, Pair, Primitive, Promise, is_true, sym

NOT_INLINE: Any = object()
"""Returned by ``Node.val`` when a node cannot be evaluated without taking machine steps."""


class Frame:
    __slots__ = ("next",)
    FIELDS: tuple[str, ...] = ()

    def ret(self, m: Any, value: Any) -> None:  # pragma: no cover - every frame overrides it
        raise NotImplementedError

    def relink(self, next_frame: "Frame | None") -> "Frame":
        """A copy of this frame whose continuation is ``next_frame`` (for effect resumptions)."""
        cls = type(self)
        copy = cls.__new__(cls)
        for name in cls.FIELDS:
            setattr(copy, name, getattr(self, name))
        copy.next = next_frame
        return copy

    def describe(self) -> str:
        """One line for ``:stack``: what this frame is waiting to do."""
        node = getattr(self, "node", None)
        return f"{type(self).__name__[:-1].lower()} {node.text() if node is not None else ''}"


def continue_call(m: Any, node: Any, env: Any, f: Any, vals: list[Any], index: int) -> None:
    """Evaluate the operands of call ``node`` from ``index`` on, inline where possible, then apply.

    An operand that needs machine steps suspends the call in a ``CallK`` frame; nothing already
    evaluated is evaluated again, so side effects in operands happen exactly once.
    """
    args = node.args
    count = len(args)
    while index < count:
        operand = args[index]
        value = operand.val(m, env)
        if value is NOT_INLINE:
            m.k = CallK(m.k, node, env, index, f, tuple(vals))
            m.node = operand
            m.env = env
            return
        vals.append(value)
        index += 1
    if type(f) is Closure:  # the common case of ``Machine.apply``, without its dispatch
        lam = f.lam
        if lam.fixed_arity == count:
            vals.insert(0, f.env)
            if lam.extra_slots:
                vals.extend(lam.extra_slots)
            m.env = vals  # the argument list becomes the frame: slot 0 the parent, then the values
            m.node = lam.body
            return
    elif type(f) is Primitive and not f.needs_machine and f.min_args <= count:  # likewise
        if f.max_args is None or count <= f.max_args:
            m.value = f.fn(*vals)
            m.node = None
            return
    m.apply(f, vals)


class CallK(Frame):
    """Waiting for operand ``index`` (or the operator, when ``index`` is -1) of a call."""

    __slots__ = ("node", "env", "index", "f", "vals")
    FIELDS = ("node", "env", "index", "f", "vals")

    def __init__(self, next_frame: Any, node: Any, env: Any, index: int, f: Any, vals: tuple) -> None:
        self.next = next_frame
        self.node = node
        self.env = env
        self.index = index
        self.f = f
        self.vals = vals

    def ret(self, m: Any, value: Any) -> None:
        if self.index < 0:
            continue_call(m, self.node, self.env, value, [], 0)
        else:  # the call's own code for its shape (fastcall.py), or the generic one
            self.node.resume(m, self, value)


class EffectK(Frame):
    """Waiting for argument ``index`` of an ``(effect OP ...)`` form."""

    __slots__ = ("node", "env", "index", "vals")
    FIELDS = ("node", "env", "index", "vals")

    def __init__(self, next_frame: Any, node: Any, env: Any, index: int, vals: tuple) -> None:
        self.next = next_frame
        self.node = node
        self.env = env
        self.index = index
        self.vals = vals

    def ret(self, m: Any, value: Any) -> None:
        vals = list(self.vals)
        vals.append(value)
        continue_effect(m, self.node, self.env, vals, self.index + 1)


def continue_effect(m: Any, node: Any, env: Any, vals: list[Any], index: int) -> None:
    args = node.args
    while index < len(args):
        value = args[index].val(m, env)
        if value is NOT_INLINE:
            m.k = EffectK(m.k, node, env, index, tuple(vals))
            m.node = args[index]
            m.env = env
            return
        vals.append(value)
        index += 1
    m.perform(node.op, vals)


class LetK(Frame):
    """Waiting for init ``index`` of a ``let``; the body runs in a new frame once all are in."""

    __slots__ = ("node", "env", "index", "vals")
    FIELDS = ("node", "env", "index", "vals")

    def __init__(self, next_frame: Any, node: Any, env: Any, index: int, vals: tuple) -> None:
        self.next = next_frame
        self.node = node
        self.env = env
        self.index = index
        self.vals = vals

    def ret(self, m: Any, value: Any) -> None:
        vals = list(self.vals)
        vals.append(value)
        continue_let(m, self.node, self.env, vals, self.index + 1)


def continue_let(m: Any, node: Any, env: Any, vals: list[Any], index: int) -> None:
    inits = node.inits
    while index < len(inits):
        value = inits[index].val(m, env)
        if value is NOT_INLINE:
            m.k = LetK(m.k, node, env, index, tuple(vals))
            m.node = inits[index]
            m.env = env
            return
        vals.append(value)
        index += 1
    frame = [env]
    frame.extend(vals)
    if node.extra_slots:
        frame.extend(node.extra_slots)
    m.env = frame
    m.node = node.body


class IfK(Frame):
    __slots__ = ("node", "env")
    FIELDS = ("node", "env")

    def __init__(self, next_frame: Any, node: Any, env: Any) -> None:
        self.next = next_frame
        self.node = node
        self.env = env

    def ret(self, m: Any, value: Any) -> None:
        m.node = self.node.then if value is not False else self.node.otherwise
        m.env = self.env


class SeqK(Frame):
    """Running a body: ``index`` is the next expression to evaluate (the last one is a tail)."""

    __slots__ = ("node", "env", "index")
    FIELDS = ("node", "env", "index")

    def __init__(self, next_frame: Any, node: Any, env: Any, index: int) -> None:
        self.next = next_frame
        self.node = node
        self.env = env
        self.index = index

    def ret(self, m: Any, value: Any) -> None:
        body = self.node.body
        index = self.index
        env = self.env
        last = len(body) - 1
        while index < last:
            if body[index].val(m, env) is NOT_INLINE:
                m.k = SeqK(m.k, self.node, env, index + 1)
                m.node = body[index]
                m.env = env
                return
            index += 1
        m.node = body[last]
        m.env = env


class AndOrK(Frame):
    """Waiting for operand ``index`` of ``and`` / ``or`` (short-circuit)."""

    __slots__ = ("node", "env", "index")
    FIELDS = ("node", "env", "index")

    def __init__(self, next_frame: Any, node: Any, env: Any, index: int) -> None:
        self.next = next_frame
        self.node = node
        self.env = env
        self.index = index

    def ret(self, m: Any, value: Any) -> None:
        node = self.node
        if is_true(value) != node.is_and:
            m.value = value
            m.node = None
            return
        index = self.index + 1
        if index == len(node.parts) - 1:
            m.node = node.parts[index]
            m.env = self.env
        else:
            m.k = AndOrK(m.k, node, self.env, index)
            m.node = node.parts[index]
            m.env = self.env


class DefineK(Frame):
    """Waiting for the value of a top-level ``define``."""

    __slots__ = ("node",)
    FIELDS = ("node",)

    def __init__(self, next_frame: Any, node: Any) -> None:
        self.next = next_frame
        self.node = node

    def ret(self, m: Any, value: Any) -> None:
        m.define_global(self.node.name, value)
        m.value = sym(self.node.name)
        m.node = None


class SetK(Frame):
    """Waiting for the value of a ``set!`` (or an internal ``define``) of a local or global."""

    __slots__ = ("node", "env")
    FIELDS = ("node", "env")

    def __init__(self, next_frame: Any, node: Any, env: Any) -> None:
        self.next = next_frame
        self.node = node
        self.env = env

    def ret(self, m: Any, value: Any) -> None:
        self.node.assign(m, self.env, value)
        m.value = UNSPECIFIED
        m.node = None


class ConsStreamK(Frame):
    __slots__ = ("node", "env")
    FIELDS = ("node", "env")

    def __init__(self, next_frame: Any, node: Any, env: Any) -> None:
        self.next = next_frame
        self.node = node
        self.env = env

    def ret(self, m: Any, value: Any) -> None:
        m.value = Pair(value, Promise(node=self.node.tail, env=self.env))
        m.node = None


class ForceK(Frame):
    """Memoizes a promise's value once its body returns (a promise is forced at most once)."""

    __slots__ = ("promise",)
    FIELDS = ("promise",)

    def __init__(self, next_frame: Any, promise: Promise) -> None:
        self.next = next_frame
        self.promise = promise

    def ret(self, m: Any, value: Any) -> None:
        promise = self.promise
        if not promise.forced:
            promise.forced = True
            promise.value = value
            promise.node = promise.env = promise.thunk = None
            m.mark_dirty(promise)
        m.value = promise.value
        m.node = None


class HandlerK(Frame):
    """Marks an installed ``handle``; effects search the chain for it. A value passes through."""

    __slots__ = ("node", "env")
    FIELDS = ("node", "env")

    def __init__(self, next_frame: Any, node: Any, env: Any) -> None:
        self.next = next_frame
        self.node = node
        self.env = env

    def ret(self, m: Any, value: Any) -> None:
        m.value = value
        m.node = None


class OracleK(Frame):
    """The body of an ``oracle-lambda`` computed its prompt: now ask the oracle with it."""

    __slots__ = ()
    FIELDS = ()

    def __init__(self, next_frame: Any) -> None:
        self.next = next_frame

    def ret(self, m: Any, value: Any) -> None:
        m.perform("infer.op", [value])


class ChoicePoint:
    """A pending ``amb`` alternative: resume at ``k`` with alternative ``index`` of ``node``.

    For ``amb.choose`` effects ``node`` is None and ``choices`` holds the values to try.
    """

    __slots__ = ("node", "index", "env", "k", "choices", "next")
    FIELDS = ("node", "index", "env", "k", "choices", "next")

    def __init__(self, node: Any, index: int, env: Any, k: Any, choices: tuple | None, next_point: Any) -> None:
        self.node = node
        self.index = index
        self.env = env
        self.k = k
        self.choices = choices
        self.next = next_point


FRAME_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (CallK, EffectK, LetK, IfK, SeqK, AndOrK, DefineK, SetK, ConsStreamK, ForceK, HandlerK, OracleK)
}
