"""The REPL's input: Lisp highlighting, Enter runs a complete entry, history on up/down.

The input continues over several lines while a parenthesis or string is open (Enter then inserts a
newline, as ``omega --plain`` does); up/down walk the history when the cursor is on the first/last
line. A paste, bracketed or not, lands as one multi-line text: without bracketed paste an Enter
with more keys of the same terminal read behind it is the paste's newline (``read_burst``). (Split
from ``repl_pane``, which re-exports ``ReplInput``.)
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import TextArea
from textual.widgets.text_area import TextAreaTheme

from omega_tui.components.lisp_highlight import DEFAULT_STYLES, line_highlights
from omega_tui.components.prompt_paint import hold_frames
from omega_tui.keys import bindings_for
from omega_tui.read_burst import burst_mark

PASTE_GAP_S = 0.003
"""Keys closer than this to the previous one came in one burst (one terminal read): a paste. Only
for keys without a ``read_burst`` mark (the terminal driver marks the keys of one read as such)."""
PASTE_BURST_S = 0.020
"""A key already waiting that was read this soon after an Enter makes that Enter a paste's newline
(keys without a ``read_burst`` mark only)."""
PASTE_HOLD_S = 0.008
"""How long an Enter inside a burst waits for the burst to go on before its text is handed over."""


def needs_more_input(text: str) -> bool:
    """True while an entry has an open parenthesis or string (REPL commands never continue)."""
    if text.lstrip().startswith(":"):
        return False
    from omega_tui.plain import needs_more_input as plain_needs_more

    return plain_needs_more(text)


class ReplInput(TextArea):
    """The input: Lisp highlighting, Enter runs a complete entry, history on up/down."""

    BINDINGS = bindings_for("repl")

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class ScrollLog(Message):
        def __init__(self, direction: int) -> None:
            super().__init__()
            self.direction = direction

    class ClearLog(Message):
        pass

    class CancelQueued(Message):
        """Escape in an empty input: take the last queued input back (cancelled before it ran)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         highlight_cursor_line=False, **kwargs)
        self.past: list[str] = []
        self._history_index: int | None = None  # None: editing the draft
        self._draft = ""
        self.styles_map: dict[str, Style] = dict(DEFAULT_STYLES)
        self._held: tuple[str, float] | None = None  # (text, its Enter's time) while a burst may go on
        self._hold_timer: Any = None
        self._last_key_at = float("-inf")
        self._css_generation = 0  # CSS applications to the input (see notify_style_update)
        self._css_applied: tuple[Any, ...] | None = None

    # --- painting --------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Textual calls this whenever CSS is applied to the input: for its own classes and pseudo
        classes and for those of any ancestor, and for a new theme."""
        super().notify_style_update()
        self._css_generation += 1

    def render_lines(self, crop: Region) -> list[Strip]:
        """``TextArea`` applies its theme's CSS at every render (a walk of its ancestors and six
        component styles: a few milliseconds of every frame that shows the input, such as the one
        after Enter); here only when something that CSS comes from changed."""
        theme = self._theme
        key = (id(theme), self._css_generation, self.styles._cache_key, self.has_focus, self.app.theme,
               self.app.ansi_color)
        if theme and key != self._css_applied:
            theme.apply_css(self)
            self._css_applied = key
        return Widget.render_lines(self, crop)

    # --- highlighting ----------------------------------------------------------------------------

    def apply_styles(self, styles: dict[str, Style]) -> None:
        self.styles_map = styles
        self.register_theme(TextAreaTheme(name="omega", syntax_styles={k: v for k, v in styles.items() if not k.startswith("log.")}))
        self.theme = "omega"
        self._build_highlight_map()
        self.refresh()

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        for row, spans in line_highlights(self.text).items():
            self._highlights[row].extend(spans)

    # --- entering --------------------------------------------------------------------------------

    def _keys_of(self, binding_id: str, default: str) -> set[str]:
        keymap = getattr(self.app, "_keymap", {}) or {}
        return {key.strip() for key in keymap.get(binding_id, default).split(",")}

    def _submit_keys(self) -> set[str]:
        return self._keys_of("repl.submit", "enter")

    async def _on_key(self, event: Any) -> None:
        at = float(getattr(event, "time", 0.0) or 0.0)
        if self._held is not None:  # an Enter inside a burst waits to see whether the burst goes on
            text, held_at = self._held
            self._cancel_hold()
            if at - held_at <= PASTE_GAP_S:
                self.load_text(text + "\n")  # the burst goes on: a paste, and that Enter was its newline
                self.move_cursor(self.document.end)
            else:
                self._hand_over(text)
        mark = burst_mark(event)  # how the key arrived, when the driver says (``burst_driver``)
        burst = mark.before > 0 if mark is not None else at - self._last_key_at <= PASTE_GAP_S
        self._last_key_at = at
        # TextArea inserts a newline for Enter before bindings are looked at; decide here instead.
        if event.key in self._submit_keys():
            event.stop()
            event.prevent_default()
            if mark is not None and mark.after > 0:  # more keys came in the same read: a paste's newline
                self.insert("\n")
                return
            if mark is None and self.text.strip() and self._keys_pending(at):  # no mark: judged by time
                self.insert("\n")
                return
            self.action_submit(hold_at=at if burst else None)
            return
        if event.key == "tab" and mark is not None:  # a tab inside a paste is text, not "next pane"
            event.stop()
            event.prevent_default()
            self.insert("\t")
            return
        if event.key in self._keys_of("repl.newline", "ctrl+j"):
            # here, not by the binding: a binding runs once the key has bubbled up to the app,
            # after the keys typed behind it, and the newline would land after them
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "escape" and not self.text and self._app_has_queue():
            event.stop()
            event.prevent_default()
            self.post_message(self.CancelQueued())
            return
        await super()._on_key(event)

    def _keys_pending(self, enter_at: float) -> bool:
        """A key stamped within ``PASTE_BURST_S`` of this Enter already waits behind it (in this
        widget's or the app's message queue): the Enter came in the same burst as more text, so it
        is a newline inside a paste. Why peek at the queues: the gap between *handling* two keys
        (``PASTE_GAP_S``) grows on a loaded machine, while the keys' own time stamps (taken when the
        terminal input was read) keep a paste together and keep keys typed by hand apart, even when
        they waited in the queue while the app was busy."""
        for pump in (self, self.app):
            waiting = list(getattr(getattr(pump, "_message_queue", None), "_queue", None) or ())  # asyncio.Queue's deque
            peeked = getattr(pump, "_pending_message", None)  # taken off the queue by its loop's look-ahead
            for message in ([peeked] if peeked is not None else []) + waiting:
                if isinstance(message, events.Key) and float(getattr(message, "time", 0.0) or 0.0) - enter_at <= PASTE_BURST_S:
                    return True
        return False

    def _app_has_queue(self) -> bool:
        repl = getattr(self.app, "repl", None)
        return bool(getattr(repl, "queue", None))

    def action_submit(self, hold_at: float | None = None) -> None:
        """Enter: a complete input is taken now and the box cleared at once (typing goes on at once).

        ``hold_at``: this Enter came in a burst of keys (a paste without bracketed-paste mode, or
        keys sent by a program): the text is handed over ``PASTE_HOLD_S`` later unless the burst
        goes on, in which case the Enter was a newline of the paste and the text comes back. An
        Enter typed by a person (never within ``PASTE_GAP_S`` of the previous key) is not held.
        """
        text = self.text
        if not text.strip():
            return
        if needs_more_input(text) and self.cursor_location == self.document.end:
            self.insert("\n" + self._indent_for(text))
            return
        if needs_more_input(text):
            self.insert("\n")
            return
        self.load_text("")
        if hold_at is None:
            self._hand_over(text)
            return
        self._held = (text, hold_at)
        self._hold_timer = self.set_timer(PASTE_HOLD_S, self._release_hold)

    def _hand_over(self, text: str) -> None:
        """Give ``text`` to the app to run; the next frame waits a few milliseconds for its result
        (``prompt_paint``): a quick command's input and result are painted in one frame."""
        hold_frames(self)
        self.post_message(self.Submitted(text))

    def _release_hold(self) -> None:
        if self._held is not None:
            text = self._held[0]
            self._cancel_hold()
            self._hand_over(text)

    def _cancel_hold(self) -> None:
        self._held = None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None

    def _indent_for(self, text: str) -> str:
        depth = 0
        in_string = False
        escaped = False
        for char in text:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "([":
                depth += 1
            elif char in ")]":
                depth = max(0, depth - 1)
        return "" if in_string else "  " * depth

    def action_newline(self) -> None:
        self.insert("\n")

    def remember(self, text: str) -> None:
        if text.strip() and (not self.past or self.past[-1] != text):
            self.past.append(text)
        self._history_index = None
        self._draft = ""

    def action_history_previous(self) -> None:
        if self.cursor_location[0] > 0:
            self.action_cursor_up()
            return
        if not self.past:
            return
        if self._history_index is None:
            self._draft = self.text
            self._history_index = len(self.past) - 1
        elif self._history_index > 0:
            self._history_index -= 1
        else:
            return
        self._show(self.past[self._history_index], at_end=False)

    def action_history_next(self) -> None:
        if self.cursor_location[0] < self.document.line_count - 1:
            self.action_cursor_down()
            return
        if self._history_index is None:
            return
        if self._history_index < len(self.past) - 1:
            self._history_index += 1
            self._show(self.past[self._history_index], at_end=True)
        else:
            self._history_index = None
            self._show(self._draft, at_end=True)

    def _show(self, text: str, at_end: bool) -> None:
        self.load_text(text)
        if at_end:
            self.move_cursor(self.document.end)
        else:
            self.move_cursor((0, len(self.document.get_line(0))))

    def action_clear_log(self) -> None:
        self.post_message(self.ClearLog())

    def action_scroll_log(self, direction: int) -> None:
        self.post_message(self.ScrollLog(direction))
