"""The Omega machine: CEK-style registers stepped in bounded slices.

Registers: ``node``/``env`` (control: an expression to evaluate in an environment) or ``value``
(control: a value to return to the continuation), ``k`` (the continuation, a chain of frames),
``choices`` (pending ``amb`` choice points), ``globals``. Everything the machine needs to continue
is in these registers, which is what lets ``serialize.py`` save a state mid-evaluation and lets a
host run a command in slices (``run(max_steps)``), interrupt it, or suspend it at an effect.

Evaluation never recurses in Python: nested calls grow the frame chain, not the Python stack.
The control operators (machine-level primitives, ``amb``, effects) are ``machine_control``'s.
"""

from __future__ import annotations

import os
from typing import Any

from omega_core.errors import EvalError, InternalError, OmegaError
from omega_core.lang import budgets
from omega_core.lang import frames as fr
from omega_core.lang.compiler import compile_unit
from omega_core.lang.frames import CallK
from omega_core.lang.list_copy import ReverseInProgress
from omega_core.lang.machine_control import MachineControl, Status, Suspend
from omega_core.lang.nodes import Unit
from omega_core.lang.printer import display_string, short_string, write_string
from omega_core.lang.slice_work import SliceWork
from omega_core.lang.undo import ABSENT, UndoJournal
from omega_core.lang.values import (
    UNSPECIFIED,
    Closure,
    Continuation,
    GlobalTable,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    make_list,
    type_name,
)

FUSE_MAX_STEPS = 8
"""The most steps one fused dispatch takes (``fused.py``): the chains of fused steps are built so
that none can be longer (a call's operand call, its entry into the callee, the callee's ``if``,
the branch's value, then that value's return into the call and the call's next step)."""

CHUNK_DISPATCHES = 32
"""The most dispatches of one chunk of ``run``: its counters (the dispatch number ``steps`` and
``fused_steps``, at most ``32 * (FUSE_MAX_STEPS - 1)``) then stay at most 256, small integers
CPython keeps ready-made, so counting a step never allocates an ``int`` (it did, for every
dispatch and every fused step, in a chunk of hundreds: a few percent of ``fib``'s time)."""

FUSION_ENABLED = True
"""Off: every step is its own dispatch (the differential tests compare both ways)."""

def _failed_at(node: Any, k: Any) -> Any:
    """The node a step failed in, for its error's location. Not a copy in progress: it holds the
    half-built list (it has no place in the code; ``error_location`` then names the caller)."""
    failed = node if node is not None else getattr(k, "node", None)
    return None if type(failed) is ReverseInProgress else failed


class Machine(MachineControl):
    """One evaluation context: globals plus the registers of the command being run."""

    def __init__(self, globals_table: dict[str, Any] | None = None) -> None:
        from omega_core.lang.builtins import fresh_globals

        if globals_table is None:
            globals_table = fresh_globals()
        elif type(globals_table) is not GlobalTable:
            globals_table = GlobalTable(globals_table)
        self.globals: GlobalTable = globals_table
        self.node: Any = None
        self.env: Any = None
        self.value: Any = UNSPECIFIED
        self.k: Any = None
        self.choices: Any = None
        self.status = Status.DONE
        self.error: OmegaError | None = None
        self.error_node: Any = None
        self.root_node: Any = None
        """The top-level node of the form being run: where an error inside the prelude is placed
        when no frame of user code is waiting (``(map car 5)`` is a tail call at top level)."""
        self.effect_op: str | None = None
        self.effect_args: list[Any] = []
        self.output: list[str] = []
        self.steps = 0
        self.gensym_counter = 0
        self.unit_counter = 0
        self.unit_prefix = f"u{os.urandom(4).hex()}-"  # not secrets: it imports random
        """Unit ids must be unique among all machines whose code can meet (a debugger shares the
        session's globals), so each machine instance numbers its units under a random prefix."""
        # Budgets of one command (see budgets.py); the evaluator sets the limits from the config.
        self.memory_limit = 512 * budgets.MIB
        self.max_integer_bits = 65_536
        self.max_string_chars = budgets.DEFAULT_MAX_STRING_CHARS
        self.max_output_chars = 100_000
        self.output_chars = 0
        self.memory = budgets.MemoryMeter()
        self.undo = UndoJournal()
        """First old value of each global / hash entry the running command changed (undo.py)."""
        self.fusing = False
        """True while ``run`` lets a dispatch take several steps (the slice has room for them)."""
        self.fused_steps = 0
        """Steps taken by fused dispatches beyond their first, in the current chunk of ``run``."""
        self.slice_work = SliceWork()
        """What this slice did that may end it early (``slice_work``)."""
        self.slice_break = False
        """Set when that work passed its limit: the slice ends after the current step."""

    # --- loading and running -------------------------------------------------------------------

    def compile(self, datum: Any, positions: dict[int, tuple[int, int]] | None = None) -> Unit:
        self.unit_counter += 1
        return compile_unit(datum, f"{self.unit_prefix}{self.unit_counter}", positions)

    def start(self, node: Any) -> None:
        """Begin evaluating ``node`` at top level; choice points of earlier forms are dropped."""
        self.node = node
        self.root_node = node
        self.env = None
        self.k = None
        self.choices = None
        self.value = UNSPECIFIED
        self.error = None
        self.error_node = None
        self.effect_op = None
        self.effect_args = []
        self.status = Status.RUNNING
        self.output_chars = 0
        self.memory.reset()
        self.undo.clear()

    def end_form(self) -> None:
        """The form ended and its changes stay: the old values its undo journal kept are garbage
        now. Whether one could hold memory is noted for the session's memory count
        (``MemoryMeter.replaced``)."""
        self.memory.replaced |= self.undo.replaced_values()
        self.undo.clear()

    def roll_back(self) -> None:
        """The command was stopped from outside (budget, interrupt): undo its changes to globals and
        hash tables and drop its registers (the continuation may be what filled the memory)."""
        self.undo.undo(self.globals)
        self.node = self.env = self.k = self.choices = None
        self.value = UNSPECIFIED
        self.effect_args = []

    def run(self, max_steps: int) -> Status:
        """Take at most ``max_steps`` steps; return why it stopped (RUNNING: slice used up).

        Fused steps (``fused.py``): while the slice has room for ``FUSE_MAX_STEPS`` more, the
        step loop runs in chunks of ``room // FUSE_MAX_STEPS`` dispatches with ``fusing`` set,
        and a dispatch may then take up to that many steps at once (adding the extra ones to
        ``fused_steps``). A chunk can never pass the end of the slice, so every slice ends on the
        same step in the same state as one step at a time; the last few steps of a slice (and a
        debugger's single steps) run unfused."""
        if self.status is not Status.RUNNING:
            return self.status
        taken = 0  # steps of the chunks already run
        steps = 0
        node = k = None
        self.fused_steps = 0
        self.slice_break = False
        self.slice_work.start()
        try:
            while True:
                room = max_steps - taken
                if room >= FUSE_MAX_STEPS and FUSION_ENABLED:
                    self.fusing = True
                    chunk = min(room // FUSE_MAX_STEPS, CHUNK_DISPATCHES)
                else:
                    self.fusing = False
                    chunk = min(room, CHUNK_DISPATCHES)
                if chunk <= 0:
                    break
                # ``steps`` is the number of the dispatch being made (counted before it runs, so
                # a step that fails or suspends counts); a ``for`` over a range is the cheapest.
                for steps in range(1, chunk + 1):
                    node = self.node
                    if node is not None:
                        step = node.ev  # mostly a slot (calls, ifs): read, then called, as below
                        step(self)
                        if self.slice_break:  # a big build or new code ended the slice (``slice_work``)
                            break
                        continue
                    k = self.k
                    if k is None:
                        self.status = Status.DONE
                        self.env = None  # the last frame is garbage now: no state capture may keep it
                        steps -= 1
                        break
                    self.k = k.next
                    if type(k) is CallK and k.index >= 0:  # ``CallK.ret``, one Python call fewer
                        resume = k.node.resume  # a slot: read, then called (a method call of a
                        resume(self, k, self.value)  # slot is not specialised by CPython 3.11)
                    else:
                        k.ret(self, self.value)
                taken += steps + self.fused_steps
                steps = self.fused_steps = 0
                if self.status is not Status.RUNNING or self.slice_break:
                    break
        except Suspend:
            pass
        except OmegaError as error:
            self.status = Status.ERROR
            self.error = error.with_traceback(None)  # its frames hold the primitive's arguments:
            # kept until the next command, a list a budget stopped stayed alive (512 MB, and every
            # full collection of the process walked its millions of pairs)
            self.error_node = getattr(error, "node", None) or _failed_at(node, k)
        except RecursionError:  # evaluation does not recurse; a primitive walking nested data might
            self.status = Status.ERROR
            self.error = InternalError("internal error: a value is too deeply nested to process; the command was "
                                       "stopped and undone (the session goes on)")
        except MemoryError:  # depends on the machine
            self.status = Status.ERROR
            self.error = InternalError("internal error: out of memory; the command was stopped and undone "
                                       "(lower [language] max_memory_mb so budgets stop such commands first)")
        except Exception as bug:  # noqa: BLE001 - a bug in a primitive must not end the session
            self.status = Status.ERROR
            self.error = InternalError(f"internal error: {type(bug).__name__}: {bug}; the command was stopped and "
                                       "undone (the session goes on)")
            self.error_node = _failed_at(node, k)
        self.fusing = False
        self.steps += taken + steps + self.fused_steps
        self.fused_steps = 0
        if self.status is Status.RUNNING and self.node is None and self.k is None:
            self.status = Status.DONE
            self.env = None
        return self.status

    def resume(self, value: Any) -> None:
        """Continue after a host effect with the value the host produced."""
        if self.status is not Status.EFFECT:
            raise RuntimeError("resume() without a pending effect")
        self.value = value
        self.node = None
        self.effect_op = None
        self.effect_args = []
        self.status = Status.RUNNING

    def fail_effect(self, message: str) -> None:
        """The host could not perform the pending effect: the command ends with this error."""
        self.status = Status.ERROR
        self.error = EvalError(message)
        self.effect_op = None

    def error_location(self) -> str | None:
        """Where the last error happened in user code: ``in (car x), line 3, column 5``."""
        node = self.error_node
        where = node.position() if node is not None and hasattr(node, "position") else None
        if where is None:  # failed inside the prelude (or code not read from text): name the caller
            frame = self.k
            node = None
            while frame is not None and where is None:
                node = getattr(frame, "node", None)
                where = node.position() if node is not None and hasattr(node, "position") else None
                frame = frame.next
            if where is None and self.root_node is not None and hasattr(self.root_node, "position"):
                node = self.root_node
                where = node.position()
        if where is None:
            return None
        if type(node.source_form()) is not Pair:  # a name alone at top level: its text is in the message
            return f"line {where[0]}, column {where[1]}"
        return f"in {node.text(40)}, line {where[0]}, column {where[1]}"

    def take_output(self) -> str:
        text = "".join(self.output)
        self.output.clear()
        return text

    # --- procedures ----------------------------------------------------------------------------

    def arity_error(self, name: str, min_args: int, max_args: int | None, got: int) -> None:
        if max_args == min_args:
            expected = f"{min_args} argument{'s' if min_args != 1 else ''}"
        elif max_args is None:
            expected = f"at least {min_args} argument{'s' if min_args != 1 else ''}"
        else:
            expected = f"{min_args} to {max_args} arguments"
        raise EvalError(f"{name}: expected {expected}, got {got}")

    def apply(self, f: Any, args: list[Any]) -> None:
        kind = type(f)
        if kind is Closure:
            lam = f.lam
            count = len(args)
            if lam.rest is None:
                if count != lam.nparams:
                    self.arity_error(f.builtin_name or lam.name or write_string(f), lam.nparams, lam.nparams, count)
                frame = [f.env]
                frame.extend(args)
            else:
                fixed = lam.nparams
                if count < fixed:
                    self.arity_error(f.builtin_name or lam.name or write_string(f), fixed, None, count)
                frame = [f.env]
                frame.extend(args[:fixed])
                frame.append(make_list(args[fixed:]))
            if lam.extra_slots:
                frame.extend(lam.extra_slots)
            self.env = frame
            self.node = lam.body
        elif kind is Primitive:
            count = len(args)
            if count < f.min_args or (f.max_args is not None and count > f.max_args):
                self.arity_error(f.name, f.min_args, f.max_args, count)
            self.value = f.fn(self, *args) if f.needs_machine else f.fn(*args)
            self.node = None
        elif kind is MachinePrimitive:
            count = len(args)
            if count < f.min_args or (f.max_args is not None and count > f.max_args):
                self.arity_error(f.name, f.min_args, f.max_args, count)
            getattr(self, "op_" + f.op)(args)
        elif kind is Continuation:
            value = args[0] if len(args) == 1 else make_list(args) if args else UNSPECIFIED
            if f.delimited:
                k = self.k
                for frame in reversed(f.frames):
                    k = frame.relink(k)
                self.k = k
            else:
                self.k = f.frames
            self.value = value
            self.node = None
        elif kind is OracleProc:
            self.k = fr.OracleK(self.k)
            self.apply(Closure(f.lam, f.env, None), args)
        else:
            raise EvalError(f"not a procedure: {short_string(f)} ({type_name(f)}) cannot be called")

    def define_global(self, name: str, value: Any) -> None:
        table = self.globals
        undo = self.undo.globals
        if name not in undo:
            undo[name] = table.get(name, ABSENT)
        table[name] = value
        table.dirty.add(name)

    # --- budgets (checked by primitives BEFORE they build something big) -----------------------

    def reserve(self, nbytes: int, who: str) -> None:
        """``who`` is about to build an object of about ``nbytes``: refuse if the session's memory
        (what earlier commands keep, and what this one built) would pass its budget. Small objects
        are left to the per-slice measurement."""
        if nbytes < budgets.RESERVE_CHECK_BYTES:
            return
        held = self.memory.held
        reached = held + self.memory.growth_now() + nbytes
        if reached > self.memory_limit:
            raise budgets.memory_exceeded(reached, self.memory_limit, f"the result of {who}", held=held)
        work = self.slice_work
        work.heavy_bytes += nbytes
        if work.heavy_bytes >= budgets.SLICE_HEAVY_BYTES:
            self.slice_break = True  # ``run`` ends the slice after this step

    def check_integer_bits(self, bits: int, who: str) -> None:
        """``who`` is about to build an integer of about ``bits`` bits."""
        if bits > self.max_integer_bits:
            raise budgets.integer_exceeded(who, bits, self.max_integer_bits)
        if bits > 8 * budgets.RESERVE_CHECK_BYTES:
            self.reserve(bits // 8, who)

    def mark_dirty(self, obj: Any) -> None:
        """Write barrier: ``obj`` (a frame, hash table or promise) was changed in place."""
        self.globals.dirty_objects[id(obj)] = obj

    # --- output -------------------------------------------------------------------------------

    def write_output(self, text: str) -> None:
        """Collect ``display`` output; past the output budget the command stops, its output cut."""
        total = self.output_chars + len(text)
        if total > self.max_output_chars:
            fits = self.max_output_chars - self.output_chars
            self.output.append(text[: max(fits, 0)])
            self.output.append(f"\n... [output cut at {self.max_output_chars:,} characters]")
            self.output_chars = total
            raise budgets.output_exceeded(self.max_output_chars)
        self.output_chars = total
        self.output.append(text)

    def display(self, value: Any) -> None:
        self.write_output(display_string(value, self.max_output_chars - self.output_chars + 1))
