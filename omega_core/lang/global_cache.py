"""Global reads of generated code, looked up once per change of the global table.

Why: the code ``fastcall.py`` and ``fused.py`` generate reads globals at every step: the operator
(``fib`` in ``(fib (- n 1))``), and the primitive each written-in call checks it still calls
(``-``, ``<``, ``car`` ...). A ``(fib n)`` call read seven globals, each a dictionary lookup through
a method call: about a tenth of the run time of ``fib``. Globals change rarely while code runs
(a ``define`` at top level, a ``set!`` of a global), so each generated function keeps the values
it read with the table's ``stamp`` at that moment, and reads them again only when the stamp
changed.

Why it is exact: ``GlobalTable`` replaces its ``stamp`` by a new object on every change (item
assignment, deletion, ``pop``, ``update`` ...), so a function whose kept stamp ``is`` the table's
stamp holds exactly what ``table.get(name, MISSING)`` would return now, absent names included. A
kept stamp also pins its table: a function run against another machine's table (a debugger's, a
restored session's) sees another stamp and reads again. No primitive changes globals, so within one
generated function (which reads them before any further step is chained) the table cannot change
between the check and a read.
"""

from __future__ import annotations

import re
from typing import Any

_GLOBAL_READ = re.compile(r"\b(?:m\.globals|g)\.get\((\w+), MISSING\)")
"""A global read in generated code: ``g.get(NAME_PARAM, MISSING)`` (``NAME_PARAM`` holds the name)."""


class ReadCache:
    """A generated function's cache: ``snapshot`` is ``(stamp, value ...)``. An object hashed by
    identity, not a list: it is a constant of the function's code (``constant_cells``), and a
    code object hashes its constants (a tool hashing code objects would fail on a list); its slot
    is read as fast as a list's item."""

    __slots__ = ("snapshot",)

    def __init__(self) -> None:
        self.snapshot: tuple[Any, ...] = (None,)  # no stamp is None


def refill(cache: ReadCache, names: tuple[str, ...], table: Any, missing: Any) -> tuple[Any, ...]:
    """Read every global of ``names`` from ``table``: ``(stamp, value ...)``, kept in ``cache.snapshot``
    and returned. One tuple, replaced whole: the prelude's nodes are shared by every machine of
    the process and a session may replay in a worker thread while another runs, so a function
    works on the tuple it checked (a local), never on values another thread just put there."""
    snapshot = (table.stamp, *[table.get(name, missing) for name in names])  # the stamp first
    cache.snapshot = snapshot
    table.note_read_cache(cache)  # emptied at the table's next change (``GlobalTable``)
    return snapshot


class CachedReads:
    """The global reads of one generated function, rewritten to read its cache (``KC.snapshot``, read
    into the local ``KCV`` once per block).

    ``rewrite`` a block of the function's lines (the whole body, or each branch of a resumption,
    so a branch reading no global skips the stamp check); ``setup`` the lines the factory runs
    once per node before defining the function: its cache and the names, from the factory's
    parameters (``NAME_PARAM`` of each ``g.get(NAME_PARAM, MISSING)``)."""

    def __init__(self) -> None:
        self.params: list[str] = []

    def _slot(self, found: re.Match[str]) -> str:
        param = found.group(1)
        if param not in self.params:
            self.params.append(param)
        return f"KCV[{self.params.index(param) + 1}]"

    def rewrite(self, block: list[str]) -> list[str]:
        """``block`` reading its globals from the cache, checked first; unchanged if it reads none."""
        if not any(_GLOBAL_READ.search(line) for line in block):
            return block
        rewritten = [_GLOBAL_READ.sub(self._slot, line) for line in block if line.strip() != "g = m.globals"]
        return ["g = m.globals", "KCV = KC.snapshot",
                "if KCV[0] is not g.stamp: KCV = refill(KC, NAMES, g, MISSING)"] + rewritten

    def setup(self) -> list[str]:
        if not self.params:
            return []
        return ["KC = ReadCache()", f"NAMES = ({', '.join(self.params)},)"]


def cached_reads(body: list[str]) -> tuple[list[str], list[str]]:
    """The body of a generated function with its global reads from its cache, and the factory's
    setup lines for it (``CachedReads``)."""
    reads = CachedReads()
    body = reads.rewrite(body)
    return body, reads.setup()
