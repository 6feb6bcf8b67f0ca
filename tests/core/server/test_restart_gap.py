"""The backend restart gap (issue 10, ARCHITECTURE.md section 7: another client's ping max <= 50 ms
across a kill -9 and restart). No clocks here: each test pins one cause of the gap measured by
``bench/restart_gap.py`` by the order of events, and fails if that cause came back.

- the backend accepts and handshakes the clients waiting in the listen queue before its event loop
  starts (it used to start accepting only once the loop ran: about 25 ms after the fork);
- the supervisor has imported everything the backend imports on its way to serving (anyio's
  asyncio backend alone took about 15 ms after every fork);
- the supervisor's heap is frozen when it forks, so the backend's first collection does not walk
  (and copy, page by page) the objects it inherited (about 10 ms);
- accepting starts no thread per connection (spare handshake threads, one time-limit thread):
  a thread started while the backend starts up waited 0.5-3 ms for the GIL.
The standby backend (forked ahead, no fork in the gap) has its own tests: ``test_standby.py``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config
from omega_core.server import supervisor as supervisor_module
from omega_core.server.context import EXIT_STOP
from omega_core.server.paths import ServerPaths

REPO = Path(__file__).resolve().parents[3]


SCRIPT_SETUP = """
import json, os, sys, threading, time
from pathlib import Path
from multiprocess.connection import Listener
from omega_core.config import Config
from omega_core.server import backend_run as backend_module
from omega_core.server.paths import ServerPaths

root = Path(sys.argv[1])
config = Config(session_dir=str(root / "sessions"), runtime_dir=str(root / "run"))
paths = ServerPaths.for_config(config)
paths.ensure_runtime_dir()
key = paths.create_key()
listener = Listener(str(paths.socket), family="AF_UNIX", backlog=8)
"""
"""What every script starts with: a server's runtime dir, key and listening socket under the
temp dir (``config``, ``paths``, ``key``, ``listener``), and ``backend_module`` to start a backend in."""


def run_script(script: str, tmp_path: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """Run ``SCRIPT_SETUP`` then ``script`` in a fresh interpreter (a backend start must not touch
    pytest's process: its logging, collector and descriptor limit) and return the JSON it prints last."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    source = SCRIPT_SETUP + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", source, str(tmp_path)], capture_output=True,
                          text=True, timeout=timeout_s, env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_backend_handshakes_a_waiting_client_before_its_loop_starts(tmp_path: Path) -> None:
    """``backend_main`` with the loop replaced by a check: a client that waits in the listen queue
    (as every client does while a backend restarts) gets through the key handshake before the loop
    starts, and is adopted only once it serves (here: never)."""
    result = run_script("""
        from omega_core.server.dialing import dial

        seen = {}

        def instead_of_the_loop(backend):
            # the client dials now: before the loop runs, someone must accept and handshake it
            try:
                conn = dial(paths, time.monotonic() + 5.0)
                seen["handshake_before_loop"] = True
                conn.close()
            except Exception as problem:
                seen["handshake_before_loop"] = False
                seen["problem"] = repr(problem)
            seen["adopted"] = backend.start_record.first_client_s is not None
            backend.stop()
            return 0

        backend_module._run = instead_of_the_loop
        backend_module.os._exit = lambda code: None  # return from backend_main, to print
        backend_module.backend_main(listener, config, key, 0, os.getpid())
        print(json.dumps(seen))
    """, tmp_path)
    assert result == {"handshake_before_loop": True, "adopted": False}, result


def test_the_supervisor_has_imported_what_the_backend_imports_on_its_way_to_serving(tmp_path: Path) -> None:
    """After the supervisor's preparation, a backend that starts, serves and stops imports no
    module: a forked backend would otherwise import (and compile the state of) them after every
    restart, while every client waits."""
    result = run_script("""
        from omega_core.server import supervisor
        from omega_core.server.fork_prep import preload_backend_modules

        preload_backend_modules()
        before = set(sys.modules)
        run = backend_module._run

        def serve_then_stop(backend):
            threading.Thread(target=lambda: (backend._serving.wait(10), backend.portal.call(backend.stop)),
                             daemon=True).start()
            return run(backend)

        backend_module._run = serve_then_stop
        backend_module.os._exit = lambda code: None
        backend_module.backend_main(listener, config, key, 0, os.getpid())
        print(json.dumps({"served": True, "imported": sorted(set(sys.modules) - before)}))
    """, tmp_path)
    assert result == {"served": True, "imported": []}, result


class _RecordingContext:
    """A stand-in for multiprocess's fork context: its process records what the collector still
    tracks when it is started (the child would walk those), and stops at once."""

    def __init__(self) -> None:
        self.tracked_at_start: list[int] = []

    def Process(self, **kwargs: Any) -> Any:  # noqa: N802 - multiprocess's name
        context = self

        class Process:
            pid = 4242
            exitcode = EXIT_STOP

            def start(self) -> None:
                context.tracked_at_start.append(len(gc.get_objects()))

            def join(self, timeout: float | None = None) -> None:
                pass

            def is_alive(self) -> bool:
                return False

        return Process()


def test_the_supervisor_freezes_its_heap_right_before_it_forks_a_backend(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(session_dir=str(tmp_path / "sessions"), runtime_dir=str(tmp_path / "run"))
    supervisor = supervisor_module.Supervisor(config, ServerPaths.for_config(config), listener=None, key=b"k")
    context = _RecordingContext()
    supervisor.context = context
    monkeypatch.setattr(supervisor_module.signal, "signal", lambda *args: None)
    gc.unfreeze()  # another test may have frozen this process's heap (a backend's start-up does)
    tracked_before = len(gc.get_objects())
    try:
        supervisor.run()
    finally:
        gc.unfreeze()  # this test's process is pytest's: give its objects back to the collector
    assert tracked_before > 10_000  # pytest's heap: what a child would otherwise walk
    assert context.tracked_at_start and context.tracked_at_start[0] < 1_000, context.tracked_at_start


def test_accepting_connections_starts_no_thread_per_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the accept loop runs, its spare handshake threads wait and one thread keeps the time
    limits: three clients in a row (real key handshakes) start at most that one thread (it used to
    be a handshake thread and a timer thread per client, each waiting for the GIL at a restart)."""
    from multiprocess.connection import Client, Listener

    from omega_core.server import accepting

    started: list[str] = []
    original_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original_start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    key = b"k" * 32
    listener = Listener(str(tmp_path / "s.sock"), family="AF_UNIX", authkey=None)
    adopted: list[Any] = []
    stopped: list[bool] = []
    acceptor = accepting.Acceptor(listener, key, Config().server, stopping=lambda: bool(stopped),
                                  client_count=lambda: 0, adopt=adopted.append)
    loop = threading.Thread(target=acceptor.run, daemon=True)
    loop.start()
    clients = []
    try:
        deadline = time_limit(10)
        while acceptor._idle < accepting.SPARE_HANDSHAKERS:
            assert not deadline(), "the spare handshake threads did not start"
        before = len(started)
        for number in range(1, 4):
            clients.append(Client(str(tmp_path / "s.sock"), family="AF_UNIX", authkey=key))
            deadline = time_limit(10)
            while len(adopted) < number:
                assert not deadline(), "a handshaken connection was not adopted"
        assert len(started) - before <= 1, started[before:]
    finally:
        stopped.append(True)
        listener.close()
        loop.join(5)
        for client in clients:
            client.close()
        for connection in adopted:
            connection.close()


def time_limit(seconds: float) -> Any:
    """A deadline check for a wait loop: True once ``seconds`` passed (each call yields a little)."""
    end = time.monotonic() + seconds

    def passed() -> bool:
        time.sleep(0.001)
        return time.monotonic() > end

    return passed


def test_a_new_backend_answers_a_ping_before_it_has_read_the_request_record(tmp_path: Path) -> None:
    """The request record (up to 10,000 lines: 20-40 ms to read) is read once the backend serves,
    in a worker thread: a ping is answered while it is still being read, and a command (whose
    resend it may answer) waits for it. Here the reading waits until the ping has been answered."""
    result = run_script("""
        from omega_core.server.client import OmegaClient
        from omega_core.server.request_record import RequestRecord

        pinged, execute_waits = threading.Event(), threading.Event()
        order = []
        load, answer, consulted_for = RequestRecord.load, RequestRecord.answer, RequestRecord.consulted_for

        def slow_load(self):
            pinged.wait(10)  # (without the lazy read, the ping waits for this: 10 s, then fails below)
            execute_waits.wait(3)  # the execute arrived and waits for the record (else: runs first, fails)
            load(self)
            order.append("record read")

        def noted_consulted_for(request):
            if request.op == "execute":
                execute_waits.set()
            return consulted_for(request)

        def noted_answer(self, client, request):
            order.append(f"answer {request.op}")
            return answer(self, client, request)

        RequestRecord.load, RequestRecord.answer = slow_load, noted_answer
        RequestRecord.consulted_for = staticmethod(noted_consulted_for)
        seen = {}
        run = backend_module._run

        def drive(backend):
            client = OmegaClient(config, autostart=False, connect_timeout_s=20)
            seen["ping"] = client.ping()
            seen["ping_before_record"] = "record read" not in order
            pinged.set()
            seen["execute"] = client.execute("(+ 1 2)", "s").output
            client.close()
            backend.portal.call(backend.stop)

        def serve_and_drive(backend):
            threading.Thread(target=lambda: (backend._serving.wait(10), drive(backend)), daemon=True).start()
            return run(backend)

        backend_module._run = serve_and_drive
        backend_module.os._exit = lambda code: None
        backend_module.backend_main(listener, config, key, 0, os.getpid())
        seen["order"] = order
        print(json.dumps(seen))
    """, tmp_path)
    assert result == {"ping": "pong", "ping_before_record": True, "execute": "=> 3",
                      "order": ["answer hello", "answer ping", "record read", "answer execute"]}, result
