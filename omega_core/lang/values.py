"""Run-time values of Omega Lisp and the small helpers every primitive needs.

Representation choices (kept stable: serialization and primitives rely on them):

* integers are Python ``int``; decimals are Python ``float``; ``#t``/``#f`` are ``True``/``False``
  (so a number test must exclude ``bool`` first: see ``is_number``);
* strings are Python ``str`` (immutable); symbols are interned ``Symbol`` objects, so ``eq?`` on
  symbols is identity;
* the empty list is the singleton ``NIL``; the unspecified value (``set!``, ``display``) is the
  distinct singleton ``UNSPECIFIED``; both print as ``null``;
* lists are chains of mutable ``Pair`` cells ending in ``NIL``.

Procedures (closures, primitives, continuations, oracle procedures) and promises are defined here
too so that the printer, the primitives and the serializer share one definition.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from omega_core.errors import EvalError
from omega_core.lang.turns import TURN_EVERY, take_turn


class Symbol:
    """An interned name. Create with ``Symbol.intern`` (or ``sym``), never directly."""

    __slots__ = ("name",)
    _table: dict[str, "Symbol"] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def intern(cls, name: str) -> "Symbol":
        symbol = cls._table.get(name)
        if symbol is None:
            symbol = cls(name)
            cls._table[name] = symbol
        return symbol

    def __repr__(self) -> str:
        return f"Symbol({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Symbol.intern, (self.name,))


def sym(name: str) -> Symbol:
    return Symbol.intern(name)


class _Nil:
    """The empty list. A singleton so ``is NIL`` is the test."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NIL"

    def __bool__(self) -> bool:  # pragma: no cover - guard against Python truthiness bugs
        raise TypeError("use `is NIL`, not truthiness, on Omega values")

    def __reduce__(self) -> str:
        return "NIL"


class _Unspecified:
    """What ``set!``, ``display`` and friends return. Prints as ``null`` like the empty list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSPECIFIED"

    def __reduce__(self) -> str:
        return "UNSPECIFIED"


class _Unassigned:
    """The content of a ``letrec``/internal-define slot before its definition has run."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNASSIGNED"

    def __reduce__(self) -> str:
        return "UNASSIGNED"


NIL = _Nil()
UNSPECIFIED = _Unspecified()
UNASSIGNED = _Unassigned()


class Pair:
    """A cons cell. Mutable only through the machine (no ``set-car!`` is exposed today)."""

    __slots__ = ("car", "cdr")

    def __init__(self, car: Any, cdr: Any) -> None:
        self.car = car
        self.cdr = cdr

    def __repr__(self) -> str:
        return f"Pair({self.car!r}, {self.cdr!r})"


class Closure:
    """A user procedure: compiled lambda plus the environment it closes over.

    ``builtin_name`` is set for procedures of the standard prelude (``map``, ``filter`` ...), which
    are written in Omega so that they accept closures and can be stepped, suspended and serialized,
    but print as ``<prim>`` like any other primitive.
    """

    __slots__ = ("lam", "env", "builtin_name")

    def __init__(self, lam: Any, env: Any, builtin_name: str | None = None) -> None:
        self.lam = lam
        self.env = env
        self.builtin_name = builtin_name


class Primitive:
    """A procedure written in Python.

    ``fn`` takes the evaluated arguments positionally and returns a value or raises
    ``EvalError``. When ``needs_machine`` is true, ``fn`` receives the running machine first (for
    output, ``gensym`` counters and the like). ``max_args`` is ``None`` for variadic procedures.
    """

    __slots__ = ("name", "fn", "min_args", "max_args", "needs_machine")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        min_args: int,
        max_args: int | None,
        needs_machine: bool = False,
    ) -> None:
        self.name = name
        self.fn = fn
        self.min_args = min_args
        self.max_args = max_args
        self.needs_machine = needs_machine


class MachinePrimitive:
    """A procedure that manipulates the machine itself (``apply``, ``call/cc``, ``force`` ...).

    ``op`` names a handler inside the machine; these are not callable from Python directly.
    """

    __slots__ = ("name", "op", "min_args", "max_args")

    def __init__(self, name: str, op: str, min_args: int, max_args: int | None) -> None:
        self.name = name
        self.op = op
        self.min_args = min_args
        self.max_args = max_args


class Continuation:
    """A captured continuation (``call/cc``) or an effect resumption (``k`` in ``handle``).

    ``frames`` is the captured frame chain. For a resumption, ``delimited`` is true and
    ``frames`` holds a tuple of frames to push on top of the caller's continuation.
    """

    __slots__ = ("frames", "delimited")

    def __init__(self, frames: Any, delimited: bool = False) -> None:
        self.frames = frames
        self.delimited = delimited


class Promise:
    """A delayed computation, memoized: ``delay``/``cons-stream`` bodies or ``stream-cons`` thunks.

    Unforced: ``node``/``env`` hold the delayed expression, or ``thunk`` a zero-argument procedure.
    Forced: ``forced`` is true and ``value`` holds the result.
    """

    __slots__ = ("node", "env", "thunk", "forced", "value")

    def __init__(self, node: Any = None, env: Any = None, thunk: Any = None) -> None:
        self.node = node
        self.env = env
        self.thunk = thunk
        self.forced = False
        self.value: Any = None


class HashTable:
    """A mutable table keyed by ``equal?``; ``keys`` keeps the original key values."""

    __slots__ = ("table", "keys")

    def __init__(self) -> None:
        self.table: dict[Any, Any] = {}
        self.keys: dict[Any, Any] = {}


class OracleProc:
    """A procedure made by ``oracle-lambda``: calling it asks the oracle with a built prompt."""

    __slots__ = ("lam", "env")

    def __init__(self, lam: Any, env: Any) -> None:
        self.lam = lam
        self.env = env


READ_CACHES_BOUND = 4096
"""How many caches a table notes before it drops repeats (a power of two)."""
NO_READS: tuple[Any, ...] = (None,)
"""An emptied cache of generated code's global reads: no table's stamp is None, so it reads again."""


class GlobalTable(dict):  # type: ignore[type-arg]
    """The global environment, plus what changed since the last state capture.

    ``dirty`` holds global names defined or set; ``dirty_objects`` the mutable objects (frames,
    hash tables, promises) mutated in place. Every machine sharing this table (a debugger shares
    the session's) shares the tracking too, so incremental capture never misses a change.
    """

    __slots__ = ("dirty", "dirty_objects", "stamp", "read_caches")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dirty: set[str] = set()
        self.dirty_objects: dict[int, Any] = {}
        self.stamp = object()
        """Replaced by a new object on every change: generated code keeps the globals it read
        with the stamp it read them at, and reads again only when it changed (``global_cache.py``)."""
        self.read_caches: list[Any] = []  # of ``global_cache.ReadCache``
        """The caches of generated code filled from this table since its last change: emptied at
        the next change, so code that never runs again does not keep an old value alive (a big
        string freed by ``set!`` stayed in memory, and in the session's memory budget, for good)."""

    def _changed(self) -> None:
        """A new stamp, and the caches filled from the table emptied (what they hold may be gone)."""
        self.stamp = object()
        for cache in self.read_caches:
            cache.snapshot = NO_READS
        self.read_caches.clear()

    def note_read_cache(self, cache: Any) -> None:
        """``cache`` was filled from this table. Code shared by two machines (the prelude's, two
        sessions running ``map`` in turns) refills from each table in turn, so the same cache can
        be noted many times before a change: past a bound the list is made unique again."""
        caches = self.read_caches
        caches.append(cache)
        if len(caches) > READ_CACHES_BOUND and len(caches) & (READ_CACHES_BOUND - 1) == 0:
            caches[:] = list({id(each): each for each in caches}.values())

    # Every way to change a dict, each giving the table a new stamp (``_changed``). (A C function
    # writing into the table directly would bypass these; nothing does.) ``__setitem__``, the one
    # a running ``set!`` uses, does it inline: a method call per global write is worth avoiding.

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        self.stamp = object()
        if self.read_caches:
            self._changed()

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name)
        self._changed()

    def __ior__(self, other: Any) -> "GlobalTable":
        dict.update(self, other)
        self._changed()
        return self

    def pop(self, *args: Any) -> Any:
        self._changed()
        return dict.pop(self, *args)

    def popitem(self) -> tuple[str, Any]:
        self._changed()
        return dict.popitem(self)

    def clear(self) -> None:
        dict.clear(self)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        dict.update(self, *args, **kwargs)
        self._changed()

    def setdefault(self, name: str, default: Any = None) -> Any:
        self._changed()
        return dict.setdefault(self, name, default)


PROCEDURE_TYPES = (Closure, Primitive, MachinePrimitive, Continuation, OracleProc)


# --- helpers for primitives ---------------------------------------------------------------------


def is_true(value: Any) -> bool:
    """Only ``#f`` is false in Omega."""
    return value is not False


def is_number(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float)


def is_procedure(value: Any) -> bool:
    return isinstance(value, PROCEDURE_TYPES)


def type_name(value: Any) -> str:
    """A short, user-facing name of a value's type, for error messages."""
    if value is True or value is False:
        return "boolean"
    if type(value) is int:
        return "integer"
    if type(value) is float:
        return "decimal"
    if type(value) is str:
        return "string"
    if type(value) is Symbol:
        return "symbol"
    if value is NIL:
        return "empty list"
    if value is UNSPECIFIED:
        return "unspecified value"
    if type(value) is Pair:
        return "pair"
    if is_procedure(value):
        return "procedure"
    if type(value) is Promise:
        return "promise"
    if type(value) is HashTable:
        return "hash table"
    return type(value).__name__


def make_list(items: Iterable[Any], tail: Any = NIL) -> Any:
    """Build an Omega list from Python items (iteratively, so long lists are fine; a long one
    takes turns, ``turns``). A sequence or dict view is read backwards in place, not copied."""
    try:
        backwards = reversed(items)  # type: ignore[call-overload]
    except TypeError:  # a generator, a set
        backwards = reversed(list(items))
    result = tail
    left = TURN_EVERY
    for item in backwards:
        result = Pair(item, result)
        left -= 1
        if not left:
            take_turn()
            left = TURN_EVERY
    return result


def count_pairs(value: Any) -> tuple[int, Any]:
    """How many pairs ``value``'s cdr chain has, and what ends it (``NIL`` for a proper list):
    the walk under ``length`` and ``list?``, taking turns on a long chain (``turns``)."""
    count = 0
    current = value
    while True:
        for _ in range(TURN_EVERY):
            if type(current) is not Pair:
                return count, current
            count += 1
            current = current.cdr
        take_turn()


def iter_list(value: Any, who: str = "list") -> Iterator[Any]:
    """Yield the elements of a proper list; raise a clear error on an improper one."""
    current = value
    while True:
        for _ in range(TURN_EVERY):
            if type(current) is not Pair:
                if current is not NIL:
                    raise EvalError(f"{who}: expected a proper list, got a list ending in {type_name(current)}")
                return
            yield current.car
            current = current.cdr
        take_turn()


def list_to_python(value: Any, who: str = "list") -> list[Any]:
    return list(iter_list(value, who))
