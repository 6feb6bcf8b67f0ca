"""RecordedSession: what an input writes to the log, durability of the log, recovery of the caches.

The file layer (log writer/reader, index, listing) has its own tests; these go through
``RecordedSession`` (execute, flush, close, open) and look at the files it leaves behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config, LanguageConfig, OracleConfig, SessionConfig
from omega_core.effects import EffectHost
from omega_core.errors import OmegaError
from omega_core.lang.printer import write_string
from omega_core.lang.serialize import dumps_state
from omega_core.oracle import ScriptedOracle
from omega_core.session.index import load_index
from omega_core.session.recorded import RecordedSession

LONG_ANSWER = "The world says hello back. " * 12  # > 200 characters: the preview is cut, "texts" is not


# --- helpers -----------------------------------------------------------------------------------


def write_script(tmp_path: Path) -> Path:
    script = tmp_path / "oracle.toml"
    script.write_text(
        "[[answer]]\n"
        'match = "say hello"\n'
        f"answer = {json.dumps(LONG_ANSWER)}\n"
        "[[answer]]\n"
        'match = "short"\n'
        'answer = "brief"\n',
        encoding="utf-8",
    )
    return script


def make_config(tmp_path: Path, **sections: Any) -> Config:
    """Defaults, sessions under ``tmp_path/sd``, the scripted oracle reading a script in tmp_path."""
    base = dataclasses.replace(Config(), session_dir=str(tmp_path / "sd"),
                               oracle=OracleConfig(script=str(write_script(tmp_path))))
    return dataclasses.replace(base, **sections)


class CountingOracle:
    """Wraps a scripted oracle and counts the questions it is asked."""

    def __init__(self, inner: ScriptedOracle) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls = 0

    def ask(self, prompt: str, samples: int = 1) -> Any:
        self.calls += 1
        return self.inner.ask(prompt, samples)


def open_session(config: Config, name: str = "t", effects: EffectHost | None = None) -> RecordedSession:
    return RecordedSession.open(config.sessions_dir, name, config, effects)


def log_lines(session_or_path: RecordedSession | Path) -> list[dict[str, Any]]:
    path = session_or_path.paths.log if isinstance(session_or_path, RecordedSession) else session_or_path
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def events_of(session_or_path: RecordedSession | Path) -> list[dict[str, Any]]:
    return log_lines(session_or_path)[1:]


def globals_of(session: RecordedSession, names: list[str]) -> dict[str, str | None]:
    table = session.machine.globals
    return {name: (write_string(table[name]) if name in table else None) for name in names}


def run(session: RecordedSession, code: str) -> list[str]:
    return [result.transcript() for result in session.execute(code)]


# --- events of each kind -----------------------------------------------------------------------


def test_header_line(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path), "hdr")
    session.close()
    header = log_lines(session)[0]
    assert header["type"] == "session"
    assert header["version"] == 1
    assert header["id"] == "hdr"
    assert header["created"].endswith("Z") and "T" in header["created"]
    assert "seq" not in header


def test_successful_input_events_and_fields(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    assert run(session, "(define x 10)") == ["=> x"]
    events = events_of(session)
    assert [event["type"] for event in events] == ["input", "step", "result", "checkpoint"]
    inp, step, result, checkpoint = events
    assert inp["seq"] == 0 and inp["code"] == "(define x 10)" and inp["omega"] == 1
    assert isinstance(inp["ts"], int) and inp["ts"] > 1_600_000_000_000  # ms since the epoch
    assert "record" not in inp
    assert step["seq"] == 1 and step["d"] == 0 and step["ctrl"] == "(define x 10)"
    assert result["seq"] == 2 and result["value"] == "x" and isinstance(result["steps"], int)
    assert checkpoint == {**checkpoint, "seq": 3, "type": "checkpoint", "d": 0, "reason": "manual",
                          "stateId": "state-3"}
    for event in events:
        assert list(event)[:3] == ["seq", "ts", "type"]  # OmegaLLM's field order
    session.close()


def test_display_output_is_recorded_on_the_result(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    assert run(session, '(begin (display "hi") 3)') == ["hi\n=> 3"]
    result = [event for event in events_of(session) if event["type"] == "result"][0]
    assert result["value"] == "3" and result["output"] == "hi"
    session.close()


def test_error_event_has_code_and_no_checkpoint(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    out = run(session, "(car 5)")
    assert len(out) == 1 and out[0].startswith("error: car:")
    events = events_of(session)
    assert [event["type"] for event in events] == ["input", "step", "error"]
    error = events[2]
    assert error["d"] == 0 and error["code"] == "eval_error" and error["message"].startswith("car:")
    assert isinstance(error["steps"], int)
    assert session.checkpoints == []
    session.close()


def test_manual_checkpoint_only_after_fully_successful_input(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    run(session, "(define a 1)")
    run(session, "(undefined-fn 3)")
    run(session, "(define b 2) (car 5)")  # one form fails: the input gets no checkpoint
    run(session, "(define c 3) (define d 4)")
    kinds = [(event["type"], event.get("reason")) for event in events_of(session)]
    assert kinds.count(("checkpoint", "manual")) == 2
    assert [cp["seq"] for cp in session.checkpoints] == [3, 17]
    events = events_of(session)
    assert [event["type"] for event in events[7:12]] == ["input", "step", "result", "step", "error"]
    assert events[16]["type"] == "result" and events[17]["type"] == "checkpoint"
    session.close()


def test_read_error_is_an_error_event(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    out = run(session, "(+ 1")
    assert len(out) == 1 and out[0].startswith("error: ")
    events = events_of(session)
    assert events[0]["type"] == "input" and events[-1]["type"] == "error"
    assert events[-1]["code"]
    assert not any(event["type"] == "checkpoint" for event in events)
    session.close()


def test_oracle_effect_events(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = open_session(config)
    out = run(session, '(define greeting (effect infer.op "please say hello"))')
    assert out == ["=> greeting"]
    assert write_string(session.machine.globals["greeting"]) == json.dumps(LONG_ANSWER)
    events = events_of(session)
    kinds = [(event["type"], event.get("reason")) for event in events]
    assert kinds == [
        ("input", None), ("step", None),
        ("checkpoint", "llm_boundary"),
        ("step", None), ("effect", None), ("llm_req", None), ("llm_resp", None), ("resume", None),
        ("checkpoint", "llm_boundary"),
        ("result", None), ("checkpoint", "manual"),
    ]
    before, step, effect, req, resp, resume, after = events[2:9]
    assert before["d"] == 0 and before["stateId"] == f"state-{before['seq']}"
    assert before["input"] == 0 and before["form"] == 0 and isinstance(before["formSteps"], int)
    assert step["ctrl"] == "effect:infer.op" and step["d"] == 1
    assert effect["op"] == "infer.op" and effect["d"] == 1
    assert "please say hello" in effect["argsPreview"]
    assert req["d"] == 1 and req["model"] == "scripted" and req["promptPreview"] == "please say hello"
    assert len(req["receiptKey"]) == 64
    assert resp["d"] == 1 and resp["receiptKey"] == req["receiptKey"]
    assert resp["valuePreview"] == LONG_ANSWER[:200]  # the preview is cut ...
    assert resp["texts"] == [LONG_ANSWER]  # ... the full answer is kept
    assert isinstance(resp["durationMs"], int) and isinstance(resp["tokens"], int)
    assert resume["d"] == 1 and resume["valuePreview"] == json.dumps(LONG_ANSWER)[:200]
    assert after["d"] == 1 and after["reason"] == "llm_boundary"

    session.flush(force_index=True)
    index = load_index(session.paths.index)
    assert index is not None
    receipt = index["receipts"][req["receiptKey"]]
    assert set(receipt) >= {"key", "request", "response", "timestamp", "durationMs", "tokens"}
    assert receipt["key"] == req["receiptKey"]
    assert receipt["response"] == {"content": LONG_ANSWER}
    canonical = json.dumps(receipt["request"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == req["receiptKey"]
    assert {cp["reason"] for cp in index["checkpoints"]} == {"llm_boundary", "manual"}
    session.close()


def test_non_oracle_effect_has_no_llm_events(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    out = run(session, '(effect shell.op "true")')  # refused by default config: an error, recorded
    assert out[0].startswith("error: shell.op")
    kinds = [event["type"] for event in events_of(session)]
    assert "llm_req" not in kinds and "llm_resp" not in kinds
    assert kinds[-1] == "error"
    session.close()


def test_periodic_checkpoints_inside_a_long_loop(tmp_path: Path) -> None:
    config = make_config(tmp_path, session=SessionConfig(periodic_checkpoint_steps=1000),
                         language=LanguageConfig(slice_steps=500))
    session = open_session(config)
    run(session, "(define counter 0)")
    run(session, "(define (loop i) (if (= i 0) counter (begin (set! counter (+ counter 1)) (loop (- i 1)))))")
    first = session.next_seq
    assert run(session, "(loop 1000)") == ["=> 1000"]
    events = [event for event in events_of(session) if event["seq"] >= first]
    result = [event for event in events if event["type"] == "result"][0]
    periodic = [event for event in events if event.get("reason") == "periodic"]
    assert len(periodic) == result["steps"] // 1000 >= 4
    assert [event["formSteps"] for event in periodic] == [1000 * (k + 1) for k in range(len(periodic))]
    for event in periodic:
        assert event["type"] == "checkpoint" and event["d"] == 1
        assert event["stateId"] == f"state-{event['seq']}"
        assert event["input"] == first and event["form"] == 0
    assert [cp["seq"] for cp in session.checkpoints if cp["reason"] == "periodic"] == [e["seq"] for e in periodic]
    session.close()


def test_record_off_writes_no_step_events(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    session.recorder.record_steps = False
    run(session, "(define x 1) (+ x 1)")
    run(session, '(effect infer.op "short")')
    events = events_of(session)
    assert not any(event["type"] == "step" for event in events)
    assert [event["record"] for event in events if event["type"] == "input"] == [False, False]
    assert any(event["type"] == "effect" for event in events)
    session.recorder.record_steps = True
    run(session, "x")
    last_input = [event for event in events_of(session) if event["type"] == "input"][-1]
    assert "record" not in last_input
    assert events_of(session)[-3]["type"] == "step"
    session.close()


def test_one_write_per_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = open_session(make_config(tmp_path))
    fd = session._writer._fd  # type: ignore[union-attr]
    writes: list[int] = []
    real_write = os.write

    def counting_write(target: int, data: Any) -> int:
        if target == fd:
            writes.append(len(data))
        return real_write(target, data)

    monkeypatch.setattr(os, "write", counting_write)
    size_before = session.paths.log.stat().st_size
    run(session, '(define a 1) (define b (effect infer.op "short")) (display b) (+ a 1)')
    assert len(writes) == 1
    assert writes[0] == session.paths.log.stat().st_size - size_before
    assert len(events_of(session)) > 10  # many events, one write
    run(session, "(car 1)")
    assert len(writes) == 2
    session.flush(force_index=True)  # derived files are written elsewhere
    assert len(writes) == 2
    session.close()


def test_input_is_in_the_log_when_execute_returns(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    run(session, "(define x 42)")
    # no flush, no close: the log alone already holds the input and its result
    assert [event["type"] for event in events_of(session)] == ["input", "step", "result", "checkpoint"]
    session.close()


def test_seq_has_no_gaps(tmp_path: Path) -> None:
    config = make_config(tmp_path, session=SessionConfig(periodic_checkpoint_steps=1000),
                         language=LanguageConfig(slice_steps=500))
    session = open_session(config)
    for code in ["(define n 0)", "(car 1)", '(effect infer.op "short")', "(define (f i) (if (= i 0) 0 (f (- i 1))))",
                 "(f 800)", "(+ 1", "(define a 1) (define b 2)"]:
        run(session, code)
    session.recorder.record_steps = False
    run(session, "(f 10)")
    session.goto(5)
    run(session, "(+ n 1)")
    seqs = [event["seq"] for event in events_of(session)]
    assert seqs == list(range(len(seqs)))
    assert session.next_seq == len(seqs)
    session.close()


# --- reopening ---------------------------------------------------------------------------------


PROGRAM = [
    "(define x 10)",
    "(define (square n) (* n n))",
    "(car 5)",
    "(define lst (list 1 2 3))",
    '(define msg (effect infer.op "short"))',
    "(set! x (square x))",
    "(define h (make-hash))",
    '(hash-set! h "k" x)',
]
NAMES = ["x", "square", "lst", "msg", "h"]


def record_program(config: Config, name: str = "t") -> tuple[int, dict[str, str | None]]:
    session = open_session(config, name)
    for code in PROGRAM:
        run(session, code)
    expected = (session.next_seq, globals_of(session, NAMES))
    session.close()
    return expected


def check_reopened(config: Config, expected: tuple[int, dict[str, str | None]], name: str = "t") -> RecordedSession:
    session = open_session(config, name)
    assert session.next_seq == expected[0]
    assert globals_of(session, NAMES) == expected[1]
    assert run(session, '(list x (square 3) (hash-ref h "k" 0) msg)') == ['=> (100 9 100 "brief")']
    return session


def test_close_and_reopen_same_seq_and_values(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    assert expected[1]["x"] == "100"
    session = check_reopened(config, expected)
    assert session.warnings == []
    seqs = [event["seq"] for event in events_of(session)]
    assert seqs == list(range(len(seqs)))
    session.close()


def test_reopen_never_asks_the_oracle(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    (config.sessions_dir / "t.states.ndjson").unlink()  # force a replay of every input, effect included
    oracle = CountingOracle(ScriptedOracle(Path(config.oracle.script), config.oracle.fallback_answer))
    host = EffectHost(config.oracle, config.effects, oracle_factory=lambda: oracle)
    session = open_session(config, effects=host)
    assert globals_of(session, NAMES) == expected[1]
    assert oracle.calls == 0
    session.close()


def test_torn_last_line_is_cut_with_a_warning(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    log = config.sessions_dir / "t.jsonl"
    good = log.read_bytes()
    with open(log, "ab") as handle:
        handle.write(b'{"seq":%d,"ts":1795293215496,"type":"inp' % expected[0])
    session = check_reopened(config, expected)
    assert any("torn" in warning for warning in session.warnings), session.warnings
    events = events_of(session)
    assert log.read_bytes().startswith(good)
    assert events[len(good.splitlines()) - 1]["seq"] == expected[0]  # the next input got the right seq
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(len(seqs)))
    session.close()


def test_corrupted_index_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    index_path = config.sessions_dir / "t.index.json"
    index_path.write_bytes(os.urandom(64) + b"\x00\xff garbage")
    session = check_reopened(config, expected)
    assert any("index" in warning and "rebuilt" in warning for warning in session.warnings), session.warnings
    session.close()
    index = load_index(index_path)
    assert index is not None and index["eventCount"] == session.next_seq
    assert index["sessionId"] == "t"
    assert len(index["receipts"]) == 1


def test_truncated_index_json_is_rebuilt(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    index_path = config.sessions_dir / "t.index.json"
    index_path.write_bytes(index_path.read_bytes()[:40])
    session = check_reopened(config, expected)
    assert session.warnings and "index" in session.warnings[0]
    session.close()


def test_deleted_index_is_rebuilt(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    index_path = config.sessions_dir / "t.index.json"
    index_path.unlink()
    session = check_reopened(config, expected)
    assert [cp["seq"] for cp in session.checkpoints] == [
        event["seq"] for event in events_of(session) if event["type"] == "checkpoint"
    ][: len(session.checkpoints)]
    session.close()
    index = load_index(index_path)
    assert index is not None and index["eventCount"] == session.next_seq


def test_deleted_index_gives_a_warning(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    (config.sessions_dir / "t.index.json").unlink()
    session = check_reopened(config, expected)
    assert any("index" in warning for warning in session.warnings)
    session.close()


CRASHING_WRITER = textwrap.dedent(
    """
    import dataclasses, os, sys
    from pathlib import Path
    from omega_core.config import Config, OracleConfig
    from omega_core.session.recorded import RecordedSession
    config = dataclasses.replace(Config(), session_dir=sys.argv[1], oracle=OracleConfig(script=sys.argv[2]))
    session = RecordedSession.open(config.sessions_dir, "t", config)
    for code in sys.argv[3:]:
        session.execute(code)
    session.flush_states()  # states appended, index NOT rewritten (it lags by design)
    os._exit(0)  # dies without close: no final index, no meta update
    """
)


def test_index_lagging_the_log_after_a_crash(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected_first = record_program(config)  # closed properly: index at expected_first[0]
    more = ["(set! x (+ x 1))", "(define late (square 7))", '(define msg2 (effect infer.op "short"))']
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, config.session_dir, config.oracle.script, *more],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    meta = config.sessions_dir / "t.meta.json"
    if meta.exists():
        meta.unlink()
    index = load_index(config.sessions_dir / "t.index.json")
    assert index is not None and index["eventCount"] == expected_first[0]  # the index lags
    session = open_session(config)
    assert any("lags" in warning for warning in session.warnings), session.warnings
    events = events_of(session)
    assert session.next_seq == len(events) > expected_first[0]
    assert globals_of(session, ["x", "late", "msg2"]) == {"x": "101", "late": "49", "msg2": '"brief"'}
    # every checkpoint of the lagging part is known again, and its state is usable
    assert [cp["seq"] for cp in session.checkpoints] == [e["seq"] for e in events if e["type"] == "checkpoint"]
    assert not [w for w in session.warnings if "unusable" in w]
    session.goto(events[-1]["seq"] - 4)
    session.close()
    index = load_index(config.sessions_dir / "t.index.json")
    assert index is not None and index["eventCount"] == session.next_seq


def test_deleted_states_file_replays_from_the_log(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    expected = record_program(config)
    (config.sessions_dir / "t.states.ndjson").unlink()
    session = check_reopened(config, expected)
    session.close()


def test_deleted_states_file_then_more_inputs_then_goto(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = open_session(config)
    run(session, "(define a 1)")  # manual checkpoint at seq 3
    session.close()
    (config.sessions_dir / "t.states.ndjson").unlink()
    session = open_session(config)
    run(session, "(define b 2)")
    session.close()
    session = open_session(config)
    session.goto(3)
    assert globals_of(session, ["a", "b"]) == {"a": "1", "b": None}
    session.close()


def test_flush_writes_states_and_index_is_throttled(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = open_session(config)
    run(session, "(define a 1)")
    session.flush()
    states = config.sessions_dir / "t.states.ndjson"
    assert states.exists() and states.stat().st_size > 0
    assert not session.states.pending
    session.flush(force_index=True)
    index = load_index(session.paths.index)
    assert index is not None and index["eventCount"] == session.next_seq and index["sessionId"] == "t"
    assert index["checkpoints"] == [{"seq": 3, "byteOffset": index["checkpoints"][0]["byteOffset"],
                                     "stateId": "state-3", "reason": "manual"}]
    offset = index["checkpoints"][0]["byteOffset"]
    with open(session.paths.log, "rb") as handle:
        handle.seek(offset)
        assert json.loads(handle.readline())["seq"] == 3
    session.close()


def test_index_rewrites_are_limited_to_one_per_interval(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, index_interval_ms=60_000))
    session = open_session(config)
    run(session, "(define a 1)")
    first = session.index_job()
    assert first is not None  # the first one is not held back
    first()
    written = load_index(session.paths.index)["eventCount"]
    for k in range(50):
        run(session, f"(set! a {k})")
    assert session.index_job() is None  # grown far past 5%, but the interval has not passed
    assert session.needs_persisting  # so the server keeps coming back for it
    assert load_index(session.paths.index)["eventCount"] == written
    forced = session.index_job(force=True)  # closing or evicting does not wait
    assert forced is not None
    forced()
    assert load_index(session.paths.index)["eventCount"] == session.next_seq
    session.flush_states()
    assert not session.needs_persisting
    session.last_index_time -= 61.0  # the interval passed
    for k in range(10):
        run(session, f"(set! a {k})")  # and the log grew by 5% again
    assert session.index_job() is not None
    session.close()


# --- size and speed of the states (the 200-input session) -------------------------------


def test_two_hundred_inputs_stay_small_and_fast(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    session = open_session(config)
    started = time.perf_counter()
    for n in range(50):
        session.execute(f"(define (f{n} x) (+ x {n}))")
        session.flush()
    for k in range(150):
        results = session.execute(f"(f{k % 50} {k})")
        assert results[0].value == str(k + k % 50)
        session.flush()
    session.close()
    elapsed = time.perf_counter() - started
    directory = config.sessions_dir
    sizes = {name: (directory / f"t{suffix}").stat().st_size
             for name, suffix in (("log", ".jsonl"), ("index", ".index.json"), ("states", ".states.ndjson"))}
    total = sum(sizes.values())
    lines = (directory / "t.states.ndjson").read_bytes().splitlines()
    state_lines = [line for line in lines if "stateId" in json.loads(line)]  # records lines have none
    deltas = state_lines[1:]  # shared states: every capture after the first writes only what changed
    reopened = open_session(config)
    full = len(dumps_state(reopened.machine))
    reopened.close()
    print(f"\n200 inputs: {elapsed:.3f} s, files {sizes} (total {total} bytes), {len(state_lines)} states, "
          f"last delta {len(deltas[-1])} bytes, full state {full} bytes")
    assert elapsed < 10
    assert total < 5 * 1024 * 1024
    assert len(state_lines) == 200
    assert len(deltas[-1]) < full / 2


def test_delta_size_does_not_grow_with_unchanged_globals(tmp_path: Path) -> None:
    """A call that defines nothing stores about the same delta with 50 or 500 unchanged globals."""
    sizes = {}
    for count in (50, 500):
        (tmp_path / str(count)).mkdir()
        config = make_config(tmp_path / str(count))
        session = open_session(config)
        for n in range(count):
            session.execute(f"(define (f{n} x) (+ x {n}))")
        session.execute("(f0 1)")
        session.execute("(f1 2)")
        session.flush()
        lines = (config.sessions_dir / "t.states.ndjson").read_bytes().splitlines()
        last = lines[-1]
        assert "snap" not in json.loads(last)["state"]["ov"]
        sizes[count] = len(last) + (len(lines[-2]) if "recordsOf" in json.loads(lines[-2]) else 0)
        session.close()
    assert sizes[500] < 2 * sizes[50], sizes


def test_goto_out_of_range_is_an_error(tmp_path: Path) -> None:
    session = open_session(make_config(tmp_path))
    run(session, "(define a 1)")
    size = session.paths.log.stat().st_size
    with pytest.raises(OmegaError, match="no event 4 in session 't'"):
        session.goto(4)
    with pytest.raises(OmegaError):
        session.goto(-1)
    assert session.paths.log.stat().st_size == size and session.next_seq == 4
    session.close()
