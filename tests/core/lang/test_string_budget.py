"""The string size budget (``[language] max_string_chars``): a primitive that would build a string
past it stops the command before copying anything, with a message naming the budget, the length
and the config key; strings up to it are built; the session goes on as before the command."""

from __future__ import annotations

import pytest

from omega_core.config import LanguageConfig
from omega_core.eval_steps import FormResult
from omega_core.evaluator import Evaluator
from omega_core.lang.budgets import DEFAULT_MAX_STRING_CHARS


def run(evaluator: Evaluator, text: str) -> list[FormResult]:
    return list(evaluator.run_text(text))


def assert_string_budget(result: FormResult, who: str, length: int, limit: int) -> None:
    assert result.error_code == "budget_exceeded", result.transcript()
    message = result.error or ""
    for word in ("string size budget exceeded", who, f"{length:,} characters", f"limit {limit:,} characters",
                 "[language] max_string_chars"):
        assert word in message, (word, message)


def test_the_default_allows_a_4_mib_string_and_refuses_the_next_doubling() -> None:
    assert LanguageConfig().max_string_chars == DEFAULT_MAX_STRING_CHARS == 4 * 1024 * 1024
    evaluator = Evaluator()
    run(evaluator, "(define (grow s n) (if (= n 0) s (grow (string-append s s) (- n 1))))")
    assert run(evaluator, '(define big (grow "x" 22)) (string-length big)')[-1].value == str(4 * 1024 * 1024)
    stopped = run(evaluator, "(set! big (string-append big big))")[0]
    assert_string_budget(stopped, "string-append", 8 * 1024 * 1024, DEFAULT_MAX_STRING_CHARS)
    assert run(evaluator, "(string-length big)")[0].value == str(4 * 1024 * 1024)  # as before the command


@pytest.mark.parametrize(("code", "who", "length"), [
    ('(string-append (make-text 600) (make-text 500))', "string-append", 1100),
    ('(string-join (list (make-text 600) (make-text 600)) "--")', "string-join", 1202),
    ('(string-replace-all (make-text 400) "a" "abc")', "string-replace-all", 1200),
])
def test_each_string_builder_checks_the_length_before_building(code: str, who: str, length: int) -> None:
    evaluator = Evaluator(language=LanguageConfig(max_string_chars=1000))
    run(evaluator, '(define (make-text n) (if (= n 0) "" (string-append "a" (make-text (- n 1)))))')
    assert_string_budget(run(evaluator, code)[0], who, length, 1000)
    assert run(evaluator, "(string-length (string-append (make-text 500) (make-text 500)))")[0].value == "1000"


def test_a_loop_past_the_string_budget_undoes_its_changes() -> None:
    evaluator = Evaluator(language=LanguageConfig(max_string_chars=4096))
    results = run(evaluator, '(define s "x") (define (grow) (set! s (string-append s s)) (grow)) (grow)')
    assert_string_budget(results[2], "string-append", 8192, 4096)
    assert run(evaluator, "(string-length s)")[0].value == "1"
