"""The kernel's scanner: completeness by parentheses (strings and comments respected), the symbol at
the cursor, top-level forms and how a cell is cut into requests."""

from __future__ import annotations

import pytest

from omega_tui.kernel.syntax import Completeness, Entry, cell_entries, completeness, symbol_around, symbol_before, top_level_forms


@pytest.mark.parametrize(("code", "status", "indent"), [
    ("(+ 1 2)", Completeness.COMPLETE, ""),
    ("", Completeness.COMPLETE, ""),
    ("(define (f x)", Completeness.INCOMPLETE, "  "),
    ("(define (f x)\n  (if x", Completeness.INCOMPLETE, "    "),
    ("(+ 1 2))", Completeness.INVALID, ""),
    ('(display ")")', Completeness.COMPLETE, ""),
    ('(display "(")', Completeness.COMPLETE, ""),
    ('(display "a\\"(")', Completeness.COMPLETE, ""),
    ('(display "abc', Completeness.INCOMPLETE, ""),
    ("(+ 1 2) ; (", Completeness.COMPLETE, ""),
    ("; )\n(+ 1", Completeness.INCOMPLETE, "  "),
    ("[let ((x 1)) x", Completeness.INCOMPLETE, "  "),
    (":session load (", Completeness.COMPLETE, ""),
])
def test_completeness(code: str, status: Completeness, indent: str) -> None:
    assert completeness(code) == (status, indent)


def test_symbol_before_the_cursor() -> None:
    assert symbol_before("(string-ap", 10) == (1, "string-ap")
    assert symbol_before("(f ", 3) == (3, "")
    assert symbol_before('(display "str', 13) is None  # in a string
    assert symbol_before("; com", 5) is None  # in a comment
    assert symbol_before("'(a b", 5) == (4, "b")


def test_symbol_around_the_cursor() -> None:
    assert symbol_around("(my-proc 1 2)", 3) == "my-proc"
    assert symbol_around("(my-proc 1 2)", 8) == "my-proc"
    assert symbol_around("(my-proc 1 2)", 0) == "my-proc"  # on the paren: what it applies
    assert symbol_around('"in a string"', 4) is None
    assert symbol_around("", 0) is None


def test_top_level_forms_skip_strings_comments_and_atoms() -> None:
    code = '; (define (no) 1)\n(define (f x) ")")\n42\n(g [1 2])'
    assert top_level_forms(code) == ['(define (f x) ")")', "(g [1 2])"]


def test_cell_entries_cut_at_command_lines_outside_forms() -> None:
    cell = "(define x 1)\n(+ x 1)\n:session checkpoints\n\n(list\n:not-a-command)\n:defs"
    assert cell_entries(cell) == [
        Entry("(define x 1)\n(+ x 1)", 1, False),
        Entry(":session checkpoints", 3, True),
        Entry("\n(list\n:not-a-command)", 4, False),
        Entry(":defs", 7, True),
    ]
    assert cell_entries("   \n") == []
    assert cell_entries("  :help") == [Entry(":help", 1, True)]
