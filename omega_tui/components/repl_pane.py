"""The REPL pane: an output log above a Lisp input with history and multi-line entry.

The input continues over several lines while a parenthesis or string is open (Enter then inserts a
newline, as ``omega --plain`` does); up/down walk the history when the cursor is on the first/last
line. The log shows inputs (highlighted), results, errors, ``display`` output and command output
each in its own style, and marks what other clients did.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import LoadingIndicator, Static

from omega_tui.components.alike_rows import render_alike_rows
from omega_tui.components.lisp_highlight import DEFAULT_STYLES, highlight
from omega_tui.components.repl_input import ReplInput, needs_more_input
from omega_tui.components.repl_log import ReplLog

__all__ = ["ReplInput", "ReplLog", "ReplPane", "needs_more_input", "theme_styles"]

PROMPT = "Ω> "
PENDING_SHOWN = 4
ORACLE_TAIL_CHARS = 400
"""How much of a streaming oracle answer the live preview keeps (its box is at most 4 lines)."""
CONTINUATION = ".. "


def theme_styles(variables: dict[str, str]) -> dict[str, Style]:
    """Syntax and log styles from the app theme's variables (readable on light and dark themes)."""

    def color(name: str, fallback: str) -> str:
        try:
            return Color.parse(variables.get(name, fallback)).hex
        except Exception:  # noqa: BLE001 - "auto 60%" and the like: use the plain fallback
            return fallback

    return {
        "keyword": Style(color=color("text-accent", "magenta"), bold=True),
        "string": Style(color=color("text-success", "green")),
        "comment": Style(color=color("foreground-darken-3", "bright_black"), italic=True),
        "number": Style(color=color("text-warning", "yellow")),
        "boolean": Style(color=color("text-secondary", "cyan")),
        "punctuation.bracket": Style(dim=True),
        "operator": Style(color=color("text-secondary", "cyan")),
        "command": Style(color=color("text-primary", "blue"), bold=True),
        "function": Style(color=color("text-primary", "blue")),
        # log styles
        "log.prompt": Style(color=color("text-primary", "blue"), bold=True),
        "log.result": Style(color=color("text-success", "green")),
        "log.error": Style(color=color("text-error", "red"), bold=True),
        "log.output": Style(color=color("text-warning", "yellow"), italic=True),
        "log.command": Style(),
        "log.notice": Style(color=color("foreground-darken-3", "bright_black"), italic=True),
        "log.other": Style(color=color("text-secondary", "cyan"), italic=True),
    }


class ReplPane(Vertical):
    """Log + input + a status line (session, access, what is running)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "REPL"
        self.styles_map: dict[str, Style] = dict(DEFAULT_STYLES)
        self.entries: list[tuple[str, str]] = []
        """What the log shows, as (kind, plain text): input, result, error, output, command, notice."""
        # The parts, kept rather than looked up (a DOM query each time cost the path from Enter
        # to the painted result a fraction of a millisecond per use, several uses per Enter).
        self._log = ReplLog(id="repl-log", wrap=True, markup=False, highlight=False, auto_scroll=True, min_width=20)
        self._input = ReplInput(id="repl-input")
        self._oracle = Static("", id="repl-oracle")
        self._pending = Static("", id="repl-pending")

    def compose(self) -> ComposeResult:
        yield LoadingIndicator(id="repl-loading")
        yield self._log
        yield self._oracle
        yield self._pending
        yield self._input

    def render_lines(self, crop: Region) -> list[Strip]:
        """Its inner rows rendered once (``alike_rows``): its border is all of it that shows (the
        log, the input and the hidden parts cover its inside) and a frame rendered each of its rows."""
        return render_alike_rows(super().render_lines, self.region.size, crop)

    @property
    def log_view(self) -> ReplLog:
        return self._log

    @property
    def input(self) -> ReplInput:
        return self._input

    def apply_styles(self, styles: dict[str, Style]) -> None:
        self.styles_map = styles
        self.input.apply_styles(styles)

    def set_loading(self, loading: bool) -> None:
        """Show the progress indicator above the log (opening a session, replaying)."""
        indicator = self.query_one("#repl-loading", LoadingIndicator)
        indicator.display, indicator.auto_refresh = loading, (1 / 16 if loading else None)  # hidden: no 16 Hz timer

    def set_pending(self, queued: list[str]) -> None:
        """Show the inputs waiting to run, in order, under the running one (escape takes the last back)."""
        pending = self._pending
        pending.display = bool(queued)
        if not queued:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        shown = queued[-PENDING_SHOWN:]
        if len(queued) > len(shown):
            text.append(f"  … {len(queued) - len(shown)} more queued\n", self.styles_map["log.notice"])
        for index, code in enumerate(shown):
            first = code.strip().split("\n", 1)[0]
            more = " …" if "\n" in code.strip() else ""
            text.append("  ⋯ pending ", self.styles_map["log.notice"])
            text.append(first + more)
            if index == len(shown) - 1:
                text.append("   esc takes it back", self.styles_map["log.notice"])
            if index < len(shown) - 1:
                text.append("\n")
        pending.update(text)

    def show_oracle_stream(self, text: str) -> None:
        """The oracle answer arriving for the running command (its tail; "" hides it): a live
        preview under the log, gone when the command ends and its result is written."""
        live = self._oracle
        live.display = bool(text)
        if not text:
            return
        tail = text[-ORACLE_TAIL_CHARS:]
        shown = Text("oracle ▸ ", self.styles_map["log.notice"])
        shown.append(("…" if len(text) > len(tail) else "") + tail)
        live.update(shown)

    # --- writing the log ---------------------------------------------------------------------------

    def _write(self, text: Text, kind: str) -> None:
        self.entries.append((kind, text.plain))
        self.log_view.write(text)

    def show_input(self, code: str, who: str | None = None) -> None:
        styles = self.styles_map
        text = Text()
        if who:
            text.append(f"[{who}] ", styles["log.other"])
        for index, line in enumerate(code.split("\n")):
            if index:
                text.append("\n")
            text.append(PROMPT if index == 0 else CONTINUATION, styles["log.prompt"])
            text.append_text(highlight(line, styles))
        self._write(text, "input")

    def show_output(self, output: str) -> None:
        if output:
            self._write(Text(output.rstrip("\n"), style=self.styles_map["log.output"]), "output")

    def show_result(self, value: Any, output: str = "") -> None:
        self.show_output(output)
        self._write(Text(f"=> {value}", style=self.styles_map["log.result"]), "result")

    def show_error(self, message: str, output: str = "") -> None:
        self.show_output(output)
        self._write(Text(f"error: {message}", style=self.styles_map["log.error"]), "error")

    def show_command_output(self, text: str, ok: bool = True) -> None:
        if text:
            style = self.styles_map["log.command"] if ok else self.styles_map["log.error"]
            self._write(Text(text.rstrip("\n"), style=style), "command")

    def show_notice(self, text: str) -> None:
        self._write(Text(text, style=self.styles_map["log.notice"]), "notice")

    def show_results(self, results: list[dict[str, Any]]) -> None:
        for item in results:
            if item.get("error") is not None:
                self.show_error(str(item["error"]), str(item.get("output") or ""))
            else:
                self.show_result(item.get("value"), str(item.get("output") or ""))

    def show_event(self, event: dict[str, Any], who: str | None = None) -> None:
        """One recorded event (from the transcript or a push): input, result or error."""
        kind = event.get("type")
        if kind == "input":
            self.show_input(str(event.get("code", "")), who)
        elif kind == "result":
            self.show_result(event.get("value"), str(event.get("output") or ""))
        elif kind == "error":
            self.show_error(str(event.get("message", "")), str(event.get("output") or ""))

    def clear(self) -> None:
        self.entries.clear()
        self.log_view.clear()

    def on_repl_input_clear_log(self, message: ReplInput.ClearLog) -> None:
        message.stop()
        self.clear()

    def on_repl_input_scroll_log(self, message: ReplInput.ScrollLog) -> None:
        message.stop()
        if message.direction < 0:
            self.log_view.scroll_page_up(animate=False)
        else:
            self.log_view.scroll_page_down(animate=False)
