"""The Sessions pane: every session with its counts, size, last access, clients and lock.

Enter opens the highlighted session; n, f, r and d ask for a new session's name, a fork's name, a
new name, or a confirmation, then the app does it on the server.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from omega_tui.keys import bindings_for

COLUMNS = (("name", "Name"), ("events", "Events"), ("checkpoints", "Ckpts"), ("size", "Size"),
           ("last_access", "Last access"), ("clients", "Clients"), ("lock", "Lock"))


def human_bytes(size: Any) -> str:
    if not isinstance(size, (int, float)):
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover


def human_time(stamp: Any, deterministic: bool = False, now: float | None = None) -> str:
    """A time as "12 s ago" / "3 min ago" / a date; ``deterministic`` prints the UTC date only."""
    if not isinstance(stamp, (int, float)) or stamp <= 0:
        return "-"
    if stamp > 1e11:  # milliseconds
        stamp = stamp / 1000
    if deterministic:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp))
    age = (time.time() if now is None else now) - stamp
    if age < 0:
        return time.strftime("%H:%M:%S", time.localtime(stamp))
    if age < 60:
        return f"{age:.0f} s ago"
    if age < 3600:
        return f"{age / 60:.0f} min ago"
    if age < 86400:
        return f"{age / 3600:.0f} h ago"
    return time.strftime("%Y-%m-%d", time.localtime(stamp))


class SessionsTable(DataTable):
    BINDINGS = bindings_for("sessions")

    class Command(Message):
        """The user asked for ``action`` (open, new, fork, rename, delete, refresh) on ``name``."""

        def __init__(self, action: str, name: str | None) -> None:
            super().__init__()
            self.action = action
            self.name = name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_data: list[dict[str, Any]] = []
        self.current: str | None = None
        self.deterministic = False

    def on_mount(self) -> None:
        self._columns([])

    @property
    def highlighted_name(self) -> str | None:
        if not self.rows_data or self.cursor_row is None or not 0 <= self.cursor_row < len(self.rows_data):
            return None
        return str(self.rows_data[self.cursor_row]["name"])

    def set_rows(self, rows: list[dict[str, Any]], current: str | None) -> None:
        # The highlight stays where the user put it, but follows a session just created or opened.
        keep = self.highlighted_name if current == getattr(self, "current", None) else None
        self.rows_data = list(rows)
        self.current = current
        cells = []
        for row in rows:
            name = str(row.get("name"))
            marker = "● " if name == current else "  "
            clients = row.get("clients")
            label = Text(marker + name, style="bold" if name == current else "")
            if row.get("damaged"):  # the log failed validation: read-only until ":session repair NAME"
                label.append(" ⚠ damaged", "bold red")
            elif row.get("degraded"):  # a background job failed for this session
                label.append(" ⚠ degraded", "yellow")
            cells.append((name, [
                label,
                Text(str(row.get("events", "-")), justify="right"),
                Text(str(row.get("checkpoints", "-")), justify="right"),
                Text(human_bytes(row.get("size")), justify="right"),
                Text(human_time(row.get("last_access"), self.deterministic)),
                Text("-" if clients is None else str(clients), justify="right"),
                Text(str(row.get("lock") or "-")),
            ]))
        self.clear(columns=True)
        self._columns([row for _, row in cells])
        for name, row in cells:
            self.add_row(*row, key=name)
        target = keep if keep is not None else current
        names = [str(r.get("name")) for r in rows]
        if target in names:
            self.move_cursor(row=names.index(target), animate=False)

    def _columns(self, rows: list[list[Text]]) -> None:
        """Columns as wide as their widest cell (fixed widths: the layout never depends on timing)."""
        for index, (key, label) in enumerate(COLUMNS):
            width = max([len(label)] + [row[index].cell_len for row in rows])
            self.add_column(label, key=key, width=width)

    def _command(self, action: str) -> None:
        self.post_message(self.Command(action, self.highlighted_name))

    def action_open_session(self) -> None:
        self._command("open")

    def action_new_session(self) -> None:
        self._command("new")

    def action_fork_session(self) -> None:
        self._command("fork")

    def action_rename_session(self) -> None:
        self._command("rename")

    def action_delete_session(self) -> None:
        self._command("delete")

    def action_refresh(self) -> None:
        self._command("refresh")


class SessionsPane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Sessions"

    def compose(self):  # type: ignore[no-untyped-def]
        yield SessionsTable(id="sessions-table")

    @property
    def table(self) -> SessionsTable:
        return self.query_one(SessionsTable)
