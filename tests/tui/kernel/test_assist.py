"""Completion candidates and what inspection says, from the server's answers (no server here)."""

from __future__ import annotations

from omega_tui.kernel.assist import builtin_names, command_names, complete, definition_source, describe_name
from omega_tui.kernel.link import accepts_on_output, parse_defs


def test_builtins_cover_primitives_prelude_and_special_forms_but_not_internals() -> None:
    names = builtin_names()
    assert {"car", "map", "string-append", "define", "lambda", "oracle-lambda", "call/cc"} <= names
    assert not any(name.startswith("%") for name in names)


def test_completion_puts_own_names_first() -> None:
    found = complete("(ma", 3, ["mandel", "z"])
    assert found.matches[0] == "mandel" and "map" in found.matches
    assert (found.start, found.end) == (1, 3)
    assert complete("(", 1, ["x"]).matches == ()


def test_command_completion_covers_the_whole_line() -> None:
    found = complete("(+ 1 2)\n:session ch", 19, [])
    assert ":session checkpoints" in found.matches and found.start == 8
    assert ":session timeline" in command_names()


def test_definition_source_is_the_latest_define() -> None:
    inputs = ["(define (f x) 1)", "(display 1)\n(define (f x y)\n  (+ x y))\n(f 1 2)", "(define fx 3)"]
    assert definition_source("f", inputs) == "(define (f x y)\n  (+ x y))"
    assert definition_source("fx", inputs) == "(define fx 3)"
    assert definition_source("g", inputs) is None


def test_describe_name() -> None:
    text = describe_name("f", "f = <closure (x y)>", "(define (f x y) (+ x y))")
    assert text == "f: procedure\n  parameters: (x y)\n\n(define (f x y) (+ x y))"
    assert "not among" in (describe_name("g", "g = <closure ()>", None) or "")
    assert describe_name("car", "car = <prim>", None) == "car: primitive procedure (builtin)"
    assert describe_name("n", "n = 42", "(define n 42)") == "n = 42\n\n(define n 42)"
    assert describe_name("nope", "error: nope is not defined", None) is None
    assert "(if TEST THEN [ELSE])" in (describe_name("if", None, None) or "")


def test_parse_defs_reads_the_defs_listing() -> None:
    assert parse_defs("  f      procedure\n  total  value") == ["f", "total"]
    assert parse_defs("No user definitions.") == []


def test_streaming_is_used_only_when_execute_takes_on_output() -> None:
    def old(line: str, session: str | None = None, first_line: int = 1) -> None: ...

    def new(line: str, session: str | None = None, first_line: int = 1, on_output: object = None) -> None: ...

    assert accepts_on_output(old) is False
    assert accepts_on_output(new) is True
