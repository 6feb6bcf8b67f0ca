"""The backend's record of its own start: how long after the supervisor forked it it accepted,
served and adopted its first client (``status`` ``"start"``; ``bench/restart_gap.py`` reads it).

Why: a backend restart is a gap every client waits through (ARCHITECTURE.md section 7); when it
grows, this says which part grew, on the machine where it happened, without a profiler.
``time.monotonic`` is one clock for all processes of a machine (Linux: CLOCK_MONOTONIC), so the
supervisor's fork time compares with the backend's readings.
"""

from __future__ import annotations

import time


class StartRecord:
    """Moments of a backend's start, in seconds after ``began`` (the supervisor's fork; when not
    given, the creation of this record)."""

    def __init__(self, began: float | None = None) -> None:
        self.begin(began)

    def begin(self, began: float | None = None) -> None:
        """Count from ``began`` (a standby's "go"), forgetting any moment recorded before."""
        self.began = time.monotonic() if began is None else began
        self.accepting_s: float | None = None
        self.serving_s: float | None = None
        self.first_client_s: float | None = None

    def _since_began(self) -> float:
        return round(time.monotonic() - self.began, 6)

    def accepting(self) -> None:
        """The accept thread runs (clients in the listen queue are accepted and handshake)."""
        if self.accepting_s is None:
            self.accepting_s = self._since_began()

    def serving(self) -> None:
        """The loop runs and adopts handshaken clients."""
        if self.serving_s is None:
            self.serving_s = self._since_began()

    def adopted(self) -> None:
        """A client was adopted (only the first one is recorded)."""
        if self.first_client_s is None:
            self.first_client_s = self._since_began()

    def figures(self) -> dict[str, float | None]:
        return {"accepting_s": self.accepting_s, "serving_s": self.serving_s, "first_client_s": self.first_client_s}
