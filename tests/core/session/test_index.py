"""The index: atomic writes, OmegaLLM compatibility, rebuilding from the log, states, index head."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from omega_core.session import events as ev
from omega_core.session.errors import CorruptIndex, StorageError
from omega_core.session.index import (
    checkpoint_entry,
    load_index,
    make_receipt,
    new_index,
    rebuild_index_from_log,
    write_index,
)
from omega_core.session.index_head import read_index_head
from omega_core.session.log import SessionLogWriter
from omega_core.session.states import StateStore, is_state_ref, load_state, read_state_ref

EXPECTED = {
    "squares": (16, [3, 7, 11, 15]),
    "errors": (26, [3, 13, 17, 21, 25]),
    "effects_mock": (32, [3, 5, 10, 13, 17, 21, 23, 28, 31]),
}


def test_write_and_load_round_trip_keeps_order_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "s.index.json"
    index = {"extra": {"kept": True}, "receipts": {}, "states": {"state-3": {"x": 1}},
             "checkpoints": [checkpoint_entry(3, 120, "state-3", ev.CheckpointReason.MANUAL)],
             "eventCount": 4, "sessionId": "s"}
    write_index(path, index)
    text = path.read_text()
    assert text.index('"sessionId"') < text.index('"eventCount"') < text.index('"checkpoints"') \
        < text.index('"states"') < text.index('"receipts"') < text.index('"extra"')
    loaded = load_index(path)
    assert loaded == index
    loaded["another"] = 1
    write_index(path, loaded)
    assert load_index(path)["extra"] == {"kept": True}


def test_missing_and_damaged_indexes(tmp_path: Path) -> None:
    assert load_index(tmp_path / "none.index.json") is None
    bad = tmp_path / "bad.index.json"
    bad.write_text('{"sessionId": "x", "eventCount": ')
    with pytest.raises(CorruptIndex, match="not valid JSON") as info:
        load_index(bad)
    assert str(bad) in info.value.message and info.value.code == "unavailable"
    bad.write_text('{"sessionId": "x", "eventCount": -1}')
    with pytest.raises(CorruptIndex, match="eventCount"):
        load_index(bad)
    bad.write_text('{"sessionId": "x", "eventCount": 1, "checkpoints": [{"seq": 0}]}')
    with pytest.raises(CorruptIndex, match="checkpoint 0"):
        load_index(bad)
    bad.write_text("[]")
    with pytest.raises(CorruptIndex):
        load_index(bad)
    bad.write_text('{"sessionId": "x", "eventCount": 0}')
    assert load_index(bad) == new_index("x")


def test_failed_write_leaves_the_old_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.index.json"
    write_index(path, new_index("s"))
    before = path.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", refuse)
    changed = new_index("s")
    changed["eventCount"] = 9
    with pytest.raises(StorageError, match="No space left"):
        write_index(path, changed)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.index.json"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_omegallm_index_loads(omegallm_dir: Path, name: str) -> None:
    index = load_index(omegallm_dir / f"{name}.index.json")
    assert index is not None
    count, seqs = EXPECTED[name]
    assert index["sessionId"] == "current" and index["eventCount"] == count
    assert [cp["seq"] for cp in index["checkpoints"]] == seqs
    state = index["states"][index["checkpoints"][0]["stateId"]]
    assert not is_state_ref(state)  # OmegaLLM's states are inline
    assert load_state(omegallm_dir, state) is state


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rebuild_from_omegallm_logs(omegallm_dir: Path, name: str) -> None:
    original = json.loads((omegallm_dir / f"{name}.index.json").read_text())
    rebuilt = rebuild_index_from_log(omegallm_dir / f"{name}.jsonl", name)
    count, seqs = EXPECTED[name]
    assert rebuilt["sessionId"] == name
    assert rebuilt["eventCount"] == count
    assert [cp["seq"] for cp in rebuilt["checkpoints"]] == seqs
    assert rebuilt["checkpoints"] == original["checkpoints"]  # byteOffsets, stateIds, reasons
    assert rebuilt["states"] == {}
    assert rebuilt["receipts"].keys() == original["receipts"].keys()


def test_rebuilt_receipts_of_effects_mock(omegallm_dir: Path) -> None:
    original = json.loads((omegallm_dir / "effects_mock.index.json").read_text())
    rebuilt = rebuild_index_from_log(omegallm_dir / "effects_mock.jsonl", "effects_mock")
    for key, receipt in rebuilt["receipts"].items():
        assert receipt["key"] == key and receipt["rebuilt"] is True and receipt["previewComplete"] is True
        assert receipt["response"] == {"valuePreview": "mock:infer.op"}
        assert receipt["request"]["model"] == "mock-llm"
        assert receipt["timestamp"] == original["receipts"][key]["timestamp"]
        # The key is the SHA-256 of the request's JSON as OmegaLLM built it.
        assert ev.receipt_key(original["receipts"][key]["request"]) == key
    with_previous = rebuild_index_from_log(omegallm_dir / "effects_mock.jsonl", "effects_mock", original)
    assert with_previous["receipts"] == original["receipts"]
    assert with_previous["states"].keys() == original["states"].keys()


def test_rebuild_ignores_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with SessionLogWriter(path) as writer:
        offsets = writer.append([ev.input_event(0, "(f)"), ev.checkpoint_event(1, 0, "manual", "state-1")])
    with open(path, "ab") as f:
        f.write(b'{"seq":2,"type":"check')
    index = rebuild_index_from_log(path, "t")
    assert index["eventCount"] == 2
    assert index["checkpoints"] == [{"seq": 1, "byteOffset": offsets[1], "stateId": "state-1", "reason": "manual"}]


def test_state_store_appends_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "s.states.ndjson"
    with StateStore(path) as store:
        ref1 = store.append("state-3", {"env": [1, 2, 3]})
        before = path.read_bytes()
        ref2 = store.append("state-7", {"env": "caf\u00e9"})
        after = path.read_bytes()
        assert after.startswith(before)  # a new checkpoint never rewrites old states
        assert after.count(b"\n") == 2
        assert ref1 == {"file": "s.states.ndjson", "offset": 0}
        assert ref2 == {"file": "s.states.ndjson", "offset": len(before)}
        assert store.read(ref1) == {"env": [1, 2, 3]}
        assert store.needs_fsync
        store.fsync()
        assert not store.needs_fsync
    assert json.loads(after.split(b"\n")[1]) == {"stateId": "state-7", "state": {"env": "caf\u00e9"}}
    assert read_state_ref(tmp_path, ref2) == ("state-7", {"env": "caf\u00e9"})
    assert load_state(tmp_path, ref2) == {"env": "caf\u00e9"}
    with StateStore(path) as store:  # reopened: appends after the old lines
        assert store.append("state-9", [9]) == {"file": "s.states.ndjson", "offset": len(after)}
        assert store.read(ref2) == {"env": "caf\u00e9"}


def test_states_in_the_index_are_references(tmp_path: Path) -> None:
    index = new_index("s")
    with StateStore(tmp_path / "s.states.ndjson") as store:
        index["states"]["state-3"] = store.append("state-3", {"big": "x" * 1000})
    write_index(tmp_path / "s.index.json", index)
    loaded = load_index(tmp_path / "s.index.json")
    assert is_state_ref(loaded["states"]["state-3"])
    assert load_state(tmp_path, loaded["states"]["state-3"]) == {"big": "x" * 1000}
    assert len((tmp_path / "s.index.json").read_bytes()) < 200


def test_bad_state_references(tmp_path: Path) -> None:
    path = tmp_path / "s.states.ndjson"
    with StateStore(path) as store:
        store.append("state-1", 1)
        with pytest.raises(CorruptIndex):
            store.read({"file": "s.states.ndjson", "offset": 3})
        with pytest.raises(CorruptIndex):
            store.read({"file": "s.states.ndjson", "offset": 10_000})
        with pytest.raises(CorruptIndex):
            store.read({"file": "../etc/passwd", "offset": 0})
        with pytest.raises(CorruptIndex, match="missing"):
            store.read({"file": "other.states.ndjson", "offset": 0})


def test_state_store_cuts_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "s.states.ndjson"
    with StateStore(path) as store:
        store.append("state-1", 1)
    good = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b'{"stateId":"state-2","sta')
    with StateStore(path) as store:
        assert store.repair_warning is not None
        assert path.stat().st_size == good
        ref = store.append("state-2", 2)
        assert ref["offset"] == good and store.read(ref) == 2


def test_index_head_reads_a_prefix_only(omegallm_dir: Path) -> None:
    path = omegallm_dir / "errors.index.json"
    index = json.loads(path.read_text())
    index["states"]["padding"] = "p" * 10_000_000  # states come after checkpoints: never read
    path.write_text(json.dumps(index, indent=2))
    head = read_index_head(path)
    assert head is not None and head.complete
    assert head.session_id == "current" and head.event_count == 26
    assert list(head.checkpoints or ()) == index["checkpoints"]
    assert head.bytes_read < 64 * 1024 < path.stat().st_size // 100


def test_index_head_of_a_long_checkpoint_list(tmp_path: Path) -> None:
    path = tmp_path / "l.index.json"
    index = new_index("l")
    index["checkpoints"] = [checkpoint_entry(i, i * 100, f"state-{i}", "periodic") for i in range(50_000)]
    index["eventCount"] = 50_000
    index["receipts"] = {"k": make_receipt("k", {"op": "x"}, {"content": "y"}, 1, 2)}
    write_index(path, index, fsync=False)
    head = read_index_head(path)
    assert head is not None and head.event_count == 50_000
    assert list(head.checkpoints or ()) == index["checkpoints"]


def test_index_head_edge_cases(tmp_path: Path) -> None:
    assert read_index_head(tmp_path / "none.index.json") is None
    path = tmp_path / "x.index.json"
    path.write_text('{"states": {}, "sessionId": "x", "eventCount": 1, "checkpoints": []}')
    head = read_index_head(path)
    assert head is not None and not head.complete  # stopped at "states"
    path.write_text('{"sessionId": "x", "eventCount": 12345678901234567890, "checkpoints": []}')
    assert read_index_head(path).event_count == 12345678901234567890
    path.write_text('{"sessionId": "x", "eventCount": 3, "checkpoints": [{"seq": 1}, oops]}')
    with pytest.raises(CorruptIndex):
        read_index_head(path)
    path.write_text('{"sessionId": "x", "eventCount": "3"')
    with pytest.raises(CorruptIndex):
        read_index_head(path)
    path.write_bytes(b'{"sessionId": "\xff"}')
    with pytest.raises(CorruptIndex):
        read_index_head(path)
