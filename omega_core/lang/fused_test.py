"""An ``if`` whose test is a call of a primitive written into the ``if``'s own code.

A split of ``fused.py`` (the chains of fused steps). An ``if`` whose test always takes steps and
is a call with inline operands (``(pred (car l))`` in ``filter``) chains, when fusing, its own
step (pushing an ``IfK``), the test call's step, the test's return into the ``if`` and the chosen
branch's first step (``node_steps.if_ev``: ``ev_chaining_test``). When the test's operator is, at the
``if``'s first step, a primitive of ``fastcall_inline.INLINE_PRIMITIVES`` (``even?`` given to
``filter``) and its operands are constants, variables or written-in primitive calls (``(car
l)``), this module writes the test's common case into the ``if``'s code: the test's value is
computed right there, so the ``IfK`` the unfused steps push and pop at once is never made, and
the test's step is no Python call of its own.

Why it is exact: the three steps (the ``if``, the test call, the return) are counted as before,
and leave the registers as they do (``m.value`` the test's value, ``m.node`` the branch, ``m.env``
the ``if``'s, ``m.k`` unchanged: the frame pushed and popped is no longer there, as after the
unfused return). Nothing between them can see the missing frame: the written-in value is pure
(no error, no effect, no continuation), and it is taken only when the operator is still that very
primitive (an identity test), every variable is assigned and the primitive's guard holds.
Anything else (not fusing, a rebound operator, an unassigned variable, a failing guard) runs the
generic ``ev_chaining_test`` from the start, before anything was done: an operand call is never
asked (``val``) in the written-in part, so nothing is evaluated twice and no error is raised early.
"""

from __future__ import annotations

from typing import Any, Callable

from omega_core.lang import codegen_budget, constant_cells, fastcall_inline, fused, global_cache

_FACTORIES: dict[tuple[Any, ...], Callable[..., Any]] = {}


def chaining_if_ev(node: Any, test: Any, then: Any, otherwise: Any,
                   generic: Callable[[Any], None]) -> Callable[[Any], None]:
    """The ``ev`` of an ``if`` chaining its test call (``node_steps.if_ev``): on its first step, the
    code with the test written in when the test's shape allows it (``_spec``), else ``generic``."""

    def first_ev(m: Any) -> None:
        with codegen_budget.charged(m):
            spec, values = _spec(test, m)
            node.ev = generic if spec is None else _factory(*spec)(node, generic, then, otherwise, *test.data, *values)
        node.ev(m)

    return first_ev


def _spec(test: Any, m: Any) -> tuple[Any, tuple[Any, ...]]:
    """The shape of ``test`` to write in (operator kind, operand kinds, operand specs, operator
    spec) and the values its code needs, or None: the operator must hold now a primitive of
    ``INLINE_PRIMITIVES`` of the call's arity, and every operand that is not a constant or a
    variable a call written in (``fastcall_inline.inline_specs``)."""
    from omega_core.lang import fastcall  # fastcall imports fused, which this module extends

    if test.fn_kind is None or any(kind not in fastcall_inline.SIMPLE_KINDS and kind != "X" for kind in test.kinds):
        return None, ()
    operator = fastcall.current_operator(test, m, m.env)
    op_spec, op_values = fastcall_inline.operator_spec(test, m, operator)
    if op_spec is None:
        return None, ()
    specs, spec_values = fastcall_inline.inline_specs(test.args, test.kinds, m)
    if any(kind == "X" and spec is None for kind, spec in zip(test.kinds, specs)):
        return None, ()
    return (test.fn_kind, test.kinds, specs, op_spec), (*spec_values, *op_values)


def _written_in_read(spec: Any, i: int, fallback: str) -> list[str]:
    """``fastcall_inline.inline_read`` without its last resort (the operand's ``val``): here any case
    not written in runs the generic step instead (``fallback``), before anything was evaluated."""
    lines = fastcall_inline.inline_read(spec, i, fallback)
    cut = lines.index("else:")
    return lines[:cut] + ["else:", f"    {fallback}"]


def _factory(fn_kind: str, kinds: tuple[str, ...], specs: tuple[Any, ...], op_spec: Any) -> Callable[..., Any]:
    from omega_core.lang import fastcall

    key = (fn_kind, kinds, specs, op_spec)
    factory = _FACTORIES.get(key)
    if factory is not None:
        return factory
    fallback = "return generic(m)"
    reads: list[str] = []
    for i, (kind, spec) in enumerate(zip(kinds, specs)):
        reads += _written_in_read(spec, i, fallback) if spec is not None else fastcall.read_lines(kind, i, fallback)
    guard, result = op_spec
    taken = [*fastcall_inline.assign_lines("value", result),
             "m.value = value",
             "m.fused_steps += 2",  # the test call's step and its return into the ``if``
             "branch = then if value is not False else otherwise",
             "m.node = branch",
             "if branch.fuse_operand:",  # a call with inline operands: its step too
             *fused.chain_lines("branch", 4),
             "return"]
    test_lines = ["if f is FP:"] + ["    " + line for line in reads]
    test_lines += ([f"    if {guard}:"] + ["        " + line for line in taken] if guard
                   else ["    " + line for line in taken])
    body = (["if m.fusing:", "    env = m.env", "    g = m.globals"]
            + ["    " + line for line in fastcall.operator_lines(fn_kind, fallback, "g")]
            + ["    " + line for line in test_lines]
            + ["generic(m)"])
    body, setup = global_cache.cached_reads(body)
    params = ", ".join(["node", "generic", "then", "otherwise", "fd"] + [f"d{i}" for i in range(len(kinds))]
                       + fastcall_inline.spec_params(specs) + ["FP"])
    source = (f"def factory({params}):\n" + "".join(f"    {line}\n" for line in setup)
              + "    def ev(m):\n" + "".join(f"        {line}\n" for line in body) + "    return ev\n")
    namespace = dict(fused.NAMESPACE)
    namespace.update(fastcall.NAMESPACE)
    exec(compile(source, f"<omega fused if test {key}>", "exec"), namespace)  # noqa: S102 - our own template
    factory = _FACTORIES[key] = constant_cells.constant_factory(namespace["factory"])
    return factory
