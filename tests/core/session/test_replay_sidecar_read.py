"""Reading a sidecar's lines through blocks, and warming its caches at open (replay_sidecar_read.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omega_core.lang.serialize import StateFormatError
from omega_core.session import replay_sidecar_read
from omega_core.session.replay_sidecar_read import _Blocks


@pytest.mark.parametrize("block", [1, 3, 7, 64 * 1024])
def test_lines_are_whole_whatever_the_blocks_they_span(tmp_path: Path, block: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_sidecar_read, "BLOCK_BYTES", block)
    lines = [b'{"a":1}', b'{"b":"' + b"x" * 50 + b'"}', b"{}", b'{"c":[1,2,3]}']
    path = tmp_path / "f.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    offsets = [sum(len(line) + 1 for line in lines[:index]) for index in range(len(lines))]
    with open(path, "rb") as handle:
        blocks = _Blocks(handle, path)
        for offset, line in reversed(list(zip(offsets, lines))):
            assert blocks.line_at(offset) == line
        assert blocks.object_at(offsets[3]) == ({"c": [1, 2, 3]}, len(lines[3]))


def test_a_bad_offset_or_a_cut_line_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_sidecar_read, "BLOCK_BYTES", 4)
    path = tmp_path / "f.ndjson"
    path.write_bytes(b'{"a":1}\n{"b":2')  # the last line is torn
    with open(path, "rb") as handle:
        blocks = _Blocks(handle, path)
        with pytest.raises(StateFormatError, match="not the start of a line"):
            blocks.line_at(3)
        with pytest.raises(StateFormatError, match="cut short"):
            blocks.line_at(8)
        with pytest.raises(StateFormatError, match="not the start of a line"):
            blocks.line_at(400)  # past the end
        with pytest.raises(StateFormatError, match="negative"):
            blocks.line_at(-1)
    path.write_bytes(b'[1]\n{"b":2\n')
    with open(path, "rb") as handle:
        with pytest.raises(StateFormatError, match="not a JSON object"):
            _Blocks(handle, path).object_at(0)
        with pytest.raises(StateFormatError, match="not JSON"):
            _Blocks(handle, path).object_at(4)
