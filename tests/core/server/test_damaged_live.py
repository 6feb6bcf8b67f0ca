"""A damaged session through a real server: read-only with ``read_only`` errors naming the damage,
flagged in ``list_sessions`` and ``:session list``, usable again after ``:session repair``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.server.client import ServerError
from omega_core.session.recorded import RecordedSession

from tests.core.server.live_server import servers as _servers


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield from _servers(tmp_path)


def test_a_damaged_session_is_read_only_flagged_and_repairable(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers(start=False)
    session = RecordedSession.open(server.sessions_dir, "s", server.config)
    for number in range(8):
        session.execute(f"(define x{number} {number})")
    session.close()
    log = server.sessions_dir / "s.jsonl"
    lines = log.read_bytes().split(b"\n")
    del lines[len(lines) // 2]
    log.write_bytes(b"\n".join(lines))
    server.start()
    client = server.client()
    with pytest.raises(ServerError) as caught:
        client.execute("(+ 1 2)", "s")
    assert caught.value.code == "read_only" and str(log) in caught.value.message
    assert ":session repair s" in caught.value.message
    rows = {row["name"]: row for row in client.list_sessions()}
    assert str(log) in rows["s"]["damaged"]
    listing = client.execute(":session list", "main").output
    assert "  s (" in listing and "[damaged: session log" in listing
    repaired = client.execute(":session repair s", "main").output
    assert repaired.startswith("Repaired session 's'"), repaired
    assert client.execute("(+ 1 2)", "s").output == "=> 3"
    assert "damaged" not in {row["name"]: row for row in client.list_sessions()}["s"]
