"""Named debugger snapshots (``:save``, ``:restore``, ``:snapshots``, ``:export``).

A snapshot is the serialized machine (``dump_state`` data) plus what is needed to go on from it
later, even after another ``:debug``: the expression, the effect answers recorded so far (so going
on from it never asks the oracle again for a question already answered) and the globals the
evaluation wrote (so time travel can undo them). They live in memory; ``:export`` writes one to a
file, atomically, as JSON with some metadata for people and tools reading it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_core.lang.serialize import dump_state
from omega_core.repl.timeline import EffectAnswer, Timeline
from omega_core.repl.views import Misuse, control_text
from omega_core.session.atomic import atomic_write_json
from omega_core.session.names import validate_name

EXPORT_FORMAT = "omega-debug-snapshot/1"


@dataclass(frozen=True)
class SavedSnapshot:
    name: str
    timeline: int
    source: str
    step: int
    status: str
    control: str
    state: dict[str, Any]
    answers: dict[int, EffectAnswer]
    """The timeline's answers dict itself, not a copy: effects answered after the save belong to the
    same computation, so a new timeline started from this snapshot reuses them too."""
    written: frozenset[str]
    saved_at_ms: int


class SnapshotStore:
    def __init__(self) -> None:
        self._saved: dict[str, SavedSnapshot] = {}

    def save(self, name: str, machine: Any, timeline: Timeline) -> str:
        validate_name(name, "snapshot")
        replaced = name in self._saved
        self._saved[name] = SavedSnapshot(
            name, timeline.ident, timeline.source, machine.steps, machine.status.value, control_text(machine, 80),
            dump_state(machine), timeline.answers, frozenset(timeline.written), int(time.time() * 1000),
        )
        return f"Saved snapshot '{name}' at step {machine.steps}{' (replacing the old one)' if replaced else ''}"

    def get(self, name: str) -> SavedSnapshot:
        validate_name(name, "snapshot")
        snap = self._saved.get(name)
        if snap is None:
            known = ", ".join(sorted(self._saved)) or "none saved yet"
            raise Misuse(f"no snapshot named '{name}' (snapshots: {known}; see :snapshots)")
        return snap

    def listing(self) -> str:
        if not self._saved:
            return "No snapshots. Save one with :save NAME while debugging"
        width = max(len(name) for name in self._saved)
        return "\n".join(
            f"  {snap.name.ljust(width)}  step {snap.step:<7} {snap.source}: {snap.control}"
            for snap in sorted(self._saved.values(), key=lambda s: s.name)
        )

    def export(self, name: str, path: str) -> str:
        snap = self.get(name)
        if not path or not str(path).strip():
            raise Misuse("usage: :export NAME FILE")
        target = Path(str(path).strip()).expanduser()
        atomic_write_json(target, {
            "format": EXPORT_FORMAT, "name": snap.name, "expression": snap.source, "step": snap.step,
            "status": snap.status, "control": snap.control, "saved_at_ms": snap.saved_at_ms, "state": snap.state,
        })
        return f"Exported snapshot '{name}' (step {snap.step}) to {target}"
