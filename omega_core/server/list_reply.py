"""The ``list_sessions`` reply: every session as JSON columns, re-encoded only where a row changed.

With 1,000 sessions this is the server's biggest reply, asked for often (the TUI's sessions pane,
``:session list``), while a loaded session changes with every command (and its last access with
every read). So the encoded columns are kept, and a listing patches the rows of loaded sessions
and joins bytes: about 0.1 ms for 1,000 sessions instead of 1-3 ms to encode them all.

The wire form is columnar, ``{"columns": [...], "values": [[names...], [events...], ...]}``: half
the bytes of one object per row, and the client decodes a handful of lists instead of a thousand
(each decoded list is an object the client's garbage collector must later scan; the per-row form
made the client's full collections, and so its p99, several times slower).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Hashable, Iterable, Sequence

LIST_COLUMNS = ("name", "events", "checkpoints", "size", "last_access", "loaded")
"""The columns of a listing row, in wire order; ``OmegaClient.list_sessions`` turns them back into dicts."""

ListRow = tuple[str, int, int, int, float, bool]
"""One session's values in ``LIST_COLUMNS`` order. ``last_access`` is rounded to the millisecond:
full-precision floats were half the client's time to decode a listing."""

_HEAD = b'{"columns":' + json.dumps(list(LIST_COLUMNS), separators=(",", ":")).encode("utf-8") + b',"values":['


def _encode_value(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _encode_run(values: Sequence[Any]) -> bytes:
    """Values as the comma-separated inside of a JSON array (one C-level ``dumps`` for the run)."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))[1:-1].encode("utf-8")


class ListReplyEncoder:
    """Encodes listings, keeping what does not change between them as bytes.

    ``layout`` names the set of rows and their order and which of them are live (loaded sessions,
    whose rows change with every command or read). For a layout, each column is kept as encoded
    runs of the other rows with gaps for the live ones; a listing compares the live rows,
    re-encodes those that changed and joins: O(live rows), not O(all rows). A new layout is
    encoded with one ``json.dumps`` per run. What is kept is about the size of the reply (10,000
    sessions: 0.4 MB; one bytes object per value would be 3 MB).
    """

    def __init__(self) -> None:
        self._layout: Hashable = _NO_LAYOUT
        self._runs: list[list[bytes]] = []
        """Per column: the encoded runs before, between and after the live rows (len(live) + 1)."""
        self._live_position: dict[str, int] = {}
        self._live_rows: list[ListRow] = []
        self._live_encoded: list[tuple[bytes, ...]] = []
        self._reply = b""

    @property
    def layout(self) -> Hashable:
        """The layout of the listing last encoded."""
        return self._layout

    def encode(self, layout: Hashable, all_rows: Callable[[], list[ListRow]], live_rows: Iterable[ListRow]) -> bytes:
        """The reply. ``all_rows()`` (every row, live ones included, in listing order) is called
        only for a new layout; ``live_rows`` must be the same names as in that listing."""
        live_rows = list(live_rows)
        if layout != self._layout:
            self._rebuild(all_rows(), {row[0] for row in live_rows})
            self._layout = layout
            changed = True
        else:
            changed = False
            for row in live_rows:
                position = self._live_position[row[0]]
                if self._live_rows[position] != row:
                    self._live_rows[position] = row
                    self._live_encoded[position] = _encode_row(row)
                    changed = True
        if changed or not self._reply:
            self._reply = _HEAD + b",".join(self._column(number) for number in range(len(LIST_COLUMNS))) + b"]}"
        return self._reply

    def _column(self, number: int) -> bytes:
        runs = self._runs[number]
        parts = [runs[0]] if runs[0] else []
        for encoded, run in zip(self._live_encoded, runs[1:]):
            parts.append(encoded[number])
            if run:
                parts.append(run)
        return b"[" + b",".join(parts) + b"]"

    def _rebuild(self, rows: list[ListRow], live_names: set[str]) -> None:
        live_at = [position for position, row in enumerate(rows) if row[0] in live_names]
        self._live_rows = [rows[position] for position in live_at]
        self._live_encoded = [_encode_row(row) for row in self._live_rows]
        self._live_position = {row[0]: index for index, row in enumerate(self._live_rows)}
        columns = list(zip(*rows)) if rows else [() for _ in LIST_COLUMNS]
        bounds = list(zip([-1] + live_at, live_at + [len(rows)]))
        self._runs = [[_encode_run(column[before + 1:after]) for before, after in bounds] for column in columns]


_NO_LAYOUT = object()


def _encode_row(row: ListRow) -> tuple[bytes, ...]:
    return tuple(_encode_value(value) for value in row)


def with_health(reply: bytes, health: dict[str, dict[str, Any]]) -> bytes:
    """``reply`` with a ``"health"`` member: the extra fields (``degraded``, ``damaged``) of the
    few unhealthy sessions, by name. Kept apart from the columns so a healthy listing stays the
    cached bytes; ``rows_from_reply`` merges them into the rows."""
    if not health:
        return reply
    return reply[:-1] + b',"health":' + json.dumps(health, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"}"


def rows_from_reply(result: Any) -> list[dict[str, Any]]:
    """A ``list_sessions`` result as one dict per session (also the older row-wise forms); unhealthy
    sessions' ``degraded``/``damaged`` fields (the reply's ``health`` member) are merged into their rows."""
    if isinstance(result, dict) and "values" in result:
        columns = result["columns"]
        if tuple(columns) == LIST_COLUMNS:  # the usual case: a dict display is 2.5x faster than dict(zip())
            rows = [{"name": name, "events": events, "checkpoints": checkpoints, "size": size,
                     "last_access": last_access, "loaded": loaded}
                    for name, events, checkpoints, size, last_access, loaded in zip(*result["values"])]
        else:
            rows = [dict(zip(columns, values)) for values in zip(*result["values"])]
        health = result.get("health")
        if isinstance(health, dict) and health:
            for row in rows:
                extra = health.get(row["name"])
                if isinstance(extra, dict):
                    row.update(extra)
        return rows
    if isinstance(result, dict) and "rows" in result:
        columns = result["columns"]
        return [dict(zip(columns, row)) for row in result["rows"]]
    if isinstance(result, dict) and "sessions" in result:
        result = result["sessions"]
    return list(result or [])
