"""What the protocol ops may use of the backend: a narrow view, so ``ops`` never imports ``backend``.

``backend`` imports ``ops`` (to dispatch requests); ``ops`` and ``ops_multi`` see the backend only
through ``OpsContext``, which the backend satisfies. The server's modules thus form a DAG (a test
parses their imports and checks it). The exit codes live here because ``shutdown``/``restart``
ops ask for them and the supervisor reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Protocol

EXIT_STOP = 0
"""Backend exit status: stop the server."""
EXIT_RESTART = 75
"""Backend exit status: start a new backend now. Anything else is a crash (restart with backoff)."""

if TYPE_CHECKING:  # pragma: no cover
    import anyio

    from omega_core.config import Config
    from omega_core.eval_steps import FormResult
    from omega_core.server.access import AccessTable
    from omega_core.server.connection import Connection
    from omega_core.server.manager import SessionInstance, SessionManager


class OpsContext(Protocol):
    """The backend as the ops see it: sessions, locks, access, followers, and its own state."""

    config: Config
    manager: SessionManager
    access: AccessTable
    subscribers: dict[str, set[int]]
    restarts: int
    supervisor_pid: int

    async def instance(self, name: str, create: bool = True) -> SessionInstance: ...

    def session_lock(self, name: str) -> anyio.Lock: ...

    async def refresh_catalog(self) -> None: ...

    def subscribe(self, connection: Connection, name: str) -> None: ...

    def push_to(self, number: int, kind: str, **fields: Any) -> None: ...

    def notify_timeline(self, name: str) -> None: ...

    async def run_cooperative(self, instance: SessionInstance, steps: Generator[Any, Any, None],
                              on_result: Any = None) -> list[FormResult]: ...

    def status(self) -> dict[str, Any]: ...

    def server_metrics(self) -> dict[str, Any]: ...

    def stop(self, code: int = EXIT_STOP) -> None: ...
