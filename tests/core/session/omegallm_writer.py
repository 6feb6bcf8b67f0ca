"""Writing a session as OmegaLLM does, for the replay tests (ARCHITECTURE.md section 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_omegallm_session(directory: Path, name: str, codes: list[str]) -> None:
    """A log and index as OmegaLLM writes them (ARCHITECTURE.md section 4), one input per code,
    each with a result and a checkpoint (OmegaLLM's own states: small, never read by Omega)."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"type": "session", "version": 1, "id": "current", "created": "2026-11-21T19:26:55.369Z"})]
    offset = len(lines[0]) + 1
    checkpoints: list[dict[str, Any]] = []
    seq = 0
    ts = 1795289215375
    for code in codes:
        for event in ({"type": "input", "code": code}, {"type": "step", "d": 0, "ctrl": code[:200]},
                      {"type": "result", "value": "ok"},
                      {"type": "checkpoint", "d": 0, "reason": "manual", "stateId": f"state-{seq + 3}"}):
            ts += 1
            line = json.dumps({"seq": seq, "ts": ts, **event}, separators=(",", ":"))
            if event["type"] == "checkpoint":
                checkpoints.append({"seq": seq, "byteOffset": offset, "stateId": event["stateId"], "reason": "manual"})
            lines.append(line)
            offset += len(line.encode()) + 1
            seq += 1
    (directory / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    state = {"control": {"tag": "Val", "v": {"tag": "Unit"}}, "envId": "e0", "storeEntries": [], "kont": [],
             "handlers": []}
    index = {"sessionId": "current", "eventCount": seq, "checkpoints": checkpoints,
             "states": {cp["stateId"]: state for cp in checkpoints}, "receipts": {}}
    (directory / f"{name}.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
