"""Every key binding (footer, palette, keymap), interrupt and quit, and the server going away."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_tui.app import OmegaApp
from omega_tui.commands import command_entries
from omega_tui.components.repl_pane import ReplInput, ReplPane
from omega_tui.components.sessions_pane import SessionsTable
from omega_tui.components.timeline_pane import TimelineView
from omega_tui.keys import KEYS

from .conftest import LiveServer, in_thread, stop_server, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

PANE_WIDGETS = {"repl": ReplInput, "sessions": SessionsTable, "timeline": TimelineView}


def entries(app: OmegaApp) -> list[tuple[str, str]]:
    return list(app.query_one(ReplPane).entries)


def notices(app: OmegaApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def started(app: OmegaApp, pilot, session: str = "current") -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20,
                   f"the session to open ({app.connection.state}, {app.connection.cause}, {notices(app)})")


async def run(app: OmegaApp, pilot, text: str, key: str = "enter") -> None:  # type: ignore[no-untyped-def]
    count = len(entries(app))
    repl_input = app.query_one(ReplInput)
    repl_input.focus()
    repl_input.load_text(text)
    repl_input.move_cursor(repl_input.document.end)
    await pilot.press(key)
    await wait_for(pilot, lambda: app.busy_since is None and len(entries(app)) > count + 1, 10, f"the reply to {text!r}")


async def test_every_binding_has_an_id_and_shows_in_footer_and_palette(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        assert all(spec.id for spec in KEYS) and len({spec.id for spec in KEYS}) == len(KEYS)
        for pane in ("repl", "sessions", "timeline", "metrics"):
            app.focus_pane(pane)
            await pilot.pause()
            shown = {active.binding.id for active in app.screen.active_bindings.values() if active.binding.show}
            expected = {spec.id for spec in KEYS if spec.scope in (pane, "app", "screen") and spec.show
                        and not (pane == "repl" and spec.id == "pane.help")}  # "?" is text in the input
            assert expected <= shown, f"{pane}: not in the footer: {expected - shown}"
        titles = {help_text.split("(id ")[1].rstrip(")") for _, help_text, _ in command_entries(app) if "(id " in help_text}
        assert titles == {spec.id for spec in KEYS if spec.scope != "dialog"}
        # The palette runs a binding where it belongs: "Timeline: First" moves the timeline cursor.
        await run(app, pilot, "(define p 1)")
        await run(app, pilot, "(define q 2)")
        view = app.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total >= 2 and view.cursor == view.total - 1, 5, "the timeline")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", 5, "the palette")
        await pilot.press(*"Timeline: First")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.cursor == 0 and app.focused is view, 5, "the palette command to run")


async def test_tab_and_number_keys_move_between_panes(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        order = []
        for _ in range(4):
            order.append(app.pane_of(app.focused))
            await pilot.press("tab")
        assert order == ["repl", "sessions", "timeline", "metrics"]
        assert app.pane_of(app.focused) == "repl"
        await pilot.press("shift+tab")
        assert app.pane_of(app.focused) == "metrics"
        for key, pane in (("f2", "sessions"), ("f3", "timeline"), ("f4", "metrics"), ("f1", "repl")):
            await pilot.press(key)
            assert app.pane_of(app.focused) == pane, key
        await pilot.press("f2", "3")  # digits are no pane keys: in the Sessions pane "3" does nothing
        assert app.pane_of(app.focused) == "sessions"
        await pilot.press("f1", "3")  # in the REPL input a digit is text; alt+digit works there too
        assert app.query_one(ReplInput).text == "3" and app.pane_of(app.focused) == "repl"
        await pilot.press("alt+3")
        assert app.pane_of(app.focused) == "timeline"


async def test_repl_keys_newline_clear_scroll_and_sessions_refresh(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        repl_input = app.query_one(ReplInput)
        await pilot.press(*"(+ 1")
        await pilot.press("ctrl+j")
        await pilot.press(*"2)")
        assert repl_input.text == "(+ 1\n2)"
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("result", "=> 3") in entries(app), 5, "the result")
        for n in range(30):
            app.query_one(ReplPane).show_notice(f"line {n}")
        log = app.query_one(ReplPane).log_view
        await wait_for(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y, 5, "the log at its end")
        bottom = log.scroll_y
        await pilot.press("pageup")
        await wait_for(pilot, lambda: log.scroll_y < bottom, 5, "the log scrolled up")
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: log.scroll_y == bottom, 5, "the log back at its end")
        await pilot.press("ctrl+l")
        assert entries(app) == [] and len(log.lines) == 0
        other = live.client("other")
        await in_thread(other.execute, "1", "elsewhere")
        app.query_one(SessionsTable).focus()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "elsewhere" in [r["name"] for r in app.query_one(SessionsTable).rows_data], 5, "the refresh")


async def test_ctrl_c_interrupts_a_runaway_command_and_ctrl_q_quits(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+c")  # nothing running: a hint, nothing else
        assert "Nothing is running" in notices(app)
        repl_input = app.query_one(ReplInput)
        repl_input.load_text("(define (spin) (spin)) (spin)")
        repl_input.move_cursor(repl_input.document.end)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy_since is not None, 5, "the command to start")
        await pilot.pause(0.3)
        assert "running" in str(app.query_one("#status-bar").render())
        # The UI stays responsive while the command runs (the call is in a worker).
        await pilot.press("tab")
        assert app.pane_of(app.focused) == "sessions"
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.busy_since is None, 10, "the interrupt")
        assert any(kind == "error" and "interrupt" in text for kind, text in entries(app))
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0


async def test_keymap_from_the_config_file_moves_bindings(live: LiveServer, tmp_path: Path) -> None:
    config_path = Path(live.config_path)
    config_path.write_text(config_path.read_text() + '\n[keymap]\n"timeline.first" = "home"\n"repl.submit" = "ctrl+s"\n'
                           '"no.such" = "x"\n', encoding="utf-8")
    config = load_config(config_path)
    app = OmegaApp(config, client_factory=live.factory())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        assert "[keymap] no.such: no such binding" in notices(app)
        repl_input = app.query_one(ReplInput)
        await pilot.press(*"(+ 2 2)")
        await pilot.press("enter")  # no longer submits: a newline
        assert repl_input.text == "(+ 2 2)\n"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: ("result", "=> 4") in entries(app), 5, "ctrl+s to run")
        await run(app, pilot, "(define z 1)", key="ctrl+s")
        view = app.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total >= 2, 5, "checkpoints")
        view.focus()
        await pilot.press("G")
        last = view.cursor
        await pilot.press("g")  # moved away from g
        assert view.cursor == last
        await pilot.press("home")
        assert view.cursor == 0
        palette = {title: help_text for title, help_text, _ in command_entries(app)}
        assert "home" in palette["Timeline: First"] and "^s" in palette["REPL: Run"]


async def test_a_backend_restart_shows_a_notice_and_the_app_carries_on(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await run(app, pilot, "(define kept 7)")
        pid = await in_thread(live.backend_pid)
        os.kill(pid, signal.SIGKILL)
        await wait_for(pilot, lambda: "reconnected" in notices(app), 15, "the restart notice")
        await run(app, pilot, "kept")
        assert ("result", "=> 7") in entries(app)
        assert app.mode == "read-write" and app.server_down is None


async def test_a_supervisor_that_gave_up_is_explained_and_restart_recovers(tmp_path: Path) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\nrestart_limit = 1\nrestart_backoff_initial_s = 0.05\n"
                           "restart_backoff_max_s = 0.1\nrestart_window_s = 60\nstable_start_s = 10\n", encoding="utf-8")
    config = load_config(config_path)
    live = LiveServer(config, str(config_path))
    try:
        # A short connect timeout: right after a restart from the given-up state a reconnect can hang
        # on hello until it (the given-up supervisor's connection outlives the fork of the new
        # backend; reported to the server's owner), then the client retries and is served.
        app = OmegaApp(config, client_factory=live.factory(connect_timeout_s=3.0))
        async with app.run_test(size=(80, 24)) as pilot:
            await started(app, pilot)
            for _ in range(2):
                pid = await in_thread(live.backend_pid)
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    await pilot.pause(0.02)
                await pilot.pause(0.3)
            await wait_for(pilot, lambda: app.server_down is not None, 15, "the banner")
            # Typed while the server is down: kept in the queue, run once it is back.
            repl_input = app.query_one(ReplInput)
            repl_input.focus()
            repl_input.load_text("(+ 1 1)")
            await pilot.press("enter")
            assert list(app.repl.queue) == ["(+ 1 1)"] and "1 queued" in str(app.query_one("#status-bar").render())
            banner = str(app.query_one("#banner").render())
            assert "omega server restart" in banner and "palette" in banner
            assert "server down" in str(app.query_one("#status-bar").render())
            await pilot.press("ctrl+p")
            await pilot.press(*"Server: restart")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.server_down is None, 15, "the restart")
            await wait_for(pilot, lambda: not app.opening, 15, "the session to open again")
            await wait_for(pilot, lambda: ("result", "=> 2") in entries(app), 15, "the kept input to run")

            async def works() -> bool:
                await run(app, pilot, "(+ 20 22)")
                return ("result", "=> 42") in entries(app)

            deadline = time.monotonic() + 10
            while not await works():
                assert time.monotonic() < deadline, (entries(app), notices(app))
                await pilot.pause(0.2)
    finally:
        for client in live.clients:
            client.close()
        stop_server(live.paths, config)
