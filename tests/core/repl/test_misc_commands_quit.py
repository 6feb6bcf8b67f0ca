"""``:q``, ``:exit`` and ``:session`` alone (issue 13): short ways out, and the session commands' usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState


@pytest.fixture
def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    repl = ReplState.open(Config(session_dir=str(tmp_path)), "t")
    yield repl
    repl.close()


@pytest.mark.parametrize("line", [":quit", ":q", ":exit", "  :q  "])
def test_quit_commands_leave(state: ReplState, line: str) -> None:
    _, output, should_exit = process(state, line)
    assert (output, should_exit) == ("", True)


def test_session_alone_prints_the_session_commands(state: ReplState) -> None:
    _, output, should_exit = process(state, ":session")
    assert not should_exit
    assert output.startswith("usage: :session COMMAND")
    for usage in (":session list", ":session load NAME", ":session goto SEQ", ":session fork NAME"):
        assert usage in output


def test_unknown_session_subcommand_is_still_unknown(state: ReplState) -> None:
    _, output, _ = process(state, ":session nope")
    assert output == "error: unknown command :session nope (type :help for the list)"


def test_help_lists_the_short_forms(state: ReplState) -> None:
    _, output, _ = process(state, ":help")
    assert ":q " in output and ":exit" in output
