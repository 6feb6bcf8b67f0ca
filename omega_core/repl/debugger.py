"""The REPL's stepping debugger: one expression, run step by step apart from the main evaluation.

The debugged expression runs in its own machine that shares the session's globals dict, so it sees
the session's definitions and a ``define`` it runs defines for real, as typed at the REPL. Host
effects are answered through the session's ``perform`` the first time and from the record on every
re-run (see ``timeline.py``), so time travel never asks the oracle again.

"The state at step S" always means: the machine after S steps, with a host effect raised by step S
still pending. Moving forward performs a pending effect first; answering does not count as a step.

Time travel and global definitions: going back loads a checkpoint into a separate machine and
re-runs it with the checkpoint's own copy of the globals, so the re-run sees what the first run saw.
On arrival, the session's globals get the checkpoint's values back (including mutable data such as
hash tables); globals the debugged expression created after that point are removed again; globals
the session defined meanwhile and the checkpoint does not know are left alone.

Every command returns the text to print; misuse gives one line starting with ``error: ``.
"""

from __future__ import annotations

import functools
import secrets
import threading
from typing import Any, Callable

from omega_core.errors import OmegaError
from omega_core.lang.builtins import is_builtin_value
from omega_core.lang.compiler import compile_unit
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import short_string, write_string
from omega_core.lang.reader import read_all
from omega_core.lang.serialize_read import load_state
from omega_core.repl.breakpoints import Breakpoint, BreakpointTable, BreakKind
from omega_core.repl.snapshots import EXPORT_FORMAT, SavedSnapshot, SnapshotStore
from omega_core.repl.timeline import EffectAnswer, Timeline, effect_key, entry_text
from omega_core.repl.views import Misuse, chain_length, control_text, effect_text, parse_int

DEFAULT_STEP_BUDGET = 50_000_000
_INTERRUPT_CHECK = 4096
"""Steps between two looks at the interrupt flag (a look per step would slow stepping down)."""
_NOT_ACTIVE = "no debugging session: start one with :debug EXPR"
_EVAL_UNIT_BASE = 1_000_000_000
"""Unit ids are per-machine counters ("u1", "u2" ...). Closures in the shared globals were compiled by
the session's machine, so units this machine makes (through ``eval``) are numbered far away from
those: two different units with one id would be confused when the state is serialized."""


def _command(method: Callable[..., str]) -> Callable[..., str]:
    """Turn misuse and user-facing errors into an ``error: `` line; let real bugs propagate."""

    @functools.wraps(method)
    def wrapper(self: "Debugger", *args: Any, **kwargs: Any) -> str:
        try:
            return method(self, *args, **kwargs)
        except Misuse as problem:
            return f"error: {problem}"
        except OmegaError as problem:
            return f"error: {problem.message}"

    return wrapper


class Debugger:
    """One per REPL. Breakpoints and named snapshots outlive a debugging session (``:stop`` then
    ``:debug`` keeps them, as in most debuggers); the machine and its timeline do not."""

    def __init__(
        self,
        globals_table: dict[str, Any],
        perform: Callable[[str, list[Any]], Any],
        step_budget: int = DEFAULT_STEP_BUDGET,
        checkpoint_every: int = 1000,
        trace_size: int = 10_000,
        max_checkpoints: int = 256,
    ) -> None:
        self._globals = globals_table
        self._perform = perform
        self._budget = max(1, step_budget)
        self._every = checkpoint_every
        self._trace_size = trace_size
        self._max_checkpoints = max_checkpoints
        self._m: Machine | None = None
        self._tl: Timeline | None = None
        self._breaks = BreakpointTable()
        self._saved = SnapshotStore()
        self._interrupt = threading.Event()

    # --- for the command processor --------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._m is not None

    @property
    def machine(self) -> Machine | None:
        """The debugged machine (for ``:env``, ``:stack`` ... while debugging), None when inactive."""
        return self._m

    def interrupt(self) -> None:
        """Stop a long ``:run``/``:step``/``:goto`` soon (safe from another thread)."""
        self._interrupt.set()

    # --- starting and stepping ------------------------------------------------------------------

    @_command
    def start(self, source: str) -> str:
        if not source or not source.strip():
            raise Misuse("usage: :debug EXPR")
        result = read_all(source)
        if len(result.forms) != 1:
            raise Misuse(f":debug takes one expression, got {len(result.forms)} (wrap several in (begin ...))")
        datum = result.forms[0]
        unit = compile_unit(datum, f"debug-{secrets.token_hex(6)}", result.positions)
        machine = Machine(self._globals)
        machine.unit_counter = _EVAL_UNIT_BASE + secrets.randbelow(_EVAL_UNIT_BASE)
        machine.start(unit.root)
        replaced = self._m is not None
        self._tl = Timeline(short_string(datum, 60), machine, self._every, self._max_checkpoints, self._trace_size)
        self._use(machine)
        note = " (the previous debugging session ended)" if replaced else ""
        return f"Debugging {self._tl.source}: at step 0. :step, :run, :stop{note}"

    @_command
    def step(self, n: int | str = 1) -> str:
        machine, _ = self._require()
        count = parse_int(n, "the number of steps", 1)
        if machine.status in (Status.DONE, Status.ERROR):
            return self._finished()
        hits, interrupted = self._advance(machine.steps + min(count, self._budget), breaks=True)
        return self._report(hits, interrupted)

    @_command
    def run(self) -> str:
        machine, _ = self._require()
        if machine.status in (Status.DONE, Status.ERROR):
            return self._finished()
        hits, interrupted = self._advance(machine.steps + self._budget, breaks=True)
        text = self._report(hits, interrupted)
        machine = self._m
        assert machine is not None
        if not hits and not interrupted and machine.status in (Status.RUNNING, Status.EFFECT):
            text += (f"\nPaused: {self._budget:,} steps without finishing (the step budget); "
                     ":run goes on, :stop ends debugging")
        return text

    @_command
    def stop(self) -> str:
        machine, timeline = self._require()
        self._m = None
        self._tl = None
        return f"Stopped debugging {timeline.source} at step {machine.steps}."

    @_command
    def goto(self, step: int | str) -> str:
        machine, timeline = self._require()
        target = parse_int(step, "the step to go to", 0)
        if target < timeline.base:
            raise Misuse(f"step {target} is before the start of this timeline (step {timeline.base}, where it "
                         "was restored from a snapshot)")
        if target != machine.steps:
            checkpoint = timeline.nearest_checkpoint(min(target, timeline.furthest))
            reload = target < machine.steps or checkpoint > machine.steps
            if reload:
                self._m = load_state(timeline.checkpoints[checkpoint])
                self._m.output.clear()
                self._track(self._m)
            try:
                limit = max(timeline.furthest, self._m.steps) + self._budget
                self._advance(min(target, limit), breaks=False, quiet=True)
            finally:
                if reload:
                    self._use(self._m)
        machine = self._m
        assert machine is not None
        text = self._report([], False)
        if machine.steps < target:
            text += f"\n(the evaluation stops at step {machine.steps}, before step {target})"
        return text

    # --- looking at the run ------------------------------------------------------------------------

    @_command
    def trace(self, start: int | str | None = None, count: int | str = 20) -> str:
        machine, timeline = self._require()
        wanted = min(parse_int(count, "the number of steps to list", 1), self._trace_size)
        first, last = timeline.first_traced, timeline.furthest
        kept = f"the trace keeps the last {self._trace_size:,} steps reached: {first}-{last}"
        notes: list[str] = []
        if start is None:
            begin = max(first, machine.steps - wanted + 1)
            if machine.steps < first:
                notes.append(f"(step {machine.steps} is no longer in the trace; {kept})")
        else:
            begin = parse_int(start, "the first step", 0)
            if begin > last:
                raise Misuse(f"step {begin} has not been reached yet (the furthest step is {last}; "
                             f":goto {begin} runs there)")
            if begin < first:
                notes.append(f"(steps {begin}-{min(first - 1, begin + wanted - 1)} are no longer kept; {kept})")
                wanted -= first - begin
                begin = first
        if wanted <= 0:
            return notes[0][1:-1]
        end = min(last, begin + wanted - 1)
        lines = [f"Steps {begin}-{end} of {first}-{last} (current step {machine.steps}):", *notes]
        for entry in timeline.entries(begin, end - begin + 1):
            marker = ">" if entry[0] == machine.steps else " "
            lines.append(f"{marker}{entry[0]:>7}  depth {entry[1]:<4} {entry_text(entry, 80)}")
        return "\n".join(lines)

    @_command
    def state(self) -> str:
        machine, timeline = self._require()
        choices, point = 0, machine.choices
        while point is not None:
            choices, point = choices + 1, point.next
        pending = effect_text(machine, 80) if machine.status is Status.EFFECT else "none"
        return "\n".join([
            f"Debugging {timeline.source}",
            f"step: {machine.steps} (furthest reached: {timeline.furthest})",
            f"status: {machine.status.value}",
            f"control: {control_text(machine, 80)}",
            f"depth: {chain_length(machine.k)} frames",
            f"pending effect: {pending}",
            f"choice points: {choices}",
        ])

    # --- breakpoints --------------------------------------------------------------------------------

    @_command
    def add_break(self, kind: BreakKind | str, arg: int | str) -> str:
        point, note = self._breaks.add(kind, arg)
        text = f"Breakpoint {point.id}: {point.label}"
        return f"{text}\n{note}" if note else text

    @_command
    def breaks(self) -> str:
        return self._breaks.table()

    @_command
    def delete_break(self, ident: int | str) -> str:
        point = self._breaks.delete(ident)
        return f"Deleted breakpoint {point.id} ({point.label})"

    @_command
    def toggle(self, ident: int | str) -> str:
        point = self._breaks.toggle(ident)
        return f"Breakpoint {point.id} ({point.label}) {'enabled' if point.enabled else 'disabled'}"

    # --- named snapshots ----------------------------------------------------------------------------

    @_command
    def save(self, name: str) -> str:
        machine, timeline = self._require()
        return self._saved.save(name, machine, timeline)

    @_command
    def restore(self, name: str) -> str:
        snap = self._saved.get(name)
        machine = load_state(snap.state)
        machine.output.clear()
        timeline = self._tl
        if timeline is None or timeline.ident != snap.timeline or not timeline.base <= snap.step <= timeline.furthest:
            timeline = Timeline(snap.source, machine, self._every, self._max_checkpoints, self._trace_size,
                                state=snap.state, ident=snap.timeline)
            timeline.answers = {s: a for s, a in snap.answers.items() if s >= snap.step}
            timeline.written = set(snap.written)
            self._tl = timeline
        self._use(machine)
        return f"Restored snapshot '{name}'\n{self._report([], False)}"

    @_command
    def snapshots(self) -> str:
        return self._saved.listing()

    @_command
    def export(self, name: str, path: str) -> str:
        return self._saved.export(name, path)

    # --- machinery ----------------------------------------------------------------------------------

    def _require(self) -> tuple[Machine, Timeline]:
        if self._m is None or self._tl is None:
            raise Misuse(_NOT_ACTIVE)
        return self._m, self._tl

    def _track(self, machine: Machine) -> None:
        """Note every global the evaluation writes (``define``, ``set!``, ``eval``): all of them go
        through ``define_global``, which is wrapped on this instance only."""
        original = machine.define_global
        timeline = self._tl

        def define_global(name: str, value: Any) -> None:
            if timeline is not None:
                timeline.written.add(name)
            original(name, value)

        machine.define_global = define_global  # type: ignore[method-assign]

    def _use(self, machine: Machine) -> None:
        """Make ``machine`` the debugged one, on the session's globals (see the module docstring)."""
        timeline = self._tl
        assert timeline is not None
        if machine.globals is not self._globals:
            loaded, shared = machine.globals, self._globals
            changed = getattr(shared, "dirty", set())  # write barrier: tell the session's capture
            for name in timeline.written:
                if name not in loaded:
                    shared.pop(name, None)
                    changed.add(name)
            for name, value in loaded.items():
                if name in timeline.written or not is_builtin_value(name, value):
                    shared[name] = value
                    changed.add(name)
            machine.globals = shared
        if "define_global" not in vars(machine):
            self._track(machine)
        self._m = machine

    def _advance(self, target: int, breaks: bool, quiet: bool = False) -> tuple[list[Breakpoint], bool]:
        """Step until ``target`` (or done, error, breakpoint, interrupt); return (hits, interrupted).

        Steps not reached before are taken one at a time and recorded; recorded steps are re-run in
        one slice up to the recorded end when no breakpoint needs a look after each step. ``quiet``
        (``:goto``) drops ``display`` output: a jump shows where it lands, not what it passed.
        """
        machine, timeline = self._require()
        matcher = self._breaks.matcher() if breaks else None
        self._interrupt.clear()
        countdown = _INTERRUPT_CHECK
        while machine.steps < target:
            if machine.status is Status.EFFECT:
                self._answer_effect(machine, timeline)
            if machine.status is not Status.RUNNING:
                break
            countdown -= 1
            if countdown <= 0:
                countdown = _INTERRUPT_CHECK
                if self._interrupt.is_set():
                    self._interrupt.clear()
                    return [], True
            if matcher is None and machine.steps < timeline.furthest:
                machine.run(min(target, timeline.furthest) - machine.steps)
            else:
                machine.run(1)
                while machine.inside_step and machine.status is Status.RUNNING:  # a step in pieces
                    machine.run(1)
                if machine.steps > timeline.furthest:
                    timeline.record(machine)
            if quiet and machine.output:
                machine.output.clear()
            if matcher is not None:
                hits = matcher.match(machine)
                if hits:
                    return self._breaks.count_hits(hits), False
        return [], False

    def _answer_effect(self, machine: Machine, timeline: Timeline) -> None:
        step, op, args = machine.steps, machine.effect_op or "", list(machine.effect_args)
        key = effect_key(op, args)
        answer = timeline.answers.get(step)
        if answer is None or answer.key != key:
            if answer is not None or step < timeline.furthest:
                timeline.truncate(step)
            try:
                outcome = self._perform(op, args)
                answer = EffectAnswer(step, op, key, outcome.value)
            except OmegaError as error:
                message = error.message if error.message.startswith(op) else f"{op}: {error.message}"
                answer = EffectAnswer(step, op, key, None, message)
            timeline.answers[step] = answer
        if answer.error is not None:
            machine.fail_effect(answer.error)
        else:
            machine.resume(answer.value)

    def _report(self, hits: list[Breakpoint], interrupted: bool) -> str:
        machine, _ = self._require()
        lines = []
        output = machine.take_output()
        if output:
            lines.append(output[:-1] if output.endswith("\n") else output)
        if interrupted:
            lines.append(f"Interrupted at step {machine.steps}")
        lines.extend(f"Breakpoint {point.id} ({point.label}) hit at step {machine.steps}" for point in hits)
        lines.append(f"step {machine.steps}: {control_text(machine)}")
        if machine.status is Status.DONE:
            lines.append(f"=> {write_string(machine.value)}")
        return "\n".join(lines)

    def _finished(self) -> str:
        machine, _ = self._require()
        hint = "(:goto STEP to look back, :stop to end)"
        if machine.status is Status.DONE:
            return f"Finished at step {machine.steps}: => {write_string(machine.value)} {hint}"
        return f"Stopped by an error at step {machine.steps}: {control_text(machine)} {hint}"


__all__ = ["Debugger", "SavedSnapshot", "BreakKind", "Breakpoint", "DEFAULT_STEP_BUDGET", "EXPORT_FORMAT"]
