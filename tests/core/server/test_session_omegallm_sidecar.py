"""Sessions written by OmegaLLM through a real server: the sidecar of Omega's states is written by
the backend, used after a restart (goto replays no input), and OmegaLLM's files stay its own."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omega_core.session.replay_sidecar import ReplaySidecar, sidecar_path
from tests.core.server.live_server import LiveServer, servers

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def copy_fixtures(server: LiveServer) -> None:
    server.sessions_dir.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            shutil.copyfile(path, server.sessions_dir / path.name)


def test_goto_on_an_omegallm_session_uses_the_sidecar_after_a_restart(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(start=False)
    copy_fixtures(server)
    index_before = (server.sessions_dir / "effects_mock.index.json").read_bytes()
    server.start()
    client = server.client()
    client.open_session("effects_mock")
    reply = client.goto("effects_mock", 12)
    assert '"mock:infer.op"' in reply["report"]
    assert client.execute("topic", session="effects_mock").output == '=> "recursion"'
    server.stop()

    log = server.sessions_dir / "effects_mock.jsonl"
    assert sidecar_path(log).exists()
    assert {18, 22} <= set(ReplaySidecar(log).seqs)  # after every 4th input and the last (and goto 12: 4)
    index = json.loads((server.sessions_dir / "effects_mock.index.json").read_bytes())
    original = json.loads(index_before)
    assert all(index["states"][key] == value for key, value in original["states"].items())

    server.start()
    client = server.client()
    client.open_session("effects_mock")
    reply = client.goto("effects_mock", 30)
    assert reply["report"].startswith("Jumped to seq 30 (replayed 0 input(s), 0 step(s), 0 receipt(s) used)")
    assert client.execute("(double 21)", session="effects_mock").output == "=> 42"
    trace = client.trace("effects_mock", 5)
    assert any(event.get("jumpTo") == 30 for event in trace)
    server.assert_healthy()
