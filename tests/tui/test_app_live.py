"""The Omega app against a real server (started in a temp dir), driven by Pilot."""

from __future__ import annotations


import pytest

from omega_tui.app import OmegaApp
from omega_tui.components.repl_pane import ReplInput, ReplPane

from .conftest import LiveServer, in_thread, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def entries(app: OmegaApp) -> list[tuple[str, str]]:
    return list(app.query_one(ReplPane).entries)


async def started(app: OmegaApp, pilot, session: str = "current") -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20, "the session to open")


async def run(app: OmegaApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` into the REPL, press enter and wait for its reply."""
    count = len(entries(app))
    repl_input = app.query_one(ReplInput)
    repl_input.focus()
    repl_input.load_text(text)
    repl_input.move_cursor(repl_input.document.end)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.busy_since is None and len(entries(app)) > count + 1, 10, f"the reply to {text!r}")


async def test_opens_with_repl_focused_and_runs_code(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert isinstance(app.focused, ReplInput)
        for pane, title in (("#repl", "REPL"), ("#sessions", "Sessions"), ("#timeline", "Timeline"), ("#metrics", "Metrics")):
            assert app.query_one(pane).border_title == title
        await run(app, pilot, "(define x 40)")
        await run(app, pilot, "(+ x 2)")
        await run(app, pilot, '(display "hi") (car 1)')
        got = entries(app)
        assert ("input", "Ω> (+ x 2)") in got
        assert ("result", "=> 42") in got
        assert ("output", "hi") in got
        assert any(kind == "error" and text.startswith("error: car:") for kind, text in got)


async def test_multi_line_entry_and_history(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        repl_input = app.query_one(ReplInput)
        await pilot.press(*"(define (twice n)")
        await pilot.press("enter")  # parenthesis open: a newline, not a submission
        assert "\n" in repl_input.text and app.busy_since is None
        await pilot.press(*"(* 2 n))")
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("result", "=> twice") in entries(app), 10, "the definition")
        assert repl_input.text == ""
        await run(app, pilot, "(twice 21)")
        assert ("result", "=> 42") in entries(app)
        repl_input.load_text("")
        await pilot.press("up")
        assert repl_input.text == "(twice 21)"
        await pilot.press("up")
        assert repl_input.text.startswith("(define (twice n)")
        await pilot.press("down")  # cursor on the first of two lines: moves down inside the entry
        await pilot.press("down")
        assert repl_input.text == "(twice 21)"
        await pilot.press("down")
        assert repl_input.text == ""


async def test_transcript_of_an_existing_session_is_shown(live: LiveServer) -> None:
    other = live.client("other")
    reply = await in_thread(other.execute, '(define y 5) (display "out") (car 2)', "work")
    assert not reply.ok
    app = OmegaApp(live.config, client_factory=live.factory(), session="work")
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot, "work")
        got = entries(app)
        assert ("input", "Ω> (define y 5) (display \"out\") (car 2)") in got
        assert ("result", "=> y") in got
        assert ("output", "out") in got
        assert any(kind == "error" and "car" in text for kind, text in got)


async def test_another_clients_input_shows_up_live_in_a_read_only_app(live: LiveServer) -> None:
    other = live.client("other writer")
    await in_thread(other.open_session, "current")
    await in_thread(lambda: other.call("access", "current", mode="read-write"))
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert app.mode == "read-only" and "other writer" in (app.holder or "")
        assert "READ-ONLY" in str(app.query_one("#status-bar").render())
        assert app.subscribed
        reply = await in_thread(other.execute, "(* 6 7)", "current")
        assert reply.ok
        # Pushed by the server (no polling: an idle app has no timer running); how fast is for
        # bench/tui.py to say, not a test on a loaded machine.
        await wait_for(pilot, lambda: ("result", "=> 42") in entries(app), 10, "the other client's result")
        assert ("input", "[other client] Ω> (* 6 7)") in entries(app)
        # This app may not write: the server says why, and the app shows it as an error.
        await run(app, pilot, "(+ 1 1)")
        assert any(kind == "error" and "read-only" in text for kind, text in entries(app))


async def test_a_stolen_session_turns_the_app_read_only_and_shows_the_new_writer(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await started(app, pilot)
        assert app.mode == "read-write"
        await run(app, pilot, "(define shared 1)")
        thief = live.client("thief")
        await in_thread(thief.open_session, "current")
        await in_thread(lambda: thief.call("access", "current", mode="read-write", steal=True))
        await wait_for(pilot, lambda: app.mode == "read-only", 5, "the app to learn it lost write access")
        await in_thread(thief.execute, "(+ shared 41)", "current")
        await wait_for(pilot, lambda: ("result", "=> 42") in entries(app), 5, "the thief's result")
        # Our own commands were never shown twice.
        assert [e for e in entries(app) if e == ("input", "Ω> (define shared 1)")] == [("input", "Ω> (define shared 1)")]
