"""Snapshots, annotations, the timeline, metrics and access commands.

Access commands (``attach``, ``release``, ``clients``) and ``:server metrics`` depend on who is
connected, so the server answers them itself; here, in a REPL that owns its session, they say so.
"""

from __future__ import annotations

from typing import Any

from omega_core.repl.processor import CommandError, Result, UsageError, command
from omega_core.repl.session_commands import parse_seq
from omega_core.repl.state import ReplState
from omega_core.session.copying import copy_session
from omega_core.session.metrics import format_session_metrics
from omega_core.session.names import validate_name
from omega_core.session.timeline import format_items, page

GROUP = "Snapshots and timeline"
TIMELINE_DEFAULT = 50


def split_flags(args: list[str], flags: dict[str, bool]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional words and flag values; ``flags`` maps a flag to whether it repeats."""
    words: list[str] = []
    values: dict[str, list[str]] = {flag: [] for flag in flags}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in flags:
            if index + 1 >= len(args):
                raise UsageError(f"{arg} needs a value")
            if values[arg] and not flags[arg]:
                raise CommandError(f"{arg} given twice")
            values[arg].append(args[index + 1])
            index += 2
        elif arg.startswith("--") and arg not in flags:
            raise CommandError(f"unknown option {arg}")
        else:
            words.append(arg)
            index += 1
    return words, values


def take_snapshot(state: ReplState, description: str, tags: list[str], auto: bool = False) -> dict[str, Any]:
    session = state.session
    if session.position < 0:
        raise CommandError("nothing to snapshot yet: the session has no events")
    return session.timeline.add_snapshot(session.position, description, tags, auto=auto)


@command(":session snapshot", ":session snapshot [DESCRIPTION] [--tag T]...", "snapshot the current point (shares the log)",
         GROUP, 0, None)
def snapshot(state: ReplState, args: list[str]) -> Result:
    words, flags = split_flags(args, {"--tag": True})
    made = take_snapshot(state, " ".join(words), flags["--tag"])
    return state, f"Snapshot {made['id']} at seq {made['seq']}" + (f": {made['description']}" if made["description"] else ""), False


@command(":session snapshots", ":session snapshots", "list snapshots", GROUP)
def snapshots(state: ReplState, args: list[str]) -> Result:
    items = state.session.timeline.snapshots
    if not items:
        return state, "  (no snapshots)", False
    lines = [f"  {item['id']:<8} seq {item['seq']:<6} {item['description']}" + "".join(f" #{tag}" for tag in item.get("tags", []))
             for item in items]
    return state, "\n".join(lines), False


@command(":session restore", ":session restore ID [--as NEW]", "go back to a snapshot (or copy it into session NEW)", GROUP, 1, 3)
def restore(state: ReplState, args: list[str]) -> Result:
    words, flags = split_flags(args, {"--as": False})
    if len(words) != 1:
        raise UsageError("one snapshot id")
    new_state, report = restore_snapshot(state, words[0], flags["--as"][0] if flags["--as"] else None)
    return new_state, report, False


def restore_snapshot(state: ReplState, snapshot_id: str, as_name: str | None) -> tuple[ReplState, str]:
    """Restore a snapshot in place (snapshotting what it replaces first) or as a new session."""
    session = state.session
    snap = session.timeline.snapshot(snapshot_id)
    if as_name:
        name = validate_name(as_name)
        count = copy_session(session, name, upto_seq=snap["seq"])
        return state.switch_to(name), f"Restored {snap['id']} as new session '{name}' ({count} events); now in '{name}'"
    if not 0 <= snap["seq"] < session.next_seq:
        raise CommandError(f"snapshot {snap['id']} points at seq {snap['seq']}, which this session does not have")
    undo = take_snapshot(state, f"before restoring {snap['id']}", ["auto"], auto=True)
    report = session.goto(snap["seq"])
    return state, f"{report}\nRestored {snap['id']} (what it replaced is snapshot {undo['id']}: :session restore {undo['id']} undoes this)"


@command(":session snapshot-delete", ":session snapshot-delete ID", "delete a snapshot", GROUP, 1, 1)
def snapshot_delete(state: ReplState, args: list[str]) -> Result:
    state.session.timeline.delete_snapshot(args[0])
    return state, f"Deleted snapshot {args[0]}", False


@command(":session annotate", ":session annotate SEQ LABEL [--note TEXT] [--tag T]...", "label a checkpoint", GROUP, 2, None)
def annotate(state: ReplState, args: list[str]) -> Result:
    words, flags = split_flags(args, {"--note": False, "--tag": True})
    if len(words) < 2:
        raise UsageError("SEQ and LABEL")
    seq = parse_seq(words[0])
    session = state.session
    if seq not in set(session.checkpoint_seqs):
        raise CommandError(f"no checkpoint at seq {seq} (annotations go on checkpoints: see :session checkpoints)")
    session.timeline.annotate(seq, " ".join(words[1:]), flags["--note"][0] if flags["--note"] else None, flags["--tag"])
    return state, f"Annotated seq {seq}", False


@command(":session unannotate", ":session unannotate SEQ", "remove a checkpoint's annotation", GROUP, 1, 1)
def unannotate(state: ReplState, args: list[str]) -> Result:
    seq = parse_seq(args[0])
    state.session.timeline.unannotate(seq)
    return state, f"Removed the annotation at seq {seq}", False


@command(":session timeline", ":session timeline [--tag T] [all|N]", "checkpoints, annotations, snapshots, forks and jumps",
         GROUP, 0, 3)
def timeline(state: ReplState, args: list[str]) -> Result:
    words, flags = split_flags(args, {"--tag": False})
    tag = validate_name(flags["--tag"][0], "tag") if flags["--tag"] else None
    session = state.session
    total, _ = page(session.checkpoints, session.checkpoint_seqs, session.timeline, 0, 0, tag)
    count = total if words and words[0] == "all" else parse_seq(words[0], "N") if words else TIMELINE_DEFAULT
    offset = max(0, total - count)
    _, items = page(session.checkpoints, session.checkpoint_seqs, session.timeline, offset, count, tag)
    if not items:
        if total:
            return state, f"  ({total} items on the timeline; ask for some: :session timeline N)", False
        return state, "  (nothing on the timeline" + (f" tagged {tag})" if tag else ")"), False
    lines = [f"  ({offset} earlier items; :session timeline all)"] if offset else []
    lines += format_items(items, session.position)
    return state, "\n".join(lines), False


def session_metrics(state: ReplState, name: str | None) -> dict[str, Any]:
    session = state.session
    if name is not None and name != session.name:
        if state.provider is None:
            raise CommandError(f"metrics are kept for the session in use; :session load {name} first")
        if not (state.sessions_dir / f"{validate_name(name)}.jsonl").exists():
            raise CommandError(f"no session named '{name}' (see :session list)")
        session = state.provider(name)
    estimate = session.estimated_memory()
    return session.metrics.as_dict(estimate, session.peak_memory, session.disk_bytes())


@command(":session metrics", ":session metrics [NAME]", "commands, latency, steps, oracle use, memory, disk", GROUP, 0, 1)
def metrics(state: ReplState, args: list[str]) -> Result:
    name = args[0] if args else state.session.name
    return state, format_session_metrics(name, session_metrics(state, args[0] if args else None)), False


@command(":server metrics", ":server metrics", "server-wide figures (when connected to a server)", GROUP)
def server_metrics(state: ReplState, args: list[str]) -> Result:
    raise CommandError("this REPL runs in-process, without a server (start omega without --embedded)")


@command(":session attach", ":session attach NAME [--read-only] [--steal]", "use session NAME read-write or read-only",
         GROUP, 1, 3)
def attach(state: ReplState, args: list[str]) -> Result:
    from omega_core.repl.session_commands import session_load

    words = [arg for arg in args if arg not in ("--read-only", "--steal")]
    if len(words) != 1:
        raise UsageError("one session name")
    return session_load(state, words)


@command(":session release", ":session release", "give up this client's access to the session", GROUP)
def release(state: ReplState, args: list[str]) -> Result:
    return state, "This REPL runs in-process: it is the only client, nothing to release", False


@command(":session clients", ":session clients", "who is attached to this session, and how", GROUP)
def clients(state: ReplState, args: list[str]) -> Result:
    return state, f"  this REPL (in-process)  read-write  '{state.session.name}'", False
