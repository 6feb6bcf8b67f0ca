"""The Sessions pane against a real server: after creating a session the highlight (and so ``d``)
is on it, and a session's Size counts all its files, not only its log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omega_core.session.listing import session_file_owner
from omega_tui.app import OmegaApp
from omega_tui.components.sessions_pane import SessionsTable

from .conftest import LiveServer, in_thread, screen_text, wait_for

pytestmark = [pytest.mark.anyio]


async def started(app: OmegaApp, pilot: Any, session: str = "current") -> None:
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20, "the session to open")


async def test_creating_a_session_moves_the_highlight_to_it_so_d_targets_it(live: LiveServer) -> None:
    seed = live.client("seed")
    for number in range(1, 4):
        await in_thread(seed.execute, "(define a 1)", f"bulk{number:04d}")
    seed.close()
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        table = app.query_one(SessionsTable)
        await wait_for(pilot, lambda: table.row_count >= 4, 5, "the sessions")
        app.focus_pane("sessions")
        await pilot.press("home")
        assert table.highlighted_name == "bulk0001"
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is not app.main, 5, "the name dialog")
        await pilot.press(*"zz", "enter")
        await started(app, pilot, "zz")
        await wait_for(pilot, lambda: table.highlighted_name == "zz", 5, "the highlight on zz")
        app.focus_pane("sessions")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not app.main, 5, "the delete dialog")
        assert "Delete session 'zz'" in screen_text(app)
        await pilot.press("escape")


async def test_size_counts_every_file_of_a_loaded_session(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        sessions_dir = Path(live.config.session_dir) / "sessions"
        timeline = sessions_dir / "current.timeline.json"
        await in_thread(timeline.write_bytes, b"{}" + b" " * 300_000)  # a big sidecar the log size leaves out
        table = app.query_one(SessionsTable)

        def size_of_current() -> int:
            row = next((r for r in table.rows_data if r["name"] == "current"), {})
            return int(row.get("size") or 0)

        app.sessions.refresh_sessions()
        await wait_for(pilot, lambda: size_of_current() >= 300_000, 5, "the size to count the timeline file")
        on_disk = sum(p.stat().st_size for p in sessions_dir.iterdir() if session_file_owner(p.name) == "current")
        assert size_of_current() <= on_disk
