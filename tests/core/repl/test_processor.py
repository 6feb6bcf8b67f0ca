"""The REPL command processor: every command's happy path and misuse, and that nothing escapes it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import omega_core.repl.commands  # noqa: F401 - registers every command in COMMANDS
from omega_core.config import LanguageConfig, load_config
from omega_core.repl.processor import COMMANDS, process
from omega_core.repl.state import ReplState
from omega_core.session.names import NAME_RULE

Run = Callable[[str], str]


class Repl:
    """A REPL on session 'A' in the test's session dir; ``repl(line)`` returns the output."""

    def __init__(self, name: str = "A") -> None:
        self.config = load_config()
        self.state = ReplState.open(self.config, name)
        self.exited = False

    def __call__(self, line: str) -> str:
        self.state, output, self.exited = process(self.state, line)
        assert isinstance(output, str)
        assert not output.endswith("\n")
        return output

    @property
    def sessions_dir(self) -> Path:
        return self.config.sessions_dir

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        path = self.sessions_dir / f"{name or self.state.session.name}.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def repl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    r = Repl()
    yield r
    r.state.close()


# --- code --------------------------------------------------------------------------------------


def test_code_lines_print_results(repl: Repl) -> None:
    assert repl("(define x 20)") == "=> x"
    assert repl("(+ x 1)") == "=> 21"
    assert repl('(begin (display "hi") (newline) 5)') == "hi\n=> 5"
    assert repl("(define y 1) (+ y x)") == "=> y\n=> 21"
    assert repl("(car 1)").startswith("error: car: ")
    assert repl("   ") == ""
    assert repl("x") == "=> 20"
    assert not repl.exited


# --- usage lines and unknown commands ----------------------------------------------------------


@pytest.mark.parametrize("line, usage", [
    (":session save", ":session save NAME"),
    (":session fork", ":session fork NAME"),
    (":session load", ":session load NAME"),
    (":session goto", ":session goto SEQ"),
    (":session save a b", ":session save NAME"),
    (":session goto 1 2", ":session goto SEQ"),
    (":session list extra", ":session list"),
    (":session resume now", ":session resume"),
    (":session checkpoints 1 2", ":session checkpoints [all|N]"),
    (":session trace 1 2", ":session trace [-v] [N]"),
    (":session trace -v 1 2", ":session trace [-v] [N]"),
    (":history 1 2", ":history [N]"),
    (":back 1 2", ":back [N]"),
    (":record", ":record on|off"),
    (":dump", ":dump FILE"),
    (":replay", ":replay FILE"),
    (":loadfile", ":loadfile PATH"),
    (":quit now", ":quit"),
])
def test_wrong_argument_count_prints_the_usage_line(repl: Repl, line: str, usage: str) -> None:
    assert repl(line) == f"usage: {usage}"
    assert not repl.exited


@pytest.mark.parametrize("line, shown", [
    (":foo", ":foo"),
    (":session foo", ":session foo"),
    (":sessions list", ":sessions"),
    (":Help", ":Help"),
])
def test_unknown_command(repl: Repl, line: str, shown: str) -> None:
    assert repl(line) == f"error: unknown command {shown} (type :help for the list)"


@pytest.mark.parametrize("command", [":session save", ":session fork", ":session load"])
@pytest.mark.parametrize("name", ["../x", ".hidden", "a/b", "x" * 65, "bad name!"])
def test_invalid_names_are_refused(repl: Repl, command: str, name: str) -> None:
    before = sorted(path.name for path in repl.sessions_dir.iterdir())
    out = repl(f"{command} '{name}'")
    assert out.startswith("error: invalid session name ")
    assert NAME_RULE in out
    assert sorted(path.name for path in repl.sessions_dir.iterdir()) == before
    assert repl.state.session.name == "A"


@pytest.mark.parametrize("line, message", [
    (":session goto x", "error: SEQ must be a whole number, got 'x'"),
    (":session goto -1", "error: SEQ must be 0 or more, got -1"),
    (":session goto 1.5", "error: SEQ must be a whole number, got '1.5'"),
    (":session checkpoints x", "error: N must be a whole number, got 'x'"),
    (":session trace -3", "error: N must be 0 or more, got -3"),
    (":history many", "error: N must be a whole number, got 'many'"),
    (":back two", "error: N must be a whole number, got 'two'"),
    (":back 0", "error: N must be at least 1"),
    (":record maybe", "error: expected on or off, got 'maybe'"),
])
def test_bad_numbers_and_values(repl: Repl, line: str, message: str) -> None:
    assert repl(line) == message


# --- :session list / save / fork / load --------------------------------------------------------


def test_session_list(repl: Repl) -> None:
    assert repl(":session list") == "  A (0 events, 0 checkpoints)"
    repl("(define a 1)")
    repl("(car 1)")
    assert repl(":session list") == "  A (7 events, 1 checkpoints)"
    repl(":session save B")
    assert repl(":session list").splitlines() == ["  A (7 events, 1 checkpoints)", "  B (7 events, 1 checkpoints)"]


def test_session_save_and_isolation(repl: Repl) -> None:
    repl("(define a 1)")
    repl("(define shared 10)")
    assert repl(":session save B") == "Saved session 'A' as 'B' (8 events)"
    assert repl.state.session.name == "A"  # save stays in A
    repl("(define only-in-a 1)")
    assert repl(":session save B") == ("error: a session named 'B' already exists; pick another name or "
                                       "delete it first")
    header = repl.events("B")[0]
    assert header["type"] == "session" and header["id"] == "B"
    index = json.loads((repl.sessions_dir / "B.index.json").read_text(encoding="utf-8"))
    assert index["sessionId"] == "B" and index["eventCount"] == 8
    assert [event["seq"] for event in repl.events("B")[1:]] == list(range(8))

    assert repl(":session load B") == "Loaded session 'B' (8 events)"
    assert repl("only-in-a").startswith("error: unbound variable")
    repl("(define only-in-b 2)")
    assert repl(":session load A").startswith("Loaded session 'A' (")
    assert repl("only-in-b").startswith("error: unbound variable")
    assert repl("only-in-a") == "=> 1"
    assert not any(event.get("code") == "(define only-in-b 2)" for event in repl.events("A"))
    assert not any(event.get("code") == "(define only-in-a 1)" for event in repl.events("B"))


def test_saved_copy_survives_deleting_the_original(repl: Repl) -> None:
    repl("(define a 1)")
    repl("(define (f x) (* x a))")
    repl(":session save B")
    repl(":session load B")
    repl(":session load A")  # B is closed again
    repl.state.close()
    for path in list(repl.sessions_dir.glob("A.*")):
        path.unlink()
    repl.state = ReplState.open(repl.config, "C")
    assert repl(":session load B") == "Loaded session 'B' (8 events)"
    assert repl.state.session.warnings == []
    assert repl("(f 7)") == "=> 7"
    assert repl(":session goto 3").startswith("Jumped to seq 3 ")
    assert repl("a") == "=> 1"


def test_session_fork_from_the_end(repl: Repl) -> None:
    repl("(define a 1)")
    assert repl(":session fork F") == "Forked 'A' at seq 3 into 'F' (4 events); now in 'F'"
    assert repl.state.session.name == "F"
    assert repl("a") == "=> 1"
    assert repl.events("F")[0]["id"] == "F"


def test_session_fork_from_a_goto_point(repl: Repl) -> None:
    repl("(define a 1)")  # 0..3
    repl("(define b 2)")  # 4..7
    repl("(define c 3)")  # 8..11
    repl(":session goto 7")
    assert repl(":session fork F") == "Forked 'A' at seq 7 into 'F' (8 events); now in 'F'"
    events = repl.events("F")
    assert events[0]["id"] == "F"
    assert [event["seq"] for event in events[1:]] == list(range(8))
    assert not any("c" in str(event.get("code", "")) for event in events[1:])
    assert repl("b") == "=> 2"
    assert repl("c").startswith("error: unbound variable")
    index = json.loads((repl.sessions_dir / "F.index.json").read_text(encoding="utf-8"))
    assert index["sessionId"] == "F"
    assert [cp["seq"] for cp in index["checkpoints"]] == [3, 7]
    repl(":session load A")  # A still has everything, plus the recorded jump
    assert repl(":session goto 11").startswith("Jumped to seq 11 ")
    assert repl("c") == "=> 3"


def test_session_load(repl: Repl) -> None:
    repl("(define a 1)")
    assert repl(":session load nope") == "error: no session named 'nope' (see :session list)"
    assert repl.state.session.name == "A"
    assert repl(":session load A") == "Loaded session 'A' (4 events)"  # reload the current one
    assert repl("a") == "=> 1"
    assert repl(":session save B") == "Saved session 'A' as 'B' (8 events)"
    assert repl(":session load B") == "Loaded session 'B' (8 events)"
    assert repl.state.session.name == "B"
    assert repl("a") == "=> 1"


# --- :session goto / resume / checkpoints / trace ----------------------------------------------


def test_session_goto(repl: Repl) -> None:
    repl("(define a 1)")
    repl("(set! a 2)")
    out = repl(":session goto 2")
    assert out.splitlines()[0].startswith("Jumped to seq 2 (replayed ")
    assert out.splitlines()[-1] == "=> a"
    assert repl("a") == "=> 1"
    assert repl(":session goto 99") == "error: no event 99 in session 'A' (it has events 0 to 12)"


def test_session_resume(repl: Repl) -> None:
    assert repl(":session resume") == "error: nothing to resume: use :session goto SEQ first"
    repl("(define a 1)")
    repl("(define b 2)")
    repl(":session goto 0")
    assert repl(":session resume").startswith("Jumped to seq 3 ")
    assert repl(":session resume").startswith("Jumped to seq 7 ")
    repl("(define c 3)")  # a new input ends the jump: nothing to resume
    assert repl(":session resume") == "error: nothing to resume: use :session goto SEQ first"


def test_session_checkpoints(repl: Repl) -> None:
    assert repl(":session checkpoints") == "  (no checkpoints)"
    for n in range(3):
        repl(f"(define v{n} {n})")
    assert repl(":session checkpoints") == "  [003] manual (state: state-3)\n  [007] manual (state: state-7)\n" \
                                           "  [011] manual (state: state-11)"
    assert repl(":session checkpoints 1") == "  (2 earlier checkpoints; :session checkpoints all)\n" \
                                             "  [011] manual (state: state-11)"
    assert repl(":session checkpoints all").count("manual") == 3
    for n in range(3, 55):
        repl(f"(define v{n} {n})")
    lines = repl(":session checkpoints").splitlines()
    assert lines[0] == "  (5 earlier checkpoints; :session checkpoints all)"
    assert len(lines) == 51
    assert len(repl(":session checkpoints all").splitlines()) == 55


def test_session_trace(repl: Repl) -> None:
    assert repl(":session trace") == "  (no events)"
    repl("(define a 1)")
    repl("(car 1)")
    lines = repl(":session trace").splitlines()
    assert lines[:4] == ["  [000] input      (define a 1)", "  [001] step       (define a 1)",
                         "  [002] result     a", "  [003] checkpoint manual (state-3)"]
    assert lines[4] == "  [004] input      (car 1)"
    assert lines[6].startswith("  [006] error      car: ")
    assert repl(":session trace 2").splitlines() == lines[-2:]
    assert repl(":session trace 0") == "  (no events)"
    verbose = repl(":session trace -v 2").splitlines()
    assert [json.loads(line)["seq"] for line in verbose] == [5, 6]
    assert json.loads(verbose[-1])["code"] == "eval_error"
    assert repl(":session trace 2 -v") == "\n".join(verbose)
    repl(":session goto 2")
    assert repl(":session trace 1") == "  [007] checkpoint manual (state-7) jump to 2"
    repl("(define long " + '"' + "x" * 300 + '")')
    assert all(len(line) <= 120 for line in repl(":session trace").splitlines())


def test_session_trace_past_the_recent_buffer(repl: Repl) -> None:
    for n in range(30):
        repl(f"(define v{n} {n})")
    repl.state.close()
    repl.state = ReplState.open(repl.config, "A")  # reopened: the tail comes from the log
    lines = repl(":session trace 120").splitlines()
    assert len(lines) == 120
    assert lines[-1] == "  [119] checkpoint manual (state-119)"


# --- history -----------------------------------------------------------------------------------


def test_history(repl: Repl) -> None:
    assert repl(":history") == "  (no inputs yet)"
    repl("(define a 1)")
    repl("(car 1)")
    repl("(+ a\n 2)")
    assert repl(":history") == "  [000] (define a 1)\n  [004] (car 1)\n  [007] (+ a  2)"
    assert repl(":history 1") == "  [007] (+ a  2)"
    assert repl(":history 0") == "  (no inputs yet)"


def test_back(repl: Repl) -> None:
    repl("(define a 1)")  # 0..3
    repl("(set! a 2)")  # 4..7
    repl("(set! a 3)")  # 8..11
    assert repl(":back").startswith("Jumped to seq 8 ")
    assert repl("a") == "=> 2"
    out = repl(":back 2")  # the last two inputs are now "a" and "(set! a 3)"
    assert out.startswith("Jumped to seq 8 ")
    assert repl(":back 9") == "error: there are only 2 input(s) to go back over"  # before the cursor (seq 8)


def test_back_twice_goes_back_twice(repl: Repl) -> None:
    repl("(define a 1)")
    repl("(set! a 2)")
    repl("(set! a 3)")
    repl(":back")
    repl(":back")
    assert repl("a") == "=> 1"


def test_record_on_off(repl: Repl) -> None:
    assert repl(":record off") == "Step recording is off"
    assert repl.state.session.recorder.record_steps is False
    repl("(define a 1)")
    events = repl.events()[1:]
    assert [event["type"] for event in events] == ["input", "result", "checkpoint"]
    assert events[0]["record"] is False
    assert repl(":record on") == "Step recording is on"
    repl("a")
    assert [event["type"] for event in repl.events()[1:]][3:] == ["input", "step", "result", "checkpoint"]


def test_dump_and_replay(repl: Repl, tmp_path: Path) -> None:
    repl("(define a 1)")
    repl('(define (f x)\n  ;; two lines\n  (+ x a))')
    repl('(display "x") (f 2)')
    dump = tmp_path / "out.omega"
    assert repl(f":dump {dump}") == f"Wrote 3 input(s) to {dump}"
    repl.state.close()
    repl.state = ReplState.open(repl.config, "R")
    assert repl(f":replay {dump}") == "=> a\n=> f\nx\n=> null\n=> 3"
    inputs = [event["code"] for event in repl.events("R")[1:] if event["type"] == "input"]
    assert inputs == ["(define a 1)", "(define (f x)\n  ;; two lines\n  (+ x a))", '(display "x") (f 2)']
    plain = tmp_path / "plain.omega"
    plain.write_text("(define z 5)\n\n(* z 2)\n", encoding="utf-8")
    assert repl(f":replay {plain}") == "=> z\n=> 10"
    empty = tmp_path / "empty.omega"
    empty.write_text("\n", encoding="utf-8")
    assert repl(f":replay {empty}") == "(nothing to replay)"
    assert repl(f":replay {tmp_path / 'missing.omega'}") == f"error: :replay: no such file {tmp_path / 'missing.omega'}"
    assert repl(f":replay {tmp_path}") == f"error: :replay: {tmp_path} is a directory"
    assert repl(f":dump {tmp_path / 'no-such-dir' / 'x'}").startswith("error: :dump: cannot write ")


def test_loadfile(repl: Repl, tmp_path: Path) -> None:
    source = tmp_path / "prog.omega"
    source.write_text("(define (sq x) (* x x))\n; a comment\n(sq 4)\n", encoding="utf-8")
    assert repl(f":loadfile {source}") == "=> sq\n=> 16"
    assert repl("(sq 5)") == "=> 25"
    assert repl(f":loadfile {tmp_path / 'nope.omega'}") == f"error: :loadfile: no such file {tmp_path / 'nope.omega'}"
    binary = tmp_path / "bin.omega"
    binary.write_bytes(b"\xff\xfe\x00")
    assert repl(f":loadfile {binary}") == f"error: :loadfile: {binary} is not UTF-8 text"


def test_nul_in_a_path_is_an_error_line(repl: Repl) -> None:
    assert repl(":replay 'a\x00b'").startswith("error: ")
    assert repl(":loadfile 'a\x00b'").startswith("error: ")


# --- help and quit -----------------------------------------------------------------------------


def test_help_lists_every_registered_command(repl: Repl) -> None:
    out = repl(":help")
    for command in COMMANDS.values():
        assert command.usage in out
        assert command.summary in out
    assert {":session list", ":session save", ":session fork", ":session load", ":session goto",
            ":session resume", ":session checkpoints", ":session trace", ":history", ":back", ":record",
            ":dump", ":replay", ":loadfile", ":help", ":quit"} <= set(COMMANDS)


def test_help_on_one_command(repl: Repl) -> None:
    out = repl(":help session goto")
    assert out.splitlines() == [out.splitlines()[0]]
    assert ":session goto SEQ" in out and COMMANDS[":session goto"].summary in out
    session_help = repl(":help session").splitlines()
    assert len(session_help) == sum(1 for name in COMMANDS if name == ":session" or name.startswith(":session "))
    assert ":history [N]" in repl(":help :history")
    assert repl(":help nothing") == "error: no command :nothing (type :help for the list)"


def test_quit(repl: Repl) -> None:
    assert repl(":quit") == ""
    assert repl.exited is True


# --- never raises ------------------------------------------------------------------------------

COMMAND_NAMES = sorted(COMMANDS)
ARGUMENTS = st.one_of(
    st.sampled_from(["0", "1", "-1", "99999999999999999999", "x", "../x", "-v", "all", "on", "off", "'", '"',
                     "A", "B", "\x00", "é", "''", "a b", "~", ".", "/"]),
    st.text(max_size=6),
)
LINES = st.one_of(
    st.text(max_size=30).map(lambda text: ":" + text),
    st.text(max_size=30).map(lambda text: "(" + text),
    st.tuples(st.sampled_from(COMMAND_NAMES), st.lists(ARGUMENTS, max_size=3)).map(
        lambda parts: " ".join([parts[0], *parts[1]])),
)


def test_process_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # :dump with a random relative name writes here
    config = dataclasses.replace(load_config(), language=LanguageConfig(step_budget=100_000))
    holder = [ReplState.open(config, "fuzz")]
    escaped: list[tuple[str, str]] = []

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(line=LINES)
    def check(line: str) -> None:
        if "\x00" in line and line.split(" ", 1)[0] in (":replay", ":loadfile"):
            return  # the known NUL bug (test_nul_in_a_path_is_an_error_line) would stop the search here
        try:
            holder[0], output, should_exit = process(holder[0], line)
        except Exception as problem:  # noqa: BLE001 - what this test looks for
            escaped.append((line, f"{type(problem).__name__}: {problem}"))
            raise
        assert isinstance(output, str)
        assert isinstance(should_exit, bool)

    try:
        check()
    finally:
        holder[0].close()
    assert escaped == []
