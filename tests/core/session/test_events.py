"""Event builders write the same bytes as OmegaLLM for the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omega_core.session import events as ev
from omega_core.session.atomic import dumps_compact


def fixture_lines(directory: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (directory / f"{name}.jsonl").read_text().splitlines()]


def rebuild(e: dict) -> dict:
    """The same event made with our builders from its fields."""
    kind = e["type"]
    if kind == "session":
        return ev.header_event(e["id"], e["created"])
    seq, ts = e["seq"], e["ts"]
    if kind == "input":
        return ev.input_event(seq, e["code"], ts=ts)
    if kind == "step":
        return ev.step_event(seq, e["d"], e["ctrl"], ts=ts)
    if kind == "checkpoint":
        return ev.checkpoint_event(seq, e["d"], ev.CheckpointReason(e["reason"]), e["stateId"], ts=ts)
    if kind == "effect":
        return {**ev.effect_event(seq, e["d"], e["op"], "", ts=ts), "argsPreview": e["argsPreview"]}
    if kind == "llm_req":
        return ev.llm_req_event(seq, e["d"], e["model"], e["promptPreview"], e["receiptKey"], ts=ts)
    if kind == "llm_resp":
        return ev.llm_resp_event(seq, e["d"], e["valuePreview"], e["durationMs"], e["receiptKey"],
                                 tokens=e.get("tokens"), ts=ts)
    if kind == "resume":
        return ev.resume_event(seq, e["d"], e["valuePreview"], ts=ts)
    if kind == "result":
        return ev.result_event(seq, e["value"], ts=ts)
    if kind == "error":
        return ev.error_event(seq, e["d"], e["message"], e.get("stack"), ts=ts)
    raise AssertionError(kind)


@pytest.mark.parametrize("name", ["squares", "errors", "effects_mock"])
def test_builders_match_omegallm_bytes(omegallm_dir: Path, name: str) -> None:
    raw = (omegallm_dir / f"{name}.jsonl").read_text().splitlines()
    for line, event in zip(raw, fixture_lines(omegallm_dir, name)):
        assert dumps_compact(rebuild(event)) == line


def test_enums_and_previews() -> None:
    assert {t.value for t in ev.EventType} == {"session", "input", "step", "checkpoint", "llm_req",
                                                "llm_resp", "effect", "resume", "result", "error"}
    assert [r.value for r in ev.CheckpointReason] == ["manual", "periodic", "llm_boundary", "effect"]
    assert ev.preview("x" * 500) == "x" * 200
    assert ev.preview("abc", limit=2) == "ab"
    assert ev.preview(["a", 1]) == '["a",1]'
    with pytest.raises(ValueError):
        ev.checkpoint_event(1, 0, "sometimes", "state-1")
    assert "tokens" not in ev.llm_resp_event(1, 0, "v", 3, "k")
    assert ev.llm_resp_event(1, 0, "v", 3, "k", tokens=7)["tokens"] == 7
    assert "stack" not in ev.error_event(1, 0, "boom")
