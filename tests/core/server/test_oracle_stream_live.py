"""Oracle answers stream through the server: ``execute(on_oracle=...)`` gets the pieces of an
``infer.op`` answer while the endpoint is still answering; followers get ``oracle`` pushes; the
reply and the recorded receipt hold the whole answer, and the output holds none of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server import launcher
from omega_core.server.client import OmegaClient
from omega_core.server.paths import ServerPaths
from tests.core.oracle.fake_openai import FAKE_KEY_ENV, PROXY_VARIABLES, FakeOpenAIServer, oracle_config_toml
from tests.core.server.live_server import stop_server


@pytest.fixture
def fake_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(FAKE_KEY_ENV, "sk-fake")  # the server, started by the client, inherits it
    with FakeOpenAIServer(reply_text="The capital is Paris") as fake:
        yield fake


@pytest.fixture
def config_path(tmp_path: Path, fake_endpoint: FakeOpenAIServer) -> Iterator[Path]:
    path = tmp_path / "omega.toml"
    path.write_text("[server]\nidle_shutdown_s = 20\n" + oracle_config_toml(fake_endpoint), encoding="utf-8")
    config = load_config(path)
    try:
        yield path
    finally:
        paths = ServerPaths.for_config(config)
        stop_server(paths, config)
        assert launcher.server_pid(paths) is None


def test_oracle_pieces_reach_the_requester_and_followers_while_the_endpoint_answers(
        config_path: Path, fake_endpoint: FakeOpenAIServer) -> None:
    config = load_config(config_path)
    gate = threading.Event()
    fake_endpoint.stream_gate = gate
    pieces: list[str] = []
    finished_at_first_piece: list[bool] = []
    follower_got: list[dict] = []

    def on_oracle(piece: str) -> None:
        if not pieces:
            finished_at_first_piece.append(fake_endpoint.stream_finished.is_set())
        pieces.append(piece)
        gate.set()  # only now does the endpoint send the rest

    with OmegaClient(config, name="runner", config_path=str(config_path), connect_timeout_s=15) as runner, \
            OmegaClient(config, name="follower", config_path=str(config_path), connect_timeout_s=15,
                        on_push=follower_got.append) as follower:
        runner.execute('(display "asking")', "s")
        follower.subscribe("s")
        reply = runner.execute('(define answer (effect infer.op "capital of France?")) answer', "s",
                               on_oracle=on_oracle)
        assert finished_at_first_piece == [False]
        assert "".join(pieces) == "The capital is Paris"
        assert reply.ok, reply.output
        assert reply.results[-1]["value"] == '"The capital is Paris"'
        assert all("Paris" not in str(result.get("output") or "") for result in reply.results)
        trace = runner.call("trace", "s")
        assert "The capital is Paris" in str(trace)  # the receipt keeps the whole answer
        deadline = time.monotonic() + 15
        while "".join(str(p.get("text")) for p in follower_got if p.get("push") == "oracle") != "The capital is Paris":
            assert time.monotonic() < deadline, f"the follower got {follower_got}"
            follower.poll_pushes(0.2)  # reads the connection: pushes go to on_push
        pushed = [push for push in follower_got if push.get("push") == "oracle"]
        assert all(push.get("session") == "s" and push.get("client") == runner.client_id for push in pushed)


def test_a_client_that_does_not_listen_gets_no_oracle_pushes(config_path: Path) -> None:
    config = load_config(config_path)
    got: list[dict] = []
    with OmegaClient(config, name="plain", config_path=str(config_path), connect_timeout_s=15,
                     on_push=got.append) as client:
        reply = client.execute('(effect infer.op "capital of France?")', "t")
        assert reply.results[-1]["value"] == '"The capital is Paris"'
    assert [push for push in got if push.get("push") == "oracle"] == []
