"""Inspection commands (``:env``, ``:defs``, ``:stack``, ``:frame``, ``:control``) on any machine.

They work on the session's machine or the debugger's alike and only read public registers.

Local variable names: the compiler resolves locals to frame slots and the run-time frames (Python
lists: slot 0 is the parent frame) do not carry names. They are recovered from the code instead:
starting at the node in control (or, while a value is being returned, the node of the innermost
frame that has one), we walk up the node tree of its compilation unit; every enclosing ``lambda``
body and ``let`` body is one run-time frame, innermost first, whose names are the parameters (or
let bindings) followed by the body's internal defines, in the compiler's slot order. Names are used
only when their count matches the frame's size; otherwise the slots are shown as ``slot N``.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang.builtins import is_builtin_value
from omega_core.lang.machine import Status
from omega_core.lang.nodes import Lambda, Let, Node
from omega_core.lang.printer import short_string, write_string
from omega_core.lang.values import UNASSIGNED, Pair, Symbol, is_procedure, sym
from omega_core.repl.views import Misuse, chain_length, control_text, effect_text, error_text, node_text, parse_int

VALUE_WIDTH = 80
LINE_WIDTH = 100
MAX_FRAMES = 50
_DEFINE, _BEGIN, _ON = sym("define"), sym("begin"), sym("on")


def _error(problem: Misuse) -> str:
    return f"error: {problem}"


# --- globals ----------------------------------------------------------------------------------------


def user_globals(machine: Any) -> dict[str, Any]:
    """The user's definitions: globals that are not the builtin value of their name."""
    return {name: value for name, value in machine.globals.items() if not is_builtin_value(name, value)}


def env(machine: Any, name: str | None = None) -> str:
    if name is not None and name.strip():
        return _lookup(machine, name.strip())
    lines = [f"  {key} = {short_string(value, VALUE_WIDTH)}" for key, value in sorted(user_globals(machine).items())]
    if not lines:
        lines.append("No user definitions.")
    scopes = local_scopes(machine)
    if scopes:
        lines.append(f"Locals at {_where(machine)} (innermost first):")
        for index, (label, slots) in enumerate(scopes):
            lines.append(f"  [{index}] {label}")
            lines.extend(f"    {slot} = {_slot_value(value, VALUE_WIDTH)}" for slot, value in slots)
    return "\n".join(lines)


def _lookup(machine: Any, name: str) -> str:
    for _label, slots in local_scopes(machine):
        for slot, value in slots:
            if slot == name:
                return f"{name} = {_slot_value(value, None)}"
    if name in machine.globals:
        return f"{name} = {write_string(machine.globals[name])}"
    return f"error: {name} is not defined"


def defs(machine: Any) -> str:
    table = user_globals(machine)
    if not table:
        return "No user definitions."
    width = max(len(name) for name in table)
    return "\n".join(
        f"  {name.ljust(width)}  {'procedure' if is_procedure(value) else 'value'}"
        for name, value in sorted(table.items())
    )


# --- continuation ---------------------------------------------------------------------------------


def _frames(machine: Any) -> list[Any]:
    frames, frame = [], machine.k
    while frame is not None:
        frames.append(frame)
        frame = frame.next
    return frames


def _cut(text: str, width: int = LINE_WIDTH) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def stack(machine: Any) -> str:
    lines: list[str] = []
    frame, index = machine.k, 0
    while frame is not None and index < MAX_FRAMES:
        lines.append(_cut(f"#{index} {frame.describe().strip()}"))
        frame, index = frame.next, index + 1
    if frame is not None:
        lines.append(f"... {chain_length(frame)} more frames")
    if not lines:
        return "The stack is empty: no frame is waiting for a value."
    return "\n".join(lines)


def frame(machine: Any, n: int | str) -> str:
    try:
        index = parse_int(n, "the frame number", 0)
    except Misuse as problem:
        return _error(problem)
    frames = _frames(machine)
    if index >= len(frames):
        return f"error: no frame {index}: the stack has {len(frames)} frame{'s' if len(frames) != 1 else ''} (see :stack)"
    item = frames[index]
    lines = [_cut(f"#{index} {item.describe().strip()}"), f"  kind: {type(item).__name__}"]
    for field in type(item).FIELDS:
        value = getattr(item, field, None)
        if field == "env":
            scopes = scopes_of(getattr(item, "node", None), value)
            lines.append("  env:" if scopes else "  env: global")
            for depth, (label, slots) in enumerate(scopes):
                lines.append(f"    [{depth}] {label}")
                lines.extend(_cut(f"      {slot} = {_slot_value(v, VALUE_WIDTH)}") for slot, v in slots)
        else:
            lines.append(_cut(f"  {field}: {_field_text(field, value)}"))
    return "\n".join(lines)


def _field_text(field: str, value: Any) -> str:
    if isinstance(value, Node):
        return node_text(value, LINE_WIDTH - 10)
    if field == "index" and value == -1:
        return "-1 (the operator)"
    if type(value) is tuple:
        return "[" + ", ".join(short_string(item, 30) for item in value) + "]"
    if value is None:
        return "none"
    return short_string(value, VALUE_WIDTH)


def control(machine: Any) -> str:
    status = machine.status
    lines = [f"status: {status.value} (step {machine.steps})"]
    if status is Status.ERROR:
        lines.append("error: " + error_text(machine))
    elif status is Status.EFFECT:
        lines.append(f"waiting for the host to perform {effect_text(machine, LINE_WIDTH)}")
    elif status is Status.DONE:
        lines.append(f"done: => {short_string(machine.value, LINE_WIDTH)}")
    elif machine.node is not None:
        lines.append(f"next: evaluate {control_text(machine, LINE_WIDTH)}")
    else:
        to = _cut(machine.k.describe().strip(), 60) if machine.k is not None else "the top level"
        lines.append(f"next: return {short_string(machine.value, 40)} to {to}")
    lines.append(f"depth: {chain_length(machine.k)} frames")
    return "\n".join(lines)


# --- local frames and their names ---------------------------------------------------------------


def _where(machine: Any) -> str:
    node, _env = _focus(machine)
    return node_text(node, 50) if node is not None else "the top level"


def _focus(machine: Any) -> tuple[Any, Any]:
    """The code position and environment the machine is in, or (None, None) when it is not in one."""
    if machine.status is Status.DONE:
        return None, None
    if machine.node is not None:
        return machine.node, machine.env
    frame = machine.k
    while frame is not None:
        if getattr(frame, "node", None) is not None and hasattr(frame, "env"):
            return frame.node, frame.env
        frame = frame.next
    return None, None


def local_scopes(machine: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The local frames where the machine stands: (label, [(name, value) ...]), innermost first."""
    node, frame_env = _focus(machine)
    return scopes_of(node, frame_env)


def scopes_of(node: Any, frame_env: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
    binders = _binders(node) if isinstance(node, Node) else []
    scopes: list[tuple[str, list[tuple[str, Any]]]] = []
    current, depth = frame_env, 0
    while type(current) is list:
        label, names = binders[depth] if depth < len(binders) else ("frame", None)
        slots = current[1:]
        if names is None or len(names) != len(slots):
            names = [f"slot {i}" for i in range(1, len(slots) + 1)]
        scopes.append((label, list(zip(names, slots))))
        current, depth = current[0], depth + 1
    return scopes


def _slot_value(value: Any, limit: int | None) -> str:
    if value is UNASSIGNED:
        return "<not yet defined>"
    return write_string(value) if limit is None else short_string(value, limit)


def _children(node: Node) -> list[tuple[str, Node]]:
    found: list[tuple[str, Node]] = []
    for cls in type(node).__mro__:
        for attr in getattr(cls, "__slots__", ()):
            if attr in ("unit", "form", "idx"):
                continue
            value = getattr(node, attr, None)
            items = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else (value,)
            found.extend((attr, item) for item in items if isinstance(item, Node))
    return found


def _parents(root: Node) -> dict[int, tuple[Node, str]]:
    """id(child) -> (parent, attribute holding it), for the tree under ``root`` (iteratively)."""
    parents: dict[int, tuple[Node, str]] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        for attr, child in _children(node):
            if id(child) not in parents and child is not root:
                parents[id(child)] = (node, attr)
                pending.append(child)
    return parents


def _binders(node: Node) -> list[tuple[str, list[str] | None]]:
    """(label, slot names) of each run-time frame around ``node``, innermost first."""
    root = node.unit.root
    if root is None:
        return []
    parents = _parents(root)
    binders: list[tuple[str, list[str] | None]] = []
    current = node
    while id(current) in parents:
        parent, attr = parents[id(current)]
        if attr == "body" and type(parent) is Lambda:
            binders.append(_lambda_names(parent))
        elif attr == "body" and type(parent) is Let:
            binders.append(_let_names(parent))
        current = parent
    return binders


def _lambda_names(lam: Lambda) -> tuple[str, list[str] | None]:
    params = list(lam.params) + ([lam.rest] if lam.rest else [])
    fixed = " ".join(lam.params)
    shape = f"({fixed})" if lam.rest is None else f"({fixed} . {lam.rest})" if fixed else lam.rest
    label = f"{lam.name or 'lambda'} {shape}"
    form = lam.form
    try:
        body = form.cdr.cdr.cdr if form.car is _ON else form.cdr.cdr
        return label, params + _defined_names(body)
    except AttributeError:
        return label, None


def _let_names(let: Let) -> tuple[str, list[str] | None]:
    form = let.form
    try:
        names = [binding.car.name for binding in _items(form.cdr.car)]
        return f"let ({' '.join(names)})", names + _defined_names(form.cdr.cdr)
    except AttributeError:
        return "let", None


def _items(form: Any) -> list[Any]:
    items = []
    while type(form) is Pair:
        items.append(form.car)
        form = form.cdr
    return items


def _defined_names(body: Any) -> list[str]:
    """Names of a body's internal defines in slot order (``begin``s holding defines are spliced)."""
    names: list[str] = []
    pending = list(reversed(_items(body)))
    while pending:
        item = pending.pop()
        if type(item) is not Pair:
            continue
        if item.car is _BEGIN and any(type(f) is Pair and f.car is _DEFINE for f in _items(item.cdr)):
            pending.extend(reversed(_items(item.cdr)))
        elif item.car is _DEFINE and type(item.cdr) is Pair:
            target = item.cdr.car
            if type(target) is Symbol:
                names.append(target.name)
            elif type(target) is Pair and type(target.car) is Symbol:
                names.append(target.car.name)
    return names
