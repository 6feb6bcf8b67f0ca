"""``KernelLink`` with a stand-in client: streaming only when ``execute`` takes ``on_output``, the
session switch after ``:session load``, a held session giving way to a numbered one, and close."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from omega_core.config import Config
from omega_core.server.client import ExecuteReply, ServerError
from omega_core.server.protocol import ErrorCode, Op
from omega_tui.kernel import link as link_module
from omega_tui.kernel.link import KernelLink


class StubClient:
    """Records calls; ``held`` sessions answer ``locked`` to write access."""

    def __init__(self, held: set[str] | None = None, refused: dict[str, ServerError] | None = None) -> None:
        self.held = held or set()
        self.refused = refused or {}
        self.calls: list[tuple[Any, ...]] = []
        self.started_pid: int | None = None
        self.connected = True
        self.autostart = True
        self.connect_timeout_s = 10.0
        self.closed = False
        self.next_session: str | None = None

    def connect(self) -> "StubClient":
        return self

    def call(self, op: str, session: str | None = None, **args: Any) -> Any:
        self.calls.append((str(op), session, args))
        if op == Op.ACCESS and session in self.held:
            raise ServerError(ErrorCode.LOCKED, f"'{session}' is held read-write by terminal app since 10:00")
        if op == Op.ACCESS and session in self.refused:
            raise self.refused[session]
        return {}

    def open_session(self, session: str, read_only: bool = False) -> Any:
        self.calls.append(("open", session, {}))
        return {}

    def execute(self, line: str, session: str | None = None, first_line: int = 1) -> ExecuteReply:
        self.calls.append(("execute", session, {"line": line, "first_line": first_line}))
        return ExecuteReply("=> 3", [], False, self.next_session or str(session), True)

    def close(self) -> None:
        self.closed = True


class StreamingStubClient(StubClient):
    def execute(self, line: str, session: str | None = None, first_line: int = 1,  # type: ignore[override]
                on_output: Callable[[str], None] | None = None) -> ExecuteReply:
        if on_output is not None:
            on_output("chunk")
        return super().execute(line, session, first_line)


def make(client: StubClient, wanted: str = "nb") -> KernelLink:
    return KernelLink(Config(), wanted, client=client)  # type: ignore[arg-type]


def test_on_output_is_passed_only_to_a_client_that_takes_it() -> None:
    seen: list[str] = []
    plain = make(StubClient())
    assert plain.streams_output is False
    plain.execute("(+ 1 2)", on_output=seen.append)
    assert seen == []
    streaming = make(StreamingStubClient())
    assert streaming.streams_output is True
    streaming.execute("(+ 1 2)", first_line=4, on_output=seen.append)
    assert seen == ["chunk"]


def test_attach_takes_write_access_and_follows_session_switches() -> None:
    client = StubClient()
    link = make(client)
    link.execute("(+ 1 2)")
    assert (str(Op.ACCESS), "nb", {"mode": "read-write"}) in client.calls
    client.next_session = "other"
    link.execute(":session load other")
    assert link.session == "other"
    assert ("open", "other", {}) in client.calls


def test_a_held_session_gives_way_to_a_numbered_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_module, "LOCK_WAIT_S", 0.0)
    link = make(StubClient(held={"nb", "nb-2"}))
    assert link.attach() == "nb-3"
    notices = link.take_notices()
    assert len(notices) == 1 and "'nb-3'" in notices[0] and "terminal app" in notices[0]
    everything_held = make(StubClient(held={"nb"} | {f"nb-{n}" for n in range(2, 10)}))
    with pytest.raises(ServerError) as caught:
        everything_held.attach()
    assert caught.value.code == ErrorCode.LOCKED and ":session load" in caught.value.message


def test_a_session_refusing_write_access_for_another_reason_is_still_attached() -> None:
    damaged = ServerError(ErrorCode.READ_ONLY, "session 'nb' is damaged (nb.jsonl, byte 120): :session repair nb")
    link = make(StubClient(refused={"nb": damaged}))
    assert link.attach() == "nb"  # so a cell can run :session repair nb
    assert link.take_notices() == ["session 'nb': session 'nb' is damaged (nb.jsonl, byte 120): :session repair nb"]
    unavailable = make(StubClient(refused={"nb": ServerError(ErrorCode.UNAVAILABLE, "backend down")}))
    with pytest.raises(ServerError):
        unavailable.attach()
    assert unavailable.attached is False  # the next cell tries again


def test_close_releases_without_waiting_for_a_server_that_went_away() -> None:
    client = StubClient()
    link = make(client)
    link.attach()
    link.close()
    assert (str(Op.RELEASE), "nb", {}) in client.calls
    assert client.closed and client.autostart is False and client.connect_timeout_s <= 1.0
