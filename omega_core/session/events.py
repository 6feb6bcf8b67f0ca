"""Builders for the lines of a session log, with the field names of ARCHITECTURE.md section 4.

Events stay plain dicts: they are JSON lines that OmegaLLM also reads, extra fields are allowed,
and a dict is what ``json`` writes fastest. The builders fix the field names and their order (the
order OmegaLLM writes: ``seq``, ``ts``, ``type``, then the rest) so no caller misspells one.
Every builder takes ``ts`` (ms since the epoch; now if omitted) and ``**extra`` fields.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from enum import Enum
from typing import Any

__all__ = [
    "EventType", "CheckpointReason", "PREVIEW_LIMIT", "LOG_VERSION", "preview", "now_ms", "iso_now",
    "receipt_key", "header_event", "input_event", "step_event", "checkpoint_event", "llm_req_event",
    "llm_resp_event", "effect_event", "resume_event", "result_event", "error_event",
]

PREVIEW_LIMIT = 200
LOG_VERSION = 1


class EventType(str, Enum):
    """The ``type`` of a log line. SESSION is the header (first line, no ``seq``)."""

    SESSION = "session"
    INPUT = "input"
    STEP = "step"
    CHECKPOINT = "checkpoint"
    LLM_REQ = "llm_req"
    LLM_RESP = "llm_resp"
    EFFECT = "effect"
    RESUME = "resume"
    RESULT = "result"
    ERROR = "error"


class CheckpointReason(str, Enum):
    """Why a checkpoint was taken (the ``reason`` field of checkpoint lines and index entries)."""

    MANUAL = "manual"
    PERIODIC = "periodic"
    LLM_BOUNDARY = "llm_boundary"
    EFFECT = "effect"


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """A short text for a preview field, cut to ``limit`` characters.

    As OmegaLLM does: text is cut as is, other values are shown as JSON first. No ellipsis is added,
    so a preview is exactly a prefix of the full text (replay code compares them).
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(value)
    return text[:limit]


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of ``ts``."""
    return time.time_ns() // 1_000_000


def iso_now() -> str:
    """UTC time as JavaScript's toISOString writes it (``2026-11-21T19:26:55.369Z``)."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def receipt_key(request: Any) -> str:
    """SHA-256 (hex) of the request's canonical JSON: compact, keys in the order they were built.

    This is what OmegaLLM hashes (JSON.stringify, which keeps insertion order), so a request built
    with the same keys in the same order gets the same key as in OmegaLLM's files.
    """
    text = json.dumps(request, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _ts(ts: int | None) -> int:
    return now_ms() if ts is None else ts


def _enum_value(value: Enum | str) -> str:
    return value.value if isinstance(value, Enum) else value


def header_event(session_id: str, created: str | None = None, **extra: Any) -> dict[str, Any]:
    """The first line of a log: ``{"type":"session","version":1,"id":...,"created":...}``."""
    return {"type": EventType.SESSION.value, "version": LOG_VERSION, "id": session_id,
            "created": created or iso_now(), **extra}


def input_event(seq: int, code: str, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": _ts(ts), "type": EventType.INPUT.value, "code": code, **extra}


def step_event(seq: int, d: int, ctrl: str, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    """``ctrl`` is a short text of the control; it is cut to the preview limit."""
    return {"seq": seq, "ts": _ts(ts), "type": EventType.STEP.value, "d": d, "ctrl": preview(ctrl), **extra}


def checkpoint_event(seq: int, d: int, reason: CheckpointReason | str, state_id: str,
                     ts: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": _ts(ts), "type": EventType.CHECKPOINT.value, "d": d,
            "reason": _enum_value(CheckpointReason(_enum_value(reason))), "stateId": state_id, **extra}


def llm_req_event(seq: int, d: int, model: str, prompt: Any, receipt: str,
                  ts: int | None = None, **extra: Any) -> dict[str, Any]:
    """``prompt`` is the full prompt; only its preview is logged (the receipt holds the request)."""
    return {"seq": seq, "ts": _ts(ts), "type": EventType.LLM_REQ.value, "d": d, "model": model,
            "promptPreview": preview(prompt), "receiptKey": receipt, **extra}


def llm_resp_event(seq: int, d: int, value: Any, duration_ms: int | float, receipt: str,
                   tokens: int | None = None, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    """``tokens`` is left out when unknown (OmegaLLM's JSON.stringify drops undefined)."""
    event: dict[str, Any] = {"seq": seq, "ts": _ts(ts), "type": EventType.LLM_RESP.value, "d": d,
                             "valuePreview": preview(value)}
    if tokens is not None:
        event["tokens"] = tokens
    event["durationMs"] = duration_ms
    event["receiptKey"] = receipt
    event.update(extra)
    return event


def effect_event(seq: int, d: int, op: str, args: Any, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": _ts(ts), "type": EventType.EFFECT.value, "d": d, "op": op,
            "argsPreview": preview(args), **extra}


def resume_event(seq: int, d: int, value: Any, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": _ts(ts), "type": EventType.RESUME.value, "d": d,
            "valuePreview": preview(value), **extra}


def result_event(seq: int, value: str, ts: int | None = None, **extra: Any) -> dict[str, Any]:
    """``value`` is the printed form, kept whole (it is what ``=> ...`` showed)."""
    return {"seq": seq, "ts": _ts(ts), "type": EventType.RESULT.value, "value": value, **extra}


def error_event(seq: int, d: int, message: str, stack: str | None = None,
                ts: int | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"seq": seq, "ts": _ts(ts), "type": EventType.ERROR.value, "d": d,
                             "message": message}
    if stack is not None:
        event["stack"] = stack
    event.update(extra)
    return event
