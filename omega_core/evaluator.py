"""Runs Omega text in one machine: every form in order, in bounded slices, within a step budget.

This is the host loop shared by the batch runner, the line-mode REPL and (through the session
layer) the server. It owns the policies a machine should not know about: the per-command step
budget, interrupts from another thread, host effects, output limits, and turning every failure into
a one-line, user-facing error while the next form still runs.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from typing import Any, Callable, Generator, Iterator, Protocol

from omega_core.config import LanguageConfig
from omega_core.effects import EffectHost, EffectOutcome
from omega_core.errors import EvalError, Interrupted, OmegaError, ReadError
from omega_core.eval_steps import PAUSE, EffectCall, FormResult, RunSlice, Step, drive
from omega_core.lang import budgets, codegen_budget
from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import truncate_output, write_string_cut
from omega_core.lang.reader import iter_recovering
from omega_core.lang.release import release_registers
from omega_core.lang.slice_work import release_built


class EvalObserver(Protocol):
    """Hooks for recording (the session layer): called on the evaluating thread."""

    def form_started(self, machine: Machine, source: str) -> None: ...

    def slice_done(self, machine: Machine) -> None: ...

    def effect_started(self, machine: Machine, op: str, args: list[Any]) -> None: ...

    def steps_until_checkpoint(self, machine: Machine) -> int | None:
        """Steps until the observer wants a slice to end (a periodic checkpoint), or None."""
        ...

    def effect_done(self, machine: Machine, op: str, args: list[Any], outcome: EffectOutcome) -> None: ...


class SlicePacer:
    """How many steps the next slice may take: at most ``[language] slice_steps``, and about
    ``slice_ms`` of time. Steps differ a lot in cost (a call with many arguments, a chunk of a list
    copy, a deep stack's bookkeeping, a loaded machine), so a slice of a fixed count could take
    10-20 ms while another client waited; each slice's measured rate sets the next one's length.
    Only where a slice ends depends on time: results, budgets and checkpoints count steps."""

    MIN_STEPS = 32
    FIRST_STEPS = 2_000
    """The first slice of an evaluator that has measured nothing yet. Starting at ``slice_steps``
    (20,000) made every command's first slice 10-20 ms in a deep recursion; from here a quick
    slice doubles the next, so a fast loop reaches the limit within four slices."""

    __slots__ = ("limit", "target_s", "steps")

    def __init__(self, limit: int, target_s: float, start: int | None = None) -> None:
        self.limit = limit
        self.target_s = target_s
        self.steps = limit if start is None else max(self.MIN_STEPS, min(limit, start))

    def ran(self, steps: int, seconds: float) -> None:
        """A slice took ``steps`` steps in ``seconds``: size the next one (at most double it)."""
        if steps <= 0 or seconds <= 0:
            return
        fitting = int(steps * self.target_s / seconds)
        self.steps = max(self.MIN_STEPS, min(self.limit, fitting, 2 * self.steps))


NOT_STARTED_MESSAGE = "interrupted: the command was stopped before this form started (the session goes on)"
"""An interrupt that came while the form before ran and ended: the rest of the input is not run."""
STOPPED_CODES = frozenset({"budget_exceeded", "interrupted", "internal"})
"""Error codes of commands stopped from outside the program's own logic (a budget, an interrupt, a
host failure): their changes are undone (``undo.py``) and replay stops them at their recorded step,
so a failure that depends on the host (its stack, its memory) cannot make replay diverge."""


COLLECTOR_THRESHOLDS = (20_000, 10, 10)
"""The cyclic collector's thresholds while Omega code runs in this process (the backend sets the
same in ``server.collector``). Evaluation allocates a frame list, a continuation frame or a
pair every few steps; with the default (700, 10, 10) young collections ran every few hundred steps
and full ones walked every live pair: map/filter/fold over a 100k list built in the same input took
7.3 s in-process, 4.2 s with these thresholds and a frozen start-up heap (bench/language.py)."""

_collector_tuned = False
PYTHON_DEFAULT_THRESHOLDS = (700, 10, 10)


def tune_collector_for_evaluation() -> None:
    """Once per process: freeze what start-up built (modules, primitives, the prelude's closures:
    never garbage, so never walked again) and make young collections rarer. A host that tuned the
    collector itself (the backend, whose thresholds favour short pauses) keeps its thresholds."""
    global _collector_tuned
    if _collector_tuned:
        return
    _collector_tuned = True
    budgets.pin_allocator_for_measuring()
    gc.freeze()
    if gc.get_threshold() == PYTHON_DEFAULT_THRESHOLDS:
        gc.set_threshold(*COLLECTOR_THRESHOLDS)


class Evaluator:
    def __init__(
        self,
        machine: Machine | None = None,
        language: LanguageConfig | None = None,
        effects: EffectHost | None = None,
        perform: Callable[[str, list[Any]], EffectOutcome] | None = None,
        observer: EvalObserver | None = None,
        measure_memory: bool = True,
    ) -> None:
        """``measure_memory=False`` (replay): the memory budget is not measured, because a replay
        must redo exactly what was recorded; commands that were stopped stop at their recorded step."""
        self.machine = machine or Machine()
        tune_collector_for_evaluation()  # after the machine: its prelude is frozen with start-up
        self.language = language or LanguageConfig()
        self.measure_memory = measure_memory
        self.effects = effects or EffectHost(search_samples=self.language.search_samples)
        self.perform = perform or self.effects.perform
        self.observer = observer
        self._interrupt = threading.Event()
        self.form_number = 0
        """Which form of the current text is running (read errors count): for checkpoints."""
        self._pacer = SlicePacer(self.language.slice_steps, self.language.slice_ms / 1000, SlicePacer.FIRST_STEPS)
        """Kept from form to form: a command's first slice is sized by the last one's speed."""
        self.slices_to_host = False
        """True: each slice is yielded as a ``RunSlice`` for the host to run (the server runs it
        in its machine thread, off the event loop); False: run here, in the driver's thread."""
        self._slice_s = 0.0

    def interrupt(self) -> None:
        """Stop the running command at the end of its current slice (safe from any thread)."""
        self._interrupt.set()

    def run_text(
        self,
        text: str,
        form_step_limits: list[int | None] | None = None,
        resume_form: tuple[int, int] | None = None,
        first_line: int = 1,
    ) -> Iterator[FormResult]:
        """Each form's result, lazily, so a front end can print as it goes.

        Replay uses the extra arguments: ``form_step_limits[i]`` stops form ``i`` after exactly that
        many steps (an interrupted form), and ``resume_form = (number, steps_done)`` continues the
        machine's current form as form ``number`` (forms before it already ran, it had run
        ``steps_done`` steps) instead of starting afresh.
        """
        return drive(self.text_steps(text, form_step_limits, resume_form, first_line), self.perform)

    def text_steps(
        self,
        text: str,
        form_step_limits: list[int | None] | None = None,
        resume_form: tuple[int, int] | None = None,
        first_line: int = 1,
        form_count: int | None = None,
    ) -> Generator[Step, Any, None]:
        """The cooperative form of ``run_text``: yields pauses, effect calls and form results.

        ``form_count`` stops after that many forms (replaying an input a fork cut in the middle).
        """
        self._interrupt.clear()
        if len(text) > self.language.max_input_chars:
            yield self._failure(
                text[:40],
                1,
                f"input too long: {len(text)} characters, the limit is {self.language.max_input_chars} "
                "([language] max_input_chars)",
                "too_large",
            )
            return
        limits = form_step_limits or []
        forms = iter_recovering(text, self.language.max_read_depth, first_line)  # read as they run
        first_form = resume_form[0] if resume_form is not None else 0
        # The memory budget's part kept by what ran before (the session sets it per input): each
        # form that ends adds what it grew, so the forms of one input (several on one line, a
        # notebook cell) count what the ones before them keep.
        held_before = self.machine.memory.held
        line = first_line
        counted_to = 0  # the text before ``counted_to`` has ``line - first_line`` line breaks
        number = -1
        try:
            while True:
                try:
                    item = next(forms)
                except StopIteration:
                    return
                except (RecursionError, MemoryError) as problem:  # the reader's own limit should come first
                    yield self._failure(text[:40], first_line, _host_failure("reading the input", problem), "internal")
                    return
                number += 1
                limit = limits[number] if number < len(limits) else None
                if resume_form is not None and number < resume_form[0]:
                    continue
                if form_count is not None and number >= form_count:
                    return
                self.form_number = number
                if isinstance(item, ReadError):
                    if self._stopped_before(number, first_form):
                        yield self._failure("", item.line, NOT_STARTED_MESSAGE, "interrupted")
                        return
                    yield self._failure("", item.line, item.message, item.code)
                    continue
                datum, (start, end), positions = item
                line += text.count("\n", counted_to, start)  # counted once: a file of 20,000 forms
                counted_to = start                           # counted from the start each time: 9 s
                if self._stopped_before(number, first_form):  # stopped between two forms: say so
                    yield self._failure(text[start:end], line, NOT_STARTED_MESSAGE, "interrupted")
                    return
                if resume_form is not None and number == resume_form[0]:
                    result = yield from self._form_steps(None, text[start:end], line, None, limit, resume_form[1])
                else:
                    result = yield from self._form_steps(datum, text[start:end], line, positions, limit, 0)
                if result.error_code not in STOPPED_CODES:
                    memory = self.machine.memory
                    memory.held += max(memory.grown, 0)
                yield result
                if result.error_code == "interrupted":
                    return
        finally:
            self.machine.memory.held = held_before

    def _stopped_before(self, number: int, first_form: int) -> bool:
        """An interrupt came while an earlier form of this input ran, and that form ended anyway."""
        if number > first_form and self._interrupt.is_set():
            self._interrupt.clear()
            return True
        return False

    def run_form(
        self,
        datum: Any,
        source: str,
        line: int,
        positions: dict[int, tuple[int, int]] | None = None,
        stop_after_steps: int | None = None,
    ) -> FormResult:
        """Run one form. ``stop_after_steps`` replays an interrupted form: it stops exactly there."""
        return _only(drive(self._result_steps(self._form_steps(datum, source, line, positions, stop_after_steps, 0)), self.perform))

    def continue_form(self, source: str, line: int, stop_after_steps: int | None = None, steps_done: int = 0) -> FormResult:
        """Drive the machine's current (restored, unfinished) form to its end."""
        return _only(drive(self._result_steps(self._form_steps(None, source, line, None, stop_after_steps, steps_done)), self.perform))

    @staticmethod
    def _result_steps(steps: Generator[Step, Any, FormResult]) -> Generator[Step, Any, None]:
        result = yield from steps
        yield result

    def _form_steps(
        self,
        datum: Any,
        source: str,
        line: int,
        positions: dict[int, tuple[int, int]] | None,
        stop_after_steps: int | None,
        steps_done: int,
    ) -> Generator[Step, Any, FormResult]:
        """One form (``datum`` None: continue the machine's current form), cooperatively."""
        machine = self.machine
        started = time.perf_counter()
        self._apply_limits(machine)
        if datum is not None and stop_after_steps == 0:  # replaying a form interrupted before it started
            return self._failure(source, line, NOT_STARTED_MESSAGE, "interrupted")
        if datum is not None:
            steps_before = machine.steps
            try:
                unit = machine.compile(datum, positions)
            except OmegaError as error:
                return self._failure(source, line, error.message, error.code)
            except (RecursionError, MemoryError) as problem:  # nothing ran: nothing to undo
                return self._failure(source, line, _host_failure("compiling the form", problem), "internal")
            machine.start(unit.root)
            if self.observer is not None:
                self.observer.form_started(machine, source)
        else:
            steps_before = machine.steps - steps_done
        error = yield from self._drive(machine, steps_before, stop_after_steps)
        output = machine.take_output()
        if machine.output_chars <= self.language.max_output_chars:  # else the machine cut it already
            output = truncate_output(output, self.language.max_output_chars)
        elapsed = (time.perf_counter() - started) * 1000
        steps = machine.steps - steps_before
        if error is not None:
            if error.code in STOPPED_CODES:  # stopped from outside: leave the session as it was
                # a deep stack or a huge value is freed in pieces, off the loop (``release``)
                release_registers(machine)
                machine.roll_back()
            if machine.status is not Status.ERROR:  # budget or interrupt: the machine did not fail itself
                machine.status = Status.ERROR
                machine.error = error
            else:
                machine.end_form()  # failed by itself: its changes stay
            return FormResult(source, line, None, output, error.message, error.code, steps, elapsed)
        machine.end_form()
        try:
            value = write_string_cut(machine.value, self.language.max_output_chars)
        except (RecursionError, MemoryError) as problem:  # the form ran: its effects stay, only the echo fails
            message = _host_failure("printing the value", problem) + " (the form itself ran)"
            return FormResult(source, line, None, output, message, "internal", steps, elapsed)
        return FormResult(source, line, value, output, None, None, steps, elapsed)

    def _drive(self, machine: Machine, steps_before: int, stop_after_steps: int | None = None) -> Generator[Step, Any, OmegaError | None]:
        """Run slices until the form is done; effects go out as ``EffectCall``; budget, interrupts."""
        budget = self.language.step_budget if stop_after_steps is None else stop_after_steps
        pacer = self._pacer
        if pacer.limit != self.language.slice_steps or pacer.target_s != self.language.slice_ms / 1000:
            pacer = self._pacer = SlicePacer(self.language.slice_steps, self.language.slice_ms / 1000,
                                             SlicePacer.FIRST_STEPS)  # the config changed
        while True:
            if stop_after_steps is not None and machine.steps - steps_before >= budget:  # replay of a form
                return Interrupted("interrupted: the command was stopped (the session goes on)")  # stopped at 0
            remaining = budget - (machine.steps - steps_before)
            this_slice = min(pacer.steps, max(remaining, 1))
            if self.observer is not None:
                until = self.observer.steps_until_checkpoint(machine)
                if until is not None:  # checkpoints at exact step counts, whatever the slice size
                    this_slice = max(1, min(this_slice, until))
            steps_at_start = machine.steps
            if self.slices_to_host:
                status = yield RunSlice(functools.partial(self._run_slice, machine, this_slice),
                                        machine.memory if self.measure_memory else None)
            else:
                status = self._run_slice(machine, this_slice)
            pacer.ran(machine.steps - steps_at_start, self._slice_s)
            if self.observer is not None:
                self.observer.slice_done(machine)
            if status is Status.DONE:
                return None
            if status is Status.ERROR:
                error = machine.error or EvalError("unknown error")
                location = machine.error_location()
                if location is not None and error.code == "eval_error":
                    return EvalError(f"{error.message} ({location})")
                return error
            if status is Status.EFFECT:
                op = machine.effect_op or ""
                args = list(machine.effect_args)
                if self.observer is not None:
                    self.observer.effect_started(machine, op, args)
                try:
                    outcome = yield EffectCall(op, args)
                except OmegaError as error:
                    machine.fail_effect(f"{op}: {error.message}" if not error.message.startswith(op) else error.message)
                    return machine.error
                machine.resume(outcome.value)
                if self.observer is not None:
                    self.observer.effect_done(machine, op, args, outcome)
                continue
            if self._interrupt.is_set() or (stop_after_steps is not None and machine.steps - steps_before >= budget):
                self._interrupt.clear()
                return Interrupted("interrupted: the command was stopped (the session goes on)")
            if machine.steps - steps_before >= budget:
                return budgets.steps_exceeded(machine.steps - steps_before, budget)
            memory = machine.memory
            if memory.over(machine.memory_limit):
                return budgets.memory_exceeded(memory.held + memory.grown, machine.memory_limit,
                                               "the command's values and continuation", "reached", memory.held)
            yield PAUSE

    def _run_slice(self, machine: Machine, steps: int) -> Status:
        """One slice of at most ``steps`` steps, timed (for the pacer) and, unless this is a
        replay, measured (the memory meter) where it runs: any thread, one slice at a time."""
        started = time.perf_counter()
        if self.measure_memory:
            machine.memory.slice_started()
            status = machine.run(steps)
            machine.memory.slice_ended()
        else:
            status = machine.run(steps)
        release_built(machine)  # big temporaries of this slice, freed in pieces elsewhere
        self._slice_s = time.perf_counter() - started
        return status

    def _apply_limits(self, machine: Machine) -> None:
        """The machine's budgets from the config (on every form: goto and restore replace machines)."""
        language = self.language
        machine.memory_limit = language.max_memory_mb * budgets.MIB
        if not self.measure_memory:  # a replay redoes what was recorded, whatever is held now
            machine.memory.held = 0
        machine.max_integer_bits = language.max_integer_bits
        machine.max_string_chars = language.max_string_chars
        machine.max_output_chars = language.max_output_chars
        machine.slice_work.codegen_limit_s = codegen_budget.CODEGEN_SLICE_S  # ``_drive`` takes slices that end early

    @staticmethod
    def _failure(source: str, line: int, message: str, code: str) -> FormResult:
        return FormResult(source, line, None, "", message, code, 0, 0.0)


def _host_failure(stage: str, problem: BaseException) -> str:
    """The message of an ``internal`` error: which stage failed and why, never a traceback."""
    why = "the data is too deeply nested" if isinstance(problem, RecursionError) else "out of memory"
    return f"internal error while {stage}: {why} ({type(problem).__name__}); the session goes on"


def _only(results: Iterator[FormResult]) -> FormResult:
    return next(iter(results))
