"""Calls entering a closure whose body's first step is written into the call's code.

A split of ``fastcall.py`` (which generates the calls' code and uses these): when a call's
operator held, at the call's first run, a closure whose body is an ``if`` with an inline test
(``fib``) or a written-in primitive call (``(lambda (x) (* x 3))`` given to ``map``), the body's
step is written into the call's code, right after the new frame is made, and taken (a fused step,
``fused.py``) while the closure entered is still one of that very lambda (``lam is LAM``: then its
arity, extra slots and body are known too, and not read again). The names of the written-in step end in
``ENTRY_INDEX`` (``a9``, ``d9``, ``P9`` ...), apart from the operands'.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang import fastcall, fastcall_inline, fused
from omega_core.lang.values import Closure

ENTRY_INDEX = 9
"""Index of the names of an entered ``if`` written into a call (``a9``, ``d9``, ``P9`` ...):
above every operand's (``MAX_FAST_OPERANDS``), so they never meet."""


def entry_spec(node: Any, m: Any, operator: Any) -> tuple[Any, tuple[Any, ...]]:
    """When call ``node``'s ``operator`` (``current_operator``: a global's or a local's value) is
    a closure of the call's arity whose body takes its step without steps of its own: that step
    written into the call's code, taken (fused, ``fused.py``) when the callee's body is still that
    node; its shape and the values it needs; else None. Two bodies qualify:

    * an ``if`` with an inline test (``fib``'s body): shape (branch kinds, test spec);
    * a call of a global primitive of ``INLINE_PRIMITIVES`` on constants and variables
      (``(lambda (x) (* x 3))`` given to ``map``): shape ``("call", spec)``. When its global is no
      longer that primitive or the guard fails, the body's step is left to the next dispatch."""
    from omega_core.lang import nodes as n  # nodes imports this module

    f = operator
    if type(f) is not Closure or f.lam.fixed_arity != len(node.args):
        return None, ()
    body = f.lam.body
    if type(body) is n.Call:
        specs, values = fastcall_inline.inline_specs((body,), (fastcall.operand_kind(body),), m)
        if specs[0] is None:
            return None, ()
        return ("call", specs[0]), (f.lam, f.lam.extra_slots, body, body, *values)
    if type(body) is not n.If:
        return None, ()
    test_kind = fastcall.operand_kind(body.test)
    if test_kind == "N":
        return None, ()
    specs, values = fastcall_inline.inline_specs((body.test,), (test_kind,), m)
    entry = (fused.branch_kind(body.then), fused.branch_kind(body.otherwise), specs[0])
    return entry, (f.lam, f.lam.extra_slots, body, body.test, body.then, body.otherwise, *values)


ENTRY_NAMES = ("LAM", "EXTRA", "B", "BTH", "BO")
"""The names of the values a written-in entry needs: the lambda, its extra slots, its body and
(an ``if``) the body's branches; an operand call written into its caller names them apart
(``fastcall_callee``)."""


def entry_params(entry: Any, index: int | str = ENTRY_INDEX, names: tuple[str, ...] = ENTRY_NAMES) -> list[str]:
    lam, extra, body, then, otherwise = names
    if entry[0] == "call":
        return [lam, extra, body, f"d{index}"] + fastcall_inline.spec_params_at(entry[1], index)
    return ([lam, extra, body, f"d{index}", then, otherwise]
            + (fastcall_inline.spec_params_at(entry[2], index) if entry[2] is not None else []))


def body_step_lines(entry: Any, index: int | str, body: str, then: str, otherwise: str,
                    leave: str, before: int = 0) -> list[str]:
    """Lines that take the step of the entered body ``body`` (environment in ``env``; a fused
    step, counted on the way out, with a fused branch value's and the ``before`` steps taken just
    before it, one addition) and end in ``leave``, but one way: a body call that cannot be
    written in leaves ``m.node`` at the body and takes no step. A failing step is counted and
    names the body, as the machine loop would."""
    if entry[0] == "call":  # the body's value written in; else its step is the next dispatch's
        not_taken = f"m.fused_steps += {before}; " if before else ""
        lines = fastcall_inline.inline_read(entry[1], index, f"m.node = {body}; {not_taken}{leave}")
        lines += [f"m.value = a{index}", "m.node = None", f"m.fused_steps += {1 + before}", leave]
    else:
        lines = fused.if_lines(entry[0], entry[1], entry[2], index, body, then, otherwise, fusing=True,
                               pending=1 + before, leave=leave)
        lines.append(leave)
    return (["try:"] + ["    " + line for line in lines]
            + ["except OmegaError as error:", f"    m.fused_steps += {1 + before}", f"    m.node = {body}",
               "    if getattr(error, 'node', None) is None:", f"        error.node = {body}",
               "    raise"])


def entered_lines(entry: Any) -> list[str]:
    """Lines (in ``fastcall._enter``, the frame of the very lambda ``entry_spec`` saw just
    entered: ``lam is LAM``, so its body is ``B``) that take the step of the callee's body
    written in when fusing; every way through them returns, but one: not fusing. The body's step
    is counted on the way out (one addition, with a fused branch value's), and ``m.node`` is set
    to the body only where the machine stops there (a failing step too, as unfused)."""
    lines = body_step_lines(entry, ENTRY_INDEX, "B", "BTH", "BO", "return")
    return ["        if m.fusing:", "            env = frame"] + ["            " + line for line in lines]
