"""Fixtures of the TUI tests: a real server in a temp dir, apps driven by Pilot, snapshots in snapshots/.

Behaviour tests run ``OmegaApp`` against a real server (supervisor + backend) started by the first
client, on the temp session and runtime dirs of ``tests/conftest.py``, and stopped afterwards (the
same way ``tests/core/server/test_client_live.py`` does). Snapshot tests use the canned client so
their SVGs are the same on every run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.server.live_server import stop_server
import pytest_textual_snapshot

from omega_core.config import Config, load_config
from omega_core.server import launcher
from omega_core.server.client import OmegaClient
from omega_core.server.paths import ServerPaths

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT_DIR = REPO / "snapshots"


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    """pytest-textual-snapshot's SVG extension, storing files in the repo's top-level ``snapshots/``."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOT_DIR / Path(test_location.filepath).stem)


@pytest.fixture(autouse=True)
def _snapshots_at_top_level(monkeypatch: pytest.MonkeyPatch) -> None:
    # snap_compare looks the extension up by this module-level name each time it runs.
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", TopLevelSVGExtension)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class LiveServer:
    """A server on this test's temp dirs; ``client()`` makes clients, ``factory()`` one per app."""

    def __init__(self, config: Config, config_path: str) -> None:
        self.config = config
        self.config_path = config_path
        self.paths = ServerPaths.for_config(config)
        self.clients: list[OmegaClient] = []

    def client(self, name: str = "test", **kwargs: Any) -> OmegaClient:
        kwargs.setdefault("connect_timeout_s", 15.0)
        client = OmegaClient(self.config, name=name, config_path=self.config_path, **kwargs)
        self.clients.append(client)
        return client

    def factory(self, name: str = "omega tui", **kwargs: Any) -> Callable[[], OmegaClient]:
        return lambda: self.client(name, **kwargs)

    def backend_pid(self) -> int:
        with OmegaClient(self.config, autostart=False, connect_timeout_s=5) as client:
            return int(client.status()["backend_pid"])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    config_path = tmp_path / "omega.toml"
    # the tests stop their endless commands themselves: the default step budget (50 M, a few seconds
    # of a tight loop) would end them first on a busy machine
    config_path.write_text("[server]\nidle_shutdown_s = 20\nrestart_backoff_initial_s = 0.05\n"
                           "[language]\nstep_budget = 1000000000000\n", encoding="utf-8")
    config = load_config(config_path)
    server = LiveServer(config, str(config_path))
    try:
        yield server
    finally:
        for client in server.clients:
            client.close()
        stop_server(server.paths, config)
        assert launcher.server_pid(server.paths) is None


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0,
                   what: str | Callable[[], str] = "condition") -> Any:
    """Let the app run until ``condition()`` is true (workers post their results meanwhile).
    ``what`` may be a function: it then describes the state at the timeout, not at the call."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        await pilot.pause(0.02)


def screen_text(app: Any) -> str:
    """What the screen shows, as plain text (the words of a screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(" ".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking call (a second client, a kill) without stopping the app's loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


Waiter = Callable[..., Awaitable[Any]]


SCREEN_AT_REST_S = 5.0


async def screen_at_rest(pilot: Any) -> None:
    """Wait until two screenshots taken a few frames apart are the same (deadline 5 s). Why: a
    worker's reply, a scroll made after a refresh or a frame held for a quick result can land just
    after the test's last pause, and the snapshot then catches the screen halfway (seen as a
    timeline scrollbar thumb one eighth of a cell off, a few runs in ten under load)."""
    deadline = time.monotonic() + SCREEN_AT_REST_S
    await pilot.app.workers.wait_for_complete()
    before = pilot.app.export_screenshot()
    while True:
        await pilot.pause(0.05)
        now = pilot.app.export_screenshot()
        if now == before:
            return
        assert time.monotonic() < deadline, "the screen kept changing for 5 s"
        before = now


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's ``snap_compare``, taking the picture only once the screen is at rest."""

    def compare(app: Any, *args: Any, run_before: Callable[[Any], Awaitable[None] | None] | None = None,
                **kwargs: Any) -> bool:
        async def settled(pilot: Any) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if asyncio.iscoroutine(result):
                    await result
            await screen_at_rest(pilot)

        return snap_compare(app, *args, run_before=settled, **kwargs)

    return compare
