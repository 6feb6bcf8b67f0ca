"""bench/kernel.py still runs (``--quick``): exit 0, its table printed, nothing left running.

No timing is asserted (speed goals are reported by the script itself, see ARCHITECTURE.md section 7).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_kernel_bench_runs_quick(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "kernel.py"), "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "FAIL" not in done.stdout + done.stderr
    for row in ("cell round trip (+ 1 2) through the kernel", "kernel start to first reply"):
        assert row in done.stdout, done.stdout
