"""How the app runs blocking calls without blocking: thread workers whose results, and failures,
come back to the UI thread, and callbacks that do nothing once the app is closing.

A mixin of ``OmegaApp`` (kept apart so ``app.py`` stays the wiring): it relies on the app's
``connection`` (``ConnectionController``: a failure may be the server going away, which it reports
itself) and on Textual's ``run_worker``, ``call_from_thread``, ``notify`` and ``push_screen``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches
from textual.screen import ModalScreen

if TYPE_CHECKING:  # pragma: no cover - types only
    from omega_tui.components.connection import ConnectionController


class WorkerCalls:
    """Thread workers and guarded callbacks for the app (see the module docstring)."""

    connection: "ConnectionController"
    _closing: bool

    def background(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], Any] | None = None,
                   failed: Callable[[BaseException], Any] | None = None, group: str = "default",
                   exclusive: bool = False, description: str = "", quiet: bool = False) -> Any:
        """Run ``fn(*args)`` in a thread worker; ``done``/``failed`` then run on the UI thread."""

        def run() -> None:
            try:
                result = fn(*args)
            except Exception as problem:  # noqa: BLE001 - reported on the UI thread
                self._call_soon(self._failed, problem, failed, description, quiet)
            else:
                if done is not None:
                    self._call_soon(done, result)

        return self.run_worker(run, thread=True, group=group, exclusive=exclusive, exit_on_error=False,
                               description=description or getattr(fn, "__name__", "call"))

    def background_now(self, fn: Callable[[], Any], *, done: Callable[[Any], Any],
                       failed: Callable[[BaseException], Any], description: str) -> threading.Thread:
        """``background`` on a plain thread that starts at once.

        Why: a Textual worker's thread starts only when the event loop next runs the worker's
        task, and right after the first frame the UI thread has the side panes to mount (imports,
        CSS, first render: 50-150 ms) before it yields: the connection to the server, which mostly
        waits on the server, then started that late, and the session showed that much later.
        """

        def run() -> None:
            try:
                result = fn()
            except Exception as problem:  # noqa: BLE001 - reported on the UI thread
                self._call_soon(self._failed, problem, failed, description, False)
            else:
                self._call_soon(done, result)

        thread = threading.Thread(target=run, name=description, daemon=True)
        thread.start()
        return thread

    def _call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        if self.connection.stopping or not self.is_running:
            return
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(self.guarded(callback), *args)

    def guarded(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """``callback`` that does nothing once the app is closing (its widgets may be gone)."""

        def run(*args: Any) -> Any:
            if self.connection.stopping or self._closing:
                return None
            try:
                return callback(*args)
            except NoMatches:
                if self._closing or self.connection.stopping:
                    return None
                raise

        return run

    def _failed(self, problem: BaseException, failed: Callable[[BaseException], Any] | None, description: str,
                quiet: bool) -> None:
        if failed is not None:
            failed(problem)
        if self.connection.failed(problem):
            return
        if failed is None or not quiet:
            what = f"{description}: " if description else ""
            self.notify(f"{what}{problem}", severity="error", timeout=6)

    def show_dialog(self, screen: ModalScreen[Any], callback: Callable[[Any], Any]) -> None:
        """Open ``screen`` unless a dialog is open already (a burst of keys opens one, not three)."""
        if isinstance(self.screen, ModalScreen):
            return
        self.push_screen(screen, callback)
