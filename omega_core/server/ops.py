"""What each protocol op does in the backend. ``dispatch`` is the one entry point.

``execute`` reaches every REPL command and runs code cooperatively; a retried ``execute`` whose
input is already in the session log (after a backend crash) is answered from the log, so a
command runs exactly once. The structured ops (list_sessions, checkpoints, trace ...) read the
in-memory session and never parse text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omega_core.server.execute_reply import reply_from_events, result_dict
from omega_core.repl.processor import process
from omega_core.repl.state import DEFAULT_SESSION
from omega_core.server import protocol as proto
from omega_core.server.context import EXIT_RESTART, EXIT_STOP
from omega_core.server.protocol import ErrorCode, Op, ProtocolError, Request
from omega_core.errors import OmegaError
from omega_core.server import ops_multi as multi
from omega_core.server import off_loop, typed_goto
from omega_core.server.ops_history import op_history
from omega_core.server.worker_threads import run_in_worker
from omega_core.server.ops_multi import attach, clients_text, require_not_held_elsewhere, require_write
from omega_core.session.metrics import describe_age
from omega_core.session.names import validate_name


def format_server_metrics(data: dict[str, Any]) -> str:
    pool = data["pool"]
    persistence = data["persistence"]
    return "\n".join([
        "Server",
        f"  uptime        {data['uptime_s']:.0f} s, {data['restarts']} backend restart(s)",
        f"  clients       {data['clients']}",
        f"  pool          {pool['sessions']} sessions, {pool['hits']} hits, {pool['misses']} misses, "
        f"{pool['evictions']} evictions, about {pool['memory_estimate_bytes']:,} of {pool['max_memory_bytes']:,} bytes",
        f"  persistence   {persistence['queue']} session(s) waiting, {persistence['bytes_written']:,} bytes written, "
        f"last flush {describe_age(persistence['last_flush'])}",
        *[f"  degraded      {name}: {cause}" for name, cause in sorted(data.get("degraded", {}).items())],
    ])

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.eval_steps import FormResult
    from omega_core.server.connection import Connection
    from omega_core.server.context import OpsContext as Backend  # the ops' narrow view of the backend

SERVER_VERSION = 1
READ_COMMANDS = frozenset({
    ":session list", ":session checkpoints", ":session trace", ":session timeline", ":session snapshots",
    ":session metrics", ":server metrics", ":session clients", ":session attach", ":session release", ":history",
    ":help", ":quit", ":q", ":exit", ":session", ":env", ":defs", ":stack", ":frame", ":control", ":breaks", ":snapshots",
})
"""Commands a read-only client may run; every other command and all code need write access."""


def _session_name(request: Request) -> str:
    return validate_name(DEFAULT_SESSION if request.session is None else request.session)


def _int_arg(request: Request, name: str, default: int | None = None, minimum: int = 0) -> int:
    value = request.args.get(name, default)
    if value is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{request.op} needs args.{name}", request.id)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"args.{name} must be an integer >= {minimum}", request.id)
    return value


def recorded_reply(session: Any, request_id: str) -> dict[str, Any] | None:
    """The reply of an input already in the log under ``request_id`` (a retry after a crash)."""
    if request_id not in session.recent_rids:
        return None
    events = list(session.recent)
    for position, event in enumerate(events):
        if event.get("type") == "input" and event.get("rid") == request_id:
            return reply_from_events(events[position:], session.name)
    return None


async def op_execute(backend: "Backend", connection: "Connection", request: Request) -> Any:
    line = request.args.get("line")
    if not isinstance(line, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "execute needs args.line (a string)", request.id)
    limit = backend.config.language.max_input_chars
    if len(line) > limit:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"input of {len(line)} characters is over the limit of {limit} "
                            "([language] max_input_chars)", request.id)
    name = _session_name(request)
    connection.working_session = name
    instance = await backend.instance(name)
    instance.busy += 1  # leased at once (no await before this): the pool cannot evict it now
    try:
        return await _execute(backend, connection, request, line, name, instance)
    finally:
        instance.busy -= 1
        instance.touch()
        backend.manager.evict_if_needed(keep=name)


async def _execute(backend: "Backend", connection: "Connection", request: Request, line: str, name: str,
                   instance: Any) -> Any:
    rid = f"{connection.client_id}:{request.id}"
    is_command = line.strip().startswith(":")
    if is_command:
        answered = await server_command(backend, connection, name, line)
        if answered is not None:
            return answered
    command_name = command_of(line) if is_command else None
    if command_name not in READ_COMMANDS:
        # A resend whose input reached the log gets its original reply before any access rule,
        # as from the request record (``request_record``), which a crash between the log's
        # write and the record's can miss: another client holding the write lock by then made
        # it a ``locked`` refusal of an input that had run (found by the jepsen test).
        earlier = recorded_reply(instance.session, rid)
        if earlier is not None:
            return earlier
        require_write(backend, connection, name)
    async with backend.session_lock(name):
        earlier = recorded_reply(instance.session, rid)
        if earlier is not None:
            return earlier
        if is_command:
            if command_name == typed_goto.COMMAND:  # the replay in a worker thread, like op_goto
                output = await typed_goto.typed_goto(instance.session, line)
                backend.notify_timeline(name)
                return {"output": output, "results": [], "exit": False, "session": name}
            words = split_words(line)
            snapshot_id = off_loop.restores_in_place(command_name, words)
            if snapshot_id is not None:  # a jump: the replay in a worker thread, like goto
                output = await off_loop.typed_restore_in_place(instance.repl, snapshot_id)
                backend.notify_timeline(name)
                return {"output": output, "results": [], "exit": False, "session": name}
            if off_loop.runs_off_loop(command_name, words):  # long file work (copies, loads)
                repl, output, should_exit = await off_loop.run_off_loop(backend, instance.repl, line)
            else:
                repl, output, should_exit = process(instance.repl, line)
            if repl.session.name != name:  # :session load/fork/restore --as moved this client
                backend.access.release(name, connection.number)
                require_write(backend, connection, repl.session.name)
            backend.notify_timeline(name)
            return {"output": output, "results": [], "exit": should_exit, "session": repl.session.name}
        first_line = request.args.get("first_line", 1)
        if not isinstance(first_line, int) or isinstance(first_line, bool) or first_line < 1:
            first_line = 1
        steps = instance.session.execute_steps(line, first_line, request_id=rid)
        from omega_core.server.output_stream import stream_for

        wants_stream = request.args.get("stream") is True
        stream = stream_for(backend, connection if wants_stream else None, name, request.id, instance, requester=connection)
        on_wire: list[dict[str, Any]] = []  # each form's result as the reply carries it, built once

        def form_done(result: FormResult) -> None:
            item = result_dict(result)
            on_wire.append(item)
            stream.form_done(result.output or "", lambda: item)  # the same dict, pushed to a streamer

        results = await backend.run_cooperative(instance, steps, on_result=form_done,
                                                on_slice=stream.slice, on_token=stream.oracle_token)
        output = "\n".join(result.transcript() for result in results)
        return {"output": output, "results": on_wire, "exit": False, "session": name}


def split_words(line: str) -> list[str]:
    """``line``'s words as the processor splits them (quotes kept together)."""
    from omega_core.repl.processor import split_arguments

    return split_arguments(line.strip())


def command_of(line: str) -> str | None:
    from omega_core.repl.processor import find_command, split_arguments

    found, _ = find_command(split_arguments(line.strip()))
    return found.name if found is not None else None


async def server_command(backend: "Backend", connection: "Connection", name: str, line: str) -> dict[str, Any] | None:
    """Commands whose answer depends on connections: the server answers them, not the processor."""
    from omega_core.repl.processor import split_arguments

    words = split_arguments(line.strip())
    command = " ".join(words[:2])

    def reply(output: str, session: str = name) -> dict[str, Any]:
        return {"output": output, "results": [], "exit": False, "session": session}

    try:
        if command == ":session attach":
            targets = [word for word in words[2:] if not word.startswith("--")]
            if len(targets) != 1:
                return reply("usage: :session attach NAME [--read-only] [--steal]")
            target = validate_name(targets[0])
            await backend.instance(target, create="--read-only" not in words)
            if target != name:
                backend.access.release(name, connection.number)
            return reply(attach(backend, connection, target, "--read-only" in words, "--steal" in words), target)
        if command == ":session release":
            released = backend.access.release(name, connection.number)
            return reply(f"Released '{name}'" if released else f"this client held nothing on '{name}'")
        if command == ":session clients":
            return reply(clients_text(backend, name))
        if command == ":server metrics":
            return reply(format_server_metrics(backend.server_metrics()))
        if command == ":session list" and len(words) == 2:
            await backend.refresh_catalog()
            return reply(session_list_text(backend))
    except OmegaError as problem:
        return reply(f"error: {problem.message}")
    return None


def session_list_text(backend: "Backend") -> str:
    """``:session list`` with the health of each session: ``[degraded: cause]`` after a session
    whose background jobs failed (interfaces.md #2)."""
    from omega_core.session.listing import format_session_list

    summaries = backend.manager.summaries(refresh=False)  # the caller refreshed it off the loop
    lines = format_session_list(summaries)
    degraded = backend.manager.health.degraded()
    if degraded and len(lines) == len(summaries):
        lines = [f"{line} [degraded: {degraded[summary.name]}]" if summary.name in degraded else line
                 for line, summary in zip(lines, summaries)]
    return "\n".join(lines)


async def op_hello(backend: "Backend", connection: "Connection", request: Request) -> Any:
    client_id = request.args.get("client_id")
    if isinstance(client_id, str) and 0 < len(client_id) <= 128:
        connection.client_id = client_id
    name = request.args.get("name")
    if isinstance(name, str):
        connection.name = name[:64]
    return {"server_version": SERVER_VERSION, "backend_pid": backend.status()["backend_pid"],
            "supervisor_pid": backend.supervisor_pid, "restarts": backend.restarts, "client_id": connection.client_id}


async def op_list_sessions(backend: "Backend", connection: "Connection", request: Request) -> Any:
    await backend.refresh_catalog()  # the disk half in a worker thread (after a restart: every session)
    return proto.RawJSON(backend.manager.list_json(refresh=False))


async def op_checkpoints(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(_session_name(request), create=False)
    checkpoints = instance.session.checkpoints
    limit = request.args.get("limit")
    if limit is not None:
        checkpoints = checkpoints[-_int_arg(request, "limit"):]
    return [dict(cp) for cp in checkpoints]


async def op_trace(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(_session_name(request), create=False)
    count = _int_arg(request, "count", 50)
    return instance.session.tail_events(count)


async def op_goto(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = _session_name(request)
    seq = _int_arg(request, "seq")
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    instance.busy += 1
    try:
        async with backend.session_lock(name):  # the replay runs off the loop; the session is held
            prepared = await run_in_worker(instance.session.prepare_goto, seq)
            return {"report": instance.session.finish_goto(prepared), "seq": seq}
    finally:
        instance.busy -= 1


async def op_interrupt(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = _session_name(request)
    instance = backend.manager.pool.get(name)
    if instance is None or instance.busy == 0:
        return {"interrupted": False}
    instance.session.evaluator.interrupt()
    if instance.repl.debugger is not None:
        instance.repl.debugger.interrupt()
    return {"interrupted": True}


async def op_status(backend: "Backend", connection: "Connection", request: Request) -> Any:
    return backend.status()


async def op_shutdown(backend: "Backend", connection: "Connection", request: Request) -> Any:
    backend.stop(EXIT_STOP)
    return {"stopping": True}


async def op_restart(backend: "Backend", connection: "Connection", request: Request) -> Any:
    backend.stop(EXIT_RESTART)
    return {"restarting": True}


async def op_open(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(_session_name(request), create=bool(request.args.get("create", True)))
    session = instance.session
    return {"session": session.name, "events": session.next_seq, "checkpoints": len(session.checkpoints),
            "warnings": list(session.warnings)}


async def op_close(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = _session_name(request)
    async with backend.session_lock(name):
        instance = backend.manager.pool.get(name)
        if instance is not None and not instance.session.closed:
            try:
                await backend.persistence.flush_now(instance.session)
            except Exception:  # noqa: BLE001 - the close flushes again and reports a failure itself
                pass
        return {"unloaded": backend.manager.unload(name)}


async def op_delete(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = _session_name(request)
    require_not_held_elsewhere(backend, connection, name)
    async with backend.session_lock(name):
        backend.manager.delete(name, request.args.get("confirm"))
    backend.access.sessions.pop(name, None)
    return {"deleted": name}


async def op_rename(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = _session_name(request)
    target = request.args.get("to")
    if not isinstance(target, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "rename needs args.to (the new name)", request.id)
    require_not_held_elsewhere(backend, connection, name)
    async with backend.session_lock(name):  # the copy of a big session runs off the loop
        manager = backend.manager
        held = manager.begin_rename(name, target)
        done = False
        try:
            await run_in_worker(manager.rename_files, name, target, held)
            done = True
        finally:
            manager.end_rename(name, target, held, done)
    backend.access.sessions.pop(name, None)
    return {"renamed": name, "to": target}


async def op_transcript(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(_session_name(request), create=False)
    limit = _int_arg(request, "limit", 200)
    return [event for event in instance.session.tail_events(limit * 6)
            if event.get("type") in ("input", "result", "error")][-limit * 3:]


async def op_ping(backend: "Backend", connection: "Connection", request: Request) -> Any:
    return "pong"


HANDLERS = {
    Op.HELLO: op_hello,
    Op.EXECUTE: op_execute,
    Op.LIST_SESSIONS: op_list_sessions,
    Op.CHECKPOINTS: op_checkpoints,
    Op.TRACE: op_trace,
    Op.GOTO: op_goto,
    Op.INTERRUPT: op_interrupt,
    Op.STATUS: op_status,
    Op.SHUTDOWN: op_shutdown,
    Op.RESTART: op_restart,
    Op.OPEN: op_open,
    Op.CLOSE: op_close,
    Op.DELETE: op_delete,
    Op.RENAME: op_rename,
    Op.TRANSCRIPT: op_transcript,
    Op.PING: op_ping,
    Op.SUBSCRIBE: multi.op_subscribe,
    Op.UNSUBSCRIBE: multi.op_unsubscribe,
    Op.ACCESS: multi.op_access,
    Op.RELEASE: multi.op_release,
    Op.CLIENTS: multi.op_clients,
    Op.METRICS: multi.op_metrics,
    Op.SNAPSHOT: multi.op_snapshot,
    Op.SNAPSHOTS: multi.op_snapshots,
    Op.RESTORE: multi.op_restore,
    Op.SNAPSHOT_DELETE: multi.op_snapshot_delete,
    Op.TIMELINE: multi.op_timeline,
    Op.ANNOTATE: multi.op_annotate,
    Op.UNANNOTATE: multi.op_unannotate,
    Op.HISTORY: op_history,
}


async def dispatch(backend: "Backend", connection: "Connection", request: Request) -> Any:
    return await HANDLERS[Op(request.op)](backend, connection, request)


__all__ = ["dispatch"]
