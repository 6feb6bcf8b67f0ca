"""Debugger, breakpoint, debugger-snapshot and inspection commands, routed to ``Debugger`` and
``inspect``. Inspection looks at the debugged machine while a ``:debug`` session is active, and at
the session's machine otherwise (where the last command stopped, e.g. after an error)."""

from __future__ import annotations

from typing import Any

from omega_core.repl import inspect
from omega_core.repl.debugger import Debugger
from omega_core.repl.processor import Result, command
from omega_core.repl.state import ReplState

GROUP_DEBUG = "Debugger"
GROUP_BREAK = "Breakpoints"
GROUP_SNAP = "Debugger snapshots"
GROUP_INSPECT = "Inspection"


def debugger(state: ReplState) -> Debugger:
    if state.debugger is None:
        session = state.session
        state.debugger = Debugger(session.machine.globals, session.effects.perform, state.config.language.step_budget)
    return state.debugger


def inspected_machine(state: ReplState) -> Any:
    if state.debugger is not None and state.debugger.active:
        return state.debugger.machine
    return state.session.machine


def _reply(state: ReplState, text: str) -> Result:
    return state, text, False


@command(":debug", ":debug EXPR", "start stepping EXPR", GROUP_DEBUG, 1, None)
def debug_start(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).start(" ".join(args)))


@command(":step", ":step [N]", "take N steps (1)", GROUP_DEBUG, 0, 1)
def debug_step(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).step(args[0] if args else 1))


@command(":run", ":run", "run to the end or the next breakpoint", GROUP_DEBUG)
def debug_run(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).run())


@command(":c", ":c", "same as :run", GROUP_DEBUG)
def debug_continue(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).run())


@command(":stop", ":stop", "end the debugging session", GROUP_DEBUG)
def debug_stop(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).stop())


@command(":goto", ":goto STEP", "go to step STEP of the debugged expression", GROUP_DEBUG, 1, 1)
def debug_goto(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).goto(args[0]))


@command(":trace", ":trace [START] [COUNT]", "list recorded steps", GROUP_DEBUG, 0, 2)
def debug_trace(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).trace(*(args[:1] or [None]), *(args[1:2] or [])))


@command(":state", ":state", "step, status and control of the debugged machine", GROUP_DEBUG)
def debug_state(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).state())


@command(":break", ":break step N | expr TAG | effect OP", "add a breakpoint", GROUP_BREAK, 2, 2)
def break_add(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).add_break(args[0], args[1]))


@command(":breaks", ":breaks", "list breakpoints", GROUP_BREAK)
def break_list(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).breaks())


@command(":delbreak", ":delbreak ID", "delete a breakpoint", GROUP_BREAK, 1, 1)
def break_delete(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).delete_break(args[0]))


@command(":toggle", ":toggle ID", "enable or disable a breakpoint", GROUP_BREAK, 1, 1)
def break_toggle(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).toggle(args[0]))


@command(":save", ":save NAME", "save the debugger's state as NAME", GROUP_SNAP, 1, 1)
def snap_save(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).save(args[0]))


@command(":restore", ":restore NAME", "restore a saved debugger state", GROUP_SNAP, 1, 1)
def snap_restore(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).restore(args[0]))


@command(":snapshots", ":snapshots", "list saved debugger states", GROUP_SNAP)
def snap_list(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).snapshots())


@command(":export", ":export NAME FILE", "write a saved debugger state to FILE (JSON)", GROUP_SNAP, 2, 2)
def snap_export(state: ReplState, args: list[str]) -> Result:
    return _reply(state, debugger(state).export(args[0], args[1]))


@command(":env", ":env [NAME]", "show definitions (and locals), or one value in full", GROUP_INSPECT, 0, 1)
def inspect_env(state: ReplState, args: list[str]) -> Result:
    return _reply(state, inspect.env(inspected_machine(state), args[0] if args else None))


@command(":defs", ":defs", "list your definitions", GROUP_INSPECT)
def inspect_defs(state: ReplState, args: list[str]) -> Result:
    return _reply(state, inspect.defs(inspected_machine(state)))


@command(":stack", ":stack", "show the continuation frames", GROUP_INSPECT)
def inspect_stack(state: ReplState, args: list[str]) -> Result:
    return _reply(state, inspect.stack(inspected_machine(state)))


@command(":frame", ":frame N", "show frame N of :stack", GROUP_INSPECT, 1, 1)
def inspect_frame(state: ReplState, args: list[str]) -> Result:
    return _reply(state, inspect.frame(inspected_machine(state), args[0]))


@command(":control", ":control", "what the machine is about to do", GROUP_INSPECT)
def inspect_control(state: ReplState, args: list[str]) -> Result:
    return _reply(state, inspect.control(inspected_machine(state)))
