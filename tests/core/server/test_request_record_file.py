"""The request record file on its own: read back after a restart, a torn last line, compaction,
and no record for anonymous connections (their ids are reused by the next backend)."""

from __future__ import annotations

from pathlib import Path

from omega_core.config import Config
from omega_core.eval_steps import drive
from omega_core.server import request_record
from omega_core.server.protocol import Request
from omega_core.server.request_record import RECORD_NAME, RequestRecord
from omega_core.session.recorded import RecordedSession


def snapshot_request(request_id: str) -> Request:
    return Request(request_id, "execute", "s", {"line": ":session snapshot x"})


def test_replies_and_inputs_are_read_back_by_the_next_backend(tmp_path: Path) -> None:
    record = RequestRecord(tmp_path)
    session = RecordedSession.open(tmp_path, "s", Config(session_dir=str(tmp_path.parent)))
    session.request_logged = lambda rid, offset: record.input_logged(rid, "s", offset)
    list(drive(session.execute_steps("(+ 1 2) (display \"x\")", request_id="c1:5"), session.effects.perform))
    session.close()
    record.remember("c1", snapshot_request("6"), {"v": 1, "id": "6", "ok": True, "result": {"output": "Saved"}})
    record.remember("c1", snapshot_request("7"), {"v": 1, "id": "7", "ok": False, "error": {}})  # did not run
    record.close()
    with open(tmp_path / RECORD_NAME, "ab") as handle:
        handle.write(b'{"rid":"c1:9","rep')  # torn by a crash
    again = RequestRecord(tmp_path)
    code = again.answer("c1", Request("5", "execute", "s", {"line": "(+ 1 2) (display \"x\")"}))
    assert code is not None and code["result"]["output"] == "=> 3\nx\n=> null"
    assert again.answer("c1", snapshot_request("6")) == {"v": 1, "id": "6", "ok": True, "result": {"output": "Saved"}}
    assert again.answer("c1", snapshot_request("7")) is None
    assert again.answer("c2", snapshot_request("6")) is None
    again.close()


def test_anonymous_connections_are_never_recorded(tmp_path: Path) -> None:
    record = RequestRecord(tmp_path)
    record.remember("anonymous-1", snapshot_request("1"), {"v": 1, "id": "1", "ok": True, "result": {}})
    record.input_logged("anonymous-1:2", "s", 10)
    assert record.answer("anonymous-1", snapshot_request("1")) is None
    assert not record.entries
    record.close()


def test_the_file_is_compacted_to_the_last_requests(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(request_record, "KEEP", 10)
    record = RequestRecord(tmp_path)
    for number in range(35):
        record.remember("c", snapshot_request(str(number)), {"v": 1, "id": str(number), "ok": True, "result": number})
    record.close()
    lines = (tmp_path / RECORD_NAME).read_bytes().count(b"\n")
    assert lines <= 20
    again = RequestRecord(tmp_path)
    assert again.answer("c", snapshot_request("34"))["result"] == 34
    assert again.answer("c", snapshot_request("0")) is None
    again.close()
