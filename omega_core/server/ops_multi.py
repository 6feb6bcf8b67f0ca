"""Ops for several clients on one session (ARCHITECTURE.md section 5), metrics, snapshots and the
annotated timeline. The same rules apply to the equivalent REPL commands sent through ``execute``."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from omega_core.repl.timeline_commands import restore_snapshot, session_metrics, take_snapshot
from omega_core.server.access import Mode
from omega_core.server.off_loop import provide_from_thread, restore_in_place
from omega_core.server.worker_threads import run_in_worker
from omega_core.server.protocol import ErrorCode, ProtocolError, Request
from omega_core.session import timeline as tl
from omega_core.session.names import validate_name

if TYPE_CHECKING:  # pragma: no cover
    from omega_core.server.connection import Connection
    from omega_core.server.context import OpsContext as Backend  # the ops' narrow view of the backend

PAGE_LIMIT = 1000


def session_name(request: Request) -> str:
    from omega_core.repl.state import DEFAULT_SESSION

    return validate_name(request.session or DEFAULT_SESSION)


def require_write(backend: "Backend", connection: "Connection", name: str) -> None:
    """Check (or implicitly take) write access before a change."""
    backend.access.require_write(name, connection.number, connection.client_id, connection.name)


def require_not_held_elsewhere(backend: "Backend", connection: "Connection", name: str) -> None:
    """For deleting or renaming a whole session: refused (``locked``) when another client writes to
    it and (``read_only``) when this client follows it read-only; nobody holding it is fine."""
    holder = backend.access.writer(name)
    if (holder is not None and holder.connection != connection.number) or backend.access.mode_of(name, connection.number):
        require_write(backend, connection, name)


def _int(request: Request, key: str, default: int | None = None, minimum: int = 0) -> int:
    value = request.args.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"args.{key} must be an integer >= {minimum}", request.id)
    return value


def _tags(request: Request) -> list[str]:
    tags = request.args.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "args.tags must be a list of names", request.id)
    return [validate_name(tag, "tag") for tag in tags]


def attach(backend: "Backend", connection: "Connection", name: str, read_only: bool, steal: bool) -> str:
    mode = Mode.READ_ONLY if read_only else Mode.READ_WRITE
    displaced = backend.access.attach(name, connection.number, connection.client_id, connection.name, mode, steal)
    if displaced is not None:  # it now follows the new holder: subscribe it, then tell it
        followers = backend.subscribers.setdefault(name, set())
        followers.add(displaced.connection)
        backend.push_to(displaced.connection, "access_lost", session=name, by=connection.name,
                        message=f"{connection.name} took write access to '{name}'; you now follow it read-only")
    backend.subscribe(connection, name)
    taken = f" (taken from {displaced.describe()})" if displaced is not None else ""
    return f"Attached to '{name}' {mode.value}{taken}"


def clients_text(backend: "Backend", name: str) -> str:
    holders = backend.access.holders(name)
    if not holders:
        return f"  nobody is attached to '{name}'"
    return "\n".join(f"  {holder.name:<20} {holder.mode.value:<10} {holder.describe()}" for holder in holders)


async def op_access(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    mode = request.args.get("mode", "read-write")
    if mode not in (Mode.READ_WRITE.value, Mode.READ_ONLY.value):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "args.mode must be read-write or read-only", request.id)
    await backend.instance(name, create=mode == Mode.READ_WRITE.value)
    message = attach(backend, connection, name, mode == Mode.READ_ONLY.value, bool(request.args.get("steal")))
    return {"session": name, "mode": mode, "message": message}


async def op_release(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    was_writer = (writer := backend.access.writer(name)) is not None and writer.connection == connection.number
    released = backend.access.release(name, connection.number)
    if was_writer:
        backend.tell_writer_left(name, connection.name)
    return {"released": released}


async def op_clients(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    return [{"client_id": h.client_id, "name": h.name, "mode": h.mode.value, "since": h.since}
            for h in backend.access.holders(name)]


async def op_subscribe(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    await backend.instance(name, create=False)
    backend.subscribe(connection, name)
    return {"subscribed": True, "session": name}


async def op_unsubscribe(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    backend.subscribers.get(name, set()).discard(connection.number)
    return {"subscribed": False, "session": name}


async def op_metrics(backend: "Backend", connection: "Connection", request: Request) -> Any:
    if request.session is None:
        return backend.server_metrics()
    instance = await backend.instance(session_name(request), create=False)
    return session_metrics(instance.repl, None)


async def op_timeline(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(session_name(request), create=False)
    tag = request.args.get("tag")
    if tag is not None:
        tag = validate_name(str(tag), "tag")
    offset = _int(request, "offset", 0)
    limit = min(_int(request, "limit", 200), PAGE_LIMIT)
    session = instance.session
    total, items = tl.page(session.checkpoints, session.checkpoint_seqs, session.timeline, offset, limit, tag)
    return {"total": total, "position": session.position, "items": items}


async def op_annotate(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    seq = _int(request, "seq")
    label = request.args.get("label")
    note = request.args.get("note")
    if not isinstance(label, str) or (note is not None and not isinstance(note, str)):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "annotate needs args.label (text) and optional args.note (text)", request.id)
    if seq not in set(instance.session.checkpoint_seqs):
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no checkpoint at seq {seq}", request.id)
    instance.session.timeline.annotate(seq, label, note, _tags(request))
    backend.notify_timeline(name)
    return {"annotated": seq}


async def op_unannotate(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    instance.session.timeline.unannotate(_int(request, "seq"))
    backend.notify_timeline(name)
    return {"unannotated": request.args["seq"]}


async def op_snapshot(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    description = request.args.get("description", "")
    if not isinstance(description, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "args.description must be text", request.id)
    made = take_snapshot(instance.repl, description, _tags(request))
    backend.notify_timeline(name)
    return made


async def op_snapshots(backend: "Backend", connection: "Connection", request: Request) -> Any:
    instance = await backend.instance(session_name(request), create=False)
    return list(instance.session.timeline.snapshots)


async def op_restore(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    snapshot_id = request.args.get("id")
    as_name = request.args.get("as")
    if not isinstance(snapshot_id, str) or (as_name is not None and not isinstance(as_name, str)):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "restore needs args.id and optional args.as (a new session name)", request.id)
    instance.busy += 1  # leased before waiting for the lock: the pool cannot evict it meanwhile
    try:
        async with backend.session_lock(name):
            if as_name:  # a copy of a big session: in a worker thread (see off_loop)
                view = dataclasses.replace(instance.repl, provider=provide_from_thread(backend))
                repl, report = await run_in_worker(restore_snapshot, view, snapshot_id, as_name)
            else:  # in place: a jump, its replay in a worker thread (like goto)
                repl, report = instance.repl, await restore_in_place(instance.repl, snapshot_id)
    finally:
        instance.busy -= 1
    backend.notify_timeline(name)
    return {"report": report, "session": repl.session.name}


async def op_snapshot_delete(backend: "Backend", connection: "Connection", request: Request) -> Any:
    name = session_name(request)
    instance = await backend.instance(name, create=False)
    require_write(backend, connection, name)
    snapshot_id = request.args.get("id")
    if not isinstance(snapshot_id, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "snapshot_delete needs args.id", request.id)
    instance.session.timeline.delete_snapshot(snapshot_id)
    backend.notify_timeline(name)
    return {"deleted": snapshot_id}
