"""Fused steps: one dispatch of the step loop takes several machine steps, counting each one.

Why: in CPython most of a step's time is the dispatch itself (the loop, a call, reading the
registers back); the steps of ``(fib n)`` come in fixed chains (enter the closure, its ``if``,
the branch's variable) that need no dispatch in between. Why it is safe: step counts are part of
the machine's contract (budgets, slices, periodic checkpoints, and a goto replays an input to the
same step), so a fused dispatch takes exactly the steps of the unfused ones, in the same order,
with the same effects, and adds the extra ones to ``Machine.fused_steps``. It fuses only while
``Machine.fusing`` is set, which ``Machine.run`` does only when the slice has room for
``FUSE_MAX_STEPS`` more steps: a slice therefore always ends on the same step, in the same state,
as when every step is its own dispatch, and states, frames and errors never see a difference.

The chains (and why none is longer than ``FUSE_MAX_STEPS``):

* ``if`` whose test is inline and whose chosen branch is a constant or a variable: the ``if``
  step, then the branch's value step (2). Code generated per branch shape (``if_ev``).
* a call that enters a closure whose body is an ``if``: the call step, then the ``if`` (above)
  (1 + 2). Written into the call's generated code (``fastcall._enter``): when the callee was a
  global closure the first time the call ran, its ``if`` is written in too (``if_lines``,
  ``fastcall_entry.entry_spec``), used while the closure entered is one of that lambda.
* a call that enters a closure whose body is a call of a primitive written in
  (``(lambda (x) (* x 3))`` given to ``map``): the call step, then the body's, when the body's
  global is still that primitive and its guard holds (1 + 1); otherwise the body's step is left
  to the next dispatch (``fastcall_entry.entry_spec``). Entries are written in for a call's operator
  read from a global or a local, in the call's code and in its resumptions. Any other closure whose
  body is a call of a primitive on inline operands (``Call.fuse_value``: a ``map`` given another
  lambda than the one its code was made for) has that body's step taken through its ``val``
  (``value_lines``), one step when the operator is a primitive, none otherwise (1 + 1).
* a call (or a call's resumption after an operand returned) whose next operand is itself a call
  with only inline operands: pushing the frame, then that call (above) (1 + 3). Only such a call
  qualifies (``Call.fuse_operand``), so the chain cannot go on into its operands.
* ... and when that operand call gave its value at once (a leaf ``(fib 1)``, ``(f (car l))``
  entering ``(lambda (x) (* x 3))``, ``+`` given to ``fold-left``): the value's return into the
  frame just pushed, i.e. the call's resumption, which may push and chain its next operand or
  enter the callee (above) (1 + 3 + 1 + 3 = 8). The resumption so called fuses no return of its
  own (``again`` False: ``return_lines``), so chains do not nest. When the operand call enters a
  closure whose body's step is written in (``(fib (- n 1))``), that step and the return are
  written into the waiting call's code instead of calling the operand's code and the
  resumption (``fastcall_callee.py``): the same chain, two Python calls fewer.
* an ``if`` whose test always takes steps and is a call with inline operands (``(pred (car l))``
  in ``filter``): pushing its frame, the test call (above, up to 3), the test's return into the
  ``if`` (1), then the chosen branch's step when it is such a call too (up to 3) (1 + 3 + 1 + 3
  = 8). Such an ``if`` is not itself fused into a call entering it (``If.fuse_entry``), so the
  chain cannot nest into another one. When the test's operator is a primitive written in
  (``even?`` given to ``filter``), the test's value is computed in the ``if``'s own code and its
  frame is never made (``fused_test.py``): the same steps, counted alike (1 + 2 + 3).
* a call whose first operand that takes steps is a call of a primitive written in (``(f acc (car
  l))`` with ``f`` bound to ``+``, ``(cons (car l) acc)``), at a dispatch's start (the call's
  ``ev``, or its resumption when ``again``): the operand's value computed in the call's code, its
  step and its return counted, no frame made; then the rest as a resumption that fuses no return
  (``fastcall_operand.py``) (1 + 2 + 3 = 6).

An inner step that fails is counted before it runs and its error names its own node, as the
machine loop would have done; an inner step that suspends (a host effect) leaves the machine as
the unfused step did. Nothing in a chain runs before the step it belongs to.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from omega_core.errors import OmegaError
from omega_core.lang import codegen_budget, constant_cells, fastcall_inline, global_cache
from omega_core.lang.frames import NOT_INLINE, IfK
from omega_core.lang.values import UNASSIGNED


def chain_lines(inner: str, indent: int) -> list[str]:
    """Source lines (for generated code) that take the step of node ``inner`` (already in
    ``m.node``) inside the current dispatch: counted first, its error named after it."""
    pad = " " * indent
    return [f"{pad}m.fused_steps += 1",
            f"{pad}try:",
            f"{pad}    step = {inner}.ev",  # a slot: read as an attribute, called (not a method call: unspecialised)
            f"{pad}    step(m)",
            f"{pad}except OmegaError as error:",
            f"{pad}    if getattr(error, 'node', None) is None:",
            f"{pad}        error.node = {inner}",
            f"{pad}    raise"]


def value_lines(inner: str, env: str, indent: int) -> list[str]:
    """Source lines (for generated code, where a call just entered a closure whose body is node
    ``inner``, already in ``m.node``, environment ``env``) that take the body's step too when it
    gives its value without steps of its own: a call of a primitive on inline operands
    (``Call.fuse_value``), evaluated by its ``val``, exactly the value (or error) its step would
    give. When ``val`` declines (the operator is no longer a primitive: it would take steps), the
    body's step is left to the next dispatch. Counted when taken (a failing one too, named after
    the body, as the machine loop would); at most one step, like an ``if`` entered (see above)."""
    pad = " " * indent
    # ``step`` holds the ``val`` (a slot, like ``ev`` in ``chain_lines``), then its value: no new
    # local name, as every local of a generated function costs each of its calls a little
    return [f"{pad}try:",
            f"{pad}    step = {inner}.val",
            f"{pad}    step = step(m, {env})",
            f"{pad}except OmegaError as error:",
            f"{pad}    m.fused_steps += 1",
            f"{pad}    if getattr(error, 'node', None) is None:",
            f"{pad}        error.node = {inner}",
            f"{pad}    raise",
            f"{pad}if step is not NOT_INLINE:",
            f"{pad}    m.value = step",
            f"{pad}    m.node = None",
            f"{pad}    m.fused_steps += 1"]


def return_lines(condition: str, indent: int) -> list[str]:
    """Source lines (after ``chain_lines`` of an operand call, in the code of the call waiting in
    frame ``waiting``) that take the next step too when the operand gave its value at once: the
    return into ``waiting``, i.e. that call's resumption, exactly what the machine loop does with
    a value and a ``CallK`` on top (``waiting`` must still be on top: a continuation called in the
    chain may have replaced the stack). The resumption is told (``again`` False) to fuse no return
    of its own. ``condition``: a prefix of the test (``again and `` in a resumption)."""
    pad = " " * indent
    return [f"{pad}if {condition}m.node is None and m.k is waiting:",
            f"{pad}    m.k = waiting.next",
            f"{pad}    m.fused_steps += 1",
            f"{pad}    try:",
            f"{pad}        resume = node.resume",
            f"{pad}        resume(m, waiting, m.value, False)",
            f"{pad}    except OmegaError as error:",
            f"{pad}        if getattr(error, 'node', None) is None:",
            f"{pad}            error.node = node",
            f"{pad}        raise"]


NAMESPACE: dict[str, Any] = {"OmegaError": OmegaError, "NOT_INLINE": NOT_INLINE, "IfK": IfK,
                             "UNASSIGNED": UNASSIGNED}
_IF_FACTORIES: dict[tuple[Any, ...], Callable[..., Any]] = {}


def branch_kind(branch: Any) -> str:
    """``C`` constant, ``L0``/``L1`` variable of the innermost frame or the one around it
    (their value step is written into the ``if``), ``-`` anything else (taken in its own step)."""
    from omega_core.lang.fastcall import operand_kind  # fastcall imports this module

    kind = operand_kind(branch)
    return kind if kind in ("C", "L0", "L1") else "-"


def _counted(steps: int) -> list[str]:
    return [f"m.fused_steps += {steps}"] if steps else []


def _branch_lines(kind: str, name: str, i: int | str, fusing: bool, pending: int = 0,
                  leave: str = "return") -> list[str]:
    """Lines that move to branch ``name``; with its value step fused when the kind allows (when
    ``m.fusing`` is set: ``fusing`` says the lines run only when it is, so it is not tested).
    ``pending``: fused steps taken but not yet counted (added on the way out). ``leave``: the
    statement that ends the step (``break`` where the lines are written into a loop run once)."""
    if kind == "C":
        fused = [f"m.value = {name}.value", "m.node = None", f"m.fused_steps += {1 + pending}", leave]
        return fused if fusing else ["if m.fusing:"] + ["    " + line for line in fused] + [f"m.node = {name}"]
    if kind in ("L0", "L1"):
        frame = "env" if kind == "L0" else "env[0]"
        fused = [f"v{i} = {frame}[{name}.index]", f"if v{i} is not UNASSIGNED:", f"    m.value = v{i}",
                 "    m.node = None", f"    m.fused_steps += {1 + pending}", f"    {leave}"]
        # unassigned: the variable's own step reports it
        return ((fused if fusing else ["if m.fusing:"] + ["    " + line for line in fused]) + [f"m.node = {name}"]
                + _counted(pending))
    return [f"m.node = {name}"] + _counted(pending)


def if_lines(then_kind: str, otherwise_kind: str, spec: Any, i: int | str = 0, node: str = "node",
             then: str = "then", otherwise: str = "otherwise", fusing: bool = False, pending: int = 0,
             leave: str = "return") -> list[str]:
    """The step of an ``if`` (environment in ``env``, test in ``d{i}``), as source lines; ``i``
    and the names keep them apart from the code they are written into (a call entering the
    closure whose body this ``if`` is: ``fastcall._enter``, where ``fusing`` is known, and the
    ``if``'s own step is fused: ``pending`` 1, counted on each way out, one addition fewer).
    Every way through them ends in ``leave`` but the last (which moves to a branch)."""
    # ``IfK(m.k, node, env)`` without its ``__init__`` call (``waiting{i}``: a caller's ``waiting`` is kept)
    frame = f"waiting{i}"
    in_steps = (f"{frame} = new_object(IfK); {frame}.next = m.k; {frame}.node = {node}; {frame}.env = env; "
                f"m.k = {frame}; m.node = d{i}; " + "".join(f"{line}; " for line in _counted(pending)) + leave)
    otherwise_lines = _branch_lines(otherwise_kind, otherwise, i, fusing, pending, leave)
    then_lines = _branch_lines(then_kind, then, i, fusing, pending, leave)
    by_value = ([f"if a{i} is False:"] + ["    " + line for line in otherwise_lines]
                + ["else:"] + ["    " + line for line in then_lines])
    if spec is None:
        return [f"a{i} = d{i}.val(m, env)", f"if a{i} is NOT_INLINE: {in_steps}"] + by_value
    reads, conditions, assign = fastcall_inline.inline_parts(spec, i)
    test = _TRUTH.match(assign[-1].split(" = ", 1)[1]) if len(assign) == 1 else None
    if test is None:
        return ["g = m.globals"] + fastcall_inline.inline_read(spec, i, in_steps) + by_value
    # a comparison (``(< n 2)``) written in decides the branch itself: no ``True``/``False`` made and tested
    first, second = (then_lines, otherwise_lines) if test.group(1) == "True" else (otherwise_lines, then_lines)
    chosen = ([f"if {test.group(2)}:"] + ["    " + line for line in first]
              + ["else:"] + ["    " + line for line in second])
    asked = [f"a{i} = d{i}.val(m, env)", f"if a{i} is NOT_INLINE: {in_steps}"] + by_value
    return (["g = m.globals"] + reads + [f"if {' and '.join(conditions)}:"] + ["    " + line for line in chosen]
            + ["else:"] + ["    " + line for line in asked])


_TRUTH = re.compile(r"(True|False) if (.+) else (?:True|False)\Z")
"""A written-in primitive's result that is a truth value picked by a test (``fastcall_inline.INLINE_PRIMITIVES``)."""


def if_ev(node: Any, test: Any, then: Any, otherwise: Any) -> Callable[[Any], None]:
    """The ``ev`` of an ``if`` whose test may be inline: the test's value picks the branch (one
    step), and when fusing, a constant or variable branch also gives its value (a second). Made
    on the first step: a test that calls a primitive (``(< n 2)``) has its call written in
    (``fastcall_inline.inline_specs``, which needs the globals of the machine running it)."""

    def first_ev(m: Any) -> None:
        from omega_core.lang import fastcall  # fastcall imports this module

        with codegen_budget.charged(m):
            specs, values = fastcall_inline.inline_specs((test,), (fastcall.operand_kind(test),), m)
            node.ev = _if_factory(branch_kind(then), branch_kind(otherwise), specs[0])(
                node, test, then, otherwise, *values)
        node.ev(m)

    return first_ev


def _if_factory(then_kind: str, otherwise_kind: str, spec: Any) -> Callable[..., Any]:
    from omega_core.lang import fastcall

    key = (then_kind, otherwise_kind, spec)
    factory = _IF_FACTORIES.get(key)
    if factory is None:
        body, setup = global_cache.cached_reads(["env = m.env"] + if_lines(then_kind, otherwise_kind, spec))
        params = ", ".join(["node", "test", "then", "otherwise"] + fastcall_inline.spec_params((spec,)))
        source = (f"def factory({params}):\n    d0 = test\n" + "".join(" " * 4 + line + "\n" for line in setup)
                  + "    def ev(m):\n" + "".join(" " * 8 + line + "\n" for line in body) + "    return ev\n")
        namespace = dict(NAMESPACE)
        namespace.update(fastcall.NAMESPACE)
        exec(compile(source, f"<omega fused if {key}>", "exec"), namespace)  # noqa: S102 - our own template
        factory = _IF_FACTORIES[key] = constant_cells.constant_factory(namespace["factory"])
    return factory
