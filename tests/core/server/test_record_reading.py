"""Reading the request record's file in two steps (``record_reading``): a standby backend reads it
ahead while the active backend appends, and at its "go" reads only what was appended since."""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import Any

from omega_core.server.record_reading import read_record
from omega_core.server.request_record import RECORD_NAME, RequestRecord


def line(rid: str, offset: int = 0) -> bytes:
    return (json.dumps({"rid": rid, "session": "s", "offset": offset}) + "\n").encode()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_a_second_read_takes_only_the_appended_lines_and_a_torn_line_once_it_is_whole(tmp_path: Path) -> None:
    path = tmp_path / RECORD_NAME
    path.write_bytes(line("a") + line("b") + line("c", 1)[:10])  # c is being written
    entries: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
    first = read_record(path, entries)
    assert list(entries) == ["a", "b"] and first.lines == 2
    append(path, line("c", 1)[10:] + line("a", 2))  # c finished; a again (moves last)
    second = read_record(path, entries, first)
    assert list(entries) == ["b", "c", "a"] and entries["a"]["offset"] == 2
    assert second.lines == 4 and second.upto == path.stat().st_size


def test_a_replaced_or_shorter_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / RECORD_NAME
    path.write_bytes(line("a") + line("b") + line("c"))
    entries: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
    first = read_record(path, entries)
    replacement = tmp_path / "new"
    replacement.write_bytes(line("b") + line("c") + line("d"))  # a compaction renames a new file in
    os.replace(replacement, path)
    read_record(path, entries, first)
    assert list(entries) == ["b", "c", "d"]
    again = read_record(path, entries)
    path.write_bytes(line("x"))  # the same inode, shorter: rewritten
    read_record(path, entries, again)
    assert list(entries) == ["x"]
    path.unlink()
    assert read_record(path, entries, again).lines == 0 and not entries


def test_a_preloaded_record_has_what_the_active_backend_recorded_up_to_the_load(tmp_path: Path) -> None:
    active = RequestRecord(tmp_path)
    active.input_logged("client:1", "s", 0)
    standby = RequestRecord(tmp_path, load=False)
    standby.preload()
    assert not standby.loaded and list(standby.entries) == ["client:1"]
    active.input_logged("client:2", "s", 10)  # after the standby read ahead
    active.close()
    standby.load()
    assert standby.loaded and list(standby.entries) == ["client:1", "client:2"]
    assert standby.entries["client:2"]["offset"] == 10


def test_a_load_rewrites_the_file_only_for_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / RECORD_NAME
    path.write_bytes(line("a") + line("b") + line("a", 3))  # a duplicate, no torn line
    inode = path.stat().st_ino
    record = RequestRecord(tmp_path)
    assert list(record.entries) == ["b", "a"] and path.stat().st_ino == inode  # not rewritten at start
    record.close()
    append(path, line("c")[:7])  # a writer killed mid-line
    record = RequestRecord(tmp_path)
    assert path.read_bytes().endswith(b"\n") and path.stat().st_ino != inode  # rewritten without it
    record.input_logged("d", "s", 4)  # would have been glued to the torn line
    record.close()
    assert list(RequestRecord(tmp_path).entries) == ["b", "a", "d"]


def test_lines_are_parsed_at_once_and_a_broken_line_costs_only_itself() -> None:
    from omega_core.server.record_reading import parse_lines

    assert parse_lines([b'{"rid": "a"}', b"", b"[1, 2]"]) == [{"rid": "a"}, [1, 2]]
    # "1, 2" alone would make the joined array longer: it is parsed line by line (and dropped)
    assert parse_lines([b'{"rid": "a"}', b'{"rid": "b"', b"1, 2", b'{"rid": "c"}']) == [{"rid": "a"}, {"rid": "c"}]
