"""The Sessions pane with many sessions (canned client, 10,000 rows): ``/`` filters as you type, ``s``
cycles the order and the header marks it, the highlight follows a session just opened, the header
is whole at 80 and 120 columns, and the rows are virtual."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import T0, CannedClient
from omega_tui.components.sessions_pane import SessionsFilter, SessionsPane, SessionsTable
from omega_tui.components.sessions_rows import SortKey, filter_rows, fit_columns, sort_rows

from .conftest import screen_text, wait_for

pytestmark = [pytest.mark.anyio]

COUNT = 10_000


def bulk_rows(count: int = COUNT) -> list[dict[str, Any]]:
    rows = [{"name": "current", "events": 28, "checkpoints": 9, "size": 5_312, "last_access": T0 + 100, "loaded": True}]
    for number in range(1, count):
        rows.append({"name": f"bulk{number:05d}", "events": number % 97, "checkpoints": number % 7,
                     "size": (number * 7919) % 5_000_000, "last_access": T0 - number * 60, "loaded": False})
    return sorted(rows, key=lambda row: row["name"])


class BulkClient(CannedClient):
    def list_sessions(self) -> list[dict[str, Any]]:
        return bulk_rows()


async def opened(pilot: Any) -> SessionsTable:
    app = pilot.app
    await wait_for(pilot, lambda: app.ready.is_set(), 10, "the canned session")
    table = app.query_one(SessionsTable)
    await wait_for(pilot, lambda: len(table.rows_data) == COUNT, 10, "the 10,000 rows")
    app.focus_pane("sessions")
    await pilot.pause()
    return table


def make_app() -> OmegaApp:
    return OmegaApp(Config(), client_factory=BulkClient, deterministic=True)  # type: ignore[arg-type]


async def test_slash_filters_as_you_type_and_escape_clears() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await opened(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, SessionsFilter)
        await pilot.press(*"bulk0999")
        await wait_for(pilot, lambda: table.row_count == 10, 5, "the filtered rows")  # bulk09990..bulk09999
        assert all(name.startswith("bulk0999") for name in (str(r["name"]) for r in table.shown))
        assert "10 of 10,000" in str(app.query_one(SessionsPane).border_subtitle)
        await pilot.press("enter")  # back to the table, the filter stays
        assert app.focused is table and table.row_count == 10
        assert table.highlighted_name is not None and table.highlighted_name.startswith("bulk0999")
        await pilot.press("d")  # the command is about the highlighted, filtered row
        await wait_for(pilot, lambda: app.screen is not app.main, 5, "the delete dialog")
        assert table.highlighted_name in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, 5, "the dialog to close")
        await pilot.press("slash")
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: table.row_count == COUNT, 5, "every row back")
        assert app.focused is table


async def test_s_cycles_the_order_and_the_header_shows_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await opened(pilot)
        assert table.sort_key is SortKey.NAME and "Name▲" in screen_text(app)
        await pilot.press("s")
        assert table.sort_key is SortKey.LAST_ACCESS
        await pilot.pause()
        assert "Last access▼" in screen_text(app) and "by last access" in screen_text(app)
        stamps = [row["last_access"] for row in table.shown[:50]]
        assert stamps == sorted(stamps, reverse=True) and table.shown[0]["name"] == "current"
        await pilot.press("s")
        assert table.sort_key is SortKey.SIZE
        await pilot.pause()
        assert "Size▼" in screen_text(app)
        sizes = [row["size"] for row in table.shown]
        assert sizes == sorted(sizes, reverse=True)
        await pilot.press("s")
        assert table.sort_key is SortKey.NAME


async def test_the_highlight_follows_the_session_just_opened_even_when_listed_later() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await opened(pilot)
        assert table.highlighted_name == "current"  # the open session, listed last by name
        await pilot.press("home", "down")
        assert table.highlighted_name == "bulk00002"
        # A session opened before any listing has it (as a session just created): the highlight
        # follows it once a listing shows it, not the row that happened to be highlighted.
        table.set_rows(bulk_rows(), "zz")
        assert table.highlighted_name == "bulk00002"
        table.set_rows(bulk_rows() + [{"name": "zz", "size": 1, "last_access": T0}], "zz")
        assert table.highlighted_name == "zz"
        await pilot.press("up")  # the user moves: the next listing keeps their row
        table.set_rows(bulk_rows() + [{"name": "zz", "size": 1, "last_access": T0}], "zz")
        assert table.highlighted_name == "current"


async def test_a_filter_that_hides_the_session_just_opened_is_cleared() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = await opened(pilot)
        await pilot.press("slash", *"bulk0042")
        await wait_for(pilot, lambda: table.row_count == 10, 5, "the filtered rows")
        table.set_rows(bulk_rows(), "bulk00007")
        assert table.highlighted_name == "bulk00007" and table.filter_text == ""
        await pilot.pause()
        assert app.query_one(SessionsFilter).value == ""


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_header_is_whole_and_only_visible_rows_are_drawn(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        table = await opened(pilot)
        text = screen_text(app)
        assert "Last access" in text and "Size" in text and "Name" in text
        drawn: list[int] = []
        real = SessionsTable._row_strip

        def counting(self: SessionsTable, row: dict[str, Any], index: int, *args: Any) -> Any:
            drawn.append(index)
            return real(self, row, index, *args)

        monkeypatch.setattr(SessionsTable, "_row_strip", counting)
        await pilot.press("end")
        await pilot.pause()
        assert table.highlighted_name == "current" or table.cursor_row == COUNT - 1
        assert drawn and len(set(drawn)) <= size[1]  # the visible rows, not 10,000
        assert max(drawn) == COUNT - 1


def test_filter_sort_and_columns_without_a_screen() -> None:
    rows = bulk_rows(50)
    assert [r["name"] for r in filter_rows(rows, "BULK0004 9")] == ["bulk00049"]
    assert filter_rows(rows, "  ") is rows
    by_size = sort_rows(rows, SortKey.SIZE)
    assert [r["size"] for r in by_size] == sorted((r["size"] for r in rows), reverse=True)
    for width in (29, 45, 60):
        columns = fit_columns(width, rows, SortKey.LAST_ACCESS)
        assert sum(c.width for c in columns) + len(columns) - 1 <= width
        labels = [c.label for c in columns]
        assert "Last access▼" in labels and "Size" in labels
