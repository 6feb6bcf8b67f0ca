"""The supervisor process: holds the listening socket and the key, forks and watches the backend.

Because the supervisor owns the socket, connections made while a backend restarts wait in the
listen queue and are served by the next backend; clients reconnect by themselves. The next backend
is forked ahead once the active one ran ``stable_start_s`` (a standby, ``backend_process``), so a
restart needs no fork; before any fork the supervisor prepares itself (``fork_prep``). Past the
restart limit the supervisor stays up and answers every request with ``unavailable`` and the
cause, until ``restart`` (``omega server restart``) or ``shutdown``.

Run as ``python -m omega_core.server.supervisor --session-dir D --runtime-dir R [--config P]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import sys
import threading
import time
from typing import Any

import multiprocess
from multiprocess.connection import AuthenticationError, Listener, answer_challenge, deliver_challenge

from omega_core.config import Config, find_config_file, load_config
from omega_core.server import protocol as proto
from omega_core.server.context import EXIT_RESTART, EXIT_STOP
from omega_core.server.config_report import CONFIG_FILE_ENV
from omega_core.server.connection import abort_connection
from omega_core.server.backend_process import Standby, backend_entry
from omega_core.server.fork_prep import freeze_before_fork, preload_backend_modules
from omega_core.server.paths import ServerPaths
from omega_core.server.restart_policy import RestartPolicy

log = logging.getLogger("omega.supervisor")


def describe_exit(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(self, config: Config, paths: ServerPaths, listener: Listener, key: bytes) -> None:
        self.config = config
        self.paths = paths
        self.listener = listener
        self.key = key
        server = config.server
        self.policy = RestartPolicy(server.restart_backoff_initial_s, server.restart_backoff_max_s,
                                    server.restart_limit, server.restart_window_s, server.stable_start_s)
        self.restarts = 0
        self.backend: Any = None
        self.standby: Standby | None = None
        """A backend forked ahead, waiting to take over (``backend_process``), once the active one ran
        ``stable_start_s``: the restart after a crash then needs no fork."""
        self.stopping = False
        self.context = multiprocess.get_context("fork")

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._run()
        finally:
            self.discard_standby()

    def _run(self) -> None:
        while not self.stopping:
            started = time.monotonic()
            self.backend, how = self._start_backend()
            log.info("backend started (pid %s, restarts %s, %s)", self.backend.pid, self.restarts, how)
            self._wait_for_backend()
            code = self.backend.exitcode
            if self.stopping or code == EXIT_STOP:
                log.info("backend stopped (%s)", describe_exit(code))
                break
            self.restarts += 1
            if code == EXIT_RESTART:
                log.info("backend restart requested")
                continue
            cause = describe_exit(code)
            try:
                cause += ": " + self.paths.cause.read_text(encoding="utf-8").strip()[:300]
                self.paths.cause.unlink()
            except OSError:
                pass
            delay = self.policy.on_crash(time.monotonic() - started, time.monotonic())
            if delay is None:
                message = (f"the backend crashed {len(self.policy.crashes)} times within "
                           f"{self.config.server.restart_window_s:g} s and was not restarted (last: {cause}); "
                           f"see the log {self.paths.log}, fix the cause, then run: omega server restart")
                log.error(message)
                if not self.serve_unavailable(message):
                    break
                self.policy.reset()
                continue
            log.warning("backend %s; restarting in %.2f s", cause, delay)
            time.sleep(delay)

    def _start_backend(self) -> tuple[Any, str]:
        """The next backend: the standby if there is a live one, else a fork now."""
        standby, self.standby = self.standby, None
        if standby is not None:
            if standby.go(self.restarts, time.monotonic()):
                return standby.process, "the standby"
            log.warning("the standby backend (pid %s) is gone (%s): forking one", standby.process.pid,
                        describe_exit(standby.process.exitcode))
            standby.discard()
        process = self.context.Process(
            target=backend_entry, args=(self.listener, self.config, self.key, self.restarts, os.getpid()),
            kwargs={"began": time.monotonic()}, name="omega-backend",
        )
        freeze_before_fork()
        process.start()
        return process, "forked"

    def _wait_for_backend(self) -> None:
        """Wait until the backend exits; once it has run ``stable_start_s`` (a crash from then on
        restarts at once), fork the standby that will take its place."""
        self.backend.join(self.config.server.stable_start_s)
        if self.backend.exitcode is None and not self.stopping and self.standby is None:
            try:
                self.standby = Standby.fork(self.context, self.listener, self.config, self.key)
                log.info("standby backend forked (pid %s)", self.standby.process.pid)
            except OSError as problem:  # no memory or processes left: restarts fork as before
                log.warning("could not fork a standby backend: %s", problem)
        self.backend.join()

    def discard_standby(self) -> None:
        standby, self.standby = self.standby, None
        if standby is not None:
            standby.discard()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True
        if self.backend is not None and self.backend.is_alive():
            os.kill(self.backend.pid, signal.SIGTERM)

    # --- the given-up state --------------------------------------------------------------------

    def serve_unavailable(self, message: str) -> bool:
        """Answer every request with ``unavailable``; True when told to restart, False to stop."""
        decision: list[bool] = []
        accepted: list[Any] = []
        sock = self.listener._listener._socket  # the listening socket: select() before accept()
        while not decision and not self.stopping:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if not readable:
                continue
            try:
                conn = self.listener.accept()
            except OSError:
                continue
            accepted.append(conn)
            threading.Thread(target=self._answer_unavailable, args=(conn, message, decision), daemon=True).start()
        # a forked backend would inherit these connections and keep them open without serving
        # them: end them now, so their clients reconnect to the next backend
        for conn in accepted:
            abort_connection(conn)
        return bool(decision and decision[0])

    def _answer_unavailable(self, conn: Any, message: str, decision: list[bool]) -> None:
        timer = threading.Timer(5.0, abort_connection, args=(conn,))
        timer.start()
        try:
            deliver_challenge(conn, self.key)
            answer_challenge(conn, self.key)
        except (AuthenticationError, EOFError, OSError, ValueError):
            conn.close()
            return
        finally:
            timer.cancel()
        try:
            while not decision:
                data = conn.recv_bytes(self.config.server.max_frame_bytes)
                if decision:  # restarted meanwhile: let the client retry with the new backend
                    break
                try:
                    request = proto.decode_request(data, self.config.server.max_frame_bytes)
                except proto.ProtocolError as problem:
                    conn.send_bytes(proto.encode(proto.error_reply(problem.request_id, problem.code, problem.message)))
                    continue
                if request.op == proto.Op.RESTART:
                    conn.send_bytes(proto.encode(proto.ok_reply(request.id, {"restarting": True})))
                    decision.append(True)
                elif request.op == proto.Op.SHUTDOWN:
                    conn.send_bytes(proto.encode(proto.ok_reply(request.id, {"stopping": True})))
                    decision.append(False)
                else:
                    conn.send_bytes(proto.encode(proto.error_reply(request.id, proto.ErrorCode.UNAVAILABLE, message)))
        except (EOFError, OSError):
            pass
        finally:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="omega-supervisor")
    parser.add_argument("--session-dir", required=True)
    parser.add_argument("--runtime-dir", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor[%(process)d] %(levelname)s %(message)s")
    environ = dict(os.environ, OMEGA_SESSION_DIR=args.session_dir, OMEGA_RUNTIME_DIR=args.runtime_dir)
    config = load_config(args.config, environ=environ)
    found = find_config_file(args.config, environ=environ)  # reported by the backend's status
    os.environ[CONFIG_FILE_ENV] = str(found) if found is not None else ""
    paths = ServerPaths.for_config(config)
    paths.ensure_runtime_dir()
    if paths.socket.exists():
        from omega_core.server.launcher import server_pid

        if server_pid(paths) is not None:
            log.info("a server is already running for %s", paths.session_dir)
            return 0
        paths.socket.unlink()
    key = paths.create_key()
    # The socket is born 0600 (umask while binding) instead of chmodded after: no path is followed
    # and no window exists in which it is open to others.
    previous_umask = os.umask(0o177)
    try:
        listener = Listener(str(paths.socket), family="AF_UNIX", backlog=128)
    finally:
        os.umask(previous_umask)
    preload_backend_modules()  # before the pid file, which says the server is up
    paths.write_pid(os.getpid())
    log.info("listening on %s for %s", paths.socket, paths.session_dir)
    try:
        Supervisor(config, paths, listener, key).run()
    finally:
        try:
            listener.close()  # also removes the socket file
        except OSError:
            pass
        for path in (paths.socket, paths.pid):
            try:
                if path == paths.pid and path.read_text(encoding="ascii").strip() != str(os.getpid()):
                    continue
                path.unlink()
            except OSError:
                pass
        log.info("supervisor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
