"""The thin path of ``omega --batch FILE`` through a running server (issue 13, item 5).

Why: a one-line batch run against a warm server should cost little more than starting Python.
The general path (argparse, the config schema, ``OmegaClient``) costs several times that in
imports alone, for a command that only reads a file and exchanges a few frames. So ``cli``
first asks ``plain_batch_args`` whether the command line is a plain batch run (``--batch``, a
file, and only ``--json``, ``--session``, ``--config``, ``--server``, ``--embedded``, ``--debug``,
exactly as written); anything else (help, abbreviations, a usage error ...) goes to argparse, so
usage messages and exit codes stay argparse's. An ``--embedded`` run skips argparse too, but needs
the evaluator and the full config anyway: ``cli`` runs it as usual.

A plain batch run then does what the general path does, in the same order and with the same
messages: check the session name, read the config (``client_settings``: cached after the first
full load), read the file, and run its entries with ``remote_batch.run_entries`` on a
``ThinClient``. When no server answers, nothing has been sent yet: the run is handed back
(``HandOver``, with the text already read, as standard input cannot be read twice) to the general
path, whose ``OmegaClient`` starts a server or explains why it cannot.

``tests/tui/test_thin_client.py`` checks what this path imports; ``bench/cli.py`` times it.
"""

from __future__ import annotations

import sys

from omega_tui.usage import UsageError, check_session_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from omega_core.server.client_settings import ClientSettings
    from omega_core.server.thin_client import ThinClient

SWITCHES = frozenset({"--batch", "--json", "--server", "--embedded", "--debug"})
VALUED = frozenset({"--session", "--config"})


class PlainBatch:
    """A command line that is a plain batch run (see ``plain_batch_args``)."""

    __slots__ = ("file", "as_json", "session", "config_path", "embedded")

    def __init__(self, file: str, as_json: bool, session: str | None, config_path: str | None,
                 embedded: bool = False) -> None:
        self.file = file
        self.as_json = as_json
        self.session = session
        self.config_path = config_path
        self.embedded = embedded
        """``--embedded``: run in this process (``cli`` does, without argparse; not the thin path)."""


class HandOver:
    """The thin path could not run the batch (no server answered): the general path runs it with
    ``text``, the program already read."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def plain_batch_args(argv: Sequence[str]) -> PlainBatch | None:
    """``argv`` as a plain batch run (through the server, or ``--embedded``), or None when it is
    anything else (or anything argparse might read otherwise: then the general path decides)."""
    values: dict[str, str] = {}
    switches: set[str] = set()
    files: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        name, equals, value = word.partition("=")
        if word in SWITCHES:
            switches.add(word)
        elif name in VALUED and equals:
            values[name] = value
        elif word in VALUED:
            if index + 1 >= len(argv) or argv[index + 1].startswith("-"):
                return None  # argparse: expected one argument
            values[word] = argv[index + 1]
            index += 1
        elif word in ("server", "kernel"):
            return None  # a subcommand, or a file argparse may read as one: the general path decides
        elif word == "-" or not word.startswith("-"):
            files.append(word)
        else:
            return None
        index += 1
    if "--batch" not in switches or len(files) != 1 or {"--embedded", "--server"} <= switches:
        return None
    return PlainBatch(files[0], "--json" in switches, values.get("--session"), values.get("--config"),
                      "--embedded" in switches)


def read_source(path: str) -> str:
    """The program in ``path`` (``-``: standard input); ``UsageError`` saying why it cannot be read."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError as problem:
        raise UsageError(f"cannot read {path}: not UTF-8 text ({problem.reason} at byte {problem.start})") from None
    except OSError as problem:
        raise UsageError(f"cannot read {path}: {problem.strerror}") from None


def run_plain_batch(batch: PlainBatch, out: TextIO | None = None, err: TextIO | None = None) -> int | HandOver:
    """Run ``batch`` on a running server; its exit status, or ``HandOver`` if no server answered."""
    from omega_core.server.client_settings import client_settings
    from omega_core.server.thin_client import ThinClient
    from omega_tui.entries import iter_entries
    from omega_tui.remote_batch import run_entries

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if batch.session is not None:
        check_session_name(batch.session)
    settings = client_settings(batch.config_path)
    text = read_source(batch.file)
    entries = iter_entries(text)
    first = next(entries, None)
    if first is None:
        return 0  # nothing to run: no server needed, no session created
    client = ThinClient(settings.paths, settings.max_frame_bytes, name="omega --batch")
    if not client.try_connect():
        return HandOver(text)
    return run_entries(client, first, entries, batch.session, out, batch.as_json, err,
                       check_config=lambda: warn_about_config_drift(client, settings, err))


def warn_about_config_drift(client: ThinClient, settings: ClientSettings, err: TextIO) -> None:
    """``remote_batch.warn_about_config_drift`` without loading the config when the server's
    settings are this front end's exactly (the usual case); otherwise the exact comparison."""
    from omega_core.server.client_records import ServerError

    try:
        status = client.status()
    except ServerError:
        return  # a server whose backend is down says so on the next request
    if settings.agrees_with(status.get("config")):
        return
    from omega_tui.remote_batch import print_config_drift

    print_config_drift(settings.full_config(), settings.config_path, status, err)
