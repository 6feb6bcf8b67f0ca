"""The backend process: one anyio event loop serving every connection.

Threads only do blocking socket work (``accepting``): one accepts, a few spare ones do the key
handshakes (with a time limit, so a silent peer cannot stall anyone) and hand each connection
to the loop.
Everything else runs on the loop: reading frames (``framing``; a reading thread would wait for the
GIL after every ``recv`` while a session computes), requests, sessions and persistence. Evaluation
runs in bounded slices (``run_cooperative``), oracle calls and big file writes in worker threads, so
a busy session never delays another client's request. ``connection`` holds a client's socket
(written without blocking: a client that stops reading costs only its own bounded ``outbox``),
``persistence`` the background writes (a failure there marks its session degraded, ``health``).
Exit status tells the supervisor what to do next: 0 stop, 75 restart now; anything else is a
crash (restart with backoff).

Beside this module: how a backend starts serving (``backend_start``: accept before the loop, a
standby's "go"), its clients and the pushes to followers (``backend_clients``), and the process's
body (``backend_run``: the loop, profiling, a crash's cause).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import replace
from typing import Any, Generator

import anyio
from anyio.abc import TaskGroup
from anyio.from_thread import BlockingPortal

from omega_core.config import Config
from omega_core.errors import OmegaError
from omega_core.eval_steps import EffectCall, FormResult, RunSlice
from omega_core.lang.release import releases_running
from omega_core.server import protocol as proto
from omega_core.server.accepting import Acceptor
from omega_core.server.access import AccessTable
from omega_core.server.backend_clients import BackendClients
from omega_core.server.backend_start import BackendStart
from omega_core.server.config_report import effective_config
from omega_core.server.connection import Connection
from omega_core.server.context import EXIT_STOP
from omega_core.server.collector import YOUNG_COLLECTION_EVERY_S, collect_when_idle, collect_young
from omega_core.server.loop_watch import LoopWatch
from omega_core.server.machine_thread import machine_thread
from omega_core.server.manager import SessionInstance, SessionManager
from omega_core.server.ops import dispatch
from omega_core.server.persistence import PersistenceManager
from omega_core.server.request_record import RequestRecord
from omega_core.server.start_record import StartRecord
from omega_core.server.worker_threads import run_in_worker

log = logging.getLogger("omega.backend")

SERVER_SLICE_STEPS = 2000
"""Steps per slice in the server: about a millisecond, so others wait at most that long."""
SLICE_YIELDS = 4
"""Loop turns given to others after each slice. A request that arrived during a slice needs three
(its socket seen ready, its frame read, its task started) to be answered before the next slice
rather than three slices later; a turn with nothing to do costs a few microseconds."""
FORMS_TURN_S = 0.002
"""A command of many forms that each end within their first slice yields only form results, no
pauses: after this long the loop gets its turns anyway (100 defines in one line held it for 0.9 s)."""
REPLY_CACHE = 256
DECODE_OFF_LOOP_BYTES = 256 * 1024
"""Request frames bigger than this are decoded in a worker thread (its C calls are each short, so
the loop gets the GIL between them): an 8 MB frame took the loop for seconds."""
STOP_GRACE_S = 5.0
"""On stop, requests under way (interrupted if running code) get this long to finish and be answered."""
STOP_DRAIN_S = 0.5
"""On stop, each client's unwritten replies get at most this long to go out."""
BREATHE_EVERY_S = 0.002
BREATHE_S = 0.0002
"""Between slices the loop yields with ``sleep(0)``, which releases and retakes the GIL so quickly
that a worker thread waiting for it (an oracle call, an index write) never gets it (the wait
restarts each time: GIL convoy starvation, seen as 10 s pings when connections had threads).
Every ``BREATHE_EVERY_S`` of computation the loop therefore blocks in ``select`` for ``BREATHE_S``,
which lets waiting threads in (about 10% cost)."""


class Backend(BackendStart, BackendClients):
    def __init__(self, config: Config, listener: Any, key: bytes, restarts: int = 0, supervisor_pid: int | None = None,
                 began: float | None = None, go_fd: int | None = None, load_record: bool = True) -> None:
        """``go_fd``: this backend is a standby (``backend_process``): it builds what it can, starts
        its loop, and waits for the supervisor's "go" on this pipe before it touches any session
        state (the request record, the catalog, the temp files) or accepts a client.
        ``load_record`` False (the server's backends): the request record is read once serving."""
        language = replace(config.language, slice_steps=min(config.language.slice_steps, SERVER_SLICE_STEPS))
        self.config = replace(config, language=language)
        self.listener = listener
        self.key = key
        self.restarts = restarts
        self.supervisor_pid = supervisor_pid or os.getppid()
        self.manager = SessionManager(self.config)
        self.manager.in_use = self.working_sessions
        self.connections: dict[int, Connection] = {}
        self.replies: dict[str, dict[Any, dict[str, Any]]] = {}
        self.inflight: dict[tuple[str, Any], anyio.Event] = {}
        self.session_locks: dict[str, anyio.Lock] = {}
        self._catalog_lock = anyio.Lock(fast_acquire=True)  # free: taken without a trip through the loop
        """One catalog scan at a time (``refresh_catalog``)."""
        self.loading: dict[str, anyio.Lock] = {}
        self.started = time.time()
        self.last_client_seen = time.monotonic()
        self.exit_code = EXIT_STOP
        self.portal: BlockingPortal | None = None
        self._requests: TaskGroup | None = None
        """Request tasks: on stop they may finish (and be answered) within ``STOP_GRACE_S``."""
        self._readers: TaskGroup | None = None
        """Connection readers and background loops: cancelled at once on stop."""
        self._stop = anyio.Event()
        self.persistence = PersistenceManager(self.config, self.manager, after_flush=self.forget_idle_locks)
        self.access = AccessTable()
        self.subscribers: dict[str, set[int]] = {}
        self.go_fd = go_fd
        self.requests = RequestRecord(self.config.sessions_dir, load=load_record)
        """The persisted request-id record: a resend is answered from it, before locks (exactly-once).
        Unless ``load_record``, it is read in a worker thread once the backend serves, and only the
        requests that consult it wait for that (``_load_record``)."""
        if go_fd is not None:
            self.requests.preload()  # the "go" then reads only what the active backend added since
        self._record_loaded = anyio.Event()
        self.loop_watch = LoopWatch()
        """The loop's stalls, measured (``loop_watch``): ``"loop"`` in ``metrics`` and ``status``."""
        self.acceptor = Acceptor(listener, key, self.config.server, stopping=self._stop.is_set,
                                 client_count=lambda: len(self.connections), adopt=self._adopt_from_thread)
        self._accepting: threading.Thread | None = None
        self._went = threading.Event()
        """Set when this backend may accept: at once, or a standby at its "go" (``_wait_for_go``)."""
        if go_fd is None:
            self._went.set()
        self._serving = threading.Event()
        """Set once the loop serves (``serve``): a handshaken connection waits for it to be adopted."""
        self.start_record = StartRecord(began)
        """When this backend began serving and adopted its first client (``status`` ``"start"``)."""

    # --- life cycle ----------------------------------------------------------------------------

    async def serve(self) -> int:
        if self.go_fd is not None and not await self._wait_for_go():
            return EXIT_STOP
        async with BlockingPortal() as portal:
            self.portal = portal
            async with anyio.create_task_group() as requests:
                self._requests = requests
                async with anyio.create_task_group() as group:
                    self._readers = group
                    self.start_accepting()
                    if self.requests.loaded:
                        self._record_loaded.set()
                    else:
                        group.start_soon(self._load_record)
                    self._serving.set()
                    self.start_record.serving()
                    group.start_soon(self.persistence.run_flush_loop)
                    group.start_soon(self.persistence.run_fsync_loop)
                    group.start_soon(self._idle_loop)
                    group.start_soon(self._signal_loop)
                    group.start_soon(self._warm_catalog)
                    group.start_soon(collect_when_idle, self.any_session_busy, lambda: self.manager.stats.evictions,
                                     lambda: bool(self.connections), self.manager.memory_estimate)
                    await self._stop.wait()
                    group.cancel_scope.cancel()  # no new requests from here on
                # Requests under way finish and are answered (a running command is interrupted),
                # unless that takes longer than the grace period.
                self._interrupt_all()
                requests.cancel_scope.deadline = anyio.current_time() + STOP_GRACE_S
        for connection in list(self.connections.values()):
            connection.drain(STOP_DRAIN_S)
            connection.close()
        self.manager.close_all()
        self.requests.close()
        return self.exit_code

    def any_session_busy(self) -> bool:
        """Some session runs a command now, or a stopped command's values are still being freed
        (the full garbage collection waits: ``collector``)."""
        return releases_running() > 0 or any(instance.busy for instance in self.manager.pool.values())

    def _interrupt_all(self) -> None:
        for instance in self.manager.pool.values():
            if instance.busy:
                instance.session.evaluator.interrupt()
                if instance.repl.debugger is not None:
                    instance.repl.debugger.interrupt()

    def stop(self, code: int = EXIT_STOP) -> None:
        self.exit_code = code
        self._stop.set()

    async def _signal_loop(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for received in signals:
                log.info("signal %s: flushing and stopping", received)
                self.stop(EXIT_STOP)
                return

    async def _warm_catalog(self) -> None:
        """Read the catalog at start, off the loop, so the first listing finds it ready."""
        try:
            await self.refresh_catalog()
        except Exception:  # noqa: BLE001 - a listing reads it again (and reports its error)
            log.exception("reading the session catalog at start failed")

    async def _idle_loop(self) -> None:
        """Stop after the idle period with no clients, and at once if the supervisor died (an
        orphaned backend would keep the logs locked from a new server)."""
        idle_after = self.config.server.idle_shutdown_s
        while True:
            await anyio.sleep(min(1.0, idle_after / 4) if idle_after > 0 else 1.0)
            if os.getppid() != self.supervisor_pid:
                log.error("the supervisor (pid %s) is gone: stopping", self.supervisor_pid)
                self.stop(EXIT_STOP)
                return
            if idle_after <= 0:
                continue
            if self.connections:
                self.last_client_seen = time.monotonic()
            elif time.monotonic() - self.last_client_seen >= idle_after:
                log.info("no clients for %.0f s: stopping", idle_after)
                self.stop(EXIT_STOP)
                return

    # --- requests (loop) -----------------------------------------------------------------------

    async def handle(self, connection: Connection, data: bytes) -> None:
        try:
            await self._handle(connection, data)
        except Exception as problem:  # noqa: BLE001 - a bug must not take the backend (and every client) down
            log.exception("internal error while handling a request")
            # ``_handle`` sends its reply last, so a failure here means none went out: every
            # request gets exactly one reply.
            connection.send(proto.error_reply(proto.request_id_of(data), proto.ErrorCode.INTERNAL,
                                              f"internal error: {type(problem).__name__}: {problem}"))

    async def _handle(self, connection: Connection, data: bytes) -> None:
        try:
            if len(data) > DECODE_OFF_LOOP_BYTES:  # parsing and the nesting check take ms per MB
                request = await run_in_worker(proto.decode_request, data, self.config.server.max_frame_bytes)
            else:
                request = proto.decode_request(data, self.config.server.max_frame_bytes)
        except proto.ProtocolError as problem:
            connection.send(proto.error_reply(problem.request_id, problem.code, problem.message))
            return
        client = connection.client_id
        cache = self.replies.setdefault(client, {})
        if request.id in cache:  # a retried request: answer from the record, do not run it twice
            connection.send(cache[request.id])
            return
        if not self.requests.loaded and self.requests.consulted_for(request):
            await self._record_loaded.wait()  # just started: the record is being read (``_load_record``)
        earlier = self.requests.answer(client, request)  # done before a restart: before locks and access
        if earlier is not None:
            connection.send(earlier)
            return
        key = (client, request.id)
        running = self.inflight.get(key)
        if running is not None:
            await running.wait()
            if request.id in cache:
                connection.send(cache[request.id])
            return
        self.inflight[key] = done = anyio.Event()
        try:
            try:
                result = await dispatch(self, connection, request)
                reply = proto.ok_reply(request.id, result)
            except proto.ProtocolError as problem:
                reply = proto.error_reply(request.id, problem.code, problem.message)
            except OmegaError as problem:
                reply = proto.error_reply(request.id, getattr(problem, "code", "internal"), problem.message)
            except Exception as problem:  # noqa: BLE001 - a bug must not kill the backend
                log.exception("internal error in %s", request.op)
                reply = proto.error_reply(request.id, proto.ErrorCode.INTERNAL,
                                          f"internal error in {request.op}: {type(problem).__name__}: {problem}")
            self.requests.remember(client, request, reply)
            if request.op != proto.Op.HELLO:
                cache[request.id] = reply
                while len(cache) > REPLY_CACHE:
                    cache.pop(next(iter(cache)))
            connection.send(reply)
        finally:
            done.set()
            self.inflight.pop(key, None)

    # --- sessions ------------------------------------------------------------------------------

    async def instance(self, name: str, create: bool = True) -> SessionInstance:
        """The loaded session ``name``; loading (replay) happens in a worker thread."""
        if name not in self.manager.pool:
            lock = self.loading.get(name) or self.loading.setdefault(name, anyio.Lock())
            async with lock:
                if name not in self.manager.pool:
                    await run_in_worker(self.manager.preload, name, create)
            if self.loading.get(name) is lock and not lock.statistics().tasks_waiting:
                del self.loading[name]  # one lock per session ever touched would add up
        instance = self.manager.get(name, create)
        if not instance.session.listeners:
            instance.session.listeners.append(lambda events, name=name: self._push_events(name, events))
        if instance.session.request_logged is None:
            instance.session.request_logged = lambda rid, offset, name=name: self.requests.input_logged(rid, name, offset)
        return instance

    def _pool_figures(self) -> dict[str, Any]:
        stats = self.manager.stats
        return {"hits": stats.hits, "misses": stats.misses, "evictions": stats.evictions,
                "memory_estimate_bytes": self.manager.memory_estimate(), "max_memory_bytes": self.manager.max_bytes}

    def server_metrics(self) -> dict[str, Any]:
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "clients": len(self.connections),
            "restarts": self.restarts,
            "pool": {"sessions": len(self.manager.pool), **self._pool_figures()},
            "degraded": self.manager.health.degraded(),
            "persistence": {
                "queue": self.persistence.queue_length(),
                "last_flush": self.persistence.last_flush,
                "bytes_written": self.persistence.bytes_written(),
            },
            "releases_running": releases_running(),
            "loop": self.loop_watch.figures(),
        }

    async def refresh_catalog(self) -> None:
        """Bring the session catalog up to date with the disk, its scan in a worker thread (one at
        a time), and the listing's rows encoded there too when they changed. Why: after a restart
        the first listing summarized every session on the loop (200-400 ms with many sessions),
        then encoded all their rows. The listing then finds both current."""
        if self.manager.catalog_current() and self.manager.listing_current():
            return
        async with self._catalog_lock:
            if not self.manager.catalog_current() and not self.manager.quick_catalog_scan():
                self.manager.apply_catalog_scan(await run_in_worker(self.manager.catalog_scan_job()))
            job = self.manager.list_encoder_job()
            if job is not None:  # a few rows are encoded at once, thousands in a worker
                self.manager.install_list_encoder(job() if self.manager.catalog_is_small() else await run_in_worker(job))

    def session_lock(self, name: str) -> anyio.Lock:
        # fast_acquire: a free lock is taken without a trip through the loop (one per command)
        return self.session_locks.get(name) or self.session_locks.setdefault(name, anyio.Lock(fast_acquire=True))

    def working_sessions(self) -> set[str]:
        """The session each connected client last ran a command in (kept loaded: see ``in_use``)."""
        return {connection.working_session for connection in self.connections.values()
                if connection.working_session is not None}

    def forget_idle_locks(self) -> None:
        """Drop the command locks of sessions no longer in the pool that nobody holds or waits for
        (a server that touched 10,000 sessions would otherwise keep 10,000 locks)."""
        pool = self.manager.pool
        for name in [name for name in self.session_locks if name not in pool]:
            statistics = self.session_locks[name].statistics()
            if not statistics.locked and not statistics.tasks_waiting:
                del self.session_locks[name]

    async def run_cooperative(self, instance: SessionInstance, steps: Generator[Any, Any, None],
                              on_result: Any = None, on_slice: Any = None, on_token: Any = None) -> list[FormResult]:
        """Drive a session's execution: yield to other tasks at every slice, effects off the loop.

        ``on_slice(force)``, if given, runs between slices (``force`` before an effect waits): the
        live output stream (``output_stream``) hooks in there. ``on_token(text)``, if given, runs
        on the loop for each piece of a streaming oracle answer."""
        sink = None
        if on_token is not None:
            def sink(text: str) -> None:  # the effect's worker thread: hand the piece to the loop
                anyio.from_thread.run_sync(on_token, text)
        results: list[FormResult] = []
        to_send: Any = None
        to_throw: Exception | None = None
        last_breath = last_turn = last_young = time.perf_counter()
        instance.session.evaluator.slices_to_host = True  # each slice comes here: run in the machine thread
        while True:
            try:
                item = steps.throw(to_throw) if to_throw is not None else steps.send(to_send)
            except StopIteration:
                return results
            to_send = to_throw = None
            if isinstance(item, RunSlice):
                try:
                    to_send = await machine_thread.run(item.run, item.meter)
                except Exception as problem:  # raised in the generator where the slice ran
                    to_throw = problem
                continue
            if on_slice is not None and not isinstance(item, FormResult):
                on_slice(isinstance(item, EffectCall))
            if isinstance(item, EffectCall):
                try:
                    effect_args = (item.op, item.args) if sink is None else (item.op, item.args, sink)
                    to_send = await anyio.to_thread.run_sync(instance.session.effects.perform, *effect_args)
                except OmegaError as problem:
                    to_throw = problem
            elif isinstance(item, FormResult):
                results.append(item)
                if on_result is not None:
                    on_result(item)
                if time.perf_counter() - last_turn > FORMS_TURN_S:  # many quick forms in a row
                    for _ in range(SLICE_YIELDS):
                        await anyio.sleep(0)
                    last_turn = time.perf_counter()
            else:
                if time.perf_counter() - last_young > YOUNG_COLLECTION_EVERY_S:
                    collect_young()  # bounds the young generations (``collector``)
                    last_young = time.perf_counter()
                if time.perf_counter() - last_breath > BREATHE_EVERY_S:
                    await anyio.sleep(BREATHE_S)
                    last_breath = last_turn = time.perf_counter()
                else:
                    for _ in range(SLICE_YIELDS):
                        await anyio.sleep(0)
                    last_turn = time.perf_counter()

    def status(self) -> dict[str, Any]:
        return {
            "supervisor_pid": self.supervisor_pid,
            "backend_pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "clients": len(self.connections),
            "sessions_in_pool": len(self.manager.pool),
            "rss_bytes": rss_bytes(),
            "restarts": self.restarts,
            "pool": {**self._pool_figures(), "max_sessions": self.manager.max_sessions},
            "last_flush": self.persistence.last_flush,
            "session_dir": str(self.config.session_dir),
            "degraded": self.manager.health.degraded(),
            "loop": {key: value for key, value in self.loop_watch.figures().items() if key != "recent_stalls"},
            "start": self.start_record.figures(),
            "config": effective_config(self.config),  # front ends compare theirs (config_report.py)
        }


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
