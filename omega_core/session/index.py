"""The index ``<name>.index.json``: a cache of the log for fast checkpoints, states and receipts.

Fields (ARCHITECTURE.md section 4): ``sessionId``, ``eventCount`` (next seq), ``checkpoints``
(``{seq, byteOffset, stateId, reason}``), ``states`` (stateId -> state, inline as OmegaLLM writes
them or a reference into the states file, see states.py), ``receipts`` (receiptKey -> ``{key,
request, response, timestamp, durationMs, tokens}``). Fields a caller adds are kept.

write_index always writes the keys in that order, the small ones before ``states``, so that
index_head.read_index_head can read a session's counts from a prefix of the file (OmegaLLM writes
the same order). Everything here can be rebuilt from the log with rebuild_index_from_log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omega_core.session.atomic import atomic_write_json
from omega_core.session.errors import CorruptIndex, storage_error
from omega_core.session.events import PREVIEW_LIMIT, CheckpointReason, EventType
from omega_core.session.index_head import IndexHead, read_index_head
from omega_core.session.index_stream import (
    RAW_BLOCK_KEY,
    RawState,
    has_raw_states,
    load_index_streaming,
    write_pretty_index,
)
from omega_core.session.log_reader import SessionLogReader
from omega_core.session.states import StateStore, is_state_ref, load_state

__all__ = [
    "CorruptIndex", "KEY_ORDER", "new_index", "checkpoint_entry", "make_receipt", "validate_index",
    "load_index", "write_index", "ordered_index", "rebuild_index_from_log", "IndexHead",
    "read_index_head", "StateStore", "is_state_ref", "load_state",
]

KEY_ORDER = ("sessionId", "eventCount", "checkpoints", "states", "receipts")


def new_index(session_id: str) -> dict[str, Any]:
    """The index of a session with no events yet."""
    return {"sessionId": session_id, "eventCount": 0, "checkpoints": [], "states": {}, "receipts": {}}


def checkpoint_entry(seq: int, byte_offset: int, state_id: str, reason: CheckpointReason | str) -> dict[str, Any]:
    """One element of ``checkpoints``; ``byte_offset`` is the checkpoint line's offset in the log."""
    reason_text = reason.value if isinstance(reason, CheckpointReason) else CheckpointReason(reason).value
    return {"seq": seq, "byteOffset": byte_offset, "stateId": state_id, "reason": reason_text}


def make_receipt(key: str, request: Any, response: Any, timestamp: int, duration_ms: int | float,
                 tokens: int | None = None, **extra: Any) -> dict[str, Any]:
    """One element of ``receipts``; ``tokens`` is left out when unknown, as OmegaLLM does."""
    receipt: dict[str, Any] = {"key": key, "request": request, "response": response,
                               "timestamp": timestamp, "durationMs": duration_ms}
    if tokens is not None:
        receipt["tokens"] = tokens
    receipt.update(extra)
    return receipt


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate_index(obj: Any, path: Path | str = "<index>") -> dict[str, Any]:
    """Check the shape of a decoded index and fill in missing ``states``/``receipts``.

    Raises CorruptIndex naming the first field that is wrong.
    """
    def bad(what: str) -> CorruptIndex:
        return CorruptIndex(f"index {path} is damaged: {what}; rebuild it from the log", path)

    if not isinstance(obj, dict):
        raise bad("it is not a JSON object")
    if not isinstance(obj.get("sessionId"), str):
        raise bad("sessionId is missing or not a string")
    if not _is_count(obj.get("eventCount")):
        raise bad("eventCount is missing or not a count")
    checkpoints = obj.get("checkpoints", [])
    if not isinstance(checkpoints, list):
        raise bad("checkpoints is not a list")
    for i, cp in enumerate(checkpoints):
        if not (isinstance(cp, dict) and _is_count(cp.get("seq")) and _is_count(cp.get("byteOffset"))
                and isinstance(cp.get("stateId"), str)):
            raise bad(f"checkpoint {i} lacks a seq, byteOffset or stateId")
    for key in ("states", "receipts"):
        if not isinstance(obj.get(key, {}), dict):
            raise bad(f"{key} is not an object")
    obj.setdefault("checkpoints", checkpoints)
    obj.setdefault("states", {})
    obj.setdefault("receipts", {})
    return obj


def load_index(path: Path, raw_states: bool = False) -> dict[str, Any] | None:
    """The whole index at ``path`` (None if missing). Reads OmegaLLM's indexes too (inline states).

    ``raw_states`` (opening a session): OmegaLLM's inline states, which Omega never restores, are
    streamed past instead of decoded: big entries of ``states`` become ``index_stream.RawState``
    byte ranges (RAW_BLOCK_KEY holds them as one block), copied as they are if the index is
    rewritten. Without it every state is decoded (tools that inspect an index).

    Raises CorruptIndex if it is not a valid index, StorageError if it cannot be read.
    """
    path = Path(path)
    if raw_states:
        try:
            streamed = load_index_streaming(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error("read", path, exc) from exc
        if streamed is not None:
            return validate_index(streamed, path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise storage_error("read", path, exc) from exc
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as exc:
        raise CorruptIndex(f"index {path} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                           f"{exc.colno}); rebuild it from the log", path) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptIndex(f"index {path} is not valid UTF-8 JSON; rebuild it from the log", path) from exc
    return validate_index(obj, path)


def ordered_index(index: dict[str, Any]) -> dict[str, Any]:
    """The index with KEY_ORDER first (missing ones filled in), then the caller's extra fields."""
    out: dict[str, Any] = {
        "sessionId": index.get("sessionId", ""),
        "eventCount": index.get("eventCount", 0),
        "checkpoints": index.get("checkpoints", []),
        "states": index.get("states", {}),
        "receipts": index.get("receipts", {}),
    }
    for key, value in index.items():
        if key not in out:
            out[key] = value
    return out


def write_index(path: Path, index: dict[str, Any], fsync: bool = True) -> None:
    """Replace the index atomically (temp file, fsync, rename); StorageError if the OS refuses.

    Keep large states out of ``index`` (StateStore) so that this stays cheap as the session grows.
    An index holding OmegaLLM's states (RawState) is written in OmegaLLM's two-space layout with
    those states copied byte for byte, so the next open streams past them again.
    """
    if has_raw_states(index):
        write_pretty_index(Path(path), ordered_index(index), fsync=fsync)
        return
    atomic_write_json(Path(path), ordered_index(index), fsync=fsync)


def _rebuilt_receipt(req: dict[str, Any], resp: dict[str, Any], key: str) -> dict[str, Any]:
    """A receipt made from the log's previews, marked ``rebuilt``.

    ``previewComplete`` says whether the response preview is shorter than the preview limit, i.e.
    is the whole answer (previews are prefixes); only then may a replay answer from it.
    """
    value_preview = resp.get("valuePreview")
    receipt = make_receipt(
        key,
        {"model": req.get("model"), "promptPreview": req.get("promptPreview")},
        {"valuePreview": value_preview},
        req.get("ts", resp.get("ts", 0)),
        resp.get("durationMs", 0),
        resp.get("tokens"),
        rebuilt=True,
        previewComplete=isinstance(value_preview, str) and len(value_preview) < PREVIEW_LIMIT,
    )
    return receipt


def rebuild_index_from_log(log_path: Path, session_id: str,
                           previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """An index made by scanning the log once.

    eventCount is the last event's seq + 1; checkpoints carry their lines' byte offsets; receipts
    are rebuilt from llm_req/llm_resp pairs (previews only, ``"rebuilt": true``); states are empty
    (the caller re-runs the inputs). With ``previous`` (an older, lagging index), its full receipts,
    the states of checkpoints that are still in the log, and its extra fields are kept.
    A torn last line is skipped; a damaged line elsewhere raises CorruptLog.
    """
    last_seq = -1
    checkpoints: list[dict[str, Any]] = []
    requests: dict[str, dict[str, Any]] = {}
    receipts: dict[str, dict[str, Any]] = {}
    with SessionLogReader(Path(log_path)) as reader:
        for offset, event in reader.iter_events():
            seq = event.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool):
                last_seq = seq
            kind = event.get("type")
            if kind == EventType.CHECKPOINT.value:
                entry = {"seq": seq, "byteOffset": offset, "stateId": event.get("stateId"), "reason": event.get("reason")}
                if isinstance(event.get("jumpTo"), int):
                    entry["jumpTo"] = event["jumpTo"]  # ours: a recorded time-travel jump
                checkpoints.append(entry)
            elif kind == EventType.LLM_REQ.value:
                key = event.get("receiptKey")
                if isinstance(key, str):
                    requests[key] = event
            elif kind == EventType.LLM_RESP.value:
                key = event.get("receiptKey")
                if isinstance(key, str) and key in requests:
                    receipts[key] = _rebuilt_receipt(requests[key], event, key)
    index = new_index(session_id)
    index["eventCount"] = last_seq + 1
    index["checkpoints"] = checkpoints
    index["receipts"] = receipts
    if previous:
        old_receipts = previous.get("receipts") or {}
        for key in receipts:
            if key in old_receipts and not old_receipts[key].get("rebuilt"):
                receipts[key] = old_receipts[key]
        old_states = previous.get("states") or {}
        index["states"] = {cp["stateId"]: old_states[cp["stateId"]]
                           for cp in checkpoints if cp["stateId"] in old_states}
        if isinstance(old_states.get(RAW_BLOCK_KEY), RawState):  # OmegaLLM's states, never decoded: kept
            index["states"][RAW_BLOCK_KEY] = old_states[RAW_BLOCK_KEY]
        for key, value in previous.items():
            if key not in index:
                index[key] = value
    return index
