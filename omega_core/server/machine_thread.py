"""The thread the backend's machines run their slices in, off the event loop.

Why: a machine runs in slices (a few thousand steps, about 2 ms), and between two slices the loop
serves everyone else. But one step can itself be long: a primitive walking a list in one call
(``length``, ``member``, ``equal?`` on a list of millions of pairs: 0.1 µs a pair, about a second
for the 9.6 million pairs a 512 MB budget allows), splitting a 4 Mi-character string into
characters (2.3 s), spreading a long list with ``apply``. Run on the loop, such a step held every
other client for its whole length, and no slice size can cut a step.

Here each slice runs in one dedicated thread. The loop waits for it blocking, at most
``SHORT_WAIT_S`` (as long as a slice held it before) and only until one of its sockets has
something to read (it polls its own epoll descriptor and the thread's wake-up eventfd), then
without blocking: from there on it takes the GIL back within the interpreter's switch interval
whenever it has something to do (a ping, a listing, another client's output), and that interval
is lowered while a slice runs (``worker_threads.quick_switching``: 0.1 ms), so a long step costs
the others tenths of a millisecond, not seconds. Every step still runs in pure Python or in short
C calls (strings and integers are bounded per step by ``lang.budgets``), so the GIL does change
hands.

What keeps this safe:
  * only the slice (``Machine.run`` and the memory meter around it) runs here; everything between
    slices (recording, captures, effects, output pushes, the form's result) stays on the loop, in
    the command's task, which waits for the slice to end;
  * the command holds its session's command lock meanwhile, so no other request reads or changes
    that machine (``:env``, ``:stack`` and the debugger take the lock too);
  * one thread, one slice at a time, in the order asked: two sessions' slices never run at once,
    so a session's memory meter (resident growth during its own slices) never counts another
    session's values, and the sessions take turns as they did on the loop;
  * a cancelled command (its client left, the backend stops) still waits for its slice to end
    before it lets go of the machine: nothing touches a machine while a slice runs it.

Long steps and the other sessions: a step that walks millions of pairs keeps this thread for a
second or more. Its loop takes turns (``lang.turns``): every few thousand elements it calls
``lend_turn``, which runs a slice another session is waiting with, right there, nested in the
long step (at most ``MAX_NESTED`` deep), with the paused slice's memory meter stopped meanwhile
so neither session is charged with the other's growth.

Cost: one hand-over to the thread and back per slice, about 20-40 µs (a slice is 1-2 ms of work):
the loop waits for a slice blocking for up to ``SHORT_WAIT_S``, and only a slice still running
then is awaited while the loop serves others. What the others gain, a command that computes
for seconds while they keep the loop busy pays: the GIL is shared with them at once instead of
after its slice (``bench/isolation.py``: a list doubling to the memory budget under a probe
sending requests without pause took 34-35 s instead of 21-28 s; alone, 11 s instead of 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import select
import threading
import time
from typing import Any, Callable, Protocol, TypeVar

import anyio

from omega_core.lang import turns
from omega_core.server.loop_watch import readiness_fd
from omega_core.server.worker_threads import quick_switching

T = TypeVar("T")

THREAD_NAME = "omega-machine"

SHORT_WAIT_S = 0.003
"""How long the loop waits for a slice blocking, without the GIL, before it awaits it
(``MachineThread.run``): a slice is paced to ``[language] slice_ms`` (2 ms), so nearly every slice
ends within this and comes back by a thread switch (about 20 µs) rather than a wake-up of the loop
(the loop was held that long by each slice when slices ran on it). A step that runs longer is
awaited: the loop serves everyone meanwhile. Measured: with 0.3 ms, ``(+ 1 2)`` cost 160 µs more
per command and a list doubling under a busy probe took 1.7x as long; with 10 ms a ping waited up
to 10 ms behind a slice."""

MAX_NESTED = 4
"""Slices run nested in long steps at most this deep (each level is a paused long step)."""


class Meter(Protocol):
    """What a slice's memory meter offers (``budgets.MemoryMeter``): stop and go on measuring."""

    def slice_started(self) -> None: ...

    def slice_ended(self) -> None: ...


class _Job:
    """One slice handed to the thread, and how its end gets back to the loop."""

    __slots__ = ("run", "meter", "outcome", "ended", "finished", "_lock", "_waiter", "_wake_fd")

    def __init__(self, run: Callable[[], Any], meter: Meter | None, wake_fd: int | None = None) -> None:
        self.run = run
        self._wake_fd = wake_fd
        self.meter = meter
        self.outcome: tuple[bool, Any] = (False, None)
        self.ended = False
        self.finished = threading.Lock()
        """Held until the job ended: the loop's short blocking wait acquires it."""
        self.finished.acquire()
        self._lock = threading.Lock()
        self._waiter: tuple[Any, asyncio.Future[Any]] | None = None

    def end(self, outcome: tuple[bool, Any]) -> None:
        """In the thread: the job ended; wake the loop if it went on to wait asynchronously."""
        with self._lock:
            self.outcome = outcome
            self.ended = True
            waiter = self._waiter
        self.finished.release()
        if waiter is None:
            if self._wake_fd is not None:
                os.eventfd_write(self._wake_fd, 1)
        else:
            try:
                waiter[0].call_soon_threadsafe(_settle, waiter[1], outcome)
            except RuntimeError:  # the loop is closed (the backend is ending): nobody waits
                pass

    def wait_on_loop(self, loop: Any) -> "asyncio.Future[Any] | None":
        """On the loop, after the short blocking wait: a future for the end, or None if it
        ended meanwhile (then ``outcome`` holds it)."""
        with self._lock:
            if self.ended:
                return None
            done: asyncio.Future[Any] = loop.create_future()
            self._waiter = (loop, done)
            return done


class MachineThread:
    """The backend's one slice-running thread, started at the first slice."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._wake_fd: int | None = None
        """An eventfd the thread counts up when a job ends that nobody awaits (the loop's brief wait)."""
        self._pollers: dict[int, select.poll] = {}
        self._running: list[_Job] = []
        """The jobs this thread is in: the last runs, each before it is paused in a long step."""

    async def run(self, job: Callable[[], T], meter: Meter | None = None) -> T:
        """``job()`` in the machine thread; its result, or its exception raised here. ``meter``:
        the slice's memory meter, stopped while another slice runs nested in a long step of this
        one. Cancelled while the job runs, this still waits for it to end, then lets the
        cancellation go on.

        The loop first waits for the job blocking, up to ``SHORT_WAIT_S``, without the GIL: most
        slices of small commands end by then, and the hand-back costs a thread switch instead of
        a wake-up of the loop through its self-pipe (a command ``(+ 1 2)`` took 160 µs more
        with every slice awaited, against 40 µs to run it on the loop). That wait also watches
        the loop's sockets (``loop_watch.readiness_fd``): a request arriving meanwhile ends it at
        once, and the slice is awaited while the loop serves it. The switch interval is low
        while the job runs, so the loop gets the GIL back within 0.1 ms of wanting it."""
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        slice_job = _Job(job, meter, self._wake_fd)
        idle = not self._running  # the thread is not in a (long) step: this job starts at once
        with quick_switching.running():  # free while the loop waits without the GIL
            self._jobs.put(slice_job)
            if not (idle and self._wait_briefly(slice_job, readiness_fd(loop))):
                done = slice_job.wait_on_loop(loop)
                if done is not None:
                    try:
                        return await asyncio.shield(done)
                    except asyncio.CancelledError:
                        with anyio.CancelScope(shield=True):
                            await asyncio.wait({done})  # its outcome no longer matters, its end does
                        raise
        ok, value = slice_job.outcome
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def _wait_briefly(self, job: "_Job", loop_fd: int | None) -> bool:
        """Block up to ``SHORT_WAIT_S`` for ``job`` to end, or until the loop has a socket to
        serve; whether it ended. Without the loop's descriptor (a loop not made by
        ``loop_watch``), the job's lock alone."""
        if loop_fd is None or self._wake_fd is None:
            return job.finished.acquire(timeout=SHORT_WAIT_S)
        poller = self._pollers.get(loop_fd)
        if poller is None:
            poller = self._pollers[loop_fd] = select.poll()
            poller.register(loop_fd, select.POLLIN)
            poller.register(self._wake_fd, select.POLLIN)
        deadline = time.monotonic() + SHORT_WAIT_S
        while True:
            remaining_ms = (deadline - time.monotonic()) * 1000.0
            if remaining_ms <= 0:
                return job.ended
            ready = poller.poll(remaining_ms)
            clients_waiting = False
            for fd, _ in ready:
                if fd == self._wake_fd:
                    with contextlib.suppress(BlockingIOError):
                        os.eventfd_read(self._wake_fd)  # a stale wake-up from an awaited job is fine
                else:
                    clients_waiting = True
            if job.ended:
                return True
            if clients_waiting:
                return False

    def lend_turn(self) -> None:
        """A long step's turn (``lang.turns``): run one waiting slice here, if any, with the long
        step's meter stopped meanwhile. Anywhere but in this thread, nothing."""
        if not self._running or threading.current_thread() is not self._thread or len(self._running) > MAX_NESTED:
            return
        try:
            job = self._jobs.get_nowait()
        except queue.Empty:
            return
        paused = self._running[-1]
        if paused.meter is not None:
            paused.meter.slice_ended()
        try:
            self._do(job)
        finally:
            if paused.meter is not None:
                paused.meter.slice_started()

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                with contextlib.suppress(AttributeError, OSError):  # eventfd: Linux
                    self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
                self._thread = thread
                turns.install(self.lend_turn)
                thread.start()

    def _serve(self) -> None:
        while True:
            self._do(self._jobs.get())

    def _do(self, job: _Job) -> None:
        self._running.append(job)
        try:
            outcome: tuple[bool, Any] = (True, job.run())
        except BaseException as problem:  # handed to the command's task, which decides
            outcome = (False, problem)
        finally:
            self._running.pop()
        job.end(outcome)


def _settle(done: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if done.done():
        return
    ok, value = outcome
    if ok:
        done.set_result(value)
    else:
        done.set_exception(value)


machine_thread = MachineThread()
"""The backend's machine thread (a backend is one process; its standby forks from the supervisor,
which never started one)."""
