"""When to restart a crashed backend: at once after a healthy run (one that lasted the stable-start
time: the count resets), then with exponential backoff and a limit per window.

jupyter_client restarts without backoff and loops forever on a kernel that dies at start; here a
backend that keeps crashing is given up on, and the supervisor says why instead of spinning.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    initial_delay_s: float
    max_delay_s: float
    limit: int
    window_s: float
    stable_start_s: float
    crashes: collections.deque[float] = field(default_factory=collections.deque)
    next_delay_s: float = 0.0

    def __post_init__(self) -> None:
        self.next_delay_s = self.initial_delay_s

    def on_crash(self, ran_for_s: float, now: float) -> float | None:
        """Delay before the next start, or None when the limit is reached (give up). A backend
        that ran ``stable_start_s`` or longer was healthy: it restarts at once (every client waits
        for the restart, and nothing suggests a crash loop), and the backoff starts over for the
        next crash."""
        if ran_for_s >= self.stable_start_s:
            self.reset()
            self.crashes.append(now)
            return 0.0
        self.crashes.append(now)
        while self.crashes and now - self.crashes[0] > self.window_s:
            self.crashes.popleft()
        if len(self.crashes) > self.limit:
            return None
        delay = self.next_delay_s
        self.next_delay_s = min(self.max_delay_s, max(self.next_delay_s * 2, self.initial_delay_s))
        return delay

    def reset(self) -> None:
        self.crashes.clear()
        self.next_delay_s = self.initial_delay_s
