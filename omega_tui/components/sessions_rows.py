"""The Sessions pane's rows without the widget: filtering, sorting, and which columns fit.

Kept apart from the widget so the rules are plain functions (tested without a screen) and the
widget only draws the visible rows. Everything here is linear in the number of sessions at worst
(filtering and sorting 10,000 rows takes a few milliseconds), and nothing is formatted for rows
that are not on screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any



class SortKey(Enum):
    """The orders the Sessions pane cycles through (``s``); the header marks the sorted column."""

    NAME = "name"
    LAST_ACCESS = "last_access"
    SIZE = "size"

    @property
    def next(self) -> "SortKey":
        members = list(SortKey)
        return members[(members.index(self) + 1) % len(members)]

    @property
    def title(self) -> str:
        return {SortKey.NAME: "name", SortKey.LAST_ACCESS: "last access", SortKey.SIZE: "size"}[self]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else -1.0


def sort_rows(rows: list[dict[str, Any]], key: SortKey) -> list[dict[str, Any]]:
    """``rows`` in ``key`` order: names A to Z, the most recently used first, the biggest first
    (ties by name, so the order never depends on the server's)."""
    by_name = sorted(rows, key=lambda row: str(row.get("name", "")))
    if key is SortKey.NAME:
        return by_name
    field = "last_access" if key is SortKey.LAST_ACCESS else "size"
    return sorted(by_name, key=lambda row: _number(row.get(field)), reverse=True)


def filter_rows(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The rows whose name contains every word of ``text`` (case-insensitive), in their order."""
    words = text.lower().split()
    if not words:
        return rows
    return [row for row in rows if all(word in str(row.get("name", "")).lower() for word in words)]


def human_bytes(size: Any) -> str:
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover


def short_bytes(size: Any) -> str:
    """A size in at most 7 cells ("812 B", "9.8 KB", "121 KB", "1023 MB"): the Sessions pane's
    Size column must fit beside Name and Last access in a 30-cell pane (80 columns)."""
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 10 else f"{value:.1f} {unit}"
        value /= 1024
    return "-"  # pragma: no cover


def human_time(stamp: Any, deterministic: bool = False, now: float | None = None) -> str:
    """A time as an age ("12 s ago", "3 min ago", "2 days ago"), never an epoch; "-" if unknown.
    ``deterministic`` (snapshot tests) prints the UTC date instead, the same on every run."""
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool) or stamp <= 0:
        return "-"
    if stamp > 1e11:  # milliseconds
        stamp = stamp / 1000
    if deterministic:
        return time.strftime("%Y-%m-%d", time.gmtime(stamp))
    from omega_core.session.metrics import describe_age  # not at import: it loads the session file layer (start-up)

    return describe_age(stamp, now)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False


NAME_MIN = 8
NAME_MAX = 32
LAST_ACCESS_WIDTH = len("11 days ago")
SIZE_WIDTH = len("1023 KB")
OPTIONAL = (("events", "Events", True), ("clients", "Clients", True), ("checkpoints", "Ckpts", True),
            ("lock", "Lock", False))
"""Columns shown only when the pane is wide enough, in the order they are given up."""


def fit_columns(width: int, rows: list[dict[str, Any]], sort: SortKey) -> list[Column]:
    """The columns that fit ``width`` cells: Name, Size and Last access always, whole (never a cut
    header such as ``Last a``); Events, Clients, Ckpts and Lock as room allows. One space between
    columns; at 80 columns the pane has 29 cells: Name 8 + Size 7 + Last access 12 + 2 spaces. Widths depend on the rows' content only through the names' and counts' lengths."""
    arrow = {SortKey.NAME: "name", SortKey.LAST_ACCESS: "last_access", SortKey.SIZE: "size"}[sort]

    def label(key: str, text: str) -> str:
        if key != arrow:
            return text
        return text + ("▲" if sort is SortKey.NAME else "▼")

    longest = max([len(str(row.get("name", ""))) + 2 for row in rows] + [len("Name▲")])
    fixed = [Column("size", label("size", "Size"), max(SIZE_WIDTH, len(label("size", "Size"))), True),
             Column("last_access", label("last_access", "Last access"),
                    max(LAST_ACCESS_WIDTH, len(label("last_access", "Last access"))))]
    used = sum(column.width + 1 for column in fixed)
    name_width = max(NAME_MIN, min(NAME_MAX, longest, width - used))
    columns = [Column("name", label("name", "Name"), name_width)] + fixed
    used += name_width
    for key, text, right in OPTIONAL:
        values = [len(str(row.get(key) if row.get(key) is not None else "-")) for row in rows[:2000]]
        column_width = max([len(text)] + values)
        if key == "lock":
            column_width = min(column_width, 16)
        if used + 1 + column_width > width:
            break
        columns.append(Column(key, text, column_width, right))
        used += 1 + column_width
    # Give the name what is left (up to its longest), so long names are cut as little as possible.
    spare = width - used
    if spare > 0 and name_width < min(NAME_MAX, longest):
        grown = min(NAME_MAX, longest, name_width + spare)
        columns[0] = Column("name", columns[0].label, grown)
    return columns


def cell_text(row: dict[str, Any], key: str, deterministic: bool, now: float | None = None) -> str:
    """One cell's text (without the current-session marker and health notes)."""
    if key == "size":
        return short_bytes(row.get("size"))
    if key == "last_access":
        return human_time(row.get("last_access"), deterministic, now)
    value = row.get(key)
    return "-" if value is None or value == "" else str(value)


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells, cut with an ellipsis when too long."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    return text.rjust(width) if right else text.ljust(width)
