"""bench/omegallm.py still runs (``--quick``): it builds a small OmegaLLM-format session, exits 0 and
prints its table (every goto it times is checked against the session it built); no timing here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_omegallm_bench_runs_quick(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(REPO / "bench" / "omegallm.py"), "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    for row in ("open, first", "open, again", "goto, cold", "goto, warm", ":session trace"):
        assert row in done.stdout, done.stdout
