"""Sessions, Timeline and Metrics panes and every key binding, against a real server."""

from __future__ import annotations

import pytest

from omega_tui.app import OmegaApp
from omega_tui.components.confirm import ChoiceScreen, ConfirmScreen, FormScreen
from omega_tui.components.metrics_pane import MetricsPane
from omega_tui.components.repl_pane import ReplInput, ReplPane
from omega_tui.components.sessions_pane import SessionsTable
from omega_tui.components.timeline_pane import TimelineView

from .conftest import LiveServer, in_thread, screen_text, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def entries(app: OmegaApp) -> list[tuple[str, str]]:
    return list(app.query_one(ReplPane).entries)


def names(app: OmegaApp) -> list[str]:
    return [str(row["name"]) for row in app.query_one(SessionsTable).rows_data]


async def started(app: OmegaApp, pilot, session: str = "current") -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.ready.is_set() and app.session_name == session, 20, "the session to open")


async def run(app: OmegaApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    count = len(entries(app))
    repl_input = app.query_one(ReplInput)
    repl_input.focus()
    repl_input.load_text(text)
    repl_input.move_cursor(repl_input.document.end)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.busy_since is None and len(entries(app)) > count + 1, 10, f"the reply to {text!r}")


async def fill_form(app: OmegaApp, pilot, *values: str) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), 5, "the form")
    from textual.widgets import Input

    for index, value in enumerate(values):
        field = list(app.screen.query(Input))[index]
        field.value = value
    await pilot.press("enter" if len(values) == 1 else "tab")
    if len(values) > 1:
        list(app.screen.query(Input))[-1].focus()
        await pilot.press("enter")


async def test_sessions_pane_new_open_fork_rename_delete(live: LiveServer) -> None:
    seed = live.client("seed")
    await in_thread(seed.execute, "(define a 1)", "alpha")
    seed.close()
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await wait_for(pilot, lambda: "alpha" in names(app), 5, "alpha in the list")
        table = app.query_one(SessionsTable)

        def current_row() -> dict:
            return next((r for r in table.rows_data if r["name"] == "current"), {})

        await wait_for(pilot, lambda: current_row().get("clients") == 1, 5, "our client in the list")
        assert current_row()["lock"] == "omega tui"
        await pilot.press("tab")
        assert app.focused is table
        # enter opens the highlighted session and shows its transcript
        table.move_cursor(row=names(app).index("alpha"))
        await pilot.press("enter")
        await started(app, pilot, "alpha")
        assert ("input", "Ω> (define a 1)") in entries(app)
        # n: a new session
        table.focus()
        await pilot.press("n")
        await fill_form(app, pilot, "beta")
        await started(app, pilot, "beta")
        await wait_for(pilot, lambda: "beta" in names(app), 5, "beta in the list")
        # f: fork the highlighted session (alpha) into alpha-2, which then opens
        table.focus()
        table.move_cursor(row=names(app).index("alpha"))
        await pilot.press("f")
        await fill_form(app, pilot, "alpha-2")
        await started(app, pilot, "alpha-2")
        await run(app, pilot, "a")
        assert ("result", "=> 1") in entries(app)
        # r: rename beta to gamma
        table.focus()
        await wait_for(pilot, lambda: "alpha-2" in names(app), 5, "alpha-2 in the list")
        table.move_cursor(row=names(app).index("beta"))
        await pilot.press("r")
        await fill_form(app, pilot, "gamma")
        await wait_for(pilot, lambda: "gamma" in names(app) and "beta" not in names(app), 5, "the rename")
        # d: delete asks first; n keeps it, y deletes it
        table.move_cursor(row=names(app).index("gamma"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert "gamma" in names(app)
        table.move_cursor(row=names(app).index("gamma"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: "gamma" not in names(app), 5, "the deletion")
        rows = await in_thread(live.client("check").list_sessions)
        assert "gamma" not in [r["name"] for r in rows]


async def test_timeline_keys_goto_annotate_filter_snapshot_restore(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        for n in range(6):
            await run(app, pilot, f"(define v{n} {n})")
        view = app.query_one(TimelineView)
        await wait_for(pilot, lambda: view.total >= 6, 5, "six inputs")
        await pilot.press("tab", "tab")
        assert app.focused is view
        last = view.total - 1
        assert view.cursor == last
        await pilot.press("up")
        assert view.cursor == last - 1
        await pilot.press("k")
        assert view.cursor == last - 2
        await pilot.press("j", "down")
        assert view.cursor == last
        await pilot.press("g")
        assert view.cursor == 0
        await pilot.press("G")
        assert view.cursor == last
        # enter jumps to the highlighted input (the REPL shows the report, the timeline the position)
        await pilot.press("g")
        target = view.current_item["goto"]  # type: ignore[index]
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(t.startswith(f"Jumped to seq {target}") for _, t in entries(app)), 10, "the jump")
        await wait_for(pilot, lambda: view.position == target, 5, "the new position")
        last_seq_after_jump = await in_thread(app.link.last_seq, "current")  # type: ignore[union-attr]
        # ] and [ only browse: the cursor moves between inputs, nothing is recorded (no goto)
        total, start = view.total, view.cursor
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: view.cursor > start, 5, "] to move the cursor")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: view.cursor == start, 5, "[ to move it back")
        await pilot.pause(0.2)
        assert view.position == target and view.total == total and app.link is not None
        assert await in_thread(app.link.last_seq, "current") == last_seq_after_jump
        # a: annotate the highlighted checkpoint with a label and tags
        view.focus()
        await pilot.press("g")
        await pilot.press("a")
        await fill_form(app, pilot, "start", "the first one", "intro")
        await wait_for(pilot, lambda: any(m.get("kind") == "annotation" for r in view.pages.get(0, []) for m in r["marks"]),
                       5, "the annotation")
        # s: a snapshot of the current state, tagged
        view.focus()
        await pilot.press("s")
        await fill_form(app, pilot, "after the jumps", "keep")
        await wait_for(pilot, lambda: any(m.get("kind") == "snapshot" for p in view.pages.values() for r in p for m in r["marks"]),
                       5, "the snapshot")
        # t: filter by tag, then clear the filter
        view.focus()
        await pilot.press("t")
        await fill_form(app, pilot, "intro")
        await wait_for(pilot, lambda: view.tag == "intro" and view.total == 1, 5, "the tag filter")
        view.focus()
        await pilot.press("t")
        await fill_form(app, pilot, "")
        await wait_for(pilot, lambda: view.tag is None and view.total >= 6, 5, "the filter cleared")
        # r: restore a snapshot (into a new session)
        view.focus()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), 5, "the snapshot list")
        from textual.widgets import Input

        app.screen.query_one(Input).value = "restored"
        app.screen.query_one("OptionList").focus()
        await pilot.press("enter")
        await started(app, pilot, "restored")
        # The snapshot was taken at the first checkpoint (where [ jumped back to): v0 only.
        await run(app, pilot, "v0")
        assert ("result", "=> 0") in entries(app)
        await run(app, pilot, "v5")
        assert ("error", "error: unbound variable: v5 (line 1, column 1)") in entries(app)


async def test_metrics_pane_shows_session_and_server_figures(live: LiveServer) -> None:
    app = OmegaApp(live.config, client_factory=live.factory())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await run(app, pilot, "(+ 1 2)")
        await run(app, pilot, "(car 1)")
        pane = app.query_one(MetricsPane)
        await pilot.press("f4")
        assert app.focused is pane
        await pilot.press("r")
        view = pane.query_one("#metrics-view")
        await wait_for(pilot, lambda: len(((view.facts[1] or {}).get("latency_ms") or {}).get("window") or []) >= 2,
                       5, "latencies in the sparkline")
        assert app.link is not None and app.link.has("metrics")
        text = screen_text(app)
        for word in ("session 'current'", "commands", "1 error", "latency ms", "steps/command", "oracle ms", "memory",
                     "disk", "server", "client", "pool", "flushed"):
            assert word in text, word
