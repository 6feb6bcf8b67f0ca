"""The Timeline pane on canned data (a fixed history with a branch, ``omega_tui.canned``): folding,
``/`` search of inputs, labels and tags, click and double click, the preview panel, the gutter."""

from __future__ import annotations

from typing import Any

import pytest

from omega_core.config import Config
from omega_tui.app import OmegaApp
from omega_tui.canned import CannedClient
from omega_tui.components.timeline_pane import TimelineView
from omega_tui.components.timeline_preview import SearchField, TimelinePreview
from omega_tui.components.timeline_rows import gutter

from .conftest import screen_text, wait_for

pytestmark = pytest.mark.anyio


class RecordingClient(CannedClient):
    """The canned client, also noting its gotos (the typed method skips ``calls``)."""

    def goto(self, session: str, seq: int) -> Any:
        self.calls.append(("goto", session, {"seq": seq}))
        return super().goto(session, seq)


def gotos(client: CannedClient) -> list[dict[str, Any]]:
    return [args for op, _, args in client.calls if op == "goto"]


async def opened(pilot: Any) -> tuple[OmegaApp, TimelineView, CannedClient]:
    app = pilot.app
    await wait_for(pilot, lambda: app.ready.is_set(), 10, "the session")
    view = app.main.query_one(TimelineView)
    await wait_for(pilot, lambda: view.total == 7 and view.row(6) is not None, 5, "the canned history")
    view.focus()
    await pilot.pause()
    return app, view, app.client


def canned_app() -> tuple[OmegaApp, list[CannedClient]]:
    made: list[CannedClient] = []

    def factory() -> CannedClient:
        made.append(RecordingClient())
        return made[-1]
    return OmegaApp(Config(), client_factory=factory, deterministic=True), made


async def test_checkpoints_fold_under_their_input_and_unfold() -> None:
    app, made = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        _, view, _ = await opened(pilot)
        view.move_to(view.row_to_line(1))  # (fib 20): two periodic checkpoints
        assert view.line_count == 7
        await pilot.press("right")
        assert view.line_count == 9 and view.expanded == {1: 2}
        await pilot.press("down")
        item = view.current_item
        assert item is not None and item["kind"] == "checkpoint" and item["reason"] == "periodic"
        assert "periodic checkpoint, seq" in screen_text(app)
        await pilot.press("down", "down")
        assert view.line_to_row(view.cursor) == (2, -1)  # the next input, below the unfolded lines
        await pilot.press("left_square_bracket")
        assert view.line_to_row(view.cursor) == (1, -1)  # [ skips the checkpoints
        await pilot.press("space")
        assert view.line_count == 7 and not view.expanded
        await pilot.press("space")
        assert view.line_count == 9
        await pilot.press("down", "left")  # left on a folded checkpoint folds its input
        assert view.line_count == 7 and view.line_to_row(view.cursor) == (1, -1)
        assert gotos(made[0]) == []


async def test_enter_on_an_unfolded_checkpoint_goes_to_that_checkpoint() -> None:
    app, made = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        _, view, _ = await opened(pilot)
        view.move_to(view.row_to_line(1))
        await pilot.press("right", "down")
        seq = view.current_item["seq"]  # type: ignore[index]
        await pilot.press("enter")
        await wait_for(pilot, lambda: gotos(made[0]), 5, "the goto")
        assert gotos(made[0]) == [{"seq": seq}]


async def test_slash_searches_inputs_labels_and_tags() -> None:
    app, made = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        _, view, _ = await opened(pilot)
        field = app.query_one(SearchField)

        async def search(text: str) -> None:
            await pilot.press("slash")
            assert app.focused is field
            field.value = text
            await pilot.press("enter")

        await pilot.press("g", "slash", *"fib 25", "enter")  # typed once; the others are set
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 5, 5, "the input (define big (fib 25))")
        assert app.focused is view
        await search("fib defined")  # an annotation's label
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 1, 5, "the annotated input")
        await search("#good")  # a snapshot's tag
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 2, 5, "the snapshot's input")
        await search("fib")
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 5, 5, "the next input with fib")
        await pilot.press("n")
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 0, 5, "n: the next match, wrapping")
        await pilot.press("N")
        await wait_for(pilot, lambda: view.line_to_row(view.cursor)[0] == 5, 5, "N: the previous match")
        await search("no such thing")
        await wait_for(pilot, lambda: any("no such thing" in str(n.message) for n in app._notifications), 5,
                       "the no-match notice")
        await pilot.press("slash", "x", "escape")
        assert app.focused is view and view.line_to_row(view.cursor)[0] == 5
        assert gotos(made[0]) == []


async def test_click_selects_and_double_click_goes() -> None:
    app, made = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        _, view, _ = await opened(pilot)
        top = view.scroll_offset.y
        await pilot.click(TimelineView, offset=(8, 0))
        assert view.cursor == top
        preview = app.query_one(TimelinePreview)
        await wait_for(pilot, lambda: preview.detail is not None, 5, "the preview")
        assert gotos(made[0]) == []
        await pilot.click(TimelineView, offset=(8, 1), times=2)
        await wait_for(pilot, lambda: gotos(made[0]), 5, "the goto of the double click")
        assert gotos(made[0]) == [{"seq": view.row(top + 1)["goto"]}]


async def test_the_preview_shows_the_names_defined_and_the_result() -> None:
    app, _ = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        _, view, _ = await opened(pilot)
        view.move_to(view.row_to_line(5))
        preview = app.query_one(TimelinePreview)
        await wait_for(pilot, lambda: preview.detail is not None and preview.detail.get("names") == ["big"], 5,
                       "the preview of (define big (fib 25))")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "defines big" in text and "=> big" in text, text


def test_the_gutter_draws_forks_passing_lanes_and_the_current_point() -> None:
    assert gutter({"lane": 0, "forks": [1], "current": True}, 2) == [("●─", True), ("╮ ", False)]
    assert gutter({"lane": 0, "through": [1], "through_current": [1]}, 2) == [("● ", False), ("│ ", True)]
    assert gutter({"lane": 1, "at_position": True, "current": True}, 2) == [("  ", False), ("◉ ", True)]
    assert gutter({"lane": 0, "outcome": "error"}, 1) == [("✗ ", False)]
    assert gutter({"lane": 0, "forks": [2], "through": [1]}, 3) == [("●─", False), ("┼─", False), ("╮ ", False)]
    # lanes past the last drawn column share it
    assert gutter({"lane": 6, "through": [5]}, 8)[-1] == ("● ", False)

