"""A rename under way holds both names back (``SessionManager.begin_rename`` .. ``end_rename``):
the copy runs off the loop (``ops.op_rename``), so no session may be opened under either name
meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.server.manager import BadRequest, SessionManager
from tests.core.server.test_pool_files import make_manager


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[SessionManager]:
    made = make_manager(tmp_path)
    try:
        yield made
    finally:
        made.close_all()


def test_both_names_of_a_rename_under_way_are_refused_until_it_ends(manager: SessionManager) -> None:
    manager.get("from").session.execute("(define r 1)")
    held = manager.begin_rename("from", "to")
    assert held is not None and "from" not in manager.pool
    for name in ("from", "to"):
        with pytest.raises(BadRequest, match=f"session '{name}' is being renamed"):
            manager.get(name)
    manager.rename_files("from", "to", held)
    manager.end_rename("from", "to", held, done=True)
    assert manager.get("to").session.execute("r")[0].value == "1"
    assert not manager.sessions_dir.joinpath("from.jsonl").exists()
