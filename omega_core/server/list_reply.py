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
from typing import Any, Callable, Hashable, Iterable

LIST_COLUMNS = ("name", "events", "checkpoints", "size", "last_access", "loaded")
"""The columns of a listing row, in wire order; ``OmegaClient.list_sessions`` turns them back into dicts."""

ListRow = tuple[str, int, int, int, float, bool]
"""One session's values in ``LIST_COLUMNS`` order. ``last_access`` is rounded to the millisecond:
full-precision floats were half the client's time to decode a listing."""

_HEAD = b'{"columns":' + json.dumps(list(LIST_COLUMNS), separators=(",", ":")).encode("utf-8") + b',"values":['


def _encode_value(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class ListReplyEncoder:
    """Encodes listings, keeping each row's encoded values and the joined columns.

    ``layout`` names the set of rows and the order (which sessions exist, which are loaded); while
    it stays the same, only ``live_rows`` (the loaded sessions, which change with every command or
    read) are compared and patched in place, so a listing costs O(loaded sessions) plus one join
    per column. A new layout re-encodes only rows it has not seen.
    """

    def __init__(self) -> None:
        self._layout: Hashable = _NO_LAYOUT
        self._position: dict[str, int] = {}
        self._rows: list[ListRow] = []
        self._columns: list[list[bytes]] = [[] for _ in LIST_COLUMNS]
        self._reply = b""

    def encode(self, layout: Hashable, all_rows: Callable[[], list[ListRow]], live_rows: Iterable[ListRow]) -> bytes:
        """The reply; ``all_rows()`` (every row, in listing order) is called only for a new layout."""
        if layout != self._layout:
            self._rebuild(all_rows())
            self._layout = layout
            changed = True
        else:
            changed = False
            for row in live_rows:
                position = self._position[row[0]]
                if self._rows[position] != row:
                    self._rows[position] = row
                    for column, value in zip(self._columns, _encode_row(row)):
                        column[position] = value
                    changed = True
        if changed or not self._reply:
            self._reply = _HEAD + b",".join(b"[" + b",".join(column) + b"]" for column in self._columns) + b"]}"
        return self._reply

    def _rebuild(self, rows: list[ListRow]) -> None:
        known = dict(zip((row[0] for row in self._rows), zip(self._rows, zip(*self._columns))))
        encoded: list[tuple[bytes, ...]] = []
        for row in rows:
            entry = known.get(row[0])
            encoded.append(entry[1] if entry is not None and entry[0] == row else _encode_row(row))
        self._rows = list(rows)
        self._position = {row[0]: position for position, row in enumerate(rows)}
        self._columns = [list(column) for column in zip(*encoded)] if encoded else [[] for _ in LIST_COLUMNS]


_NO_LAYOUT = object()


def _encode_row(row: ListRow) -> tuple[bytes, ...]:
    return tuple(_encode_value(value) for value in row)


def rows_from_reply(result: Any) -> list[dict[str, Any]]:
    """A ``list_sessions`` result as one dict per session (also the older row-wise forms)."""
    if isinstance(result, dict) and "values" in result:
        columns = result["columns"]
        if tuple(columns) == LIST_COLUMNS:  # the usual case: a dict display is 2.5x faster than dict(zip())
            return [{"name": name, "events": events, "checkpoints": checkpoints, "size": size,
                     "last_access": last_access, "loaded": loaded}
                    for name, events, checkpoints, size, last_access, loaded in zip(*result["values"])]
        return [dict(zip(columns, values)) for values in zip(*result["values"])]
    if isinstance(result, dict) and "rows" in result:
        columns = result["columns"]
        return [dict(zip(columns, row)) for row in result["rows"]]
    if isinstance(result, dict) and "sessions" in result:
        result = result["sessions"]
    return list(result or [])
