"""Host effects through the evaluator: the oracle (scripted and HTTP), search, shell and files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omega_core.config import EffectsConfig, LanguageConfig, OracleConfig, OracleKind
from omega_core.effects import EffectHost, EffectOutcome, prompt_of
from omega_core.evaluator import Evaluator
from omega_core.lang.values import NIL, make_list, sym
from tests.core.oracle.fake_openai import FakeOpenAIServer, FakeReply

SCRIPT = """
fallback = "I do not know"

[[answer]]
match = "capital of France"
answer = "Paris"
answers = ["Paris", "Lyon?", "Marseille?"]

[[answer]]
regex = "^count (\\\\d+)$"
answer = "counted {1}"
"""


@pytest.fixture
def script_path(tmp_path: Path) -> Path:
    path = tmp_path / "oracle.toml"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def scripted(script_path: Path, **language: Any) -> Evaluator:
    host = EffectHost(oracle_config=OracleConfig(script=str(script_path)), search_samples=language.get("search_samples", 3))
    return Evaluator(language=LanguageConfig(**language), effects=host)


def transcripts(evaluator: Evaluator, src: str) -> list[str]:
    return [result.transcript() for result in evaluator.run_text(src)]


# --- infer.op / search.op with the scripted oracle ----------------------------------------------


def test_infer_answers_from_the_script(script_path: Path) -> None:
    ev = scripted(script_path)
    assert transcripts(ev, '(effect infer.op "What is the capital of France?")') == ['=> "Paris"']


def test_infer_answer_is_a_string_value(script_path: Path) -> None:
    ev = scripted(script_path)
    src = '(define a (effect infer.op "capital of France")) (string-append a "!") (string? a)'
    assert transcripts(ev, src) == ["=> a", '=> "Paris!"', "=> #t"]


def test_infer_regex_entry(script_path: Path) -> None:
    ev = scripted(script_path)
    assert transcripts(ev, '(effect infer.op "count 42")') == ['=> "counted 42"']


def test_infer_fallback_answer(script_path: Path) -> None:
    ev = scripted(script_path)
    assert transcripts(ev, '(effect infer.op "something else entirely")') == ['=> "I do not know"']


def test_default_fallback_is_clearly_marked() -> None:
    ev = Evaluator()  # default config: scripted oracle, no script
    [text] = transcripts(ev, '(effect infer.op "anything")')
    assert "fallback" in text


def test_configured_fallback_answer() -> None:
    host = EffectHost(oracle_config=OracleConfig(fallback_answer="no idea"))
    assert transcripts(Evaluator(effects=host), '(effect infer.op "q")') == ['=> "no idea"']


def test_list_payload_of_strings_is_joined_without_separator(script_path: Path) -> None:
    ev = scripted(script_path)
    src = '(effect infer.op (list "capital " "of " "France"))'
    assert transcripts(ev, src) == ['=> "Paris"']
    src = '(effect infer.op (list "count " "4" "2"))'
    assert transcripts(ev, src) == ['=> "counted 42"']


def test_several_string_arguments_are_joined(script_path: Path) -> None:
    ev = scripted(script_path)
    assert transcripts(ev, '(effect infer.op "count " (number->string 7))') == ['=> "counted 7"']


def test_non_string_payload_is_printed_into_the_prompt() -> None:
    prompts: list[str] = []

    class Recorder:
        model = "rec"

        def ask(self, prompt: str, samples: int = 1) -> Any:
            from omega_core.oracle import OracleAnswer

            prompts.append(prompt)
            return OracleAnswer(texts=("ok",) * samples, model="rec", tokens=None, duration_ms=0)

    host = EffectHost(oracle_factory=Recorder)
    ev = Evaluator(effects=host)
    assert transcripts(ev, "(effect infer.op (list 1 \"a\" 'b))") == ['=> "ok"']
    assert transcripts(ev, "(effect infer.op 42)") == ['=> "ok"']
    assert prompts == ['(1 "a" b)', "42"]


def test_prompt_of() -> None:
    assert prompt_of([make_list(["a", "b", "c"])]) == "abc"
    assert prompt_of(["x", make_list(["y", "z"])]) == "xyz"
    assert prompt_of([make_list([1, 2])]) == "(1 2)"
    assert prompt_of([sym("s")]) == "s"
    assert prompt_of([NIL]) == "null"


def test_search_returns_a_list_of_samples(script_path: Path) -> None:
    ev = scripted(script_path)
    assert transcripts(ev, '(effect search.op "capital of France")') == ['=> ("Paris" "Lyon?" "Marseille?")']


def test_search_sample_count_from_config(script_path: Path) -> None:
    ev = scripted(script_path, search_samples=5)
    assert transcripts(ev, '(effect search.op "capital of France")') == [
        '=> ("Paris" "Lyon?" "Marseille?" "Paris" "Lyon?")'
    ]
    assert transcripts(ev, '(length (effect search.op "unmatched"))') == ["=> 5"]


def test_search_results_are_a_real_list(script_path: Path) -> None:
    ev = scripted(script_path)
    src = '(map string-length (effect search.op "capital of France"))'
    assert transcripts(ev, src) == ["=> (5 5 10)"]


def test_effects_inside_procedures_and_higher_order(script_path: Path) -> None:
    ev = scripted(script_path)
    src = """
    (define (ask country) (effect infer.op (list "capital of " country)))
    (map ask (list "France" "Nowhere"))
    """
    assert transcripts(ev, src)[-1] == '=> ("Paris" "I do not know")'


def test_display_before_an_effect_is_kept(script_path: Path) -> None:
    ev = scripted(script_path)
    src = '(begin (display "asking...") (effect infer.op "capital of France"))'
    assert transcripts(ev, src) == ['asking...\n=> "Paris"']


def test_missing_script_file_is_a_clear_error(tmp_path: Path) -> None:
    host = EffectHost(oracle_config=OracleConfig(script=str(tmp_path / "missing.toml")))
    ev = Evaluator(effects=host)
    [result, after] = list(ev.run_text('(effect infer.op "q") (+ 1 2)'))
    assert result.error is not None and "missing.toml" in result.error
    assert after.transcript() == "=> 3"


# --- oracle-lambda --------------------------------------------------------------------------------


def test_oracle_lambda_asks_the_oracle(script_path: Path) -> None:
    ev = scripted(script_path)
    src = """
    (define capital (oracle-lambda (country) (string-append "What is the capital of " country "?")))
    (capital "France")
    (capital "Atlantis")
    capital
    """
    assert transcripts(ev, src) == ["=> capital", '=> "Paris"', '=> "I do not know"', "=> <oracle-proc>"]


def test_oracle_lambda_and_infer_op_send_the_same_request(script_path: Path) -> None:
    seen: list[tuple[str, list[Any]]] = []
    host = EffectHost(oracle_config=OracleConfig(script=str(script_path)))

    def perform(op: str, args: list[Any]) -> EffectOutcome:
        seen.append((op, list(args)))
        return host.perform(op, args)

    ev = Evaluator(effects=host, perform=perform)
    src = '(define f (oracle-lambda (c) (list "capital of " c))) (f "France") (effect infer.op (list "capital of " "France"))'
    assert transcripts(ev, src)[1:] == ['=> "Paris"', '=> "Paris"']
    assert [op for op, _ in seen] == ["infer.op", "infer.op"]
    assert prompt_of(seen[0][1]) == prompt_of(seen[1][1]) == "capital of France"


# --- the OpenAI-compatible oracle against a fake server ----------------------------------------------


def _openai_host(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> EffectHost:
    monkeypatch.setenv("OMEGA_TEST_FAKE_KEY", "sk-test-123")
    config = OracleConfig(
        kind=OracleKind.OPENAI,
        base_url=server.url,
        model="fake-model",
        api_key_env="OMEGA_TEST_FAKE_KEY",
        timeout_s=5.0,
        retries=extra.get("retries", 0),
        retry_backoff_s=0.0,
    )
    return EffectHost(oracle_config=config, search_samples=extra.get("search_samples", 3))


def test_http_oracle_answers_an_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(reply_text="Paris") as server:
        ev = Evaluator(effects=_openai_host(server, monkeypatch))
        assert transcripts(ev, '(effect infer.op "capital of " "France")') == ['=> "Paris"']
        [request] = server.requests
        assert request.path.endswith("/chat/completions")
        assert request.body["model"] == "fake-model"
        assert request.body["messages"][-1]["content"] == "capital of France"
        assert request.headers.get("Authorization") == "Bearer sk-test-123"


def test_http_oracle_search_and_oracle_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(reply_text="answer") as server:
        ev = Evaluator(effects=_openai_host(server, monkeypatch, search_samples=2))
        src = '(effect search.op "q") (define ask (oracle-lambda (x) (string-append "Q: " x))) (ask "why")'
        assert transcripts(ev, src) == ['=> ("answer" "answer (2)")', "=> ask", '=> "answer"']
        assert server.requests[0].body["n"] == 2
        assert server.requests[-1].body["messages"][-1]["content"] == "Q: why"


def test_http_oracle_failure_is_an_error_and_session_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        server.script(FakeReply(status=400, error_message="bad request from fake"))
        ev = Evaluator(effects=_openai_host(server, monkeypatch))
        results = list(ev.run_text('(effect infer.op "q") (+ 1 1)'))
        assert results[0].error is not None
        assert "HTTP 400" in results[0].error
        assert "sk-test-123" not in results[0].error
        assert results[1].transcript() == "=> 2"


def test_http_oracle_missing_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as server:
        host = _openai_host(server, monkeypatch)
        monkeypatch.delenv("OMEGA_TEST_FAKE_KEY")
        [result] = list(Evaluator(effects=host).run_text('(effect infer.op "q")'))
        assert result.error is not None and "OMEGA_TEST_FAKE_KEY" in result.error
        assert server.requests == []


# --- shell and files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "key"),
    [
        ('(effect shell.op "echo hi")', "allow_shell"),
        ('(effect file.read.op "/etc/hostname")', "allow_file_read"),
        ('(effect file.write.op "out.txt" "text")', "allow_file_write"),
    ],
)
def test_host_operations_refused_by_default(src: str, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    [result] = list(Evaluator().run_text(src))
    assert result.error is not None
    assert key in result.error
    assert "disabled" in result.error
    assert not (tmp_path / "out.txt").exists()


def test_shell_when_enabled() -> None:
    host = EffectHost(effects=EffectsConfig(allow_shell=True))
    ev = Evaluator(effects=host)
    assert transcripts(ev, '(effect shell.op "echo hi")') == ['=> "hi\\n"']


def test_shell_failure_is_an_error() -> None:
    host = EffectHost(effects=EffectsConfig(allow_shell=True))
    [result] = list(Evaluator(effects=host).run_text('(effect shell.op "exit 3")'))
    assert result.error is not None and "3" in result.error


def test_file_read_and_write_when_enabled(tmp_path: Path) -> None:
    host = EffectHost(effects=EffectsConfig(allow_file_read=True, allow_file_write=True))
    ev = Evaluator(effects=host)
    target = tmp_path / "note.txt"
    src = f'(effect file.write.op "{target}" "hello\\nworld") (effect file.read.op "{target}")'
    assert transcripts(ev, src) == ["=> null", '=> "hello\\nworld"']
    assert target.read_text(encoding="utf-8") == "hello\nworld"


def test_file_write_of_a_non_string_writes_its_display_form(tmp_path: Path) -> None:
    host = EffectHost(effects=EffectsConfig(allow_file_write=True))
    target = tmp_path / "data.txt"
    assert transcripts(Evaluator(effects=host), f"(effect file.write.op \"{target}\" (list 1 \"a\" 'b))") == ["=> null"]
    assert target.read_text(encoding="utf-8") == "(1 a b)"


def test_file_read_only_enabled_does_not_allow_write(tmp_path: Path) -> None:
    host = EffectHost(effects=EffectsConfig(allow_file_read=True))
    target = tmp_path / "x.txt"
    [result] = list(Evaluator(effects=host).run_text(f'(effect file.write.op "{target}" "x")'))
    assert result.error is not None and "allow_file_write" in result.error
    assert not target.exists()


def test_file_read_missing_file(tmp_path: Path) -> None:
    host = EffectHost(effects=EffectsConfig(allow_file_read=True))
    [result] = list(Evaluator(effects=host).run_text(f'(effect file.read.op "{tmp_path / "nope.txt"}")'))
    assert result.error is not None and "nope.txt" in result.error


# --- handlers come first ---------------------------------------------------------------------------


class ExplodingHost(EffectHost):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def perform(self, op: str, args: list[Any]) -> EffectOutcome:
        self.calls.append(op)
        raise AssertionError(f"the host must not be called for {op}")


def test_effect_host_not_called_when_a_handle_catches_infer() -> None:
    host = ExplodingHost()
    ev = Evaluator(effects=host)
    src = """
    (handle (string-append "<" (effect infer.op "capital of France") ">")
            (on infer.op (prompt k) (k "mocked")))
    (define ask (oracle-lambda (x) x))
    (handle (ask "q") (on infer.op (prompt k) (k (string-append "mocked " prompt))))
    (handle (effect search.op "q") (on search.op (prompt k) (k (list "a" "b"))))
    (handle (effect shell.op "rm -rf /") (on shell.op (cmd k) (k "intercepted")))
    """
    assert transcripts(ev, src) == ['=> "<mocked>"', "=> ask", '=> "mocked q"', '=> ("a" "b")', '=> "intercepted"']
    assert host.calls == []


def test_unhandled_host_op_inside_a_handle_for_another_op_reaches_the_host(script_path: Path) -> None:
    ev = scripted(script_path)
    src = '(handle (effect infer.op "capital of France") (on search.op (p k) (k (list "no"))))'
    assert transcripts(ev, src) == ['=> "Paris"']


def test_unknown_op_is_not_sent_to_the_host() -> None:
    host = ExplodingHost()
    [result] = list(Evaluator(effects=host).run_text("(effect custom.op 1)"))
    assert result.error is not None and "custom.op" in result.error
    assert host.calls == []
