"""Old against new Enter to painted result, taking turns (the machine is shared: figures measured
minutes apart are not comparable, figures measured in turns are).

Each round runs ``bench/tui.py``'s ``enter_to_result`` in a fresh process from each source tree:
``ENTERS`` inputs in a new session, then ``ENTERS_LONG`` with 100,000 lines of scrollback. The
table gives each tree's medians and p99 of the wall time and of the UI thread's CPU, and new/old.

    python bench/tui_ab_enter.py OLD_TREE NEW_TREE [ROUNDS]   # e.g. a `git archive` of the old commit

A tree is a directory holding ``omega_tui``, ``omega_core`` and ``bench`` (its own ``bench/tui.py``
is used; copy the new one over if the old one lacks ``enter_to_result``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ENTERS = 40
ENTERS_LONG = 20
SCROLLBACK = 100_000

CHILD = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[1] + "/bench"); sys.path.insert(0, sys.argv[1])
import tui
walls, cpus = asyncio.run(tui.enter_to_result(int(sys.argv[2]), 0))
walls_long, cpus_long = asyncio.run(tui.enter_to_result(int(sys.argv[3]), int(sys.argv[4])))
print(json.dumps([walls, cpus, walls_long, cpus_long]))
"""
LABELS = ("Enter to painted result, (+ 1 2) (wall)", "  its UI thread CPU",
          f"the same with {SCROLLBACK:,} lines of scrollback (wall)", "  its UI thread CPU")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    trees = [str(Path(tree).resolve()) for tree in argv[:2]]
    rounds = int(argv[2]) if len(argv) == 3 else 2
    samples: dict[str, list[list[float]]] = {tree: [[], [], [], []] for tree in trees}
    with tempfile.TemporaryDirectory(prefix="otae-") as cache:
        for _ in range(rounds):
            for tree in trees:
                done = subprocess.run([sys.executable, "-c", CHILD, tree, str(ENTERS), str(ENTERS_LONG), str(SCROLLBACK)],
                                      env=dict(os.environ, PYTHONPATH=tree, XDG_CACHE_HOME=cache),
                                      capture_output=True, text=True, timeout=1800)
                if done.returncode != 0:
                    print(f"FAIL ({tree}): {done.stderr[-2000:]}", file=sys.stderr)
                    return 1
                for index, values in enumerate(json.loads(done.stdout.strip().splitlines()[-1])):
                    samples[tree][index].extend(values)
    old, new = (samples[tree] for tree in trees)
    print(f"TUI Enter to painted result, {rounds} rounds in turns (ms)")
    print(f"{'':52s} {'old':>7s} {'new':>7s}  new/old   p99 old -> new")
    for label, old_values, new_values in zip(LABELS, old, new):
        old_median, new_median = statistics.median(old_values), statistics.median(new_values)
        print(f"{label:52s} {old_median * 1000:7.1f} {new_median * 1000:7.1f}  {new_median / old_median:5.2f}x"
              f"   {p99(old_values) * 1000:.1f} -> {p99(new_values) * 1000:.1f}  (n={len(old_values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
