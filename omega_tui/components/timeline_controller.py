"""The timeline controller: pages the open session's history from the server into the Timeline
pane, performs a goto when asked (Enter or a double click: the only key that records anything),
and runs the pane's annotate / snapshot / restore / tag-filter commands through dialogs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_tui.components.repl_pane import ReplPane
from omega_tui.components.timeline_rows import Done, rows_from_items

if TYPE_CHECKING:  # pragma: no cover - the pane and the dialogs load after the first frame (``side_panes``)
    from omega_tui.components.timeline_pane import TimelineView
    from omega_tui.app import OmegaApp

RELOAD_DELAY_S = 0.15


class LinkSource:
    """The history of one session from the server (the ``history`` op), in workers. A server
    without it, and the tag filter, get the ``timeline`` op's items as rows instead."""

    def __init__(self, app: "OmegaApp", session: str) -> None:
        self.app = app
        self.session = session

    def _history(self, **args: Any) -> Any:
        link = self.app.link
        if link is None:
            raise RuntimeError("not connected")
        return link.optional("history", self.session, **args)

    def page(self, offset: int, limit: int, tag: str | None, done: Done) -> None:
        link = self.app.link
        if link is None:
            done(None, RuntimeError("not connected"))
            return

        def fetch() -> dict[str, Any]:
            from omega_tui.link import OpUnavailable  # not at import: the link loads the client (start-up)

            if not tag:
                try:
                    return dict(self._history(offset=offset, limit=limit))
                except OpUnavailable:
                    pass
            return rows_from_items(link.timeline(self.session, offset, limit, tag), offset)

        self.app.background(fetch, done=lambda page: done(page, None), failed=lambda problem: done(None, problem),
                            group=f"timeline-{offset}", quiet=True)

    def search(self, text: str, start: int, direction: int, done: Done) -> None:
        self.app.background(lambda: self._history(search=text, direction=direction, **{"from": start}),
                            done=lambda found: done(found, None), failed=lambda problem: done(None, problem),
                            group="timeline-search", exclusive=True, quiet=True)

    def detail(self, row: dict[str, Any], done: Done) -> None:
        self.app.background(lambda: self._history(row=int(row.get("index", 0))),
                            done=lambda shown: done(shown, None), failed=lambda problem: done(None, problem),
                            group="timeline-detail", exclusive=True, quiet=True)


class TimelineController:
    """Feeds the Timeline pane and answers its messages (see the module docstring)."""

    def __init__(self, app: "OmegaApp") -> None:
        self.app = app
        self._reload_pending = False

    @property
    def view(self) -> TimelineView:
        from omega_tui.components.timeline_pane import TimelineView

        return self.app.main.query_one(TimelineView)

    def session_opened(self, name: str) -> None:
        self.view.set_source(LinkSource(self.app, name))

    def session_renamed(self, name: str) -> None:
        view = self.view
        view.set_source(LinkSource(self.app, name), view.tag)

    def schedule_reload(self) -> None:
        if self._reload_pending:
            return
        self._reload_pending = True

        def reload() -> None:
            self._reload_pending = False
            self.view.reload()

        self.app.set_timer(RELOAD_DELAY_S, self.app.guarded(reload))

    def goto(self, message: TimelineView.Goto) -> None:
        app = self.app
        link, session = app.link, app.session_name
        seq = message.item.get("goto", message.item.get("seq"))
        if link is None or session is None or not isinstance(seq, int):
            return
        view = self.view
        timer = app.set_timer(0.15, lambda: setattr(view, "loading", True))
        app.show_status(f"replaying to seq {seq}…")

        def finish() -> None:
            timer.stop()
            view.loading = False
            app.show_status()

        def done(result: Any) -> None:
            finish()
            report = result.get("report") if isinstance(result, dict) else str(result)
            app.main.query_one(ReplPane).show_command_output(str(report or f"Jumped to seq {seq}"))
            view.reload()
            app.metrics.refresh()

        app.background(link.goto, session, seq, done=done, failed=lambda _: finish(), group="goto",
                       exclusive=True, description=f"go to seq {seq}")

    def request(self, message: TimelineView.Request) -> None:
        from omega_tui.components.confirm import FormScreen, Field
        from omega_tui.components.timeline_pane import TimelineView

        app = self.app
        link, session = app.link, app.session_name
        view = self.view
        item = message.item
        if message.action == "filter_tag":
            def set_tag(values: dict[str, str] | None) -> None:
                if values is None:
                    return
                tag = values.get("tag", "").strip().lstrip("#") or None
                if tag and link is not None and not link.has("timeline"):
                    app.connection.tell_missing("timeline")
                view.set_source(view.source, tag)
                view.post_message(TimelineView.Changed())
            app.show_dialog(FormScreen("Filter by tag", [Field("tag", "Tag (empty shows everything)", value=view.tag or "")],
                                       ok="Filter"), set_tag)
            return
        if link is None or session is None:
            return
        if message.action == "annotate":
            self._annotate(session, item)
        elif message.action == "snapshot":
            self._snapshot(session)
        elif message.action == "restore":
            if not link.has("restore") or not link.has("timeline"):  # no annotated timeline: none of its ops
                app.connection.tell_missing("restore")
                return
            app.background(link.snapshots, session, done=lambda snaps: self._choose_snapshot(session, snaps, item),
                           description="list snapshots")

    def _annotate(self, session: str, item: dict[str, Any] | None) -> None:
        from omega_tui.components.confirm import FormScreen, Field

        app, link, view = self.app, self.app.link, self.view
        assert link is not None
        if item is None:
            app.notify("No input highlighted", severity="warning")
            return
        if "goto" in item and not item.get("item"):  # a row: its closing checkpoint, its annotation
            annotation = next((m for m in item.get("marks") or [] if m.get("kind") == "annotation"), {})
            item = {**annotation, "seq": annotation.get("seq", item["goto"])}
        elif item.get("item"):  # a row made of a timeline item (tag filter, older server)
            item = item["item"]
        if not link.has("annotate") or not link.has("timeline"):  # no annotated timeline: none of its ops
            app.connection.tell_missing("annotate")
            return
        seq = item.get("seq")

        def annotate(values: dict[str, str] | None) -> None:
            if values is None:
                return
            tags = [t.lstrip("#") for t in values.get("tags", "").replace(",", " ").split() if t.strip("#")]
            label, note = values.get("label", "").strip(), values.get("note", "").strip()
            if not (label or note or tags):
                app.background(link.unannotate, session, seq, done=lambda _: view.reload(), description="remove annotation")
                return
            app.background(link.annotate, session, seq, label, note, tags,
                           done=lambda _: (app.notify(f"Annotated seq {seq}"), view.reload()), description="annotate")
        app.show_dialog(FormScreen(f"Annotate seq {seq}", [
            Field("label", "Label", value=str(item.get("label") or "")),
            Field("note", "Note", value=str(item.get("note") or "")),
            Field("tags", "Tags (space separated)", value=" ".join(item.get("tags") or [])),
        ], ok="Save", note="Leave everything empty to remove the annotation."), annotate)

    def _snapshot(self, session: str) -> None:
        from omega_tui.components.confirm import FormScreen, Field

        app, link, view = self.app, self.app.link, self.view
        assert link is not None
        if not link.has("snapshot") or not link.has("timeline"):  # no annotated timeline: none of its ops
            app.connection.tell_missing("snapshot")
            return

        def snapshot(values: dict[str, str] | None) -> None:
            if values is None:
                return
            tags = [t.lstrip("#") for t in values.get("tags", "").replace(",", " ").split() if t.strip("#")]

            def taken(result: Any) -> None:
                ident = result.get("id") if isinstance(result, dict) else result
                app.notify(f"Snapshot {ident} taken")
                view.reload()
            app.background(link.snapshot, session, values.get("description", "").strip(), tags, done=taken,
                           description="snapshot")
        app.show_dialog(FormScreen("Snapshot the current state", [
            Field("description", "Description"), Field("tags", "Tags (space separated)"),
        ], ok="Take snapshot"), snapshot)

    def _choose_snapshot(self, session: str, snapshots: list[dict[str, Any]], item: dict[str, Any] | None) -> None:
        from omega_tui.components.confirm import ChoiceScreen, Field

        app = self.app
        link = app.link
        if link is None:
            return
        choices = [(str(s.get("id")), f"{s.get('id')}  seq {s.get('seq', '?')}  {s.get('description') or ''}"
                    + ("  " + " ".join(f"#{t}" for t in s.get("tags") or []) if s.get("tags") else ""))
                   for s in snapshots]
        marked = [m.get("snapshot_id") for m in (item or {}).get("marks") or [] if m.get("kind") == "snapshot"]
        highlighted = (item or {}).get("snapshot_id") or (marked[0] if marked else None)
        if highlighted:  # the highlighted snapshot comes first
            choices.sort(key=lambda choice: choice[0] != str(highlighted))

        def restore(choice: tuple[Any, dict[str, str]] | None) -> None:
            if choice is None:
                return
            ident, fields = choice
            as_name = (fields.get("as") or "").strip() or None

            def restored(result: Any) -> None:
                report = result.get("report") if isinstance(result, dict) else result
                app.main.query_one(ReplPane).show_command_output(str(report or f"Restored {ident}"))
                if as_name:
                    app.sessions.open_session(as_name)
                else:
                    self.view.reload()
                    app.metrics.refresh()
            app.background(link.restore, session, ident, as_name, done=restored, description=f"restore {ident}")

        app.show_dialog(ChoiceScreen("Restore a snapshot", choices,
                                     [Field("as", "Into a new session (empty: restore here)", placeholder="session name")],
                                     empty="No snapshots in this session yet (s takes one)."), restore)
