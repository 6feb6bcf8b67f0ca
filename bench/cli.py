"""Start-up cost of the ``omega`` command (issue 13, ARCHITECTURE.md section 7).

Rows, each the median of N runs of a fresh process, interleaved so that load on the machine hits
every row alike:

* ``python -c pass``: the floor, measured in the same run as the reference of the ratios;
* a warm ``omega --batch one.omega`` (one line, through an already running server, its settings
  cached by an earlier run: ``omega_core.server.client_settings``): target 3.5x the floor; this is
  the thin path (``omega_tui.thin_batch``: no argparse, no config schema, no evaluator, no Textual);
* ``omega --embedded --batch one.omega``: no server, the evaluator in-process; target 250 ms;
* ``python -c "import omega_tui.cli, ..."``: what the thin path's imports cost (report only);
* the same rows in CPU time (user + system of the process), which load on the machine disturbs less.

Everything runs on a temporary session dir and runtime dir; the server is stopped at the end.

    python bench/cli.py            # 21 runs per row
    python bench/cli.py --quick    # 3 runs per row, for the smoke test
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, print_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WARM_BATCH_RATIO = 3.5
EMBEDDED_TARGET_S = 0.250
THIN_IMPORTS = ("import omega_tui.cli, omega_tui.remote_batch, omega_core.server.thin_client, "
                "omega_core.server.client_settings")


CPU_SECONDS: list[float] = []
"""CPU time (user + system) of each run, in the order of the runs: on a loaded machine wall time
mostly measures waiting for a core, CPU time what the command itself costs."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], cwd: Path, expect: str | None) -> float:
    """Seconds of one run of ``argv``; its output is checked against ``expect`` (a wrong one exits 1)."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    elapsed = time.perf_counter() - started
    CPU_SECONDS.append(_children_cpu() - cpu_before)
    if done.returncode != 0 or (expect is not None and done.stdout != expect):
        print(f"FAIL: {' '.join(argv)} exited {done.returncode}: {done.stdout!r} {done.stderr!r}", file=sys.stderr)
        sys.exit(1)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per row (smoke test)")
    parser.add_argument("--runs", type=int, default=21, help="runs per row (default 21)")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else max(1, args.runs)

    work = Path(tempfile.mkdtemp(prefix="omega-bench-cli-"))
    runtime = Path(tempfile.mkdtemp(prefix="obc-", dir="/tmp"))  # short: it holds the socket
    env = dict(os.environ, OMEGA_SESSION_DIR=str(work / "sessions"), OMEGA_RUNTIME_DIR=str(runtime),
               XDG_CONFIG_HOME=str(work / "xdg"))
    env.pop("OMEGA_CONFIG", None)
    # An installed omega has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE would
    # compile every module on every start and measure the compiler instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    (work / "omega.toml").write_text("[server]\nidle_shutdown_s = 60\n", encoding="utf-8")
    program = work / "one.omega"
    program.write_text("(+ 1 2)\n", encoding="utf-8")
    python = sys.executable
    omega = [python, "-m", "omega_tui.cli"]
    cases: dict[str, Callable[[], float]] = {
        "python -c pass": lambda: timed([python, "-c", "pass"], env, work, None),
        "omega --batch (warm server)": lambda: timed([*omega, "--batch", str(program)], env, work, "=> 3\n"),
        "omega --embedded --batch": lambda: timed([*omega, "--embedded", "--batch", str(program)], env, work, "=> 3\n"),
        "thin imports": lambda: timed([python, "-c", THIN_IMPORTS], env, work, None),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    try:
        timed([*omega, "server", "start"], env, work, None)
        timed([*omega, "--embedded", "--batch", str(program)], env, work, "=> 3\n")  # compiles the bytecode
        timed([*omega, "--batch", str(program)], env, work, "=> 3\n")  # warm: settings cached, the page cache
        for _ in range(runs):
            for name, case in cases.items():
                samples[name].append(case())
                cpu[name].append(CPU_SECONDS[-1])
    finally:
        subprocess.run([*omega, "server", "stop"], capture_output=True, env=env, cwd=work, timeout=60)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)

    floor = sorted(samples["python -c pass"])[len(samples["python -c pass"]) // 2]
    cpu_floor = sorted(cpu["python -c pass"])[len(cpu["python -c pass"]) // 2]
    rows = [
        Row("python -c pass", samples["python -c pass"], note="(the floor of the ratios)"),
        Row("omega --batch, one line, warm server", samples["omega --batch (warm server)"],
            target=None if args.quick else WARM_BATCH_RATIO * floor,
            note=f"(target: {WARM_BATCH_RATIO:g}x python -c pass of this run)"),
        Row("omega --embedded --batch, one line", samples["omega --embedded --batch"],
            target=None if args.quick else EMBEDDED_TARGET_S),
        Row("python -c 'import <the thin path's modules>'", samples["thin imports"]),
        Row("CPU: python -c pass", cpu["python -c pass"], note="(user+system time of the process)"),
        Row("CPU: omega --batch, warm server", cpu["omega --batch (warm server)"],
            target=None if args.quick else WARM_BATCH_RATIO * cpu_floor,
            note=f"(target: {WARM_BATCH_RATIO:g}x the CPU of python -c pass)"),
        Row("CPU: omega --embedded --batch", cpu["omega --embedded --batch"]),
    ]
    print_table(rows, title=f"omega start-up, median of {runs} runs each (interleaved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
