"""Keys typed right after launch, before the main screen has focused the REPL input, are kept.

The keys are posted from ``on_mount`` (before the first screen is ready: nothing is focused yet,
exactly where a fast typist's keys land). Text typed even earlier, while the terminal was in cooked
mode (``cooked_input``: Enter became a line feed), comes first. All of it must reach the input in
order and run once the connection is up; a ``ctrl+j`` read in raw mode stays a newline.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual import events

from omega_tui.app import OmegaApp
from omega_tui.components.repl_pane import ReplPane

from .conftest import LiveServer, wait_for

pytestmark = [pytest.mark.anyio]


class TypedAtLaunch(OmegaApp):
    """An app whose user typed ``keys`` before its first frame."""

    keys: tuple[tuple[str, str | None], ...] = ()

    def on_mount(self) -> None:
        super().on_mount()
        self.focused_at_first_key = self.focused
        for key, character in self.keys:
            self.post_message(events.Key(key, character))


def typed(text: str, enter: str = "enter") -> tuple[tuple[str, str | None], ...]:
    names = {"(": "left_parenthesis", ")": "right_parenthesis", " ": "space", "+": "plus"}
    keys: list[tuple[str, str | None]] = [(names.get(char, char), char) for char in text]
    return (*keys, (enter, "\n" if enter == "ctrl+j" else "\r"))


async def test_keys_typed_before_the_first_frame_reach_the_input_in_order_and_run(live: LiveServer) -> None:
    gate = threading.Event()
    make = live.factory()

    def slow_factory() -> Any:
        gate.wait(20)
        return make()

    app = TypedAtLaunch(live.config, client_factory=slow_factory)
    app.early_keys.type_text("(define a 1)\n(+ a")  # cooked mode: Enter arrived as a line feed
    app.keys = typed(" 1)") + typed("(list", enter="ctrl+j") + typed(" a)")
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.focused_at_first_key is None  # the keys really came before the input had focus
        await wait_for(pilot, lambda: list(app.repl.queue) == ["(define a 1)", "(+ a 1)", "(list\n a)"], 20,
                       "all three inputs queued")
        gate.set()
        await wait_for(pilot, lambda: ("result", "=> (1)") in list(app.query_one(ReplPane).entries), 20,
                       "the queued inputs to run")
        got = [text for kind, text in app.query_one(ReplPane).entries if kind in ("input", "result")]
        assert got[-6:] == ["Ω> (define a 1)", "=> a", "Ω> (+ a 1)", "=> 2", "Ω> (list\n..  a)", "=> (1)"]
