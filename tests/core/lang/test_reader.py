"""The reader (LANGUAGE.md "Reading"): data, positions, every error kind, recovery, round trip."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.errors import ReadError
from omega_core.lang import reader
from omega_core.lang.equality import is_equal
from omega_core.lang.printer import write_string
from omega_core.lang.reader import iter_recovering, read_all, read_one, read_recovering
from omega_core.lang.values import NIL, Pair, Symbol, make_list, sym


def one(text: str) -> Any:
    forms = read_all(text).forms
    assert len(forms) == 1, forms
    return forms[0]


def printed(text: str) -> list[str]:
    return [write_string(form) for form in read_all(text).forms]


def read_error(text: str, **kwargs: Any) -> ReadError:
    with pytest.raises(ReadError) as caught:
        read_all(text, **kwargs)
    return caught.value


# --- atoms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-3", -3),
        ("+5", 5),
        ("007", 7),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
)
def test_integers_are_exact_ints(text: str, value: int) -> None:
    datum = one(text)
    assert type(datum) is int
    assert datum == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("2.5", 2.5), ("-0.5", -0.5), ("1e3", 1000.0), ("1E3", 1000.0), ("2.5e-3", 0.0025), (".5", 0.5),
     ("1.", 1.0), ("-1e+2", -100.0)],
)
def test_decimals_are_floats(text: str, value: float) -> None:
    datum = one(text)
    assert type(datum) is float
    assert datum == value


def test_huge_integer_reads_exactly() -> None:
    digits = "9" * 20_000
    assert one(digits) == 10**20_000 - 1
    assert one("-" + digits) == -(10**20_000 - 1)


@pytest.mark.parametrize("text", ["-", "+", "...", "list->stream", "string-contains?", "infer.op", "a.b", "1+", "-x", "set!", "<=", "call/cc"])
def test_symbols(text: str) -> None:
    datum = one(text)
    assert type(datum) is Symbol
    assert datum is sym(text)  # interned: eq? on symbols is identity


def test_booleans_and_null() -> None:
    assert one("#t") is True
    assert one("#f") is False
    assert one("null") is NIL
    assert printed("#t #f null") == ["#t", "#f", "null"]


@pytest.mark.parametrize(
    ("source", "value"),
    [
        (r'"plain"', "plain"),
        (r'""', ""),
        (r'"a\nb"', "a\nb"),
        (r'"a\tb"', "a\tb"),
        (r'"back\\slash"', "back\\slash"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"\u00e9\u4e2d"', "é中"),
        (r'"\u0041BC"', "ABC"),
        ('"two\nlines"', "two\nlines"),  # a raw newline inside a string is kept
        ('"semi;colon (paren) \'q"', "semi;colon (paren) 'q"),
    ],
)
def test_strings_and_escapes(source: str, value: str) -> None:
    datum = one(source)
    assert type(datum) is str
    assert datum == value


# --- lists, quote, comments ------------------------------------------------------------------


def test_lists_nested() -> None:
    datum = one("(1 (2 3) () \"s\" #t)")
    assert is_equal(datum, make_list([1, make_list([2, 3]), NIL, "s", True]))


def test_empty_list_is_nil() -> None:
    assert one("()") is NIL
    assert one("[]") is NIL


def test_brackets_are_parentheses() -> None:
    assert is_equal(one("[1 [2] (3)]"), one("(1 (2) (3))"))
    assert printed("(let ([x 1] [y 2]) x)") == ["(let ((x 1) (y 2)) x)"]


def test_dotted_pairs() -> None:
    pair = one("(1 . 2)")
    assert type(pair) is Pair and pair.car == 1 and pair.cdr == 2
    assert printed("(1 2 . 3)") == ["(1 2 . 3)"]
    assert is_equal(one("(1 . (2 . (3 . ())))"), make_list([1, 2, 3]))
    assert printed("(a . b)") == ["(a . b)"]


def test_quote_forms() -> None:
    assert is_equal(one("'x"), make_list([sym("quote"), sym("x")]))
    assert is_equal(one("'()"), make_list([sym("quote"), NIL]))
    assert is_equal(one("'(1 2)"), make_list([sym("quote"), make_list([1, 2])]))
    assert printed("''a") == ["(quote (quote a))"]
    # the empty list prints as null (LANGUAGE.md's table), and null reads back as the empty list
    assert printed("(list 'a '(b c) '())") == ["(list (quote a) (quote (b c)) (quote null))"]
    assert printed("' x") == ["(quote x)"]


def test_comments_run_to_end_of_line() -> None:
    text = "; leading comment\n(+ 1 ; inside\n 2) ; trailing\n; last line without newline"
    assert printed(text) == ["(+ 1 2)"]
    assert read_all("; only a comment").forms == []
    assert read_all("").forms == []
    assert read_all("  \n\t ").forms == []


def test_several_forms_in_order() -> None:
    assert printed("(define x 1) x 'y \"s\" (f x)") == ["(define x 1)", "x", "(quote y)", "\"s\"", "(f x)"]


def test_starts_and_spans() -> None:
    text = "(a b)\n  x\n\n  'q (c\n d)"
    result = read_all(text)
    assert result.starts == [(1, 1), (2, 3), (4, 3), (4, 6)]
    assert [text[start:end] for start, end in result.spans] == ["(a b)", "x", "'q", "(c\n d)"]


def test_positions_of_list_forms() -> None:
    text = "(define (f x)\n  (car x))"
    result = read_all(text)
    form = result.forms[0]
    assert result.positions[id(form)] == (1, 1)
    head = form.cdr.car  # (f x)
    assert result.positions[id(head)] == (1, 9)
    body = form.cdr.cdr.car  # (car x)
    assert result.positions[id(body)] == (2, 3)


def test_read_one() -> None:
    assert read_one(" (1 2) ") is not None
    with pytest.raises(ReadError):
        read_one("1 2")


# --- errors ----------------------------------------------------------------------------------


def test_unbalanced_open_names_where_it_opened() -> None:
    error = read_error("(define (f x)\n  (+ x 1)\n")
    assert "never closed" in error.message
    assert (error.line, error.column) == (1, 1)
    assert "line 1, column 1" in error.message


def test_unbalanced_inner_open() -> None:
    error = read_error("(a)\n  (b (c)")
    assert "never closed" in error.message
    assert (error.line, error.column) == (2, 3)


def test_stray_close() -> None:
    error = read_error("(a b))")
    assert 'unexpected ")"' in error.message
    assert (error.line, error.column) == (1, 6)
    error = read_error("x\n  ]")
    assert (error.line, error.column) == (2, 3)


def test_mismatched_bracket() -> None:
    error = read_error("(a\n b]")
    assert '"]" closes "("' in error.message
    assert "line 1, column 1" in error.message  # where the list opened
    assert (error.line, error.column) == (2, 3)


def test_bad_escape() -> None:
    error = read_error('(display "a\\qb")')
    assert 'unknown escape "\\q"' in error.message
    assert (error.line, error.column) == (1, 12)


def test_bad_unicode_escape() -> None:
    error = read_error('"\\u12"')
    assert "escape" in error.message
    assert (error.line, error.column) == (1, 2)


def test_unterminated_string() -> None:
    error = read_error('(a\n "abc')
    assert "unterminated string" in error.message
    assert (error.line, error.column) == (2, 2)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("(. a)", (1, 2)),
        ("(a . b . c)", (1, 8)),
        ("(a . b c)", None),
        ("(a . )", None),
    ],
)
def test_misplaced_dot(text: str, where: tuple[int, int] | None) -> None:
    error = read_error(text)
    assert '"."' in error.message
    if where is not None:
        assert (error.line, error.column) == where


@pytest.mark.parametrize(("text", "where"), [("`(a b)", (1, 1)), ("(a ,b)", (1, 4)), ("(a\n ,@b)", (2, 2))])
def test_quasiquote_refused(text: str, where: tuple[int, int]) -> None:
    error = read_error(text)
    assert "quasiquote" in error.message
    assert "not supported" in error.message
    assert (error.line, error.column) == where


@pytest.mark.parametrize("atom", ["#x", "#\\a", "#(1 2)", "#nil"])
def test_unknown_hash_syntax(atom: str) -> None:
    error = read_error(f"(a {atom})")
    assert "unknown syntax" in error.message
    assert (error.line, error.column) == (1, 4)


def test_quote_with_nothing_after_it() -> None:
    error = read_error("(a ')")
    assert "quote" in error.message
    assert (error.line, error.column) == (1, 5)  # the ")" that came where a datum was due
    error = read_error("x '")
    assert (error.line, error.column) == (1, 3)


def test_nesting_over_max_depth() -> None:
    error = read_error("(((((x)))))", max_depth=3)
    assert "nested deeper than 3" in error.message
    assert (error.line, error.column) == (1, 4)
    assert printed("(((x)))") == ["(((x)))"]
    read_all("(((x)))", max_depth=3)  # exactly at the limit is fine


def test_default_depth_refuses_without_overflow() -> None:
    depth = 50_000
    error = read_error("(" * depth + ")" * depth)
    assert "nested deeper than" in error.message


def test_deep_nesting_within_limit_reads_iteratively() -> None:
    depth = 9_000
    datum = one("(" * depth + "x" + ")" * depth)
    for _ in range(depth):
        assert type(datum) is Pair
        datum = datum.car
    assert datum is sym("x")


def test_long_list_reads() -> None:
    items = read_all("(" + " ".join(str(i) for i in range(200_000)) + ")").forms[0]
    count = 0
    while type(items) is Pair:
        assert items.car == count
        count += 1
        items = items.cdr
    assert count == 200_000


def test_error_is_a_readerror_with_parse_code() -> None:
    error = read_error(")")
    assert isinstance(error, ReadError)
    assert error.code == "parse_error"
    assert error.message.endswith("at line 1, column 1")


# --- recovery ----------------------------------------------------------------------------------


BAD_FORMS = [
    pytest.param("(bad (x", (2, 1), "never closed", id="unbalanced"),
    pytest.param(")", (2, 1), 'unexpected ")"', id="stray-close"),
    pytest.param('(bad "a\\qb")', (2, 8), "unknown escape", id="bad-escape"),
    pytest.param("(bad . x . y)", (2, 10), '"."', id="misplaced-dot"),
    pytest.param("`(bad)", (2, 1), "quasiquote", id="quasiquote"),
    pytest.param("(bad #x)", (2, 6), "unknown syntax", id="hash-syntax"),
    pytest.param("((((((deep))))))", (2, 5), "nested deeper", id="too-deep"),
    pytest.param("(bad]", (2, 5), "closes", id="mismatched"),
    pytest.param('(bad "open', (2, 6), "unterminated string", id="unterminated-string"),
    pytest.param("(bad ')", (2, 7), "quote", id="dangling-quote"),
]


def _summary(items: list[Any]) -> list[Any]:
    return [item if isinstance(item, ReadError) else write_string(item[0]) for item in items]


@pytest.mark.parametrize(("bad", "where", "fragment"), BAD_FORMS)
def test_read_recovering_resumes_after_each_error_kind(bad: str, where: tuple[int, int], fragment: str) -> None:
    text = f"(ok 1)\n{bad}\n(ok 2)\n"
    items = read_recovering(text, max_depth=4)
    summary = _summary(items)
    assert len(summary) == 3, summary
    assert summary[0] == "(ok 1)"
    assert summary[2] == "(ok 2)"
    error = summary[1]
    assert isinstance(error, ReadError)
    assert fragment in error.message
    assert (error.line, error.column) == where


def test_read_recovering_items_carry_spans_and_positions() -> None:
    text = "(a 1)\n(b \"\\q\")\n(c\n   (d))"
    items = read_recovering(text)
    datum, (start, end), positions = items[0]
    assert text[start:end] == "(a 1)"
    datum, (start, end), positions = items[2]
    assert text[start:end] == "(c\n   (d))"
    assert positions[id(datum)] == (3, 1)
    assert positions[id(datum.cdr.car)] == (4, 4)


def test_read_recovering_several_errors_and_stray_close_mid_line() -> None:
    text = "(a) ) (b)\n(c \"\\z\")\n(d)\n(e"
    summary = _summary(read_recovering(text))
    assert [s if isinstance(s, str) else type(s).__name__ for s in summary] == [
        "(a)", "ReadError", "(b)", "ReadError", "(d)", "ReadError",
    ]
    assert (summary[1].line, summary[1].column) == (1, 5)
    assert (summary[3].line, summary[3].column) == (2, 5)
    assert (summary[5].line, summary[5].column) == (4, 1)


def test_read_recovering_empty_and_clean() -> None:
    assert read_recovering("") == []
    assert read_recovering("; nothing\n") == []
    assert _summary(read_recovering("1 2 'x")) == ["1", "2", "(quote x)"]


# --- round trip ----------------------------------------------------------------------------------

_SAFE_FIRST = "abcdefghijklmnopqrstuvwxyz"
_SAFE_REST = _SAFE_FIRST + "0123456789-!?*<>=/_"

symbols = st.builds(
    lambda first, rest: sym(first + rest),
    st.sampled_from(_SAFE_FIRST),
    st.text(alphabet=_SAFE_REST, max_size=8),
).filter(lambda s: s.name != "null")

strings = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))

atoms = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
    st.booleans(),
    symbols,
    st.just(NIL),
)

data = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.lists(children, max_size=6).map(make_list),
        st.tuples(st.lists(children, min_size=1, max_size=4), atoms.filter(lambda a: a is not NIL)).map(
            lambda parts: make_list(parts[0], parts[1])
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, database=None)
@given(data)
def test_printed_data_reads_back_equal(datum: Any) -> None:
    text = write_string(datum)
    forms = read_all(text).forms
    assert len(forms) == 1, text
    assert is_equal(forms[0], datum), (text, write_string(forms[0]))
    assert write_string(forms[0]) == text


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(data, max_size=5))
def test_several_printed_data_read_back_in_order(items: list[Any]) -> None:
    text = "\n".join(write_string(item) for item in items)
    forms = read_all(text).forms
    assert len(forms) == len(items)
    for got, expected in zip(forms, items):
        assert is_equal(got, expected)


@pytest.mark.parametrize("text", ["\b", "\f", "a\bb\fc"])
def test_strings_with_backspace_and_formfeed_read_back(text: str) -> None:
    assert one(write_string(text)) == text


def test_surrogate_pair_escape_reads_as_one_character() -> None:
    assert one('"\\ud83d\\ude00"') == "\U0001F600"


def test_float_extremes_read_back() -> None:
    for value in (5e-324, 1e308, -1e-300, 0.1, 1 / 3, 1e16, 123456789.125, -0.0):
        got = one(write_string(value))
        assert type(got) is float
        assert got == value and math.copysign(1, got) == math.copysign(1, value)


def test_module_exposes_read_failure_with_partial_result() -> None:
    with pytest.raises(reader.ReadFailure) as caught:
        read_all("(a) (b) (c")
    failure = caught.value
    assert [write_string(f) for f in failure.partial.forms] == ["(a)", "(b)"]


def test_each_form_carries_only_its_own_positions() -> None:
    """A form is compiled with its positions copied: one table for a whole file made each of
    its forms copy all of them (a file of 20,000 defines took 84 s to run, 9 s now)."""
    text = "\n".join(f"(define (f{n} x) (list x '(a b)))" for n in range(300))
    items = read_recovering(text)
    assert len(items) == 300
    sizes = {len(positions) for _, _, positions in items}  # type: ignore[misc]
    assert sizes == {len(items[0][2])} and len(items[0][2]) <= 6  # type: ignore[index]
    datum, span, positions = items[-1]  # type: ignore[misc]
    assert positions[id(datum)] == (300, 1) and span[0] == text.rindex("(define")
    together = read_all(text)  # all forms' positions in one table, as before
    assert together.positions[id(together.forms[-1])] == (300, 1)
    assert len(together.positions) == 300 * len(positions)


def test_forms_are_read_as_they_are_asked_for(monkeypatch) -> None:
    """An evaluator runs a form before the next is read: reading a 1 MB input at once held the
    backend's loop for seconds."""
    from omega_core.lang import reader as reader_module

    atoms: list[str] = []
    real_parse = reader_module.parse_atom
    monkeypatch.setattr(reader_module, "parse_atom", lambda atom: atoms.append(atom) or real_parse(atom))
    forms = iter_recovering("(+ 1 2)\n(* 3 4)\n(oops\n(- 5 6)")
    first = next(forms)
    assert write_string(first[0]) == "(+ 1 2)" and atoms == ["+", "1", "2"]  # type: ignore[index]
    rest = list(forms)
    assert write_string(rest[0][0]) == "(* 3 4)"  # type: ignore[index]
    assert isinstance(rest[1], ReadError) and (rest[1].line, rest[1].column) == (3, 1)
    assert write_string(rest[2][0]) == "(- 5 6)" and len(rest) == 3  # type: ignore[index]
