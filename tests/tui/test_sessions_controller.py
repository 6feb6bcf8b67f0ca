"""The Sessions pane with the canned client: health marks of interfaces.md #2, and the highlight
following the session just opened."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import SESSIONS, CannedClient
from omega_tui.components.sessions_pane import SessionsTable

from .conftest import screen_text, wait_for

pytestmark = [pytest.mark.anyio]


class HealthClient(CannedClient):
    def list_sessions(self) -> list[dict[str, Any]]:
        rows = copy.deepcopy(SESSIONS)
        rows[0]["degraded"] = "index write failed: disk full"
        rows[1]["damaged"] = "bad JSON at byte 120 of experiments.jsonl"
        return rows


async def test_degraded_and_damaged_sessions_are_marked_and_the_highlight_follows_the_open_session() -> None:
    app = OmegaApp(Config(), client_factory=HealthClient, deterministic=True)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        table = app.query_one(SessionsTable)
        await wait_for(pilot, lambda: table.row_count >= 2, 5, "the session rows")
        text = screen_text(app)
        assert "⚠ degraded" in text and "⚠ damaged" in text
        other = str(SESSIONS[1]["name"])
        app.sessions.open_session(other)
        await wait_for(pilot, lambda: app.session_name == other and table.highlighted_name == other, 5,
                       "the highlight to follow the opened session")
