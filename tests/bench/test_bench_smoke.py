"""The bench scripts still run: each with ``--quick`` in a subprocess, exit 0, table printed.

No timing is asserted here (speed goals are reported by the bench scripts themselves, see
ARCHITECTURE.md section 7); this only keeps the scripts from rotting.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
HEADER_WORDS = ("name", "median", "p99", "target", "ratio")


def run_bench(script: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["OMEGA_SESSION_DIR"] = str(tmp_path / "sessions")
    env["TMPDIR"] = str(tmp_path)  # the benches' own temp dirs land here too
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(BENCH / script), "--quick", *extra], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def header_line(stdout: str) -> str | None:
    for line in stdout.splitlines():
        if all(word in line.split() for word in HEADER_WORDS):
            return line
    return None


@pytest.mark.parametrize("script", ["eval.py", "session.py"])
def test_bench_runs_quick(script: str, tmp_path: Path) -> None:
    done = run_bench(script, tmp_path)
    assert done.returncode == 0, f"{script} --quick exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert header_line(done.stdout) is not None, f"no table header in:\n{done.stdout}"
    assert "FAIL" not in done.stdout + done.stderr


def test_server_bench_runs_quick(tmp_path: Path) -> None:
    """bench/server.py starts servers of its own (temp session and runtime dirs) and stops them."""
    done = run_bench("server.py", tmp_path, "--no-cache")  # no data set cache left in /tmp
    assert done.returncode == 0, f"server.py --quick exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert header_line(done.stdout) is not None, f"no table header in:\n{done.stdout}"
    assert "FAIL" not in done.stdout + done.stderr
    for name in ("ping", "goto", "kill -9", "memory: pool estimate"):
        assert name in done.stdout, f"no {name!r} row in:\n{done.stdout}"
    assert "outlived" not in done.stderr and "did not stop" not in done.stderr, done.stderr


@pytest.mark.parametrize("mode", [(), ("--fork",)])
def test_restart_gap_bench_runs_quick(tmp_path: Path, mode: tuple[str, ...]) -> None:
    """bench/restart_gap.py kills its own server's backend (with and without a standby)."""
    done = run_bench("restart_gap.py", tmp_path, *mode)
    assert done.returncode == 0, f"restart_gap.py --quick exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert header_line(done.stdout) is not None, f"no table header in:\n{done.stdout}"
    for name in ("kill -9 -> ping answers", "fork or go -> first client adopted"):
        assert name in done.stdout, f"no {name!r} row in:\n{done.stdout}"
    assert "outlived" not in done.stderr and "did not stop" not in done.stderr, done.stderr


def test_tui_bench_runs_quick(tmp_path: Path) -> None:
    """bench/tui.py starts a server of its own (temp dirs), runs the app headless, stops the server."""
    done = run_bench("tui.py", tmp_path)
    assert done.returncode == 0, f"tui.py --quick exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert header_line(done.stdout) is not None, f"no table header in:\n{done.stdout}"
    assert "FAIL" not in done.stdout + done.stderr
    for name in ("cold start to first paint", "key to repaint"):
        assert name in done.stdout, f"no {name!r} row in:\n{done.stdout}"


def load_table_module():
    spec = importlib.util.spec_from_file_location("bench_table", BENCH / "_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_table_helpers() -> None:
    table = load_table_module()
    assert table.median([3.0, 1.0, 2.0]) == 2.0
    assert table.p99([float(i) for i in range(1, 101)]) == 99.0
    assert table.p99([1.0, 5.0]) == 5.0
    samples = table.measure(lambda: None, 3)
    assert len(samples) == 3 and all(s >= 0 for s in samples)

    out = io.StringIO()
    table.print_table([
        table.Row("fast", [0.001, 0.002, 0.003], target=0.010, show_p99=True),
        table.Row("slow", value=3.0, target=2.0),
        table.Row("tail", [0.001] * 98 + [0.05] * 2, target=0.010, show_p99=True),
        table.Row("size", value=2_500_000, unit="B", target=5e6),
        {"name": "report only", "value": 0.5},
    ], title="T", file=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "T"
    assert header_line(out.getvalue()) == lines[1]
    body = {line.split("  ")[0].strip(): line for line in lines[3:]}
    assert body["fast (n=3)"].endswith("0.20x ok")
    assert "p99 is" not in body["fast (n=3)"]
    assert "3.0 ms" in body["fast (n=3)"]
    assert body["slow"].endswith("1.50x SLOW")
    assert body["tail (n=100)"].endswith("0.10x ok  (p99 is 5.00x the target)")
    assert "2.5 MB" in body["size"] and body["size"].endswith("0.50x ok")
    assert body["report only"].endswith("—")

    out = io.StringIO()
    table.print_table([
        table.Row("split", [0.0005] * 98 + [0.003] * 2, target=0.001, p99_target=0.005),
        table.Row("split slow", [0.0005] * 98 + [0.008] * 2, target=0.001, p99_target=0.005),
        table.Row("p99 only", [0.010] * 100, p99_target=0.020),
    ], file=out)
    body = {line.split("  ")[0].strip(): line for line in out.getvalue().splitlines()[2:]}
    assert body["split (n=100)"].endswith("0.50x ok  (p99 target 5.0 ms: 0.60x ok)")
    assert body["split slow (n=100)"].endswith("0.50x ok  (p99 target 5.0 ms: 1.60x SLOW)")
    assert "10.0 ms" in body["p99 only (n=100)"] and body["p99 only (n=100)"].endswith("—  (p99 target 20.0 ms: 0.50x ok)")
    assert table.Row("s", [0.0005] * 98 + [0.008] * 2, target=0.001, p99_target=0.005).slow
