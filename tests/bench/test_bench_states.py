"""bench/states.py still runs (``--quick``, exit 0, its figures printed); no timing is asserted."""

from __future__ import annotations

from pathlib import Path

from tests.bench.test_bench_smoke import run_bench


def test_states_bench_runs(tmp_path: Path) -> None:
    done = run_bench("states.py", tmp_path)
    assert done.returncode == 0, f"states.py --quick exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "ratio deep(" in done.stdout and "states grew" in done.stdout
