"""Cost of checkpoint states (issue "No session and no client can hurt another", item 5).

In-process, on a recorded session in a temporary directory:

* ``(deep N)`` (non-tail recursion): time of the call plus the flush, states bytes written, the
  longest stretch without a pause of ``execute_steps`` (what a server's loop would wait), and the
  ratio deep(2N)/deep(N) (linear: about 2; the shared states target is <= 2.2);
* a big string in a global followed by small defines: how much the states file grows compared
  with the log (target: about the log's growth; the value itself is written once).

    python bench/states.py            # N = 100,000; 16 MiB and 600 defines
    python bench/states.py --quick    # small sizes, for a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from omega_core.config import Config
from omega_core.session.recorded import RecordedSession


def deep(depth: int) -> tuple[float, int, float]:
    """(seconds, states bytes, longest gap between pauses in seconds) of one ``(deep depth)``."""
    with tempfile.TemporaryDirectory() as directory:
        session = RecordedSession.open(Path(directory), "deep", Config())
        session.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
        session.flush()
        before = session.paths.states.stat().st_size
        started = last = time.perf_counter()
        longest = 0.0
        for _ in session.execute_steps(f"(deep {depth})"):
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        session.flush()
        elapsed = time.perf_counter() - started
        written = session.paths.states.stat().st_size - before
        session.close()
    return elapsed, written, longest


def big_value(doublings: int, defines: int) -> tuple[int, int, int, float]:
    """(value chars, states growth, log growth, worst command seconds) after the small defines."""
    with tempfile.TemporaryDirectory() as directory:
        session = RecordedSession.open(Path(directory), "big", Config())
        session.execute("(define (double s n) (if (= n 0) s (double (string-append s s) (- n 1))))")
        session.execute(f'(define big (double "a" {doublings}))')
        session.flush()
        states, log = session.paths.states.stat().st_size, session.paths.log.stat().st_size
        worst = 0.0
        for n in range(defines):
            started = time.perf_counter()
            session.execute(f"(define v{n} (list {n} (string-length big)))")
            session.flush()
            worst = max(worst, time.perf_counter() - started)
        grown = session.paths.states.stat().st_size - states, session.paths.log.stat().st_size - log
        session.close()
    return 2 ** doublings, grown[0], grown[1], worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    options = parser.parse_args()
    depth = 10_000 if options.quick else 100_000
    first, second = deep(depth), deep(2 * depth)
    for size, (elapsed, written, longest) in ((depth, first), (2 * depth, second)):
        print(f"(deep {size}): {elapsed:.2f} s, states {written / 1e6:.1f} MB, longest stretch without a pause "
              f"{longest * 1000:.0f} ms")
    print(f"ratio deep({2 * depth}) / deep({depth}): {second[0] / first[0]:.2f} (target <= 2.2)")
    chars, states, log, worst = big_value(16 if options.quick else 24, 60 if options.quick else 600)
    print(f"{chars:,}-char global then small defines: states grew {states / 1e3:.0f} KB, log grew "
          f"{log / 1e3:.0f} KB (target: about the log's growth); slowest command {worst * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
