"""The REPL command processor: ``process(repl_state, line) -> (repl_state, output, should_exit)``.

Lines starting with ``:`` are commands, looked up in one table (``COMMANDS``) that also drives
``:help`` and the usage line printed when an argument is missing, so help can never drift from
behaviour. Anything else is Omega code, run and recorded in the current session. Every failure
becomes one ``error: ...`` line: the REPL (and the server hosting it) never dies of user input.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable

from omega_core.errors import OmegaError
from omega_core.repl.state import ReplState

Result = tuple[ReplState, str, bool]
Handler = Callable[[ReplState, list[str]], Result]


class CommandError(OmegaError):
    """A misused command; the message is shown as ``error: ...``."""

    code = "bad_request"


class UsageError(CommandError):
    """Missing or extra arguments: the message is the command's usage line."""


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    handler: Handler
    group: str
    min_args: int = 0
    max_args: int | None = 0


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str, group: str, min_args: int = 0, max_args: int | None = 0) -> Callable[[Handler], Handler]:
    """Register a command; ``usage`` is printed (``usage: ...``) when the arguments don't fit."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, summary, handler, group, min_args, max_args)
        return handler

    return register


def split_arguments(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def find_command(words: list[str]) -> tuple[Command | None, list[str]]:
    """The longest registered command name that prefixes ``words`` and the remaining arguments."""
    for length in (3, 2, 1):
        if len(words) >= length:
            name = " ".join(words[:length])
            if name in COMMANDS:
                return COMMANDS[name], words[length:]
    return None, words[1:]


def process(state: ReplState, line: str) -> Result:
    """Run one REPL line. Never raises for user input; output never ends with a newline."""
    import omega_core.repl.commands  # noqa: F401 - registers the commands

    text = line.strip()
    if not text:
        return state, "", False
    if not text.startswith(":"):
        return run_code(state, line)
    words = split_arguments(text)
    found, args = find_command(words)
    if found is None:
        group = words[0] + (" " + words[1] if len(words) > 1 and words[0] in (":session", ":server") else "")
        return state, f"error: unknown command {group} (type :help for the list)", False
    if len(args) < found.min_args or (found.max_args is not None and len(args) > found.max_args):
        return state, f"usage: {found.usage}", False
    try:
        return found.handler(state, args)
    except UsageError:
        return state, f"usage: {found.usage}", False
    except OmegaError as problem:
        return state, f"error: {problem.message}", False


def run_code(state: ReplState, code: str) -> Result:
    try:
        results = state.session.execute(code)
    except OmegaError as problem:
        return state, f"error: {problem.message}", False
    return state, "\n".join(result.transcript() for result in results), False


def help_text(topic: str | None = None) -> str:
    import omega_core.repl.commands  # noqa: F401

    if topic:
        wanted = topic if topic.startswith(":") else ":" + topic
        matches = [cmd for name, cmd in COMMANDS.items() if name == wanted or name.startswith(wanted + " ")]
        if not matches:
            return f"error: no command {wanted} (type :help for the list)"
        return "\n".join(f"  {cmd.usage:<44} {cmd.summary}" for cmd in matches)
    lines = ["Type Omega code to evaluate it, or a command:"]
    groups: dict[str, list[Command]] = {}
    for cmd in COMMANDS.values():
        groups.setdefault(cmd.group, []).append(cmd)
    for group, commands in groups.items():
        lines.append(f"{group}:")
        lines.extend(f"  {cmd.usage:<44} {cmd.summary}" for cmd in commands)
    return "\n".join(lines)
