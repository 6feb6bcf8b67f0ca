"""Equality and type predicates.

``eq?`` and ``eqv?`` are the same test (``equality.is_eqv``): identity, except that numbers, booleans
and strings compare by type and value. Scheme leaves ``eq?`` on numbers unspecified; giving the
same answer as ``eqv?`` is the least surprising choice and costs nothing.
"""

from __future__ import annotations

from typing import Any

from omega_core.lang.equality import is_equal, is_eqv
from omega_core.lang.primitives._registry import primitive
from omega_core.lang.values import Symbol, is_number, is_procedure


@primitive("equal?", 2)
def equal(a: Any, b: Any) -> bool:
    """Structural equality: lists element by element, atoms as ``eqv?``."""
    return is_equal(a, b)


@primitive("eqv?", 2)
def eqv(a: Any, b: Any) -> bool:
    return is_eqv(a, b)


@primitive("eq?", 2)
def eq(a: Any, b: Any) -> bool:
    return is_eqv(a, b)


@primitive("not", 1)
def not_(value: Any) -> bool:
    """Only ``#f`` is false, so ``(not 0)`` and ``(not '())`` are ``#f``."""
    return value is False


@primitive("number?", 1)
def is_number_(value: Any) -> bool:
    return is_number(value)


@primitive("string?", 1)
def is_string(value: Any) -> bool:
    return type(value) is str


@primitive("symbol?", 1)
def is_symbol(value: Any) -> bool:
    return type(value) is Symbol


@primitive("boolean?", 1)
def is_boolean(value: Any) -> bool:
    return value is True or value is False


@primitive("procedure?", 1)
def is_procedure_(value: Any) -> bool:
    """Closures, primitives, continuations and oracle procedures alike."""
    return is_procedure(value)
