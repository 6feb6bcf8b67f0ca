"""The ``omega`` command: picks the front end from the arguments.

Plain ``omega`` opens the full-screen app (``omega_tui.app``) attached to the server (started if
none runs); ``--plain`` (or a stdin/stdout that is not a terminal) gives the line-mode REPL, and
``--batch FILE`` runs a file. Flags go in any order: ``--batch`` is a mode and the file is the
positional argument (``-`` reads standard input).

Exit status: 0 all went well, 1 a form or command failed (or the server could not be reached),
2 bad usage (flags, a file that cannot be read, a bad config or session name). Every failure a user
can cause ends in clear lines on stderr; a Python traceback is shown only with ``--debug`` for an
internal error (status 70: a bug, never a user's mistake).

Imports are lazy on purpose: ``omega --batch FILE`` through a running server takes the thin path
(``thin_batch``: no argparse, no config schema once its settings are cached, no evaluator, no
Textual), and argparse (``cli_args``) is loaded only for other command lines; ``bench/cli.py``
measures what a one-line run costs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys

from omega_tui.thin_batch import HandOver, plain_batch_args, read_source, run_plain_batch
from omega_tui.usage import UsageError, check_session_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the thin path's start-up)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator, Sequence

EXIT_OK = 0
EXIT_FORM_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70

USAGE_CODES = frozenset({"bad_request", "invalid_name"})
"""``OmegaError`` codes that mean the user asked wrongly (a bad config, a bad name): status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The ``omega`` argument parser (``cli_args``; argparse is imported only when it is needed)."""
    from omega_tui.cli_args import build_parser as build

    return build()


def split_server_argv(argv: Sequence[str]) -> list[str] | None:
    """``argv`` of the server subcommand if this is ``omega [--config P] [--debug] server ...``."""
    collected: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "server":
            return list(argv[index + 1:]) + collected
        if word == "--debug" or word.startswith("--config="):
            collected.append(word)
        elif word == "--config" and index + 1 < len(argv):
            collected += [word, argv[index + 1]]
            index += 1
        else:
            return None
        index += 1
    return None


def _read_source(path: str) -> str:
    return read_source(path)


def _check_arguments(args: argparse.Namespace) -> None:
    """Combinations argparse cannot express, each refused with the form that works."""
    if args.file is not None and not args.batch:
        raise UsageError(f"a file ({args.file}) is only read with --batch", f"omega --batch {args.file}")
    if args.batch and args.file is None:
        raise UsageError("--batch needs a FILE to run (or - to read standard input)", "omega --batch - < program.omega")
    if args.json and not args.batch:
        raise UsageError("--json only goes with --batch FILE", "omega --batch --json program.omega")
    if args.session is not None:
        check_session_name(args.session)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the command starts, back on before any user work.

    Starting a front end (its imports, the dataclasses they generate, the parser, the config) makes
    only long-lived objects; the collector would walk that growing heap some thirty times for
    nothing, about a tenth of the CPU of a one-line ``omega --batch`` (``bench/cli.py``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run(argv: Sequence[str]) -> int:
    text: str | None = None
    batch = plain_batch_args(argv)  # a plain batch run: no argparse
    if batch is not None and not batch.embedded:  # the thin path, through a running server
        outcome = run_plain_batch(batch)
        if not isinstance(outcome, HandOver):
            return outcome
        text = outcome.text  # no server answered: OmegaClient starts one
    with _collector_paused():
        if batch is not None:
            if batch.session is not None:
                check_session_name(batch.session)
            launch = _batch_launcher(batch.file, batch.as_json, batch.session, batch.config_path, batch.embedded, text)
        else:
            launch = _launcher(list(argv))
    return launch()


def _launcher(argv: list[str]) -> Callable[[], int]:
    """The front end ``argv`` asks for, imported and ready to run (usage errors are raised here)."""
    if argv[:1] == ["kernel"]:  # omega kernel install|uninstall: the Jupyter kernelspec
        from omega_tui.kernel.spec import run_kernel_command

        return functools.partial(run_kernel_command, argv[1:])
    server_argv = split_server_argv(argv)
    if server_argv is not None:
        from omega_tui.server_cli import run_server_command

        return functools.partial(run_server_command, server_argv)
    args = build_parser().parse_args(argv)
    _check_arguments(args)
    if args.batch:
        return _batch_launcher(args.file, args.json, args.session, args.config, args.embedded)
    from omega_core.config import load_config

    config = load_config(args.config)
    if args.plain or not _interactive():
        from omega_tui.plain_runners import run_plain_embedded, run_plain_via_server

        if args.embedded:
            return functools.partial(run_plain_embedded, config, args.session)
        return functools.partial(run_plain_via_server, config, args.session, args.config)
    if args.embedded:
        raise UsageError("the full-screen app always runs through the server: --embedded goes with --batch or --plain",
                         "omega --plain --embedded")
    from omega_tui.cooked_input import CookedInput

    cooked = CookedInput().take()  # at once: keys typed from here on reach the app untranslated
    try:
        from omega_tui.app import run_app  # the full-screen app (Textual); it starts the server if none runs
    except BaseException:
        cooked.restore()
        raise
    return functools.partial(run_app, config, session=args.session, config_path=args.config, cooked=cooked)


def _batch_launcher(file: str, as_json: bool, session: str | None, config_path: str | None, embedded: bool,
                   text: str | None = None) -> Callable[[], int]:
    """``omega --batch FILE`` (arguments checked already): the config, then the program (``text`` if
    the thin path has read it already), then the run, in this process or through the server."""
    from omega_core.config import load_config

    config = load_config(config_path)
    text = _read_source(file) if text is None else text
    if embedded:
        from omega_tui.batch import run_batch_embedded

        return functools.partial(run_batch_embedded, text, config, session, sys.stdout, as_json=as_json)
    from omega_tui.remote_batch import run_batch_via_server

    return functools.partial(run_batch_via_server, text, config, session, sys.stdout, as_json, config_path=config_path)


def _interactive() -> bool:
    """A full-screen app needs a terminal on both ends; otherwise the line-mode REPL serves."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return run(argv)
    except UsageError as problem:
        print("\n".join(problem.lines()), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as problem:  # noqa: BLE001 - the last line of defence for the user
        from omega_core.errors import OmegaError

        if isinstance(problem, OmegaError):
            print(f"omega: {problem.message}", file=sys.stderr)
            return EXIT_USAGE if str(getattr(problem, "code", "")) in USAGE_CODES else EXIT_FORM_FAILED
        if debug:
            import traceback

            traceback.print_exc()
        else:
            print(
                f"omega: internal error: {type(problem).__name__}: {problem} (run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
