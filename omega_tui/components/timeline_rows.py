"""What a row of the Timeline pane says, as text: the branch graph of its gutter, the input and its
result, its marks, and the preview panel's text. Pure functions of the server's row dicts (the
``history`` op, see ``omega_core.server.ops_history``), so they are cheap to test and to bench.

Also: the sources a ``TimelineView`` reads rows from (``HistorySource``), one in memory (tests and
the bench), and ``rows_from_items``, which turns the older ``timeline`` op's checkpoint items into
rows (a server without ``history``, and the tag filter, which lists tagged items).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:  # pragma: no cover - a type only: importing it loads the session file layer (start-up)
    from omega_core.session.history import History

MAX_LANES = 4
"""Lanes drawn in the gutter; branches in lanes past it share the last column (drawn ``┆``)."""

Done = Callable[["dict[str, Any] | None", "BaseException | None"], None]

MARK_ICONS = {"snapshot": "◆", "annotation": "✎", "fork": "⑂"}
FOLD_REASONS = {"periodic": "periodic", "effect": "effect", "llm_boundary": "oracle"}


class HistorySource(Protocol):  # pragma: no cover - a shape
    """Where a ``TimelineView`` gets rows; every answer comes through ``done(result, error)`` on the
    UI thread (possibly at once). ``tag``: list the tagged items only (as rows)."""

    def page(self, offset: int, limit: int, tag: str | None, done: Done) -> None: ...

    def search(self, text: str, start: int, direction: int, done: Done) -> None: ...

    def detail(self, row: dict[str, Any], done: Done) -> None: ...


class MemorySource:
    """A ``History`` in memory (tests and the bench): answers at once, as the server would."""

    def __init__(self, history: History, position: int | None = None, extras: list[Any] | None = None) -> None:
        self.history = history
        self.position = position
        self.extras = list(extras or [])
        self.calls = 0

    def page(self, offset: int, limit: int, tag: str | None, done: Done) -> None:
        self.calls += 1
        done(self.history.page(offset, limit, self.position, self.extras), None)

    def search(self, text: str, start: int, direction: int, done: Done) -> None:
        done({"match": self.history.search(text, start, direction, self.extras)}, None)

    def detail(self, row: dict[str, Any], done: Done) -> None:
        index = int(row.get("index", 0))
        found = self.history.rows[index]
        done({"seq": found.seq, "end": found.end, "code": found.first_line, "output": "", "values": [found.preview],
              "errors": [], "names": [], "receipts": [], "tokens": 0, "checkpoints": []}, None)


def rows_from_items(page: dict[str, Any], offset: int) -> dict[str, Any]:
    """A ``timeline`` op page (checkpoint / jump / annotation / snapshot / fork items) as rows."""
    position = page.get("position")
    items = list(page.get("items") or [])
    rows = []
    for number, item in enumerate(items):
        seq = item.get("seq") if isinstance(item.get("seq"), int) else 0
        kind = str(item.get("kind") or "checkpoint")
        if kind in ("checkpoint", "jump"):
            text = str(item.get("label") or item.get("reason") or kind)
        else:
            text = f"{kind} {item.get('snapshot_id') or ''} {item.get('label') or ''}".replace("  ", " ").strip()
        following = items[number + 1].get("seq") if number + 1 < len(items) else None
        at_position = isinstance(position, int) and seq <= position and not (isinstance(following, int) and following <= position)
        rows.append({"index": offset + number, "seq": seq, "end": seq, "goto": seq, "first_line": text, "lines": 1,
                     "outcome": "none", "preview": "", "checkpoints": {}, "folded": [], "lane": 0, "through": [],
                     "through_current": [], "forks": [], "current": False, "at_position": at_position,
                     "marks": [] if kind in ("checkpoint", "jump") else [item], "kind": kind, "item": item})
    return {"total": int(page.get("total") or 0), "position": position, "lanes": 1, "rows": rows, "items_mode": True}


def gutter(row: dict[str, Any], lanes: int) -> list[tuple[str, bool]]:
    """The graph cells of ``row``: (two characters, on the current path) per lane shown."""
    shown = max(1, min(lanes, MAX_LANES))
    cells = [["  ", False] for _ in range(shown)]

    def column(lane: int) -> int:
        return min(lane, shown - 1)

    current = set(row.get("through_current") or [])
    for lane in row.get("through") or []:
        cells[column(lane)] = ["┆ " if lane >= shown else "│ ", lane in current]
    own = column(int(row.get("lane") or 0))
    for lane in row.get("forks") or []:
        target = column(lane)
        low, high = sorted((own, target))
        for col in range(low, high):
            if cells[col][0] == "  ":
                cells[col] = ["──", False]
            elif col != own:
                cells[col] = ["┼─", cells[col][1]]
        cells[target] = ["╮ " if target > own else "╭─", False]
    if row.get("outcome") == "error":
        dot = "✗"
    elif row.get("at_position"):
        dot = "◉"
    else:
        dot = "●"
    cells[own] = [dot + cells[own][0][1], bool(row.get("current"))]
    return [(text, on_path) for text, on_path in cells]


def fold_marker(row: dict[str, Any], expanded: bool) -> str:
    if not row.get("folded"):
        return " "
    return "▾" if expanded else "▸"


def row_body(row: dict[str, Any]) -> tuple[str, str, str]:
    """(input, result, marks) texts of a row: ``(fib 20)``, ``→ 6765``, ``◆ snap-1 #good``."""
    text = str(row.get("first_line") or "")
    if int(row.get("lines") or 1) > 1:
        text += f" …+{int(row['lines']) - 1}"
    outcome = row.get("outcome")
    preview = str(row.get("preview") or "")
    result = f"✗ {preview}" if outcome == "error" else (f"→ {preview}" if outcome == "result" else "")
    counts = row.get("checkpoints") or {}
    folded = sum(int(n) for n in counts.values())
    marks = []
    for mark in row.get("marks") or []:
        kind = str(mark.get("kind") or "")
        icon = MARK_ICONS.get(kind, "·")
        label = mark.get("snapshot_id") if kind == "snapshot" else mark.get("label")
        marks.append(f"{icon}{label or ''}" + "".join(f" #{tag}" for tag in mark.get("tags") or []))
    if folded:
        marks.append(f"[{folded} ckpt]")
    return text, result, " ".join(marks)


def row_segments(row: dict[str, Any], sub: int, lanes: int, expanded: bool, base: Style,
                 style: Callable[[str], Style]) -> list[Segment]:
    """The segments of one line: ``row`` itself (``sub`` -1) or its folded checkpoint ``sub``.
    ``style`` gives a component class's style (``timeline--graph`` ...)."""
    graph, graph_current = base + style("timeline--graph"), base + style("timeline--graph-current")
    cells = gutter(row, lanes)
    if sub >= 0:  # a folded checkpoint: the lines passing this row, and branches leaving it, go on
        own = min(int(row.get("lane") or 0), len(cells) - 1)
        cells = [("┆ " if column == own else ("│ " if text.startswith(("│", "┆", "╮", "╭", "┼")) else "  "), on_path)
                 for column, (text, on_path) in enumerate(cells)]
    segments = [Segment(text, graph_current if on_path else graph) for text, on_path in cells]
    if sub >= 0:
        folded = row.get("folded") or []
        segments.append(Segment("   " + folded_text(folded[sub] if sub < len(folded) else {}),
                                base + style("timeline--folded")))
        return segments
    body_style = base
    if row.get("at_position"):
        body_style = base + style("timeline--position")
    elif not row.get("current") and not row.get("item"):
        body_style = base + style("timeline--off-branch")
    marker = "▶" if row.get("at_position") else " "
    text, result, marks = row_body(row)
    segments.append(Segment(f"{marker}{fold_marker(row, expanded)}{text}", body_style))
    if result:
        segments.append(Segment(f"  {result}", base + style("timeline--error" if row.get("outcome") == "error"
                                                             else "timeline--result")))
    if marks:
        segments.append(Segment(f"  {marks}", base + style("timeline--marks")))
    return segments


def folded_text(checkpoint: dict[str, Any]) -> str:
    reason = str(checkpoint.get("reason") or "checkpoint")
    return f"○ {FOLD_REASONS.get(reason, reason)} checkpoint, seq {checkpoint.get('seq')}"


def preview_lines(row: dict[str, Any] | None, shown: dict[str, Any] | None, width: int) -> list[str]:
    """The preview panel's text for the selected row (``shown``: the ``history`` row detail)."""
    if row is None:
        return ["nothing selected"]
    if shown is None:
        lines = [f"seq {row.get('seq')}  {row.get('first_line') or ''}"]
        if row.get("preview"):
            lines.append(("error: " if row.get("outcome") == "error" else "=> ") + str(row["preview"]))
        return lines
    facts = [f"seq {shown.get('seq')}–{shown.get('end')}"]
    if shown.get("names"):
        facts.append("defines " + ", ".join(shown["names"]))
    receipts = len(shown.get("receipts") or [])
    if receipts:
        facts.append(f"{receipts} receipt{'s' if receipts != 1 else ''}")
    if shown.get("tokens"):
        facts.append(f"{shown['tokens']} tokens")
    checkpoints = len(shown.get("checkpoints") or [])
    if checkpoints:
        facts.append(f"{checkpoints} checkpoint{'s' if checkpoints != 1 else ''} inside")
    lines = [" · ".join(facts)]
    lines += [f"› {line}" for line in str(shown.get("code") or "").splitlines()[:4]]
    output = str(shown.get("output") or "").rstrip("\n")
    if output:
        lines += [f"  {line}" for line in output.splitlines()[:3]]
    lines += [f"=> {value}" for value in (shown.get("values") or [])[-2:]]
    lines += [f"error: {error}" for error in (shown.get("errors") or [])[:2]]
    return [line if len(line) <= width else line[:max(1, width - 1)] + "…" for line in lines]
