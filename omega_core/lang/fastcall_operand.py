"""Calls whose first operand call, a call of a primitive, is written into the caller's code.

A split of ``fastcall.py`` (which generates the calls' code and uses these). An operand that is a
call of a call (``(f acc (car l))`` in ``fold-left``, ``(cons (car l) acc)`` in ``filter``) is
not inline: it takes steps of its own (``N``). Unfused, the caller's step pushes a ``CallK`` and
moves to the operand call; the operand call's step computes the primitive's value; the return
step pops the ``CallK`` and the caller goes on with its next operands. When the operand call's
operator held, at the caller's first run, a primitive of ``fastcall_inline.INLINE_PRIMITIVES`` (``+``
bound to ``f``, ``cons``) and its own operands are constants, variables or written-in calls
(``(car l)``), the caller's code computes that value itself when fusing: the two steps (the
operand call and its return) are counted, ``m.value`` is the operand's value, ``m.env`` the
caller's, and no ``CallK`` is made to be popped at once.

Why it is exact: the value is written in only while the operand's operator is still that very
primitive (an identity test), its variables are assigned and the primitive's guard holds; it is
then pure (no error, no effect, no continuation can see the frame that is not made). In any
other case nothing was evaluated yet (variables are only read) and the caller takes the unfused
path it always took (push the frame, chain the operand's step ...). The chain stays within
``FUSE_MAX_STEPS``: it is written in only where a dispatch starts (a call's ``ev``, or its
resumption when it is not itself a fused return, ``again``), and what follows it chains no
return: 1 + 2 + at most 3 (the next operand's chain, or entering the callee and its ``if``).
"""

from __future__ import annotations

import re
from typing import Any

from omega_core.lang import fastcall, fastcall_inline

FIRST_INDEX = 5
"""Names of the written-in operand's own operands: ``a5`` ... ``a8`` (``d5``, ``P5`` ...), apart
from the caller's operands (``a0`` ... ``a3``) and a written-in callee's body (``a9``)."""


def operand_spec(node: Any, m: Any, env: Any) -> tuple[Any, tuple[Any, ...]]:
    """For call ``node`` (its code being made, in ``env``): its first operand that takes steps,
    when it is a call whose operator holds now a primitive of ``INLINE_PRIMITIVES`` of its arity
    and whose operands are constants, variables or written-in calls: (its index, operator kind,
    the primitive's (guard, result), its operand kinds and specs), and the values its code needs
    (operator datum, the primitive, operand data, spec values); else None."""
    from omega_core.lang import nodes as n  # nodes imports fastcall, which imports this module

    index = next((i for i, kind in enumerate(node.kinds) if kind == "N"), None)
    if index is None:
        return None, ()
    operand = node.args[index]
    if type(operand) is not n.Call or operand.fn_kind is None or not operand.fuse_operand:
        return None, ()
    if any(kind not in fastcall_inline.SIMPLE_KINDS and kind != "X" for kind in operand.kinds):
        return None, ()
    operator = fastcall.current_operator(operand, m, env)
    op_spec, op_values = fastcall_inline.operator_spec(operand, m, operator)
    if op_spec is None:
        return None, ()
    specs, spec_values = fastcall_inline.inline_specs(operand.args, operand.kinds, m)
    if any(kind == "X" and spec is None for kind, spec in zip(operand.kinds, specs)):
        return None, ()
    shape = (index, operand.fn_kind, op_spec, operand.kinds, specs)
    return shape, (operand.data[0], *op_values, *operand.data[1:], *spec_values)


def params(shape: Any) -> list[str]:
    _, _, _, kinds, specs = shape
    names = ["WF", "WP"] + [f"d{FIRST_INDEX + j}" for j in range(len(kinds))]
    for j, spec in enumerate(specs):
        if spec is not None:
            names += fastcall_inline.spec_params_at(spec, FIRST_INDEX + j)
    return names


def _moved(text: str) -> str:
    """A primitive's guard or result on ``a0`` ... as the written-in operand's ``a5`` ..."""
    return re.sub(r"\ba(\d)\b", lambda found: f"a{FIRST_INDEX + int(found.group(1))}", text)


def value_lines(shape: Any, condition: str) -> list[str]:
    """Lines that put the operand's value in ``w{index}`` when it can be written in (else leave
    ``NOT_INLINE`` there, having only read variables). ``condition``: when to try (fusing)."""
    index, fn_kind, (guard, result), kinds, specs = shape
    target = f"w{index}"
    stop = "break"  # a ``while`` taken at most once: ``break`` leaves the attempt
    if fn_kind == "G":
        operator = ["fo = g.get(WF, MISSING)"]
    else:
        operator = ["fo = " + "env" + "[0]" * int(fn_kind[1]) + "[WF]"]
    attempt = operator + [f"if fo is not WP: {stop}"]
    for j, (kind, spec) in enumerate(zip(kinds, specs)):
        at = FIRST_INDEX + j
        if spec is None:
            attempt += fastcall.read_lines(kind, at, stop)
        else:
            lines = fastcall_inline.inline_read(spec, at, stop)
            cut = lines.index("else:")  # never the operand's own ``val``: the unfused path does that
            attempt += lines[:cut] + ["else:", f"    {stop}"]
    done = fastcall_inline.assign_lines(target, _moved(result))
    attempt += ([f"if {_moved(guard)}:"] + ["    " + line for line in done] if guard else done) + [stop]
    return [f"{target} = NOT_INLINE", f"while {condition}m.fusing:"] + ["    " + line for line in attempt]


def taken_lines(shape: Any, set_env: bool) -> list[str]:
    """Lines (under ``if w{index} is not NOT_INLINE:``) that account for the written-in value
    as the two unfused steps would leave it, before the caller goes on with its next operands."""
    index = shape[0]
    return ([f"a{index} = w{index}", f"m.value = a{index}"] + (["m.env = env"] if set_env else [])
            + ["m.fused_steps += 2"])  # the operand call's step and its return
