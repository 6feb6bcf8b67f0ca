"""Speed of the session server (issue "session server"), full client round trips, on data built in temp dirs.

Data set (built in-process with the builders of bench/session.py, cached under /tmp keyed by its
sizes, copied into a temp session dir for every run because the run changes it):
  * 1,000 small sessions ``s0000`` .. (3 inputs each) and one big session ``big`` of about 100,000
    events, all in one session dir.
Measured (ARCHITECTURE.md section 7), against a server started on a copy of that dir (its own
temp runtime dir, config file with ``fsync = "interval"``), through ``OmegaClient``:
  * ``:session list`` / ``:session checkpoints`` / ``:session trace`` through ``execute`` (the text
    a REPL prints), and the structured ops ``list_sessions``, ``checkpoints(limit=50)`` and
    ``trace(count=50)``: median and p99 of warm round trips;
  * the file-based way: a fresh ``omega --batch - --embedded --session big`` process doing the
    same command on the same files (run before the server starts: the server holds the log's
    lock), and the ratio fresh / server (target >= 100x);
  * ``goto`` to random seqs of the big session (median, p99);
  * ``(+ 1 2)`` executed one after another from one client in a fresh session: commands per second
    (five batches; the median batch, with the slowest and fastest);
  * ``list_sessions`` and ``trace`` from one client while another client's session runs an endless
    loop ``(spin)`` (then interrupted);
  * kill -9 of the backend until a ``ping`` answers again (the supervisor restarts it; the config
    sets ``stable_start_s = 1`` and the runs are 1.2 s apart, so every kill is a "first" crash and
    not a crash loop with growing backoff);
  * memory: another server on 10,000 tiny sessions (written directly from a template session) with
    ``max_memory_mb = 64`` (and ``max_cached_sessions`` = the number of sessions, so the memory
    budget is what bounds the pool): every session touched with ``execute("1")``, then the pool's
    estimate vs the budget and the backend's resident size vs budget + base (base: right after
    start).
Every reply is checked; a wrong one makes the script exit 1. Servers started here are always
stopped (shutdown, then SIGTERM/SIGKILL), also on errors and Ctrl-C.

    python bench/server.py                     # full sizes (the first build takes minutes, then cached)
    python bench/server.py --events 20000      # a smaller big session
    python bench/server.py --quick             # 10x smaller, for the smoke test; no targets
    python bench/server.py --skip-memory       # without the 10,000-session memory server
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from _table import Row, fmt_bytes, fmt_seconds, median, p99, print_table, report_stopped  # noqa: E402

from omega_core.config import Config, load_config  # noqa: E402
from omega_core.server import launcher  # noqa: E402
from omega_core.server.client import OmegaClient  # noqa: E402
from omega_core.server.paths import ServerPaths  # noqa: E402
from omega_core.session.recorded import RecordedSession  # noqa: E402


def _load_session_bench() -> Any:
    """bench/session.py as a module (its data set builders), under a name no other module uses."""
    spec = importlib.util.spec_from_file_location("omega_bench_session", BENCH / "session.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


session_bench = _load_session_bench()
WrongResult = session_bench.WrongResult
EVENTS_PER_INPUT = session_bench.EVENTS_PER_INPUT

DATASET_FORMAT = 1
"""Bump when the data set changes shape, so an old cache is not reused."""
CACHE_ROOT = Path("/tmp") / f"omega-bench-cache-{os.getuid()}"
BIG = "big"
TEMPLATE_NAME = "t00000"
SUPERVISOR_MODULE = launcher.SUPERVISOR_MODULE


@dataclasses.dataclass(frozen=True)
class Sizes:
    sessions: int
    inputs_per_session: int
    events: int
    repeat: int
    gotos: int
    fresh_runs: int
    throughput: int
    recoveries: int
    memory_sessions: int
    memory_mb: int

    @classmethod
    def pick(cls, quick: bool, events: int | None) -> "Sizes":
        if quick:
            return cls(sessions=100, inputs_per_session=3, events=events or 10_000, repeat=20, gotos=10,
                       fresh_runs=2, throughput=200, recoveries=2, memory_sessions=1_000, memory_mb=6)
        return cls(sessions=1_000, inputs_per_session=3, events=events or 100_000, repeat=200, gotos=50,
                   fresh_runs=5, throughput=2_000, recoveries=5, memory_sessions=10_000, memory_mb=64)


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the data set ------------------------------------------------------------------------------


def build_dataset(session_dir: Path, sizes: Sizes, define_every: int) -> dict[str, Any]:
    """The small sessions and the big one in ``session_dir``/sessions; build times by what."""
    config = dataclasses.replace(Config(), session_dir=str(session_dir))
    small = session_bench.build_small_sessions(config, sizes.sessions, sizes.inputs_per_session)
    big, per_input = session_bench.build_big_session(config, BIG, sizes.events, define_every)
    return {"small_s": small, "big_s": big, "big_inputs": len(per_input)}


def dataset(sizes: Sizes, define_every: int, use_cache: bool, rebuild: bool, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """A session dir holding the data set (in the cache, or built in ``scratch``); its build info."""
    if not use_cache:
        target = scratch / "dataset"
        info = build_dataset(target, sizes, define_every)
        return target, {**info, "cached": False}
    key = f"server-v{DATASET_FORMAT}-s{sizes.sessions}x{sizes.inputs_per_session}-e{sizes.events}-d{define_every}"
    cached = CACHE_ROOT / key
    marker = cached / "complete.json"
    if rebuild and cached.exists():
        shutil.rmtree(cached)
    if marker.exists():
        info = json.loads(marker.read_text(encoding="utf-8"))
        return cached, {**info, "cached": True}
    CACHE_ROOT.mkdir(mode=0o700, parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=key + ".building-", dir=CACHE_ROOT))
    try:
        info = build_dataset(building, sizes, define_every)
        (building / "complete.json").write_text(json.dumps(info), encoding="utf-8")
        if cached.exists():  # another run finished the same build meanwhile
            shutil.rmtree(building)
        else:
            building.rename(cached)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return cached, {**info, "cached": False}


def copy_dataset(source: Path, target: Path) -> None:
    shutil.copytree(source / "sessions", target / "sessions")


def write_tiny_sessions(session_dir: Path, count: int) -> float:
    """``count`` tiny sessions t00000 .. (one input ``1`` each): one recorded for real, the rest
    copied from it with the name replaced (same length, so every byte offset stays right)."""
    started = time.perf_counter()
    sessions = session_dir / "sessions"
    config = dataclasses.replace(Config(), session_dir=str(session_dir))
    template = RecordedSession.open(config.sessions_dir, TEMPLATE_NAME, config)
    try:
        results = template.execute("1")
        if [r.value for r in results] != ["1"]:
            raise WrongResult(f"template session: 1 gave {[r.transcript() for r in results]}")
    finally:
        template.close()
    files = {p.name[len(TEMPLATE_NAME):]: p.read_bytes() for p in sessions.iterdir() if p.name.startswith(TEMPLATE_NAME + ".")}
    for suffix, data in files.items():
        if data.count(TEMPLATE_NAME.encode()) == 0 and suffix == ".jsonl":
            raise WrongResult("template session: its name is not in its log header")
    old = TEMPLATE_NAME.encode()
    for i in range(1, count):
        name = f"t{i:05d}".encode()
        for suffix, data in files.items():
            with open(sessions / f"t{i:05d}{suffix}", "wb") as out:
                out.write(data.replace(old, name))
    return time.perf_counter() - started


# --- a server of our own -----------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not launcher.pid_alive(pid):
            return True
        time.sleep(0.02)
    return not launcher.pid_alive(pid)


class BenchServer:
    """A server (supervisor + backend) on ``session_dir`` with its own short runtime dir.

    ``stop`` (also run by the context manager on any exit): ``shutdown`` through a client, then
    SIGTERM and SIGKILL of the supervisor (pid file, or the pid we started) if it is still there,
    and SIGKILL of any backend pid seen during the run that still runs our supervisor's code.
    """

    def __init__(self, session_dir: Path, root: Path, server_toml: str, label: str) -> None:
        self.session_dir = session_dir
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="obs-", dir="/tmp"))
        self.config_path = root / f"{label}.toml"
        self.config_path.write_text(server_toml, encoding="utf-8")
        environ = {"OMEGA_SESSION_DIR": str(session_dir), "OMEGA_RUNTIME_DIR": str(self.runtime_dir)}
        self.config: Config = load_config(self.config_path, environ=environ, cwd=root)
        self.paths = ServerPaths.for_config(self.config)
        self.pid: int | None = None
        self.backend_pids: set[int] = set()
        self.clients: list[OmegaClient] = []

    def __enter__(self) -> "BenchServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.pid = launcher.start_detached(self.config, str(self.config_path))
        if not launcher.wait_until_ready(self.paths, 30.0):
            raise WrongResult(f"the server did not come up within 30 s; log {self.paths.log}:\n{self.log_tail()}")

    def client(self, name: str) -> OmegaClient:
        client = OmegaClient(self.config, name=name, autostart=False, connect_timeout_s=30.0,
                             config_path=str(self.config_path))
        self.clients.append(client)
        return client.connect()

    def status(self, client: OmegaClient) -> dict[str, Any]:
        status = client.status()
        if isinstance(status.get("backend_pid"), int):
            self.backend_pids.add(status["backend_pid"])
        return status

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.paths.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        pid = launcher.server_pid(self.paths) or self.pid
        try:
            if pid is not None and launcher.pid_alive(pid):
                with contextlib.suppress(Exception):
                    stopper = OmegaClient(self.config, name="bench-stop", autostart=False, connect_timeout_s=5.0)
                    try:
                        stopper.shutdown()
                    finally:
                        stopper.close()
                if not _wait_gone(pid, 30.0):
                    note(f"server pid {pid} did not stop after shutdown: SIGTERM")
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                    if not _wait_gone(pid, 10.0):
                        note(f"server pid {pid} did not stop after SIGTERM: SIGKILL")
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                        _wait_gone(pid, 5.0)
            for backend in sorted(self.backend_pids):
                if launcher.pid_alive(backend) and SUPERVISOR_MODULE in _cmdline(backend):
                    note(f"backend pid {backend} outlived its supervisor: SIGKILL")
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(backend, signal.SIGKILL)
        finally:
            for client in self.clients:
                with contextlib.suppress(Exception):
                    client.close()
            shutil.rmtree(self.runtime_dir, ignore_errors=True)


def server_toml(**server: Any) -> str:
    lines = ["[server]"]
    for key, value in server.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


# --- checks ------------------------------------------------------------------------------------


def count_entries(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.strip().startswith("["))


def count_small_listed(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.startswith("  s") and line[3:7].isdigit())


def check_text(what: str, output: str, sizes: Sizes) -> None:
    if "error:" in output or "usage:" in output:
        raise WrongResult(f"{what} gave {output[:300]!r}")
    if what == ":session list":
        if count_small_listed(output) != sizes.sessions:
            raise WrongResult(f":session list: {count_small_listed(output)} small sessions listed, expected {sizes.sessions}")
    elif count_entries(output) != 50:
        raise WrongResult(f"{what}: expected 50 entries, got {count_entries(output)}: {output[:200]!r}")


def timed_calls(fn: Callable[[], Any], repeat: int, check: Callable[[Any], None]) -> list[float]:
    """``repeat`` timed calls; every result checked after its clock stopped."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
        check(result)
    return samples


# --- phases ------------------------------------------------------------------------------------


TEXT_COMMANDS = (":session list", ":session checkpoints", ":session trace")


def fresh_process(session_dir: Path, config_path: Path, command: str, sizes: Sizes) -> float:
    """Seconds of a fresh ``omega --batch - --embedded --session big`` running ``command``."""
    env = dict(os.environ)
    env["OMEGA_SESSION_DIR"] = str(session_dir)
    env.pop("OMEGA_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    argv = [sys.executable, "-m", "omega_tui.cli", "--config", str(config_path), "--batch", "-", "--embedded",
            "--session", BIG]
    started = time.perf_counter()
    done = subprocess.run(argv, input=command + "\n", env=env, cwd=config_path.parent, capture_output=True,
                          text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise WrongResult(f"fresh process {command!r} exited {done.returncode}: {done.stderr[-500:]}")
    check_text(command, done.stdout, sizes)
    return elapsed


def run_main_server(root: Path, data_dir: Path, sizes: Sizes, args: argparse.Namespace, rows: list[Row],
                    target: Callable[[float], float | None]) -> None:
    run_dir = root / "run"
    copy_dataset(data_dir, run_dir)
    toml = server_toml(fsync="interval", stable_start_s=1.0, idle_shutdown_s=300.0)
    config_path = root / "main.toml"
    config_path.write_text(toml, encoding="utf-8")

    # -- the file-based way (before the server holds the big session's lock) ------------------
    fresh: dict[str, list[float]] = {}
    for command in TEXT_COMMANDS:
        note(f"fresh process x{sizes.fresh_runs}: {command}")
        fresh[command] = [fresh_process(run_dir, config_path, command, sizes) for _ in range(sizes.fresh_runs)]

    with BenchServer(run_dir, root, toml, "main") as server:
        client = server.client("bench")
        ping = timed_calls(client.ping, sizes.repeat, lambda r: r == "pong" or _fail(f"ping gave {r!r}"))
        rows.append(Row("ping (round-trip floor)", ping, show_p99=True))

        # -- first (cold) requests: catalog read, big session loaded (replay) ----------------
        started = time.perf_counter()
        listed = client.list_sessions()
        rows.append(Row("list_sessions, first (catalog read from disk)", value=time.perf_counter() - started))
        if len(listed) != sizes.sessions + 1:
            raise WrongResult(f"list_sessions: {len(listed)} sessions, expected {sizes.sessions + 1}")
        started = time.perf_counter()
        opened = client.open_session(BIG)
        rows.append(Row(f"open {BIG} in the server (load, first time)", value=time.perf_counter() - started))
        events = opened["events"]
        if opened.get("warnings") or events < sizes.events:
            raise WrongResult(f"open {BIG}: {opened}")
        client.open_session("s0000")

        # -- text commands through execute, then the structured ops ------------------------
        server_text: dict[str, list[float]] = {}
        for command in TEXT_COMMANDS:
            where = "s0000" if command == ":session list" else BIG

            def check(reply: Any, command: str = command) -> None:
                check_text(command, reply.output, sizes)

            for _ in range(10):  # warm-up
                check(client.execute(command, session=where))
            samples = timed_calls(lambda: client.execute(command, session=where), sizes.repeat, check)
            server_text[command] = samples
            what = f"({sizes.sessions:,} + 1 sessions)" if command == ":session list" else f"(last 50 of {events:,} events)"
            rows.append(Row(f"execute {command} {what}", samples, target=target(0.001), show_p99=True, p99_target=target(0.005)))

        def check_list(result: Any) -> None:
            if len(result) != sizes.sessions + 1:
                raise WrongResult(f"list_sessions: {len(result)} rows")

        def check_50(result: Any) -> None:
            if len(result) != 50:
                raise WrongResult(f"expected 50 entries, got {len(result)}")

        structured = [
            (f"list_sessions ({sizes.sessions:,} + 1 sessions)", client.list_sessions, check_list),
            (f"checkpoints(limit=50) on {BIG}", lambda: client.checkpoints(BIG, limit=50), check_50),
            (f"trace(count=50) on {BIG}", lambda: client.trace(BIG, count=50), check_50),
        ]
        for name, fn, check in structured:
            for _ in range(10):
                check(fn())
            samples = timed_calls(fn, sizes.repeat, check)
            rows.append(Row(name, samples, target=target(0.001), show_p99=True, p99_target=target(0.005)))

        # -- the file-based way vs the server ------------------------------------------------
        for command in TEXT_COMMANDS:
            fresh_median, server_median = median(fresh[command]), median(server_text[command])
            rows.append(Row(f"fresh process: {command}", fresh[command]))
            rows.append(Row(f"server vs fresh: {command}", server_text[command],
                            target=target(fresh_median / 100),
                            note=f"({fresh_median / server_median:,.0f}x faster; target >= 100x)"))

        # -- goto ------------------------------------------------------------------------------
        seqs = random.Random(args.seed).sample(range(events), sizes.gotos)
        samples = []
        for seq in seqs:
            started = time.perf_counter()
            reply = client.goto(BIG, seq)
            samples.append(time.perf_counter() - started)
            if not str(reply.get("report", "")).startswith(f"Jumped to seq {seq} "):
                raise WrongResult(f"goto {seq} gave {reply!r}")
        rows.append(Row(f"goto (random seqs of {events:,})", samples, show_p99=True, p99_target=target(0.020)))

        # -- throughput ------------------------------------------------------------------------
        run_throughput(client, sizes, rows, target)

        # -- metadata while another client runs an endless loop -------------------------------
        run_under_load(server, client, sizes, rows, target)

        # -- kill -9 of the backend ------------------------------------------------------------
        run_recovery(server, sizes, rows, target)


def _fail(message: str) -> None:
    raise WrongResult(message)


THROUGHPUT_BATCHES = 5


def run_throughput(client: OmegaClient, sizes: Sizes, rows: list[Row], target: Callable[[float], float | None]) -> None:
    """``THROUGHPUT_BATCHES`` back-to-back batches of ``sizes.throughput`` commands; the row is the
    median batch (a shared 2-core machine has slow moments), the note gives the slowest and fastest."""
    name = "tput"
    client.open_session(name)
    for _ in range(20):  # warm-up (also makes the session's machine hot)
        client.execute("(+ 1 2)", session=name)
    samples: list[float] = []
    batch_seconds: list[float] = []
    for _ in range(THROUGHPUT_BATCHES):
        replies = []
        started = time.perf_counter()
        for _ in range(sizes.throughput):
            t0 = time.perf_counter()
            replies.append(client.execute("(+ 1 2)", session=name))
            samples.append(time.perf_counter() - t0)
        batch_seconds.append(time.perf_counter() - started)
        for reply in replies:
            if [r.get("value") for r in reply.results] != ["3"] or not reply.ok:
                raise WrongResult(f"(+ 1 2) gave {reply!r}")
    rates = sorted(sizes.throughput / seconds for seconds in batch_seconds)
    per_second = median(rates)
    rows.append(Row(f"(+ 1 2) x{sizes.throughput:,} x{THROUGHPUT_BATCHES} batches, one client, fsync interval (per command)",
                    value=1 / per_second, target=target(1 / 2000),
                    note=f"(median batch {per_second:,.0f} commands/s, target >= 2,000/s; batches {rates[0]:,.0f}-{rates[-1]:,.0f}/s; "
                         f"p50 {fmt_seconds(median(samples))}, p99 {fmt_seconds(p99(samples))})"))


def run_under_load(server: BenchServer, client: OmegaClient, sizes: Sizes, rows: list[Row],
                   target: Callable[[float], float | None]) -> None:
    spin_session = "load-spin"
    other = server.client("bench-spinner")
    defined = other.execute("(define (spin) (spin))", session=spin_session)
    if not defined.ok:
        raise WrongResult(f"(define (spin) (spin)) gave {defined!r}")
    outcome: dict[str, Any] = {}

    def spinner() -> None:
        try:
            outcome["reply"] = other.execute("(spin)", session=spin_session)
        except BaseException as problem:  # noqa: BLE001 - reported by the main thread
            outcome["error"] = problem

    thread = threading.Thread(target=spinner, name="bench-spinner", daemon=True)
    thread.start()
    time.sleep(0.5)  # the loop is running by now
    if not thread.is_alive():
        raise WrongResult(f"(spin) ended by itself: {outcome}")
    list_samples: list[float] = []
    trace_samples: list[float] = []
    for _ in range(sizes.repeat // 2):
        started = time.perf_counter()
        listed = client.list_sessions()
        list_samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        traced = client.trace(BIG, count=50)
        trace_samples.append(time.perf_counter() - started)
        if len(listed) < sizes.sessions + 1 or len(traced) != 50:
            raise WrongResult(f"under load: list_sessions {len(listed)} rows, trace {len(traced)} events")
    stopped = client.interrupt(spin_session)
    thread.join(30.0)
    if not stopped.get("interrupted"):
        raise WrongResult(f"interrupt of (spin) gave {stopped!r}: the loop was not running during the measurement "
                          f"({outcome})")
    if thread.is_alive():
        raise WrongResult("(spin) still runs 30 s after the interrupt")
    if "error" in outcome:
        raise WrongResult(f"(spin) raised {outcome['error']!r}")
    reply = outcome["reply"]
    if reply.ok:
        raise WrongResult(f"(spin) ended without an error after the interrupt: {reply!r}")
    for name, samples in (("list_sessions", list_samples), ("trace(count=50)", trace_samples)):
        rows.append(Row(f"{name} while another client runs (spin)", samples, show_p99=True, p99_target=target(0.005)))


def run_recovery(server: BenchServer, sizes: Sizes, rows: list[Row], target: Callable[[float], float | None]) -> None:
    client = server.client("bench-recovery")  # opens no session: a reconnect restores nothing
    to_ping: list[float] = []
    to_list: list[float] = []
    for run in range(sizes.recoveries):
        time.sleep(1.2)  # past stable_start_s: this kill is a first crash, restarted after the initial backoff
        old = server.status(client)["backend_pid"]
        started = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        answer = client.ping()
        to_ping.append(time.perf_counter() - started)
        listed = client.list_sessions()
        to_list.append(time.perf_counter() - started)
        new = server.status(client)["backend_pid"]
        if answer != "pong" or new == old or len(listed) < sizes.sessions + 1:
            raise WrongResult(f"recovery run {run}: ping {answer!r}, backend {old} -> {new}, {len(listed)} sessions")
    rows.append(Row(f"kill -9 backend -> ping answers ({sizes.sessions:,} + 1 sessions on disk)", to_ping,
                    target=target(1.0), show_p99=True))
    rows.append(Row("kill -9 backend -> first list_sessions answers", to_list, show_p99=True))


def run_memory(root: Path, sizes: Sizes, rows: list[Row], target: Callable[[float], float | None]) -> None:
    tiny_dir = root / "tiny"
    count = sizes.memory_sessions
    seconds = write_tiny_sessions(tiny_dir, count)
    rows.append(Row(f"memory: write {count:,} tiny sessions (from a template)", value=seconds))
    budget = sizes.memory_mb * 1024 * 1024
    toml = server_toml(max_memory_mb=sizes.memory_mb, max_cached_sessions=count, fsync="interval",
                       idle_shutdown_s=300.0)
    with BenchServer(tiny_dir, root, toml, "memory") as server:
        client = server.client("bench-memory")
        base = server.status(client)["rss_bytes"]
        rss_seen = [base]
        progress = session_bench.progress_bar()
        started = time.perf_counter()
        with progress:
            task = progress.add_task(f"memory: execute \"1\" in {count:,} sessions", total=count)
            for i in range(count):
                name = f"t{i:05d}"
                reply = client.execute("1", session=name)
                if not reply.ok or [r.get("value") for r in reply.results] != ["1"]:
                    raise WrongResult(f"execute 1 in {name} gave {reply!r}")
                if i % 500 == 499:
                    rss_seen.append(server.status(client)["rss_bytes"])
                    progress.update(task, completed=i + 1)
            progress.update(task, completed=count)
        seconds = time.perf_counter() - started
        status = server.status(client)
        rss_seen.append(status["rss_bytes"])
        pool = status["pool"]
        if pool["max_memory_bytes"] != budget:
            raise WrongResult(f"the memory server runs with max_memory_bytes {pool['max_memory_bytes']}, expected {budget}")
        listed = client.list_sessions()
        if len(listed) != count:
            raise WrongResult(f"memory server lists {len(listed)} sessions, expected {count}")
        bad = [row["name"] for row in listed if row["events"] != 8]
        if bad:
            raise WrongResult(f"{len(bad)} sessions do not hold 8 events after execute: {bad[:5]}")
    rows.append(Row(f"memory: execute \"1\" in each of {count:,} sessions (per session)", value=seconds / count,
                    note=f"({fmt_seconds(seconds)} in all; {pool['evictions']:,} evictions)"))
    rows.append(Row(f"memory: pool estimate, budget {sizes.memory_mb} MB", value=pool["memory_estimate_bytes"],
                    unit="B", target=target(budget),
                    note=f"({status['sessions_in_pool']:,} sessions in the pool)"))
    rows.append(Row("memory: backend RSS at the end (target: budget + base)", value=status["rss_bytes"], unit="B",
                    target=target(budget + base), note=f"(base {fmt_bytes(base)} right after start)"))
    rows.append(Row("memory: backend RSS, peak of samples", value=max(rss_seen), unit="B", target=target(budget + base),
                    note=f"({len(rss_seen)} samples, every 500 sessions)"))


# --- main --------------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes (smoke test); no targets")
    parser.add_argument("--events", type=int, metavar="N", help="events of the big session (default 100,000; quick 10,000)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the many-sessions memory server")
    parser.add_argument("--define-every", type=int, default=2, metavar="D",
                        help="every D-th input of the big session is (define vK K), the others (+ K 1) (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the goto targets")
    parser.add_argument("--no-cache", action="store_true", help=f"build the data set in the temp dir (not in {CACHE_ROOT})")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data set")
    parser.add_argument("--dir", metavar="PARENT", help="make the temp dir under PARENT (default: the system temp dir)")
    args = parser.parse_args(argv)
    if args.define_every < 1:
        parser.error("--define-every must be 1 or more")
    sizes = Sizes.pick(args.quick, args.events)
    quick = args.quick

    def target(value: float) -> float | None:
        return None if quick else value

    signal.signal(signal.SIGTERM, _raise_interrupt)  # so the servers are stopped (finally) on kill too
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="omega-bench-server-", dir=args.dir) as tmp:
            root = Path(tmp)
            data_dir, info = dataset(sizes, args.define_every, not args.no_cache, args.rebuild, root)
            source = "cached in " + str(data_dir) if info["cached"] else "built now"
            rows.append(Row(f"data set: {sizes.sessions:,} sessions x {sizes.inputs_per_session} inputs "
                            f"+ {BIG} ({info['big_inputs']:,} inputs)", value=info["small_s"] + info["big_s"],
                            note=f"(build time; {source})"))
            run_main_server(root, data_dir, sizes, args, rows, target)
            if not args.skip_memory:
                run_memory(root, sizes, rows, target)
    except WrongResult as problem:
        report_stopped(rows, "Omega session server (bench/server.py)", "before the failure", f"FAIL: {problem}")
        return 1
    except KeyboardInterrupt:
        report_stopped(rows, "Omega session server (bench/server.py)", "interrupted", "interrupted (servers stopped)")
        return 130

    title = (f"Omega session server (bench/server.py{', --quick: reduced sizes, no targets' if quick else ''}; "
             f"full client round trips; big session: 1 define per {args.define_every} inputs; goto seed {args.seed})")
    print_table(rows, title=title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
