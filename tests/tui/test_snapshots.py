"""SVG snapshots of the app, one per pane (focused), at 80x24 and 120x40, in a light and a dark theme.

They use the canned client (recorded data, fixed times) and ``deterministic=True`` (no timers, no
cursor blink), so the SVGs in ``snapshots/`` only change when the app's look changes. Update them
with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the diff.
"""

from __future__ import annotations

import time

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
THEMES = ("textual-light", "textual-dark")
PANES = ("repl", "sessions", "timeline", "metrics")


def make_app(theme: str, **client_options: object) -> OmegaApp:
    return OmegaApp(Config(), client_factory=lambda: CannedClient(**client_options), deterministic=True, theme=theme)  # type: ignore[arg-type]


def settle(pane: str | None):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        deadline = time.monotonic() + 10
        while not app.ready.is_set() or app.main.query_one("#timeline-view").total == 0:
            assert time.monotonic() < deadline, "the canned session never opened"
            await pilot.pause(0.02)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if pane is not None:
            app.focus_pane(pane)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("pane", PANES)
def test_pane(snap_compare, pane: str, size: str, theme: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(theme), terminal_size=SIZES[size], run_before=settle(pane))


def test_read_only_badge(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app("textual-dark", read_only=True), terminal_size=(80, 24), run_before=settle("repl"))


def test_server_unavailable_banner(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("repl")(pilot)
        pilot.app.show_server_down("the backend crashed 6 times within 60 s and was not restarted "
                                   "(last: killed by signal SIGKILL); fix the cause, then run: omega server restart")
        await pilot.pause()

    assert snap_compare(make_app("textual-light"), terminal_size=(80, 24), run_before=run_before)


def test_delete_confirmation(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("sessions")(pilot)
        await pilot.press("d")
        await pilot.pause()

    assert snap_compare(make_app("textual-dark"), terminal_size=(80, 24), run_before=run_before)


def test_multi_line_input_is_highlighted(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("repl")(pilot)
        repl_input = pilot.app.main.query_one("#repl-input")
        repl_input.insert("(define (greet name) ; say hello")
        await pilot.press("enter")  # the parenthesis is open: a newline, indented
        repl_input.insert('(string-append "hi, " name #t 42))')
        await pilot.pause()

    assert snap_compare(make_app("textual-dark"), terminal_size=(80, 24), run_before=run_before)


def test_queued_inputs_show_as_pending(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("repl")(pilot)
        app = pilot.app
        app.repl.busy_since = 0.0  # as if a command ran: what is entered now waits in the queue
        for text in ("(+ 1 2)", "(define (f x)\n  (* x x))"):
            app.repl.submitted(text)
        await pilot.pause()

    assert snap_compare(make_app("textual-dark"), terminal_size=(80, 24), run_before=run_before)


def test_server_stopped_in_the_status_bar(snap_compare) -> None:  # type: ignore[no-untyped-def]
    from omega_tui.components.connection import LinkLost

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("repl")(pilot)
        pilot.app.connection.link_lost(LinkLost("connection closed", stopped=True))
        await pilot.pause()

    assert snap_compare(make_app("textual-light"), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", list(SIZES))
def test_help_screen(snap_compare, size: str) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle("sessions")(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app("textual-dark"), terminal_size=SIZES[size], run_before=run_before)
