"""Speed of the Jupyter kernel (issue "Omega in Jupyter"): a cell's round trip and a kernel's start.

* Cell round trip: ``(+ 1 2)`` sent by ``jupyter_client`` (``execute_request`` on the shell channel)
  to the kernel, through the session server and back, until the ``execute_reply`` is in; target
  <= 20 ms median. The same line sent straight through ``OmegaClient`` is shown for comparison (what
  the server costs; the rest is the kernel and ZeroMQ).
* Interrupt: Jupyter's interrupt (``interrupt_request``) of a cell in an endless loop, to that
  cell's reply; target: within 1 s.
* Kernel start to first reply: from ``KernelManager.start_kernel`` (a fresh ``python -m
  omega_tui.kernel`` process from the kernelspec) to the ``execute_reply`` of the first ``(+ 1 2)``,
  with the server already running; target <= 1.5 s. "to kernel_info" is when Jupyter sees it ready.
  A plain ``python -c pass`` start is shown as the floor of this machine.

Everything runs on temporary dirs (kernelspec prefix, session and runtime dirs) and is stopped at
the end: kernels, then the server.

    python bench/kernel.py            # 300 round trips, 10 interrupts, 5 starts, ipykernel's own kernel
    python bench/kernel.py --quick    # 20 round trips, 2 interrupts, 1 start (the smoke test)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _table import Row, print_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LINE = "(+ 1 2)"
TIMEOUT_S = 60.0


class Failed(Exception):
    pass


class Lab:
    """A kernelspec in a temp prefix, a server on temp dirs, and the kernels started from them."""

    def __init__(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager

        from omega_core.config import load_config
        from omega_tui.kernel.spec import install

        self.base = Path(tempfile.mkdtemp(prefix="obk-", dir="/tmp"))  # short: the socket path lives here
        install(prefix=str(self.base / "prefix"))
        self.spec_manager = KernelSpecManager(kernel_dirs=[str(self.base / "prefix" / "share" / "jupyter" / "kernels")])
        (self.base / "omega.toml").write_text("[server]\nidle_shutdown_s = 60\n", encoding="utf-8")
        self.env = dict(os.environ)
        self.env.update(OMEGA_SESSION_DIR=str(self.base / "s"), OMEGA_RUNTIME_DIR=str(self.base / "r"),
                        OMEGA_CONFIG=str(self.base / "omega.toml"), XDG_CONFIG_HOME=str(self.base / "xdg"),
                        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        self.env.pop("JPY_SESSION_NAME", None)
        self.config = load_config(environ=self.env)
        self.kernels: list[Any] = []
        self.server_pid: int | None = None

    def start_server(self) -> None:
        from omega_core.server import launcher
        from omega_core.server.paths import ServerPaths

        self.server_pid = launcher.start_detached(self.config, self.env["OMEGA_CONFIG"])
        if not launcher.wait_until_ready(ServerPaths.for_config(self.config), 20):
            raise Failed("the server did not start within 20 s")

    def start_kernel(self, session: str) -> tuple[Any, Any]:
        from jupyter_client.manager import KernelManager

        manager = KernelManager(kernel_name="omega", kernel_spec_manager=self.spec_manager)
        manager.start_kernel(env={**self.env, "JPY_SESSION_NAME": session})
        client = manager.client()
        client.start_channels()
        self.kernels.append((manager, client))
        return manager, client

    def stop(self) -> None:
        from omega_core.server import launcher
        from omega_core.server.client import OmegaClient

        for manager, client in self.kernels:
            client.stop_channels()
            if manager.has_kernel:
                manager.shutdown_kernel(now=False)
        try:
            with OmegaClient(self.config, autostart=False, connect_timeout_s=3) as admin:
                admin.shutdown()
        except Exception:  # noqa: BLE001 - gone already
            pass
        pid = self.server_pid
        if pid is not None:
            for sig in (None, signal.SIGTERM, signal.SIGKILL):
                if sig is not None and launcher.pid_alive(pid):
                    os.kill(pid, sig)
                deadline = time.monotonic() + 5
                while launcher.pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
                if not launcher.pid_alive(pid):
                    break
        shutil.rmtree(self.base, ignore_errors=True)


def execute(client: Any, code: str) -> dict[str, Any]:
    """Send ``code`` and wait for its ``execute_reply`` (iopub messages are drained, not awaited)."""
    msg_id = client.execute(code)
    while True:
        reply = client.get_shell_msg(timeout=TIMEOUT_S)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    if reply["content"]["status"] != "ok":
        raise Failed(f"{code} failed in the kernel: {reply['content']}")
    while client.iopub_channel.msg_ready():
        client.get_iopub_msg(timeout=1)
    return reply


def round_trips(lab: Lab, client: Any, count: int) -> tuple[list[float], list[float]]:
    """Seconds of ``count`` cells through the kernel, and of the same line straight to the server."""
    from omega_core.server.client import OmegaClient

    for _ in range(5):
        execute(client, LINE)  # warm up: the session is open, the paths are hot
    through_kernel = []
    for _ in range(count):
        began = time.perf_counter()
        execute(client, LINE)
        through_kernel.append(time.perf_counter() - began)
    direct = []
    with OmegaClient(lab.config, name="bench", autostart=False) as straight:
        straight.execute(LINE, "direct")
        for _ in range(count):
            began = time.perf_counter()
            straight.execute(LINE, "direct")
            direct.append(time.perf_counter() - began)
    return through_kernel, direct


def interrupts(client: Any, count: int) -> list[float]:
    """Seconds from Jupyter's interrupt (an ``interrupt_request``) to the reply of a cell in an
    endless loop. The loop is given 0.3 s to be running on the server first."""
    import queue

    execute(client, "(define (spin n) (spin (+ n 1)))")
    times = []
    for _ in range(count):
        msg_id = client.execute("(spin 0)", stop_on_error=False)  # an error reply must not abort the next cell
        time.sleep(0.3)
        began = time.perf_counter()
        reply = None
        while reply is None:
            client.control_channel.send(client.session.msg("interrupt_request", {}))
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    message = client.get_shell_msg(timeout=0.05)
                except queue.Empty:
                    continue
                if message["parent_header"].get("msg_id") == msg_id:
                    reply = message
                    break
            if time.perf_counter() - began > TIMEOUT_S:
                raise Failed("a running cell was not interrupted")
        if reply["content"].get("ename") != "Interrupted":
            raise Failed(f"the interrupted cell replied {reply['content']}")
        times.append(time.perf_counter() - began)
    return times


def kernel_starts(lab: Lab, count: int) -> tuple[list[float], list[float]]:
    """Seconds from start_kernel to kernel_info (ready) and to the first cell's reply."""
    ready, first = [], []
    for number in range(count):
        began = time.perf_counter()
        manager, client = lab.start_kernel(f"start-{number}.ipynb")
        client.wait_for_ready(timeout=TIMEOUT_S)
        ready.append(time.perf_counter() - began)
        execute(client, LINE)
        first.append(time.perf_counter() - began)
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    return ready, first


def python_kernel_floor(trips: int) -> tuple[list[float], float] | None:
    """ipykernel's own Python kernel on this machine: ``1+2`` round trips and start to first reply
    (what any kernel built on ipykernel costs here), or None if its kernelspec is not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import KernelManager

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return None
    manager = KernelManager(kernel_name="python3")
    began = time.perf_counter()
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT_S)
        execute(client, "1+2")
        start = time.perf_counter() - began
        for _ in range(5):
            execute(client, "1+2")
        times = []
        for _ in range(trips):
            began = time.perf_counter()
            execute(client, "1+2")
            times.append(time.perf_counter() - began)
        return times, start
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


def bare_python_starts(count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - began)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = parser.parse_args(argv)
    trips = 20 if args.quick else 300
    starts = 1 if args.quick else 5
    lab = Lab()
    try:
        lab.start_server()
        _, client = lab.start_kernel("bench.ipynb")
        client.wait_for_ready(timeout=TIMEOUT_S)
        through_kernel, direct = round_trips(lab, client, trips)
        stopped = interrupts(client, 2 if args.quick else 10)
        ready, first = kernel_starts(lab, starts)
        bare = bare_python_starts(starts)
        floor = None if args.quick else python_kernel_floor(trips)
    except Failed as problem:
        print(f"FAIL: {problem}", file=sys.stderr)
        return 1
    finally:
        lab.stop()
    rows = [
        Row(f"cell round trip {LINE} through the kernel", through_kernel, target=0.020, show_p99=True),
        Row("  the same line straight to the server (OmegaClient)", direct, show_p99=True),
        Row("interrupt to the running cell's reply", stopped, target=1.0, show_p99=True),
        Row("kernel start to first reply (server running)", first, target=1.5, show_p99=True),
        Row("  kernel start to kernel_info (ready)", ready),
        Row("  python -c pass (this machine's floor)", bare),
    ]
    if floor is not None:
        rows.insert(2, Row("  ipykernel's python3 kernel, 1+2 (the Jupyter floor)", floor[0], show_p99=True))
        rows.append(Row("  ipykernel's python3 kernel, start to first reply", value=floor[1]))
    print_table(rows, title="Jupyter kernel (bench/kernel.py" + (" --quick" if args.quick else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
