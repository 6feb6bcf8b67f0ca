"""The Jepsen-style run in its short CI size (``bench/jepsen.py`` runs the issue's full size): every
acknowledged command applied exactly once across kill -9s of the backend and of the supervisor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.server.jepsen import is_own_reply, run_jepsen
from tests.core.server.live_server import servers as _servers


@pytest.fixture
def servers(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    yield from _servers(tmp_path)


@pytest.mark.slow
def test_every_acknowledged_command_is_applied_exactly_once_across_kills(servers) -> None:  # type: ignore[no-untyped-def]
    server = servers()
    report = run_jepsen(server, clients=4, inputs=10, backend_kills=3, supervisor_kills=1, max_forms=5, seed=7)
    assert not report.problems, report.problems
    assert report.acknowledged + report.refused_locked == report.inputs
    assert report.acknowledged > 0 and report.backend_kills + report.supervisor_kills > 0


def test_a_reply_is_its_inputs_own_whole_or_cut_by_a_stopping_server() -> None:
    expected = ["=> 2", "=> c1n7", "=> 21"]
    assert is_own_reply("=> 2\n=> c1n7\n=> 21", expected)
    assert is_own_reply("=> 2\n=> c1n7\nerror: interrupted: the command was stopped before this form started", expected)
    assert is_own_reply("error: interrupted: the command was stopped (the session goes on)", expected)
    assert not is_own_reply("=> 2\n=> c1n8\n=> 24", expected)  # another input's reply
    assert not is_own_reply("=> 2\n=> c1n7", expected)  # a form missing without a word
    assert not is_own_reply("=> 2\nerror: car: expected a pair", expected)
