"""Sidecar states are denser where OmegaLLM inputs are heavy (replay.SIDECAR_STEPS): a goto replays a
bounded number of steps after its restore, counted in steps, so the sidecar is the same every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from omega_core.config import Config, load_config
from omega_core.session import replay as replay_module
from omega_core.session.recorded import RecordedSession
from omega_core.session.replay import Replayer, StartKind
from omega_core.session.replay_sidecar import ReplaySidecar, sidecar_path
from tests.core.session.omegallm_writer import write_omegallm_session

NAME = "heavy"
HEAVY = "(define x{n} (let loop ((i 0) (acc 0)) (if (= i 300) acc (loop (+ i 1) (+ acc i)))))"
LIGHT = "(define y{n} {n})"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    env = {"OMEGA_SESSION_DIR": str(tmp_path / "sd"), "OMEGA_RUNTIME_DIR": str(tmp_path / "run"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_config(environ=env, cwd=tmp_path)
    codes = [LIGHT.format(n=n) for n in range(12)] + [HEAVY.format(n=n) for n in range(12)]
    write_omegallm_session(config.sessions_dir, NAME, codes)
    return config


def input_seq(position: int) -> int:
    return 4 * position  # input, step, result, checkpoint per input (omegallm_writer)


def test_heavy_inputs_get_states_by_steps_light_ones_by_count(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "SIDECAR_STEPS", 1_000)  # a heavy input runs about 600
    RecordedSession.open(config.sessions_dir, NAME, config).close()
    seqs = ReplaySidecar(config.sessions_dir / f"{NAME}.jsonl").seqs
    light = [seq for seq in seqs if seq < input_seq(12)]
    heavy = [seq for seq in seqs if seq >= input_seq(12)]
    assert light == [input_seq(3), input_seq(7), input_seq(11)]  # every 4th light input
    assert heavy == [input_seq(position) for position in range(13, 24, 2)]  # every 2nd heavy input
    session = RecordedSession.open(config.sessions_dir, NAME, config)
    try:
        per_input = None
        for position in range(12, 24):
            replayer = Replayer(session)
            machine = replayer.state_at(input_seq(position) + 3)[0]
            assert replayer.start_kind is StartKind.SIDECAR
            assert machine.globals[f"x{position - 12}"] == sum(range(300))
            if replayer.inputs_run == 1:
                per_input = replayer.steps_run
            assert replayer.steps_run <= 1_000 + (per_input or replayer.steps_run)
        assert per_input is not None and 300 < per_input < 1_000
    finally:
        session.close()


def test_the_same_log_gives_the_same_sidecar(config: Config) -> None:
    RecordedSession.open(config.sessions_dir, NAME, config).close()
    path = sidecar_path(config.sessions_dir / f"{NAME}.jsonl")
    first = ReplaySidecar(config.sessions_dir / f"{NAME}.jsonl").seqs
    path.unlink()
    RecordedSession.open(config.sessions_dir, NAME, config).close()
    assert ReplaySidecar(config.sessions_dir / f"{NAME}.jsonl").seqs == first
