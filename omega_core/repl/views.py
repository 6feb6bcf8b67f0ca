"""Short texts about a machine's control and continuation, shared by the debugger and ``inspect``.

Everything here must stay cheap on huge data: values are printed with ``short_string`` (which stops
rendering once its limit is passed) and continuation depths are counted with a cache, because the
debugger asks for both after every single step.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang.machine import Status
from omega_core.lang.printer import short_string


class Misuse(Exception):
    """A command used wrongly (bad number, unknown id, nothing to debug): shown as ``error: ...``."""


def parse_int(value: int | str, what: str, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; the processor may hand over the raw text of an argument."""
    if isinstance(value, bool):
        raise Misuse(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        try:
            number = int(text, 10)
        except ValueError:
            raise Misuse(f"{what} must be a whole number, got {text[:40]!r}") from None
    if number < minimum:
        raise Misuse(f"{what} must be at least {minimum}, got {number}")
    return number


def node_text(node: Any, limit: int = 60) -> str:
    """The source of a compiled node, cut to ``limit`` characters without printing all of it."""
    form = getattr(node, "form", None)
    return short_string(form, limit) if form is not None else type(node).__name__


def value_text(value: Any, limit: int = 60) -> str:
    return short_string(value, limit)


def effect_text(machine: Any, limit: int = 60) -> str:
    """``infer.op "prompt"``: the host effect a machine waits for."""
    args = " ".join(short_string(arg, limit) for arg in machine.effect_args)
    text = f"{machine.effect_op} {args}".rstrip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_text(machine: Any) -> str:
    """The machine's error message with where it happened, as the evaluator words it."""
    error = machine.error
    message = error.message if error is not None else "unknown error"
    location = machine.error_location() if hasattr(machine, "error_location") else None
    return f"{message} ({location})" if location else message


def control_text(machine: Any, limit: int = 60) -> str:
    """One line: what the machine does next (``(fib (- n 1))``, ``value 3``, ``effect ...``)."""
    status = machine.status
    if status is Status.ERROR:
        return "error: " + error_text(machine)
    if status is Status.EFFECT:
        return f"effect {effect_text(machine, limit)} (waiting for the host)"
    if machine.node is not None:
        return node_text(machine.node, limit)
    return "value " + value_text(machine.value, limit)


def chain_length(frame: Any) -> int:
    count = 0
    while frame is not None:
        count += 1
        frame = frame.next
    return count


class DepthCounter:
    """Length of a continuation chain in (amortized) O(1) per step.

    Frames are immutable and chains share tails, so the depth of a frame never changes: it is
    cached by identity (with a strong reference, so an id is never reused while cached) and a new
    chain is walked only down to the first frame already known. The cache is dropped when it grows
    past ``limit`` entries, which bounds memory on very deep or very long runs.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[int, tuple[Any, int]] = {}
        self._limit = limit

    def __call__(self, k: Any) -> int:
        known = self._known
        path: list[Any] = []
        frame = k
        base = 0
        while frame is not None:
            hit = known.get(id(frame))
            if hit is not None and hit[0] is frame:
                base = hit[1]
                break
            path.append(frame)
            frame = frame.next
        if len(known) + len(path) > self._limit:
            known.clear()
        for item in reversed(path):
            base += 1
            known[id(item)] = (item, base)
        return base
