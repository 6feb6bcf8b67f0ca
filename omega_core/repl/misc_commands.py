"""History and general commands: ``:history``, ``:back``, ``:record``, ``:dump``, ``:replay``,
``:loadfile``, ``:help``, ``:quit`` (also ``:q`` and ``:exit``), and ``:session`` alone (the usage of
the session commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omega_core.repl.processor import COMMANDS, CommandError, Result, command, help_text, run_code
from omega_core.repl.session_commands import parse_seq
from omega_core.repl.state import ReplState
from omega_core.session.atomic import atomic_write_bytes
from omega_core.session.log_reader import SessionLogReader

GROUP_HISTORY = "History"
GROUP_OTHER = "Other"
DUMP_SEPARATOR = ";; ---- omega input ----"
"""Separates inputs in a ``:dump`` file, so ``:replay`` can run them exactly as they were typed."""


def recent_inputs(state: ReplState, count: int, before: int | None = None) -> list[dict[str, Any]]:
    """The last ``count`` input events (those before seq ``before``, if given), read backwards."""
    session = state.session
    window = max(count * 8, 64)
    with SessionLogReader(session.paths.log) as reader:
        while True:
            events = reader.tail(window)
            inputs = [event for _, event in events if event.get("type") == "input"
                      and (before is None or event["seq"] < before)]
            if len(inputs) >= count or len(events) < window:
                return inputs[-count:] if count else []
            window *= 4


def all_inputs(state: ReplState) -> list[str]:
    with SessionLogReader(state.session.paths.log) as reader:
        return [str(event.get("code", "")) for _, event in reader.iter_events() if event.get("type") == "input"]


@command(":history", ":history [N]", "show the last N inputs (20)", GROUP_HISTORY, 0, 1)
def history(state: ReplState, args: list[str]) -> Result:
    count = parse_seq(args[0], "N") if args else 20
    inputs = recent_inputs(state, count)
    if not inputs:
        return state, "  (no inputs yet)", False
    lines = [f"  [{event['seq']:03d}] {str(event.get('code', '')).replace(chr(10), ' ')[:100]}" for event in inputs]
    return state, "\n".join(lines), False


@command(":back", ":back [N]", "go back to before the last N inputs (1), recorded as a jump", GROUP_HISTORY, 0, 1)
def back(state: ReplState, args: list[str]) -> Result:
    count = parse_seq(args[0], "N") if args else 1
    if count == 0:
        raise CommandError("N must be at least 1")
    inputs = recent_inputs(state, count, before=state.session.cursor)
    if len(inputs) < count:
        raise CommandError(f"there are only {len(inputs)} input(s) to go back over")
    return state, state.session.goto(inputs[0]["seq"]), False


@command(":record", ":record on|off", "record step events (on) or not (off)", GROUP_HISTORY, 1, 1)
def record(state: ReplState, args: list[str]) -> Result:
    if args[0] not in ("on", "off"):
        raise CommandError(f"expected on or off, got {args[0]!r}")
    state.session.recorder.record_steps = args[0] == "on"
    return state, f"Step recording is {args[0]}", False


def _read_text(path_text: str, what: str) -> str:
    if "\x00" in path_text:
        raise CommandError(f"{what}: the path contains a NUL character")
    path = Path(path_text).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{what}: no such file {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{what}: {path} is a directory") from None
    except UnicodeDecodeError:
        raise CommandError(f"{what}: {path} is not UTF-8 text") from None
    except OSError as problem:
        raise CommandError(f"{what}: cannot read {path}: {problem.strerror}") from None
    except ValueError:
        raise CommandError(f"{what}: the path contains a NUL character") from None


@command(":dump", ":dump FILE", "write every input of this session to FILE (for :replay)", GROUP_HISTORY, 1, 1)
def dump(state: ReplState, args: list[str]) -> Result:
    if "\x00" in args[0]:
        raise CommandError(":dump: the path contains a NUL character")
    inputs = all_inputs(state)
    text = "".join(f"{DUMP_SEPARATOR}\n{code}\n" for code in inputs)
    try:
        atomic_write_bytes(Path(args[0]).expanduser(), text.encode("utf-8"))
    except Exception as problem:  # noqa: BLE001 - reported as a command error
        raise CommandError(f":dump: cannot write {args[0]}: {getattr(problem, 'message', problem)}") from None
    return state, f"Wrote {len(inputs)} input(s) to {args[0]}", False


@command(":replay", ":replay FILE", "run the inputs of a :dump file one by one", GROUP_HISTORY, 1, 1)
def replay(state: ReplState, args: list[str]) -> Result:
    text = _read_text(args[0], ":replay")
    if DUMP_SEPARATOR in text:
        chunks = [chunk.strip("\n") for chunk in text.split(DUMP_SEPARATOR + "\n")]
    else:
        chunks = [line for line in text.splitlines()]
    outputs = []
    for chunk in chunks:
        if chunk.strip():
            state, output, _ = run_code(state, chunk)
            outputs.append(output)
    return state, "\n".join(outputs) if outputs else "(nothing to replay)", False


@command(":loadfile", ":loadfile PATH", "run every form of an Omega file", GROUP_OTHER, 1, 1)
def loadfile(state: ReplState, args: list[str]) -> Result:
    return run_code(state, _read_text(args[0], ":loadfile"))


@command(":help", ":help [COMMAND]", "list commands, or explain one", GROUP_OTHER, 0, 2)
def help_command(state: ReplState, args: list[str]) -> Result:
    return state, help_text(" ".join(args) if args else None), False


@command(":quit", ":quit", "leave the REPL", GROUP_OTHER)
def quit_command(state: ReplState, args: list[str]) -> Result:
    return state, "", True


@command(":q", ":q", "leave the REPL (same as :quit)", GROUP_OTHER)
def quit_short(state: ReplState, args: list[str]) -> Result:
    return quit_command(state, args)


@command(":exit", ":exit", "leave the REPL (same as :quit)", GROUP_OTHER)
def exit_command(state: ReplState, args: list[str]) -> Result:
    return quit_command(state, args)


def session_usage() -> str:
    """The usage lines of every ``:session ...`` command (what ``:session`` alone prints)."""
    lines = [f"  {cmd.usage:<44} {cmd.summary}" for name, cmd in COMMANDS.items() if name.startswith(":session ")]
    return "usage: :session COMMAND ...; the session commands are:\n" + "\n".join(lines)


@command(":session", ":session COMMAND ...", "the session commands (list, load, goto ...) and their usage",
         "Sessions", 0, None)
def session_alone(state: ReplState, args: list[str]) -> Result:
    if args:  # ":session nope": find_command fell back to this entry for an unknown subcommand
        return state, f"error: unknown command :session {args[0]} (type :help for the list)", False
    return state, session_usage(), False
