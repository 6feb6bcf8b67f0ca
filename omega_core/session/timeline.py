"""Annotations, snapshots and forks of a session, and the timeline that shows them with checkpoints.

They live in a small sidecar, ``<name>.timeline.json``, replaced atomically on every change (before
the change is acknowledged), so they survive restarts; copies and forks take the entries up to
their cut. A snapshot names a point of the log (a seq), so it shares the log instead of copying
it: creating one costs one small file write whatever the session's size.

The timeline merges the in-memory checkpoint list with these few extra items without building the
merged list: a page is found by binary search, so paging through 100,000 checkpoints stays cheap.
"""

from __future__ import annotations

import bisect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omega_core.errors import OmegaError
from omega_core.session.atomic import atomic_write_bytes
from omega_core.session.names import validate_name

SUFFIX = ".timeline.json"
LABEL_LIMIT = 200


class TimelineError(OmegaError):
    code = "bad_request"


class NoSuchThing(OmegaError):
    code = "not_found"


def timeline_path(sessions_dir: Path, name: str) -> Path:
    return sessions_dir / f"{name}{SUFFIX}"


def check_tags(tags: list[str]) -> list[str]:
    return [validate_name(tag, "tag") for tag in tags]


@dataclass
class Timeline:
    path: Path
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    forks: list[dict[str, Any]] = field(default_factory=list)
    next_snapshot: int = 1
    version: int = 0
    """Bumped on every change, so views can cache."""

    @classmethod
    def load(cls, path: Path) -> "Timeline":
        timeline = cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return timeline
        except (OSError, ValueError) as problem:
            raise TimelineError(f"timeline file {path} is unreadable ({problem}); move it away to start a new one") from None
        timeline.annotations = {int(seq): entry for seq, entry in data.get("annotations", {}).items()}
        timeline.snapshots = list(data.get("snapshots", []))
        timeline.forks = list(data.get("forks", []))
        timeline.next_snapshot = int(data.get("nextSnapshot", len(timeline.snapshots) + 1))
        return timeline

    def save(self) -> None:
        data = {
            "version": 1,
            "annotations": {str(seq): entry for seq, entry in sorted(self.annotations.items())},
            "snapshots": self.snapshots,
            "forks": self.forks,
            "nextSnapshot": self.next_snapshot,
        }
        atomic_write_bytes(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
        self.version += 1

    def is_empty(self) -> bool:
        return not (self.annotations or self.snapshots or self.forks)

    # --- changes -------------------------------------------------------------------------------

    def annotate(self, seq: int, label: str, note: str | None, tags: list[str]) -> None:
        if not label.strip():
            raise TimelineError("an annotation needs a label")
        if len(label) > LABEL_LIMIT:
            raise TimelineError(f"label too long ({len(label)} characters, at most {LABEL_LIMIT})")
        entry: dict[str, Any] = {"label": label, "tags": check_tags(tags), "created": time.time()}
        if note:
            entry["note"] = note
        self.annotations[seq] = entry
        self.save()

    def unannotate(self, seq: int) -> None:
        if seq not in self.annotations:
            raise NoSuchThing(f"no annotation at seq {seq} (see :session timeline)")
        del self.annotations[seq]
        self.save()

    def add_snapshot(self, seq: int, description: str, tags: list[str], auto: bool = False) -> dict[str, Any]:
        snapshot = {"id": f"snap-{self.next_snapshot}", "seq": seq, "description": description,
                    "tags": check_tags(tags), "created": time.time()}
        if auto:
            snapshot["auto"] = True
        self.next_snapshot += 1
        self.snapshots.append(snapshot)
        self.save()
        return snapshot

    def snapshot(self, snapshot_id: str) -> dict[str, Any]:
        for snapshot in self.snapshots:
            if snapshot["id"] == snapshot_id:
                return snapshot
        raise NoSuchThing(f"no snapshot {snapshot_id!r} (see :session snapshots)")

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshots.remove(self.snapshot(snapshot_id))
        self.save()

    def record_fork(self, name: str, seq: int) -> None:
        self.forks.append({"name": name, "seq": seq, "created": time.time()})
        self.save()

    def copy_to(self, path: Path, upto_seq: int | None) -> None:
        """The entries at or before ``upto_seq`` (all when None) into a new timeline file."""
        keep = (lambda seq: True) if upto_seq is None else (lambda seq: seq <= upto_seq)
        copy = Timeline(path, {seq: e for seq, e in self.annotations.items() if keep(seq)},
                        [s for s in self.snapshots if keep(s["seq"])], [f for f in self.forks if keep(f["seq"])],
                        self.next_snapshot)
        if not copy.is_empty():
            copy.save()

    # --- the merged view -----------------------------------------------------------------------

    def extras(self, tag: str | None = None) -> list[tuple[int, int, dict[str, Any]]]:
        """(seq, rank, item) of annotations, snapshots and forks, sorted; filtered by ``tag``."""
        items: list[tuple[int, int, dict[str, Any]]] = []
        for seq, entry in self.annotations.items():
            items.append((seq, 1, {"seq": seq, "kind": "annotation", "label": entry["label"], "note": entry.get("note"),
                                   "tags": entry.get("tags", [])}))
        for snapshot in self.snapshots:
            items.append((snapshot["seq"], 2, {"seq": snapshot["seq"], "kind": "snapshot", "snapshot_id": snapshot["id"],
                                               "label": snapshot["description"], "tags": snapshot.get("tags", [])}))
        for fork in self.forks:
            items.append((fork["seq"], 3, {"seq": fork["seq"], "kind": "fork", "label": fork["name"], "tags": []}))
        if tag is not None:
            items = [item for item in items if tag in item[2].get("tags", [])]
        items.sort(key=lambda item: (item[0], item[1]))
        return items


def checkpoint_item(cp: dict[str, Any]) -> dict[str, Any]:
    if "jumpTo" in cp:
        return {"seq": cp["seq"], "kind": "jump", "reason": cp["reason"], "label": f"jump to {cp['jumpTo']}",
                "state_id": cp["stateId"], "tags": []}
    return {"seq": cp["seq"], "kind": "checkpoint", "reason": cp["reason"], "state_id": cp["stateId"], "tags": []}


def page(checkpoints: list[dict[str, Any]], checkpoint_seqs: list[int], timeline: Timeline,
         offset: int, limit: int, tag: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """``(total, items)`` of the merged timeline from ``offset``; a checkpoint precedes the extras
    at its seq. With ``tag`` only tagged items (annotations, snapshots) are listed."""
    extras = timeline.extras(tag)
    if tag is not None:
        return len(extras), [item for _, _, item in extras[offset:offset + limit]]
    # position of extra k in the merged order = k + number of checkpoints with seq <= its seq
    positions = [k + bisect.bisect_right(checkpoint_seqs, seq) for k, (seq, _, _) in enumerate(extras)]
    total = len(checkpoints) + len(extras)
    items: list[dict[str, Any]] = []
    extra_index = bisect.bisect_left(positions, offset)
    checkpoint_index = offset - extra_index
    position = offset
    while position < min(total, offset + limit):
        if extra_index < len(extras) and positions[extra_index] == position:
            items.append(extras[extra_index][2])
            extra_index += 1
        else:
            items.append(checkpoint_item(checkpoints[checkpoint_index]))
            checkpoint_index += 1
        position += 1
    return total, items


def format_items(items: list[dict[str, Any]], position: int | None) -> list[str]:
    """Lines of ``:session timeline``; ``>`` marks the item at the current point."""
    marked = None
    if position is not None:
        for index, item in enumerate(items):
            if item["seq"] <= position:
                marked = index
    lines = []
    for index, item in enumerate(items):
        kind = item["kind"]
        if kind == "checkpoint":
            text = f"checkpoint {item['reason']}"
        elif kind == "jump":
            text = item["label"]
        elif kind == "annotation":
            text = f"annotation {item['label']!r}" + (f" - {item['note']}" if item.get("note") else "")
        elif kind == "snapshot":
            text = f"snapshot {item['snapshot_id']} {item['label']!r}"
        else:
            text = f"fork {item['label']!r}"
        tags = "".join(f" #{tag}" for tag in item.get("tags", []))
        lines.append(f"{'>' if index == marked else ' '} [{item['seq']:03d}] {text}{tags}")
    return lines
