"""The server's ``resync`` push (this client fell behind its session) makes the app re-read the session."""

from __future__ import annotations

import pytest

from omega_tui.app import OmegaApp
from omega_tui.components.connection import ServerPush
from omega_tui.components.repl_pane import ReplPane

from .conftest import LiveServer, wait_for

pytestmark = [pytest.mark.anyio]


async def test_a_resync_push_rereads_the_transcript(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == "current", 20, "the session")
        await wait_for(pilot, lambda: not app.sessions.opening, 20, "the session to be open")
        repl = app.query_one(ReplPane)
        await pilot.press(*"(define resynced 41)")
        await pilot.press("enter")
        await wait_for(pilot, lambda: ("result", "=> resynced") in repl.entries, 20, "the define to run")
        repl.clear()  # as if what the log shows had fallen behind
        app.post_message(ServerPush({"v": 1, "push": "resync", "session": "current"}))
        await wait_for(pilot, lambda: any("(define resynced 41)" in text for _, text in repl.entries), 15,
                       "the transcript to be read again")
        app.post_message(ServerPush({"v": 1, "push": "resync", "session": "elsewhere"}))  # not ours: ignored
        await pilot.pause()
