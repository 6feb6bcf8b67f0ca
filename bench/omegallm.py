"""Sessions written by OmegaLLM at Omega speed (issue 14, item 5), on a session built from the format.

Builds, in a temp dir, one session exactly as OmegaLLM writes it (ARCHITECTURE.md section 4 and
/work/shared/fixtures/omegallm-sessions): a log of about ``--events`` events (input, step, result,
checkpoint per input; errors without a checkpoint, as OmegaLLM does; every 50th input an
``(effect infer.op ...)`` with llm_boundary checkpoints, llm_req/llm_resp and a receipt), and an
index in OmegaLLM's two-space layout with one OmegaLLM machine state per checkpoint, made from a
real state of the fixtures padded to ``--state-bytes`` (OmegaLLM's are about 50 KB; a 48k-event
session has about 520 MB of them). Then measures:

  * opening it, in a fresh process (time and peak RSS): first open (replays every input and fills
    the sidecar), then a second open (starts from the sidecar);
  * ``:session goto`` to random seqs: the first one in a fresh process right after its open, cold
    (the first goto after an open in a process that opened the session before) and warm (repeated);
  * the full ``:session trace N`` of every event, through ``process()`` as a REPL or the server.

Targets (issue 14): goto p99 <= 20 ms, open no slower than OmegaLLM (9.3 s, 1.1 GB at 48k events),
full trace of 48k events <= 60 ms; at other sizes the open and trace targets scale with the events.
Every goto's result is checked (user globals present), so a wrong replay exits 1.

    python bench/omegallm.py                  # 48,000 events, ~520 MB of states (minutes, disk!)
    python bench/omegallm.py --events 8000    # smaller
    python bench/omegallm.py --quick          # smoke test: tiny, no targets
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _table import Row, fmt_bytes, fmt_seconds, print_table  # noqa: E402

from omega_core.config import Config, load_config  # noqa: E402

FIXTURE_INDEX = Path("/work/shared/fixtures/omegallm-sessions/squares.index.json")
FULL_EVENTS = 48_000
OMEGALLM_OPEN_S = 9.3
OMEGALLM_OPEN_BYTES = 1.1e9
GOTO_P99_S = 0.020
TRACE_48K_S = 0.060
EFFECT_EVERY = 50
ERROR_EVERY = 97
_ENV_MARK = "@@ENV@@"


class WrongResult(Exception):
    pass


# --- building the session ----------------------------------------------------------------------


def _state_template(state_bytes: int) -> str:
    """One OmegaLLM machine state as the two-space layout writes it at depth 2 (an entry of
    ``states``), padded with closure-like store entries to about ``state_bytes``."""
    try:
        index = json.loads(FIXTURE_INDEX.read_text(encoding="utf-8"))
        state = dict(min(index["states"].values(), key=lambda s: len(json.dumps(s))))
    except (OSError, ValueError, KeyError):  # fixtures not present: a state of the same shape
        state = {"control": {"tag": "Val", "v": {"tag": "Unit"}}, "envId": "", "storeEntries": [],
                 "kont": [], "handlers": []}
    state["envId"] = _ENV_MARK
    entries = list(state.get("storeEntries", []))
    next_id = len(entries)
    text = json.dumps(state, indent=2)
    while len(text) < state_bytes:
        for _ in range(max(1, (state_bytes - len(text)) // 400)):
            entries.append([next_id, {"tag": "Closure", "params": ["x"], "body": {
                "tag": "App", "fn": {"tag": "Var", "name": "+"},
                "args": [{"tag": "Var", "name": "x"}, {"tag": "Lit", "value": next_id}]},
                "envId": f"env-{next_id}"}])
            next_id += 1
        state["storeEntries"] = entries
        text = json.dumps(state, indent=2)
    return text.replace("\n", "\n    ")


def _input_code(i: int, live: int) -> tuple[str, str, bool]:
    """(code, printed result or error message, is_error) of input ``i`` (not an effect).

    Definitions cycle through ``live`` names of each kind (``fK``, ``vK``), so the live state stays
    bounded as OmegaLLM's does (its states are about 50 KB at any length of session)."""
    if i % ERROR_EVERY == ERROR_EVERY - 1:
        return f"(car {i})", "car: expected pair", True
    kind = i % 4
    slot = (i // 4) % live
    if kind == 0:
        return f"(define (f{slot} x) (+ x {i}))", f"f{slot}", False
    if kind == 1:
        return f"(+ {i} 1)", str(i + 1), False
    if kind == 2:
        return f"(define v{slot} (list {i} \"item-{i}\" (* {i} 2)))", f"v{slot}", False
    return f"(* {i} 2)", str(i * 2), False


def build_session(sessions_dir: Path, name: str, events: int, state_bytes: int, live: int = 100) -> dict[str, Any]:
    """Write ``<name>.jsonl`` and ``<name>.index.json`` as OmegaLLM does; return facts for checks."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    ts = 1795289215375
    lines: list[bytes] = [json.dumps({"type": "session", "version": 1, "id": "current",
                                      "created": "2026-11-21T19:26:55.369Z"}, separators=(",", ":")).encode() + b"\n"]
    offset = len(lines[0])
    seq = 0
    checkpoints: list[dict[str, Any]] = []
    receipts: dict[str, Any] = {}
    input_seqs: list[int] = []
    defined_at: list[tuple[int, str, int]] = []  # (seq of the input, global it defines, input number)

    def emit(event: dict[str, Any]) -> None:
        nonlocal seq, offset, ts
        ts += 1
        line = json.dumps({"seq": seq, "ts": ts, **event}, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        if event["type"] == "checkpoint":
            checkpoints.append({"seq": seq, "byteOffset": offset, "stateId": f"state-{seq}", "reason": event["reason"]})
        lines.append(line)
        offset += len(line)
        seq += 1

    i = 0
    while seq < events:
        input_seqs.append(seq)
        if i % EFFECT_EVERY == EFFECT_EVERY - 1:
            prompt = f"Question {i}"
            code = f'(effect infer.op "{prompt}")'
            request = {"op": "infer.op", "args": f'"{prompt}")'}
            key = hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            answer = f"answer {i}"
            emit({"type": "input", "code": code})
            emit({"type": "checkpoint", "d": 0, "reason": "llm_boundary", "stateId": f"state-{seq}"})
            emit({"type": "step", "d": 1, "ctrl": "effect:infer.op"})
            emit({"type": "effect", "d": 1, "op": "infer.op", "argsPreview": json.dumps([f'"{prompt}")'])})
            emit({"type": "llm_req", "d": 1, "model": "mock-llm", "promptPreview": f'"{prompt}")', "receiptKey": key})
            emit({"type": "llm_resp", "d": 1, "valuePreview": answer, "durationMs": 3, "receiptKey": key})
            emit({"type": "checkpoint", "d": 1, "reason": "llm_boundary", "stateId": f"state-{seq}"})
            emit({"type": "resume", "d": 1, "valuePreview": answer})
            emit({"type": "result", "value": json.dumps(answer)})
            emit({"type": "checkpoint", "d": 0, "reason": "manual", "stateId": f"state-{seq}"})
            receipts[key] = {"key": key, "request": request, "response": {"content": answer},
                             "timestamp": ts, "durationMs": 3}
        else:
            code, printed, is_error = _input_code(i, live)
            emit({"type": "input", "code": code})
            emit({"type": "step", "d": 0, "ctrl": code[:200]})
            if is_error:
                emit({"type": "error", "d": 0, "message": printed,
                      "stack": f"Error: {printed}\n    at Object.fn (file:///omega-repl.mjs:6138:11)"})
            else:
                emit({"type": "result", "value": printed})
                emit({"type": "checkpoint", "d": 0, "reason": "manual", "stateId": f"state-{seq}"})
                if code.startswith("(define"):
                    defined_at.append((input_seqs[-1], printed, i))
        i += 1
    (sessions_dir / f"{name}.jsonl").write_bytes(b"".join(lines))
    template = _state_template(state_bytes)

    def shifted(value: Any) -> str:
        return json.dumps(value, indent=2).replace("\n", "\n  ")

    with open(sessions_dir / f"{name}.index.json", "w", encoding="utf-8") as out:
        out.write('{\n  "sessionId": "current",\n')
        out.write(f'  "eventCount": {seq},\n')
        out.write(f'  "checkpoints": {shifted(checkpoints)},\n')
        out.write('  "states": {')
        for number, cp in enumerate(checkpoints):
            out.write("," if number else "")
            out.write(f'\n    "{cp["stateId"]}": ')
            out.write(template.replace(_ENV_MARK, hashlib.sha256(str(cp["seq"]).encode()).hexdigest()))
        out.write("\n  },\n" if checkpoints else "},\n")
        out.write(f'  "receipts": {shifted(receipts)}\n}}')
    return {"events": seq, "inputs": i, "checkpoints": len(checkpoints), "defined_at": defined_at,
            "index_bytes": (sessions_dir / f"{name}.index.json").stat().st_size,
            "log_bytes": offset}


# --- measuring ---------------------------------------------------------------------------------


def bench_config(root: Path) -> Config:
    env = {"OMEGA_SESSION_DIR": str(root / "omega"), "OMEGA_RUNTIME_DIR": str(root / "run"),
           "XDG_CONFIG_HOME": str(root / "xdg")}
    return load_config(environ=env, cwd=root)


def child_open(root: Path, name: str, goto_seq: int = -1) -> None:
    """(In a fresh process) open the session, goto ``goto_seq`` if >= 0, close it; print as JSON
    the seconds of each, the peak RSS and the objects the sidecar's decode cache holds."""
    from omega_core.session.recorded import RecordedSession
    from omega_core.session.replay import sidecar_of

    config = bench_config(root)
    started = time.perf_counter()
    session = RecordedSession.open(config.sessions_dir, name, config)
    elapsed = time.perf_counter() - started
    events = session.next_seq
    goto_s = None
    if goto_seq >= 0:
        started = time.perf_counter()
        session.goto(goto_seq)
        goto_s = time.perf_counter() - started
    sidecar = sidecar_of(session)
    cached = len(sidecar.caches.decoded) if sidecar is not None else 0
    session.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": elapsed, "peak_rss": peak, "events": events, "goto_seconds": goto_s,
                      "cached_objects": cached}))


def open_in_child(root: Path, name: str, goto_seq: int = -1) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child-open", str(root), name, str(goto_seq)],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise WrongResult(f"opening {name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_goto(session: Any, seq: int, defined_at: list[tuple[int, str, int]]) -> None:
    """The machine holds, for each name defined at or before ``seq``, its latest definition (OmegaLLM
    inputs are replayed whole, so an input's define is done from its own seq on)."""
    want: dict[str, int] = {}
    for at, name, number in defined_at:
        if at > seq:
            break
        want[name] = number
    table = session.machine.globals
    have = {name for name in table if name[:1] in "fv" and name[1:].isdigit()}
    if have != set(want):
        raise WrongResult(f"goto {seq}: {len(have)} user globals, expected {len(want)}")
    for name, number in want.items():
        if name[0] == "v" and getattr(table[name], "car", None) != number:
            raise WrongResult(f"goto {seq}: {name} is not the list of input {number}")


def measure_gotos(root: Path, name: str, facts: dict[str, Any], cold: int, warm: int,
                  rng: random.Random) -> tuple[list[float], list[float], list[float]]:
    """Seconds of cold and warm gotos, and the CPU seconds of the warm ones (``thread_time``: what
    a loaded machine does not inflate, printed beside the wall times)."""
    from omega_core.session.recorded import RecordedSession

    config = bench_config(root)
    events = facts["events"]
    cold_samples: list[float] = []
    for _ in range(cold):
        session = RecordedSession.open(config.sessions_dir, name, config)
        try:
            seq = rng.randrange(events)
            started = time.perf_counter()
            session.goto(seq)
            cold_samples.append(time.perf_counter() - started)
            check_goto(session, seq, facts["defined_at"])
        finally:
            session.close()
    warm_samples: list[float] = []
    warm_cpu: list[float] = []
    session = RecordedSession.open(config.sessions_dir, name, config)
    try:
        session.goto(rng.randrange(events))
        for _ in range(warm):
            seq = rng.randrange(events)
            started, cpu = time.perf_counter(), time.thread_time()
            session.goto(seq)
            warm_samples.append(time.perf_counter() - started)
            warm_cpu.append(time.thread_time() - cpu)
            check_goto(session, seq, facts["defined_at"])
    finally:
        session.close()
    return cold_samples, warm_samples, warm_cpu


def measure_trace(root: Path, name: str, events: int, repeat: int) -> list[float]:
    from omega_core.repl.processor import process
    from omega_core.repl.state import ReplState

    config = bench_config(root)
    state = ReplState.open(config, name)
    samples = []
    try:
        count = state.session.next_seq
        for _ in range(repeat):
            started = time.perf_counter()
            _, output, _ = process(state, f":session trace {count}")
            samples.append(time.perf_counter() - started)
            lines = output.count("\n") + 1
            if lines != count:
                raise WrongResult(f":session trace {count} printed {lines} lines")
    finally:
        state.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny session (smoke test); no targets")
    parser.add_argument("--events", type=int, metavar="N", help=f"events of the session (default {FULL_EVENTS:,})")
    parser.add_argument("--state-bytes", type=int, default=43_000, metavar="B",
                        help="size of each OmegaLLM state in the index (default 43,000: ~520 MB at 48k events)")
    parser.add_argument("--live", type=int, default=100, metavar="G",
                        help="names each kind of definition cycles through: the live state's size (default 100)")
    parser.add_argument("--gotos", type=int, default=200, help="warm gotos (default 200)")
    parser.add_argument("--cold", type=int, default=10, help="cold gotos, one per open (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", metavar="PARENT", help="make the temp dir under PARENT")
    parser.add_argument("--fresh", type=int, default=5,
                        help="gotos each right after an open in a fresh process (default 5)")
    parser.add_argument("--child-open", nargs=3, metavar=("ROOT", "NAME", "SEQ"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_open:
        child_open(Path(args.child_open[0]), args.child_open[1], int(args.child_open[2]))
        return 0
    events = args.events or (400 if args.quick else FULL_EVENTS)
    state_bytes = 4000 if args.quick and args.state_bytes == 43_000 else args.state_bytes
    warm, cold = (20, 3) if args.quick else (args.gotos, args.cold)
    fresh = min(2, args.fresh) if args.quick else args.fresh
    scale = events / FULL_EVENTS

    def target(value: float) -> float | None:
        return None if args.quick else value

    rng = random.Random(args.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="omega-bench-omegallm-", dir=args.dir) as tmp:
        root = Path(tmp)
        config = bench_config(root)
        name = "big"
        started = time.perf_counter()
        facts = build_session(config.sessions_dir, name, events, state_bytes, args.live)
        built = time.perf_counter() - started
        print(f"built {facts['events']:,} events, {facts['inputs']:,} inputs, {facts['checkpoints']:,} checkpoints: "
              f"log {fmt_bytes(facts['log_bytes'])}, index {fmt_bytes(facts['index_bytes'])} in {fmt_seconds(built)}",
              flush=True)
        try:
            first = open_in_child(root, name)
            second = open_in_child(root, name)
            if first["events"] != facts["events"] or second["events"] != facts["events"]:
                raise WrongResult(f"opened with {first['events']}/{second['events']} events, built {facts['events']}")
            scaled = "" if scale == 1 else f"(target scaled to {events:,} events)"
            rows.append(Row("open, first (replays all, fills sidecar)", value=first["seconds"],
                            target=target(OMEGALLM_OPEN_S * scale), note=scaled))
            rows.append(Row("  peak RSS of that process", value=first["peak_rss"], unit="B",
                            target=target(OMEGALLM_OPEN_BYTES)))
            rows.append(Row("open, again (from the sidecar)", value=second["seconds"],
                            target=target(OMEGALLM_OPEN_S * scale),
                            note=f"{scaled} (warmed {second['cached_objects']:,} objects)".strip()))
            rows.append(Row("  peak RSS of that process", value=second["peak_rss"], unit="B",
                            target=target(OMEGALLM_OPEN_BYTES)))
            fresh_samples: list[float] = []
            for _ in range(fresh):
                seq = rng.randrange(facts["events"])
                opened = open_in_child(root, name, seq)
                fresh_samples.append(opened["goto_seconds"])
            if fresh_samples:
                rows.append(Row("goto, first in a fresh process after its open", samples=fresh_samples,
                                target=target(GOTO_P99_S), show_p99=True))
            cold_samples, warm_samples, warm_cpu = measure_gotos(root, name, facts, cold, warm, rng)
            rows.append(Row("goto, cold (first after an open)", samples=cold_samples, target=target(GOTO_P99_S),
                            show_p99=True))
            rows.append(Row("goto, warm", samples=warm_samples, target=target(GOTO_P99_S), show_p99=True))
            rows.append(Row("  CPU time of those gotos", samples=warm_cpu, show_p99=True,
                            note="(thread_time: wall minus waiting for a loaded machine's cores)"))
            trace = measure_trace(root, name, facts["events"], 3 if args.quick else 10)
            rows.append(Row(f":session trace (all {facts['events']:,} events)", samples=trace,
                            target=target(TRACE_48K_S * scale), note=scaled))
        except WrongResult as problem:
            print_table(rows, title="OmegaLLM sessions (partial)")
            print(f"\nwrong result: {problem}", file=sys.stderr)
            return 1
    print_table(rows, title=f"OmegaLLM sessions: {facts['events']:,} events, states {fmt_bytes(facts['index_bytes'])} "
                            "(ratio = measured / target; OmegaLLM itself: open 9.3 s / 1.1 GB, goto 3.1 ms, "
                            "trace 61 ms at 48k)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
