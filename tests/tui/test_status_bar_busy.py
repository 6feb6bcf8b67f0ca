"""The status bar says "running" once a command has run ``BUSY_SHOWN_AFTER_S``, or at once when
inputs wait behind it: a quick command does not repaint the bar twice in the frame that should
show its result (issue 12, item 2)."""

from __future__ import annotations

import time

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.status_bar import BUSY_SHOWN_AFTER_S, StatusBar

pytestmark = [pytest.mark.anyio]


def status(app: OmegaApp) -> str:
    return str(app.query_one(StatusBar).render())


async def test_running_shows_after_a_while_or_with_a_queue() -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient())  # as a person runs it (not deterministic)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 10
        while not app.ready.is_set():
            assert time.monotonic() < deadline, "the canned session never opened"
            await pilot.pause(0.02)
        app.repl.busy_since = time.monotonic()  # a command that just started
        app.show_status()
        assert "running" not in status(app)
        app.repl.busy_since = time.monotonic() - 2 * BUSY_SHOWN_AFTER_S  # one that lasts
        app.show_status()
        assert "running" in status(app)
        app.repl.busy_since = time.monotonic()
        app.repl.queue.append("(+ 1 2)")  # an input waits behind it: say what it waits for
        app.show_status()
        assert "running" in status(app) and "1 queued" in status(app)
        app.repl.queue.clear()
        app.repl.busy_since = None
        app.show_status()
