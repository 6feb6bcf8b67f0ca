"""The primitives written in Python, by group; ``all_primitives`` gathers them for the machine."""

from __future__ import annotations

import importlib

from omega_core.lang.primitives._registry import REGISTRY
from omega_core.lang.values import Primitive

_MODULES = ("numbers", "lists", "predicates", "strings", "hashes")


def all_primitives() -> dict[str, Primitive]:
    """Name -> Primitive for every Python primitive (a fresh dict: callers may add to it)."""
    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return dict(REGISTRY)
