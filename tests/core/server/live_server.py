"""A real server (supervisor + backend) for tests, and the certainty that it is gone afterwards.

Same stop sequence as ``test_client_live._stop`` (shutdown op, then SIGTERM, then SIGKILL of the pid
in the pid file), plus: the pids of the supervisor's descendants (the backend) are collected from
``/proc`` before stopping, and any of them still alive afterwards is killed too, so a test that kills
the supervisor itself, or fails half-way, leaves no orphaned backend behind.

Each server gets its own short runtime dir made with ``mkdtemp(dir="/tmp")`` (AF_UNIX paths are
limited to ~100 bytes) and its own session dir, passed to ``load_config`` explicitly, so it never
depends on the environment of the test process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w
from multiprocess.connection import Client, Connection

from omega_core.config import Config, load_config
from omega_core.server import launcher
from omega_core.server import protocol as proto
from omega_core.server.client import OmegaClient, ServerError, ServerUnavailable
from omega_core.server.paths import ServerPaths

BASE_SERVER = {"idle_shutdown_s": 120, "restart_backoff_initial_s": 0.05, "restart_backoff_max_s": 0.2}


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (children of children too), from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
            except OSError:
                continue
            for word in text.split():
                child = int(word)
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    if not launcher.pid_alive(pid):
        return False
    try:  # a zombie whose parent is not us is dead for our purposes...
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z":
            return True
        # ...once all its threads have ended: a leader killed first shows "Z" while its other
        # threads still exit, and they still hold its descriptors (a pipe's end stays open)
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class LiveServer:
    """One server on its own dirs. ``start`` launches it; ``stop`` makes sure nothing is left."""

    def __init__(self, base: Path, server: dict[str, Any] | None = None, language: dict[str, Any] | None = None,
                 session_dir: Path | None = None, extra: dict[str, Any] | None = None) -> None:
        self.base = base
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="omt-", dir="/tmp"))
        self.session_dir = session_dir if session_dir is not None else base / "sd"
        data: dict[str, Any] = dict(extra or {})
        data["server"] = {**BASE_SERVER, **(server or {})}
        if language:
            data["language"] = dict(language)
        self.config_path = base / "omega.toml"
        self.config_path.write_text(tomli_w.dumps(data), encoding="utf-8")
        self.environ = {"OMEGA_SESSION_DIR": str(self.session_dir), "OMEGA_RUNTIME_DIR": str(self.runtime_dir),
                        "HOME": str(base), "XDG_CONFIG_HOME": str(base / "xdg")}
        self.config: Config = load_config(self.config_path, environ=self.environ, cwd=base)
        self.paths = ServerPaths.for_config(self.config)
        self.supervisor_pid: int | None = None
        self.seen: set[int] = set()  # every pid of ours seen (supervisor, backends)
        self._clients: list[OmegaClient] = []
        self._health = 0

    @property
    def sessions_dir(self) -> Path:
        return self.config.sessions_dir

    # --- life cycle ----------------------------------------------------------------------------

    def start(self, timeout_s: float = 15.0) -> int:
        pid = launcher.start_detached(self.config, str(self.config_path))
        self.supervisor_pid = pid
        self.seen.add(pid)
        deadline = time.monotonic() + timeout_s
        while not (self.paths.socket.exists() and self.paths.key.exists() and launcher.server_pid(self.paths) == pid):
            if time.monotonic() > deadline or not launcher.pid_alive(pid):
                log = self.paths.log.read_text(errors="replace") if self.paths.log.exists() else ""
                raise AssertionError(f"server did not come up (pid {pid}); log:\n{log[-3000:]}")
            time.sleep(0.01)
        self.remember_pids()
        return pid

    def remember_pids(self) -> None:
        if self.supervisor_pid is not None:
            self.seen |= descendants(self.supervisor_pid)

    def stop(self) -> None:
        """shutdown op, SIGTERM, SIGKILL of the supervisor; then kill any descendant left."""
        for client in self._clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        self.remember_pids()
        pid = self.supervisor_pid
        if pid is not None and _alive(pid):
            try:
                with OmegaClient(self.config, autostart=False, connect_timeout_s=3) as client:
                    client.shutdown()
            except (ServerUnavailable, ServerError, OSError, EOFError):
                pass
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        break
                if wait_gone(pid, 5):
                    break
        for other in sorted(self.seen - {pid}):
            if _alive(other):
                try:
                    os.kill(other, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                wait_gone(other, 5)

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            leftovers = [p for p in self.seen if _alive(p)]
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            assert not leftovers, f"processes left behind: {leftovers}"

    # --- talking to it -------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> OmegaClient:
        kwargs.setdefault("connect_timeout_s", 15.0)
        kwargs.setdefault("autostart", False)
        client = OmegaClient(self.config, config_path=str(self.config_path), **kwargs)
        self._clients.append(client)
        return client

    def status(self) -> dict[str, Any]:
        with self.client() as client:
            info = client.status()
        self.seen.add(int(info["backend_pid"]))
        return info

    def backend_pid(self) -> int:
        return int(self.status()["backend_pid"])

    def raw(self, authkey: bytes | None = None) -> Connection:
        """A bare ``multiprocess`` connection (no hello), for frames the client would never send."""
        key = self.paths.read_key() if authkey is None else authkey
        return Client(str(self.paths.socket), family="AF_UNIX", authkey=key)

    def assert_healthy(self, session: str | None = None) -> None:
        """On a fresh connection: ``ping`` answers and ``execute`` runs code (in a session of its own:
        another connection may hold a session read-write)."""
        self._health += 1
        session = session or f"health-{self._health}"
        with self.client(name="health-check") as client:
            assert client.ping() == "pong"
            reply = client.execute("(* 6 7)", session)
            assert reply.ok and reply.output == "=> 42", reply


def raw_call(conn: Connection, frame: bytes | dict[str, Any], timeout_s: float = 20.0) -> dict[str, Any]:
    """Send one frame on a bare connection and return the (decoded) reply."""
    data = frame if isinstance(frame, bytes) else json.dumps(frame).encode("utf-8")
    conn.send_bytes(data)
    if not conn.poll(timeout_s):
        raise AssertionError(f"no reply within {timeout_s} s to {data[:200]!r}")
    reply = json.loads(conn.recv_bytes().decode("utf-8"))
    assert isinstance(reply, dict), reply
    return reply


ERROR_CODES = {code.value for code in proto.ErrorCode}


def assert_reply_shape(reply: Any, request_id: Any = None, check_id: bool = False) -> None:
    """A well-formed v1 reply: ok true with a result, or ok false with a known code and a message."""
    assert isinstance(reply, dict), reply
    assert reply.get("v") == 1 and type(reply.get("v")) is int, reply
    assert "id" in reply and "push" not in reply, reply
    if check_id:
        assert reply["id"] == request_id, (reply, request_id)
    assert type(reply.get("ok")) is bool, reply
    if reply["ok"]:
        assert "result" in reply and "error" not in reply, reply
    else:
        error = reply.get("error")
        assert isinstance(error, dict) and "result" not in reply, reply
        assert error.get("code") in ERROR_CODES, reply
        assert isinstance(error.get("message"), str) and error["message"], reply


def log_events(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a session log read straight from the file (header included)."""
    events = []
    with open(path, "rb") as handle:
        for line in handle.read().split(b"\n"):
            if line.strip():
                events.append(json.loads(line))
    return events


def log_next_seq(path: Path) -> int:
    seqs = [event["seq"] for event in log_events(path) if "seq" in event]
    assert seqs == list(range(len(seqs))), "seq must count from 0 without gaps"
    return len(seqs)


def silent_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    return sock


def make_server(base: Path, **kwargs: Any) -> LiveServer:
    base.mkdir(parents=True, exist_ok=True)
    return LiveServer(base, **kwargs)


def servers(base: Path) -> Iterator[Any]:
    """Generator behind the ``servers`` fixtures: yields a factory, cleans every server up."""
    made: list[LiveServer] = []
    counter = iter(range(1000))

    def factory(start: bool = True, **kwargs: Any) -> LiveServer:
        server = make_server(base / f"srv{next(counter)}", **kwargs)
        made.append(server)
        if start:
            server.start()
        return server

    try:
        yield factory
    finally:
        problems = []
        for server in made:
            try:
                server.cleanup()
            except AssertionError as problem:
                problems.append(str(problem))
        assert not problems, problems


def stop_server(paths: ServerPaths, config: Config) -> None:
    """Stop the server of ``paths``: shutdown, then SIGTERM, then SIGKILL of the supervisor."""
    pid = launcher.server_pid(paths)
    if pid is None:
        return
    try:
        with OmegaClient(config, autostart=False, connect_timeout_s=3) as client:
            client.shutdown()
    except (ServerUnavailable, ServerError):
        pass
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + 5
        while launcher.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not launcher.pid_alive(pid):
            return
