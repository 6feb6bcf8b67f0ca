"""The per-node step functions of the two most frequent steps, ``If`` and ``Call`` (held in
their nodes' slots: see ``nodes``): an ``if``'s ``ev`` made for its test's kind, and a call's
first-run ``ev``/``resume`` (which generate the code for its shape, ``fastcall``) and the generic
``val``/``ev``/``resume`` that code falls back to.

Why apart from ``nodes``: this is where the machine's speed is decided and where the generated
code plugs in; ``nodes`` keeps what each kind of expression is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_core.errors import EvalError, OmegaError
from omega_core.lang import (codegen_budget, fastcall, fastcall_callee, fastcall_entry, fastcall_inline, fastcall_operand,
                              fused, fused_test)
from omega_core.lang.frames import NOT_INLINE, CallK, IfK, continue_call
from omega_core.lang.values import Primitive

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.lang.nodes import Call, If, Node


_new_object = object.__new__


def chains_its_test(test: Node) -> bool:
    """The test always takes steps and is a call whose own step may be fused (``fuse_operand``:
    ``(pred (car l))`` in ``filter``): the ``if`` takes that step, the test's return and the
    chosen branch's first step in its own dispatch (``fused.py``)."""
    return fastcall.operand_kind(test) == "N" and test.fuse_operand


def if_ev(node: If, test: Node, then: Node, otherwise: Node) -> Any:
    if chains_its_test(test):

        def ev_chaining_test(m: Any) -> None:
            env = m.env
            waiting = _new_object(IfK)  # ``IfK(m.k, node, env)`` without its ``__init__`` call
            waiting.next = m.k
            waiting.node = node
            waiting.env = env
            m.k = waiting
            m.node = test
            if not m.fusing:
                return
            m.fused_steps += 1  # the test call's step
            try:
                step = test.ev  # a slot: an attribute read and a call are faster than a method call
                step(m)
            except OmegaError as error:
                if getattr(error, "node", None) is None:
                    error.node = test
                raise
            if m.node is not None or m.k is not waiting:  # the test goes on in steps (or left)
                return
            m.k = waiting.next  # its value returns to the ``if`` (``IfK.ret``)
            m.fused_steps += 1
            branch = then if m.value is not False else otherwise
            m.node = branch
            m.env = env
            if branch.fuse_operand:  # a call with inline operands: its step too
                m.fused_steps += 1
                try:
                    step = branch.ev
                    step(m)
                except OmegaError as error:
                    if getattr(error, "node", None) is None:
                        error.node = branch
                    raise

        return fused_test.chaining_if_ev(node, test, then, otherwise, ev_chaining_test)
    if fastcall.operand_kind(test) == "N":  # the test always takes steps: no need to ask it

        def ev_in_steps(m: Any) -> None:
            waiting = _new_object(IfK)  # ``IfK(m.k, node, m.env)`` without its ``__init__`` call
            waiting.next = m.k
            waiting.node = node
            waiting.env = m.env
            m.k = waiting
            m.node = test

        return ev_in_steps
    return fused.if_ev(node, test, then, otherwise)


def first_call_ev(node: Call, m: Any) -> None:
    with codegen_budget.charged(m):
        specs, values = fastcall_inline.inline_specs(node.args, node.kinds, m)
        operator = fastcall.current_operator(node, m, m.env)
        op_spec, op_values = fastcall_inline.operator_spec(node, m, operator)
        entry, entry_values = fastcall_entry.entry_spec(node, m, operator)
        wspec, w_values = fastcall_operand.operand_spec(node, m, m.env)
        callees, c_values = fastcall_callee.callee_specs(node, m, m.env)
        factory = fastcall.ev_factory(node.fn_kind, node.kinds, specs, op_spec, entry, wspec,  # type: ignore[arg-type]
                                      callees)
        node.ev = factory(node, generic_call_ev, *node.data, *values, *op_values, *entry_values, *w_values,
                          *c_values)
    node.ev(m)


def first_call_resume(m: Any, k: Any, value: Any, again: bool = True) -> None:
    node = k.node
    with codegen_budget.charged(m):
        specs, values = fastcall_inline.inline_specs(node.args, node.kinds, m)
        op_spec, op_values = fastcall_inline.operator_spec(node, m, k.f)
        entry, entry_values = fastcall_entry.entry_spec(node, m, k.f)
        wspec, w_values = fastcall_operand.operand_spec(node, m, k.env)
        callees, c_values = fastcall_callee.callee_specs(node, m, k.env)
        node.resume = fastcall.resume_factory(node.kinds, specs, op_spec, entry, wspec, callees)(
            node, *node.data[1:], *values, *op_values, *entry_values, *w_values, *c_values)
    node.resume(m, k, value, again)


def never_inline(m: Any, env: Any) -> Any:
    return NOT_INLINE


def generic_call_val(node: Call, m: Any, env: Any) -> Any:
    """Inline only a primitive applied to pure operands: no steps, no double evaluation."""
    try:
        f = node.fn.val(m, env)
        if type(f) is not Primitive:
            return NOT_INLINE
        operands = node.args
        count = len(operands)
        if count < f.min_args or (f.max_args is not None and count > f.max_args):
            m.arity_error(f.name, f.min_args, f.max_args, count)
        if node.fn_kind is not None:  # checked: from now on this primitive takes the fast path
            with codegen_budget.charged(m):
                factory = fastcall.val_factory(node.fn_kind, node.kinds, f, node.data[1:])
                node.val = factory(node, generic_call_val, f, f.fn, *node.data)
        if f.needs_machine:  # ``*``, ``append`` ... check their budgets on the machine
            if count == 2:
                return f.fn(m, operands[0].val(m, env), operands[1].val(m, env))
            return f.fn(m, *[arg.val(m, env) for arg in operands])
        if count == 2:
            return f.fn(operands[0].val(m, env), operands[1].val(m, env))
        if count == 1:
            return f.fn(operands[0].val(m, env))
        return f.fn(*[arg.val(m, env) for arg in operands])
    except EvalError as error:
        if getattr(error, "node", None) is None:  # the innermost failing call names the place
            error.node = node  # type: ignore[attr-defined]
        raise


def generic_call_resume(m: Any, k: Any, value: Any, again: bool = True) -> None:
    """``CallK.ret`` for operand ``k.index`` (>= 0) of ``k.node``: on with the next operands
    (``again``: see ``fastcall.resume_factory``; this code fuses nothing)."""
    continue_call(m, k.node, k.env, k.f, [*k.vals, value], k.index + 1)


def generic_call_ev(node: Call, m: Any) -> None:
    env = m.env
    f = node.fn.val(m, env)
    if f is NOT_INLINE:
        m.k = call_operator_frame(m.k, node, env)
        m.node = node.fn
        return
    continue_call(m, node, env, f, [], 0)


def call_operator_frame(next_frame: Any, node: Call, env: Any) -> Any:
    return CallK(next_frame, node, env, -1, None, ())
