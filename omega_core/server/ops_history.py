"""The ``history`` op: a session's inputs as rows (``omega_core.session.history``), for the timeline pane.

Request ``{"op": "history", "session": S, "args": {...}}``, one of three forms:

* ``{"offset": N, "limit": M}`` (limit at most ``PAGE_LIMIT``): a page
  ``{total, position, position_row, lanes, rows: [...]}``; each row has ``index, seq, end, goto,
  first_line, lines, outcome (result|error|none), preview, checkpoints {periodic, effect,
  llm_boundary}, folded [{seq, reason}], branch, parent, lane, through, through_current, forks,
  current, at_position, marks [timeline items: annotation / snapshot / fork]``;
* ``{"search": TEXT, "from": ROW, "direction": 1|-1}``: ``{"match": ROW or null}``, the nearest row
  whose input, label or tag contains TEXT;
* ``{"row": ROW}``: the preview of one row ``{seq, end, code, output, values, errors, names,
  receipts, tokens, checkpoints}``, read from the log (one short stretch of it).

Nothing is recorded: browsing the history never changes the session. The rows are built once per
loaded session, by reading its log in a worker thread (the server's loop keeps serving); batches
appended meanwhile are buffered and added after, then every appended batch is added as it comes.
"""

from __future__ import annotations

import bisect
import weakref
from typing import TYPE_CHECKING, Any

import anyio

from omega_core.errors import OmegaError
from omega_core.server.ops_multi import session_name
from omega_core.server.protocol import ErrorCode, ProtocolError, Request
from omega_core.server.worker_threads import run_in_worker
from omega_core.session.history import History, detail

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.server.connection import Connection
    from omega_core.server.context import OpsContext as Backend
    from omega_core.session.recorded import RecordedSession

PAGE_LIMIT = 1000
SEARCH_LIMIT = 200
"""Longest search text (characters)."""


class HistoryFeed:
    """The ``History`` of one loaded session, kept current by the session's batch listener."""

    def __init__(self, session: "RecordedSession") -> None:
        self.history = History()
        self.ready = anyio.Event()
        self.problem: str | None = None
        self._buffer: list[list[dict[str, Any]]] | None = []
        self._scan_end = session.next_seq
        session.listeners.append(self._appended)

    def _appended(self, batch: list[dict[str, Any]]) -> None:
        if self._buffer is not None:
            self._buffer.append(batch)
        else:
            self.history.add_events(batch)

    def scan(self, session: "RecordedSession") -> None:
        """Read the log up to the seq seen at creation (worker thread: nothing else touches
        ``history`` until ``finish``)."""
        end = self._scan_end
        if end <= 0:
            return
        for _, event in session.iter_events():
            seq = event.get("seq")
            if isinstance(seq, int) and seq >= end:
                break
            self.history.add(event)

    def finish(self, problem: str | None) -> None:
        """Back on the loop: add what was appended during the scan, then follow live."""
        self.problem = problem
        buffered, self._buffer = self._buffer or [], None
        for batch in buffered:
            self.history.add_events(batch)
        self.ready.set()

    def detach(self, session: "RecordedSession") -> None:
        """Stop following the session (a feed that failed is dropped)."""
        if self._appended in session.listeners:
            session.listeners.remove(self._appended)


_FEEDS: "weakref.WeakKeyDictionary[RecordedSession, HistoryFeed]" = weakref.WeakKeyDictionary()


async def history_of(session: "RecordedSession") -> History:
    """The session's ``History``, built on first use (one log read, off the loop)."""
    feed = _FEEDS.get(session)
    if feed is None:
        feed = _FEEDS[session] = HistoryFeed(session)
        problem: str | None = "the request building it was cancelled"
        try:
            await run_in_worker(feed.scan, session)
            problem = None
        except OmegaError as error:
            problem = error.message
        except Exception as error:  # noqa: BLE001 - an unreadable log is reported, never a traceback
            problem = f"could not read the log of '{session.name}' ({error})"
        finally:
            feed.finish(problem)
            if problem is not None:  # the next request tries again (after a repair, say)
                _FEEDS.pop(session, None)
                feed.detach(session)
    await feed.ready.wait()
    if feed.problem is not None:
        raise ProtocolError(ErrorCode.INTERNAL, f"history of '{session.name}' unavailable: {feed.problem}")
    return feed.history


def _int(request: Request, key: str, default: int | None = None, minimum: int = 0) -> int:
    value = request.args.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"history: args.{key} must be an integer >= {minimum}", request.id)
    return value


def _read_from(session: "RecordedSession", seq: int) -> int:
    """Byte offset of the last checkpoint before ``seq`` (inputs end with one, so what is read
    from there to the row is short); 0 (the log's start) if there is none."""
    at = bisect.bisect_left(session.checkpoint_seqs, seq) - 1
    return int(session.checkpoints[at].get("byteOffset") or 0) if at >= 0 else 0


async def op_history(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(session_name(request), create=False)
    session = instance.session
    history = await history_of(session)
    extras = session.timeline.extras()
    if "row" in request.args:
        index = _int(request, "row")
        if index >= len(history):
            raise ProtocolError(ErrorCode.NOT_FOUND, f"history: no row {index} (the session has {len(history)} inputs)",
                                request.id)
        row = history.rows[index]
        offset = _read_from(session, row.seq)
        try:
            return await run_in_worker(
                lambda: detail((event for _, event in session.iter_events(offset)), row))
        except OmegaError as error:
            raise ProtocolError(ErrorCode.INTERNAL, f"history: could not read row {index}: {error.message}",
                                request.id) from None
    if "search" in request.args:
        text = request.args["search"]
        if not isinstance(text, str) or not text.strip() or len(text) > SEARCH_LIMIT:
            raise ProtocolError(ErrorCode.BAD_REQUEST,
                                f"history: args.search must be non-empty text of at most {SEARCH_LIMIT} characters",
                                request.id)
        direction = request.args.get("direction", 1)
        if direction not in (1, -1):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "history: args.direction must be 1 or -1", request.id)
        start = request.args.get("from", -1 if direction == 1 else 0)
        if not isinstance(start, int) or isinstance(start, bool):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "history: args.from must be a row index", request.id)
        return {"match": history.search(text, start, direction, extras)}
    offset = _int(request, "offset", 0)
    limit = min(_int(request, "limit", 200), PAGE_LIMIT)
    return history.page(offset, limit, session.position, extras)
