"""The printed forms of LANGUAGE.md's table, display vs write, long/deep data and truncation."""

from __future__ import annotations

import json
import math
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.lang.printer import (
    display_string,
    short_string,
    truncate_output,
    write_string,
    write_string_cut,
)
from omega_core.lang.values import (
    NIL,
    UNSPECIFIED,
    Closure,
    Continuation,
    HashTable,
    MachinePrimitive,
    OracleProc,
    Pair,
    Primitive,
    Promise,
    Symbol,
    make_list,
    sym,
)


def closure(params: tuple[str, ...], rest: str | None = None, builtin: str | None = None) -> Closure:
    return Closure(SimpleNamespace(params=params, rest=rest), None, builtin)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (-7, "-7"),
        (0, "0"),
        (2.5, "2.5"),
        (1 / 3, "0.3333333333333333"),
        (1000.0, "1000.0"),
        (-0.5, "-0.5"),
        (math.inf, "+inf.0"),
        (-math.inf, "-inf.0"),
        (math.nan, "+nan.0"),
        ("abc", '"abc"'),
        ('a"b\nc', '"a\\"b\\nc"'),
        ("tab\there\\", '"tab\\there\\\\"'),
        ("héllo ✓", '"héllo ✓"'),
        ("", '""'),
        (True, "#t"),
        (False, "#f"),
        (NIL, "null"),
        (UNSPECIFIED, "null"),
        (sym("a"), "a"),
        (sym("string-contains?"), "string-contains?"),
        (make_list([1, make_list([2]), "s", True]), '(1 (2) "s" #t)'),
        (Pair(1, 2), "(1 . 2)"),
        (make_list([1, 2], 3), "(1 2 . 3)"),
        (make_list([Pair(1, 2)]), "((1 . 2))"),
        (Pair(Pair(1, 2), Pair(3, 4)), "((1 . 2) 3 . 4)"),
        (make_list([NIL]), "(null)"),
        (make_list([sym("quote"), sym("x")]), "(quote x)"),
        (make_list([1.0, -2, sym("b"), False]), "(1.0 -2 b #f)"),
    ],
)
def test_write_table(value: Any, text: str) -> None:
    assert write_string(value) == text


def test_booleans_are_not_printed_as_integers() -> None:
    assert write_string(make_list([True, 1, False, 0])) == "(#t 1 #f 0)"


def test_huge_integers_print_exactly() -> None:
    """Beyond Python's 4,300-digit str() guard, and still exact."""
    n = 7**20000
    text = write_string(n)
    old_limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        expected = str(n)
    finally:
        sys.set_int_max_str_digits(old_limit)
    assert len(text) > 16000 and text == expected
    assert write_string(-n) == "-" + expected
    assert write_string(-(10**5000)) == "-1" + "0" * 5000


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (closure(("x",)), "<closure (x)>"),
        (closure(("x", "y")), "<closure (x y)>"),
        (closure(("a",), "rest"), "<closure (a . rest)>"),
        (closure((), "args"), "<closure args>"),
        (closure(()), "<closure ()>"),
        (closure(("f", "lst"), None, "map"), "<prim>"),
        (Primitive("car", lambda p: p, 1, 1), "<prim>"),
        (MachinePrimitive("apply", "apply", 2, None), "<prim>"),
        (Continuation(()), "<continuation>"),
        (OracleProc(None, None), "<oracle-proc>"),
        (Promise(), "<promise>"),
    ],
)
def test_procedures_and_opaque_values(value: Any, text: str) -> None:
    assert write_string(value) == text
    assert display_string(value) == text


def test_closure_params_given_as_symbols() -> None:
    value = Closure(SimpleNamespace(params=(sym("x"),), rest=sym("r")), None)
    assert write_string(value) == "<closure (x . r)>"


def test_hash_table_shows_its_size() -> None:
    table = HashTable()
    assert write_string(table) == "<hash-table 0>"
    table.table["a"] = 1
    table.table["b"] = 2
    assert write_string(make_list([table])) == "(<hash-table 2>)"


def test_display_writes_strings_raw_at_any_depth() -> None:
    assert display_string("a\"b\nc") == 'a"b\nc'
    assert display_string(make_list(["a b", make_list(["c"]), 1, sym("s")])) == "(a b (c) 1 s)"
    assert display_string(Pair("x", "y")) == "(x . y)"
    assert display_string(2.5) == "2.5"
    assert display_string(NIL) == "null"


def test_long_list_prints_iteratively() -> None:
    lst = make_list(range(1_000_000))
    text = write_string(lst)
    assert text.startswith("(0 1 2 ") and text.endswith(" 999998 999999)")
    assert text.count(" ") == 999_999


def test_deep_list_prints_iteratively() -> None:
    depth = 100_000
    assert depth > sys.getrecursionlimit()
    value: Any = NIL
    for _ in range(depth):
        value = Pair(value, NIL)
    assert write_string(value) == "(" * depth + "null" + ")" * depth
    value = 0
    for i in range(depth):
        value = make_list([i, value, "s"])
    text = display_string(value)
    assert text.startswith(f"({depth - 1} ({depth - 2} ") and text.endswith(" s) s)")


def test_deep_cdr_nesting_and_long_improper_tail() -> None:
    lst = make_list(range(200_000), 7)
    assert write_string(lst).endswith(" 199999 . 7)")
    value: Any = 1
    for _ in range(100_000):
        value = Pair(value, value if type(value) is not Pair else 2)
    assert write_string(value).startswith("((((")


def test_short_string_cuts_without_rendering_everything() -> None:
    assert short_string(make_list([1, 2])) == "(1 2)"
    long = short_string(make_list(range(1_000_000)))
    assert long.startswith("(0 1 2 3") and long.endswith("...") and len(long) == 60
    assert short_string("x" * 100).endswith('xx...')
    deep: Any = NIL
    for _ in range(100_000):
        deep = Pair(deep, NIL)
    assert short_string(deep) == "(" * 57 + "..."


def test_truncate_output() -> None:
    assert truncate_output("hello", 10) == "hello"
    assert truncate_output("hello", 5) == "hello"
    assert truncate_output("hello world", 5) == "hello... [output truncated: 6 more characters]"
    assert truncate_output("abc", 0) == "... [output truncated: 3 more characters]"


def test_a_value_printed_for_a_reply_stops_at_the_limit_and_says_so() -> None:
    """A result of a million elements is not printed whole for all but its first characters to be
    dropped: the printer stops at the limit, and the note says the value is longer."""
    cut = write_string_cut(make_list(range(1_000_000)), 50)
    assert cut.startswith("(0 1 2 3") and len(cut) < 200
    assert cut.endswith("... [output truncated: the value prints to more than 50 characters]")
    assert write_string_cut(make_list(range(3)), 50) == "(0 1 2)"
    assert write_string_cut("x" * 60, 50) == truncate_output(write_string("x" * 60), 50)  # whole: counted


def test_display_with_a_limit_renders_no_more_than_about_that() -> None:
    text = display_string(make_list(["ab"] * 1_000_000), 100)
    assert text.startswith("(ab ab ab") and 100 < len(text) < 120
    assert display_string(make_list(["ab"] * 3), 100) == "(ab ab ab)"


# --- property: the iterative printer agrees with an obvious recursive one -----------------------


def reference_write(value: Any) -> str:
    """The printer as the table describes it, written recursively (fine for small depths)."""
    if value is True:
        return "#t"
    if value is False:
        return "#f"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if math.isnan(value):
            return "+nan.0"
        if math.isinf(value):
            return "+inf.0" if value > 0 else "-inf.0"
        return repr(value)
    if type(value) is str:
        return json.dumps(value, ensure_ascii=False)
    if type(value) is Symbol:
        return value.name
    if value is NIL:
        return "null"
    assert type(value) is Pair
    items = []
    while type(value) is Pair:
        items.append(reference_write(value.car))
        value = value.cdr
    tail = "" if value is NIL else " . " + reference_write(value)
    return "(" + " ".join(items) + tail + ")"


atoms = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.sampled_from(["a", "foo", "list->stream", "x1", "+"]).map(sym),
    st.just(NIL),
)
data = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.lists(children, max_size=5).map(make_list),
        st.tuples(st.lists(children, min_size=1, max_size=4), atoms.filter(lambda a: a is not NIL))
        .map(lambda pair: make_list(pair[0], pair[1])),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(data)
def test_write_matches_reference_printer(value: Any) -> None:
    assert write_string(value) == reference_write(value)
