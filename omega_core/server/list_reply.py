"""The ``list_sessions`` reply: every session as JSON columns, re-encoded only where a row changed.

With 1,000 sessions this is the server's biggest reply, asked for often (the TUI's sessions pane,
``:session list``), while one loaded session changes with every command. So each row's encoded
values are kept; a listing after a change encodes the changed rows only and joins bytes.

The wire form is columnar, ``{"columns": [...], "values": [[names...], [events...], ...]}``: half
the bytes of one object per row, and the client decodes a handful of lists instead of a thousand
(each decoded list is an object the client's garbage collector must later scan; the per-row form
made the client's full collections, and so its p99, several times slower).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

LIST_COLUMNS = ("name", "events", "checkpoints", "size", "last_access", "loaded")
"""The columns of a listing row, in wire order; ``OmegaClient.list_sessions`` turns them back into dicts."""

ListRow = tuple[str, int, int, int, float, bool]
"""One session's values in ``LIST_COLUMNS`` order."""

_HEAD = b'{"columns":' + json.dumps(list(LIST_COLUMNS), separators=(",", ":")).encode("utf-8") + b',"values":['


def _encode_value(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class ListReplyEncoder:
    """Encodes listings; remembers each row's encoded values until that row changes."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[ListRow, tuple[bytes, ...]]] = {}

    def encode(self, rows: Iterable[ListRow]) -> bytes:
        """``rows`` in the order they should be listed (by name)."""
        previous = self._rows
        kept: dict[str, tuple[ListRow, tuple[bytes, ...]]] = {}
        encoded: list[tuple[bytes, ...]] = []
        for row in rows:
            entry = previous.get(row[0])
            if entry is None or entry[0] != row:
                entry = (row, tuple(_encode_value(value) for value in row))
            kept[row[0]] = entry
            encoded.append(entry[1])
        self._rows = kept  # names gone from the listing are forgotten
        columns = zip(*encoded) if encoded else ((),) * len(LIST_COLUMNS)
        return _HEAD + b",".join(b"[" + b",".join(column) + b"]" for column in columns) + b"]}"


def rows_from_reply(result: Any) -> list[dict[str, Any]]:
    """A ``list_sessions`` result as one dict per session (also the older row-wise forms)."""
    if isinstance(result, dict) and "values" in result:
        columns = result["columns"]
        return [dict(zip(columns, values)) for values in zip(*result["values"])]
    if isinstance(result, dict) and "rows" in result:
        columns = result["columns"]
        return [dict(zip(columns, row)) for row in result["rows"]]
    if isinstance(result, dict) and "sessions" in result:
        result = result["sessions"]
    return list(result or [])
