"""The ``execute`` result on the wire, built from live form results or rebuilt from logged events.

Both the live path (``ops``) and the exactly-once paths (``request_record`` after a restart,
``ops.recorded_reply`` from a session's recent events) build it here, so a resend is answered with
the same shape as the original reply.
"""

from __future__ import annotations

from typing import Any

from omega_core.eval_steps import FormResult


def result_dict(result: FormResult) -> dict[str, Any]:
    """A form's result on the wire (built by hand: ``dataclasses.asdict`` deep-copies, 10x slower)."""
    return {"line": result.line, "value": result.value, "output": result.output, "error": result.error,
            "error_code": result.error_code, "steps": result.steps, "ms": round(result.ms, 3), "input": result.source}


def reply_from_events(events: list[dict[str, Any]], session: str) -> dict[str, Any]:
    """An ``execute`` result rebuilt from an input's logged events (its input line first; the
    events of a later input, if any are given, are not part of it)."""
    code = str(events[0].get("code", ""))
    results = []
    for later in events[1:]:
        kind = later.get("type")
        if kind == "input":
            break
        if kind in ("result", "error"):
            failed = kind == "error"
            results.append(FormResult(code, 1, None if failed else later.get("value"), later.get("output", ""),
                                      later.get("message") if failed else None,
                                      later.get("code") if failed else None, later.get("steps", 0), 0.0))
    return {"output": "\n".join(result.transcript() for result in results),
            "results": [result_dict(result) for result in results], "exit": False,
            "session": session, "replayed_from_log": True}
