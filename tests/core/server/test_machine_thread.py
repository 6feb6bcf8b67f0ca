"""``server.machine_thread``: slices run in one thread off the loop, in the order asked; a long
step's turn runs a waiting slice nested, with the paused slice's meter stopped around it; a
cancelled command still waits for its slice to end. No clocks: events and the order of records."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import anyio
import pytest

from omega_core.lang import turns
from omega_core.server import machine_thread as machine_thread_module
from omega_core.server.loop_watch import LoopWatch, readiness_fd, watched_loop_factory
from omega_core.server.machine_thread import THREAD_NAME, MachineThread

T = TypeVar("T")


class RecordingMeter:
    def __init__(self, log: list[str], name: str) -> None:
        self.log = log
        self.name = name

    def slice_started(self) -> None:
        self.log.append(f"{self.name} meter on")

    def slice_ended(self) -> None:
        self.log.append(f"{self.name} meter off")


@pytest.fixture
def machine_thread() -> Iterator[MachineThread]:
    thread = MachineThread()
    try:
        yield thread
    finally:
        turns.install(None)


def test_a_job_runs_in_the_machine_thread_and_its_result_or_error_comes_back(machine_thread: MachineThread) -> None:
    async def main() -> tuple[str, str]:
        name = await machine_thread.run(lambda: threading.current_thread().name)
        with pytest.raises(ZeroDivisionError):
            await machine_thread.run(lambda: 1 // 0)
        return name, threading.current_thread().name

    ran_in, caller = anyio.run(main)
    assert ran_in == THREAD_NAME and caller != THREAD_NAME


def test_a_long_steps_turn_runs_a_waiting_slice_with_its_own_meter_stopped(machine_thread: MachineThread) -> None:
    log: list[str] = []
    second_waiting = threading.Event()

    def long_step() -> str:
        log.append("long begins")
        assert second_waiting.wait(10)
        turns.take_turn()  # what a primitive's loop does every TURN_EVERY elements
        log.append("long ends")
        return "long"

    def short_slice() -> str:
        log.append("short runs")
        return "short"

    async def main() -> list[str]:
        outcomes: list[str] = []

        async def run(job: object, meter: RecordingMeter) -> None:
            outcomes.append(await machine_thread.run(job, meter))  # type: ignore[arg-type]

        async with anyio.create_task_group() as group:
            group.start_soon(run, long_step, RecordingMeter(log, "long"))
            while "long begins" not in log:
                await anyio.sleep(0.001)
            group.start_soon(run, short_slice, RecordingMeter(log, "short"))
            await anyio.sleep(0)  # the short job is queued once its task ran up to its await
            while machine_thread._jobs.empty():
                await anyio.sleep(0.001)
            second_waiting.set()
        return outcomes

    outcomes = anyio.run(main)
    assert log == ["long begins", "long meter off", "short runs", "long meter on", "long ends"]
    assert sorted(outcomes) == ["long", "short"]


def test_a_turn_outside_the_machine_thread_does_nothing(machine_thread: MachineThread) -> None:
    ran: list[str] = []

    async def main() -> None:
        await machine_thread.run(lambda: ran.append("first"))  # starts the thread, installs the turn
        turns.take_turn()  # on the loop's thread: nothing runs here
        await machine_thread.run(lambda: ran.append("second"))

    anyio.run(main)
    assert ran == ["first", "second"]


def test_a_cancelled_command_waits_for_its_slice_to_end(machine_thread: MachineThread) -> None:
    order: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def slice_job() -> None:
        started.set()
        assert release.wait(10)
        order.append("slice ended")

    async def main() -> None:
        async def command() -> None:
            try:
                await machine_thread.run(slice_job)
            finally:
                order.append("command let go")

        async with anyio.create_task_group() as group:
            group.start_soon(command)
            await anyio.to_thread.run_sync(started.wait, 10)
            group.cancel_scope.cancel()
            threading.Timer(0.05, release.set).start()

    anyio.run(main)
    assert order == ["slice ended", "command let go"]


def _run_on_watched_loop(main: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(main, backend_options={"loop_factory": watched_loop_factory(LoopWatch())})


def test_the_loops_brief_wait_for_a_slice_ends_when_a_client_sends(machine_thread: MachineThread,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop waits for a slice blocking, but a request arriving meanwhile ends that wait: the
    loop serves it while the slice goes on. With the brief wait made 30 s long, a loop that only
    waited for the slice would read the request after the slice gave up waiting for it."""
    monkeypatch.setattr(machine_thread_module, "SHORT_WAIT_S", 30.0)
    served = threading.Event()
    sending, receiving = socket.socketpair()

    def slice_job() -> bool:
        sending.send(b"ping")  # a client's request arrives while the slice runs
        return served.wait(5)

    async def main() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        loop.add_reader(receiving.fileno(), lambda: (receiving.recv(16), served.set()))
        try:
            assert readiness_fd(loop) is not None
            first = await machine_thread.run(slice_job)
            served.clear()
            quiet = await machine_thread.run(lambda: "the next slice needs no await")
            return first, quiet == "the next slice needs no await"
        finally:
            loop.remove_reader(receiving.fileno())

    try:
        assert _run_on_watched_loop(main) == (True, True)
    finally:
        sending.close()
        receiving.close()


def test_a_loop_not_made_by_loop_watch_waits_on_the_slice_alone(machine_thread: MachineThread) -> None:
    async def main() -> tuple[int | None, int]:
        return readiness_fd(asyncio.get_running_loop()), await machine_thread.run(lambda: 42)

    assert anyio.run(main) == (None, 42)
