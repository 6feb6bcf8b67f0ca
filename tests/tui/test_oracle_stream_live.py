"""The REPL pane shows an oracle answer as it arrives (a live preview under the log), then the value.

The fake endpoint sends the first word and holds the rest until the test has seen it on screen, so
the preview can only pass if the pieces really travel endpoint -> backend -> client -> pane while
the command runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from omega_core.config import load_config
from omega_core.server import launcher
from omega_tui.app import OmegaApp
from omega_tui.components.repl_pane import ReplPane
from tests.core.oracle.fake_openai import FAKE_KEY_ENV, PROXY_VARIABLES, FakeOpenAIServer, oracle_config_toml
from tests.core.server.live_server import stop_server

from .conftest import LiveServer, wait_for

pytestmark = [pytest.mark.anyio]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(FAKE_KEY_ENV, "sk-fake")
    with FakeOpenAIServer(reply_text="The capital is Paris") as fake:
        yield fake


@pytest.fixture
def live_openai(tmp_path: Path, endpoint: FakeOpenAIServer) -> Iterator[LiveServer]:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n" + oracle_config_toml(endpoint), encoding="utf-8")
    config = load_config(config_path)
    server = LiveServer(config, str(config_path))
    try:
        yield server
    finally:
        for client in server.clients:
            client.close()
        stop_server(server.paths, config)
        assert launcher.server_pid(server.paths) is None


async def test_the_answer_shows_while_it_arrives_then_the_value(live_openai: LiveServer,
                                                                endpoint: FakeOpenAIServer) -> None:
    gate = threading.Event()
    endpoint.stream_gate = gate
    app = OmegaApp(live_openai.config, client_factory=live_openai.factory())
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.ready.is_set() and app.session_name, 20, "the session to open")
            pane = app.query_one(ReplPane)
            preview = app.query_one("#repl-oracle", Static)
            await pilot.press(*'(effect infer.op "capital?")')
            await pilot.press("enter")
            await wait_for(pilot, lambda: preview.display and "oracle ▸ The" in str(preview.render()), 20,
                           "the first word of the answer under the log")
            assert not any(kind == "result" for kind, _ in pane.entries)  # the command still runs
            gate.set()
            await wait_for(pilot, lambda: ("result", '=> "The capital is Paris"') in pane.entries, 20, "the value")
            await wait_for(pilot, lambda: not preview.display, 5, "the preview to go")
    finally:
        gate.set()
