"""A status change that leaves a pane's subtitle as it was does not re-render the pane.

Textual's ``border_subtitle`` setter refreshes the whole widget even for the same text; the REPL
pane's subtitle was set on every status change (ten times a second while a command runs), which
re-rendered the whole pane into each frame between Enter and its painted result."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.repl_pane import ReplPane

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]


async def test_same_status_does_not_refresh_the_repl_pane(monkeypatch: pytest.MonkeyPatch) -> None:
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        await pilot.pause()
        pane = app.query_one(ReplPane)
        refreshed: list[Any] = []
        original = pane.refresh

        def counting(*args: Any, **kwargs: Any) -> Any:
            refreshed.append(args)
            return original(*args, **kwargs)

        monkeypatch.setattr(pane, "refresh", counting)
        for _ in range(5):
            app.show_status()
        assert refreshed == []
        monkeypatch.setattr(app.sessions, "mode", "read-only", raising=False)
        app.show_status()  # the subtitle changes: now the pane is redrawn, once
        assert len(refreshed) == 1 and "read-only" in str(pane.border_subtitle)
