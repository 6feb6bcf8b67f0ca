"""What restores may share (restore_cache.py): only graphs nothing can change, found without recursion."""

from __future__ import annotations

from omega_core.lang.builtins import primitive_table
from omega_core.lang.restore_cache import DecodeCache, immutable_graph
from omega_core.lang.values import NIL, Closure, HashTable, Pair, Symbol


def build_list(items: list[object]) -> object:
    result: object = NIL
    for item in reversed(items):
        result = Pair(item, result)
    return result


def test_pairs_strings_symbols_numbers_primitives_and_top_level_closures_are_immutable() -> None:
    top_level = Closure(object(), None)
    value = build_list([1, 2.5, "s", Symbol.intern("x"), True, None, primitive_table()["car"], top_level,
                        build_list([3, 4])])
    assert immutable_graph(value, {})
    assert immutable_graph(top_level, {})


def test_anything_reaching_an_environment_or_a_hash_table_is_not() -> None:
    over_an_environment = Closure(object(), [None, 1])
    assert not immutable_graph(over_an_environment, {})
    assert not immutable_graph(build_list([1, build_list([2, over_an_environment])]), {})
    assert not immutable_graph(build_list([HashTable()]), {})
    assert not immutable_graph(build_list([[1, 2]]), {})  # an environment (a Python list) inside


def test_a_list_of_100000_pairs_is_judged_without_host_recursion() -> None:
    long_list = build_list(list(range(100_000)))
    verdicts: dict[int, bool] = {}
    assert immutable_graph(long_list, verdicts)
    assert len(verdicts) == 100_000
    assert not immutable_graph(Pair(HashTable(), long_list), verdicts)


def test_the_decode_cache_keeps_at_most_its_bound_first_in_first_out() -> None:
    cache = DecodeCache(max_objects=3)
    cache.put([((0, position), Pair(position, None)) for position in range(5)])
    assert len(cache) == 3
    assert cache.get((0, 0)) is None and cache.get((0, 4)) is not None
    assert cache.hits == 1
    cache.clear()
    assert len(cache) == 0
