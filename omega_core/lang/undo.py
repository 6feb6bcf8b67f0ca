"""Undoing what a stopped command changed, so it leaves the session as it was before it.

A command stopped from outside (a budget or an interrupt) did not fail by its own logic: its partial
effects would be an accident of where it was stopped. The machine records the first change of each
global and each hash-table entry during the command (the old value, once: a dict lookup per write,
nothing per read) and ``undo`` puts them back. Replay stops such a command at the same step and
undoes it the same way, so the log and the memory stay in step.

Not recorded: ``set!`` of a local variable of a closure made by an earlier command (frames are
written by the compiled code directly), and the memoized value of a forced promise (forcing again
gives the same value).
"""

from __future__ import annotations

from typing import Any, Callable

from omega_core.lang.equality import hash_key
from omega_core.lang.values import GlobalTable, HashTable

ABSENT: Any = object()
_SMALL_ATOMS = (int, float, bool, type(None))
"""Marks a global or hash key that did not exist before the command."""


class UndoJournal:
    """Old values of what the current command changed, by global name and by hash-table entry.

    It is part of a machine's saved state (``encode``/``decode``), so a replay that starts from a
    checkpoint taken in the middle of a command can still undo all of that command.
    """

    __slots__ = ("globals", "entries")

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self.entries: dict[tuple[int, Any], tuple[HashTable, Any, Any, Any]] = {}
        """(id of table, hash key) -> (table, hash key, key value, old value or ABSENT)."""

    def clear(self) -> None:
        self.globals.clear()
        self.entries.clear()

    def replaced_values(self) -> bool:
        """Whether the command replaced a global's value or a hash entry's by something else while
        the old one was a value that can hold memory (anything but a number, a boolean or a short
        string): what it may have freed, for the memory budget's count (``RecordedSession``)."""
        olds = [*self.globals.values(), *(entry[3] for entry in self.entries.values())]
        return any(old is not ABSENT and type(old) not in _SMALL_ATOMS
                   and not (type(old) is str and len(old) < 256) for old in olds)

    def note_entry(self, table: HashTable, key: Any, key_value: Any) -> None:
        """Before entry ``key`` (the hash key of ``key_value``) of ``table`` changes: remember it once."""
        slot = (id(table), key)
        if slot not in self.entries:
            self.entries[slot] = (table, key, key_value, table.table.get(key, ABSENT))

    def undo(self, globals_table: GlobalTable) -> int:
        """Put every recorded value back (marked dirty for state capture); return how many."""
        count = 0
        for name, old in self.globals.items():
            if old is ABSENT:
                globals_table.pop(name, None)
            else:
                globals_table[name] = old
            globals_table.dirty.add(name)
            count += 1
        for table, key, _, old_value in self.entries.values():
            if old_value is ABSENT:
                table.table.pop(key, None)
                table.keys.pop(key, None)
            else:
                table.table[key] = old_value  # an existing entry keeps its key value and place
            globals_table.dirty_objects[id(table)] = table
            count += 1
        self.clear()
        return count

    # --- as part of a saved state --------------------------------------------------------------

    def encode(self, enc: Callable[[Any], Any]) -> Any:
        """The journal as state data (``enc`` is the state encoder's value encoder); None if empty."""
        if not self.globals and not self.entries:
            return None
        items: list[tuple[Any, ...]] = [
            ("g", name, old is not ABSENT, None if old is ABSENT else old) for name, old in self.globals.items()
        ]
        items.extend(
            ("h", table, key_value, old is not ABSENT, None if old is ABSENT else old)
            for table, _, key_value, old in self.entries.values()
        )
        return enc(tuple(items))

    def decode(self, data: Any, dec: Callable[[Any], Any]) -> None:
        """Restore the journal from ``encode``'s data (``dec``: the state decoder's value decoder)."""
        self.clear()
        if data is None:
            return
        for item in dec(data):
            if item[0] == "g":
                self.globals[item[1]] = item[3] if item[2] else ABSENT
            else:
                table, key_value = item[1], item[2]
                key = hash_key(key_value)
                self.entries[(id(table), key)] = (table, key, key_value, item[4] if item[3] else ABSENT)
