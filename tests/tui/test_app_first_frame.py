"""The app's first frame holds almost nothing but the REPL (issue 12: keys taken within 0.3 s).

The Sessions, Timeline and Metrics panes come right after the first frame in place of titled
empty boxes of the same size (``side_panes``), their modules are not imported before it, and the
garbage collector is off from the start to the first frame and freezes what the start built
(``start_collector``). Speed itself is measured by ``bench/tui.py --only start``; these tests keep
the causes from coming back."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.side_panes import EmptyPane
from omega_tui.start_collector import CollectorPause

from .conftest import wait_for

pytestmark = [pytest.mark.anyio]

REPO = Path(__file__).resolve().parents[2]
AFTER_THE_FIRST_FRAME = ("omega_tui.components.sessions_pane", "omega_tui.components.sessions_table",
                         "omega_tui.components.timeline_pane", "omega_tui.components.timeline_view",
                         "omega_tui.components.metrics_pane", "omega_tui.components.confirm",
                         "omega_tui.link", "omega_core.server.client", "attr", "importlib.metadata")
"""Modules the first frame does not need (the side panes, the dialogs, the client; ``attr``, which
``rich.pretty`` would load for the REPL log's ``RichLog``: ``repl_log``; ``importlib.metadata``,
which ``textual.__version__`` loads: ``burst_driver.textual_version``)."""

PROBE = """
import gc, json, sys
from omega_core.config import Config
from omega_tui.app import OmegaApp
seen = {"imported_before_run": sorted(name for name in sys.modules if name in %r)}

class Probe(OmegaApp):
    def on_mount(self):
        seen["collector_on_at_mount"] = gc.isenabled()
        super().on_mount()

    def on_ready(self):
        seen["collector_on_before_first_frame"] = gc.isenabled()
        seen["imported_at_first_frame"] = sorted(name for name in sys.modules if name in %r)
        super().on_ready()
        seen["collector_on_after_first_frame"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
        self.exit(0)

def canned():  # imported when the app connects, after the first frame (it loads the client module)
    from omega_tui.canned import CannedClient
    return CannedClient()

Probe(Config(), client_factory=canned, deterministic=True).run(headless=True, size=(120, 40))
print(json.dumps(seen))
""" % (AFTER_THE_FIRST_FRAME, AFTER_THE_FIRST_FRAME)


def test_first_frame_imports_no_side_pane_and_runs_without_the_collector(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["imported_before_run"] == [] and seen["imported_at_first_frame"] == [], seen
    assert seen["collector_on_at_mount"] is False and seen["collector_on_before_first_frame"] is False, seen
    assert seen["collector_on_after_first_frame"] is True, "the collector stayed off after the first frame"
    assert seen["frozen"] > 10_000, "what the start built was not frozen"


async def test_side_panes_replace_same_size_empty_boxes_after_the_first_frame() -> None:
    first: dict[str, Any] = {}

    class Watched(OmegaApp):
        def on_ready(self) -> None:
            for pane_id in ("sessions", "timeline", "metrics"):
                pane = self.main.query_one(f"#{pane_id}")
                first[pane_id] = (type(pane), pane.region, pane.border_title)
            super().on_ready()

    app = Watched(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        await pilot.pause()
        assert app.side_panes.filled
        for pane_id, (kind, region, title) in first.items():
            pane = app.main.query_one(f"#{pane_id}")
            assert kind is EmptyPane and not isinstance(pane, EmptyPane), pane_id
            assert pane.region == region, f"{pane_id} moved when the real pane came: {region} -> {pane.region}"
            assert pane.border_title == title
        assert not list(app.query(EmptyPane))


async def test_a_connection_made_before_the_panes_waits_for_them() -> None:
    """The connection's first answer fills the panes: when it comes before they are mounted, the
    session is opened only once they are."""
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    answered = asyncio.Event()
    original_connected, original_fill, original_open = app.connection._connected, app.side_panes.fill, app.sessions.open_session

    def connected(client: Any) -> None:
        answered.set()
        original_connected(client)

    async def late_fill(column: Any) -> None:  # the panes come after the connection's answer
        await asyncio.wait_for(answered.wait(), 10)
        await original_fill(column)

    panes_there_at_open: list[bool] = []

    def open_session(name: str, quiet: bool = False) -> None:
        panes_there_at_open.append(app.side_panes.filled)
        original_open(name, quiet)

    app.connection._connected = connected  # type: ignore[method-assign]
    app.side_panes.fill = late_fill  # type: ignore[method-assign]
    app.sessions.open_session = open_session  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
    assert panes_there_at_open and all(panes_there_at_open), panes_there_at_open


def test_attrs_stays_importable_after_the_log_kept_it_out() -> None:
    probe = "import sys, omega_tui.app, rich.pretty; import attr; print(attr.has is not None, rich.pretty._has_attrs)"
    env = dict(os.environ, PYTHONPATH=str(REPO) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.split() == ["True", "False"], done.stdout + done.stderr[-2000:]


def test_collector_pause_resumes_only_what_it_paused() -> None:
    was = gc.isenabled()
    try:
        gc.disable()
        pause = CollectorPause.pause_now()  # the collector was off already: not this pause's to resume
        pause.resume()
        assert not gc.isenabled()
        gc.enable()
        pause = CollectorPause.pause_now()
        assert not gc.isenabled() and pause.paused
        pause.resume()
        assert gc.isenabled() and not pause.paused
    finally:
        gc.enable() if was else gc.disable()


async def test_a_subclass_calling_super_on_ready_still_connects_once() -> None:
    """Textual calls every class's ``on_ready``/``on_mount`` in the MRO; a subclass that also calls
    ``super()`` (as ``bench/tui.py``'s did) must not make the app connect and open its session twice."""
    made: list[CannedClient] = []

    def factory() -> CannedClient:
        made.append(CannedClient())
        return made[-1]

    class Calling(OmegaApp):
        def on_mount(self) -> None:
            super().on_mount()

        def on_ready(self) -> None:
            super().on_ready()

    app = Calling(Config(), client_factory=factory, deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(made) == 1, f"{len(made)} clients made"


async def test_side_panes_filled_callback_tolerates_panes_already_gone() -> None:
    """An app exiting just as its side panes finish mounting has taken them apart before it is
    marked closing: the callback that follows the mount finds nothing and does nothing."""
    app = OmegaApp(Config(), client_factory=lambda: CannedClient(), deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.side_panes.filled, 10, "the side panes")
        await app.main.query_one("#side").remove_children()
        app._side_panes_filled()  # raised NoMatches
