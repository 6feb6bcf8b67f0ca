"""bench/isolation.py still runs (``--quick``, in a subprocess): exit 0, one row pair per bomb.

No timing is asserted (the script reports latencies; ARCHITECTURE.md section 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_isolation_bench_runs_quick(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["OMEGA_SESSION_DIR"] = str(tmp_path / "sessions")
    env["TMPDIR"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "isolation.py"), "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert any(all(word in line.split() for word in ("name", "median", "p99")) for line in lines), done.stdout
    for bomb in ("stalled follower", "(fact 2000)", "(deep N)", "endless", "string doubling", "list doubling",
                 "bignum", "big global", ":session save"):
        assert any(line.startswith(bomb) and ": ping" in line for line in lines), f"no {bomb!r} row in\n{done.stdout}"
    assert "restarted:" in done.stdout and "ended:" in done.stdout
