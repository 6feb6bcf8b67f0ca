"""Supervisor death: a stale pid file (dead process, zombie, another program) is not taken for a
live server, and after a kill -9 of the supervisor a client call starts a new server and succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.server import launcher

from tests.core.server.live_server import servers as _servers, wait_gone


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield from _servers(tmp_path)


def wait_for(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def zombie() -> Iterator[int]:
    """A zombie that is not our child: its parent (alive) never reaps it."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time\n"
         "child = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
         "print(child.pid, flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        wait_for(lambda: launcher.process_state(pid) == "Z")
        yield pid
    finally:
        parent.kill()
        parent.wait()


def test_a_pid_file_naming_a_zombie_a_dead_process_or_another_program_is_stale(servers, zombie: int) -> None:  # type: ignore[no-untyped-def]
    server = servers(start=False)
    server.paths.ensure_runtime_dir()
    assert not launcher.pid_alive(zombie)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    lookalike = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", launcher.SUPERVISOR_MODULE])
    try:
        for stale in (zombie, dead.pid, other.pid):
            server.paths.write_pid(stale)
            assert launcher.server_pid(server.paths) is None, stale
        server.paths.write_pid(lookalike.pid)  # the control: alive, and a supervisor by its command line
        assert launcher.server_pid(server.paths) == lookalike.pid
    finally:
        for process in (other, lookalike):
            process.kill()
            process.wait()


def test_after_a_kill_9_of_the_supervisor_a_client_call_starts_a_new_server(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers()
    old_supervisor = server.supervisor_pid
    old_backend = server.backend_pid()
    client = server.client(autostart=True, connect_timeout_s=20)
    assert client.execute("(define kept 41)", "s").ok
    os.kill(old_supervisor, signal.SIGKILL)
    assert wait_gone(old_supervisor, 5)
    assert wait_gone(old_backend, 5)  # told by the kernel (parent-death signal), no orphan serving
    try:
        reply = client.execute("(+ kept 1)", "s")  # reconnects: autostarts a new supervisor
        assert reply.ok and reply.output == "=> 42", reply
        fresh = server.client(autostart=True, connect_timeout_s=20)
        assert fresh.execute("(* 6 7)", "other").output == "=> 42"
    finally:
        new_supervisor = launcher.server_pid(server.paths)
        if new_supervisor is not None:
            server.supervisor_pid = new_supervisor
            server.seen.add(new_supervisor)
            server.remember_pids()
    assert new_supervisor is not None and new_supervisor != old_supervisor
