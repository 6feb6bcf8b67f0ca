"""What the panes need from the server, on top of ``OmegaClient`` (blocking: call from workers only).

The app never parses REPL text for its panes: it uses the structured ops. Some of them are newer
than the server a user may run (``subscribe``, ``access``, ``clients``, ``metrics``, ``timeline``,
``annotate``, ``snapshot`` ...). ``ServerLink`` calls them, notes an op the server does not offer
(``OpUnavailable``) and falls back where an older op gives the same facts:

* ``timeline`` -> the ``checkpoints`` list, paged here (no annotations, tags or snapshots);
* ``metrics`` -> ``status`` for the server figures and ``list_sessions`` plus the latencies this
  front end measured for the session figures;
* ``subscribe`` -> the app polls ``trace`` (see ``OmegaApp``);
* ``access`` -> read-write is assumed (the server has no locks yet).

Ops with no fallback (annotate, snapshot, restore ...) raise ``OpUnavailable``; the app says so.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from omega_core.server.client import ServerError
from omega_tui import DEFAULT_SESSION

__all__ = ["DEFAULT_SESSION", "OpUnavailable", "ServerLink", "unavailable_cause"]

LATENCY_WINDOW = 60


class ClientLike(Protocol):  # pragma: no cover - the shape OmegaClient (and the canned client) offer
    client_id: str

    def call(self, op: str, session: str | None = None, **args: Any) -> Any: ...
    def execute(self, line: str, session: str | None = None) -> Any: ...
    def list_sessions(self) -> list[dict[str, Any]]: ...
    def open_session(self, session: str, read_only: bool = False) -> Any: ...


class OpUnavailable(Exception):
    """The server does not offer ``op`` (yet): the feature that needs it is off, with this reason."""

    def __init__(self, op: str, detail: str = "") -> None:
        super().__init__(f"the server does not offer '{op}' yet" + (f" ({detail})" if detail else ""))
        self.op = op
        self.detail = detail


def _is_missing_op(problem: ServerError, op: str) -> bool:
    """A reply that means "no such op on this server" rather than a real failure of the op."""
    code = str(problem.code)
    text = str(problem)
    if code == "bad_request" and ("not available" in text or "unknown op" in text):
        return True
    # A server whose protocol lists the op but whose backend has no handler answers with KeyError.
    return code == "internal" and "KeyError" in text and op in text


def unavailable_cause(problem: BaseException) -> str | None:
    """The supervisor's cause when it gave up restarting the backend (error code ``unavailable``)."""
    if isinstance(problem, ServerError) and str(problem.code) == "unavailable":
        return str(problem)
    return None


class ServerLink:
    """Thread-safe helpers over one client; every method blocks on the server."""

    def __init__(self, client: ClientLike) -> None:
        self.client = client
        self.missing: set[str] = set()
        self._lock = threading.Lock()
        self._latencies: dict[str, collections.deque[float]] = {}
        self._counts: dict[str, list[int]] = {}  # session -> [commands, errors, steps]
        self._checkpoint_cache: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        self._streams = True

    # --- generic ---------------------------------------------------------------------------------

    def optional(self, op: str, session: str | None = None, **args: Any) -> Any:
        """``call`` an op that may not exist on this server; raises ``OpUnavailable`` if so."""
        if op in self.missing:
            raise OpUnavailable(op)
        try:
            return self.client.call(op, session, **args)
        except ServerError as problem:
            if _is_missing_op(problem, op):
                with self._lock:
                    self.missing.add(op)
                raise OpUnavailable(op, str(problem)) from None
            raise

    def has(self, op: str) -> bool:
        return op not in self.missing

    @property
    def client_id(self) -> str:
        return str(getattr(self.client, "client_id", ""))

    # --- sessions --------------------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """``list_sessions`` rows, each with ``clients`` (count or None) and ``lock`` (holder text)."""
        rows = [dict(row) for row in self.client.list_sessions()]
        for row in rows:
            if row.get("clients") is not None:  # a server that lists them itself: one request in all
                continue
            row["clients"] = None
            row.setdefault("lock", None)
            if not row.get("loaded") or "clients" in self.missing:
                continue
            try:
                holders = self.optional("clients", row["name"])
            except (OpUnavailable, ServerError):
                continue
            holders = holders if isinstance(holders, list) else []
            row["clients"] = len(holders)
            writers = [h for h in holders if isinstance(h, dict) and h.get("mode") == "read-write"]
            row["lock"] = writers[0].get("name") or writers[0].get("client_id") if writers else None
        return rows

    def open(self, session: str) -> dict[str, Any]:
        """Open ``session`` (created if new) and take read-write access, or read-only if another
        client holds it. Result: the open reply plus ``mode`` and ``holder`` (why read-only)."""
        opened = self.client.open_session(session)
        info = dict(opened) if isinstance(opened, dict) else {"session": session}
        info.setdefault("session", session)
        info.update(self.access(info["session"]))
        return info

    def access(self, session: str, steal: bool = False) -> dict[str, Any]:
        try:
            granted = self.optional("access", session, mode="read-write", steal=steal)
            return {"mode": (granted or {}).get("mode", "read-write"), "holder": None}
        except OpUnavailable:
            return {"mode": "read-write", "holder": None}
        except ServerError as problem:
            if str(problem.code) != "locked":
                raise
            holder = str(problem)
        try:
            self.optional("access", session, mode="read-only", steal=False)
        except OpUnavailable:
            pass
        return {"mode": "read-only", "holder": holder}

    def release(self, session: str) -> None:
        try:
            self.optional("release", session)
        except (OpUnavailable, ServerError):
            pass

    def subscribe(self, session: str) -> bool:
        """True if the server will push this session's events; False: the caller must poll."""
        if "subscribe" in self.missing:
            return False
        try:
            subscribe = getattr(self.client, "subscribe", None)
            if subscribe is not None:
                subscribe(session)
            else:
                self.client.call("subscribe", session)
            return True
        except ServerError as problem:
            if _is_missing_op(problem, "subscribe"):
                with self._lock:
                    self.missing.add("subscribe")
                return False
            raise

    def unsubscribe(self, session: str) -> None:
        if "subscribe" in self.missing:
            return
        try:
            unsubscribe = getattr(self.client, "unsubscribe", None)
            if unsubscribe is not None:
                unsubscribe(session)
            else:
                self.client.call("unsubscribe", session)
        except ServerError:
            pass

    def transcript(self, session: str, limit: int = 200) -> list[dict[str, Any]]:
        return list(self.client.call("transcript", session, limit=limit) or [])

    def events_after(self, session: str, seq: int, most: int = 2000) -> list[dict[str, Any]]:
        """Events of ``session`` with a seq above ``seq`` (for polling when there are no pushes)."""
        last = self.client.call("trace", session, count=1) or []
        if not last or int(last[-1].get("seq", -1)) <= seq:
            return []
        count = min(most, int(last[-1]["seq"]) - seq)
        return [event for event in self.client.call("trace", session, count=count) or [] if int(event.get("seq", -1)) > seq]

    def last_seq(self, session: str) -> int:
        last = self.client.call("trace", session, count=1) or []
        return int(last[-1].get("seq", -1)) if last else -1

    def fork(self, session: str, name: str) -> Any:
        return self.client.execute(f":session fork {name}", session)

    def rename(self, session: str, to: str) -> Any:
        rename = getattr(self.client, "rename_session", None)
        return rename(session, to) if rename is not None else self.client.call("rename", session, to=to)

    def delete(self, session: str) -> Any:
        delete = getattr(self.client, "delete_session", None)
        return delete(session) if delete is not None else self.client.call("delete", session, confirm=session)

    # --- running code ----------------------------------------------------------------------------

    def execute(self, line: str, session: str, on_output: Callable[[str], None] | None = None,
                on_oracle: Callable[[str], None] | None = None,
                on_form: Callable[[dict[str, Any]], None] | None = None,
                on_resent: Callable[[], None] | None = None) -> Any:
        """Run ``line``; ``on_output`` gets its output chunks as the server streams them (from the
        client's reading thread), ``on_oracle`` the pieces of a streaming oracle answer,
        ``on_form`` each form's result as it ends and ``on_resent`` a resend after a reconnect,
        when the client can stream."""
        began = time.perf_counter()
        if on_output is not None and self._streams:
            listeners = {"on_output": on_output, "on_oracle": on_oracle, "on_form": on_form, "on_resent": on_resent}
            try:
                reply = self.client.execute(line, session, **{key: value for key, value in listeners.items()
                                                              if value is not None})
            except TypeError as problem:  # a client without streaming: run without it
                if not any(key in str(problem) for key in listeners):
                    raise
                self._streams = False
                reply = self.client.execute(line, session)
        else:
            reply = self.client.execute(line, session)
        elapsed = (time.perf_counter() - began) * 1000
        with self._lock:
            window = self._latencies.setdefault(session, collections.deque(maxlen=LATENCY_WINDOW))
            window.append(elapsed)
            counts = self._counts.setdefault(session, [0, 0, 0])
            counts[0] += 1
            counts[1] += 0 if getattr(reply, "ok", True) else 1
            counts[2] += sum(int(r.get("steps") or 0) for r in getattr(reply, "results", []) or [])
        return reply

    def interrupt(self, session: str) -> Any:
        interrupt = getattr(self.client, "interrupt", None)
        return interrupt(session) if interrupt is not None else self.client.call("interrupt", session)

    def goto(self, session: str, seq: int) -> Any:
        goto = getattr(self.client, "goto", None)
        return goto(session, seq) if goto is not None else self.client.call("goto", session, seq=seq)

    # --- timeline ---------------------------------------------------------------------------------

    def timeline(self, session: str, offset: int, limit: int, tag: str | None = None) -> dict[str, Any]:
        """One page ``{total, position, items}`` of the session's timeline (see module docstring)."""
        try:
            page = self.optional("timeline", session, tag=tag, offset=offset, limit=limit)
            if isinstance(page, dict):
                return {"total": int(page.get("total") or 0), "position": page.get("position"),
                        "items": list(page.get("items") or [])}
        except OpUnavailable:
            pass
        if tag:  # the checkpoint list has no tags
            return {"total": 0, "position": None, "items": []}
        with self._lock:
            cached = self._checkpoint_cache.get(session)
        if cached is None or offset == 0 or time.monotonic() - cached[0] > 1.0:
            checkpoints = list(self.client.call("checkpoints", session) or [])
            cached = (time.monotonic(), checkpoints)
            with self._lock:
                self._checkpoint_cache[session] = cached
        checkpoints = cached[1]
        items = [
            {"seq": cp.get("seq"), "kind": "jump" if cp.get("jumpTo") is not None else "checkpoint",
             "reason": cp.get("reason"), "label": None, "note": None, "tags": [],
             "state_id": cp.get("stateId"), "snapshot_id": None}
            for cp in checkpoints[offset:offset + limit]
        ]
        return {"total": len(checkpoints), "position": None, "items": items}

    def annotate(self, session: str, seq: int, label: str, note: str, tags: list[str]) -> Any:
        return self.optional("annotate", session, seq=seq, label=label, note=note, tags=tags)

    def unannotate(self, session: str, seq: int) -> Any:
        return self.optional("unannotate", session, seq=seq)

    def snapshot(self, session: str, description: str, tags: list[str]) -> Any:
        return self.optional("snapshot", session, description=description, tags=tags)

    def snapshots(self, session: str) -> list[dict[str, Any]]:
        return list(self.optional("snapshots", session) or [])

    def restore(self, session: str, snapshot_id: str, as_name: str | None) -> Any:
        return self.optional("restore", session, **{"id": snapshot_id, "as": as_name})

    # --- metrics ----------------------------------------------------------------------------------

    def _server_metrics_of(self, session: str | None) -> dict[str, Any] | None:
        """The server's ``metrics`` (of ``session``, or of the server), tagged; None if it has none."""
        try:
            result = self.optional("metrics", session)
        except OpUnavailable:
            return None
        return {**result, "source": "server"} if isinstance(result, dict) else None

    def session_metrics(self, session: str) -> dict[str, Any]:
        from_server = self._server_metrics_of(session)
        if from_server is not None:
            return from_server
        with self._lock:
            window = list(self._latencies.get(session, ()))
            commands, errors, steps = self._counts.get(session, [0, 0, 0])
        row = next((r for r in self.client.list_sessions() if r.get("name") == session), {})
        ordered = sorted(window)

        def pick(fraction: float) -> float | None:
            return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None

        return {
            "commands": commands, "errors": errors, "steps": steps,
            "latency_ms": {"avg": sum(window) / len(window) if window else None, "p50": pick(0.5),
                           "p99": pick(0.99), "window": window},
            "oracle": None, "memory": None, "disk_bytes": row.get("size"),
            "last_access": row.get("last_access"), "events": row.get("events"),
            "checkpoints": row.get("checkpoints"), "source": "client",
        }

    def server_metrics(self) -> dict[str, Any]:
        from_server = self._server_metrics_of(None)
        if from_server is not None:
            return from_server
        status = self.client.call("status") or {}
        pool = dict(status.get("pool") or {})
        pool.setdefault("sessions", status.get("sessions_in_pool"))
        return {
            "uptime_s": status.get("uptime_s"), "clients": status.get("clients"),
            "restarts": status.get("restarts"), "pool": pool,
            "persistence": {"queue": None, "last_flush": status.get("last_flush"), "bytes_written": None},
            "rss_bytes": status.get("rss_bytes"), "source": "status",
        }
