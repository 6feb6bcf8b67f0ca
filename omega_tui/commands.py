"""The command palette (ctrl+p): every key binding of the app, plus a few commands without a key.

Each binding is listed as "Pane: description" with its current key (after the user's keymap), so
the palette is also the place to look a key up. Choosing one focuses the pane it belongs to and
runs its action there, exactly as the key would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from omega_tui.keys import KEYS, SCOPES, KeySpec, current_key

if TYPE_CHECKING:  # pragma: no cover
    from omega_tui.app import OmegaApp

EXTRA_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Server: restart", "Restart the server's backend (also clears a supervisor that gave up)", "restart_server"),
    ("Session: take write access", "Take read-write access from another client (steal the lock)", "steal_access"),
    ("Session: reload transcript", "Show the session's transcript again from the server", "reload_transcript"),
)


def command_entries(app: "OmegaApp") -> list[tuple[str, str, Callable[[], Any]]]:
    """(title, help, callback) for every binding (skipping dialog keys) and the extra commands."""
    keymap = getattr(app, "_keymap", {}) or {}
    entries: list[tuple[str, str, Callable[[], Any]]] = []
    for spec in KEYS:
        if spec.scope == "dialog":
            continue
        keys = current_key(spec, keymap)
        shown = ", ".join(_key_display(app, key.strip()) for key in keys.split(","))
        title = f"{SCOPES[spec.scope]}: {spec.description}"
        entries.append((title, f"key: {shown}  (id {spec.id})", partial(app.run_binding, spec)))
    for title, help_text, action in EXTRA_COMMANDS:
        entries.append((title, help_text, partial(app.run_action, action)))
    return entries


def _key_display(app: Any, key: str) -> str:
    if key == "left_square_bracket":
        return "["
    if key == "right_square_bracket":
        return "]"
    try:
        from textual.binding import Binding

        return app.get_key_display(Binding(key, ""))
    except Exception:  # noqa: BLE001 - a display nicety only
        return key


class OmegaCommands(Provider):
    """Bindings and server commands in the command palette."""

    async def discover(self) -> Hits:
        for title, help_text, callback in command_entries(self.app):  # type: ignore[arg-type]
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in command_entries(self.app):  # type: ignore[arg-type]
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)


def spec_scope_pane(spec: KeySpec) -> str | None:
    """The pane a binding belongs to (None: works anywhere)."""
    return spec.scope if spec.scope in ("repl", "sessions", "timeline", "metrics") else None
