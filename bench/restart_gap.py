"""The backend restart gap (issue 10, ARCHITECTURE.md section 7): how long another client waits
when the backend is killed -9 and the supervisor starts the next one.

One real server (temp session and runtime dirs; ``stable_start_s = 0.2``, so each kill, 0.4 s after
the last restart, is a first crash that restarts at once, taken over by the standby backend the
supervisor forked after those 0.2 s, ``omega_core/server/backend_process.py``). With ``--fork``
no standby is ever forked (``stable_start_s`` is huge and the crash backoff 0.1 ms instead): each
restart forks, as before the standby. With ``--record N`` the sessions dir starts with a request
record of N entries (a server in use has up to 5,000, in up to 10,000 lines), which every new
backend reads. A session ``fact`` holds ``(fact 2000)``
in a global, as in ``bench/isolation.py``'s "(fact 2000), kill -9, reload" case. Per round: the
backend's pid from ``status``, then ``kill -9`` of it and at once a ``ping`` on a connected client
(it sees the break, redials, waits in the supervisor's listen queue, handshakes, says ``hello`` and
resends): the time from the kill to the ping's reply is the gap. Then ``list_sessions`` is timed
(the first listing of the new backend) and the ``fact`` session is reloaded and checked (its
global is still there: crash safety).

The gap is split by the backend's own record of its start (``status`` ``"start"``, seconds since
the supervisor forked it, or gave a standby its "go"): when its loop began serving and when it
adopted its first client. Medians, p99 and max over the rounds; the target is max <= 50 ms (aim <= 25 ms).

    python bench/restart_gap.py               # 30 rounds
    python bench/restart_gap.py --rounds 10   # fewer
    python bench/restart_gap.py --fork        # without a standby: each restart forks
    python bench/restart_gap.py --quick       # 3 rounds (smoke test)
    python bench/restart_gap.py --record 5000 # a full request record on disk, as on a server in use
    PYTHONPATH=/other/tree python /other/tree/bench/restart_gap.py   # the same on another tree
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _siblings import load_sibling  # noqa: E402
from _table import Row, fmt_seconds, print_table  # noqa: E402


server_bench = load_sibling("server")
BenchServer = server_bench.BenchServer
WrongResult = server_bench.WrongResult
TITLE = "Omega backend restart gap (bench/restart_gap.py): kill -9 of the backend -> another client's ping answers"
STABLE_START_S = 0.2
FORK_ONLY = {"stable_start_s": 1e6, "restart_backoff_initial_s": 0.0001, "restart_backoff_max_s": 0.0001,
             "restart_limit": 100_000}
"""``--fork``: every kill is a crash "at start" (no standby), restarted after 0.1 ms."""
BETWEEN_ROUNDS_S = 0.4
"""Past ``stable_start_s``: every kill is a first crash (restarted at once), not a crash loop."""


def wait_new_backend(server: Any, client: Any, old: int, timeout_s: float = 30.0) -> dict[str, Any]:
    """The ``status`` of the backend that replaced ``old``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = server.status(client)
        if status["backend_pid"] != old:
            return status
    raise WrongResult(f"no new backend within {timeout_s:g} s; log:\n{server.log_tail()}")


def write_request_record(session_dir: Path, entries: int) -> None:
    """A request record of ``entries`` code requests (what ``input_logged`` writes), as a server in
    use leaves it (``omega_core/server/request_record.py``)."""
    from omega_core.server.request_record import RECORD_NAME

    sessions = session_dir / "sessions"  # config.sessions_dir under the session dir
    sessions.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps({"rid": f"{os.urandom(16).hex()}:{number}", "session": f"s{number % 50}",
                         "offset": number * 1234}, separators=(",", ":")) for number in range(entries))
    (sessions / RECORD_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="3 rounds (smoke test)")
    parser.add_argument("--server-log", metavar="FILE", help="copy the server's log there at the end")
    parser.add_argument("--fork", action="store_true", help="no standby backend: each restart forks")
    parser.add_argument("--record", type=int, default=0, metavar="N", help="start with N request record entries")
    parser.add_argument("--heap-pairs", type=int, default=0, metavar="N",
                        help="a session holds a list of N pairs, loaded before each kill: the gap grows with "
                             "the killed backend's memory (the kernel frees it before the clients' sockets close)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
    gaps: list[float] = []
    listings: list[float] = []
    serving: list[float] = []
    adopted: list[float] = []
    rss_mb: list[float] = []
    with tempfile.TemporaryDirectory(prefix="omega-bench-restart-") as tmp:
        root = Path(tmp)
        settings: dict[str, Any] = FORK_ONLY if args.fork else {"stable_start_s": STABLE_START_S}
        toml = server_bench.server_toml(fsync="interval", idle_shutdown_s=300.0, **settings)
        if args.record:
            write_request_record(root / "sessions", args.record)
        with BenchServer(root / "sessions", root, toml, "restart") as server:
            try:
                worker = server.client("worker")
                probe = server.client("probe")
                worker.execute("(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))", "fact")
                worker.execute("(define f (fact 2000))", "fact")
                if args.heap_pairs:
                    worker.execute("(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))", "heap")
                    worker.execute(f"(define big (build {args.heap_pairs} '()))", "heap")
                for _ in range(args.rounds):
                    if args.heap_pairs:
                        worker.execute("(car big)", "heap")  # loaded again after the last restart
                    time.sleep(BETWEEN_ROUNDS_S)
                    status = server.status(probe)
                    old = status["backend_pid"]
                    rss_mb.append(status["rss_bytes"] / 2**20)
                    killed = time.perf_counter()
                    os.kill(old, signal.SIGKILL)
                    probe.ping()
                    answered = time.perf_counter()
                    probe.list_sessions()
                    listings.append(time.perf_counter() - answered)
                    gaps.append(answered - killed)
                    status = wait_new_backend(server, probe, old)
                    start = status.get("start") or {}
                    if "serving_s" in start:
                        serving.append(start["serving_s"])
                    if "first_client_s" in start:
                        adopted.append(start["first_client_s"])
                    length = worker.execute("(string-length (number->string f))", "fact")
                    if "5736" not in str(length):
                        raise WrongResult(f"the fact session lost its global after a restart: {length!r}")
            finally:
                if args.server_log:
                    Path(args.server_log).write_bytes(server.paths.log.read_bytes())
    rss_note = f"; backend RSS before the kill: median {sorted(rss_mb)[len(rss_mb) // 2]:.0f} MB" if rss_mb else ""
    rows = [Row("kill -9 -> ping answers (the gap)", gaps, target=0.025, p99_target=0.050,
                note=f"max {fmt_seconds(max(gaps))}; target: median 25 ms, p99 and max 50 ms{rss_note}"),
            Row("then list_sessions", listings, show_p99=True, note=f"max {fmt_seconds(max(listings))}")]
    if serving:
        rows.append(Row("fork or go -> serving (the backend's record)", serving, show_p99=True,
                        note=f"max {fmt_seconds(max(serving))}"))
    if adopted:
        rows.append(Row("fork or go -> first client adopted", adopted, show_p99=True,
                        note=f"max {fmt_seconds(max(adopted))}"))
    print_table(rows, title=TITLE + (" (--fork: no standby)" if args.fork else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
