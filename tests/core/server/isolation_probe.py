"""A probe client for isolation tests: on its own connection it pings the server in a loop while
a test makes another client do something heavy; the test then asserts the probe was answered
throughout (every ping got ``pong``, none failed) and the backend did not restart. No timing
assertions: latency figures belong to ``bench/isolation.py``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tests.core.server.live_server import LiveServer


@dataclass
class Probe:
    server: LiveServer
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "Probe":
        self.backend_pid = self.server.backend_pid()
        client = self.server.client(name="probe")
        self._client: Any = client
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._client.ping() == "pong":
                    self.answered += 1
                else:  # pragma: no cover - reported by the assertion
                    self.failures.append("ping did not answer pong")
            except Exception as problem:  # noqa: BLE001 - reported by the assertion
                self.failures.append(f"{type(problem).__name__}: {problem}")
            self._stop.wait(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self._client.close()

    def assert_served(self) -> None:
        """Every ping of the probe was answered, at least one was sent, the backend is the same."""
        assert not self.failures, self.failures[:3]
        assert self.answered > 0
        assert self.server.backend_pid() == self.backend_pid, "the backend restarted"
