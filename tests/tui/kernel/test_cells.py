"""Turning the server's execute replies into a cell's outputs (streams, value, one error)."""

from __future__ import annotations

from typing import Any

from omega_tui.kernel.cells import error_name, outcome_of_failure, outcome_of_reply, unshown_output


def form(value: str | None = None, output: str = "", error: str | None = None, code: str | None = None,
         line: int = 1) -> dict[str, Any]:
    return {"line": line, "value": value, "output": output, "error": error, "error_code": code, "steps": 1, "ms": 0.1,
            "input": "x"}


def test_the_last_value_is_the_result_and_output_is_stdout() -> None:
    outcome = outcome_of_reply("(display 1) (define x 2) (+ x 1)", "...", [
        form("null", output="1"), form("x"), form("3")], "s", is_command=False)
    assert (outcome.stdout, outcome.result, outcome.error) == ("1", "3", None)


def test_streamed_output_is_not_shown_twice() -> None:
    outcome = outcome_of_reply("c", "", [form("null", output="abc"), form("1", output="def")], "s",
                               is_command=False, streamed="abcd")
    assert outcome.stdout == "ef"
    assert unshown_output("abc", "") == "abc"
    assert unshown_output("abc", "xyz") == ""  # shown otherwise: nothing repeated


def test_errors_name_their_kind_line_and_column_with_a_caret() -> None:
    cell = "(define y 1)\n(+ y\n   (car 5))"
    message = "car: expected a pair, got 5 (integer) (in (car 5), line 3, column 4)"
    outcome = outcome_of_reply(cell, "", [form("y"), form(error=message, code="eval_error", line=2)], "s",
                               is_command=False)
    assert outcome.result is None
    assert outcome.error is not None
    assert (outcome.error.ename, outcome.error.evalue) == ("EvalError", message)
    assert outcome.error.traceback == (f"EvalError: {message}", "  at line 3, column 4 of the cell:",
                                       "       (car 5))", "       ^")


def test_an_error_without_a_position_points_at_its_form() -> None:
    outcome = outcome_of_reply("(f)\n(loop)", "", [form("1"), form(error="interrupted: stopped", code="interrupted",
                                                                   line=2)], "s", is_command=False)
    assert outcome.error is not None and outcome.error.ename == "Interrupted"
    assert "  at line 2, column 1 of the cell:" in outcome.error.traceback


def test_several_failed_forms_are_all_listed() -> None:
    outcome = outcome_of_reply("(a)\n(b)", "", [form(error="unbound variable: a (in (a), line 1, column 1)",
                                                     code="eval_error"),
                                                form(error="unbound variable: b (in (b), line 2, column 1)",
                                                     code="eval_error", line=2)], "s", is_command=False)
    assert outcome.error is not None
    assert outcome.error.evalue.startswith("unbound variable: a")
    assert outcome.error.traceback[0] == "2 forms of this cell failed:"
    assert any("unbound variable: b" in line for line in outcome.error.traceback)


def test_commands_give_text_or_a_command_error() -> None:
    listing = outcome_of_reply(":session list", "  s (3 events, 0 checkpoints)", [], "s", is_command=True)
    assert listing.result == "  s (3 events, 0 checkpoints)" and listing.error is None
    unknown = outcome_of_reply(":x", "error: unknown command :x (type :help for the list)", [], "s", is_command=True)
    assert unknown.error is not None and unknown.error.ename == "CommandError"
    assert unknown.error.evalue == "unknown command :x (type :help for the list)"
    usage = outcome_of_reply(":session load", "usage: :session load NAME", [], "s", is_command=True)
    assert usage.error is not None and usage.error.ename == "UsageError"


def test_refused_requests_and_error_names() -> None:
    refused = outcome_of_failure("too_large", "input of 5 characters is over the limit", "s")
    assert refused.error is not None and refused.error.ename == "TooLarge"
    assert error_name(None, "ServerUnavailable") == "ServerUnavailable"
    assert error_name("budget_exceeded") == "BudgetExceeded"
