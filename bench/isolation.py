"""Isolation of the session server (issue "No session and no client can hurt another"): a probe
client's ``ping`` and ``list_sessions`` latency while another session runs each "bomb".

One real server (temp session and runtime dirs). A probe in a process of its own (a thread of this
process would wait for this process's GIL while the bomb client decodes big replies, and measure
the bench instead of the server) sends ``ping`` then ``list_sessions`` in a loop on its own
connection and writes its samples to a file; each case reads those of its time window. For each
bomb, in a session of its own:
  * a stalled follower (a raw connection that subscribes and never reads) while a writer
    produces output in the followed session;
  * ``(fact 2000)`` stored in a global, a kill -9 of the backend after the background save, then
    the session reloaded (the backend restart is the bomb's own doing: reported, not a failure);
  * ``(deep 200000)``, a non-tail recursion (and ``(deep 100000)`` for the 2x ratio);
  * an endless non-tail recursion (stopped by a budget, or interrupted at the case timeout);
  * a string doubled with ``string-append``, a list doubled with ``append``, a bignum squared;
  * one step over millions of pairs (``(length (string-split text ""))`` of 4 Mi characters)
    while another client runs ``(+ 1 2)`` in a session of its own (its latency in the note);
  * a 16 MiB global (four strings of 4 Mi characters, the longest a session may build by default)
    followed by 600 small defines (the growth of the states file is reported);
  * ``:session save`` of a big session (the time to build it is reported; the case spans both);
  * a request frame of about 8 MB of arrays nested 60 deep (the nesting check reads all of it);
  * thousands of small sessions written to the sessions dir by the bench (the next listing
    summarizes the new names), then a kill -9 of the backend with all of them on disk (the new
    backend reads its whole catalog).
One table: per bomb, the probe's ping and list_sessions median, p99 and max, whether the backend
restarted, the server's own view (``metrics`` ``"loop"``, ``server/loop_watch.py``: its loop
iterations over 5 and 50 ms, the longest and when it ended, full garbage collections), and how the
bomb ended (its value or error, or the case timeout). Each bomb has a timeout after which its
session is interrupted, and the row says so. Targets (full mode): p99 <= 5 ms, max <= 50 ms.
Figures depend on the machine's load: on a shared machine, compare the server's own stalls.

    python bench/isolation.py            # full sizes (needs the budgets to be safe: 2 GB strings)
    python bench/isolation.py --quick    # small sizes, short timeouts, no targets (smoke test)
    python bench/isolation.py --only save --server-log /tmp/log   # one case; keep the server's log
    OMEGA_BACKEND_SLOW_CALLBACKS_MS=30 python bench/isolation.py ...  # the log names slow callbacks
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _siblings import load_sibling  # noqa: E402
from _table import Row, fmt_bytes, fmt_seconds, print_table, report_stopped  # noqa: E402

from multiprocess.connection import Client  # noqa: E402

from omega_core.server import protocol as proto  # noqa: E402
from omega_core.server.client import OmegaClient  # noqa: E402


server_bench = load_sibling("server")
BenchServer = server_bench.BenchServer
TITLE = "Omega server isolation (bench/isolation.py)"


@dataclass(frozen=True)
class Sizes:
    fact: int
    deep: int
    doublings_string: int
    doublings_list: int
    squarings: int
    big_global_bytes: int
    small_defines: int
    save_inputs: int
    follower_commands: int
    case_timeout_s: float
    step_budget: int
    bracket_frame_bytes: int
    catalog_sessions: int
    long_step_doublings: int

    @classmethod
    def pick(cls, quick: bool) -> "Sizes":
        if quick:
            return cls(fact=2000, deep=20_000, doublings_string=20, doublings_list=14, squarings=16,
                       big_global_bytes=1 << 20, small_defines=60, save_inputs=200, follower_commands=40,
                       case_timeout_s=10.0, step_budget=100_000, bracket_frame_bytes=1 << 20, catalog_sessions=200,
                       long_step_doublings=14)
        return cls(fact=2000, deep=200_000, doublings_string=31, doublings_list=27, squarings=26,
                   big_global_bytes=16 << 20, small_defines=600, save_inputs=34_000, follower_commands=400,
                   case_timeout_s=120.0, step_budget=20_000_000, bracket_frame_bytes=(8 << 20) - 4096,
                   catalog_sessions=4000, long_step_doublings=20)


@dataclass
class Outcome:
    ended: str
    bomb_s: float | None = None
    extra: str = ""


PROBE_FLUSH_S = 0.1
"""The probe process writes its samples out this often; the bench waits twice that after a case."""


def probe_main(config_path: str, session_dir: str, runtime_dir: str, samples_path: str) -> int:
    """The probe, in a process of its own: ping then list_sessions in a loop until stdin closes.

    Its own process, because a probe thread sharing the bench process with the bomb client waits
    for that process's GIL whenever the client decodes a big reply: it measured the bench, not the
    server. Each sample is one line ``started_unix ping_s list_s`` (or ``started_unix error TEXT``);
    the bench reads the lines of each case's time window."""
    from omega_core.config import load_config

    environ = {"OMEGA_SESSION_DIR": session_dir, "OMEGA_RUNTIME_DIR": runtime_dir}
    config = load_config(Path(config_path), environ=environ, cwd=Path(config_path).parent)
    client = OmegaClient(config, name="probe", autostart=False, connect_timeout_s=30.0, config_path=config_path)
    client.connect()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    with open(samples_path, "a", encoding="utf-8") as out:
        last_flush = time.monotonic()
        while not stop.is_set():
            wall = time.time()
            try:
                started = time.perf_counter()
                client.ping()
                middle = time.perf_counter()
                client.list_sessions()
                ended = time.perf_counter()
            except Exception as problem:  # noqa: BLE001 - counted and reported
                out.write(f"{wall:.6f} error {type(problem).__name__}: {str(problem).splitlines()[0][:100]}\n")
                stop.wait(0.05)
            else:
                out.write(f"{wall:.6f} {middle - started:.7f} {ended - middle:.7f}\n")
                stop.wait(0.002)
            if time.monotonic() - last_flush > PROBE_FLUSH_S:
                out.flush()
                last_flush = time.monotonic()
    with contextlib.suppress(Exception):
        client.close()
    return 0


@dataclass
class Probe:
    """The probe process (``probe_main``) and the reading of its samples per case."""

    samples_path: Path
    process: subprocess.Popen[str] | None = None

    def start(self, server: Any) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--probe", str(server.config_path),
                   str(server.session_dir), str(server.runtime_dir), str(self.samples_path)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def window(self, started: float, ended: float) -> tuple[list[float], list[float], list[str]]:
        """The ping and list_sessions latencies, and the errors, of samples started in the window."""
        time.sleep(2 * PROBE_FLUSH_S)
        ping: list[float] = []
        listing: list[float] = []
        errors: list[str] = []
        with contextlib.suppress(OSError), open(self.samples_path, encoding="utf-8") as lines:
            for line in lines:
                parts = line.rstrip("\n").split(" ", 2)
                if len(parts) != 3:
                    continue
                with contextlib.suppress(ValueError):
                    at = float(parts[0])
                    if not started <= at <= ended:
                        continue
                    if parts[1] == "error":
                        errors.append(parts[2])
                    else:
                        ping.append(float(parts[1]))
                        listing.append(float(parts[2]))
        return ping, listing, errors


@dataclass(frozen=True)
class LoopFigures:
    """The backend's own view of a case (``metrics`` ``"loop"``): its stalls over 5 ms."""

    stalls: int
    long_stalls: int
    longest_ms: float
    full_collections: int
    longest_full_collection_ms: float
    longest_at_s: float
    """When the longest stall ended, in seconds since the case started."""
    cpu_stalls: int = 0
    """Iterations whose loop-thread CPU time passed 5 ms: the loop's own work, whatever the load."""
    longest_cpu_ms: float = 0.0

    @classmethod
    def between(cls, before: dict[str, Any], after: dict[str, Any], started: float) -> "LoopFigures":
        stalls = [(entry[1], entry[0], entry[2] if len(entry) > 2 else 0.0)
                  for entry in after.get("recent_stalls", []) if entry[0] >= started]
        longest, longest_at, _ = max(stalls, default=(0.0, started, 0.0))
        return cls(after.get("stalls_over_5ms", 0) - before.get("stalls_over_5ms", 0),
                   after.get("stalls_over_50ms", 0) - before.get("stalls_over_50ms", 0),
                   longest,
                   (after.get("collections") or [0, 0, 0])[2] - (before.get("collections") or [0, 0, 0])[2],
                   (after.get("longest_collection_ms") or [0, 0, 0])[2], longest_at - started,
                   after.get("cpu_stalls_over_5ms", 0) - before.get("cpu_stalls_over_5ms", 0),
                   max((cpu for _, _, cpu in stalls), default=0.0))

    def note(self) -> str:
        collections = (f"; {self.full_collections} full GC(s), the longest of the run "
                       f"{self.longest_full_collection_ms:.0f} ms" if self.full_collections else "")
        if not self.stalls:
            return f"server loop: no stall over 5 ms{collections}"
        return (f"server loop: {self.stalls} stall(s) over 5 ms ({self.long_stalls} over 50 ms), "
                f"longest {self.longest_ms:.1f} ms at +{self.longest_at_s:.1f} s; in the loop's CPU time: "
                f"{self.cpu_stalls} over 5 ms, longest {self.longest_cpu_ms:.1f} ms{collections}")


def loop_figures(client: OmegaClient) -> dict[str, Any]:
    """The backend's loop figures now (empty if it cannot tell: a restarted backend starts afresh)."""
    with contextlib.suppress(Exception):
        figures = client.call(proto.Op.METRICS)
        if isinstance(figures, dict) and isinstance(figures.get("loop"), dict):
            return figures["loop"]
    return {}


QUIET_WAIT_S = 60.0
"""At most this long a case waits for the previous case's values to be freed (see ``wait_quiet``)."""


def wait_quiet(client: OmegaClient) -> float:
    """Wait until the backend's release threads are done (``metrics`` ``releases_running``), at
    most ``QUIET_WAIT_S``; how long that took. A stopped bomb leaves hundreds of MB to free in the
    background for seconds: without the wait, the next case's row showed that cleanup competing
    for the GIL with its own bomb (the long-step case after the list doubling: ping p99 7.5 ms
    against 3 ms alone)."""
    started = time.monotonic()
    while time.monotonic() - started < QUIET_WAIT_S:
        with contextlib.suppress(Exception):
            if not client.call(proto.Op.METRICS).get("releases_running"):
                break
        time.sleep(0.1)
    return time.monotonic() - started


def first_result(reply: Any) -> str:
    """How an execute ended: the last form's value or its error (short)."""
    if not reply.results:
        return reply.output.strip().splitlines()[-1][:90] if reply.output.strip() else "(no output)"
    last = reply.results[-1]
    if last.get("error"):
        return f"{last.get('error_code') or 'error'}: {str(last['error']).splitlines()[0][:80]}"
    return f"=> {str(last.get('value'))[:60]}"


def timed(client: OmegaClient, line: str, session: str) -> tuple[Any, float]:
    started = time.perf_counter()
    reply = client.execute(line, session)
    return reply, time.perf_counter() - started


# --- the bombs ----------------------------------------------------------------------------------


def bomb_follower(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "follow"
    client.execute("(define x 0)", session)
    raw = Client(str(server.paths.socket), family="AF_UNIX", authkey=server.paths.read_key())
    try:
        raw.send_bytes(proto.encode(proto.request("sub", "subscribe", session)))
        text = "y" * 20_000
        started = time.perf_counter()
        for _ in range(sizes.follower_commands):
            client.execute(f'(display "{text}")', session)
        elapsed = time.perf_counter() - started
        kinds: dict[str, int] = {}
        try:
            while raw.poll(0.5):
                message = json.loads(raw.recv_bytes())
                kind = message.get("push") or "reply"
                kinds[kind] = kinds.get(kind, 0) + 1
        except (EOFError, OSError):
            kinds["disconnected"] = 1
        seen = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        return Outcome(f"follower got: {seen}", elapsed)
    finally:
        raw.close()


def kill_backend_and_wait(server: Any, client: OmegaClient, old: int) -> None:
    """kill -9 the backend ``old``; return once the supervisor's new one answers (30 s at most)."""
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if server.status(client)["backend_pid"] != old:
                return
        time.sleep(0.05)


def bomb_fact_kill(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "fact"
    client.execute("(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))", session)
    reply, elapsed = timed(client, f"(define f (fact {sizes.fact}))", session)
    time.sleep(1.0)  # a few background saves (save_interval_ms = 200)
    old = server.status(client)["backend_pid"]
    kill_backend_and_wait(server, client, old)
    after = client.execute("(string-length (number->string f))", session)
    return Outcome(f"{first_result(reply)}; after kill -9 + reload: {first_result(after)}", elapsed)


def bomb_deep(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "deep"
    client.execute("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))", session)
    half, half_s = timed(client, f"(deep {sizes.deep // 2})", session)
    reply, elapsed = timed(client, f"(deep {sizes.deep})", session)
    ratio = elapsed / half_s if half_s > 0 else float("nan")
    return Outcome(first_result(reply), elapsed,
                   f"(deep {sizes.deep // 2}) {fmt_seconds(half_s)} {first_result(half)}; ratio {ratio:.2f}x")


def bomb_endless(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "endless"
    client.execute("(define (down n) (+ 1 (down (+ n 1))))", session)
    reply, elapsed = timed(client, "(down 0)", session)
    return Outcome(first_result(reply), elapsed)


def bomb_string(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "strings"
    client.execute("(define (grow s n) (if (= n 0) (string-length s) (grow (string-append s s) (- n 1))))", session)
    reply, elapsed = timed(client, f'(grow "x" {sizes.doublings_string})', session)
    return Outcome(first_result(reply), elapsed)


def bomb_list(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "lists"
    client.execute("(define (grow l n) (if (= n 0) (length l) (grow (append l l) (- n 1))))", session)
    reply, elapsed = timed(client, f"(grow (list 1) {sizes.doublings_list})", session)
    return Outcome(first_result(reply), elapsed)


def bomb_bignum(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "bignum"
    client.execute("(define (square-up x n) (if (= n 0) (> x 0) (square-up (* x x) (- n 1))))", session)
    reply, elapsed = timed(client, f"(square-up 3 {sizes.squarings})", session)
    return Outcome(first_result(reply), elapsed)


def bomb_long_step(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    """One step that builds and walks millions of pairs (``string-split`` of a 4 Mi-character
    string into characters, then ``length``: each a single primitive call): the loop stays free
    (the step runs in the machine thread) and another session's small commands run meanwhile
    (the step lends turns). Those commands' latency is in the row's note."""
    session = "longstep"
    client.execute("(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))", session)
    client.execute(f'(define text (grow "abcd" {sizes.long_step_doublings}))', session)
    bystander = server.client("bystander")
    latencies: list[float] = []
    done = threading.Event()

    def small_commands() -> None:
        while not done.is_set():
            started = time.perf_counter()
            bystander.execute("(+ 1 2)", "bystander")
            latencies.append(time.perf_counter() - started)

    try:
        bystander.execute("(+ 1 2)", "bystander")
        thread = threading.Thread(target=small_commands, daemon=True)
        thread.start()
        reply, elapsed = timed(client, '(length (string-split text ""))', session)
        done.set()
        thread.join(30)
    finally:
        bystander.close()
    latencies.sort()
    note = "another session's (+ 1 2) meanwhile: none ran"
    if latencies:
        note = (f"another session's (+ 1 2) meanwhile: {len(latencies)}, median {fmt_seconds(latencies[len(latencies) // 2])}, "
                f"max {fmt_seconds(latencies[-1])}")
    return Outcome(first_result(reply), elapsed, note)


def bomb_bracket_frame(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    """A request frame near ``[server] max_frame_bytes`` made of arrays nested 60 deep (under
    the protocol's limit, so the nesting check must look at all of it), sent on a raw connection."""
    filler = b"[" * 60 + b"]" * 60
    count = sizes.bracket_frame_bytes // (len(filler) + 1)
    frame = (b'{"v":1,"id":"brackets","op":"ping","session":null,"args":{"x":['
             + b",".join([filler] * count) + b"]}}")
    raw = Client(str(server.paths.socket), family="AF_UNIX", authkey=server.paths.read_key())
    try:
        started = time.perf_counter()
        raw.send_bytes(frame)
        if not raw.poll(sizes.case_timeout_s):
            return Outcome(f"no reply to a {fmt_bytes(len(frame))} frame", time.perf_counter() - started)
        reply = json.loads(raw.recv_bytes())
        elapsed = time.perf_counter() - started
        answer = reply.get("result") if reply.get("ok") else (reply.get("error") or {}).get("code")
        return Outcome(f"{fmt_bytes(len(frame))} frame answered: {answer}", elapsed)
    finally:
        raw.close()


def states_bytes(server: Any, session: str) -> int:
    sessions = server.config.sessions_dir
    return sum(path.stat().st_size for path in sessions.glob(f"{session}.*") if "states" in path.name)


def bomb_big_global(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "bigglobal"
    doublings = max(0, (sizes.big_global_bytes // 4).bit_length() - 1)  # four strings: one may hold 4 Mi
    started = time.perf_counter()
    client.execute("(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))", session)
    first = client.execute(f'(define big (list (grow "w" {doublings}) (grow "x" {doublings}) (grow "y" {doublings}) '
                           f'(grow "z" {doublings})))', session)
    time.sleep(1.0)
    before = states_bytes(server, session)
    for number in range(sizes.small_defines):
        client.execute(f"(define v{number} {number})", session)
    time.sleep(1.0)  # the background saves catch up
    after = states_bytes(server, session)
    return Outcome(first_result(first), time.perf_counter() - started,
                   f"states {fmt_bytes(before)} -> {fmt_bytes(after)} (+{fmt_bytes(after - before)})")


def bomb_save(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    session = "bigsave"
    per_line = 100
    started = time.perf_counter()
    for start in range(0, sizes.save_inputs, per_line):
        client.execute(" ".join(f"(define k{n} {n})" for n in range(start, min(start + per_line, sizes.save_inputs))),
                       session)
    events = next((row["events"] for row in client.list_sessions() if row["name"] == session), 0)
    building = time.perf_counter() - started
    reply, elapsed = timed(client, ":session save bigsave-copy", session)
    return Outcome(f"{reply.output.strip()[:70]} (session of {events:,} events, built in {building:.1f} s before "
                   "the save)", elapsed)


def bomb_fork_load(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    """``:session fork`` of a big loaded session, then ``:session load`` of a saved copy of it that
    is not loaded yet (both in worker threads: ``server.off_loop``)."""
    session = "bigfork"
    per_line = 100
    for start in range(0, sizes.save_inputs, per_line):
        client.execute(" ".join(f"(define k{n} {n})" for n in range(start, min(start + per_line, sizes.save_inputs))),
                       session)
    fork, fork_s = timed(client, ":session fork bigfork-fork", session)
    client.execute(":session save bigfork-copy", session)
    load, load_s = timed(client, ":session load bigfork-copy", session)
    return Outcome(f"{fork.output.strip()[:60]}; {load.output.strip().splitlines()[-1][:50]}", fork_s + load_s,
                   f"fork {fmt_seconds(fork_s)}, load {fmt_seconds(load_s)}")


def wait_listed(client: OmegaClient, count: int, timeout_s: float) -> int:
    """List until at least ``count`` sessions show (or the timeout); the number last seen."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            seen = len(client.list_sessions())
            if seen >= count:
                break
        time.sleep(0.05)
    return seen


def bomb_catalog_appear(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    """Thousands of small sessions appear on disk (written by the bench, as by a copy or another
    tool): the next listing summarizes each new name (``catalog_scan``)."""
    before = len(client.list_sessions())
    started = time.perf_counter()
    server_bench.write_tiny_sessions(server.session_dir, sizes.catalog_sessions)
    seen = wait_listed(client, before + sizes.catalog_sessions, sizes.case_timeout_s)
    return Outcome(f"{seen} sessions listed", time.perf_counter() - started,
                   f"{sizes.catalog_sessions} sessions written to disk by the bench")


def bomb_catalog_restart(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
    """kill -9 of the backend with thousands of sessions on disk: the new backend's catalog
    starts empty and is read whole (after the "appear" case; alone, it writes the sessions first)."""
    if len(client.list_sessions()) < sizes.catalog_sessions:
        server_bench.write_tiny_sessions(server.session_dir, sizes.catalog_sessions)
        wait_listed(client, sizes.catalog_sessions, sizes.case_timeout_s)
    old = server.status(client)["backend_pid"]
    started = time.perf_counter()
    kill_backend_and_wait(server, client, old)
    seen = wait_listed(client, sizes.catalog_sessions, sizes.case_timeout_s)
    time.sleep(1.0)  # the probe lists against the new backend for a while
    return Outcome(f"{seen} sessions listed after the restart", time.perf_counter() - started)


BOMBS: list[tuple[str, Callable[[Any, OmegaClient, Sizes], Outcome]]] = [
    ("stalled follower + writer", bomb_follower),
    ("(fact 2000), kill -9, reload", bomb_fact_kill),
    ("(deep N)", bomb_deep),
    ("endless non-tail recursion", bomb_endless),
    ("string doubling", bomb_string),
    ("list doubling", bomb_list),
    ("bignum squaring", bomb_bignum),
    ("one step over millions of pairs", bomb_long_step),
    ("big global + small defines", bomb_big_global),
    (":session save of a big session", bomb_save),
    (":session fork + load of a big session", bomb_fork_load),
    ("frame of nested brackets", bomb_bracket_frame),
    ("many sessions appear on disk", bomb_catalog_appear),
    ("restart with many sessions on disk", bomb_catalog_restart),
]


# --- running ------------------------------------------------------------------------------------

REPEAT_UNTIL_S = 2.0
"""A bomb that ends sooner is run again (same session, same client) until the case has lasted
this long: a p99 needs about 100 probe samples, and a bignum squaring that ends with its budget
error after 8 ms gave one (the p99 of one sample is that sample). Full mode only."""
REPEATABLE = frozenset({"string doubling", "list doubling", "bignum squaring", "(deep N)", "endless non-tail recursion",
                        "one step over millions of pairs"})
"""The bombs that can run again as they are (no kill, no files written by the bench)."""


def repeated(bomb: Callable[..., Outcome], until_s: float) -> Callable[..., Outcome]:
    """``bomb`` run again until ``until_s`` have passed since its first start; the outcome is the
    first run's, with the number of runs."""

    def run(server: Any, client: OmegaClient, sizes: Sizes) -> Outcome:
        started = time.perf_counter()
        first = bomb(server, client, sizes)
        runs = 1
        while time.perf_counter() - started < until_s and runs < 1000:
            bomb(server, client, sizes)
            runs += 1
        if runs > 1:
            note = f"run {runs} times to span {until_s:g} s (each like the first)"
            first = Outcome(first.ended, first.bomb_s, f"{first.extra}; {note}" if first.extra else note)
        return first

    return run



def run_case(server: Any, probe: Probe, label: str, bomb: Callable[..., Outcome], sizes: Sizes,
             watcher: OmegaClient) -> tuple[Outcome, bool, list[float], list[float], list[str], LoopFigures]:
    """Run one bomb in a thread with the case timeout (then its sessions are interrupted), once
    the previous case's values are freed."""
    waited_s = wait_quiet(watcher)
    before = server.status(watcher)["backend_pid"]
    loop_before = loop_figures(watcher)
    client = server.client(f"bomb-{label}")
    result: list[Outcome] = []

    def work() -> None:
        try:
            result.append(bomb(server, client, sizes))
        except Exception as problem:  # noqa: BLE001 - reported in the row
            result.append(Outcome(f"client error: {type(problem).__name__}: {str(problem)[:80]}"))

    started = time.time()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(sizes.case_timeout_s)
    if thread.is_alive():
        for session in ("follow", "fact", "deep", "endless", "strings", "lists", "bignum", "longstep", "bigglobal", "bigsave"):
            with contextlib.suppress(Exception):
                watcher.interrupt(session)
        thread.join(30)
        ended = result[0].ended if result else "still running"
        outcome = Outcome(f"TIMEOUT after {sizes.case_timeout_s:g} s, interrupted ({ended})")
    else:
        outcome = result[0]
    if waited_s >= 0.5:
        wait_note = f"waited {waited_s:.1f} s for the previous case's values to be freed"
        outcome = Outcome(outcome.ended, outcome.bomb_s, f"{outcome.extra}; {wait_note}" if outcome.extra else wait_note)
    with contextlib.suppress(Exception):
        client.close()
    finished = time.time()
    after = before
    with contextlib.suppress(Exception):
        after = server.status(watcher)["backend_pid"]
    loop_after = loop_figures(watcher)
    if after != before:  # a new backend counts from zero
        loop_before = {}
    ping, listing, errors = probe.window(started, finished)
    return outcome, after != before, ping, listing, errors, LoopFigures.between(loop_before, loop_after, started)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["--probe"]:
        return probe_main(*arguments[1:5])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and timeouts (smoke test); no targets")
    parser.add_argument("--only", metavar="TEXT", help="run only the bombs whose label contains TEXT (several: TEXT,TEXT)")
    parser.add_argument("--dir", metavar="PARENT", help="make the temp dir under PARENT")
    parser.add_argument("--server-log", metavar="FILE", help="copy the server's log there at the end")
    args = parser.parse_args(arguments)
    sizes = Sizes.pick(args.quick)
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="omega-bench-isolation-", dir=args.dir) as tmp:
            root = Path(tmp)
            toml = server_bench.server_toml(fsync="interval", stable_start_s=1.0, idle_shutdown_s=300.0)
            toml += f"\n[language]\nstep_budget = {sizes.step_budget}\nmax_input_chars = 4000000\n"
            with BenchServer(root / "sessions", root, toml, "isolation") as server:
                watcher = server.client("watcher")
                probe = Probe(root / "probe-samples.txt")
                probe.start(server)
                try:
                    for label, bomb in BOMBS:
                        if args.only and not any(part in label for part in args.only.split(",")):
                            continue
                        if label in REPEATABLE and not args.quick:
                            bomb = repeated(bomb, REPEAT_UNTIL_S)
                        *measured, loop = run_case(server, probe, label, bomb, sizes, watcher)
                        rows.extend(case_rows(label, *measured, loop=loop, quick=args.quick))
                finally:
                    probe.stop()
                    if args.server_log:
                        with contextlib.suppress(OSError):
                            Path(args.server_log).write_bytes(server.paths.log.read_bytes())
    except KeyboardInterrupt:
        report_stopped(rows, TITLE, "interrupted", "interrupted (server stopped)")
        return 130
    print_table(rows, title=f"{TITLE}{' --quick: small sizes, no targets' if args.quick else ''}; probe: ping, "
                            "then list_sessions, from a process of its own; p99 target 5 ms")
    return 0


def case_rows(label: str, outcome: Outcome, restarted: bool, ping: list[float], listing: list[float],
              errors: list[str], loop: LoopFigures, quick: bool) -> list[Row]:
    target = None if quick else 0.005
    bomb = f"bomb {fmt_seconds(outcome.bomb_s)}; " if outcome.bomb_s is not None else ""
    failed = f"; probe errors: {len(errors)} ({errors[0][:60]})" if errors else ""
    notes = [f"max {fmt_seconds(max(ping))}" if ping else "no answers",
             f"restarted: {'yes' if restarted else 'no'}", loop.note(), f"{bomb}ended: {outcome.ended}{failed}"]
    if outcome.extra:
        notes.append(outcome.extra)
    rows = []
    for name, samples, note in ((f"{label}: ping", ping, "; ".join(notes)),
                                (f"{label}: list_sessions", listing, f"max {fmt_seconds(max(listing))}" if listing else "")):
        if samples:
            rows.append(Row(name, samples=samples, show_p99=True, p99_target=target, note=note))
        else:
            rows.append(Row(name, value=0.0, note=f"NO ANSWER during the bomb; {note}"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
