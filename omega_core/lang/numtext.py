"""Numbers to text and back, exactly, for integers of any size.

Python 3.11 refuses ``str(int)``/``int(str)`` beyond 4,300 digits (a process-wide guard we must not
switch off: other code in the process may rely on it) and does both in quadratic time anyway. Omega
integers are exact and unbounded, so the printer and ``string->number`` use the divide-and-conquer
conversions below (the same algorithms CPython 3.12 adopted in ``_pylong``): large integers
convert through ``decimal`` (whose multiplication is sub-quadratic) and large digit strings are
split in halves and recombined with powers of five and shifts.
"""

from __future__ import annotations

import math
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import decimal

# Below these sizes the built-in conversions are fast and allowed.
_SMALL_BITS = 12_000  # about 3,600 decimal digits, under the 4,300-digit guard
_SMALL_DIGITS = 3_000

JSON_INT_BITS = _SMALL_BITS
"""Largest integer (in bits) written to JSON as a plain number. ``json.dumps``/``json.loads`` go
through ``str``/``int`` and so hit the 4,300-digit guard: larger integers are stored as digit text
(the state serializer tags them ``["i", digits]``) and converted with the functions below."""

# What ``string->number`` accepts: the reader's number syntax plus the printer's special decimals.
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL_DECIMALS = {"+inf.0": math.inf, "-inf.0": -math.inf, "+nan.0": math.nan, "-nan.0": math.nan}


def int_to_text(n: int) -> str:
    """Decimal digits of ``n`` (with ``-`` when negative), exact at any size."""
    if n.bit_length() <= _SMALL_BITS:
        return str(n)
    return str(_int_to_decimal(n))


def text_to_int(digits: str) -> int:
    """Parse an optionally signed run of ASCII digits, exact at any length."""
    sign = 1
    body = digits
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if len(body) <= _SMALL_DIGITS:
        return sign * int(body)
    return sign * _digits_to_int(body)


def float_to_text(x: float) -> str:
    """Shortest round-trip form (``repr``), with Scheme's spellings of infinities and NaN."""
    if x != x:
        return "+nan.0"
    if x == math.inf:
        return "+inf.0"
    if x == -math.inf:
        return "-inf.0"
    return repr(x)


def parse_number(text: str) -> int | float | None:
    """The number ``text`` spells (``-3``, ``2.5``, ``1e3``, ``+inf.0``), or None if it is not one.

    Exactly the whole text must match: no surrounding spaces, no ``_`` separators and no Python
    extras such as ``inf`` or ``0x10``.
    """
    if _INTEGER_RE.fullmatch(text):
        return text_to_int(text)
    special = _SPECIAL_DECIMALS.get(text)
    if special is not None:
        return special
    if _DECIMAL_RE.fullmatch(text):
        return float(text)
    return None


def _int_to_decimal(n: int) -> decimal.Decimal:
    """Exact ``Decimal`` equal to ``n``, by splitting ``n`` into halves of its bits."""
    import decimal  # only for integers past _SMALL_BITS: kept out of every start-up (omega --embedded --batch)

    two = decimal.Decimal(2)
    bit_limit = 128
    powers: dict[int, decimal.Decimal] = {}

    def pow2(width: int) -> decimal.Decimal:
        result = powers.get(width)
        if result is None:
            if width <= bit_limit:
                result = two**width
            elif width - 1 in powers:
                half = powers[width - 1]
                result = half + half
            else:
                low = width >> 1
                result = pow2(low) * pow2(width - low)
            powers[width] = result
        return result

    def convert(value: int, width: int) -> decimal.Decimal:
        # Recursion depth is log2(bits / 128): about 20 even for gigabit numbers.
        if width <= bit_limit:
            return decimal.Decimal(value)
        low_width = width >> 1
        high = value >> low_width
        low = value - (high << low_width)
        return convert(low, low_width) + convert(high, width - low_width) * pow2(low_width)

    with decimal.localcontext() as ctx:
        ctx.prec = decimal.MAX_PREC
        ctx.Emax = decimal.MAX_EMAX
        ctx.Emin = decimal.MIN_EMIN
        ctx.traps[decimal.Inexact] = True
        negative = n < 0
        result = convert(-n if negative else n, abs(n).bit_length())
        return -result if negative else result


def _digits_to_int(digits: str) -> int:
    """Exact ``int`` of a long digit string: ``hi * 10**k + lo`` with ``10**k = 5**k << k``."""
    digit_limit = 2048
    powers: dict[int, int] = {}

    def pow5(width: int) -> int:
        result = powers.get(width)
        if result is None:
            if width <= digit_limit:
                result = 5**width
            elif width - 1 in powers:
                result = powers[width - 1] * 5
            else:
                half = width >> 1
                result = pow5(half) * pow5(width - half)
            powers[width] = result
        return result

    def convert(start: int, end: int) -> int:
        if end - start <= digit_limit:
            return int(digits[start:end])
        mid = (start + end + 1) >> 1
        width = end - mid
        return convert(mid, end) + ((convert(start, mid) * pow5(width)) << width)

    return convert(0, len(digits))
