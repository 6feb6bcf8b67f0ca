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


def test_a_loaded_damaged_session_is_not_copied_by_a_rename(tmp_path: Path) -> None:
    """A damaged session loaded read-only is not a source to copy: the rename opens its files,
    which says what is damaged, and changes nothing."""
    from omega_core.errors import OmegaError
    from tests.core.session.test_damaged_open import damage, make_session

    manager = make_manager(tmp_path)
    sessions = manager.sessions_dir
    try:
        good = make_session(sessions)
        damage(sessions / "bad.jsonl", good)
        assert manager.get("bad", create=False).session.damaged is not None
        with pytest.raises(OmegaError, match="damaged"):
            manager.rename("bad", "renamed")
        assert not (sessions / "renamed.jsonl").exists() and (sessions / "bad.jsonl").exists()
        assert manager.get("bad", create=False).session.damaged is not None  # still listed as it was
    finally:
        manager.close_all()
