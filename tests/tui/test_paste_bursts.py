"""A paste without bracketed paste (keys marked as one burst by the driver) stays one text (Pilot).

The keys are posted one at a time, each handled before the next exists: what a loaded machine does
to a paste (the old timing rule ran the text before the paste's first Enter on its own). Keys typed
by hand carry no mark, and each Enter of theirs still runs its own input.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual import events

from omega_tui.app import OmegaApp
from omega_tui.components.repl_input import PASTE_BURST_S, PASTE_HOLD_S
from omega_tui.components.repl_pane import ReplInput, ReplPane
from omega_tui.read_burst import mark_burst

from .conftest import LiveServer, wait_for

pytestmark = [pytest.mark.anyio]

NAMES = {" ": "space", "(": "left_parenthesis", ")": "right_parenthesis", "+": "plus", "\r": "enter",
         "\t": "tab"}
LATE_S = max(PASTE_BURST_S, PASTE_HOLD_S) * 2
"""Longer than any of the timing rules' windows."""


def keys_of(text: str, marked: bool) -> list[events.Key]:
    keys = [events.Key(NAMES.get(char, char), char) for char in text]
    if marked:
        mark_burst(keys)  # type: ignore[arg-type]
    return keys


async def post_late(app: OmegaApp, pilot: Any, keys: list[events.Key]) -> None:
    """Each key reaches the app on its own, ``LATE_S`` after the one before, as the driver posts them."""
    for key in keys:
        key.time = 0.0  # the time stamps say "one burst" too: only the mark may decide
        key.set_sender(app)
        app._driver.send_message(key)  # type: ignore[union-attr]
        await pilot.pause(LATE_S)


def inputs(app: OmegaApp) -> list[str]:
    return [text for kind, text in app.query_one(ReplPane).entries if kind == "input"]


async def test_a_burst_lands_as_one_text_however_late_its_keys_are_handled(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 20, "the session to open")
        repl_input = app.query_one(ReplInput)
        before = inputs(app)
        await post_late(app, pilot, keys_of("(define c 3)\r(+ c\t1)", marked=True))
        assert repl_input.text == "(define c 3)\n(+ c\t1)"  # the tab too is text, not "next pane"
        assert app.focused is repl_input and inputs(app) == before and not app.repl.queue
        # a burst ending in Enter (a paste of whole lines) runs, as one input
        repl_input.load_text("")
        await post_late(app, pilot, keys_of("(define d 4)\r(+ d 1)\r", marked=True))
        await wait_for(pilot, lambda: ("result", "=> 5") in list(app.query_one(ReplPane).entries), 10, "the paste to run")
        assert inputs(app)[len(before):] == ["Ω> (define d 4)\n.. (+ d 1)"]


async def test_keys_typed_by_hand_run_each_line_even_with_fast_enters(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 20, "the session to open")
        before = inputs(app)
        await post_late(app, pilot, keys_of("(+ 1 2)\r(+ 3 4)\r", marked=False))
        await wait_for(pilot, lambda: ("result", "=> 7") in list(app.query_one(ReplPane).entries), 10, "both to run")
        assert inputs(app)[len(before):] == ["Ω> (+ 1 2)", "Ω> (+ 3 4)"]
