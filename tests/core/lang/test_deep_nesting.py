"""Nothing in the language uses the host's stack on nested code or data (issues 14.1 and 10.7).

Source nested up to ``[language] max_read_depth`` (10,000) is read, compiled, run and ``eval``-ed;
data nested 100,000 deep, built at run time, is printed, compared with ``equal?`` and used as a
hash key. Shapes are random: each level wraps the next in one of several list shapes, so the walks
meet nesting in cars, in cdrs, behind quotes and between other elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from omega_core.config import LanguageConfig
from omega_core.evaluator import Evaluator
from omega_core.lang.compiler import compile_unit
from omega_core.lang.equality import hash_key, is_equal
from omega_core.lang.printer import display_string, write_string
from omega_core.lang.reader import read_all
from omega_core.lang.values import NIL, Pair, make_list, sym

MAX_READ_DEPTH = LanguageConfig().max_read_depth
RUNTIME_DEPTH = 100_000
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
"""Shrinking a 100,000-level example takes minutes; a failure prints its (unshrunk) example anyway."""


def run(evaluator: Evaluator, source: str) -> list[str]:
    return [result.transcript() for result in evaluator.run_text(source)]


# --- data shapes: (source prefix, source suffix, printed prefix, printed suffix, Python builder) ---


@dataclass(frozen=True)
class Shape:
    """One level of nesting, as source text, as printed text and as a builder of the value."""

    source_open: str
    source_close: str
    printed_open: str
    printed_close: str
    build: Callable[[Any], Any]


DATA_SHAPES = [
    Shape("(", ")", "(", ")", lambda x: make_list([x])),
    Shape("(a ", ")", "(a ", ")", lambda x: make_list([sym("a"), x])),
    Shape("(", " . 1)", "(", " . 1)", lambda x: Pair(x, 1)),
    Shape("[", ' "s" 2.5]', "(", ' "s" 2.5)', lambda x: make_list([x, "s", 2.5])),
    Shape("'", "", "(quote ", ")", lambda x: make_list([sym("quote"), x])),
    Shape("(#t ", " null)", "(#t ", " null)", lambda x: make_list([True, x, NIL])),
]

shapes = st.lists(st.sampled_from(DATA_SHAPES), min_size=1, max_size=12)


def nested_text(levels: list[Shape], depth: int, core: str, printed: bool) -> str:
    """The text of ``depth`` levels (cycling through ``levels``, outermost first) around ``core``."""
    cycle = [levels[i % len(levels)] for i in range(depth)]
    opens = "".join(s.printed_open if printed else s.source_open for s in cycle)
    closes = "".join(s.printed_close if printed else s.source_close for s in reversed(cycle))
    return opens + core + closes


def nested_value(levels: list[Shape], depth: int, core: Any) -> Any:
    value = core
    for i in range(depth - 1, -1, -1):
        value = levels[i % len(levels)].build(value)
    return value


def list_depth(levels: list[Shape], depth: int) -> int:
    """How many open lists the reader holds at the deepest point (a quote opens none)."""
    return sum(1 for i in range(depth) if levels[i % len(levels)].source_open != "'")


# --- reader and printer -------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, phases=NO_SHRINK)
@given(levels=shapes, depth=st.integers(1, MAX_READ_DEPTH), core=st.sampled_from(["x", "42", '"t"', "()"]))
def test_reader_and_printer_round_trip_any_nesting_the_reader_accepts(levels: list[Shape], depth: int, core: str) -> None:
    opens = list_depth(levels, depth)
    if core == "()":
        opens += 1
    if opens > MAX_READ_DEPTH:
        return
    datum = read_all(nested_text(levels, depth, core, printed=False)).forms[0]
    printed_core = "null" if core == "()" else core
    assert write_string(datum) == nested_text(levels, depth, printed_core, printed=True)
    displayed = nested_text(levels, depth, printed_core.strip('"'), printed=True).replace('"s"', "s")
    assert display_string(datum) == displayed


def test_reader_refuses_nesting_past_its_limit_with_a_clear_error() -> None:
    depth = MAX_READ_DEPTH + 1
    transcript = run(Evaluator(), "(" * depth + ")" * depth)
    assert transcript == [
        f"error: input nested deeper than {MAX_READ_DEPTH} levels (raise [language] max_read_depth if you need more) "
        f"at line 1, column {MAX_READ_DEPTH + 1}"
    ]


@settings(max_examples=4, deadline=None, phases=NO_SHRINK)
@given(levels=shapes, depth=st.integers(1, RUNTIME_DEPTH))
@example(levels=DATA_SHAPES, depth=RUNTIME_DEPTH)
def test_printer_equal_and_hash_on_data_built_in_python(levels: list[Shape], depth: int) -> None:
    first = nested_value(levels, depth, 7)
    second = nested_value(levels, depth, 7)
    other = nested_value(levels, depth, 8)
    assert write_string(first) == nested_text(levels, depth, "7", printed=True)
    assert is_equal(first, second) and not is_equal(first, other)
    table = {hash_key(first): "found"}
    assert table.get(hash_key(second)) == "found"
    assert hash_key(other) not in table


def test_hash_keys_tell_apart_trees_with_the_same_atoms() -> None:
    a, b, c = 1, 2, 3
    shapes_of_three = [
        make_list([a, b, c]),
        make_list([make_list([a, b]), c]),
        make_list([a, make_list([b, c])]),
        Pair(a, Pair(b, c)),
        Pair(Pair(a, b), c),
        make_list([make_list([a]), b, c]),
    ]
    keys = {hash_key(value) for value in shapes_of_three}
    assert len(keys) == len(shapes_of_three)
    assert hash_key(1) != hash_key(1.0) != hash_key(True)


# --- compiler, machine and eval -----------------------------------------------------------------


@dataclass(frozen=True)
class CodeShape:
    """One level of nested code around X and what it does to X's value."""

    open: str
    close: str
    apply: Callable[[int], int]


CODE_SHAPES = [
    CodeShape("(+ 1 ", ")", lambda v: v + 1),
    CodeShape("(- ", " 2)", lambda v: v - 2),
    CodeShape("(if #t ", " 0)", lambda v: v),
    CodeShape("(let ((v ", ")) v)", lambda v: v),
    CodeShape("((lambda (y) (* y 2)) ", ")", lambda v: v * 2 % 1000),
    CodeShape("(begin 1 ", ")", lambda v: v),
    CodeShape("(car (list ", "))", lambda v: v),
    CodeShape("(cond (#f 0) (else ", "))", lambda v: v),
    CodeShape("(and #t ", ")", lambda v: v),
]
"""Shapes that deepen the expression, not the scope chain (a variable lookup walks the scopes)."""


def code_and_value(levels: list[CodeShape], depth: int) -> tuple[str, int]:
    cycle = [levels[i % len(levels)] for i in range(depth)]
    value = 0
    for shape in reversed(cycle):
        value = shape.apply(value)
    text = "".join(s.open for s in cycle) + "0" + "".join(s.close for s in reversed(cycle))
    text = text.replace("(* y 2)", "(modulo (* y 2) 1000)")
    return text, value


code_shapes = st.lists(st.sampled_from(CODE_SHAPES), min_size=1, max_size=9)


@settings(max_examples=8, deadline=None, phases=NO_SHRINK)
@given(levels=code_shapes, depth=st.integers(1, MAX_READ_DEPTH // 3))
def test_deep_source_compiles_runs_and_evals(levels: list[CodeShape], depth: int) -> None:
    code, expected = code_and_value(levels, depth)
    evaluator = Evaluator()
    assert run(evaluator, code) == [f"=> {expected}"]
    assert run(evaluator, f"(eval (quote {code}))") == [f"=> {expected}"]


def test_source_nested_as_deep_as_the_reader_allows() -> None:
    depth = MAX_READ_DEPTH - 1
    assert run(Evaluator(), "(+ 1 " * depth + "0" + ")" * depth) == [f"=> {depth}"]


def test_compiling_the_deepest_code_keeps_the_node_order_of_a_recursive_walk() -> None:
    """Parents are made after their operands, operands left to right (the serializer relies on it)."""
    unit = compile_unit(read_all("(f (g 1) (h (k 2)))").forms[0], "u")
    names = [getattr(node, "name", None) or type(node).__name__ for node in unit.nodes]
    assert names == ["f", "g", "Const", "Call", "h", "k", "Const", "Call", "Call", "Call"]


@settings(max_examples=2, deadline=None, phases=NO_SHRINK)
@given(levels=shapes, depth=st.integers(9_000, 12_000))
@example(levels=[DATA_SHAPES[0]], depth=RUNTIME_DEPTH)
def test_data_built_at_run_time_prints_compares_hashes_and_evals(levels: list[Shape], depth: int) -> None:
    # Omega builds the value level by level, cycling through the same wrappers as the Python side.
    wrappers = {
        DATA_SHAPES[0]: "(list x)",
        DATA_SHAPES[1]: "(list 'a x)",
        DATA_SHAPES[2]: "(cons x 1)",
        DATA_SHAPES[3]: '(list x "s" 2.5)',
        DATA_SHAPES[4]: "(list 'quote x)",
        DATA_SHAPES[5]: "(list #t x null)",
    }
    period = len(levels)
    steps = " ".join(f"((= k {k}) {wrappers[levels[k]]})" for k in range(period))
    evaluator = Evaluator(language=LanguageConfig(max_output_chars=10_000_000))
    program = f"""
    (define (wrap x i) (let ((k (modulo i {period}))) (cond {steps} (else x))))
    (define (build i x) (if (< i 0) x (build (- i 1) (wrap x i))))
    (define d (build {depth - 1} 7))
    (define h (make-hash))
    (hash-set! h d "found")
    """
    assert all(not line.startswith("error") for line in run(evaluator, program))
    # An equal value that is not the same object, made in Python (building it in Omega doubles the time).
    evaluator.machine.globals["e"] = nested_value(levels, depth, 7)
    expected_text = nested_text(levels, depth, "7", printed=True)
    assert run(evaluator, "d") == [f"=> {expected_text}"]
    assert run(evaluator, "(equal? d e) (equal? d (build 3 7))") == ["=> #t", "=> #f"]
    assert run(evaluator, "(hash-ref h e 0) (hash-ref h 7 0)") == ['=> "found"', "=> 0"]
    assert run(evaluator, "(equal? (eval (list 'quote d)) e)") == ["=> #t"]
    result = list(evaluator.run_text("(display d)"))[0]
    assert result.output == nested_text(levels, depth, "7", printed=True).replace('"s"', "s")
