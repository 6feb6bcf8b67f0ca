"""Opening a session written by OmegaLLM never decodes the machine states in its index
(index_stream.py): they are kept as raw bytes, copied as they are when Omega rewrites the index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config, load_config
from omega_core.session.errors import CorruptIndex
from omega_core.session.index import load_index, write_index
from omega_core.session.index_stream import RAW_BLOCK_KEY, RawState
from omega_core.session.recorded import RecordedSession

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")
NAMES = ("squares", "errors", "effects_mock")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    env = {"OMEGA_SESSION_DIR": str(tmp_path / "sd"), "OMEGA_RUNTIME_DIR": str(tmp_path / "run"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_config(environ=env, cwd=tmp_path)
    config.sessions_dir.mkdir(parents=True)
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            shutil.copyfile(path, config.sessions_dir / path.name)
    return config


def states_of(index: dict[str, Any]) -> dict[str, Any]:
    """Every state of an index loaded with raw states, decoded (what OmegaLLM would read)."""
    out = {key: value for key, value in index["states"].items() if not isinstance(value, RawState)}
    for key, value in index["states"].items():
        if key == RAW_BLOCK_KEY:
            out.update(json.loads(b"{" + value.read_bytes() + b"}"))
        elif isinstance(value, RawState):
            out[key] = json.loads(value.read_bytes())
    return out


def spoil_last_state(path: Path) -> None:
    """Put text that is not JSON inside the last state of a two-space index (lengths kept)."""
    data = path.read_bytes()
    receipts = data.rindex(b'\n  "receipts": ')
    line_start = data.rindex(b"\n        ", 0, receipts - 200) + 1
    line_end = data.index(b"\n", line_start)
    spoiled = b"        {{{ not json ]]] " + b"x" * max(0, line_end - line_start - 25)
    path.write_bytes(data[:line_start] + spoiled[:line_end - line_start] + data[line_end:])
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_bytes())


@pytest.mark.parametrize("name", NAMES)
def test_the_index_loads_without_its_states_decoded(config: Config, name: str) -> None:
    path = config.sessions_dir / f"{name}.index.json"
    full = json.loads(path.read_bytes())
    index = load_index(path, raw_states=True)
    assert index is not None
    assert list(index["states"]) == [RAW_BLOCK_KEY]
    assert {k: v for k, v in index.items() if k != "states"} == {k: v for k, v in full.items() if k != "states"}
    assert states_of(index) == full["states"]


def test_a_state_that_is_not_json_is_never_read(config: Config) -> None:
    index_path = config.sessions_dir / "squares.index.json"
    spoil_last_state(index_path)
    before = index_path.read_bytes()
    index = load_index(index_path, raw_states=True)
    assert index is not None and index["eventCount"] == 16
    session = RecordedSession.open(config.sessions_dir, "squares", config)
    try:
        assert session.warnings == []  # the index was read, not rebuilt
        assert "sum-of-squares" in session.machine.globals
    finally:
        session.close()
    assert index_path.read_bytes() == before


def test_a_rewritten_index_keeps_omegallms_states_byte_for_byte(config: Config) -> None:
    index_path = config.sessions_dir / "effects_mock.index.json"
    original = json.loads(index_path.read_bytes())
    session = RecordedSession.open(config.sessions_dir, "effects_mock", config)
    try:
        assert session.execute("(define (triple x) (* 3 x))")[0].value == "triple"
        session.goto(12)
    finally:
        session.close()  # the log grew: the index is rewritten
    rewritten = json.loads(index_path.read_bytes())  # what OmegaLLM reads: plain JSON
    assert rewritten["eventCount"] == original["eventCount"] + 5
    assert rewritten["receipts"] == original["receipts"]
    for state_id, state in original["states"].items():
        assert rewritten["states"][state_id] == state
    ours = [key for key in rewritten["states"] if key not in original["states"]]
    assert ours and all(set(rewritten["states"][key]) == {"file", "offset"} for key in ours)
    again = load_index(index_path, raw_states=True)
    assert again is not None and RAW_BLOCK_KEY in again["states"]  # still streamed past
    assert states_of(again) == rewritten["states"]
    session = RecordedSession.open(config.sessions_dir, "effects_mock", config)
    try:
        assert session.warnings == []
        assert session.execute("topic")[0].value == "\"recursion\""  # at the jump to seq 12: no triple yet
        assert session.execute("(triple 2)")[0].error is not None
    finally:
        session.close()


def test_other_layouts_still_load(config: Config) -> None:
    path = config.sessions_dir / "squares.index.json"
    full = json.loads(path.read_bytes())
    path.write_text(json.dumps(full), encoding="utf-8")  # compact: decoded whole
    assert load_index(path, raw_states=True) == full
    without_receipts = {k: v for k, v in full.items() if k != "receipts"}
    path.write_text(json.dumps(without_receipts, indent=2), encoding="utf-8")  # states last: entry by entry
    index = load_index(path, raw_states=True)
    assert index is not None and RAW_BLOCK_KEY not in index["states"]
    assert all(isinstance(value, RawState) for value in index["states"].values())
    assert states_of(index) == full["states"]


def test_a_raw_state_refuses_a_replaced_file(config: Config) -> None:
    path = config.sessions_dir / "squares.index.json"
    index = load_index(path, raw_states=True)
    assert index is not None
    shutil.copyfile(FIXTURES / "errors.index.json", path)
    with pytest.raises(CorruptIndex, match="was replaced"):
        index["states"][RAW_BLOCK_KEY].read_bytes()
    write_index(path, index, fsync=False)  # the stale block is left out, the rest is written
    assert json.loads(path.read_bytes())["states"] == {}


def test_omegallms_states_survive_an_index_that_lags_the_log(config: Config) -> None:
    index_path = config.sessions_dir / "squares.index.json"
    original = json.loads(index_path.read_bytes())
    session = RecordedSession.open(config.sessions_dir, "squares", config)
    assert session.execute("(define (cube x) (* x (square x)))")[0].value == "cube"
    session.release_files()  # as a crash: the log has the input, the index does not
    session = RecordedSession.open(config.sessions_dir, "squares", config)
    try:
        assert any("index lags the log" in warning for warning in session.warnings)
        assert session.execute("(cube 2)")[0].value == "8"
    finally:
        session.close()
    rewritten = json.loads(index_path.read_bytes())
    assert rewritten["eventCount"] > original["eventCount"]
    for state_id, state in original["states"].items():
        assert rewritten["states"][state_id] == state
