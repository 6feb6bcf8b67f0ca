"""Helpers of the kernel tests: the kernelspec in a temp prefix, kernels started from it by
``jupyter_client``, and the certainty that every kernel and server they started is stopped.

The session and runtime dirs are the temp ones ``tests/conftest.py`` puts in the environment; the
kernel inherits them, so the server it autostarts lives there too and is stopped at teardown
(shutdown through the client API, then signals: ``tests/core/server/live_server.stop_server``).
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from omega_core.config import Config, load_config
from omega_core.server import launcher
from omega_core.server.paths import ServerPaths
from omega_tui.kernel.spec import KERNEL_NAME, install
from tests.core.server.live_server import stop_server

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 30.0
SERVER_CONFIG = """\
[server]
idle_shutdown_s = 120
restart_backoff_initial_s = 0.05
restart_backoff_max_s = 0.1
restart_limit = 2
"""
"""Quick backend restarts, and a supervisor that gives up soon (for the unreachable-server test)."""


@dataclass
class Run:
    """What one ``execute_request`` produced: its reply and its iopub messages, in order."""

    reply: dict[str, Any]
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [content for msg_type, content in self.outputs if msg_type == kind]

    def stdout(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    def stderr(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stderr")

    def result(self) -> str | None:
        results = self.of("execute_result")
        return results[-1]["data"]["text/plain"] if results else None


class KernelLab:
    """Kernels started from the kernelspec installed in a temp prefix, on session and runtime dirs of
    their own (so a lab may outlive one test); ``stop_all`` stops every kernel and the server."""

    def __init__(self, base: Path) -> None:
        self.prefix = base / "prefix"
        install(prefix=str(self.prefix))
        self.spec_manager = KernelSpecManager(kernel_dirs=[str(self.prefix / "share" / "jupyter" / "kernels")])
        self.session_dir = base / "sessions"
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="omk-", dir="/tmp"))  # short: it holds a socket
        self.config_home = base / "xdg"
        self.config_path = base / "omega.toml"
        self.config_path.write_text(SERVER_CONFIG, encoding="utf-8")
        self.config: Config = load_config(environ=self.env())
        self.paths = ServerPaths.for_config(self.config)
        self.started: list[tuple[KernelManager, BlockingKernelClient]] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
        env.update(OMEGA_SESSION_DIR=str(self.session_dir), OMEGA_RUNTIME_DIR=str(self.runtime_dir),
                   XDG_CONFIG_HOME=str(self.config_home))
        env["OMEGA_CONFIG"] = str(self.config_path)
        env.pop("JPY_SESSION_NAME", None)
        env.update(extra)
        return env

    def start(self, **env: str) -> tuple[KernelManager, BlockingKernelClient]:
        manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=self.spec_manager)
        manager.start_kernel(env=self.env(**env))
        client = manager.client()
        client.start_channels()
        self.started.append((manager, client))
        client.wait_for_ready(timeout=TIMEOUT_S)
        return manager, client

    def stop_all(self) -> None:
        for manager, client in self.started:
            try:
                client.stop_channels()
            finally:
                if manager.has_kernel:
                    manager.shutdown_kernel(now=False)
        self.started.clear()
        stop_server(self.paths, self.config)
        still_running = self.server_running()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        assert not still_running, "the server started by the kernel is still running"

    def server_running(self) -> bool:
        return launcher.server_pid(self.paths) is not None


def run_cell(client: BlockingKernelClient, code: str, timeout: float = TIMEOUT_S) -> Run:
    """Execute ``code`` and collect its iopub messages until the kernel is idle again."""
    msg_id = client.execute(code)
    reply = client.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=timeout)
    return Run(reply, collect_outputs(client, msg_id, timeout))


def collect_outputs(client: BlockingKernelClient, msg_id: str, timeout: float = TIMEOUT_S) -> list[tuple[str, dict[str, Any]]]:
    """The iopub messages of request ``msg_id`` up to its ``idle`` status."""
    outputs: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no idle status for {msg_id} within {timeout} s; got {outputs}")
        try:
            message = client.get_iopub_msg(timeout=remaining)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id or message["parent_header"].get("msg_type") != "execute_request":
            continue  # (a KernelManager's own requests may reuse a client's msg_id: its counter is separate)
        kind = message["msg_type"]
        if kind == "status":
            if message["content"]["execution_state"] == "idle":
                return outputs
            continue
        outputs.append((kind, message["content"]))


def send_interrupt(client: BlockingKernelClient) -> None:
    """Jupyter's interrupt button: an ``interrupt_request`` on the control channel (sent with the
    client's session, whose message ids never collide with this client's execute requests)."""
    client.control_channel.send(client.session.msg("interrupt_request", {}))


def shell_request(client: BlockingKernelClient, method: str, *args: Any, timeout: float = TIMEOUT_S, **kwargs: Any) -> dict[str, Any]:
    """Send a shell request (complete, inspect, is_complete) and return its reply's content."""
    msg_id = getattr(client, method)(*args, **kwargs)
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]
