"""The primitives whose common case is written into generated code (``INLINE_PRIMITIVES``:
``(- n 1)``, ``(car xs)``, ``+``), and the lines that write them in: an operand's call
(``inline_specs``, ``inline_parts``, ``inline_read``), an operator (``operator_spec``), their
guards with constants decided once (``guard_for``).

Why apart from ``fastcall``: every generator of code (``fastcall``, ``fused``, ``fused_test``,
``fastcall_entry``, ``fastcall_operand``, ``fastcall_callee``) writes primitives in the same way
from here, while ``fastcall`` is the call's own code (operand reads, factories).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from omega_core.lang.primitives import lists, numbers, predicates
from omega_core.lang.values import Primitive

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.lang.fastcall import OperandKind


_INT2 = "type(a0) is int and type(a1) is int"
INLINE_PRIMITIVES: dict[Callable[..., Any], tuple[int, str | None, str]] = {
    numbers.add: (2, _INT2, "a0 + a1"),
    numbers.subtract: (2, _INT2, "a0 - a1"),
    numbers.multiply: (2, _INT2 + " and a0.bit_length() + a1.bit_length() <= m.max_integer_bits", "a0 * a1"),
    # A comparison's value is taken through a jump (``True if ... else False``): CPython 3.11
    # specialises an int comparison only when a jump follows it (else a generic rich compare).
    numbers.num_eq: (2, _INT2, "True if a0 == a1 else False"),
    numbers.num_lt: (2, _INT2, "True if a0 < a1 else False"),
    numbers.num_gt: (2, _INT2, "True if a0 > a1 else False"),
    numbers.num_le: (2, _INT2, "True if a0 <= a1 else False"),
    numbers.num_ge: (2, _INT2, "True if a0 >= a1 else False"),
    numbers.is_even: (1, "type(a0) is int", "False if a0 & 1 else True"),
    numbers.is_odd: (1, "type(a0) is int", "True if a0 & 1 else False"),
    lists.cons: (2, None, "Pair(a0, a1)"),
    lists.car: (1, "type(a0) is Pair", "a0.car"),
    lists.cdr: (1, "type(a0) is Pair", "a0.cdr"),
    lists.is_null: (1, None, "a0 is NIL"),
    lists.is_pair: (1, None, "type(a0) is Pair"),
    predicates.not_: (1, None, "a0 is False"),
}
"""Primitives whose common case is written into the generated code (operator, guard, result):
exactly what the primitive's own first lines do (e.g. ``+`` of two ``int``: ``a + b``); when the
guard fails the primitive itself is called, with its checks and error messages."""


SIMPLE_KINDS = frozenset({"C", "L0", "L1", "L2", "L3", "G"})


def inline_specs(operands: tuple[Any, ...], kinds: tuple[OperandKind, ...], m: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """For each operand that is a call of a global bound now to a primitive of
    ``INLINE_PRIMITIVES`` on constants and variables (``(- n 1)``, ``(car xs)``): its shape
    (guard, result, operand kinds) to write into the caller's code, else None; and the values
    that code needs (the primitive, its global's name, the operands' data), flattened. The
    written-in code checks the global is still that primitive and the guard holds, and otherwise
    asks the operand's own ``val``: the same value, the same error, one Python call fewer."""
    from omega_core.lang import nodes as n  # nodes imports this module

    specs: list[Any] = []
    values: list[Any] = []
    for operand, kind in zip(operands, kinds):
        spec = None
        if kind == "X" and type(operand) is n.Call and type(operand.fn) is n.GlobalRef \
                and all(sub in SIMPLE_KINDS for sub in operand.kinds):
            prim = m.globals.get(operand.fn.name)
            inline = INLINE_PRIMITIVES.get(prim.fn) if type(prim) is Primitive else None
            if inline is not None and inline[0] == len(operand.kinds):
                spec = (guard_for(inline[1], operand.kinds, operand.data[1:]), inline[2], operand.kinds)
                values += [prim, operand.fn.name, *operand.data[1:]]
        specs.append(spec)
    return tuple(specs), tuple(values)



def operator_spec(node: Any, m: Any, operator: Any) -> tuple[Any, tuple[Any, ...]]:
    """When call ``node``'s ``operator`` (``current_operator``) is a primitive of
    ``INLINE_PRIMITIVES`` of the call's arity (the global ``+`` in ``(+ (fib ...) (fib ...))``, or
    a local: ``fold-left``'s ``f`` bound to ``+``): its (guard, result) to write into the call's
    code, used at each call only while the operator is that very primitive (an identity test), and
    the primitive; else None."""
    prim = operator
    inline = INLINE_PRIMITIVES.get(prim.fn) if type(prim) is Primitive else None
    if inline is None or inline[0] != len(node.args):
        return None, ()
    return (guard_for(inline[1], node.kinds, node.data[1:]), inline[2]), (prim,)


_TYPE_TEST = re.compile(r"type\(a(\d)\) is (\w+)\Z")


def guard_for(guard: str | None, kinds: tuple[OperandKind, ...], data: tuple[Any, ...]) -> str | None:
    """A written-in primitive's ``guard`` without the type tests of its constant operands that
    pass them (a constant never changes: ``1`` in ``(- n 1)`` is an ``int`` at every call), and
    with the bit length of a constant integer written as a number (``*``'s budget test of
    ``(* x 3)``: one method call fewer per use), or None when nothing is left to test. ``data``:
    the operands' (``operand_datum``)."""
    if not guard:
        return guard
    kept = []
    for term in guard.split(" and "):
        test = _TYPE_TEST.match(term.strip())
        if test is not None:
            index = int(test.group(1))
            if kinds[index] == "C" and type(data[index]).__name__ == test.group(2):
                continue
        kept.append(_BIT_LENGTH.sub(lambda found: _constant_bits(found, kinds, data), term))
    return " and ".join(kept) or None


_BIT_LENGTH = re.compile(r"\ba(\d)\.bit_length\(\)")


def _constant_bits(found: re.Match[str], kinds: tuple[OperandKind, ...], data: tuple[Any, ...]) -> str:
    index = int(found.group(1))
    if index < len(kinds) and kinds[index] == "C" and type(data[index]) is int:
        return str(data[index].bit_length())
    return found.group(0)


def spec_params(specs: tuple[Any, ...]) -> list[str]:
    names: list[str] = []
    for i, spec in enumerate(specs):
        if spec is not None:
            names += spec_params_at(spec, i)
    return names


def spec_params_at(spec: Any, i: int) -> list[str]:
    return [f"P{i}", f"N{i}"] + [f"S{i}_{j}" for j in range(len(spec[2]))]


_PAIR_RESULT = re.compile(r"Pair\((\w+), (\w+)\)\Z")


def assign_lines(target: str, result: str) -> list[str]:
    """Lines that set ``target`` to the written-in primitive's ``result``; a new pair is built
    without its ``__init__`` call (``cons`` is most of a list program's allocations)."""
    pair = _PAIR_RESULT.match(result)
    if pair is None:
        return [f"{target} = {result}"]
    return ["new_pair = new_object(Pair)", f"new_pair.car = {pair.group(1)}", f"new_pair.cdr = {pair.group(2)}",
            f"{target} = new_pair"]


def _renamed(text: str, i: int, subkinds: tuple[OperandKind, ...] = ()) -> str:
    """``text`` (a written-in primitive's guard or result, on ``a0`` ...) on operand ``i``'s own
    operands: ``b{i}_{j}``, or for a constant the factory parameter holding it (``S{i}_{j}``:
    one copy to a local fewer)."""
    def name(found: re.Match[str]) -> str:
        j = int(found.group(1))
        return f"S{i}_{j}" if j < len(subkinds) and subkinds[j] == "C" else f"b{i}_{j}"

    return re.sub(r"\ba(\d)\b", name, text)


def inline_parts(spec: Any, i: int | str) -> tuple[list[str], list[str], list[str]]:
    """Operand ``i`` (a primitive call, ``spec``) written in, in three parts: the lines reading
    its operands (reading a variable has no effect), the conditions under which its value is
    written in (the global is still the primitive, its operands are assigned, the guard holds),
    and the lines that then put its value in ``a{i}``. A variable whose type the guard tests
    needs no test of its own for UNASSIGNED (nor a global for MISSING): the guard fails on them."""
    guard, result, subkinds = spec
    typed = {term.strip()[5:7] for term in (guard or "").split(" and ") if term.strip().startswith("type(a")}
    lines: list[str] = []
    conditions = [f"g.get(N{i}, MISSING) is P{i}"]
    for j, sub in enumerate(subkinds):
        name = f"b{i}_{j}"
        checked = f"a{j}" in typed
        if sub == "C":
            pass  # read from its parameter where used (``_renamed``)
        elif sub == "G":
            lines.append(f"{name} = g.get(S{i}_{j}, MISSING)")
            if not checked:
                conditions.append(f"{name} is not MISSING")
        else:
            frame = "env" + "[0]" * int(sub[1])
            lines.append(f"{name} = {frame}[S{i}_{j}]")
            if not checked:
                conditions.append(f"{name} is not UNASSIGNED")
    if guard:
        conditions.append(f"({_renamed(guard, i, subkinds)})")
    return lines, conditions, assign_lines(f"a{i}", _renamed(result, i, subkinds))


def inline_read(spec: Any, i: int | str, fallback: str) -> list[str]:
    """Lines that put operand ``i`` (a primitive call, ``spec``) in ``a{i}``: written in when the
    global is still the primitive, its operands are assigned and the guard holds (``inline_parts``);
    else its ``val``, which reports the unassigned variable, the missing global or the error."""
    lines, conditions, assign = inline_parts(spec, i)
    lines += [f"if {' and '.join(conditions)}:"] + ["    " + line for line in assign]
    return lines + ["else:", f"    a{i} = d{i}.val(m, env)", f"    if a{i} is NOT_INLINE: {fallback}"]
