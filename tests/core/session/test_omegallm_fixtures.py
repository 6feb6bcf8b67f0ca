"""OmegaLLM's own session files, through the REPL command processor (see the fixtures' README)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import load_config
from omega_core.effects import EffectHost
from omega_core.oracle import OracleAnswer
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")


class CountingOracle:
    model = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def ask(self, prompt: str, samples: int = 1) -> OracleAnswer:
        self.calls += 1
        return OracleAnswer(texts=("live answer",) * samples, model=self.model, tokens=None, duration_ms=0)


@pytest.fixture
def sessions_dir() -> Path:
    config = load_config()
    target = config.sessions_dir
    target.mkdir(parents=True, exist_ok=True)
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            shutil.copyfile(path, target / path.name)
    return target


@pytest.fixture
def oracle() -> CountingOracle:
    return CountingOracle()


@pytest.fixture
def repl(sessions_dir: Path, oracle: CountingOracle) -> Any:
    config = load_config()
    state = ReplState.open(config, effects=EffectHost(config.oracle, config.effects, oracle_factory=lambda: oracle))
    holder = {"state": state}

    def run(line: str) -> str:
        holder["state"], output, should_exit = process(holder["state"], line)
        assert not should_exit
        return output

    yield run
    holder["state"].close()


def test_session_list_shows_the_three_sessions(repl: Any) -> None:
    lines = repl(":session list").splitlines()
    for expected in ("  squares (16 events, 4 checkpoints)", "  errors (26 events, 5 checkpoints)",
                     "  effects_mock (32 events, 9 checkpoints)"):
        assert expected in lines
    assert "  current (0 events, 0 checkpoints)" in lines
    assert len(lines) == 4


def test_load_squares(repl: Any) -> None:
    assert repl(":session load squares") == "Loaded session 'squares' (16 events)"
    assert repl(":session checkpoints") == "\n".join(
        f"  [{seq:03d}] manual (state: state-{seq})" for seq in (3, 7, 11, 15))
    assert repl("(square 5)") == "=> 25"
    assert repl("(sum-of-squares 1 2)") == "=> 5"


def test_trace_of_squares(repl: Any) -> None:
    repl(":session load squares")
    lines = repl(":session trace").splitlines()
    assert len(lines) == 16
    assert lines[0] == "  [000] input      (define (square x) (* x x))"
    assert lines[1] == "  [001] step       (define (square x) (* x x))"
    assert lines[2] == "  [002] result     square"
    assert lines[3] == "  [003] checkpoint manual (state-3)"
    assert lines[-2] == "  [014] result     25"
    assert lines[-1] == "  [015] checkpoint manual (state-15)"
    assert repl(":session trace 2").splitlines() == lines[-2:]
    verbose = repl(":session trace -v 1").splitlines()
    assert len(verbose) == 1
    assert json.loads(verbose[0]) == {"seq": 15, "ts": json.loads(verbose[0])["ts"], "type": "checkpoint",
                                      "d": 0, "reason": "manual", "stateId": "state-15"}


def test_effects_mock_is_answered_from_receipts(repl: Any, oracle: CountingOracle) -> None:
    assert repl(":session load effects_mock") == "Loaded session 'effects_mock' (32 events)"
    assert oracle.calls == 0
    assert repl("topic") == '=> "recursion"'
    assert repl("(double 4)") == "=> 8"
    out = repl(":session goto 12")
    assert out.startswith("Jumped to seq 12 ")
    assert '"mock:infer.op"' in out
    assert "receipt(s) used" in out
    out = repl(":session goto 30")
    assert '"mock:infer.op"' in out
    assert oracle.calls == 0
    checkpoints = repl(":session checkpoints").splitlines()
    assert "  [005] llm_boundary (state: state-5)" in checkpoints
    assert "  [010] llm_boundary (state: state-10)" in checkpoints


def test_effects_mock_replayed_effect_values_are_the_recorded_answers(repl: Any, oracle: CountingOracle) -> None:
    repl(":session load effects_mock")
    repl(":session goto 13")  # after the first effect's input
    trace = repl(":session trace 1")
    assert "jump to 13" in trace
    assert oracle.calls == 0


def test_errors_session(repl: Any, oracle: CountingOracle) -> None:
    assert repl(":session load errors") == "Loaded session 'errors' (26 events)"
    assert repl("(+ x 1)") == "=> 11"
    assert repl("(safe-div 10 4)") == "=> 2.5"
    assert repl("(safe-div 10 0)") == '=> "div-by-zero"'
    checkpoints = repl(":session checkpoints").splitlines()
    assert checkpoints[:5] == [f"  [{seq:03d}] manual (state: state-{seq})" for seq in (3, 13, 17, 21, 25)]
    assert oracle.calls == 0


def test_reloading_a_foreign_session_after_new_inputs(repl: Any) -> None:
    repl(":session load squares")
    assert repl("(define (cube x) (* x (square x)))") == "=> cube"
    repl(":session load errors")
    assert repl(":session load squares").startswith("Loaded session 'squares' (")
    assert repl("(cube 3)") == "=> 27"
    assert repl("(square 12)") == "=> 144"


def test_foreign_session_goto_input_boundaries(repl: Any) -> None:
    repl(":session load squares")
    repl(":session goto 3")
    assert repl("(square 3)") == "=> 9"
    assert repl("sum-of-squares").startswith("error: unbound variable")
    repl(":session goto 11")
    assert repl("(sum-of-squares 1 1)") == "=> 2"


def test_listing_ignores_a_huge_states_table(sessions_dir: Path, repl: Any) -> None:
    index_path = sessions_dir / "squares.index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    index["states"]["padding"] = "x" * (10 * 1024 * 1024)
    index_path.write_text(json.dumps(index), encoding="utf-8")
    for meta in sessions_dir.glob("*.meta.json"):
        meta.unlink()
    started = time.perf_counter()
    lines = repl(":session list").splitlines()
    elapsed = time.perf_counter() - started
    assert "  squares (16 events, 4 checkpoints)" in lines
    assert elapsed < 2
