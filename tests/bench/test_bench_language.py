"""bench/language.py still runs (``--quick``): exit 0, its table, a row per program and column.

No timing is asserted (the script reports its ratios to the 25x-CPython target itself); this only
keeps the script from rotting and checks that every program's Omega result is right (a wrong one
exits 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_language_bench_runs_quick(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path), OMEGA_SESSION_DIR=str(tmp_path / "sessions"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "language.py"), "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next(line for line in done.stdout.splitlines() if line.startswith("name"))
    assert all(word in header.split() for word in ("name", "median", "p99", "target", "ratio"))
    lines = done.stdout.splitlines()
    for program in ("(fib 15)", "tail loop", "map/filter/fold", "string-join", "non-tail recursion"):
        for column in ("CPython", "Omega in-process", "omega --embedded --batch - start-up"):
            assert any(line.startswith(program) and f": {column} " in line for line in lines), (program, column)
