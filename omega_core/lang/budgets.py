"""The per-command budgets of a machine: memory, integer size and output (steps live in the evaluator).

One place for every budget rule, so a reader finds them together:

- **Memory** of a session's values and continuation, in two parts, neither found by walking the
  heap (``MemoryMeter``):
  - *held*: what the session keeps from earlier commands, counted as its checkpoint encoder
    addresses the objects it captures (``value_size.held_bytes``, one ``getsizeof`` per new object)
    and settled when the encoder prunes the garbage among them. A session set by its owner before
    each command (``RecordedSession.execute_steps``); a bare evaluator holds nothing.
  - *grown*: what the running command builds, measured as how much the process's resident memory
    grew during each of the command's own slices (one ``pread`` of ``/proc/self/statm`` before and
    after a slice, a few microseconds per 20,000 steps, nothing per step), so frames, closures and
    pairs built by the machine itself are counted without any cost on the hot path, and memory
    other sessions build between our slices is not.
  The command stops once held + grown passes the budget and the command itself grew by at least
  ``SMALL_GROWTH_BYTES`` (a session over its budget can still run small commands: free values,
  look, go back). Primitives that can build a large object in one step (``string-append``,
  ``append``, ``*`` ...) estimate its size and call ``Machine.reserve`` BEFORE building it, so no
  single step allocates past the budget.
- **Integer size** (bits): ``*`` and ``expt`` estimate the size of their result before computing it,
  so multiplication and the int<->text conversions (``numtext``) of any allowed integer stay in the
  millisecond range. ``+`` and ``-`` are not checked (one bit per step at most: passing the budget by
  much would take as many steps as bits), nor literals the reader accepts (its input limit bounds them).
- **String size** (characters): a string is built by one copy in one step, which nobody can
  interrupt (a 256 MB ``string-append`` held the loop for over a second); primitives that build a
  string check its length first (``check_string_chars``), so every step that copies a string stays
  within a few milliseconds. Several such steps do not stack up in one slice: past
  ``SLICE_HEAVY_BYTES`` built in a slice, the slice ends after the current step.
- **Output** per command: ``display`` output past the limit ends the command, the shown output
  is cut there with a note.

Each failure is a ``BudgetExceeded`` (code ``budget_exceeded``) whose message names the budget, the
value reached, the limit and the config key.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from omega_core.errors import BudgetExceeded
from omega_core.lang.release import releases_running

MIB = 1024 * 1024

PAIR_BYTES = 56
"""Estimated size of one pair (object header, two slots, the cyclic GC's header)."""

STRING_HEADER_BYTES = 49
"""``sys.getsizeof("")``: what a Python string costs before its characters."""

DEFAULT_MAX_STRING_CHARS = 4 * 1024 * 1024
"""``[language] max_string_chars``: 4 Mi characters. Building a string is one step nobody can
interrupt, and on fresh memory it costs about 0.6 ms per MB (the kernel zeroes new pages, then the
copy): 2.3 ms for 4 Mi ASCII characters, 4.7 ms with 2-byte characters. With 16 Mi the last
doubling held every other client for 9-12 ms (ASCII) and up to 42 ms (4-byte characters), past
the 5 ms a step may take (ARCHITECTURE.md section 1). A user who needs longer strings raises it
and accepts those waits."""

SMALL_GROWTH_BYTES = 1024 * 1024
"""A command that grew the process by less than this is never stopped for memory (the resident
size moves by pages for reasons of its own)."""

SLICE_HEAVY_BYTES = 1 * MIB
"""Once the big objects primitives built in one slice (``Machine.reserve``) pass this, the slice
ends after the step that built the last one, so steps that each build something big never stack
up in one slice: a tail loop doubling a string to 16 Mi characters did all its doublings in one
slice, 30-40 ms of copying while every other client waited; now each doubling past 1 MB gets a
slice of its own. Where a slice ends depends on it, never what a step does or how many steps
there are."""

RESERVE_CHECK_BYTES = 64 * 1024
"""Objects smaller than this are left to the per-slice measurement: a slice cannot build many of
them between two measurements, and checking is then not worth its cost."""


# --- estimates -----------------------------------------------------------------------------------


def string_bytes(length: int, all_ascii: bool) -> int:
    """Bytes of a new string of ``length`` characters (4 per character unless it is all ASCII:
    an upper bound, Python uses 1, 2 or 4 by the widest character)."""
    return STRING_HEADER_BYTES + length * (1 if all_ascii else 4)


def list_bytes(count: int) -> int:
    """Bytes of ``count`` new pairs."""
    return count * PAIR_BYTES


def integer_bits_of_product(factors: tuple[int, ...]) -> int:
    """Upper bound of the bits of the product of ``factors`` (sum of their sizes), exact enough to
    refuse before multiplying: the true size is that sum or one less."""
    return sum(factor.bit_length() for factor in factors)


# --- messages ------------------------------------------------------------------------------------


def _mb(nbytes: int) -> str:
    return f"{nbytes / MIB:,.0f} MB" if nbytes >= 10 * MIB else f"{nbytes / MIB:,.1f} MB"


def memory_exceeded(reached: int, limit: int, what: str, verb: str = "would reach", held: int = 0) -> BudgetExceeded:
    """``what`` says which values: ``the command's values and continuation`` or a primitive's
    result; ``held``: the part earlier commands keep (named, with what to do about it)."""
    if held < SMALL_GROWTH_BYTES:  # earlier commands keep next to nothing: not worth a mention
        return BudgetExceeded(
            f"memory budget exceeded: {what} {verb} {_mb(reached)} "
            f"(limit {limit // MIB:,} MB, [language] max_memory_mb)"
        )
    return BudgetExceeded(
        f"memory budget exceeded: the session's values would reach {_mb(reached)}: {_mb(held)} kept "
        f"by earlier commands or forms and {_mb(max(reached - held, 0))} for {what} "
        f"(limit {limit // MIB:,} MB, [language] max_memory_mb); free values you no longer need "
        "(set! or redefine them) and run it again, or raise the limit"
    )


def integer_exceeded(who: str, bits: int, limit: int) -> BudgetExceeded:
    return BudgetExceeded(
        f"integer size budget exceeded: {who} would build an integer of about {bits:,} bits "
        f"(~{bits * 3 // 10:,} digits; limit {limit:,} bits, [language] max_integer_bits)"
    )


def string_exceeded(who: str, length: int, limit: int) -> BudgetExceeded:
    return BudgetExceeded(
        f"string size budget exceeded: {who} would build a string of {length:,} characters "
        f"(limit {limit:,} characters, [language] max_string_chars); keep the text in smaller "
        "strings, or raise the limit"
    )


def check_string_chars(machine: Any, length: int, all_ascii: bool, who: str) -> None:
    """``who`` is about to build a string of ``length`` characters: refuse it past the string
    size budget, then past the memory budget (``Machine.reserve``)."""
    limit = machine.max_string_chars
    if length > limit:
        raise string_exceeded(who, length, limit)
    machine.reserve(string_bytes(length, all_ascii), who)


def output_exceeded(limit: int) -> BudgetExceeded:
    return BudgetExceeded(
        f"output budget exceeded: the command printed more than {limit:,} characters and was stopped; "
        f"its output is cut there (limit {limit:,} characters, [language] max_output_chars)"
    )


def steps_exceeded(steps: int, limit: int) -> BudgetExceeded:
    return BudgetExceeded(
        f"step budget exceeded: the command took {steps:,} steps and was stopped "
        f"(limit {limit:,} steps, [language] step_budget)"
    )


# --- measuring memory ----------------------------------------------------------------------------


class _ResidentMemory:
    """The process's resident set size, read cheaply (an open ``/proc/self/statm`` read with
    ``pread``; reopened after a fork, where ``self`` would still name the parent)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._pid = -1
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._available = sys.platform.startswith("linux")

    def bytes(self) -> int:
        if self._available:
            try:
                if self._pid != os.getpid() or self._fd is None:
                    self._fd = os.open("/proc/self/statm", os.O_RDONLY)
                    self._pid = os.getpid()
                return int(os.pread(self._fd, 128, 0).split()[1]) * self._page
            except (OSError, ValueError, IndexError):
                self._available = False
        return _peak_resident_bytes()


def _peak_resident_bytes() -> int:
    """Elsewhere: the peak resident size (it only grows, so growth is still bounded)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - no way to measure: memory is bounded per primitive only
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


RESIDENT = _ResidentMemory()

MMAP_THRESHOLD_BYTES = 256 * 1024
_allocator_pinned = False


def pin_allocator_for_measuring() -> None:
    """Once per process: have glibc map every block of ``MMAP_THRESHOLD_BYTES`` or more on its own
    and unmap it when freed. By default glibc raises that threshold each time it frees a mapped
    block (up to 32 MB), after which big strings come from its heap and, once freed, stay resident
    for reuse: a command reusing them built megabytes without the resident size growing, so the
    memory budget, which measures that growth, counted nothing (seen after a session was
    restored: its decoded strings freed, the next 8 MB strings free of charge). Elsewhere (another
    libc, no ``mallopt``) nothing changes."""
    global _allocator_pinned
    if _allocator_pinned or not sys.platform.startswith("linux"):
        return
    _allocator_pinned = True
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, MMAP_THRESHOLD_BYTES)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


class MemoryMeter:
    """How much memory the session holds (``held``, from earlier commands: set by the session
    before each command) and how much the running command has built (``grown``: the sum, over its
    own slices, of how much the process grew during the slice, started fresh for every command)."""

    __slots__ = ("grown", "held", "replaced", "_slice_start")

    def __init__(self) -> None:
        self.grown = 0
        self.held = 0
        self.replaced = False
        """A form since the session last looked replaced a value that may have held memory
        (``UndoJournal.replaced_values``): what it freed is still in ``held`` until a prune."""
        self._slice_start: int | None = None

    def reset(self) -> None:
        self.grown = 0
        self._slice_start = None

    def over(self, limit: int) -> bool:
        """The command has grown enough to be stopped, and with what is held it passes ``limit``."""
        return self.grown >= SMALL_GROWTH_BYTES and self.held + self.grown > limit

    def slice_started(self) -> None:
        self._slice_start = RESIDENT.bytes()

    def slice_ended(self) -> None:
        if self._slice_start is not None:
            self.grown += _counted(RESIDENT.bytes() - self._slice_start)
            self._slice_start = None

    def growth_now(self) -> int:
        """Growth so far, including the part of the slice being run (for a primitive's check)."""
        if self._slice_start is None:
            return max(self.grown, 0)
        return max(self.grown + _counted(RESIDENT.bytes() - self._slice_start), 0)


def _counted(change: int) -> int:
    """A slice's change of the resident size, as this command's: a shrink while a release thread
    frees a stopped command's values (``release``) is that thread's doing, not this command's (a
    list doubling that started while 512 MB of an endless recursion were freed went on far past its
    budget, counted as having built nothing)."""
    if change < 0 and releases_running():
        return 0
    return change
