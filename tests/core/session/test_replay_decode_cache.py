"""Restores from an OmegaLLM session's sidecar share the objects no program can change
(``restore_cache.DecodeCache``, kept per sidecar file in ``replay_sidecar_read``).

A goto decodes only what the previous restores did not: pairs, strings and top-level closures are
handed from one restore to the next. Environments, hash tables and anything reaching them are
decoded afresh each time, so running code after a goto (``hash-set!``, ``set!`` of a closure's
variable or of a global) never changes what a later goto finds. Every goto is checked against a
replay from event 0 (no sidecar).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from omega_core.config import Config, load_config
from omega_core.lang.builtins import base_globals
from omega_core.lang.printer import write_string
from omega_core.lang.values import Pair
from omega_core.session import replay as replay_module
from omega_core.session import replay_sidecar_read
from omega_core.session.recorded import RecordedSession
from omega_core.session.replay import Replayer, StartKind
from omega_core.session.replay_sidecar import sidecar_path
from tests.core.session.omegallm_writer import write_omegallm_session

NAME = "mutating"
PROBE = ("(list (g0 10) (g1 10) (g2 10) (h) (hash-ref table 3 #f) (hash-ref table 11 #f) (hash-count table) "
         "shared (car holder) peek (car big) (car (cdr (cdr big))))")
"""What a user would look at after a goto (no side effects): calls the top-level closures and the
closure over a local environment, reads the hash table and the lists."""


def program() -> list[str]:
    """OmegaLLM inputs mixing immutable values with mutated ones, mutated between checkpoints."""
    codes = [
        "(define table (make-hash))",
        "(define (make-counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n)))",
        "(define counter (make-counter))",
        "(define shared (list 1 2 (list 3 \"four\")))",
        "(define holder (list 0))",
        "(define peek 0)",
        "(define (g0 x) x)", "(define (g1 x) x)", "(define (g2 x) x)", "(define h (lambda () 0))",
        # a records line far longer than a read block of the sidecar (64 KB)
        "(define big (let loop ((i 0) (acc '())) (if (= i 2000) acc (loop (+ i 1) (cons (list i \"b\") acc)))))",
    ]
    for i in range(24):
        codes.append(f"(hash-set! table {i % 13} (list {i} \"s{i}\"))")
        codes.append("(set! peek (counter))")
        codes.append(f"(set! shared (cons {i} shared))")
        codes.append(f"(define (g{i % 3} x) (+ x {i}))")
        codes.append(f"(define h (let ((k {i})) (lambda () (set! k (+ k 1)) k)))" if i % 2 else f"(define h (lambda () {i}))")
        if i % 5 == 0:
            codes.append("(define holder (list table shared))")
    return codes


@pytest.fixture
def config(tmp_path: Path) -> Config:
    env = {"OMEGA_SESSION_DIR": str(tmp_path / "sd"), "OMEGA_RUNTIME_DIR": str(tmp_path / "run"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    config = load_config(environ=env, cwd=tmp_path)
    write_omegallm_session(config.sessions_dir, NAME, program())
    return config


def open_session(config: Config) -> RecordedSession:
    return RecordedSession.open(config.sessions_dir, NAME, config)


def user_state(machine: Any) -> dict[str, str]:
    builtins = base_globals()
    return {name: write_string(value) for name, value in machine.globals.items()
            if name not in builtins or builtins[name] is not value}


def reference_states(config: Config, targets: list[int], monkeypatch: pytest.MonkeyPatch) -> dict[int, tuple[dict[str, str], str]]:
    """(globals printed, probe printed) at each target, replayed from event 0 without any sidecar."""
    session = open_session(config)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(replay_module, "sidecar_of", lambda session: None)
            found = {}
            for target in targets:
                session.goto(target)
                assert session.machine is not None
                state = user_state(session.machine)
                found[target] = (state, probe(session))
        return found
    finally:
        session.close()


def probe(session: RecordedSession) -> str:
    """The probe's printed value or error (early seqs lack some globals), evaluated on the
    session's machine (recorded as a new input)."""
    results = session.execute(PROBE)
    assert len(results) == 1
    return results[0].value if results[0].error is None else f"error: {results[0].error}"


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no shared caches (the module keeps those of recent sidecars)."""
    monkeypatch.setattr(replay_sidecar_read, "_FILE_CACHES", type(replay_sidecar_read._FILE_CACHES)())


@pytest.mark.parametrize("warm_units", [None, 0, 5])
def test_gotos_equal_a_replay_from_scratch_even_after_mutating_what_they_restored(
        config: Config, monkeypatch: pytest.MonkeyPatch, warm_units: int | None) -> None:
    """With no warm-up at open (None), one cut short (5 functions), and a full one (0: no bound)."""
    if warm_units is None:
        monkeypatch.setattr(replay_module, "warm_caches", lambda sidecar: 0)
    elif warm_units:
        monkeypatch.setattr(replay_sidecar_read, "WARM_UNITS", warm_units)
    open_session(config).close()  # the first open replays everything and fills the sidecar
    session = open_session(config)
    try:
        count = session.next_seq
    finally:
        session.close()
    targets = random.Random(5).sample(range(count - 1), 10) + [count - 1, 40]
    expected = reference_states(config, targets, monkeypatch)
    session = open_session(config)
    try:
        for target in targets:
            session.goto(target)
            assert session.machine is not None
            assert user_state(session.machine) == expected[target][0], target
            assert probe(session) == expected[target][1], target
            # mutate everything mutable the restore handed over: a later goto must not see it
            session.execute("(hash-set! table 3 \"changed\") (hash-set! table 99 1) (counter) (counter) "
                            "(h) (set! shared (list \"gone\")) (define (g0 x) 'changed)")
        hits = sum(caches.decoded.hits for caches in replay_sidecar_read._FILE_CACHES.values())
        assert hits > 0  # restores did share objects
    finally:
        session.close()


def test_two_restores_share_immutable_objects_and_copy_mutable_ones(config: Config) -> None:
    open_session(config).close()
    session = open_session(config)
    try:
        target = session.next_seq - 1
        first = Replayer(session).state_at(target)[0]
        second_replayer = Replayer(session)
        second = second_replayer.state_at(target)[0]
        assert second_replayer.start_kind is StartKind.SIDECAR
        a, b = first.globals, second.globals
        assert a["shared"] is b["shared"]  # a list of numbers and strings: never changes
        assert a["g0"] is b["g0"]  # a top-level closure: never changes
        assert a["table"] is not b["table"]  # hash tables change
        assert a["counter"] is not b["counter"]  # its environment changes (set! n)
        assert a["h"] is not b["h"]
        # a list reaching a hash table is the machine's own, and reaches that machine's table
        assert a["holder"] is not b["holder"]
        assert isinstance(a["holder"], Pair) and a["holder"].car is a["table"]
        assert b["holder"].car is b["table"]
    finally:
        session.close()


def test_a_session_opened_again_finds_the_cache_warm_and_a_new_sidecar_a_new_one(config: Config) -> None:
    open_session(config).close()
    session = open_session(config)
    try:
        caches = replay_module.sidecar_of(session).caches  # type: ignore[union-attr]
        Replayer(session).state_at(40)
    finally:
        session.close()
    session = open_session(config)
    try:
        assert replay_module.sidecar_of(session).caches is caches  # type: ignore[union-attr]
        before = caches.decoded.hits
        Replayer(session).state_at(40)
        assert caches.decoded.hits > before
    finally:
        session.close()
    sidecar_path(config.sessions_dir / f"{NAME}.jsonl").unlink()
    open_session(config).close()  # rebuilt: a new generation of the file
    session = open_session(config)
    try:
        assert replay_module.sidecar_of(session).caches is not caches  # type: ignore[union-attr]
    finally:
        session.close()


def test_an_open_warms_the_cache_so_a_first_goto_decodes_and_compiles_nothing_new(
        config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.lang import restore_shared

    open_session(config).close()
    compiled: list[str] = []
    real_compile = restore_shared.compile_unit

    def counting_compile(datum: Any, unit_id: str) -> Any:
        compiled.append(unit_id)
        return real_compile(datum, unit_id)

    monkeypatch.setattr(restore_shared, "compile_unit", counting_compile)
    monkeypatch.setattr(restore_shared, "_UNIT_CACHE", {})
    monkeypatch.setattr(replay_sidecar_read, "_FILE_CACHES", type(replay_sidecar_read._FILE_CACHES)())
    session = open_session(config)
    try:
        caches = replay_module.sidecar_of(session).caches  # type: ignore[union-attr]
        assert caches.warmed and len(caches.decoded) > 2000  # every function, list and string
        assert compiled
        compiled.clear()
        before = caches.decoded.hits
        replayer = Replayer(session)
        replayer.state_at(60)
        assert replayer.start_kind is StartKind.SIDECAR
        assert compiled == [] and caches.decoded.hits > before
    finally:
        session.close()


def test_a_sidecar_rewritten_in_place_under_the_same_generation_is_read_again(config: Config) -> None:
    """The caches name a capture by its lines' offset and CRC: other bytes at the same offset (a
    backup copied back over the file while the process runs) are decoded anew, never taken for
    what was cached."""
    write_omegallm_session(config.sessions_dir, "small", ["(define (f x) x)", '(define s (list "alpha" 1))',
                                                          "(define t 2)"])
    RecordedSession.open(config.sessions_dir, "small", config).close()
    path = sidecar_path(config.sessions_dir / "small.jsonl")
    session = RecordedSession.open(config.sessions_dir, "small", config)
    try:
        assert Replayer(session).state_at(11)[0].globals["s"].car == "alpha"
    finally:
        session.close()
    data = path.read_bytes()
    assert data.count(b'"alpha"') == 1
    path.write_bytes(data.replace(b'"alpha"', b'"omega"'))  # same length, same key line, same inode
    session = RecordedSession.open(config.sessions_dir, "small", config)
    try:
        replayer = Replayer(session)
        assert replayer.state_at(11)[0].globals["s"].car == "omega"
        assert replayer.start_kind is StartKind.SIDECAR
    finally:
        session.close()
