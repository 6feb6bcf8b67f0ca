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

from typing import Any

from omega_core.lang.values import GlobalTable, HashTable

ABSENT: Any = object()
"""Marks a global or hash key that did not exist before the command."""


class UndoJournal:
    """Old values of what the current command changed, by global name and by hash-table entry."""

    __slots__ = ("globals", "entries")

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self.entries: dict[tuple[int, Any], tuple[HashTable, Any, Any, Any]] = {}

    def clear(self) -> None:
        self.globals.clear()
        self.entries.clear()

    def note_entry(self, table: HashTable, key: Any) -> None:
        """Before ``table[key]`` changes: remember its value (and stored key value) once."""
        slot = (id(table), key)
        if slot not in self.entries:
            self.entries[slot] = (table, key, table.table.get(key, ABSENT), table.keys.get(key, ABSENT))

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
        for table, key, old_value, old_key in self.entries.values():
            if old_value is ABSENT:
                table.table.pop(key, None)
                table.keys.pop(key, None)
            else:
                table.table[key] = old_value
                if old_key is not ABSENT:
                    table.keys[key] = old_key
            globals_table.dirty_objects[id(table)] = table
            count += 1
        self.clear()
        return count
