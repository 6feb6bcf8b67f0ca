"""Globals read by generated code are kept until the global table changes (``global_cache.py``).

The kept values are exact only if every change of a ``GlobalTable`` gives it a new ``stamp``: these
tests change globals in each way the system does (``define``, ``set!``, the undo of a stopped
command, which puts values back and removes names it added) after the code that reads them ran,
and check the code sees the change."""

from __future__ import annotations

import sys
from typing import Any, Callable

import pytest

from omega_core.config import LanguageConfig
from omega_core.evaluator import Evaluator
from omega_core.lang.global_cache import ReadCache, refill
from omega_core.lang.values import READ_CACHES_BOUND, GlobalTable


def values(evaluator: Evaluator, text: str) -> list[str | None]:
    return [result.value if result.ok else f"error: {result.error}" for result in evaluator.run_text(text)]


CHANGES: list[tuple[str, Callable[[GlobalTable], Any]]] = [
    ("set an item", lambda table: table.__setitem__("x", 2)),
    ("delete an item", lambda table: table.__delitem__("x")),
    ("pop", lambda table: table.pop("x")),
    ("pop an absent name", lambda table: table.pop("nothing", None)),
    ("popitem", lambda table: table.popitem()),
    ("clear", lambda table: table.clear()),
    ("update", lambda table: table.update({"y": 3})),
    ("update in place", lambda table: table.__ior__({"y": 3})),
    ("setdefault", lambda table: table.setdefault("y", 3)),
]


@pytest.mark.parametrize("change", [change for _, change in CHANGES], ids=[name for name, _ in CHANGES])
def test_every_change_of_a_table_gives_it_a_new_stamp(change: Callable[[GlobalTable], Any]) -> None:
    table = GlobalTable({"x": 1})
    before = table.stamp
    change(table)
    assert table.stamp is not before


def test_reading_a_table_keeps_its_stamp() -> None:
    table = GlobalTable({"x": 1})
    before = table.stamp
    assert table.get("x") == 1 and table["x"] == 1 and "x" in table and list(table.items()) == [("x", 1)]
    assert table.stamp is before
    assert GlobalTable().stamp is not GlobalTable().stamp  # a table's stamp is its own


def test_a_global_set_after_the_code_reading_it_ran() -> None:
    evaluator = Evaluator()
    results = values(evaluator, "(define (g x) x)\n(define (f n) (g (- n 1)))\n(f 5)\n(set! g (lambda (x) (* x 10)))\n"
                                "(f 5)\n(set! - +)\n(f 5)")
    assert results[2::2] == ["4", "40", "60"]


def test_a_stopped_command_s_changes_are_undone_for_code_that_read_them() -> None:
    """Each command changes a global, runs the code reading it, and is stopped by its step budget:
    the undo removes the name it added (a ``pop``) or puts ``-`` back (an item set), which the code
    must see."""
    evaluator = Evaluator(language=LanguageConfig(step_budget=5_000))
    unbound = "error: unbound variable: zz (in (zz (- n 1)), line 1, column 15)"
    assert values(evaluator, "(define (h n) (zz (- n 1)))\n(h 5)") == ["h", unbound]
    loop_forever = "(let loop () (loop))"
    for change, seen in [("(define (zz x) (* x 100))", "400"), ("(set! - +)", "600")]:
        results = list(evaluator.run_text(f"(begin {change} (display (h 5)) {loop_forever})"))
        assert results[0].output == seen and results[0].error.startswith("step budget exceeded")
        if change.startswith("(define"):
            assert values(evaluator, "(h 5)") == [unbound]
            values(evaluator, "(define (zz x) (* x 100))\n(h 5)")  # the code reads zz again
    assert values(evaluator, "(h 5)") == ["400"]


def test_a_definition_inside_a_running_command_is_seen_by_the_same_command() -> None:
    evaluator = Evaluator()
    assert values(evaluator, "(define (k n) (if (< n 2) 'small 'big))\n"
                             "(list (k 1) (begin (set! < >) (k 1)) (begin (set! < <=) (k 1)))") == [
        "k", "(small big small)"]


def test_machines_sharing_the_prelude_s_code_each_see_their_own_globals() -> None:
    """The prelude's nodes (and so their generated code and its kept globals) are shared by every
    machine of the process: ``map`` reads ``reverse`` from the table of the machine running it."""
    mine, plain = Evaluator(), Evaluator()
    assert values(mine, "(define (reverse xs) 'mine)") == ["reverse"]
    for _ in range(3):
        assert values(mine, "(map car '((1) (2)))") == ["mine"]
        assert values(plain, "(map car '((1) (2)))") == ["(1 2)"]


@pytest.mark.parametrize("change", [change for _, change in CHANGES], ids=[name for name, _ in CHANGES])
def test_every_change_of_a_table_empties_the_caches_filled_from_it(change: Callable[[GlobalTable], Any]) -> None:
    table = GlobalTable({"x": 1})
    cache = ReadCache()
    refill(cache, ("x",), table, object())
    assert cache.snapshot[1] == 1 and table.read_caches == [cache]
    change(table)
    assert cache.snapshot[0] is None and table.read_caches == []  # holds nothing, reads again next time


def test_code_that_read_a_global_does_not_keep_its_old_value_alive() -> None:
    """A big string read by ``(string-length big)`` stayed in that code's cache after ``set!``
    replaced it: in memory, and in the session's memory budget, for as long as the code lived."""
    evaluator = Evaluator(language=LanguageConfig())
    doubled = "(define (rep s n) (if (= n 0) s (rep (string-append s s) (- n 1))))"
    assert values(evaluator, f'{doubled} (define big (rep "x" 17)) (define (size) (string-length big)) (size)') \
        == ["rep", "big", "size", "131072"]
    big = evaluator.machine.globals["big"]
    assert sys.getrefcount(big) > 2  # the table, and the cache of the code that read it
    assert values(evaluator, "(set! big 0)") == ["null"]
    assert sys.getrefcount(big) == 2  # only ``big`` here and getrefcount's argument
    assert values(evaluator, "(size)")[0].startswith("error: string-length")


def test_a_cache_refilled_from_two_tables_in_turn_is_noted_a_bounded_number_of_times() -> None:
    """Two sessions running the prelude's code in turns refill its caches from each table at every
    slice; without a bound a table that never changes would note the same cache for ever."""
    first, second = GlobalTable({"x": 1}), GlobalTable({"x": 2})
    cache = ReadCache()
    for _ in range(50_000):
        refill(cache, ("x",), first, object())
        refill(cache, ("x",), second, object())
    assert len(first.read_caches) <= READ_CACHES_BOUND and len(second.read_caches) <= READ_CACHES_BOUND
    first["x"] = 3
    assert cache.snapshot[0] is None  # still emptied by a change
