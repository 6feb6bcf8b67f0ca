"""bench/cli.py still runs (``--quick``): exit 0 and its table; no timing is asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_bench_runs_quick(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "cli.py"), "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next(line for line in done.stdout.splitlines() if line.startswith("name"))
    assert all(word in header.split() for word in ("name", "median", "p99", "target", "ratio"))
    for row in ("python -c pass", "omega --batch, one line, warm server", "omega --embedded --batch, one line"):
        assert row in done.stdout
