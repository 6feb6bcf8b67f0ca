"""The ``omega`` command: picks the front end from the arguments.

Plain ``omega`` opens the full-screen app (``omega_tui.app``) attached to the server (started if
none runs); ``--plain`` (or a stdin/stdout that is not a terminal) gives the line-mode REPL, and
``--batch FILE`` runs a file.

Every failure a user can cause ends in one clear line on stderr and a non-zero exit status; a
Python traceback is shown only with ``--debug`` (it is a bug report, not a message).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from omega_core import __version__
from omega_core.config import Config, load_config
from omega_core.errors import OmegaError
from omega_tui.usage import UsageError

EXIT_OK = 0
EXIT_FORM_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70




class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see omega --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="omega",
        description="Omega Lisp: a REPL whose LLM calls are effects that leave receipts.",
        epilog="Manage the session server with: omega server start|stop|status|restart [--json]",
    )
    parser.add_argument("--version", action="version", version=f"omega {__version__}")
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: $OMEGA_CONFIG, ./omega.toml, ~/.config/omega/config.toml)")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for internal errors")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plain", action="store_true",
                      help="line-mode REPL instead of the full-screen app (the default when stdin or stdout is not a terminal)")
    mode.add_argument("--batch", metavar="FILE", help="run every form of FILE ('-' reads stdin) and print each result")
    parser.add_argument("--json", action="store_true", help="with --batch: one JSON object per form")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--embedded", action="store_true", help="evaluate in this process, no server (with --batch or --plain)")
    where.add_argument("--server", action="store_true", help="run through the session server, started if none runs (the default)")
    parser.add_argument("--session", metavar="NAME", help="run inside the recorded session NAME (created if new)")
    return parser


def _repl_state(config: Config, session: str | None, ephemeral_dir: Path | None = None):  # type: ignore[no-untyped-def]
    """A REPL state on the named session, or on a throwaway one kept in ``ephemeral_dir``."""
    from dataclasses import replace

    from omega_core.repl.state import DEFAULT_SESSION, ReplState
    from omega_core.session.names import validate_name

    if session is not None:
        validate_name(session)
        return ReplState.open(config, session)
    if ephemeral_dir is not None:
        return ReplState.open(replace(config, session_dir=str(ephemeral_dir)), "batch")
    return ReplState.open(config, DEFAULT_SESSION)


def _read_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError as problem:
        raise UsageError(f"cannot read {path}: not UTF-8 text ({problem.reason} at byte {problem.start})") from None
    except OSError as problem:
        raise UsageError(f"cannot read {path}: {problem.strerror}") from None


def run(argv: Sequence[str]) -> int:
    from omega_tui.server_cli import run_server_command, split_server_argv

    if list(argv)[:1] == ["kernel"]:  # omega kernel install|uninstall: the Jupyter kernelspec
        from omega_tui.kernel.spec import run_kernel_command

        return run_kernel_command(list(argv)[1:])
    server_argv = split_server_argv(list(argv))
    if server_argv is not None:
        return run_server_command(server_argv)
    args = build_parser().parse_args(list(argv))
    if args.json and not args.batch:
        raise UsageError("--json only goes with --batch FILE")
    config = load_config(args.config)
    if args.batch and not args.embedded:
        from omega_tui.remote_batch import run_batch_via_server

        text = _read_source(args.batch)
        return run_batch_via_server(text, config, args.session, sys.stdout, args.json, config_path=args.config)
    if args.batch:
        import tempfile

        from omega_tui.batch import run_batch

        text = _read_source(args.batch)
        with tempfile.TemporaryDirectory(prefix="omega-batch-") as scratch:
            state = _repl_state(config, args.session, None if args.session else Path(scratch))
            return run_batch(text, state, sys.stdout, as_json=args.json)
    if args.plain or not _interactive():
        if not args.embedded:
            return _run_plain_via_server(config, args.session, args.config)
        return _run_plain(config, args.session)
    if args.embedded:
        raise UsageError("the full-screen app always runs through the server: --embedded goes with --batch or --plain")
    return _run_app(config, args.session, args.config)


def _interactive() -> bool:
    """A full-screen app needs a terminal on both ends; otherwise the line-mode REPL serves."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _run_app(config: Config, session: str | None, config_path: str | None) -> int:
    """The full-screen app (Textual); it starts the server if none runs and connects in a worker."""
    if session is not None:
        from omega_core.session.names import validate_name

        validate_name(session)
    from omega_tui.app import run_app

    return run_app(config, session=session, config_path=config_path)


def _run_plain_via_server(config: Config, session: str | None, config_path: str | None) -> int:
    """The line-mode REPL as a client of the server; Ctrl+C interrupts the running command."""
    import threading

    from omega_core.repl.state import DEFAULT_SESSION
    from omega_core.server.client import OmegaClient
    from omega_tui.plain import default_history_file, repl_loop

    client = OmegaClient(config, name="omega --plain", config_path=config_path,
                         on_reconnect=lambda: print("\n[the server restarted; reconnected]", file=sys.stderr))
    client.connect()
    current = [session or DEFAULT_SESSION]
    opened = client.open_session(current[0])
    for warning in opened.get("warnings", []) if isinstance(opened, dict) else []:
        print(f"warning: {warning}", file=sys.stderr)

    def handle(entry: str) -> tuple[str, bool]:
        outcome: list[Any] = []

        def work() -> None:
            try:
                outcome.append(client.execute(entry, current[0]))
            except OmegaError as problem:
                outcome.append(problem)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.1)
            except KeyboardInterrupt:
                client.interrupt(current[0])
        reply = outcome[0]
        if isinstance(reply, OmegaError):
            return f"error: {reply.message}", False
        current[0] = reply.session or current[0]
        return reply.output, reply.should_exit

    print(f"Omega {__version__}: session '{current[0]}' on the server. Type an expression, :help for commands, :quit to leave.")
    try:
        return repl_loop(handle, history_file=default_history_file())
    finally:
        client.close()


def _run_plain(config: Config, session: str | None) -> int:
    from omega_core.repl.processor import process
    from omega_tui.plain import default_history_file, repl_loop

    state = _repl_state(config, session)
    for warning in state.session.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    holder = [state]

    def handle(entry: str) -> tuple[str, bool]:
        holder[0], output, should_exit = process(holder[0], entry)
        return output, should_exit

    print(f"Omega {__version__}: session '{state.session.name}'. Type an expression, :help for commands, :quit to leave.")
    try:
        return repl_loop(handle, history_file=default_history_file())
    finally:
        holder[0].close()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return run(argv)
    except UsageError as problem:
        print(f"omega: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except OmegaError as problem:
        print(f"omega: {problem.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as problem:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            traceback.print_exc()
        else:
            print(
                f"omega: internal error: {type(problem).__name__}: {problem} (run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
