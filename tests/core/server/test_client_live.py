"""The client against a real server (supervisor + backend) on temporary dirs.

Every server here runs with a config whose ``idle_shutdown_s`` is short, and the fixture stops it
(shutdown op, then SIGTERM, then SIGKILL of the pid it wrote), so no test leaves a process behind.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.server.live_server import stop_server

from omega_core.config import Config, load_config
from omega_core.server import launcher
from omega_core.server.client import OmegaClient, ServerError
from omega_core.server.paths import ServerPaths
from omega_core.server.protocol import ErrorCode
from omega_tui.remote_batch import run_batch_via_server

pytestmark = pytest.mark.slow


class Live:
    def __init__(self, config: Config, config_path: str) -> None:
        self.config = config
        self.config_path = config_path
        self.paths = ServerPaths.for_config(config)

    def client(self, **kwargs: object) -> OmegaClient:
        kwargs.setdefault("connect_timeout_s", 15.0)
        return OmegaClient(self.config, config_path=self.config_path, **kwargs)  # type: ignore[arg-type]

    def backend_pid(self) -> int:
        with self.client(autostart=False) as client:
            return int(client.status()["backend_pid"])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\nrestart_backoff_initial_s = 0.05\n", encoding="utf-8")
    config = load_config(config_path)
    live = Live(config, str(config_path))
    try:
        yield live
    finally:
        stop_server(live.paths, config)
        assert launcher.server_pid(live.paths) is None


def test_autostart_execute_and_shutdown(live: Live) -> None:
    with live.client(name="t") as client:
        assert client.started_pid is not None
        reply = client.execute("(define x 40) (+ x 2)", "live")
        assert reply.ok and reply.output == "=> x\n=> 42" and reply.session == "live"
        assert [r["value"] for r in reply.results] == ["x", "42"]
        bad = client.execute("(car 1)", "live")
        assert not bad.ok and bad.results[0]["error_code"] == "eval_error"
        command = client.execute(":nosuch", "live")
        assert not command.ok and command.output.startswith("error: unknown command")
        status = client.status()
        for key in ("supervisor_pid", "backend_pid", "uptime_s", "clients", "sessions_in_pool", "rss_bytes"):
            assert key in status
        assert status["supervisor_pid"] == client.started_pid
        assert any(row["name"] == "live" for row in client.list_sessions())
        with pytest.raises(ServerError) as caught:
            client.checkpoints("no-such-session")
        assert caught.value.code == ErrorCode.NOT_FOUND
        pid = client.started_pid
        client.shutdown()
    deadline = time.monotonic() + 10
    while launcher.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not launcher.pid_alive(pid)


def test_a_killed_backend_loses_and_doubles_nothing(live: Live) -> None:
    notices: list[int] = []
    with live.client() as client:
        client.on_reconnect = lambda: notices.append(client.reconnects)
        client.execute("(define n 0)", "count")
        stop = threading.Event()

        def killer() -> None:
            for _ in range(2):
                time.sleep(0.2)
                os.kill(live.backend_pid(), signal.SIGKILL)
            stop.set()

        thread = threading.Thread(target=killer)
        thread.start()
        sent = 0
        while not stop.is_set() or sent < 50:
            assert client.execute("(set! n (+ n 1))", "count").ok
            sent += 1
        thread.join()
        assert client.execute("n", "count").output == f"=> {sent}"
        assert client.reconnects >= 1 and notices


def test_interrupt_from_another_thread_stops_a_runaway_command(live: Live) -> None:
    with live.client() as client:
        outcome: list[object] = []
        worker = threading.Thread(target=lambda: outcome.append(client.execute("(define (spin) (spin)) (spin)", "spin")))
        worker.start()
        time.sleep(0.3)
        began = time.monotonic()
        assert client.ping() == "pong"  # served while the other request runs
        assert time.monotonic() - began < 1
        assert client.interrupt("spin") == {"interrupted": True}
        worker.join(10)
        reply = outcome[0]
        assert not reply.ok and reply.results[-1]["error_code"] == "interrupted"  # type: ignore[attr-defined]


def test_batch_via_server_matches_the_in_process_batch_and_cleans_up(live: Live) -> None:
    text = "(define x 5)\n(display \"hi\")\n:session list\n(car 1)\n"
    out = io.StringIO()
    with live.client() as client:
        code = run_batch_via_server(text, live.config, None, out, as_json=False, client=client)
        assert code == 1  # (car 1) failed
        lines = out.getvalue().splitlines()
        assert lines[0] == "=> x" and lines[1] == "hi" and lines[2] == "=> null"
        assert lines[-1].startswith("error: car")
        assert not [row for row in client.list_sessions() if row["name"].startswith("batch-")]


def test_cli_server_start_statusstop_server(live: Live, tmp_path: Path) -> None:
    def omega(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, OMEGA_SESSION_DIR=live.config.session_dir, OMEGA_RUNTIME_DIR=live.config.runtime_dir)
        return subprocess.run([sys.executable, "-m", "omega_tui.cli", "--config", live.config_path, *args],
                              input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    assert omega("server", "status").returncode == 3
    started = omega("server", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("Omega server started (pid ") and str(live.paths.socket) in started.stdout
    assert omega("server", "start").stdout.startswith("Omega server already running")
    status = omega("server", "status", "--json")
    assert status.returncode == 0
    info = json.loads(status.stdout)
    assert info["supervisor_pid"] == launcher.server_pid(live.paths)
    restarted = omega("server", "restart")
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(omega("server", "status", "--json").stdout)["backend_pid"] != info["backend_pid"]
    batch = omega("--batch", "-", "--server", "--json", stdin="(+ 1 2)\n")
    assert batch.returncode == 0, batch.stderr
    assert json.loads(batch.stdout) == {"input": "(+ 1 2)", "line": 1, "value": "3", "output": "", "error": None,
                                        "error_code": None, "steps": json.loads(batch.stdout)["steps"],
                                        "ms": json.loads(batch.stdout)["ms"]}
    stopped = omega("server", "stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith("Omega server stopped")
    assert launcher.server_pid(live.paths) is None
    assert omega("server", "status").stdout.startswith("no server running for session dir")
