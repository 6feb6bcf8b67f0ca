"""Speed of the language runtime (issue "language runtime"): evaluator and state serializer.

Each case runs in a fresh ``omega_core.evaluator.Evaluator`` through ``run_text``: the definitions
first (not timed), then only the call is timed, several times; the table shows medians and the ratio
to the target. Every result is checked; a wrong one makes the script exit 1.

    python bench/eval.py            # full sizes (about a minute)
    python bench/eval.py --quick    # small sizes, for the smoke test; no targets
    python -m cProfile -s tottime bench/eval.py --only fib20 | head -40   # where the time goes
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, measure, print_table  # noqa: E402

from omega_core.evaluator import Evaluator  # noqa: E402
from omega_core.lang import serialize  # noqa: E402
from omega_core.lang import serialize_read  # noqa: E402

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
LOOP = "(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1))))"
BUILD = "(define (build n) (let loop ((i 0) (acc '())) (if (= i n) acc (loop (+ i 1) (cons i acc)))))"


class WrongResult(Exception):
    pass


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def run(evaluator: Evaluator, text: str) -> str:
    """Run ``text``; the printed value of its last form (any error raises WrongResult)."""
    results = list(evaluator.run_text(text))
    for result in results:
        if not result.ok:
            raise WrongResult(f"{result.source or text[:60]!s}: error: {result.error}")
    if not results:
        raise WrongResult(f"{text[:60]}: no result")
    return results[-1].value or ""


def timed_call(setup: str, call: str, expected: str, repeat: int) -> list[float]:
    """Define ``setup`` in a fresh evaluator, then time ``call`` ``repeat`` times; check each value."""
    evaluator = Evaluator()
    run(evaluator, setup)
    values: list[str] = []
    samples = measure(lambda: values.append(run(evaluator, call)), repeat)
    for value in values:
        if value != expected:
            raise WrongResult(f"{call} returned {value}, expected {expected}")
    return samples


@dataclass
class Case:
    key: str
    name: str
    target: float | None
    body: Callable[[], Row]


def state_cases(bindings: int, repeat: int, quick: bool) -> list[Case]:
    """JSON dump and load of a machine holding ``bindings`` global definitions (one shared setup)."""
    shared: dict[str, object] = {}

    def machine():
        if "machine" not in shared:
            evaluator = Evaluator()
            run(evaluator, "\n".join(f"(define v{i} {i})" for i in range(bindings)))
            shared["machine"] = evaluator.machine
            shared["text"] = serialize.dumps_state(evaluator.machine)
        return shared["machine"]

    def dump() -> Row:
        m = machine()
        texts: list[str] = []
        samples = measure(lambda: texts.append(serialize.dumps_state(m)), repeat)
        if any(text != texts[0] for text in texts):
            raise WrongResult("dumps_state: two dumps of one unchanged machine differ")
        return Row(f"state dump, {bindings:,} bindings", samples, target=None if quick else 0.050,
                   note=f"({len(texts[0]) / 1e3:.0f} kB JSON)")

    def load() -> Row:
        machine()
        text = str(shared["text"])
        loaded: list[object] = []
        samples = measure(lambda: loaded.append(serialize_read.loads_state(text)), repeat)
        for m in loaded:
            table = m.globals  # type: ignore[attr-defined]
            wrong = [i for i in range(bindings) if table.get(f"v{i}") != i]
            if wrong:
                raise WrongResult(f"loads_state: v{wrong[0]} = {table.get(f'v{wrong[0]}')!r} after the round trip")
            if serialize.dumps_state(m) != text:
                raise WrongResult("loads_state: dumping the loaded machine does not give the same JSON")
        return Row(f"state load, {bindings:,} bindings", samples, target=None if quick else 0.050)

    return [
        Case("dump", f"state dump ({bindings:,} bindings)", 0.050, dump),
        Case("load", f"state load ({bindings:,} bindings)", 0.050, load),
    ]


def cases(quick: bool) -> list[Case]:
    small_fib, big_fib = (15, 18) if quick else (20, 25)
    loop_n = 100_000 if quick else 1_000_000
    list_n = 10_000 if quick else 100_000
    bindings = 1_000 if quick else 10_000
    repeat = 5

    def target(value: float) -> float | None:
        return None if quick else value

    def fib_case(n: int, reps: int, goal: float) -> Row:
        samples = timed_call(FIB, f"(fib {n})", str(fib(n)), reps)
        return Row(f"(fib {n})", samples, target=target(goal))

    def loop_case() -> Row:
        samples = timed_call(LOOP, f"(loop {loop_n} 0)", str(loop_n), repeat)
        return Row(f"tail loop, {loop_n:,} iterations", samples, target=target(2.0))

    def list_case() -> Row:
        expected = str(list_n * (list_n - 1) // 2)
        samples = timed_call(BUILD, f"(fold-left + 0 (build {list_n}))", expected, repeat)
        return Row(f"build + fold-left sum, {list_n:,}-element list", samples)

    return [
        Case("fib20", f"(fib {small_fib})", 0.5, lambda: fib_case(small_fib, repeat, 0.5)),
        Case("fib25", f"(fib {big_fib})", 5.0, lambda: fib_case(big_fib, 3, 5.0)),
        Case("loop", "tail loop", 2.0, loop_case),
        Case("list", "list build + sum", None, list_case),
        *state_cases(bindings, repeat, quick),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test); targets are not shown")
    parser.add_argument("--only", action="append", metavar="CASE",
                        help="run only this case (repeatable): fib20 fib25 loop list dump load")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    failures: list[str] = []
    for case in cases(args.quick):
        if args.only and case.key not in args.only:
            continue
        print(f"running {case.name} ...", file=sys.stderr, flush=True)
        try:
            rows.append(case.body())
        except WrongResult as problem:
            failures.append(f"{case.name}: {problem}")

    title = "Omega language runtime (bench/eval.py" + (", --quick: reduced sizes, no targets)" if args.quick else ")")
    print_table(rows, title=title)
    print()
    print("For scale: OmegaLLM takes about 46 s for (fib 20) and refuses it at 100,000 steps by default.")
    if failures:
        print(file=sys.stderr)
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        print(f"bench/eval.py: {len(failures)} case(s) gave a wrong result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
