"""Scripted oracle, receipt keys and the factory: offline, deterministic, clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omega_core.errors import OmegaError
from omega_core.oracle import (
    DEFAULT_FALLBACK_ANSWER,
    OpenAICompatibleOracle,
    Oracle,
    OracleError,
    ScriptedOracle,
    make_oracle,
    oracle_request,
    receipt_key,
)

SCRIPT = r'''
[[answer]]
match = "capital of France"
answer = "Paris"

[[answer]]
regex = "^count (\\d+)$"
answer = "counted {1}"

[[answer]]
match = "colour"
answer = "red"
answers = ["red", "green", "blue"]

[[answer]]
match = "capital"
answer = "some capital"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oracle.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def oracle(tmp_path: Path) -> ScriptedOracle:
    return ScriptedOracle(write(tmp_path, SCRIPT), "")


def test_substring_match_is_case_insensitive(oracle: ScriptedOracle) -> None:
    answer = oracle.ask("What is the CAPITAL of france?")
    assert answer.texts == ("Paris",)
    assert answer.model == "scripted"
    assert isinstance(answer.duration_ms, int) and answer.duration_ms >= 0


def test_regex_match_fills_groups(oracle: ScriptedOracle) -> None:
    assert oracle.ask("count 42").texts == ("counted 42",)
    assert oracle.ask("please count 42").texts == (DEFAULT_FALLBACK_ANSWER,)  # ^ anchors


def test_first_match_wins(oracle: ScriptedOracle) -> None:
    assert oracle.ask("capital of France").texts == ("Paris",)
    assert oracle.ask("capital of Spain").texts == ("some capital",)


def test_samples_cycle_answers(oracle: ScriptedOracle) -> None:
    assert oracle.ask("favourite colour", samples=1).texts == ("red",)
    assert oracle.ask("favourite colour", samples=5).texts == ("red", "green", "blue", "red", "green")


def test_samples_repeat_single_answer(oracle: ScriptedOracle) -> None:
    assert oracle.ask("capital of France", samples=3).texts == ("Paris", "Paris", "Paris")


def test_tokens_are_word_counts(oracle: ScriptedOracle) -> None:
    assert oracle.ask("capital of France").tokens == 3 + 1
    assert oracle.ask("favourite colour", samples=2).tokens == 2 + 1 + 1


def test_fallback_default_says_it_is_a_fallback(oracle: ScriptedOracle) -> None:
    answer = oracle.ask("unrelated", samples=2)
    assert answer.texts == (DEFAULT_FALLBACK_ANSWER,) * 2
    assert "fallback" in DEFAULT_FALLBACK_ANSWER


def test_configured_fallback_is_verbatim_and_script_overrides_it(tmp_path: Path) -> None:
    assert ScriptedOracle(None, "I don't know (fallback)").ask("x").texts == ("I don't know (fallback)",)
    path = write(tmp_path, 'fallback = "from the script"\n')
    assert ScriptedOracle(path, "configured").ask("x").texts == ("from the script",)


def test_answers_only_entry_and_regex_groups_in_answers(tmp_path: Path) -> None:
    path = write(tmp_path, '[[answer]]\nregex = "(\\\\w+)$"\nanswers = ["a {1}", "b {1}"]\n')
    oracle = ScriptedOracle(path, "")
    assert oracle.ask("hello world").texts == ("a world",)
    assert oracle.ask("hello world", samples=3).texts == ("a world", "b world", "a world")


def test_script_is_loaded_once(tmp_path: Path) -> None:
    path = write(tmp_path, SCRIPT)
    oracle = ScriptedOracle(path, "")
    path.write_text("this is not toml [", encoding="utf-8")
    assert oracle.ask("capital of France").texts == ("Paris",)


def test_samples_below_one_are_refused(oracle: ScriptedOracle) -> None:
    with pytest.raises(OracleError, match="at least 1"):
        oracle.ask("x", samples=0)


@given(st.text(), st.integers(min_value=1, max_value=6))
def test_any_prompt_gets_exactly_n_deterministic_texts(prompt: str, samples: int) -> None:
    oracle = ScriptedOracle(None, "")
    first, second = oracle.ask(prompt, samples), oracle.ask(prompt, samples)
    assert len(first.texts) == samples
    assert first.texts == second.texts and first.tokens == second.tokens


# ---- bad script files: the message names the file, the entry and the problem ----

BAD_SCRIPTS = [
    ("x = [1, \n", "is not valid TOML"),
    ("[[answer]]\nanswer = \"a\"\n", "entry 1 has neither 'match' nor 'regex'"),
    ("[[answer]]\nmatch=\"a\"\nanswer=\"b\"\n[[answer]]\nregex = \"(\"\nanswer = \"a\"\n",
     "entry 2: 'regex' '(' is not a valid Python regular expression"),
    ("[[answer]]\nmatch = \"a\"\nanswer = 3\n", "entry 1: 'answer' must be a string, not an integer"),
    ("[[answer]]\nmatch = \"a\"\n", "entry 1 has no 'answer'"),
    ("[[answer]]\nmatch = \"a\"\nregex = \"a\"\nanswer = \"b\"\n", "entry 1 has both 'match' and 'regex'"),
    ("[[answer]]\nmatch = \"a\"\nanswers = [\"b\", 2]\n", "entry 1: 'answers' must be a non-empty list"),
    ("[[answer]]\nmatch = \"a\"\nanwser = \"b\"\n", "entry 1 has unknown key(s) anwser"),
    ("[[answer]]\nregex = \"a(b)\"\nanswer = \"{2}\"\n", "refers to {2} but the regex has only 1 group"),
    ("[[answer]]\nmatch = \"\"\nanswer = \"b\"\n", "'match' is empty"),
    ("fallback = 1\n", "'fallback' must be a string"),
    ("answer = \"x\"\n", "'answer' must be a list of [[answer]] tables"),
    ("answr = 1\n", "unknown top-level key(s) answr"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SCRIPTS)
def test_bad_script_errors_name_file_entry_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(OracleError) as info:
        ScriptedOracle(path, "")
    assert str(path) in info.value.message
    assert expected in info.value.message


def test_missing_script_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(OracleError, match="does not exist") as info:
        ScriptedOracle(path, "")
    assert str(path) in info.value.message and "[oracle] script" in info.value.message


def test_toml_error_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[answer]]\nmatch = "a"\nanswer = "b\n')
    with pytest.raises(OracleError, match=r"line 3"):
        ScriptedOracle(path, "")


def test_oracle_error_is_user_facing() -> None:
    assert issubclass(OracleError, OmegaError)
    assert OracleError.code == "eval_error"


# ---- receipt keys ----

def test_receipt_key_is_sha256_of_canonical_json() -> None:
    request = oracle_request("infer.op", "scripted", "héllo", 1)
    assert request == {"op": "infer.op", "model": "scripted", "prompt": "héllo", "samples": 1}
    canonical = '{"model":"scripted","op":"infer.op","prompt":"héllo","samples":1}'
    assert receipt_key(request) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@given(st.text(), st.integers(min_value=1, max_value=9))
def test_receipt_key_ignores_key_order(prompt: str, samples: int) -> None:
    forward = {"op": "search.op", "model": "m", "prompt": prompt, "samples": samples}
    backward = dict(reversed(list(forward.items())))
    assert receipt_key(forward) == receipt_key(backward)
    assert len(receipt_key(forward)) == 64


# ---- factory ----

FACTORY_DEFAULTS = dict(
    script="", fallback_answer="", base_url="http://127.0.0.1:9/v1", model="gpt-test",
    api_key_env="OPENAI_API_KEY", timeout_s=5.0, retries=1, retry_backoff_s=0.01,
)


def test_factory_builds_both_kinds(tmp_path: Path) -> None:
    scripted = make_oracle("scripted", **{**FACTORY_DEFAULTS, "script": str(write(tmp_path, SCRIPT))})
    assert isinstance(scripted, ScriptedOracle) and isinstance(scripted, Oracle)
    assert scripted.model == "scripted"
    assert scripted.ask("capital of France").texts == ("Paris",)
    remote = make_oracle("openai", **FACTORY_DEFAULTS)
    assert isinstance(remote, OpenAICompatibleOracle) and remote.model == "gpt-test"


def test_factory_empty_script_means_fallback_only() -> None:
    oracle = make_oracle("scripted", **FACTORY_DEFAULTS)
    assert oracle.ask("anything").texts == (DEFAULT_FALLBACK_ANSWER,)


def test_factory_unknown_kind() -> None:
    with pytest.raises(OracleError, match="unknown oracle kind 'claude'.*scripted, openai"):
        make_oracle("claude", **FACTORY_DEFAULTS)


def test_factory_rejects_bad_base_url() -> None:
    with pytest.raises(OracleError, match=r"\[oracle\] base_url"):
        make_oracle("openai", **{**FACTORY_DEFAULTS, "base_url": "api.openai.com/v1"})
