"""ctrl+c during ``omega --batch`` through the server (the thin client): the form running in the
server is stopped, the throwaway session is deleted, the exit status is 130, and the server goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from omega_core.config import load_config
from omega_core.server.client import OmegaClient
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server
from tests.tui.test_plain_pty import wait_busy

REPO = Path(__file__).resolve().parents[2]


def test_ctrl_c_stops_the_running_form_in_the_server(tmp_path: Path) -> None:
    config_path = tmp_path / "omega.toml"
    config_path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    env = dict(os.environ, OMEGA_CONFIG=str(config_path))
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    omega = [sys.executable, "-m", "omega_tui.cli"]
    (tmp_path / "spin.omega").write_text("(define (spin) (spin))\n(spin)\n", encoding="utf-8")
    config = load_config(config_path)
    try:
        started = subprocess.run([*omega, "server", "start"], capture_output=True, text=True, env=env, cwd=tmp_path,
                                 timeout=60)
        assert started.returncode == 0, started.stderr
        with OmegaClient(config, autostart=False) as client:
            backend = int(client.status()["backend_pid"])
        batch = subprocess.Popen([*omega, "--batch", "spin.omega"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env, cwd=tmp_path)
        try:
            wait_busy(backend)
            batch.send_signal(signal.SIGINT)
            out, err = batch.communicate(timeout=30)
        finally:
            if batch.poll() is None:
                batch.kill()
                batch.wait()
        assert batch.returncode == 130, out + err
        assert out == "=> spin\n"
        assert "omega: interrupted; the running form was stopped in the server" in err
        after = subprocess.run([*omega, "--batch", "-"], input="(+ 1 2)\n:session list\n", capture_output=True,
                               text=True, env=env, cwd=tmp_path, timeout=60)
        assert after.returncode == 0, after.stderr
        assert after.stdout.startswith("=> 3\n")
        assert f"batch-{batch.pid}-" not in after.stdout  # the interrupted run's throwaway session is gone
    finally:
        stop_server(ServerPaths.for_config(config), config)
