"""The status bar against a real server (Pilot): access right after ``:session attach --steal`` and
``:session release``, the writer leaving, a backend restarted under the app, a server down and back."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from omega_tui.app import OmegaApp
from omega_tui.components.repl_pane import ReplInput, ReplPane
from omega_tui.components.status_bar import StatusBar, StatusFacts, render_status
from tests.core.server.live_server import stop_server

from .conftest import LiveServer, in_thread, wait_for

pytestmark = [pytest.mark.anyio]


def status(app: OmegaApp) -> str:
    return str(app.query_one("#status-bar").render())


def entries(app: OmegaApp) -> list[tuple[str, str]]:
    return list(app.query_one(ReplPane).entries)


async def started(app: OmegaApp, pilot: Any, session: str = "current") -> None:
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20, "the session to open")


async def run(app: OmegaApp, pilot: Any, text: str) -> None:
    count = len(entries(app))
    repl_input = app.query_one(ReplInput)
    repl_input.focus()
    repl_input.load_text(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.busy_since is None and len(entries(app)) > count + 1, 10, f"the reply to {text!r}")


async def test_steal_and_release_by_repl_command_show_at_once(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        thief = live.client("thief")
        await in_thread(thief.open_session, "current")
        await in_thread(lambda: thief.call("access", "current", mode="read-write", steal=True))
        await wait_for(pilot, lambda: "READ-ONLY" in status(app), 5, "read-only after the theft")
        await run(app, pilot, ":session attach current --steal")
        await wait_for(pilot, lambda: app.mode == "read-write" and "READ-ONLY" not in status(app)
                       and "read-write" in status(app), 5, "read-write right after the steal command")
        await run(app, pilot, ":session release")
        await wait_for(pilot, lambda: "READ-ONLY" in status(app) and "ctrl+w takes write access" in status(app), 5,
                       "read-only with the offer right after the release")
        await pilot.press("ctrl+w")
        await wait_for(pilot, lambda: app.mode == "read-write" and "READ-ONLY" not in status(app), 5, "write access")


async def test_the_writer_leaving_offers_write_access(live: LiveServer) -> None:
    writer = live.client("writer")
    await in_thread(writer.open_session, "current")
    await in_thread(lambda: writer.call("access", "current", mode="read-write"))
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert "following" in status(app)
        await in_thread(lambda: writer.call("release", "current"))
        await wait_for(pilot, lambda: "writer left: ctrl+w takes write access" in status(app), 10, "the offer")


async def test_a_backend_restart_shows_reconnecting_then_a_lasting_notice(live: LiveServer,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    real_show = StatusBar.show

    def recording_show(self: StatusBar, facts: StatusFacts) -> None:
        shown.append(str(render_status(facts)))
        real_show(self, facts)

    monkeypatch.setattr(StatusBar, "show", recording_show)
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await run(app, pilot, "(define kept 7)")
        os.kill(await in_thread(live.backend_pid), signal.SIGKILL)
        await wait_for(pilot, lambda: "backend restarted" in status(app), 15, "the notice in the status bar")
        assert any("reconnecting #1" in text for text in shown), shown[-5:]
        assert "connected" in status(app)
        await pilot.pause(0.3)  # the toast may go: the bar keeps saying it
        assert "backend restarted" in status(app)
        await run(app, pilot, "kept")
        assert ("result", "=> 7") in entries(app)


async def test_server_down_and_back(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await in_thread(stop_server, live.paths, live.config)
        await wait_for(pilot, lambda: "server stopped" in status(app) and "F5" in status(app), 15, "the server stopped")
        await pilot.press("f5")
        await wait_for(pilot, lambda: "● connected" in status(app), 20, "connected again")
        await run(app, pilot, "(+ 1 2)")
        assert ("result", "=> 3") in entries(app)


def test_every_state_renders_in_80_columns() -> None:
    from omega_tui.components.status_bar import LinkState

    for link in LinkState:
        facts = StatusFacts(link=link, session="current", access="following", busy_s=1.25, queued=2,
                            cause="the backend crashed", write_offer=True, notice="backend restarted", reconnects=2)
        text = render_status(facts)
        assert text.no_wrap and str(text)
    assert "reconnecting #3" in str(render_status(StatusFacts(link=LinkState.RECONNECTING, session="s",
                                                             access="read-write", reconnects=2)))
    assert "running 1.2 s" in str(render_status(StatusFacts(link=LinkState.CONNECTED, session="s",
                                                           access="read-write", busy_s=1.25)))
