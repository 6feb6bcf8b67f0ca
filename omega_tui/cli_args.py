"""The ``omega`` command line's argparse parser: flags, help text, and usage errors as ``UsageError``.

Apart from ``cli`` so that the thin batch path (``thin_batch``) never imports argparse (with
gettext and its formatter): it costs a one-line ``omega --batch`` more than its own work. Every
other command line, and every mistake in one, comes here.
"""

from __future__ import annotations

import argparse
import os
import sys

from omega_core import __version__
from omega_tui.usage import BATCH_EXAMPLE, OMEGA_USAGE, UsageError


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without ``shutil`` (which argparse imports, with bz2 and lzma, for
    every ``add_argument``): a cost paid by each start of the thin batch client otherwise."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            try:
                columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.stdout.fileno()).columns
            except (ValueError, OSError, AttributeError):
                columns = 80
            width = max(40, columns - 2)
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        example = BATCH_EXAMPLE
        if "--plain" in message:
            example = "omega --plain --session work"
        raise UsageError(message, example)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="omega",
        formatter_class=_Formatter,
        usage=OMEGA_USAGE,
        description="Omega Lisp: a REPL whose LLM calls are effects that leave receipts.",
        epilog="Examples: omega --batch program.omega; omega --batch --json - < program.omega; "
               "omega --plain --session work. Manage the session server with: "
               "omega server start|stop|status|restart [--json]",
    )
    parser.add_argument("--version", action="version", version=f"omega {__version__}")
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: $OMEGA_CONFIG, ./omega.toml, ~/.config/omega/config.toml)")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for internal errors")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plain", action="store_true",
                      help="line-mode REPL instead of the full-screen app (the default when stdin or stdout is not a terminal)")
    mode.add_argument("--batch", action="store_true", help="run every form of FILE ('-' reads stdin) and print each result")
    parser.add_argument("--json", action="store_true", help="with --batch: one JSON object per form")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--embedded", action="store_true", help="evaluate in this process, no server (with --batch or --plain)")
    where.add_argument("--server", action="store_true", help="run through the session server, started if none runs (the default)")
    parser.add_argument("--session", metavar="NAME", help="run inside the recorded session NAME (created with its first input)")
    parser.add_argument("file", nargs="?", metavar="FILE", help="with --batch: the program to run ('-' reads standard input)")
    return parser
