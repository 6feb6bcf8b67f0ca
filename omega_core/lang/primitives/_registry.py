"""Collects the Python-written primitives: each module decorates its functions with ``primitive``.

The registry is filled as a side effect of importing the modules (``all_primitives`` in the package
imports them all), so adding a primitive is one decorated function and nothing else.
"""

from __future__ import annotations

from typing import Any, Callable

from omega_core.lang.values import Primitive

_SAME_AS_MIN: Any = ...
"""Default of ``max_args``: a fixed-arity primitive takes exactly ``min_args`` arguments."""

REGISTRY: dict[str, Primitive] = {}


def primitive(
    name: str,
    min_args: int,
    max_args: int | None = _SAME_AS_MIN,
    needs_machine: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the Omega primitive ``name``.

    ``max_args`` defaults to ``min_args`` (fixed arity); ``None`` means variadic. The machine checks
    the argument count before calling, so the function only checks argument types. The function
    itself is returned unchanged, so modules can call each other's primitives directly.
    """
    upper = min_args if max_args is _SAME_AS_MIN else max_args

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY:
            raise RuntimeError(f"primitive {name!r} is registered twice")
        REGISTRY[name] = Primitive(name, fn, min_args, upper, needs_machine)
        return fn

    return register
