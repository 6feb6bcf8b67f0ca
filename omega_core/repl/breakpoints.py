"""Debugger breakpoints: what they are, the table of them, and the per-step test.

Breakpoints are immutable records (a hit or a toggle replaces the record) so a listing can never
observe one half-updated. The test after each step is compiled into a ``Matcher`` of plain sets
once per command, because it runs after every machine step and must cost next to nothing when
no breakpoint is enabled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from omega_core.errors import OmegaError
from omega_core.lang.machine_control import HOST_OPS, Status
from omega_core.lang.nodes import Call
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all
from omega_core.lang.values import Symbol
from omega_core.repl.views import Misuse, parse_int

USAGE = "usage: :break step N | :break expr TAG | :break effect OP"


class BreakKind(enum.Enum):
    STEP = "step"
    """Stop when the machine reaches step N."""
    EXPR = "expr"
    """Stop when a call whose operator is the symbol TAG (or whose whole source is TAG) is next."""
    EFFECT = "effect"
    """Stop when the machine waits for host effect OP, before the host performs it."""


@dataclass(frozen=True)
class Breakpoint:
    id: int
    kind: BreakKind
    arg: str
    enabled: bool = True
    hits: int = 0

    @property
    def label(self) -> str:
        return f"{self.kind.value} {self.arg}"


@dataclass(frozen=True)
class Matcher:
    """The enabled breakpoints as sets keyed for a fast per-step test."""

    steps: dict[int, tuple[int, ...]]
    heads: dict[str, tuple[int, ...]]
    texts: dict[str, tuple[int, ...]]
    effects: dict[str, tuple[int, ...]]

    def match(self, machine: Any) -> tuple[int, ...]:
        """Ids of the breakpoints the machine's current state hits (in id order)."""
        found: tuple[int, ...] = ()
        if self.steps:
            found += self.steps.get(machine.steps, ())
        node = machine.node
        if node is not None and type(node) is Call and (self.heads or self.texts):
            operator = node.fn.form
            if type(operator) is Symbol:
                found += self.heads.get(operator.name, ())
            if self.texts:
                found += self.texts.get(write_string(node.form), ())
        if self.effects and machine.status is Status.EFFECT:
            found += self.effects.get(machine.effect_op or "", ())
        return tuple(sorted(set(found)))


def _normalized_source(text: str) -> str:
    """``(fib   2)`` as the printer writes it, so it compares equal to a node's printed source."""
    try:
        forms = read_all(text).forms
    except OmegaError as error:
        raise Misuse(f"cannot read the expression of the breakpoint: {error.message}") from None
    if len(forms) != 1:
        raise Misuse(f"expected one expression after :break expr, got {len(forms)}")
    return write_string(forms[0])


def _group(pairs: list[tuple[Any, int]]) -> dict[Any, tuple[int, ...]]:
    grouped: dict[Any, tuple[int, ...]] = {}
    for key, ident in pairs:
        grouped[key] = grouped.get(key, ()) + (ident,)
    return grouped


class BreakpointTable:
    """Breakpoints by id. Ids count up from 1 and are never reused, so an old id cannot suddenly
    name a different breakpoint."""

    def __init__(self) -> None:
        self._items: dict[int, Breakpoint] = {}
        self._next_id = 1

    def add(self, kind: BreakKind | str, arg: int | str) -> tuple[Breakpoint, str]:
        """Add a breakpoint; return it and a note for the user (empty when there is nothing to say)."""
        if not isinstance(kind, BreakKind):
            try:
                kind = BreakKind(str(kind).strip().lower())
            except ValueError:
                raise Misuse(f"unknown breakpoint kind {str(kind)[:40]!r}; {USAGE}") from None
        note = ""
        if kind is BreakKind.STEP:
            text = str(parse_int(arg, "the step of a breakpoint", 0))
        else:
            text = str(arg).strip()
            if not text:
                raise Misuse(f"missing {'TAG' if kind is BreakKind.EXPR else 'OP'}; {USAGE}")
            if kind is BreakKind.EXPR and text.startswith("("):
                text = _normalized_source(text)
            if kind is BreakKind.EFFECT and text not in HOST_OPS:
                note = (f"note: {text} is not a host effect, so this breakpoint can only hit if the host "
                        f"is asked for it (host effects: {', '.join(sorted(HOST_OPS))})")
        point = Breakpoint(self._next_id, kind, text)
        self._items[point.id] = point
        self._next_id += 1
        return point, note

    def get(self, ident: int | str) -> Breakpoint:
        number = parse_int(ident, "a breakpoint id", 1)
        point = self._items.get(number)
        if point is None:
            known = ", ".join(str(i) for i in self._items) or "none"
            raise Misuse(f"no breakpoint {number} (breakpoints: {known}; see :breaks)")
        return point

    def delete(self, ident: int | str) -> Breakpoint:
        point = self.get(ident)
        del self._items[point.id]
        return point

    def toggle(self, ident: int | str) -> Breakpoint:
        point = self.get(ident)
        point = replace(point, enabled=not point.enabled)
        self._items[point.id] = point
        return point

    def count_hits(self, idents: tuple[int, ...]) -> list[Breakpoint]:
        hit: list[Breakpoint] = []
        for ident in idents:
            point = replace(self._items[ident], hits=self._items[ident].hits + 1)
            self._items[ident] = point
            hit.append(point)
        return hit

    def matcher(self) -> Matcher | None:
        """None when no breakpoint is enabled: the stepping loop then skips the test entirely."""
        enabled = [point for point in self._items.values() if point.enabled]
        if not enabled:
            return None
        steps = [(int(p.arg), p.id) for p in enabled if p.kind is BreakKind.STEP]
        exprs = [p for p in enabled if p.kind is BreakKind.EXPR]
        heads = [(p.arg, p.id) for p in exprs if not p.arg.startswith("(")]
        texts = [(p.arg, p.id) for p in exprs if p.arg.startswith("(")]
        effects = [(p.arg, p.id) for p in enabled if p.kind is BreakKind.EFFECT]
        return Matcher(_group(steps), _group(heads), _group(texts), _group(effects))

    def table(self) -> str:
        if not self._items:
            return "No breakpoints. Add one with :break step N | expr TAG | effect OP"
        rows = [("id", "kind", "arg", "enabled", "hits")]
        for point in self._items.values():
            arg = point.arg if len(point.arg) <= 40 else point.arg[:37] + "..."
            rows.append((str(point.id), point.kind.value, arg, "yes" if point.enabled else "no", str(point.hits)))
        widths = [max(len(row[col]) for row in rows) for col in range(5)]
        lines = []
        for row in rows:
            cells = [row[0].rjust(widths[0])] + [row[col].ljust(widths[col]) for col in range(1, 5)]
            lines.append("  " + "  ".join(cells).rstrip())
        return "\n".join(lines)
