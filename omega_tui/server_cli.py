"""``omega server start|stop|status|restart``: managing the session server by hand.

Exit status: 0 done, 1 failed (the message says why and where the log is), 2 bad usage,
3 (``status``) no server running for this session dir.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

from omega_core.config import Config, load_config
from omega_core.server import launcher
from omega_core.server.client import OmegaClient, ServerError, ServerUnavailable
from omega_core.server.config_report import config_differences
from omega_core.server.paths import ServerPaths
from omega_core.server.protocol import ErrorCode
from omega_tui.usage import SERVER_USAGE, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_RUNNING = 3
PROBE_TIMEOUT_S = 2.0
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
CLIENT_NAME = "omega server"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, "omega server status", SERVER_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="omega server", usage=SERVER_USAGE, description="Start, stop, inspect or restart the Omega session server "
                     "of this session dir (one server per session dir).")
    parser.add_argument("action", choices=("start", "stop", "status", "restart"))
    parser.add_argument("--json", action="store_true", help="with status: one JSON object")
    parser.add_argument("--config", metavar="PATH", help="configuration file")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for internal errors")
    return parser


def run_server_command(argv: Sequence[str], out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    args = build_parser().parse_args(list(argv))
    if args.json and args.action != "status":
        raise UsageError("--json only goes with omega server status", "omega server status --json", SERVER_USAGE)
    config = load_config(args.config)
    action = {"start": start, "stop": stop, "status": status, "restart": restart}[args.action]
    return action(config, out, args)


def _probe(config: Config) -> OmegaClient | None:
    """A connected client if a server answers, else None (never starts one)."""
    client = OmegaClient(config, name=CLIENT_NAME, autostart=False, connect_timeout_s=PROBE_TIMEOUT_S)
    try:
        return client.connect()
    except ServerUnavailable:
        client.close()
        return None


def _status_or_none(client: OmegaClient) -> dict[str, Any] | None:
    try:
        return client.status()
    except ServerError:
        return None


def _start(config: Config, args: argparse.Namespace) -> tuple[OmegaClient, bool]:
    """Connect to the server, starting one if none answers; True if this call started it."""
    client = OmegaClient(config, name=CLIENT_NAME, autostart=True, connect_timeout_s=START_TIMEOUT_S,
                         config_path=args.config)
    try:
        client.connect()
    except ServerUnavailable as problem:
        client.close()
        raise ServerUnavailable(f"could not start the Omega server: {problem.message}") from None
    return client, client.started_pid is not None


def start(config: Config, out: TextIO, args: argparse.Namespace) -> int:
    paths = ServerPaths.for_config(config)
    running = _probe(config)
    if running is not None:
        with running:
            info = _status_or_none(running) or {}
        pid = info.get("supervisor_pid") or launcher.server_pid(paths)
        out.write(f"Omega server already running (pid {pid}, socket {paths.socket})\n")
        return EXIT_OK
    client, started = _start(config, args)
    with client:
        info = _status_or_none(client) or {}
    pid = info.get("supervisor_pid") or client.started_pid or launcher.server_pid(paths)
    verb = "started" if started else "already running"
    out.write(f"Omega server {verb} (pid {pid}, socket {paths.socket})\n")
    return EXIT_OK


def process_gone(pid: int) -> bool:
    """True once ``pid`` no longer runs. A zombie counts as gone: a supervisor started by a front end
    that is still open stays a zombie of it until reaped, yet it has stopped serving."""
    if not launcher.pid_alive(pid):
        return True
    try:
        stat_text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # no /proc here: trust kill(0)
    return stat_text.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not process_gone(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _shut_down(client: OmegaClient, paths: ServerPaths) -> tuple[int | None, bool]:
    """Ask the server of ``client`` to stop and wait until its supervisor is gone: (pid, gone)."""
    with client:
        info = _status_or_none(client) or {}
        pid = info.get("supervisor_pid") or launcher.server_pid(paths)
        client.shutdown()
    if pid is None:
        return None, True
    return int(pid), _wait_for_exit(int(pid), STOP_TIMEOUT_S)


def stop(config: Config, out: TextIO, args: argparse.Namespace) -> int:
    paths = ServerPaths.for_config(config)
    client = _probe(config)
    if client is None:
        pid = launcher.server_pid(paths)
        if pid is None:
            out.write(f"no server running for session dir {paths.session_dir}\n")
            return EXIT_OK
        print(f"omega: the server (pid {pid}) does not answer; see its log {paths.log}, or stop it with: kill {pid}",
              file=sys.stderr)
        return EXIT_FAILED
    pid, gone = _shut_down(client, paths)
    if pid is None:
        out.write("Omega server stopped\n")
        return EXIT_OK
    if not gone:
        print(f"omega: the server (pid {pid}) was asked to stop but is still running after {STOP_TIMEOUT_S:g} s; "
              f"see its log {paths.log}, or stop it with: kill {pid}", file=sys.stderr)
        return EXIT_FAILED
    out.write(f"Omega server stopped (pid {pid})\n")
    return EXIT_OK


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _megabytes(count: Any) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if isinstance(count, (int, float)) else "?"


def _config_file_text(info: dict[str, Any]) -> str:
    report = info.get("config") if isinstance(info.get("config"), dict) else {}
    found = report.get("config_file")
    return "unknown (an older server)" if found is None else (found or "none (the defaults)")


def status(config: Config, out: TextIO, args: argparse.Namespace) -> int:
    paths = ServerPaths.for_config(config)
    where = {"session_dir": str(paths.session_dir), "socket": str(paths.socket), "log": str(paths.log)}
    client = _probe(config)
    if client is None:
        pid = launcher.server_pid(paths)
        if pid is not None:
            message = f"a server process (pid {pid}) exists but does not answer; see its log {paths.log}"
            if args.json:
                out.write(json.dumps({"running": True, "answering": False, "supervisor_pid": pid, **where}) + "\n")
            else:
                print(f"omega: {message}", file=sys.stderr)
            return EXIT_FAILED
        if args.json:
            out.write(json.dumps({"running": False, **where}) + "\n")
        else:
            out.write(f"no server running for session dir {paths.session_dir}\n")
        return EXIT_NOT_RUNNING
    with client:
        try:
            info = client.status()
        except ServerError as problem:
            if problem.code != ErrorCode.UNAVAILABLE:
                raise
            pid = launcher.server_pid(paths)
            if args.json:
                out.write(json.dumps({"running": True, "answering": True, "backend": "stopped", "supervisor_pid": pid,
                                      "error": problem.message, **where}) + "\n")
            else:
                out.write(f"Omega server (pid {pid}) is up but its backend is stopped:\n  {problem.message}\n")
            return EXIT_FAILED
    if args.json:
        out.write(json.dumps({"running": True, "answering": True, **where, **info}, default=str) + "\n")
        return EXIT_OK
    clients = info.get("clients")
    clients_text = len(clients) if isinstance(clients, list) else clients
    pool = info.get("pool") if isinstance(info.get("pool"), dict) else {}
    lines = [
        "Omega server running",
        f"  session dir:  {paths.session_dir}",
        f"  socket:       {paths.socket}",
        f"  supervisor:   pid {info.get('supervisor_pid')}",
        f"  backend:      pid {info.get('backend_pid')} (restarts: {info.get('restarts', 0)})",
        f"  uptime:       {_duration(info.get('uptime_s') or 0)}",
        f"  clients:      {clients_text} (this one included)",
        f"  sessions:     {info.get('sessions_in_pool')} in memory"
        + (f", about {_megabytes(pool.get('memory_estimate_bytes'))} of {_megabytes(pool.get('max_memory_bytes'))}"
           if pool.get("max_memory_bytes") else ""),
        f"  memory (rss): {_megabytes(info.get('rss_bytes'))}",
        f"  config:       {_config_file_text(info)}",
        f"  log:          {paths.log}",
    ]
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def restart(config: Config, out: TextIO, args: argparse.Namespace) -> int:
    paths = ServerPaths.for_config(config)
    client = _probe(config)
    if client is None:
        if launcher.server_pid(paths) is not None:
            pid = launcher.server_pid(paths)
            print(f"omega: the server (pid {pid}) does not answer; see its log {paths.log}, or stop it with: kill {pid}",
                  file=sys.stderr)
            return EXIT_FAILED
        client, _started = _start(config, args)
        with client:
            info = _status_or_none(client) or {}
        out.write(f"no server was running; Omega server started (pid {info.get('supervisor_pid')}, "
                  f"socket {paths.socket})\n")
        return EXIT_OK
    before_report = (_status_or_none(client) or {}).get("config")
    changes = config_differences(config, before_report) if isinstance(before_report, dict) else []
    if changes:  # the supervisor holds its config: applying another one takes a new server
        pid, gone = _shut_down(client, paths)
        if not gone:
            print(f"omega: the server (pid {pid}) was asked to stop but is still running after {STOP_TIMEOUT_S:g} s; "
                  f"see its log {paths.log}, or stop it with: kill {pid}", file=sys.stderr)
            return EXIT_FAILED
        client, _started = _start(config, args)
        with client:
            info = _status_or_none(client) or {}
        changed = "; ".join(f"{d.key}: {d.server!r} -> {d.here!r}" for d in changes)
        out.write(f"Omega server restarted with new settings (pid {info.get('supervisor_pid')}, "
                  f"was {pid}): {changed}\n")
        return EXIT_OK
    client.connect_timeout_s = START_TIMEOUT_S  # the new backend may take a moment to come up
    with client:
        before = _status_or_none(client) or {}
        client.restart()
        deadline = time.monotonic() + START_TIMEOUT_S
        info: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                info = client.status()
            except ServerError as problem:
                if problem.code != ErrorCode.UNAVAILABLE:
                    raise
                info = {}
            if info and info.get("backend_pid") != before.get("backend_pid"):
                break
            time.sleep(0.05)
        else:
            print(f"omega: the server was asked to restart but no new backend answered within {START_TIMEOUT_S:g} s; "
                  f"see its log {paths.log}", file=sys.stderr)
            return EXIT_FAILED
    out.write(f"Omega server restarted (pid {info.get('supervisor_pid')}, backend pid {info.get('backend_pid')})\n")
    return EXIT_OK
