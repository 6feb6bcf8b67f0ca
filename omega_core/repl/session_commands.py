"""``:session ...`` commands: list, save, fork, load, repair, goto, checkpoints, trace, resume."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from omega_core.repl.processor import CommandError, Result, UsageError, command
from omega_core.repl.state import ReplState
from omega_core.session.copying import copy_session
from omega_core.session.listing import format_session_list, list_sessions
from omega_core.session.names import validate_name
from omega_core.session.recorded import RecordedSession
from omega_core.session.repair import repair_session
from omega_core.session.trace_cache import trace_tail

GROUP = "Sessions"
TRACE_DEFAULT = 50
CHECKPOINTS_DEFAULT = 50


def parse_seq(text: str, what: str = "SEQ") -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"{what} must be a whole number, got {text!r}") from None
    if value < 0:
        raise CommandError(f"{what} must be 0 or more, got {value}")
    return value


@command(":session list", ":session list", "list the sessions on disk", GROUP)
def session_list(state: ReplState, args: list[str]) -> Result:
    if state.lister is not None:
        return state, "\n".join(format_session_list(state.lister())), False
    session = state.session  # its counts come from memory: no flush, no re-read of its files
    summaries = [
        replace(summary, event_count=session.next_seq, checkpoint_count=len(session.checkpoints))
        if summary.name == session.name else summary
        for summary in list_sessions(state.sessions_dir, with_sizes=False)
    ]
    return state, "\n".join(format_session_list(summaries)), False


@command(":session save", ":session save NAME", "save a copy of this session as NAME", GROUP, 1, 1)
def session_save(state: ReplState, args: list[str]) -> Result:
    name = validate_name(args[0])
    count = copy_session(state.session, name)
    return state, f"Saved session '{state.session.name}' as '{name}' ({count} events)", False


@command(":session fork", ":session fork NAME", "copy this session up to the current point as NAME and switch to it", GROUP, 1, 1)
def session_fork(state: ReplState, args: list[str]) -> Result:
    name = validate_name(args[0])
    session = state.session
    upto = session.cursor if session.cursor is not None else session.next_seq - 1
    count = copy_session(session, name, upto_seq=upto)
    new_state = state.switch_to(name)
    return new_state, f"Forked '{session.name}' at seq {upto} into '{name}' ({count} events); now in '{name}'", False


@command(":session load", ":session load NAME", "switch to session NAME (rebuilt from its log)", GROUP, 1, 1)
def session_load(state: ReplState, args: list[str]) -> Result:
    name = validate_name(args[0])
    if not (state.sessions_dir / f"{name}.jsonl").exists():
        raise CommandError(f"no session named '{name}' (see :session list)")
    new_state = state.switch_to(name)
    lines = [*new_state.session.warnings, f"Loaded session '{name}' ({new_state.session.next_seq} events)"]
    return new_state, "\n".join(lines), False


@command(":session repair", ":session repair NAME",
         "fix a damaged session: back up its files, cut the log after its last consistent event, rebuild the index", GROUP, 1, 1)
def session_repair(state: ReplState, args: list[str]) -> Result:
    name = validate_name(args[0])
    current = state.session
    if name == current.name and current.damaged is None and not current.closed:
        raise CommandError(f"session '{name}' is the one open here, so it is not damaged; nothing to repair")
    report = repair_session(state.sessions_dir, name)
    if name == current.name:
        current.close()  # the damaged, read-only view: a server's pool then opens the repaired files
        return state.switch_to(name), report.text(), False
    if state.provider is not None:
        state.provider(name)  # opens it (the server's pool then lists it as healthy)
    else:
        RecordedSession.open(state.sessions_dir, name, state.config, state.effects).close()
    return state, report.text(), False


@command(":session goto", ":session goto SEQ", "jump to the state at event SEQ (any event, replayed from receipts)", GROUP, 1, 1)
def session_goto(state: ReplState, args: list[str]) -> Result:
    return state, state.session.goto(parse_seq(args[0])), False


@command(":session resume", ":session resume", "after a goto, move on to the next checkpoint", GROUP)
def session_resume(state: ReplState, args: list[str]) -> Result:
    session = state.session
    if session.cursor is None or session.jump_record_seq is None:
        raise CommandError("nothing to resume: use :session goto SEQ first")
    following = [cp["seq"] for cp in session.checkpoints if session.cursor < cp["seq"] < session.jump_record_seq]
    if not following:
        raise CommandError(f"no checkpoint after seq {session.cursor} in this timeline")
    return state, session.goto(following[0], resuming=True), False


@command(":session checkpoints", ":session checkpoints [all|N]", "list checkpoints (last 50 by default)", GROUP, 0, 1)
def session_checkpoints(state: ReplState, args: list[str]) -> Result:
    checkpoints = state.session.checkpoints
    count = len(checkpoints) if args and args[0] == "all" else parse_seq(args[0], "N") if args else CHECKPOINTS_DEFAULT
    shown = checkpoints[-count:] if count else []
    lines = []
    if len(shown) < len(checkpoints):
        lines.append(f"  ({len(checkpoints) - len(shown)} earlier checkpoints; :session checkpoints all)")
    for cp in shown:
        lines.append(f"  [{cp['seq']:03d}] {cp['reason']} (state: {cp['stateId']})")
    if not checkpoints:
        lines.append("  (no checkpoints)")
    return state, "\n".join(lines), False


def trace_line(event: dict[str, Any]) -> str:
    kind = event.get("type", "?")
    detail: Any
    if kind == "input":
        detail = event.get("code", "")
    elif kind == "step":
        detail = event.get("ctrl", "")
    elif kind == "checkpoint":
        detail = f"{event.get('reason')} ({event.get('stateId')})"
        if "jumpTo" in event:
            detail += f" jump to {event['jumpTo']}"
    elif kind == "llm_req":
        detail = f"{event.get('model')}: {event.get('promptPreview', '')}"
    elif kind in ("llm_resp", "resume"):
        detail = event.get("valuePreview", "")
    elif kind == "effect":
        detail = f"{event.get('op')} {event.get('argsPreview', '')}"
    elif kind == "result":
        detail = event.get("value", "")
    elif kind == "error":
        detail = event.get("message", "")
    else:
        detail = ""
    text = str(detail).replace("\n", "\\n")
    if len(text) > 100:
        text = text[:97] + "..."
    return f"  [{event.get('seq', 0):03d}] {kind:<10} {text}"


@command(":session trace", ":session trace [-v] [N]", "show the last N events (50); -v shows every field", GROUP, 0, 2)
def session_trace(state: ReplState, args: list[str]) -> Result:
    verbose = "-v" in args
    rest = [arg for arg in args if arg != "-v"]
    if len(rest) > 1:
        raise UsageError("too many arguments")
    count = parse_seq(rest[0], "N") if rest else TRACE_DEFAULT
    if not verbose and count > len(state.session.recent):  # long traces: printed lines kept per session
        lines = trace_tail(state.session, count, trace_line)
        return state, "\n".join(lines) if lines else "  (no events)", False
    events = state.session.tail_events(count)
    if not events:
        return state, "  (no events)", False
    if verbose:
        return state, "\n".join("  " + json.dumps(event, ensure_ascii=False) for event in events), False
    return state, "\n".join(trace_line(event) for event in events), False
