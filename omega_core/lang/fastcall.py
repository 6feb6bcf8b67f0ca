"""Specialised code for calls, the node the machine spends most of its time in.

A ``Call`` node's generic ``val``/``ev`` (``nodes.py``) look up the operator, dispatch on each
operand's kind through a method call, check the arity and build the argument list on every call.
For the shapes that make up nearly all calls (an operator that is a global or a local variable,
operands that are constants, variables or other inline-able nodes, at most ``MAX_FAST_OPERANDS``
of them) this module generates, once per shape, a Python function in which the operand reads are
inlined (``env[i]``, ``env[0][i]``, a constant) and the closure call builds its frame directly.

Nothing about the machine changes: the generated code takes exactly the step the generic code
takes, produces the same values, frames and errors, and falls back to the generic code for every
case it does not handle (an operand that needs steps, a variable used before its definition, an
unbound operator, a rest parameter, an arity error ...), from the point it got to, so no operand
is evaluated twice. ``val`` additionally caches the primitive it last checked (operator identity
and arity): a global rebound to another procedure fails the identity check and goes generic.
Operands, operators and ``if`` tests that call a primitive of ``INLINE_PRIMITIVES`` (``(- n 1)``,
``+``, ``(< n 2)``) have its common case written in too, checked at each use against the
primitive the global held when the code was made (``fastcall_inline``); the
chains of fused steps (``fused.py``) are written into this code as well, and so is the first step
of a callee's body (``fastcall_entry.py``), and of an operand call entering a closure
(``fastcall_callee.py``). The globals this code reads come from a cache it refreshes when the
global table changed (``global_cache.py``); the values each node's code was made for are
constants of its code, not closure cells (``constant_cells.py``).
Measured with ``bench/language.py`` and ``bench/language_instructions.py``.
"""

from __future__ import annotations

from typing import Any, Callable

from omega_core.errors import EvalError
from omega_core.lang import constant_cells, fastcall_callee, fastcall_entry, fastcall_operand, fused, global_cache
from omega_core.lang.fastcall_inline import INLINE_PRIMITIVES, assign_lines, guard_for, inline_read, spec_params
from omega_core.lang.frames import NOT_INLINE, CallK, IfK, continue_call
from omega_core.lang.values import NIL, UNASSIGNED, Closure, Pair, Primitive

MAX_FAST_OPERANDS = 4
"""Calls with more operands use the generic code (rare in practice; keeps the generated set small)."""

OPERATOR_KINDS = frozenset({"G", "L0", "L1", "L2", "L3"})
"""Operators the generated code reads itself (others, e.g. a ``lambda`` form, use the generic code)."""

_MISSING: Any = object()

OperandKind = str
"""``C`` constant, ``L0`` ... ``L3`` variable in the innermost frame ... three frames out, ``G``
global, ``N`` a node that always needs steps (a call of a call, an ``if`` ...), ``X`` other."""


def operand_kind(node: Any) -> OperandKind:
    from omega_core.lang import nodes as n  # nodes imports this module

    kind = type(node)
    if kind is n.Const:
        return "C"
    if kind is n.LocalRef0:
        return "L0"
    if kind is n.LocalRef1:
        return "L1"
    if kind is n.LocalRef and node.depth in (2, 3):
        return f"L{node.depth}"
    if kind is n.GlobalRef:
        return "G"
    if (kind is n.Call and not node.inline_ok) or kind.val is n.Node.val:
        return "N"  # never inline: always evaluated in steps, under a CallK frame
    return "X"


def operand_datum(node: Any, kind: OperandKind) -> Any:
    """What the generated code needs of an operand: its value, slot, name or ``val`` method."""
    if kind == "C":
        return node.value
    if kind in ("L0", "L1", "L2", "L3"):
        return node.index
    if kind == "G":
        return node.name
    return node


def _read(kind: OperandKind, i: int, fallback: str) -> list[str]:
    """Source lines that put operand ``i`` in ``a{i}``, running ``fallback`` when it cannot."""
    if kind == "C":
        return [f"a{i} = d{i}"]
    if kind == "L0":
        return [f"a{i} = env[d{i}]", f"if a{i} is UNASSIGNED: {fallback}"]
    if kind in ("L1", "L2", "L3"):
        frame = "env" + "[0]" * int(kind[1])
        return [f"a{i} = {frame}[d{i}]", f"if a{i} is UNASSIGNED: {fallback}"]
    if kind == "G":
        return [f"a{i} = m.globals.get(d{i}, MISSING)", f"if a{i} is MISSING: {fallback}"]
    return [f"a{i} = d{i}.val(m, env)", f"if a{i} is NOT_INLINE: {fallback}"]


def _operator(kind: OperandKind, fallback: str, table: str = "m.globals") -> list[str]:
    if kind == "L0":
        return ["f = env[fd]", f"if f is UNASSIGNED: {fallback}"]
    if kind in ("L1", "L2", "L3"):
        frame = "env" + "[0]" * int(kind[1])
        return [f"f = {frame}[fd]", f"if f is UNASSIGNED: {fallback}"]
    return [f"f = {table}.get(fd, MISSING)", f"if f is MISSING: {fallback}"]


read_lines = _read
"""``_read``, for the code other modules generate (``fused_test``)."""
operator_lines = _operator
"""``_operator``, for the code other modules generate (``fused_test``)."""

NAMESPACE = {"UNASSIGNED": UNASSIGNED, "NIL": NIL, "Pair": Pair, "MISSING": _MISSING, "NOT_INLINE": NOT_INLINE,
              "EvalError": EvalError, "Closure": Closure, "Primitive": Primitive, "continue_call": continue_call,
              "CallK": CallK, "IfK": IfK, "OmegaError": fused.OmegaError, "new_object": object.__new__,
             "refill": global_cache.refill, "ReadCache": global_cache.ReadCache}
_VAL_FACTORIES: dict[tuple[Any, ...], Callable[..., Any]] = {}
_EV_FACTORIES: dict[tuple[Any, ...], Callable[..., Any]] = {}
_RESUME_FACTORIES: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _build(source: str, name: str) -> Callable[..., Any]:
    namespace = dict(NAMESPACE)
    exec(compile(source, f"<omega fast call {name}>", "exec"), namespace)  # noqa: S102 - our own templates
    return constant_cells.constant_factory(namespace["factory"])  # its functions' values as constants


def _indent(lines: list[str], depth: int) -> str:
    return "".join(" " * depth + line + "\n" for line in lines)


def val_factory(fn_kind: OperandKind, kinds: tuple[OperandKind, ...], prim: Any,
                data: tuple[Any, ...] = ()) -> Callable[..., Any]:
    """``factory(node, generic, prim, fn, fd, d0, d1 ...)`` -> ``val(m, env)`` for one shape and
    primitive (only the primitive's kind shapes the code: written in, machine or not; and the
    constants among ``data``, the operands' ``operand_datum``, through ``guard_for``)."""
    needs_machine = prim.needs_machine
    inline = INLINE_PRIMITIVES.get(prim.fn)
    if inline is not None and inline[0] != len(kinds):
        inline = None
    if inline is not None:  # constants' type tests and bit lengths decided now (``guard_for``)
        inline = (inline[0], guard_for(inline[1], kinds, data), inline[2])
    key = (fn_kind, kinds, needs_machine, inline)
    factory = _VAL_FACTORIES.get(key)
    if factory is None:
        params = ", ".join(["node", "generic", "prim", "fn", "fd"] + [f"d{i}" for i in range(len(kinds))])
        fallback = "return generic(node, m, env)"
        body = _operator(fn_kind, fallback) + [f"if f is not prim: {fallback}"]
        for i, kind in enumerate(kinds):
            body += _read(kind, i, fallback)
        args = ", ".join((["m"] if needs_machine else []) + [f"a{i}" for i in range(len(kinds))])
        if inline is not None:
            _, guard, result = inline
            returned = "; ".join(assign_lines("result", result)) + "; return result"
            body += [f"if {guard}: {returned}" if guard else returned]
        body += ["try:", f"    return fn({args})", "except EvalError as error:",
                 "    if getattr(error, 'node', None) is None:", "        error.node = node", "    raise"]
        source = f"def factory({params}):\n    def val(m, env):\n{_indent(body, 8)}    return val\n"
        factory = _VAL_FACTORIES[key] = _build(source, f"val {key}")
    return factory


def ev_factory(fn_kind: OperandKind, kinds: tuple[OperandKind, ...],
               specs: tuple[Any, ...] = (), op_spec: Any = None, entry: Any = None,
               wspec: Any = None, callees: tuple[Any, ...] = ()) -> Callable[..., Any]:
    """``factory(node, generic, fd, d0, d1 ..., *inline values)`` -> ``ev(m)`` for one shape:
    evaluates the operands inline and enters a closure of the right arity directly; anything else
    (a primitive, an operand that needs steps) continues in ``continue_call`` from the operand it
    reached. ``specs`` (``inline_specs``): operands whose primitive call is written in too;
    ``wspec`` (``fastcall_operand.operand_spec``): the first operand call, written in too;
    ``callees`` (``fastcall_callee.callee_specs``): operand calls entering a closure, written in."""
    specs = specs or (None,) * len(kinds)
    callees = callees or (None,) * len(kinds)
    key = (fn_kind, kinds, specs, op_spec, entry, wspec, callees)
    factory = _EV_FACTORIES.get(key)
    if factory is None:
        params = ", ".join(["node", "generic", "fd"] + [f"d{i}" for i in range(len(kinds))] + spec_params(specs)
                           + (["FP"] if op_spec else []) + (fastcall_entry.entry_params(entry) if entry else [])
                           + (fastcall_operand.params(wspec) if wspec else []) + fastcall_callee.params(callees))
        body = ["env = m.env"] + (["g = m.globals"] if any(specs) else [])
        body += _operator(fn_kind, "return generic(node, m)", "g" if any(specs) else "m.globals")
        # ev starts a dispatch: may fuse a return
        body += _operands_from(kinds, 0, specs, op_spec, entry, "", wspec, callees)
        body, setup = global_cache.cached_reads(body)
        source = f"def factory({params}):\n{_indent(setup, 4)}    def ev(m):\n{_indent(body, 8)}    return ev\n"
        factory = _EV_FACTORIES[key] = _build(source, f"ev {key}")
    return factory


def resume_factory(kinds: tuple[OperandKind, ...], specs: tuple[Any, ...] = (),
                   op_spec: Any = None, entry: Any = None, wspec: Any = None,
                   callees: tuple[Any, ...] = ()) -> Callable[..., Any]:
    """``factory(node, d0, d1 ..., *inline values)`` -> ``resume(m, k, value, again=True)``: what
    ``CallK.ret`` does when operand ``k.index`` of this call returned ``value``: the next operands
    inline, then the call, as ``continue_call`` would, without its generic loop. ``again``: False
    when this resumption is itself a fused return (``fused.return_lines``): it fuses no further
    return, which keeps every chain within ``FUSE_MAX_STEPS``."""
    specs = specs or (None,) * len(kinds)
    callees = callees or (None,) * len(kinds)
    key = (kinds, specs, op_spec, entry, wspec, callees)
    factory = _RESUME_FACTORIES.get(key)
    if factory is None:
        count = len(kinds)
        params = ", ".join(["node"] + [f"d{i}" for i in range(count)] + spec_params(specs)
                           + (["FP"] if op_spec else []) + (fastcall_entry.entry_params(entry) if entry else [])
                           + (fastcall_operand.params(wspec) if wspec else []) + fastcall_callee.params(callees))
        body = ["index = k.index", "env = k.env", "f = k.f"]
        reads = global_cache.CachedReads()  # per branch: one that reads no global checks nothing
        for index in range(count):
            known = [f"a{j}" for j in range(index)]
            body.append(f"{'if' if index == 0 else 'elif'} index == {index}:")
            lines = ([f"{', '.join(known)}, = k.vals"] if known else []) + [f"a{index} = value"]
            rest = _operands_from(kinds, index + 1, specs, op_spec, entry, "again and ", wspec, callees)
            body += ["    " + line for line in reads.rewrite(lines + rest)]
        body += ["else:", "    continue_call(m, node, env, f, [*k.vals, value], index + 1)"]
        setup = reads.setup()
        source = (f"def factory({params}):\n{_indent(setup, 4)}    def resume(m, k, value, again=True):\n{_indent(body, 8)}"
                  "    return resume\n")
        factory = _RESUME_FACTORIES[key] = _build(source, f"resume {key}")
    return factory


def current_operator(node: Any, m: Any, env: Any) -> Any:
    """What call ``node``'s operator holds now in ``env`` (a global or a local variable; else
    None): the code made at a call's first run is shaped for it, and checks it at each use."""
    from omega_core.lang import nodes as n  # nodes imports this module

    fn = node.fn
    if type(fn) is n.GlobalRef:
        return m.globals.get(fn.name)
    if node.fn_kind in ("L0", "L1", "L2", "L3"):
        frame = env
        for _ in range(int(node.fn_kind[1])):
            frame = frame[0]
        return frame[fn.index]
    return None


def _operands_from(kinds: tuple[OperandKind, ...], start: int, specs: tuple[Any, ...], op_spec: Any = None,
                   entry: Any = None, fuse_return: str | None = None, wspec: Any = None,
                   callees: tuple[Any, ...] = ()) -> list[str]:
    """Source lines that evaluate operands ``start`` ... into ``a{i}`` (earlier ones are there
    already; ``f`` and ``env`` are set), then make the call. ``fuse_return``: the condition
    prefix under which an operand call that gave its value at once in the chain also takes the
    return into this call's frame (``fused.return_lines``); None: never; ``""`` (always) is for
    the call's own ``ev``, where ``m.env`` already holds ``env``. ``wspec``: an operand call
    written in (``fastcall_operand``), under the same condition (a dispatch's start). ``callees``:
    per operand, an operand call entering a closure written in (``fastcall_callee``), or None;
    with it, the return into this call is written in too (else it calls the resumption)."""
    callees = callees or (None,) * len(kinds)
    body: list[str] = []
    for i in range(start, len(kinds)):
        kind = kinds[i]
        done = ", ".join(f"a{j}" for j in range(i))
        if kind == "N" and wspec is not None and wspec[0] == i and fuse_return is not None:
            body += fastcall_operand.value_lines(wspec, fuse_return)
            then = (fastcall_operand.taken_lines(wspec, fuse_return != "")
                    + _operands_from(kinds, i + 1, specs, op_spec, entry, None, None, callees) + ["return"])
            body += [f"if w{i} is not NOT_INLINE:"] + ["    " + line for line in then]
        if kind == "N":  # what continue_call would do, without asking the operand first
            # ``CallK(m.k, node, env, i, f, values)`` without its ``__init__`` call (half the time)
            body += ["waiting = new_object(CallK)", "waiting.next = m.k", "waiting.node = node", "waiting.env = env",
                     f"waiting.index = {i}", "waiting.f = f", f"waiting.vals = ({done}{',' if i else ''})",
                     "m.k = waiting", f"m.node = d{i}"]
            if fuse_return != "":  # a call's own ``ev`` read ``env`` from ``m.env``: no need to set it
                body.append("m.env = env")
            if callees[i] is None:
                body.append(f"if m.fusing and d{i}.fuse_operand:")
                body += fused.chain_lines(f"d{i}", 4)  # the operand call's step too
                if fuse_return is not None:  # and its value's return into this frame
                    body += fused.return_lines(fuse_return, 4)
                return body + ["return"]
            body.append("if m.fusing:")  # the operand call's step written in (``fuse_operand``: known)
            body += ["    " + line for line in fastcall_callee.step_lines(callees[i], i)]
            if fuse_return is not None:  # and its value's return into this frame, written in too
                rest = _operands_from(kinds, i + 1, specs, op_spec, entry, None, None, callees)
                body += ["    " + line for line in fastcall_callee.returned_lines(i, fuse_return, rest)]
            return body + ["return"]
        fallback = f"return continue_call(m, node, env, f, [{done}], {i})"
        body += inline_read(specs[i], i, fallback) if specs[i] is not None else _read(kind, i, fallback)
    return body + _enter(len(kinds), op_spec, entry)


def _enter(count: int, op_spec: Any = None, entry: Any = None) -> list[str]:
    """Source lines that call ``f`` with the operands in ``a0`` ...: a closure's frame or a
    primitive directly (exactly as ``Machine.apply`` would), the rest through it. ``op_spec``: the
    primitive the operator was bound to (``FP``), whose common case is written in."""
    values = ", ".join(f"a{i}" for i in range(count))
    written_in: list[str] = []
    if op_spec is not None:
        guard, result = op_spec
        done = assign_lines("m.value", result) + ["m.node = None", "return"]
        written_in = ["if f is FP:"] + ([f"    if {guard}:"] + ["        " + line for line in done] if guard
                                        else ["    " + line for line in done])
    known: list[str] = []
    if entry is not None:  # the lambda seen when the code was made: its arity, slots and body are known
        known = ["    if lam is LAM:",
                 f"        frame = [f.env{', ' if count else ''}{values}]",
                 "        if EXTRA:",
                 "            frame.extend(EXTRA)",
                 "        m.env = frame",
                 *fastcall_entry.entered_lines(entry),
                 "        m.node = B",
                 "        return"]
    return written_in + [
        "if type(f) is Closure:",
        "    lam = f.lam",
        *known,
        f"    if lam.fixed_arity == {count}:",
        f"        frame = [f.env{', ' if count else ''}{values}]",
        "        if lam.extra_slots:",
        "            frame.extend(lam.extra_slots)",
        "        m.env = frame",
        "        body = lam.body",
        "        m.node = body",
        "        if m.fusing:",  # the body's first step too (fused.py)
        "            if body.fuse_entry:",
        *fused.chain_lines("body", 16),
        "            elif body.fuse_value:",
        *fused.value_lines("body", "frame", 16),
        "        return",
        f"elif type(f) is Primitive and f.min_args <= {count}:",
        f"    if f.max_args is None or {count} <= f.max_args:",
        f"        m.value = f.fn(m{', ' if count else ''}{values}) if f.needs_machine else f.fn({values})",
        "        m.node = None",
        "        return",
        f"m.apply(f, [{values}])",
    ]
