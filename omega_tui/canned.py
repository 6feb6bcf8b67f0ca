"""A client that answers from canned data (no server): for snapshot tests and the TUI bench only.

The data is what a real server returned for a short recorded session (times fixed, pids left
out), extended with the shapes of the newer ops (timeline, metrics, clients, snapshots) as the
protocol documents them. Behaviour tests never use this: they run a real server.
"""

from __future__ import annotations

import copy
from typing import Any

from omega_core.server.client import ExecuteReply, ServerError

T0 = 1_767_268_800  # 2026-01-01 12:00:00 UTC
T0_MS = T0 * 1000

TRANSCRIPT: list[dict[str, Any]] = [
    {"seq": 0, "ts": T0_MS, "type": "input", "code": "(define (fib n)\n  (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"},
    {"seq": 2, "ts": T0_MS + 4, "type": "result", "value": "fib", "steps": 1},
    {"seq": 4, "ts": T0_MS + 9, "type": "input", "code": "(fib 20)"},
    {"seq": 7, "ts": T0_MS + 61, "type": "result", "value": "6765", "steps": 240_000},
    {"seq": 9, "ts": T0_MS + 70, "type": "input", "code": '(display "hello") (newline) "done"'},
    {"seq": 12, "ts": T0_MS + 71, "type": "result", "value": "null", "steps": 1, "output": "hello"},
    {"seq": 14, "ts": T0_MS + 71, "type": "result", "value": "null", "steps": 1, "output": "\n"},
    {"seq": 16, "ts": T0_MS + 72, "type": "result", "value": '"done"', "steps": 1},
    {"seq": 18, "ts": T0_MS + 80, "type": "input", "code": "(car '())"},
    {"seq": 20, "ts": T0_MS + 81, "type": "error", "message": "car: expected a pair, got null (in (car '()), line 1, column 1)",
     "code": "eval_error", "steps": 1},
    {"seq": 22, "ts": T0_MS + 90, "type": "input", "code": '(infer.op "Name a prime")'},
    {"seq": 26, "ts": T0_MS + 95, "type": "result", "value": '"[scripted oracle fallback: no pattern matched]"', "steps": 3},
]

SESSIONS: list[dict[str, Any]] = [
    {"name": "current", "events": 28, "checkpoints": 9, "size": 5_312, "last_access": T0 + 100, "loaded": True},
    {"name": "experiments", "events": 1_204, "checkpoints": 87, "size": 233_410, "last_access": T0 - 3_600, "loaded": False},
    {"name": "fib-fork", "events": 8, "checkpoints": 2, "size": 1_420, "last_access": T0 - 86_400, "loaded": False},
    {"name": "oracle-demo", "events": 96, "checkpoints": 14, "size": 18_733, "last_access": T0 - 7_200, "loaded": True},
]

CLIENTS: dict[str, list[dict[str, Any]]] = {
    "current": [{"client_id": "c1", "name": "omega tui", "mode": "read-write", "since": T0},
                {"client_id": "c2", "name": "omega --plain", "mode": "read-only", "since": T0 + 30}],
    "oracle-demo": [{"client_id": "c3", "name": "omega --batch", "mode": "read-write", "since": T0 - 60}],
}


def _timeline_items(count: int = 40) -> list[dict[str, Any]]:
    """Checkpoints every 7 events with a few annotations, a snapshot, a fork and a jump, in the
    server's merged order (an extra item follows the checkpoint at its seq)."""
    items: list[dict[str, Any]] = []
    reasons = ("manual", "periodic", "llm_boundary", "effect")
    for index in range(count):
        seq = 3 + index * 7
        if index == 11:
            items.append({"seq": seq, "kind": "jump", "reason": "manual", "label": "jump to 24",
                          "state_id": f"state-{seq}", "tags": []})
            continue
        items.append({"seq": seq, "kind": "checkpoint", "reason": reasons[index % 4 if index % 3 else 0],
                      "state_id": f"state-{seq}", "tags": []})
        if index == 2:
            items.append({"seq": seq, "kind": "annotation", "label": "fib defined", "note": "before the big call",
                          "tags": ["setup"]})
        if index == 5:
            items.append({"seq": seq, "kind": "annotation", "label": "oracle answer", "note": None, "tags": ["llm", "review"]})
        if index == 7:
            items.append({"seq": seq, "kind": "snapshot", "snapshot_id": "snap-1", "label": "fib works", "tags": ["good"]})
        if index == 9:
            items.append({"seq": seq, "kind": "fork", "label": "fib-fork", "tags": []})
    return items


TIMELINE = _timeline_items()
POSITION = 45

SESSION_METRICS: dict[str, Any] = {
    "commands": 6, "errors": 1, "steps": 240_007,
    "latency_ms": {"avg": 9.8, "p50": 0.4, "p99": 52.1,
                   "window": [0.4, 0.3, 52.1, 0.5, 0.4, 4.8, 0.6, 0.3, 12.5, 0.4, 0.2, 0.9, 7.7, 0.3, 0.5, 21.0, 0.4, 0.6]},
    "steps_window": [1, 240_000, 1, 1, 1, 3],
    "oracle": {"calls": 1, "tokens": 14, "ms": 3.2, "window_ms": [0, 0, 0, 0, 0, 3.2]},
    "memory": {"current": 412_000, "peak": 1_830_000},
    "disk_bytes": 5_312, "last_access": T0 + 100,
}

SERVER_METRICS: dict[str, Any] = {
    "uptime_s": 3_725, "clients": 3, "restarts": 0,
    "pool": {"hits": 41, "misses": 4, "evictions": 0, "memory_estimate_bytes": 2_900_000,
             "max_memory_bytes": 268_435_456, "sessions": 2},
    "persistence": {"queue": 0, "last_flush": T0 + 98, "bytes_written": 258_875},
}

def _history_events() -> list[dict[str, Any]]:
    """The transcript's inputs as a log (with the checkpoints (fib 20) took), then a goto back to
    (fib 20) and two inputs from there: a branch."""
    events: list[dict[str, Any]] = []

    def add(**event: Any) -> int:
        event["seq"] = len(events)
        events.append(event)
        return event["seq"]

    def run(code: str, value: str | None, error: str | None = None, periodic: int = 0) -> int:
        add(type="input", code=code)
        for _ in range(periodic):
            add(type="checkpoint", reason="periodic", stateId="s")
        if error is not None:
            add(type="error", message=error)
            return len(events) - 1
        add(type="result", value=value)
        return add(type="checkpoint", reason="manual", stateId="s")

    run("(define (fib n)\n  (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))", "fib")
    fib20 = run("(fib 20)", "6765", periodic=2)
    run('(display "hello") (newline) "done"', '"done"')
    run("(car '())", None, error="car: expected a pair, got null (in (car '()), line 1, column 1)")
    run('(infer.op "Name a prime")', '"[scripted oracle fallback: no pattern matched]"')
    add(type="checkpoint", reason="manual", stateId="s", jumpTo=fib20)
    run("(define big (fib 25))", "big")
    run("big", "75025")
    return events


HISTORY_EVENTS = _history_events()
HISTORY_EXTRAS: list[tuple[int, int, dict[str, Any]]] = [
    (4, 1, {"seq": 4, "kind": "annotation", "label": "fib defined", "note": None, "tags": ["setup"]}),
    (9, 2, {"seq": 9, "kind": "snapshot", "snapshot_id": "snap-1", "label": "fib works", "tags": ["good"]}),
]

SNAPSHOTS = [{"id": "snap-1", "description": "fib works", "tags": ["good"], "seq": 52, "created": T0 + 20}]


class CannedClient:
    """Answers like ``OmegaClient`` from the data above; ``read_only`` makes the session held by another."""

    def __init__(self, read_only: bool = False, timeline: list[dict[str, Any]] | None = None,
                 position: int | None = POSITION, missing: frozenset[str] | set[str] = frozenset(),
                 history: Any = None) -> None:
        self.client_id = "canned"
        self.server_info = {"server_version": 1}
        self.on_push: Any = None
        self.on_reconnect: Any = None
        self.reconnects = 0
        self.connected = True
        self.read_only = read_only
        self.timeline_items = TIMELINE if timeline is None else timeline
        self.position = position
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self.missing = set(missing)
        from omega_core.session.history import History

        self.custom_history = history is not None
        """A ``History`` given by the caller (the bench's 100,000 inputs), else the canned one."""
        if history is None:
            history = History()
            history.add_events(HISTORY_EVENTS)
        self.history_rows = history
        """Ops to answer as an older server does ("not available yet"), to exercise the fallbacks."""

    def connect(self) -> "CannedClient":
        return self

    def close(self) -> None:
        self.connected = False

    def poll_pushes(self, timeout: float = 0.0) -> list[dict[str, Any]]:
        import time

        time.sleep(min(timeout, 0.05))
        return []

    def call(self, op: str, session: str | None = None, **args: Any) -> Any:
        self.calls.append((op, session, args))
        handler = getattr(self, f"_op_{op}", None)
        if handler is None or op in self.missing:
            raise ServerError("bad_request", f"{op} is not available yet on this server")
        return handler(session, **args)

    # typed methods, as OmegaClient has them
    def execute(self, line: str, session: str | None = None, first_line: int = 1,
                on_output: Any = None, on_oracle: Any = None, on_form: Any = None,
                on_resent: Any = None) -> ExecuteReply:
        self.calls.append(("execute", session, {"line": line}))
        if line.strip().startswith(":"):
            return ExecuteReply("  current (28 events, 9 checkpoints)", [], False, session or "current", True)
        return ExecuteReply("=> 3", [{"input": line, "line": 1, "value": "3", "output": "", "error": None,
                                      "error_code": None, "steps": 3, "ms": 0.1}], False, session or "current", True)

    def list_sessions(self) -> list[dict[str, Any]]:
        return copy.deepcopy(SESSIONS)

    def open_session(self, session: str, read_only: bool = False) -> dict[str, Any]:
        row = next((r for r in SESSIONS if r["name"] == session), {"events": 0, "checkpoints": 0})
        return {"session": session, "events": row["events"], "checkpoints": row["checkpoints"], "warnings": []}

    def subscribe(self, session: str) -> Any:
        return self.call("subscribe", session)

    def _op_subscribe(self, session: str | None) -> Any:
        return {"subscribed": True}

    def unsubscribe(self, session: str) -> Any:
        return {"subscribed": False}

    def interrupt(self, session: str) -> Any:
        return {"interrupted": False}

    def goto(self, session: str, seq: int) -> Any:
        return {"report": f"Jumped to seq {seq} (replayed 1 input(s), 3 step(s), 0 receipt(s) used)", "seq": seq}

    def rename_session(self, session: str, to: str) -> Any:
        return {"renamed": session, "to": to}

    def delete_session(self, session: str) -> Any:
        return {"deleted": session}

    def restart(self) -> Any:
        return {"restarting": True}

    # ops
    def _op_transcript(self, session: str | None, limit: int = 200) -> Any:
        return copy.deepcopy(TRANSCRIPT) if session == "current" else []

    def _op_trace(self, session: str | None, count: int = 50) -> Any:
        return [{"seq": 27, "ts": T0_MS + 96, "type": "checkpoint", "reason": "manual", "stateId": "state-27"}][-count:] if count else []

    def _op_access(self, session: str | None, mode: str = "read-write", steal: bool = False) -> Any:
        if self.read_only and mode == "read-write" and not steal:
            raise ServerError("locked", f"session '{session}' is held read-write by 'omega --plain' (client c2) since 2026-01-01 12:00:30")
        return {"mode": mode, "session": session}

    def _op_release(self, session: str | None) -> Any:
        return {"released": True}

    def _op_clients(self, session: str | None) -> Any:
        return copy.deepcopy(CLIENTS.get(session or "", []))

    def _op_metrics(self, session: str | None) -> Any:
        return copy.deepcopy(SESSION_METRICS if session else SERVER_METRICS)

    def _op_timeline(self, session: str | None, tag: str | None = None, offset: int = 0, limit: int = 200) -> Any:
        items = self.timeline_items if session == "current" else []
        if tag:
            items = [i for i in items if tag in (i.get("tags") or [])]
        return {"total": len(items), "position": self.position, "items": copy.deepcopy(items[offset:offset + limit])}

    def _op_history(self, session: str | None, offset: int = 0, limit: int = 200, row: int | None = None,
                    search: str | None = None, direction: int = 1, **args: Any) -> Any:
        from omega_core.session.history import detail

        history = self.history_rows
        if session != "current":
            from omega_core.session.history import History

            history = History()
        extras = [] if self.custom_history else HISTORY_EXTRAS
        if row is not None:
            found = history.rows[row]
            return detail([] if self.custom_history else HISTORY_EVENTS, found)
        if search is not None:
            return {"match": history.search(search, int(args.get("from", -1)), direction, extras)}
        position = self.position if self.custom_history else len(HISTORY_EVENTS) - 1
        return history.page(offset, limit, position, extras)

    def _op_snapshots(self, session: str | None) -> Any:
        return copy.deepcopy(SNAPSHOTS)

    def _op_status(self, session: str | None) -> Any:
        return {"uptime_s": SERVER_METRICS["uptime_s"], "clients": 3, "sessions_in_pool": 2, "restarts": 0,
                "pool": dict(SERVER_METRICS["pool"]), "last_flush": T0 + 98}

    def _op_checkpoints(self, session: str | None, limit: int | None = None) -> Any:
        return [{"seq": i["seq"], "byteOffset": 0, "stateId": i["state_id"], "reason": i["reason"]}
                for i in self.timeline_items if i["kind"] in ("checkpoint", "jump")]
