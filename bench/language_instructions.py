"""Instructions per unit of work of bench/language.py's programs, counted by valgrind (callgrind).

Why: on a shared machine CPU times of the same code vary by 20-40% from minute to minute, which
hides a 10% change. The number of instructions a run executes barely varies (about 1%), so two
source trees compare reliably. Each program runs at two sizes in a fresh process; the difference
divided by the units of work between them cancels start-up and code generation.

    python bench/language_instructions.py                          # this tree
    python bench/language_instructions.py --against /path/to/old   # this tree vs another (ratio)
    python bench/language_instructions.py --only fib

Needs ``valgrind``; slow (about 50x the programs' own time: a few minutes in all).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = "(define (build n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) (cons i acc)))))\n"
PROGRAMS: dict[str, tuple[str, int, int, str]] = {
    # key: (Omega text with N, small N, big N, unit); fib's units are calls: 2 * fib(N + 1) - 1
    "fib": ("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))\n(fib N)\n", 18, 22, "call"),
    "loop": ("(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1))))\n(loop N 0)\n", 20_000, 100_000,
             "iteration"),
    "list": (BUILD + "(fold-left + 0 (filter even? (map (lambda (x) (* x 3)) (build N))))\n", 10_000, 40_000,
             "element"),
    "string": ("(define (pieces n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) "
               "(cons (number->string i) acc)))))\n(string-length (string-join (pieces N) \",\"))\n", 10_000, 40_000,
               "element"),
    "deep": ("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))\n(deep N)\n", 10_000, 40_000, "level"),
}
RUNNER = """
import sys
from omega_core.config import LanguageConfig
from omega_core.evaluator import Evaluator
# Slices of 4,000 steps, as a run at full speed makes them (about 2 ms): slices are paced by time,
# and under valgrind (50x slower) they would shrink to a few dozen steps, which no real run has.
language = LanguageConfig(slice_steps=4000, slice_ms=1000.0)
results = list(Evaluator(language=language).run_text(sys.argv[1]))
if not results[-1].ok:
    sys.exit(f"error: {results[-1].error}")
"""


def units(key: str, size: int) -> int:
    if key != "fib":
        return size
    a, b = 0, 1
    for _ in range(size + 1):
        a, b = b, a + b
    return 2 * a - 1  # calls of (fib size): 2 * fib(size + 1) - 1


def instructions(tree: Path, text: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           "-c", RUNNER, text], cwd=tree, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-300:]}")
    return int(found.group(1))


def per_unit(tree: Path, key: str) -> float:
    text, small, big, _ = PROGRAMS[key]
    counts = [instructions(tree, text.replace(" N", f" {size}"))
              for size in (small, big)]
    return (counts[1] - counts[0]) / (units(key, big) - units(key, small))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another source tree (the old code) to compare with")
    parser.add_argument("--only", action="append", metavar="PROGRAM", help="fib loop list string deep")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench/language_instructions.py: valgrind is not installed", file=sys.stderr)
        return 2
    print(f"{'program':8} {'unit':9} {'other tree':>12} {'this tree':>12} {'this/other':>10}")
    for key in PROGRAMS:
        if args.only and key not in args.only:
            continue
        this = per_unit(REPO, key)
        other = per_unit(args.against.resolve(), key) if args.against else None
        ratio = f"{this / other:.3f}" if other else "-"
        print(f"{key:8} {PROGRAMS[key][3]:9} {other or 0:12,.0f} {this:12,.0f} {ratio:>10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
