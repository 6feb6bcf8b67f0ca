"""Idle CPU: the REPL cursor stops blinking after a pause and blinks again at the next key; the
hidden loading indicator runs no 16 Hz timer; no polling timers are left on the app."""

from __future__ import annotations

import pytest
from textual.widgets import LoadingIndicator

import omega_tui.components.idle_cursor as idle_cursor
from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.repl_pane import ReplInput

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


async def test_the_cursor_rests_when_idle_and_blinks_again_at_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idle_cursor, "QUIET_S", 0.2)
    app = OmegaApp(Config(), client_factory=CannedClient)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        repl_input = app.query_one(ReplInput)
        await wait_for(pilot, lambda: not repl_input.cursor_blink, 5, "the cursor to stop blinking")
        assert app.quiet_cursor is not None
        app.quiet_cursor.quiet_s = 30.0  # a slow machine must not rest it before the check
        await pilot.press("x")
        assert repl_input.cursor_blink and repl_input.text.endswith("x")
        indicator = app.query_one("#repl-loading", LoadingIndicator)
        assert not indicator.display and indicator.auto_refresh is None
        # Only short one-shot timers may be left (no intervals polling the server).
        assert all(getattr(timer, "_repeat", 1) is not None for timer in app._timers), app._timers
