"""Lossless input, live output and the status bar of the app against a real server (Pilot)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest
from textual import events

from omega_core.server import launcher
from omega_tui.app import OmegaApp
from omega_tui.components.repl_controller import RESENT_NOTICE
from omega_tui.components.repl_pane import ReplInput, ReplPane
from omega_tui.components.repl_input import PASTE_BURST_S
from tests.core.server.live_server import stop_server

from .conftest import LiveServer, in_thread, wait_for

pytestmark = [pytest.mark.anyio]


def entries(app: OmegaApp) -> list[tuple[str, str]]:
    return list(app.query_one(ReplPane).entries)


def status(app: OmegaApp) -> str:
    return str(app.query_one("#status-bar").render())


def pending(app: OmegaApp) -> str:
    return str(app.query_one("#repl-pending").render())


async def started(app: OmegaApp, pilot: Any, session: str = "current") -> None:
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20, "the session to open")


async def type_and_enter(pilot: Any, text: str) -> None:
    """Type ``text`` and Enter at a typist's pace after the Enter: a key stamped within
    ``PASTE_BURST_S`` of an Enter is taken as part of a paste (the Enter becomes a newline), and on
    a loaded machine Pilot's next keys could come that close."""
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause(PASTE_BURST_S * 3)


async def test_keys_typed_before_the_connection_are_kept_and_run_in_order(live: LiveServer) -> None:
    gate = threading.Event()
    make = live.factory()

    def slow_factory() -> Any:
        gate.wait(20)
        return make()

    app = OmegaApp(live.config, client_factory=slow_factory)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_enter(pilot, "(define x 20)")
        await type_and_enter(pilot, "(+ x 22)")
        repl_input = app.query_one(ReplInput)
        assert repl_input.text == ""  # taken at the key press
        assert list(app.repl.queue) == ["(define x 20)", "(+ x 22)"]
        assert "pending" in pending(app) and "(+ x 22)" in pending(app)
        assert "2 queued" in status(app) and "connecting" in status(app)
        gate.set()
        await wait_for(pilot, lambda: ("result", "=> 42") in entries(app), 20, "the queued inputs to run")
        got = [text for kind, text in entries(app) if kind in ("input", "result")]
        assert got[-4:] == ["Ω> (define x 20)", "=> x", "Ω> (+ x 22)", "=> 42"]
        assert not app.repl.queue and not app.query_one("#repl-pending").display


async def test_typing_while_busy_queues_escape_takes_back_and_ctrl_c_interrupts_only_the_running_one(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await type_and_enter(pilot, '(begin (display "first") (newline) (define (spin) (spin)) (spin))')
        await wait_for(pilot, lambda: app.busy_since is not None, 5, "the command to start")
        # Live output: the display shows while the command still runs.
        await wait_for(pilot, lambda: ("output", "first") in entries(app), 10, "the streamed output")
        assert app.busy_since is not None
        await type_and_enter(pilot, "(+ 1 1)")
        await type_and_enter(pilot, ")")  # fails to parse: its error shows in its place
        await type_and_enter(pilot, "(+ 2 2)")
        assert list(app.repl.queue) == ["(+ 1 1)", ")", "(+ 2 2)"], entries(app)[-8:]
        assert "3 queued" in status(app) and "running" in status(app)
        await pilot.press("escape")  # the input is empty: the last queued input comes back to edit
        repl_input = app.query_one(ReplInput)
        assert repl_input.text == "(+ 2 2)" and list(app.repl.queue) == ["(+ 1 1)", ")"], entries(app)[-8:]
        repl_input.load_text("")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.repl.queue and app.busy_since is None
                       and sum(kind == "error" for kind, _ in entries(app)) >= 2, 15, "the queue to run")
        got = [(kind, text) for kind, text in entries(app) if kind in ("input", "result", "error")]
        spin = next(i for i, (kind, text) in enumerate(got) if "(spin)" in text and kind == "input")
        assert "interrupt" in got[spin + 1][1]
        assert got[spin + 2:spin + 4] == [("input", "Ω> (+ 1 1)"), ("result", "=> 2")]
        assert got[spin + 4] == ("input", "Ω> )") and got[spin + 5][0] == "error"
        assert not any(text == "Ω> (+ 2 2)" for _, text in got)  # taken back before it ran


async def test_a_paste_lands_in_the_input_as_one_multi_line_text(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        repl_input = app.query_one(ReplInput)
        app.post_message(events.Paste("(define a 1)\n(define b 2)"))  # as the terminal driver does
        await pilot.pause()
        assert repl_input.text == "(define a 1)\n(define b 2)" and app.busy_since is None
        repl_input.load_text("")
        # Without bracketed paste the terminal sends the text as keys in one burst, Enter included.
        names = {" ": "space", "(": "left_parenthesis", ")": "right_parenthesis", "+": "plus", "\n": "enter"}
        for char in "(define c 3)\n(+ c 1)":
            key = events.Key(names.get(char, char), None if char == "\n" else char)
            key.set_sender(app)
            app._driver.send_message(key)  # type: ignore[union-attr]  # all queued at once, as a read does
        await wait_for(pilot, lambda: repl_input.text == "(define c 3)\n(+ c 1)", 5,
                       lambda: f"the pasted text ({repl_input.text!r}, {entries(app)[-3:]}; focused {app.focused!r}, "
                               f"early keys open {app.early_keys.open}, held {len(app.early_keys.held)}; pane keys "
                               f"waiting {app.pane_keys.waiting}, held {len(app.pane_keys.held)}; side panes filled "
                               f"{app.side_panes.filled})")
        assert app.busy_since is None and not app.repl.queue
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("result", "=> 4") in entries(app), 10, "the pasted input to run")


async def test_steal_and_take_back_show_in_the_status_bar(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert "read-write" in status(app)
        thief = live.client("thief")
        await in_thread(thief.open_session, "current")
        await in_thread(lambda: thief.call("access", "current", mode="read-write", steal=True))
        await wait_for(pilot, lambda: "READ-ONLY" in status(app), 5, "read-only in the status bar")
        await pilot.press("ctrl+w")
        await wait_for(pilot, lambda: "read-write" in status(app) and app.mode == "read-write", 5, "write access back")


async def test_server_stop_shows_stopped_starts_nothing_and_f5_starts_it(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await in_thread(stop_server, live.paths, live.config)
        await wait_for(pilot, lambda: "server stopped" in status(app), 15, "'server stopped' in the status bar")
        assert "F5" in status(app)
        assert launcher.server_pid(live.paths) is None  # the app did not start one by itself
        await type_and_enter(pilot, "(+ 40 2)")  # kept until the server is back
        assert list(app.repl.queue) == ["(+ 40 2)"]
        await pilot.press("f5")
        await wait_for(pilot, lambda: "connected" in status(app) and "stopped" not in status(app), 20, "the server to start")
        await wait_for(pilot, lambda: ("result", "=> 42") in entries(app), 15, "the kept input to run")


async def test_a_follower_is_offered_write_access_when_the_writer_leaves(live: LiveServer) -> None:
    writer = live.client("writer")
    await in_thread(writer.open_session, "current")
    await in_thread(lambda: writer.call("access", "current", mode="read-write"))
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert "READ-ONLY" in status(app) and "following" in status(app)
        await in_thread(writer.close)  # the writer leaves
        await wait_for(pilot, lambda: "ctrl+w takes write access" in status(app), 10, "the offer")
        await pilot.press("ctrl+w")
        await wait_for(pilot, lambda: app.mode == "read-write" and "writer left" not in status(app), 5, "write access")


async def test_an_input_of_several_forms_shows_each_result_as_its_form_ends(live: LiveServer) -> None:
    """A pasted input of several forms: ``=> zz`` of its first define shows while its last form
    still runs, before that form's output, and nothing is shown twice once the reply comes."""
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        app.query_one(ReplInput).load_text('(define zz 5)\n(begin (display "later") (newline) (define (spin) (spin)) (spin))')
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("output", "later") in entries(app), 10, "the streamed output")
        assert app.busy_since is not None  # (spin) still runs
        got = entries(app)
        assert ("result", "=> zz") in got and got.index(("result", "=> zz")) < got.index(("output", "later"))
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.busy_since is None, 15, "the interrupt")
        await pilot.pause()
        got = entries(app)
        assert got.count(("result", "=> zz")) == 1 and got.count(("output", "later")) == 1, got[-6:]
        assert "interrupt" in got[-1][1], got[-6:]


async def test_a_command_sent_again_after_a_backend_crash_shows_its_output_once_after_a_notice(live: LiveServer) -> None:
    """kill -9 of the backend while a command prints: the client sends it again and it runs
    again from the start. After the notice the log holds the input's whole output exactly once
    (before, the part past the first run's output was shown twice at the end)."""
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        await type_and_enter(pilot, "(define (count n i) (if (= i n) 'done (begin (if (= 0 (remainder i 20000)) "
                                    "(begin (display i) (newline)) #f) (count n (+ i 1)))))")
        await wait_for(pilot, lambda: ("result", "=> count") in entries(app), 10, "the define")
        await type_and_enter(pilot, "(count 400000 0)")
        await wait_for(pilot, lambda: any(kind == "output" and "20000" in text.split("\n") for kind, text in entries(app)),
                       15, "the first lines of output")
        os.kill(await in_thread(live.backend_pid), signal.SIGKILL)
        await wait_for(pilot, lambda: ("notice", RESENT_NOTICE) in entries(app), 20, "the resend notice")
        await wait_for(pilot, lambda: ("result", "=> done") in entries(app), 60, "the command run again")
        got = entries(app)
        after = got[got.index(("notice", RESENT_NOTICE)) + 1:]
        lines = [text for kind, text in after if kind == "output"]
        expected = [str(i) for i in range(0, 400000, 20000)]
        assert "\n".join(lines).split("\n") == expected, after[:5]
        assert after[-1] == ("result", "=> done")
