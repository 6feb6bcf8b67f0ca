"""The supervisor: its restart policy (unit), a backend that dies at start (live: it gives up after
``restart_limit``, answers ``unavailable`` with the cause, and ``omega server restart`` brings it back
once the cause is fixed), and ``omega server status --json``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_core.server.client import ServerError
from omega_core.server.protocol import ErrorCode
from omega_core.server.restart_policy import RestartPolicy
from tests.core.server.live_server import LiveServer, raw_call, servers, silent_socket, wait_gone

# --------------------------------------------------------------------------------------------
# RestartPolicy (unit)


def policy(**overrides: float) -> RestartPolicy:
    values = {"initial_delay_s": 0.1, "max_delay_s": 1.0, "limit": 100, "window_s": 60.0, "stable_start_s": 10.0}
    values.update(overrides)
    return RestartPolicy(**values)  # type: ignore[arg-type]


def test_backoff_doubles_up_to_the_maximum() -> None:
    p = policy()
    delays = [p.on_crash(ran_for_s=0.5, now=float(k)) for k in range(7)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_the_limit_within_the_window_gives_up() -> None:
    p = policy(limit=3, window_s=60)
    assert [p.on_crash(0.5, now) for now in (0.0, 1.0, 2.0)] == [0.1, 0.2, 0.4]
    assert p.on_crash(0.5, 3.0) is None  # a 4th crash within 60 s: give up
    assert p.on_crash(0.5, 4.0) is None  # and stays given up until reset


def test_crashes_older_than_the_window_do_not_count() -> None:
    p = policy(limit=2, window_s=10, max_delay_s=0.4)
    for k in range(10):  # one crash every 6 s: never more than 2 within 10 s
        assert p.on_crash(0.5, now=6.0 * k) is not None
    assert len(p.crashes) <= 2


def test_a_stable_start_resets_the_count_and_the_delay() -> None:
    p = policy(limit=3, stable_start_s=10)
    assert [p.on_crash(0.5, now) for now in (0.0, 1.0, 2.0)] == [0.1, 0.2, 0.4]
    assert p.on_crash(ran_for_s=10.0, now=15.0) == 0.0  # ran long enough: healthy, restart at once
    assert list(p.crashes) == [15.0]
    assert [p.on_crash(0.5, now) for now in (16.0, 17.0)] == [0.1, 0.2]  # quick crashes back off from the initial delay
    assert p.on_crash(0.5, 18.0) is None


def test_reset_clears_a_given_up_policy() -> None:
    p = policy(limit=1)
    p.on_crash(0.5, 0.0)
    assert p.on_crash(0.5, 1.0) is None
    p.reset()
    assert p.on_crash(0.5, 2.0) == 0.1


# --------------------------------------------------------------------------------------------
# Live


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


GIVE_UP = {"restart_limit": 2, "restart_backoff_initial_s": 0.05, "restart_backoff_max_s": 0.1,
           "restart_window_s": 60, "stable_start_s": 10}


def omega_cli(srv: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **srv.environ)
    return subprocess.run([sys.executable, "-m", "omega_tui.cli", "--config", str(srv.config_path), *args],
                          capture_output=True, text=True, env=env, cwd=srv.base, timeout=60)


def backend_starts(srv: LiveServer) -> int:
    text = srv.paths.log.read_text(errors="replace") if srv.paths.log.exists() else ""
    return text.count("backend started")


def broken_server(make_server: Callable[..., LiveServer], tmp_path: Path) -> LiveServer:
    """A server whose session dir is a FILE: every backend dies at start (SessionManager cannot
    make ``<session_dir>/sessions``)."""
    session_dir = tmp_path / "not-a-dir"
    session_dir.write_text("I am a file\n")
    srv = make_server(start=False, session_dir=session_dir, server=GIVE_UP)
    srv.start()
    return srv


def wait_given_up(srv: LiveServer, timeout_s: float = 10) -> str:
    """Wait until the supervisor answers ``unavailable``; return its message."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = srv.raw()
            try:
                reply = raw_call(conn, {"v": 1, "id": "probe", "op": "ping", "session": None, "args": {}}, 5)
            finally:
                conn.close()
            if not reply["ok"] and reply["error"]["code"] == ErrorCode.UNAVAILABLE:
                return str(reply["error"]["message"])
        except (OSError, EOFError):
            pass  # between backends
        if time.monotonic() > deadline:
            raise AssertionError("the supervisor never gave up")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_backend_that_dies_at_start_is_given_up_on_and_restart_brings_it_back(
        make_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    message = wait_given_up(srv)
    assert backend_starts(srv) == GIVE_UP["restart_limit"] + 1  # first start + restart_limit restarts, no more
    time.sleep(0.5)
    assert backend_starts(srv) == GIVE_UP["restart_limit"] + 1  # and no crash loop afterwards
    assert srv.supervisor_pid is not None and os.kill(srv.supervisor_pid, 0) is None  # the supervisor stays up
    assert "omega server restart" in message and str(srv.paths.log) in message
    assert "exited with status" in message or "killed by signal" in message

    with srv.client(name="victim") as client:  # a client connects and gets the cause on every request
        for call in (client.ping, client.status, lambda: client.execute("(+ 1 2)", "x"), client.list_sessions):
            with pytest.raises(ServerError) as caught:
                call()
            assert caught.value.code == ErrorCode.UNAVAILABLE
            assert "omega server restart" in caught.value.message

        # `omega server status --json` says so too
        status = omega_cli(srv, "server", "status", "--json")
        assert status.returncode == 1, status.stderr
        info = json.loads(status.stdout)
        assert info["running"] and info["backend"] == "stopped" and "omega server restart" in info["error"]

        # fix the cause, then restart
        srv.session_dir.unlink()
        srv.session_dir.mkdir()
        restarted = omega_cli(srv, "server", "restart")
        assert restarted.returncode == 0, restarted.stderr + restarted.stdout
        assert restarted.stdout.startswith("Omega server restarted")
    with srv.client(name="after") as client:
        assert client.ping() == "pong"
        assert client.execute("(+ 1 2)", "x").output == "=> 3"
        assert client.status()["supervisor_pid"] == srv.supervisor_pid
    srv.assert_healthy()


@pytest.mark.slow
def test_a_client_connected_while_given_up_is_served_right_after_a_restart(
        make_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    wait_given_up(srv)
    with srv.client(name="waiting") as waiting:
        with pytest.raises(ServerError):
            waiting.ping()
        srv.session_dir.unlink()
        srv.session_dir.mkdir()
        with srv.client(name="fixer") as fixer:
            assert fixer.restart() == {"restarting": True}
        time.sleep(1.0)  # the new backend is up by now
        srv.assert_healthy()
        assert waiting.ping() == "pong"


@pytest.mark.slow
def test_the_unavailable_message_names_the_real_cause(make_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    message = wait_given_up(srv)
    assert "Not a directory" in message or "not a directory" in message, message


@pytest.mark.slow
def test_client_restart_after_the_fix_brings_the_backend_back(make_server: Callable[..., LiveServer],
                                                              tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    wait_given_up(srv)
    with srv.client() as client:
        shutil.rmtree(srv.session_dir, ignore_errors=True)
        srv.session_dir.unlink(missing_ok=True)
        srv.session_dir.mkdir()
        assert client.restart() == {"restarting": True}
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.ping() == "pong"
                break
            except ServerError as problem:
                assert problem.code == ErrorCode.UNAVAILABLE and time.monotonic() < deadline
                time.sleep(0.05)
        assert client.execute("(define back 1)", "back").ok
    srv.assert_healthy()


@pytest.mark.slow
def test_restart_without_fixing_gives_up_again_and_shutdown_stops_it(make_server: Callable[..., LiveServer],
                                                                     tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    wait_given_up(srv)
    first = backend_starts(srv)
    with srv.client() as client:
        assert client.restart() == {"restarting": True}
    wait_given_up(srv)
    deadline = time.monotonic() + 5
    while backend_starts(srv) < 2 * first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend_starts(srv) == 2 * first  # the count was reset by restart, then the limit applied again
    with srv.client() as client:
        client.shutdown()
    assert srv.supervisor_pid is not None and wait_gone(srv.supervisor_pid, 10)
    assert not srv.paths.socket.exists() and not srv.paths.pid.exists()


@pytest.mark.slow
def test_a_silent_peer_is_dropped_by_the_given_up_supervisor_too(make_server: Callable[..., LiveServer],
                                                                 tmp_path: Path) -> None:
    srv = broken_server(make_server, tmp_path)
    wait_given_up(srv)
    sock = silent_socket(srv.paths.socket)
    try:
        sock.settimeout(8)
        began = time.monotonic()
        try:
            while sock.recv(4096):  # the challenge, then EOF after the 5 s handshake limit
                pass
        except TimeoutError:
            raise AssertionError("the silent peer was still connected after 8 s") from None
        assert time.monotonic() - began <= 7
    finally:
        sock.close()


@pytest.mark.slow
def test_a_backend_killed_more_often_than_the_limit_is_given_up_on(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=GIVE_UP)
    killed: list[int] = []
    for _ in range(GIVE_UP["restart_limit"] + 1):
        pid = srv.backend_pid()
        assert pid not in killed
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        assert wait_gone(pid, 5)
        if len(killed) <= GIVE_UP["restart_limit"]:
            time.sleep(0.2)  # within the backoff of at most 0.1 s the next backend is up
    message = wait_given_up(srv)
    assert "killed by signal SIGKILL" in message and "omega server restart" in message
    with srv.client() as client:
        client.restart()
        deadline = time.monotonic() + 10
        while True:
            try:
                info = client.status()
                break
            except ServerError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert info["backend_pid"] not in killed


@pytest.mark.slow
def test_a_backend_that_ran_for_the_stable_time_is_restarted_again_and_again(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={**GIVE_UP, "stable_start_s": 0.3})
    for _ in range(GIVE_UP["restart_limit"] + 2):
        pid = srv.backend_pid()
        time.sleep(0.4)  # it ran longer than stable_start_s: a healthy run, the count starts over
        os.kill(pid, signal.SIGKILL)
        assert wait_gone(pid, 5)
    srv.assert_healthy()
    assert srv.status()["restarts"] == GIVE_UP["restart_limit"] + 2


def test_status_json_has_the_documented_fields(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server()
    with srv.client() as client:
        client.execute("(define s 1)", "st")
        status = omega_cli(srv, "server", "status", "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    expected: dict[str, Any] = {"supervisor_pid": int, "backend_pid": int, "uptime_s": (int, float),
                                "clients": int, "sessions_in_pool": int, "rss_bytes": int}
    for key, kind in expected.items():
        assert isinstance(info.get(key), kind) and not isinstance(info.get(key), bool), (key, info.get(key))
    assert info["supervisor_pid"] == srv.supervisor_pid
    assert info["backend_pid"] == srv.backend_pid() != info["supervisor_pid"]
    assert info["uptime_s"] >= 0 and info["rss_bytes"] > 1024 * 1024
    assert info["clients"] >= 2  # the test's client and the CLI's own
    assert info["sessions_in_pool"] == 1
    assert info["running"] is True and info["answering"] is True


@pytest.mark.slow
def test_a_backend_whose_supervisor_is_killed_flushes_and_exits(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server={"save_interval_ms": 600_000})
    with srv.client() as client:
        client.execute("(define orphan 1)", "orphan")
    backend = srv.backend_pid()
    assert srv.supervisor_pid is not None
    os.kill(srv.supervisor_pid, signal.SIGKILL)
    assert wait_gone(srv.supervisor_pid, 5)
    assert wait_gone(backend, 3), "the orphaned backend is still running"
    index = json.loads((srv.sessions_dir / "orphan.index.json").read_text())
    assert index["eventCount"] > 0
