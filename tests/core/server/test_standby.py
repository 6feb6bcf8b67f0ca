"""The standby backend (``backend_process``): forked ahead once the active backend ran
``stable_start_s``, it takes over at a crash or a restart without a fork; a dead standby is
replaced by a fork as before; stop and a killed supervisor leave no standby behind; a crash loop
forks none. Ordering only (which process serves after the kill), no clocks."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from omega_core.server.go_signal import encode_go, read_go
from tests.core.server.live_server import LiveServer, descendants, servers, wait_gone

STANDBY = {"stable_start_s": 0.2}


@pytest.fixture
def make_server(tmp_path: Any) -> Iterator[Callable[..., LiveServer]]:
    yield from servers(tmp_path)


def wait_standby(srv: LiveServer, timeout_s: float = 10.0) -> tuple[int, int]:
    """(backend pid, standby pid) once the supervisor has both children."""
    assert srv.supervisor_pid is not None
    backend = srv.backend_pid()
    deadline = time.monotonic() + timeout_s
    while True:
        others = descendants(srv.supervisor_pid) - {backend}
        srv.seen |= others
        if others:
            assert len(others) == 1, others
            return backend, others.pop()
        assert time.monotonic() < deadline, "no standby backend was forked"
        time.sleep(0.02)


def test_the_go_message_round_trips_and_an_ended_pipe_means_no_go() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, encode_go(3, 12.5))
    os.close(write_end)
    assert read_go(read_end) == (3, 12.5)
    read_end, write_end = os.pipe()
    os.close(write_end)
    assert read_go(read_end) is None


def test_a_killed_backend_is_replaced_by_the_standby_which_recovers_the_session(
        make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    with srv.client() as client:
        assert client.execute("(define kept 42)", "standby").ok
        backend, standby = wait_standby(srv)
        os.kill(backend, signal.SIGKILL)
        reply = client.execute("kept", "standby")  # waits in the listen queue for the new backend
        assert reply.ok and reply.output == "=> 42", reply
        info = client.status()
    assert info["backend_pid"] == standby  # no fork after the death: the standby took over
    assert info["restarts"] == 1
    assert info["start"]["serving_s"] is not None
    new_backend, next_standby = wait_standby(srv)  # the next one is forked after a healthy run
    assert new_backend == standby and next_standby not in (backend, standby)
    srv.assert_healthy()


def test_an_explicit_restart_uses_the_standby_too(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    backend, standby = wait_standby(srv)
    with srv.client() as client:
        client.restart()
        assert wait_gone(backend, 10)
        assert client.ping() == "pong"
        assert client.status()["backend_pid"] == standby


def test_a_dead_standby_is_noticed_and_a_backend_is_forked_instead(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    backend, standby = wait_standby(srv)
    os.kill(standby, signal.SIGKILL)
    assert wait_gone(standby, 5)  # (killed within the same millisecond, it would take the "go" and die: a crash)
    os.kill(backend, signal.SIGKILL)
    srv.assert_healthy()
    assert srv.backend_pid() not in (backend, standby)
    assert "the standby backend (pid %d) is gone" % standby in srv.paths.log.read_text(errors="replace")


def test_stop_ends_the_standby(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    backend, standby = wait_standby(srv)
    with srv.client() as client:
        client.shutdown()
    assert srv.supervisor_pid is not None and wait_gone(srv.supervisor_pid, 10)
    assert wait_gone(backend, 5) and wait_gone(standby, 5), "a backend outlived its stopped supervisor"


def test_sigterm_of_the_supervisor_ends_backend_and_standby(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    backend, standby = wait_standby(srv)
    assert srv.supervisor_pid is not None
    os.kill(srv.supervisor_pid, signal.SIGTERM)
    assert wait_gone(srv.supervisor_pid, 10)
    assert wait_gone(backend, 5) and wait_gone(standby, 5), "a backend outlived its stopped supervisor"
    assert "supervisor stopped" in srv.paths.log.read_text(errors="replace")


def test_a_killed_supervisor_takes_its_standby_along(make_server: Callable[..., LiveServer]) -> None:
    srv = make_server(server=STANDBY)
    backend, standby = wait_standby(srv)
    assert srv.supervisor_pid is not None
    os.kill(srv.supervisor_pid, signal.SIGKILL)
    assert wait_gone(standby, 5), "the standby outlived its supervisor"
    assert wait_gone(backend, 5)


def test_no_standby_is_forked_before_the_backend_ran_the_stable_start_time(
        make_server: Callable[..., LiveServer]) -> None:
    """A crash loop (each backend dies before ``stable_start_s``) never forks standbys: the
    supervisor has one child at a time, and the backoff applies as before."""
    srv = make_server(server={"stable_start_s": 30.0})
    assert srv.supervisor_pid is not None
    for _ in range(2):
        backend = srv.backend_pid()
        os.kill(backend, signal.SIGKILL)
        assert wait_gone(backend, 5)
        srv.assert_healthy()
        assert descendants(srv.supervisor_pid) == {srv.backend_pid()}


def test_a_client_reconnects_through_a_restart_with_one_dial_and_no_backoff(
        make_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor keeps the socket, so the client's first redial connects at once and waits in
    the listen queue for the next backend: the dial backoff (50 ms, doubling) never starts during a
    supervised restart, which alone would be a gap over the 50 ms target."""
    from omega_core.server import client_greeting

    class RecordingTime:
        def __init__(self) -> None:
            self.slept: list[float] = []

        def monotonic(self) -> float:
            return time.monotonic()

        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)
            time.sleep(seconds)

    srv = make_server(server=STANDBY)
    backend, _standby = wait_standby(srv)
    with srv.client() as client:
        assert client.ping() == "pong"
        recording = RecordingTime()
        monkeypatch.setattr(client_greeting, "time", recording)
        os.kill(backend, signal.SIGKILL)
        assert client.ping() == "pong"
        assert client.reconnects == 1
        assert recording.slept == []


def test_a_waiting_standby_keeps_up_with_the_request_record(tmp_path: Any) -> None:
    """While it waits, a standby reads what the active backend adds to the request record (so its
    "go" reads a few lines, not a whole file that a compaction replaced), and after the "go" it
    answers from all of it."""
    from tests.core.server.test_restart_gap import run_script

    result = run_script("""
        from omega_core.server.go_signal import encode_go
        from omega_core.server.request_record import RequestRecord

        active = RequestRecord(config.sessions_dir)
        active.input_logged("client:1", "s", 0)
        from omega_core.server import backend_start
        backend_start.RECORD_CATCH_UP_S = 0.02
        go_read, go_write = os.pipe()
        seen = {}
        run = backend_module._run

        def drive(backend):
            seen["preloaded"] = list(backend.requests.entries)
            os.replace(active.path, active.path.with_suffix(".old"))  # as a compaction: a new file
            active.close()
            active.input_logged("client:2", "s", 5)
            deadline = time.monotonic() + 10
            while "client:2" not in backend.requests.entries and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["caught_up_before_go"] = list(backend.requests.entries)
            os.write(go_write, encode_go(1, time.monotonic()))
            backend._serving.wait(10)
            deadline = time.monotonic() + 10
            while not backend.requests.loaded and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["after_go"] = list(backend.requests.entries)
            seen["restarts"] = backend.restarts
            backend.portal.call(backend.stop)

        def serve_and_drive(backend):
            threading.Thread(target=drive, args=(backend,), daemon=True).start()
            return run(backend)

        backend_module._run = serve_and_drive
        backend_module.os._exit = lambda code: None
        backend_module.backend_main(listener, config, key, 0, os.getpid(), go_fd=go_read)
        print(json.dumps(seen))
    """, tmp_path)
    assert result == {"preloaded": ["client:1"], "caught_up_before_go": ["client:2"], "after_go": ["client:2"],
                      "restarts": 1}, result
