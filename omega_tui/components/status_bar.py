"""The status bar: one line at the bottom of the main screen, always visible.

It says, left to right: the connection (connecting / connected / reconnecting n / server down with
the cause and the key that restarts it / server stopped with the key that starts it), the session,
the access this app holds (read-write / read-only / following, with an offer to take write access
when the writer left), what is running with its elapsed time, how many inputs wait in the queue,
and for a while after it happened, that the backend restarted under us. The controllers change the facts; the bar only draws them,
so every change of state shows at once (no toasts needed to learn the state).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rich.text import Text
from textual.widgets import Static


BUSY_SHOWN_AFTER_S = 0.1
"""A command says "running" once it has run this long (or at once when inputs wait behind it).
Why: most commands answer within a frame; saying "running" and then not would repaint the bar
twice per Enter (a few milliseconds each, in the frame that should show the result) for a word
nobody could read."""


class LinkState(Enum):
    """Where the connection to the server stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DOWN = "down"
    """The server answers ``unavailable`` or cannot be reached (a crash loop, a timeout)."""
    STOPPED = "stopped"
    """No server runs (``omega server stop``, idle shutdown): the app does not start one by itself."""


@dataclass(frozen=True)
class StatusFacts:
    """Everything the bar shows (built by the app from its controllers)."""

    link: LinkState
    session: str
    access: str  # "read-write", "read-only" or "following"
    busy_s: float | None = None
    queued: int = 0
    doing: str | None = None
    cause: str | None = None
    restart_key: str = "f5"
    reconnects: int = 0
    write_offer: bool = False
    deterministic: bool = False
    notice: str | None = None
    """A recent event worth a glance after its toast is gone ("backend restarted"); shown for a while."""


class StatusBar(Static):
    """The bottom line of the main screen (see the module docstring)."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    """

    _shown: StatusFacts | None = None

    def show(self, facts: StatusFacts) -> None:
        """Redraw the bar if ``facts`` changed. Never a layout: the bar is one line whatever it
        says, and a layout of the whole screen per status change cost tens of milliseconds between
        Enter and its painted result."""
        if facts == self._shown:
            return
        self._shown = facts
        self.update(render_status(facts), layout=False)


def render_status(facts: StatusFacts) -> Text:
    """The bar's text for ``facts`` (kept short: it must fit 80 columns with a long cause cut)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    key = facts.restart_key.upper() if facts.restart_key.startswith("f") else facts.restart_key
    if facts.link is LinkState.CONNECTED:
        text.append(" ● connected ", "green")
    elif facts.link is LinkState.CONNECTING:
        text.append(" ○ connecting… ", "italic")
    elif facts.link is LinkState.RECONNECTING:
        text.append(f" ◌ reconnecting #{facts.reconnects + 1} ", "bold yellow")  # the attempt under way
    elif facts.link is LinkState.STOPPED:
        text.append(f" ■ server stopped — {key} starts it ", "bold reverse red")
    else:
        text.append(f" ■ server down — {key} restarts ", "bold reverse red")
    text.append(" ")
    text.append(f" {facts.session} ", "reverse bold")
    text.append(" ")
    if facts.access == "read-write":
        text.append("read-write", "green")
    else:
        text.append(" READ-ONLY ", "bold reverse red")
        if facts.access == "following":
            text.append(" following", "italic")
        if facts.write_offer:
            text.append(" writer left: ctrl+w takes write access", "bold")
    if facts.doing:
        text.append(f"  {facts.doing}", "italic")
    elif facts.busy_s is not None:
        elapsed = "" if facts.deterministic else f" {facts.busy_s:.1f} s"
        text.append(f"  running{elapsed} (ctrl+c)", "italic")
    if facts.queued:
        text.append(f"  {facts.queued} queued", "bold")
    if facts.notice and facts.link is LinkState.CONNECTED:
        text.append(f"  ↻ {facts.notice}", "bold yellow")
    if facts.cause and facts.link in (LinkState.DOWN, LinkState.STOPPED):
        text.append(f"  {facts.cause}", "italic")
    return text
