"""Speed of recorded sessions (issue "recorded sessions"), in-process, on data built in a temp dir.

Builds (not timed against a target, only reported):
  * 1,000 small sessions (3 inputs each) in one session dir;
  * one big session of about 100,000 events in another: small inputs, ``(define vK K)`` for every
    ``--define-every``-th input and ``(+ K 1)`` otherwise (each input makes 4 events: input, step,
    result, checkpoint); derived files are flushed as the server would (every save_interval_ms).
Then measures through a ``ReplState`` and ``process()``, as a REPL or the server's ``execute`` op:
  * ``:session list`` over the 1,000 sessions (the first run is cold, the rest warm);
  * ``:session checkpoints`` and ``:session trace`` (last 50) on the big session;
  * ``:session goto SEQ`` to random seqs of the big session (median and p99);
  * opening (loading) the big session: ``RecordedSession.open`` after ``close``;
  * recording a 200-input session (50 ``(define (fN x) (+ x N))``, 150 calls ``(fN K)``): total
    time and the bytes of its files on disk.
Every command's output is checked; a wrong one makes the script exit 1.

    python bench/session.py                    # full sizes (the big build takes minutes)
    python bench/session.py --events 20000     # a smaller big session
    python bench/session.py --quick            # 10-20x smaller, for the smoke test; no targets
    python -m cProfile -s tottime bench/session.py --events 20000 | head -50
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, fmt_bytes, fmt_seconds, measure, median, print_table, report_stopped  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

from omega_core.config import Config  # noqa: E402
from omega_core.repl.processor import process  # noqa: E402
from omega_core.repl.state import ReplState  # noqa: E402
from omega_core.session.recorded import RecordedSession  # noqa: E402

EVENTS_PER_INPUT = 4  # input, step, result, checkpoint (record_steps on, no effects)


class WrongResult(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Sizes:
    sessions: int
    inputs_per_session: int
    events: int
    gotos: int
    defines: int
    calls: int
    repeat: int

    @classmethod
    def pick(cls, quick: bool, events: int | None) -> "Sizes":
        if quick:
            return cls(sessions=100, inputs_per_session=3, events=events or 8_000, gotos=10, defines=5, calls=15, repeat=20)
        return cls(sessions=1_000, inputs_per_session=3, events=events or 100_000, gotos=50, defines=50, calls=150,
                   repeat=100)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=False)


def check_ok(text: str, output: str) -> None:
    if "error:" in output or "usage:" in output:
        raise WrongResult(f"{text!r} gave {output!r}")


class Flusher:
    """Writes a session's derived files the way the server does: at most every save_interval_ms."""

    def __init__(self, config: Config) -> None:
        self.interval = config.server.save_interval_ms / 1000

    def maybe(self, session: RecordedSession) -> None:
        if session.dirty and time.monotonic() - session.last_flush >= self.interval:
            session.flush()


# --- building ------------------------------------------------------------------------------


def build_small_sessions(config: Config, count: int, inputs: int) -> float:
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task(f"building {count:,} small sessions", total=count)
        for i in range(count):
            session = RecordedSession.open(config.sessions_dir, f"s{i:04d}", config)
            try:
                for j in range(inputs):
                    code = f"(define x {i})" if j == 0 else f"(+ x {j})"
                    results = session.execute(code)
                    expected = "x" if j == 0 else str(i + j)
                    if [r.value for r in results] != [expected]:
                        raise WrongResult(f"session s{i:04d}: {code} gave {[r.transcript() for r in results]}")
            finally:
                session.close()
            bar.advance(task)
    return time.perf_counter() - started


def big_input(k: int, define_every: int) -> tuple[str, str]:
    """Input number ``k`` of the big session and its expected printed value."""
    if k % define_every == 0:
        return f"(define v{k} {k})", f"v{k}"
    return f"(+ {k} 1)", str(k + 1)


def build_big_session(config: Config, name: str, events: int, define_every: int) -> tuple[float, list[float]]:
    """Record inputs until the log holds ``events`` events; (seconds, each input's ``execute`` time)."""
    flusher = Flusher(config)
    started = time.perf_counter()
    session = RecordedSession.open(config.sessions_dir, name, config)
    k = 0
    per_input: list[float] = []
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"building the {events:,}-event session", total=events)
            while session.next_seq < events:
                before = session.next_seq
                code, expected = big_input(k, define_every)
                t0 = time.perf_counter()
                results = session.execute(code)
                per_input.append(time.perf_counter() - t0)
                if len(results) != 1 or results[0].value != expected:
                    raise WrongResult(f"big session: {code} gave {[r.transcript() for r in results]}")
                if session.next_seq - before != EVENTS_PER_INPUT:
                    raise WrongResult(f"big session: {code} made {session.next_seq - before} events, "
                                      f"the bench assumes {EVENTS_PER_INPUT}")
                flusher.maybe(session)
                k += 1
                bar.update(task, completed=session.next_seq)
    finally:
        session.close()
    return time.perf_counter() - started, per_input


def files_size(sessions_dir: Path, name: str) -> int:
    return sum(p.stat().st_size for p in sessions_dir.iterdir() if p.name.startswith(name + "."))


# --- measuring -----------------------------------------------------------------------------


def run_command(state: ReplState, line: str, check: Callable[[str], None] | None = None) -> Callable[[], None]:
    """A timed body: ``process(state, line)``, its output checked after the clock stopped."""
    outputs: list[str] = []

    def body() -> None:
        new_state, output, _ = process(state, line)
        outputs.append(output)

    def verify() -> None:
        for output in outputs:
            check_ok(line, output)
            if check is not None:
                check(output)
        outputs.clear()

    body.verify = verify  # type: ignore[attr-defined]
    return body


def timed_command(state: ReplState, line: str, repeat: int, check: Callable[[str], None] | None = None) -> list[float]:
    body = run_command(state, line, check)
    samples = measure(body, repeat)
    body.verify()  # type: ignore[attr-defined]
    return samples


def expect_lines(count: int, what: str) -> Callable[[str], None]:
    def check(output: str) -> None:
        lines = [line for line in output.splitlines() if line.strip().startswith("[")]
        if len(lines) != count:
            raise WrongResult(f"{what}: expected {count} entries, got {len(lines)}: {output[:200]!r}")
    return check


def defines_done(seq: int, define_every: int) -> int:
    """User globals ``vK`` the big session's machine holds at event ``seq``.

    Input k has events 4k (input: before it runs), 4k+1 (step: the form started), 4k+2 (result)
    and 4k+3 (checkpoint); its define is done from the result on.
    """
    k, position = divmod(seq, EVENTS_PER_INPUT)
    done = (k + define_every - 1) // define_every  # defines among inputs 0 .. k-1
    if position >= 2 and k % define_every == 0:
        done += 1
    return done


def user_globals(state: ReplState) -> int:
    return sum(1 for name in state.session.machine.globals if name[:1] == "v" and name[1:].isdigit())


def measure_gotos(state: ReplState, seqs: list[int], define_every: int, flusher: Flusher) -> list[float]:
    samples = []
    for seq in seqs:
        started = time.perf_counter()
        _, output, _ = process(state, f":session goto {seq}")
        samples.append(time.perf_counter() - started)
        if not output.startswith(f"Jumped to seq {seq} "):
            raise WrongResult(f":session goto {seq} gave {output[:200]!r}")
        have, want = user_globals(state), defines_done(seq, define_every)
        if have != want:
            raise WrongResult(f":session goto {seq}: the machine holds {have} vK globals, expected {want}")
        flusher.maybe(state.session)  # background work in the server: not timed
    return samples


def record_session(config: Config, name: str, defines: int, calls: int) -> tuple[float, int]:
    """Record ``defines`` definitions then ``calls`` calls through process(); (seconds, bytes)."""
    flusher = Flusher(config)
    inputs = [(f"(define (f{n} x) (+ x {n}))", f"=> f{n}") for n in range(defines)]
    inputs += [(f"(f{k % defines} {k})", f"=> {k + k % defines}") for k in range(calls)]
    outputs = []
    started = time.perf_counter()
    state = ReplState.open(config, name)
    try:
        for code, _ in inputs:
            state, output, _ = process(state, code)
            outputs.append(output)
            flusher.maybe(state.session)
    finally:
        state.close()
    elapsed = time.perf_counter() - started
    for (code, expected), output in zip(inputs, outputs):
        if output != expected:
            raise WrongResult(f"recording {name}: {code} gave {output!r}, expected {expected!r}")
    return elapsed, files_size(config.sessions_dir, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10-20x smaller sizes (smoke test); no targets")
    parser.add_argument("--events", type=int, metavar="N", help="events of the big session (default 100,000; quick 8,000)")
    parser.add_argument("--define-every", type=int, default=2, metavar="D",
                        help="every D-th input of the big session is (define vK K), the others (+ K 1) (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the goto targets")
    parser.add_argument("--dir", metavar="PARENT", help="make the temp dir under PARENT (default: the system temp dir)")
    args = parser.parse_args(argv)
    if args.define_every < 1:
        parser.error("--define-every must be 1 or more")
    sizes = Sizes.pick(args.quick, args.events)
    quick = args.quick

    def target(value: float) -> float | None:
        return None if quick else value

    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="omega-bench-", dir=args.dir) as tmp:
            root = Path(tmp)
            base = Config()
            many = dataclasses.replace(base, session_dir=str(root / "many"))
            big = dataclasses.replace(base, session_dir=str(root / "big"))
            rec = dataclasses.replace(base, session_dir=str(root / "rec"))

            # -- build ----------------------------------------------------------------------
            seconds = build_small_sessions(many, sizes.sessions, sizes.inputs_per_session)
            rows.append(Row(f"build: {sizes.sessions:,} sessions x {sizes.inputs_per_session} inputs", value=seconds))
            seconds, per_input = build_big_session(big, "big", sizes.events, args.define_every)
            inputs = len(per_input)
            big_bytes = files_size(big.sessions_dir, "big")
            rows.append(Row(f"build: big session, {inputs:,} inputs", value=seconds,
                            note=f"({fmt_seconds(seconds / inputs)} per input, flushes included)"))
            # ARCHITECTURE.md section 7: one more command on a long session costs <= 2x an empty one
            edge = max(1, min(500, inputs // 10))
            early = median(per_input[:edge])
            rows.append(Row(f"record 1 input (execute), first {edge} inputs", per_input[:edge]))
            rows.append(Row(f"record 1 input (execute), last {edge} inputs", per_input[-edge:],
                            target=target(2 * early), note="(target: 2x the first ones)"))
            rows.append(Row("big session files on disk", value=big_bytes, unit="B",
                            note="(" + ", ".join(f"{p.name.split('.', 1)[1]} {fmt_bytes(p.stat().st_size)}"
                                                 for p in sorted(big.sessions_dir.iterdir())) + ")"))

            # -- open (load) the big session ------------------------------------------------
            open_samples = []
            session = None
            for attempt in range(5):
                if session is not None:
                    session.close()
                started = time.perf_counter()
                session = RecordedSession.open(big.sessions_dir, "big", big)
                open_samples.append(time.perf_counter() - started)
                if session.next_seq != inputs * EVENTS_PER_INPUT or session.warnings:
                    raise WrongResult(f"open big: {session.next_seq} events, warnings {session.warnings}")
            assert session is not None
            events = session.next_seq
            rows.append(Row(f"open {events:,}-event session", open_samples, target=target(0.300)))
            state = ReplState(config=big, session=session, effects=session.effects)
            if user_globals(state) != defines_done(events - 1, args.define_every):
                raise WrongResult(f"open big: {user_globals(state)} vK globals, "
                                  f"expected {defines_done(events - 1, args.define_every)}")

            # -- checkpoints, trace --------------------------------------------------------
            samples = timed_command(state, ":session checkpoints", sizes.repeat * 2, expect_lines(50, ":session checkpoints"))
            rows.append(Row(":session checkpoints (last 50)", samples, target=target(0.005), show_p99=True))
            samples = timed_command(state, ":session trace", sizes.repeat * 2, expect_lines(50, ":session trace"))
            rows.append(Row(":session trace (last 50)", samples, target=target(0.005), show_p99=True))

            # -- goto ------------------------------------------------------------------------
            seqs = random.Random(args.seed).sample(range(events), sizes.gotos)
            samples = measure_gotos(state, seqs, args.define_every, Flusher(big))
            rows.append(Row(f":session goto (random seqs of {events:,})", samples, target=target(0.020), show_p99=True))
            state.close()

            # -- list ------------------------------------------------------------------------
            first = RecordedSession.open(many.sessions_dir, "s0000", many)
            listing = ReplState(config=many, session=first, effects=first.effects)
            try:
                def list_check(output: str) -> None:
                    got = sum(1 for line in output.splitlines() if line.startswith("  s"))
                    if got != sizes.sessions:
                        raise WrongResult(f":session list: {got} sessions listed, expected {sizes.sessions}")

                cold = timed_command(listing, ":session list", 1, list_check)
                warm = timed_command(listing, ":session list", sizes.repeat, list_check)
                rows.append(Row(f":session list ({sizes.sessions:,} sessions), first run", value=cold[0]))
                rows.append(Row(f":session list ({sizes.sessions:,} sessions), warm", warm, target=target(0.020),
                                show_p99=True))
            finally:
                listing.close()

            # -- recording a 200-input session ----------------------------------------------
            total = sizes.defines + sizes.calls
            seconds, size = record_session(rec, "rec", sizes.defines, sizes.calls)
            rows.append(Row(f"record {total}-input session (open .. close)", value=seconds, target=target(2.0),
                            note=f"({fmt_seconds(seconds / total)} per input)"))
            rows.append(Row(f"{total}-input session files on disk", value=size, unit="B", target=target(5e6)))
    except WrongResult as problem:
        report_stopped(rows, "Omega recorded sessions (bench/session.py)", "before the failure", f"FAIL: {problem}")
        return 1

    title = (f"Omega recorded sessions (bench/session.py{', --quick: reduced sizes, no targets' if quick else ''}; "
             f"big session: 1 define per {args.define_every} inputs; goto seed {args.seed})")
    print_table(rows, title=title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
