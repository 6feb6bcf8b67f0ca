"""Errors quote code as it was written and name line and column; printing per LANGUAGE.md (issue 14.2)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.evaluator import Evaluator
from omega_core.lang.compiler import compile_unit
from omega_core.lang.reader import read_all


def transcripts(source: str) -> list[str]:
    return [result.transcript() for result in Evaluator().run_text(source)]


def test_errors_quote_code_as_written_not_as_its_data_prints() -> None:
    assert transcripts("(car '())") == [
        "error: car: expected a pair, got null (empty list) (in (car '()), line 1, column 1)"
    ]
    assert transcripts("((lambda () 1) 2)") == [
        "error: <closure ()>: expected 0 arguments, got 1 (in ((lambda () 1) 2), line 1, column 1)"
    ]


def test_code_spread_over_lines_is_quoted_on_one_line() -> None:
    source = "(define (f x)\n  (+ x\n     (car\n       x)))\n(f 5)"
    assert transcripts(source)[1] == "error: car: expected a pair, got 5 (integer) (in (car x), line 3, column 6)"


def test_long_code_is_cut_in_messages() -> None:
    body = " ".join(str(i) for i in range(5000))
    error = transcripts(f"(car (list {body}) '())")[0]
    assert error.startswith("error: car: expected 1 argument, got 2 (in (car (list 0 1 2")
    assert "..., line 1, column 1)" in error
    assert len(error) < 200


def test_a_name_alone_at_top_level_names_its_line_and_column() -> None:
    assert transcripts("(define a 1)\n\n  undefined-x") == ["=> a", "error: unbound variable: undefined-x (line 3, column 3)"]


def test_a_name_inside_a_form_names_the_form_around_it() -> None:
    assert transcripts("(begin 1\n  (if #t undefined-y 0))")[0] == (
        "error: unbound variable: undefined-y (in (if #t undefined-y 0), line 2, column 3)"
    )


def test_an_error_inside_the_prelude_names_the_users_call() -> None:
    assert transcripts("\n(map car 5)") == ["error: map: expected a list, got 5 (integer) (in (map car 5), line 2, column 1)"]
    assert transcripts("(stream-car '())") == ["error: stream-car: the stream is empty (in (stream-car '()), line 1, column 1)"]


def test_syntax_errors_quote_the_binding_as_written() -> None:
    assert transcripts("(let ((a '() 3)) a)") == [
        "error: let: bad binding (a '() 3), expected (NAME VALUE) at line 1, column 1"
    ]


def test_an_error_in_code_built_at_run_time_names_the_eval_call() -> None:
    assert transcripts("(eval (list 'car (list 'quote '())))") == [
        "error: car: expected a pair, got null (empty list) (in (eval (list 'car (list 'quote '()))), line 1, column 1)"
    ]


def test_code_not_read_from_text_is_quoted_as_it_prints() -> None:
    unit = compile_unit(read_all("(car '())").forms[0], "u")
    assert unit.root is not None and unit.root.text() == "(car (quote null))"


def test_display_and_decimals_as_language_md_says() -> None:
    assert transcripts('(display (list "a" 1 (list "b")))') == ["(a 1 (b))\n=> null"]
    assert transcripts("(* 1.5 2) (+ 1e10 1) (/ 1 2.0)") == ["=> 3.0", "=> 10000000001.0", "=> 0.5"]


FAILING = [
    "(car 5)",
    "undefined-name",
    "(undefined-f 1)",
    "(let ((a 1)) (+ a nope))",
    "(map car 5)",
    "(vector-of-nothing)",
    "((lambda (x) x))",
    "(error \"boom\")",
    "(hash-ref (make-hash) 1)",
    "(if)",
    "(let ((x)) x)",
    "(lambda (1) 2)",
    "(+ 1 \"a\")",
    "(stream-cdr 5)",
]


@settings(max_examples=60, deadline=None)
@given(code=st.sampled_from(FAILING), blank_lines=st.integers(0, 4), indent=st.integers(0, 6))
def test_every_error_names_line_and_column(code: str, blank_lines: int, indent: int) -> None:
    source = "(define ok 1)\n" + "\n" * blank_lines + " " * indent + code
    results = list(Evaluator().run_text(source))
    assert results[-1].error is not None
    found = re.search(r"line (\d+), column (\d+)", results[-1].error)
    assert found is not None, results[-1].error
    line, column = int(found.group(1)), int(found.group(2))
    assert line == 2 + blank_lines and indent + 1 <= column <= indent + len(code), results[-1].error
