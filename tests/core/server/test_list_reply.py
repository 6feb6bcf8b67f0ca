"""The list_sessions reply: columnar JSON, re-encoded row by row, always current."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.config import Config
from omega_core.server.list_reply import LIST_COLUMNS, ListReplyEncoder, rows_from_reply
from omega_core.server.manager import SessionManager
from omega_core.session.recorded import RecordedSession


def row(name: str, events: int = 3, loaded: bool = False) -> tuple[str, int, int, int, float, bool]:
    return (name, events, 1, 100 + events, 1763700000.5, loaded)


def as_dicts(rows: list[tuple[str, int, int, int, float, bool]]) -> list[dict[str, object]]:
    return [dict(zip(LIST_COLUMNS, r)) for r in rows]


def test_the_reply_is_json_columns_that_turn_back_into_rows() -> None:
    rows = [row("a"), row("b\u00e9", 7, loaded=True), row('q"uote')]
    reply = json.loads(ListReplyEncoder().encode(1, lambda: rows, []))
    assert reply["columns"] == list(LIST_COLUMNS)
    assert reply["values"][0] == ["a", "b\u00e9", 'q"uote']
    assert rows_from_reply(reply) == as_dicts(rows)


def test_no_sessions_gives_empty_columns() -> None:
    reply = json.loads(ListReplyEncoder().encode(1, lambda: [], []))
    assert reply["values"] == [[] for _ in LIST_COLUMNS]
    assert rows_from_reply(reply) == []


def test_live_rows_are_patched_in_without_asking_for_all_rows() -> None:
    encoder = ListReplyEncoder()
    encoder.encode("layout", lambda: [row("a"), row("b", loaded=True), row("c")], [row("b", loaded=True)])

    def no_full_listing() -> list[tuple[str, int, int, int, float, bool]]:
        raise AssertionError("the layout did not change: no full listing needed")

    first = encoder.encode("layout", no_full_listing, [row("b", loaded=True)])
    assert encoder.encode("layout", no_full_listing, [row("b", loaded=True)]) is first  # nothing changed
    patched = encoder.encode("layout", no_full_listing, [row("b", 9, loaded=True)])
    assert rows_from_reply(json.loads(patched)) == as_dicts([row("a"), row("b", 9, loaded=True), row("c")])


def test_a_new_layout_lists_exactly_the_new_rows() -> None:
    encoder = ListReplyEncoder()
    encoder.encode(1, lambda: [row("a"), row("b"), row("c")], [])
    reply = encoder.encode(2, lambda: [row("a"), row("c", 9), row("d")], [])
    assert rows_from_reply(json.loads(reply)) == as_dicts([row("a"), row("c", 9), row("d")])
    back = encoder.encode(3, lambda: [], [])
    assert rows_from_reply(json.loads(back)) == []


def test_columns_in_another_order_are_read_by_name() -> None:
    reply = {"columns": ["loaded", "name"], "values": [[True, False], ["a", "b"]]}
    assert rows_from_reply(reply) == [{"loaded": True, "name": "a"}, {"loaded": False, "name": "b"}]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=30), st.data())
def test_any_live_rows_and_any_changes_give_the_right_listing(count: int, data: st.DataObject) -> None:
    """Live rows at the ends, side by side or alone, changed in any order: always the full listing."""
    names = [f"s{k:02d}" for k in range(count)]
    live = set(data.draw(st.lists(st.sampled_from(names), unique=True)) if names else [])
    rows = {name: row(name, loaded=name in live) for name in names}
    encoder = ListReplyEncoder()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        for name in data.draw(st.lists(st.sampled_from(sorted(live)), unique=True)) if live else []:
            rows[name] = (name, data.draw(st.integers(0, 10**6)), 1, 2, data.draw(st.floats(0, 2e9)), True)
        listing = [rows[name] for name in names]
        reply = encoder.encode("one layout", lambda: listing, [rows[name] for name in sorted(live, reverse=True)])
        assert rows_from_reply(json.loads(reply)) == as_dicts(listing)


def test_older_row_wise_replies_are_still_understood() -> None:
    assert rows_from_reply({"columns": ["name", "events"], "rows": [["a", 1]]}) == [{"name": "a", "events": 1}]
    assert rows_from_reply({"sessions": [{"name": "a"}]}) == [{"name": "a"}]
    assert rows_from_reply(None) == []


def make_manager(tmp_path: Path) -> SessionManager:
    return SessionManager(dataclasses.replace(Config(), session_dir=str(tmp_path / "sd")))


def listed(manager: SessionManager) -> dict[str, dict[str, object]]:
    return {entry["name"]: entry for entry in rows_from_reply(json.loads(manager.list_json()))}


def test_the_manager_listing_follows_every_kind_of_change(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    on_disk = RecordedSession.open(manager.sessions_dir, "disk", manager.config)
    on_disk.execute("(define x 1)")
    on_disk.close()
    loaded = manager.get("live")
    first = listed(manager)
    assert set(first) == {"disk", "live"}
    assert first["disk"]["loaded"] is False and first["live"]["loaded"] is True
    assert first["disk"]["events"] == on_disk.next_seq

    loaded.session.execute("(define y 2)")  # a command: counts change
    assert listed(manager)["live"]["events"] == loaded.session.next_seq

    loaded.last_access += 5.0  # a read touched it: last access changes (to the millisecond)
    assert listed(manager)["live"]["last_access"] == round(loaded.last_access, 3)

    assert manager.unload("live")  # unloaded: still listed, from the catalog
    after_unload = listed(manager)["live"]
    assert after_unload["loaded"] is False and after_unload["events"] == loaded.session.next_seq

    manager.delete("disk", confirm="disk")
    assert set(listed(manager)) == {"live"}
    assert manager.list() == rows_from_reply(json.loads(manager.list_json()))
    manager.close_all()


def test_an_unchanged_listing_is_the_same_bytes(tmp_path: Path) -> None:
    manager = make_manager(tmp_path)
    manager.get("a")
    manager.list_json()  # the first listing may write sidecars (the directory changes once)
    assert manager.list_json() is manager.list_json()
    manager.close_all()

