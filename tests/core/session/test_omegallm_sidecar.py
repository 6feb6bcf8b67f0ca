"""Sessions written by OmegaLLM: Omega's own states of their inputs in a sidecar (replay_sidecar.py).

The first replay of an OmegaLLM session captures the machine after each of its inputs into
``<name>.replay.ndjson``; later opens and gotos start from there. The sidecar is a cache: stale or
damaged, it is ignored and rebuilt, and results never depend on it. OmegaLLM's files are not
written for it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config, load_config
from omega_core.lang.builtins import base_globals
from omega_core.lang.printer import write_string
from omega_core.session import replay as replay_module
from omega_core.session.copying import delete_session_files
from omega_core.session.recorded import RecordedSession
from omega_core.session.replay import Replayer, StartKind
from omega_core.session.replay_sidecar import ReplaySidecar, sidecar_path

FIXTURES = Path("/work/shared/fixtures/omegallm-sessions")
NAMES = ("squares", "errors", "effects_mock")


@pytest.fixture(autouse=True)
def state_after_every_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures have 4 to 7 inputs: a state after each makes every goto start from one."""
    monkeypatch.setattr(replay_module, "SIDECAR_EVERY", 1)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    env = {"OMEGA_SESSION_DIR": str(tmp_path / "sd"), "OMEGA_RUNTIME_DIR": str(tmp_path / "run"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_config(environ=env, cwd=tmp_path)
    config.sessions_dir.mkdir(parents=True)
    for path in FIXTURES.iterdir():
        if path.name != "README.md":
            shutil.copyfile(path, config.sessions_dir / path.name)
    return config


def open_session(config: Config, name: str) -> RecordedSession:
    return RecordedSession.open(config.sessions_dir, name, config)


def user_state(machine: Any) -> dict[str, str]:
    """What a user sees of a machine: every global that is not a builtin, printed."""
    builtins = base_globals()
    return {name: write_string(value) for name, value in machine.globals.items()
            if name not in builtins or builtins[name] is not value}


def input_seqs(log: Path) -> list[int]:
    return [event["seq"] for event in map(json.loads, log.read_text().splitlines()) if event.get("type") == "input"]


def digests(directory: Path, name: str) -> dict[str, str]:
    return {suffix: hashlib.sha256((directory / f"{name}{suffix}").read_bytes()).hexdigest()
            for suffix in (".jsonl", ".index.json")}


def test_the_first_open_writes_the_sidecar_and_later_ones_replay_nothing(config: Config) -> None:
    session = open_session(config, "effects_mock")
    session.close()
    path = sidecar_path(config.sessions_dir / "effects_mock.jsonl")
    assert path.exists()
    assert ReplaySidecar(config.sessions_dir / "effects_mock.jsonl").seqs == [0, 4, 14, 18, 22]
    session = open_session(config, "effects_mock")
    try:
        for target in (3, 12, 20, 31):
            replayer = Replayer(session)
            replayer.state_at(target)
            assert replayer.start_kind is StartKind.SIDECAR
            assert replayer.inputs_run == 0, f"goto {target} replayed {replayer.inputs_run} input(s)"
        report = session.goto(12)
        assert report.startswith("Jumped to seq 12 (replayed 0 input(s), 0 step(s), 0 receipt(s) used)")
        assert '"mock:infer.op"' in report
        assert session.warnings == []
    finally:
        session.close()


@pytest.mark.parametrize("name", NAMES)
def test_goto_results_are_the_same_with_and_without_the_sidecar(config: Config, name: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    session = open_session(config, name)
    try:
        with_sidecar = {seq: user_state(Replayer(session).state_at(seq)[0]) for seq in range(session.next_seq)}
        with monkeypatch.context() as patch:
            patch.setattr(replay_module, "sidecar_of", lambda session: None)
            without = {}
            for seq in range(session.next_seq):
                replayer = Replayer(session)
                without[seq] = user_state(replayer.state_at(seq)[0])
                assert replayer.start_kind is StartKind.SCRATCH
    finally:
        session.close()
    assert with_sidecar == without
    assert any(with_sidecar.values())


def test_omegallm_files_are_unchanged_by_open_goto_and_close(config: Config) -> None:
    before = {name: digests(config.sessions_dir, name) for name in NAMES}
    for _ in range(2):  # the first pass writes the sidecars, the second uses them
        for name in NAMES:
            session = open_session(config, name)
            try:
                for seq in range(0, session.next_seq, 3):
                    session.prepare_goto(seq)  # what a goto computes; only the jump record is written
            finally:
                session.close()
    assert {name: digests(config.sessions_dir, name) for name in NAMES} == before


def test_a_sidecar_of_another_log_is_ignored_and_rebuilt(config: Config) -> None:
    session = open_session(config, "squares")
    session.close()
    directory = config.sessions_dir
    for suffix in (".jsonl", ".index.json"):  # another session saved under the same name
        shutil.copyfile(FIXTURES / f"errors{suffix}", directory / f"squares{suffix}")
    session = open_session(config, "squares")
    try:
        assert any("belongs to another version of the log" in warning for warning in session.warnings)
        assert session.execute("(+ x 1)")[0].value == "11"  # errors' definitions, not squares'
    finally:
        session.close()
    sidecar = ReplaySidecar(directory / "squares.jsonl")
    assert sidecar.problem is None and sidecar.seqs == input_seqs(FIXTURES / "errors.jsonl")


def test_a_sidecar_whose_anchor_no_longer_matches_the_log_is_not_used(config: Config) -> None:
    session = open_session(config, "squares")
    session.close()
    log = config.sessions_dir / "squares.jsonl"
    path = sidecar_path(log)
    lines = path.read_bytes().splitlines(keepends=True)
    anchors = [i for i, line in enumerate(lines) if line.startswith(b'{"anchor":12,')]
    line = lines[anchors[0]]  # the input there "changed": its code's CRC differs (same length of line)
    lines[anchors[0]] = line[:-3] + (b"1" if line[-3:-2] != b"1" else b"2") + line[-2:]
    path.write_bytes(b"".join(lines))
    session = open_session(config, "squares")
    try:
        replayer = Replayer(session)
        machine, _ = replayer.state_at(14)
        assert replayer.start_kind is StartKind.SIDECAR and replayer.inputs_run == 1  # from the state after 8
        assert user_state(machine)["sum-of-squares"] == "<closure (a b)>"
        assert any("does not match the log" in warning for warning in session.warnings)
    finally:
        session.close()


@pytest.mark.parametrize("damage", ["garbage line", "torn tail", "bad first line", "bad state"])
def test_a_damaged_sidecar_never_changes_results(config: Config, damage: str) -> None:
    session = open_session(config, "effects_mock")
    expected = {seq: user_state(Replayer(session).state_at(seq)[0]) for seq in range(session.next_seq)}
    session.close()
    path = sidecar_path(config.sessions_dir / "effects_mock.jsonl")
    data = path.read_bytes()
    if damage == "garbage line":
        first_end = data.index(b"\n") + 1
        data = data[:first_end] + b"{not json at all\n" + data[first_end:]
    elif damage == "torn tail":
        data = data[:-20]
    elif damage == "bad first line":
        data = b'{"omegaReplay":99}\n' + data[data.index(b"\n") + 1:]
    else:
        data = data.replace(b'"format":"omega-delta/3"', b'"format":"omega-delta/0"')
    path.write_bytes(data)
    session = open_session(config, "effects_mock")
    try:
        got = {seq: user_state(Replayer(session).state_at(seq)[0]) for seq in range(session.next_seq)}
        assert session.execute("(double 21)")[0].value == "42"
    finally:
        session.close()
    assert got == expected


def test_a_damaged_sidecar_is_replaced_by_a_sound_one(config: Config) -> None:
    session = open_session(config, "squares")
    session.close()
    path = sidecar_path(config.sessions_dir / "squares.jsonl")
    path.write_bytes(b"not a sidecar\n")
    session = open_session(config, "squares")
    session.close()
    sidecar = ReplaySidecar(config.sessions_dir / "squares.jsonl")
    assert sidecar.problem is None and sidecar.seqs == [0, 4, 8, 12]


def test_new_inputs_after_an_omegallm_session_keep_working_across_reopens(config: Config) -> None:
    session = open_session(config, "squares")
    assert session.execute("(define (cube x) (* x (square x)))")[0].value == "cube"
    session.goto(7)
    session.close()
    session = open_session(config, "squares")
    try:
        assert session.execute("(square 3)")[0].value == "9"
        assert session.execute("cube")[0].error is not None  # the session is at the jump to seq 7
        report = session.goto(18)  # the result of the cube input (Omega's own, replayed seq for seq)
        assert report.startswith("Jumped to seq 18") and report.endswith("=> cube")
        assert session.execute("(cube 2)")[0].value == "8"
    finally:
        session.close()


def test_by_default_a_state_follows_every_fourth_input_and_the_last(config: Config,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "SIDECAR_EVERY", 4)
    session = open_session(config, "errors")
    try:
        inputs = input_seqs(FIXTURES / "errors.jsonl")
        sidecar = replay_module.sidecar_of(session)
        assert sidecar is not None and sidecar.seqs == [inputs[3], inputs[-1]]
        for target in range(session.next_seq):
            replayer = Replayer(session)
            replayer.state_at(target)
            assert replayer.inputs_run <= 3
    finally:
        session.close()


def test_deleting_a_session_deletes_its_sidecar(config: Config) -> None:
    open_session(config, "squares").close()
    path = sidecar_path(config.sessions_dir / "squares.jsonl")
    assert path.exists()
    assert path in delete_session_files(config.sessions_dir, "squares")
    assert not path.exists()


def test_restores_share_compiled_code_but_not_machines(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.lang import restore_shared

    compiled: list[str] = []
    real_compile = restore_shared.compile_unit

    def counting_compile(datum: Any, unit_id: str) -> Any:
        compiled.append(unit_id)
        return real_compile(datum, unit_id)

    monkeypatch.setattr(restore_shared, "compile_unit", counting_compile)
    monkeypatch.setattr(restore_shared, "_UNIT_CACHE", {})
    session = open_session(config, "squares")
    try:
        first = Replayer(session).state_at(15)[0]
        assert compiled  # the first restore compiles the functions' code
        compiled.clear()
        second = Replayer(session).state_at(15)[0]
        assert compiled == []  # the second one reuses it
        assert first.globals is not second.globals  # (a top-level closure may be shared: it never changes)
        assert user_state(first) == user_state(second)
        first.globals["square"] = first.globals["sum-of-squares"]
        assert user_state(second)["square"] == "<closure (x)>"
    finally:
        session.close()
