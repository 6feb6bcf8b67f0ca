"""Speed of Omega Lisp against CPython, same algorithm (issue 14, item 4: <= 25x CPython).

For each program, three rows:

* ``CPython``: the same algorithm written in Python, run in this process (the reference);
* ``Omega in-process``: the whole program text in a fresh ``Evaluator`` (definitions + call);
* ``omega --embedded --batch``: the program as a file run by the command users run, minus its
  start-up (the time of a file holding only ``1``, run just before it each time).

The two Omega rows have the target 25 x the CPython median; their ratio column is the ratio to
that target (<= 1 ok) and the note gives the plain factor vs CPython. Every result is checked; a
wrong one makes the script exit 1. Times are CPU seconds (user + system; of the child process for
the batch rows): on a shared machine wall time mostly measures waiting for a core. Deep recursion in
CPython runs in a thread with a 1 GB stack and a recursion limit above the depth (plain recursion,
the same algorithm as Omega's).

    python bench/language.py            # full sizes, 3 runs per row (a few minutes)
    python bench/language.py --quick    # small sizes, 1 run per row: the smoke test (no targets)
    python bench/language.py --only fib --runs 5
"""

from __future__ import annotations

import argparse
import functools
import json
import operator
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, median, print_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_FACTOR = 25
"""Omega may take at most this many times CPython's time on each program (issue 14)."""


class WrongResult(Exception):
    pass


@dataclass(frozen=True)
class Program:
    """One benchmark: Omega source (definitions, then the timed expression last), the value it
    prints, and the same algorithm in Python returning the same value (as printed)."""

    key: str
    title: str
    omega: str
    expected: str
    python: Callable[[], Any]


# --- the programs, Omega and Python side by side ---------------------------------------------------


def py_fib(n: int) -> int:
    return n if n < 2 else py_fib(n - 1) + py_fib(n - 2)


def py_loop(i: int, acc: int) -> int:
    while i != 0:  # the Omega loop is a tail call: a Python loop is the same algorithm
        i, acc = i - 1, acc + 1
    return acc


def py_map_filter_fold(n: int) -> int:
    items: list[int] = []
    i = 0
    while i != n:
        items.append(i)
        i += 1
    mapped = list(map(lambda x: x * 3, items))
    kept = list(filter(lambda x: x % 2 == 0, mapped))
    return functools.reduce(operator.add, kept, 0)


def py_string(n: int) -> int:
    pieces: list[str] = []
    i = 0
    while i != n:
        pieces.append(str(i))
        i += 1
    return len(",".join(pieces))


def py_deep(n: int) -> int:
    return 0 if n == 0 else 1 + py_deep(n - 1)


def run_deep(n: int) -> int:
    """``py_deep(n)`` in a thread with a big stack and a recursion limit above ``n``."""
    result: list[int] = []
    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size(1 << 30)
    sys.setrecursionlimit(max(old_limit, n + 1000))
    try:
        thread = threading.Thread(target=lambda: result.append(py_deep(n)))
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    return result[0]


def programs(quick: bool) -> list[Program]:
    fib_n = 15 if quick else 25
    loop_n = 20_000 if quick else 1_000_000
    list_n = 2_000 if quick else 100_000
    string_n = 2_000 if quick else 100_000
    deep_n = 2_000 if quick else 100_000
    build = "(define (build n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) (cons i acc)))))\n"
    pieces = ("(define (pieces n) (let loop ((i 0) (acc '()))\n"
              "  (if (= i n) acc (loop (+ i 1) (cons (number->string i) acc)))))\n")
    return [
        Program("fib", f"(fib {fib_n})",
                f"(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n(fib {fib_n})\n",
                str(py_fib(fib_n)), lambda: py_fib(fib_n)),
        Program("loop", f"tail loop {loop_n:,}",
                f"(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1))))\n(loop {loop_n} 0)\n",
                str(loop_n), lambda: py_loop(loop_n, 0)),
        Program("list", f"map/filter/fold {list_n:,} (list built in the input)",
                build + f"(fold-left + 0 (filter even? (map (lambda (x) (* x 3)) (build {list_n}))))\n",
                str(py_map_filter_fold(list_n)), lambda: py_map_filter_fold(list_n)),
        Program("string", f"string-join of {string_n:,} number->string",
                pieces + f"(string-length (string-join (pieces {string_n}) \",\"))\n",
                str(py_string(string_n)), lambda: py_string(string_n)),
        Program("deep", f"non-tail recursion {deep_n:,} deep",
                f"(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))\n(deep {deep_n})\n",
                str(deep_n), lambda: run_deep(deep_n)),
    ]


# --- the three ways to run them ------------------------------------------------------------------


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_python(program: Program) -> float:
    started = time.process_time()
    value = program.python()
    elapsed = time.process_time() - started
    if str(value) != program.expected:
        raise WrongResult(f"{program.title}: Python returned {value}, expected {program.expected}")
    return elapsed


def time_in_process(program: Program) -> float:
    from omega_core.evaluator import Evaluator

    evaluator = Evaluator()
    started = time.process_time()
    results = list(evaluator.run_text(program.omega))
    elapsed = time.process_time() - started
    failed = [result for result in results if not result.ok]
    if failed:
        raise WrongResult(f"{program.title}: {failed[0].source[:60]}: error: {failed[0].error}")
    if results[-1].value != program.expected:
        raise WrongResult(f"{program.title}: Omega returned {results[-1].value}, expected {program.expected}")
    return elapsed


class BatchRunner:
    """Runs ``omega --embedded --batch --json FILE`` in a scratch session dir; checks the values."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = dict(os.environ, OMEGA_SESSION_DIR=str(work / "sessions"), XDG_CONFIG_HOME=str(work / "xdg"))
        self.env.pop("OMEGA_CONFIG", None)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode compiled once
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH", "")]))
        self.trivial = work / "trivial.omega"
        self.trivial.write_text("1\n", encoding="utf-8")

    def time_file(self, path: Path, expected: str, timeout: float) -> float:
        argv = [sys.executable, "-m", "omega_tui.cli", "--embedded", "--batch", "--json", str(path)]
        started = children_cpu()
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=self.work, timeout=timeout)
        elapsed = children_cpu() - started
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        errors = [line for line in lines if line.get("error")]
        if done.returncode != 0 or errors or not lines or lines[-1].get("value") != expected:
            problem = errors[0]["error"] if errors else (lines[-1].get("value") if lines else done.stderr[-300:])
            raise WrongResult(f"{path.name}: omega --embedded --batch exited {done.returncode}: {problem}")
        return elapsed

    def startup(self) -> float:
        return self.time_file(self.trivial, "1", 60)

    def time_program(self, program: Program) -> float:
        path = self.work / f"{program.key}.omega"
        path.write_text(program.omega, encoding="utf-8")
        return self.time_file(path, program.expected, 600)


# --- the table -----------------------------------------------------------------------------------


def rows_for(program: Program, runs: int, batch: BatchRunner, quick: bool) -> list[Row]:
    python_s: list[float] = []
    in_process_s: list[float] = []
    batch_s: list[float] = []
    for _ in range(runs):  # interleaved: load on the machine hits every column alike
        python_s.append(time_python(program))
        in_process_s.append(time_in_process(program))
        start_up = batch.startup()
        batch_s.append(max(batch.time_program(program) - start_up, 0.0))
    reference = median(python_s)
    target = None if quick else TARGET_FACTOR * reference

    def factor(samples: list[float]) -> str:
        return f"({median(samples) / reference:,.0f}x CPython)" if reference > 0 else ""

    return [
        Row(f"{program.title}: CPython", python_s),
        Row(f"{program.title}: Omega in-process", in_process_s, target=target, note=factor(in_process_s)),
        Row(f"{program.title}: omega --embedded --batch - start-up", batch_s, target=target, note=factor(batch_s)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run per row (smoke test); no targets")
    parser.add_argument("--runs", type=int, default=None, help="runs per row (default 3, --quick 1)")
    parser.add_argument("--only", action="append", metavar="PROGRAM",
                        help="run only this program (repeatable): fib loop list string deep")
    args = parser.parse_args(argv)
    runs = max(1, args.runs if args.runs is not None else (1 if args.quick else 3))

    rows: list[Row] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="omega-bench-language-") as scratch:
        batch = BatchRunner(Path(scratch))
        for program in programs(args.quick):
            if args.only and program.key not in args.only:
                continue
            print(f"running {program.title} ...", file=sys.stderr, flush=True)
            try:
                rows.extend(rows_for(program, runs, batch, args.quick))
            except (WrongResult, subprocess.TimeoutExpired) as problem:
                failures.append(f"{program.title}: {problem}")

    sizes = "--quick: reduced sizes, no targets" if args.quick else f"target {TARGET_FACTOR}x CPython"
    print_table(rows, title=f"Omega Lisp vs CPython, same algorithm (bench/language.py, {sizes}; CPU time, "
                            f"median of {runs})")
    if failures:
        print(file=sys.stderr)
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        print(f"bench/language.py: {len(failures)} program(s) gave a wrong result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
