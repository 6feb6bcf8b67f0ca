"""The capture table in unequal shards: no two shards grow at once, lookups find what was added,
and a prune keeps the order of what stays (referrers before what they refer to)."""

from __future__ import annotations

import pytest

from omega_core.lang.address_table import SHARD_COUNT, SLOT_COUNTS, SLOTS, AddressTable
from omega_core.lang.machine import Machine
from omega_core.lang.serialize_shared import SharedEncoder
from omega_core.lang.values import NIL, Pair


def _growth_points(sizes: list[int]) -> int:
    """How many growth points of a dict past 1,000 entries (a growth that copies at least that
    many: smaller ones cost microseconds) ``sizes`` (a shard's length before and after) crossed."""
    return sum(1 for limit in (2 ** power * 2 // 3 for power in range(11, 30)) if sizes[0] < limit <= sizes[1])


def test_shards_fill_unequal_slot_counts_that_add_up() -> None:
    assert sum(SLOT_COUNTS) == SLOTS and len(set(SLOT_COUNTS)) == SHARD_COUNT  # all different
    table = AddressTable()
    assert len({id(shard) for shard in table.shards}) == SHARD_COUNT == len(table.distinct)
    assert sorted(sum(1 for slot in table.shards if slot is shard) for shard in table.distinct) == sorted(SLOT_COUNTS)


@pytest.mark.parametrize("stride", [32, 48, 64, 80])
def test_shards_grow_a_few_at_a_time_where_equal_shards_grew_all_at_once(stride: int) -> None:
    """Equal shards all grew within the same 256 additions (44 growths in one slice of a
    capture: 42 ms). Ids of objects allocated one after the other (``stride`` bytes apart, as
    in one of the allocator's pools): here at most 6 shards of 1,000 entries or more grow in
    any 256 additions, where equal shards (by ``id >> 4 & 63``) grow by the dozen."""
    table = AddressTable()
    equal: list[dict[int, object]] = [{} for _ in range(SHARD_COUNT)]
    anything = Pair(0, NIL)  # what the entries hold plays no part in how the shards grow
    keys = range(0x7F0000000000, 0x7F0000000000 + 300_000 * stride, stride)
    most = most_equal = 0
    for start in range(0, len(keys), 256):
        before = [len(shard) for shard in table.distinct]
        before_equal = [len(shard) for shard in equal]
        for key in keys[start:start + 256]:
            table.add(key, (1, start, anything))
            equal[key >> 4 & 63][key] = anything
        most = max(most, sum(_growth_points([size, len(shard)]) for size, shard in zip(before, table.distinct)))
        most_equal = max(most_equal, sum(_growth_points([size, len(shard)]) for size, shard in zip(before_equal, equal)))
    assert len(table) == len(keys) == len(table.order_ids)
    assert most <= 6 and most_equal >= 16, (most, most_equal)
    assert all(table.get(key) is not None for key in keys[::997]) and table.get(keys[-1] + stride) is None


def test_lookups_find_what_was_added() -> None:
    table = AddressTable()
    objects = [Pair(number, NIL) for number in range(20_000)]
    for position, obj in enumerate(objects):
        table.add(id(obj), (1, position, obj))
    assert all(table.get(id(obj)) == (1, position, obj) for position, obj in enumerate(objects))
    assert id(objects[5]) in table and id(object()) not in table
    assert sorted(entry[1] for entry in table.entries()) == list(range(len(objects)))


def test_a_prune_keeps_what_is_held_in_the_order_it_was_added() -> None:
    machine = Machine()
    kept = [Pair(number, NIL) for number in range(5000)]
    machine.globals["kept"] = Pair(kept[0], NIL)
    for first, second in zip(kept, kept[1:]):
        first.cdr = second  # one list: each pair held by the one before it
    encoder = SharedEncoder()
    encoder.capture(machine, 1)
    machine.globals["temporary"] = Pair("gone", NIL)
    encoder.capture(machine, 2)
    del machine.globals["temporary"]
    encoder.prune()
    table = encoder.addr
    assert all(table.get(id(pair)) is not None for pair in kept)
    assert len(table.order_ids) == len(table) == len(table.order_captures)
    places = {key: place for place, key in enumerate(table.order_ids)}
    assert [places[id(pair)] for pair in kept] == sorted(places[id(pair)] for pair in kept)  # order kept
    assert set(table.order_captures) == {1}  # the second capture's pair is gone


def test_an_id_reused_by_a_later_capture_is_pruned_by_its_own_entry() -> None:
    """After a prune dropped an entry, a new object may get the same id in a later capture: the
    old place in the order stands for nothing, and the table keeps one place for the new one."""
    table = AddressTable()
    first = Pair(1, NIL)
    key = id(first)
    table.add(key, (1, 0, first))
    for shard in table.distinct:
        shard.pop(key, None)  # as a prune would
    second = Pair(2, NIL)
    table.add(key, (3, 0, second))  # the same id for another object (forced here)
    encoder = SharedEncoder()
    encoder.addr = table
    holder = [second]
    encoder.prune()
    assert table.get(key) == (3, 0, second) and list(table.order_ids) == [key]
    assert list(table.order_captures) == [3] and holder[0] is second


def test_a_restored_table_has_referrers_before_what_they_refer_to() -> None:
    """A restore adds its objects to the new encoder's table in the order it decoded them (a
    list's pairs from the head on), which an unload's release relies on: each entry's object
    freed alone, never a chain behind it. The decoder keeps them in shards too."""
    import json

    from omega_core.lang.restore_shared import restore_shared

    machine = Machine()
    pairs = [Pair(number, NIL) for number in range(3000)]
    for first, second in zip(pairs, pairs[1:]):
        first.cdr = second
    machine.globals["xs"] = pairs[0]
    body = SharedEncoder().capture(machine, 1)

    class Store:
        def body(self, capture: int) -> dict:  # type: ignore[type-arg]
            return body

        def records(self, capture: int) -> dict:  # type: ignore[type-arg]
            return json.loads(body["payload"])

    restored, encoder = restore_shared(body, Store())
    table = encoder.addr
    restored_pairs = []
    pair = restored.globals["xs"]
    while pair is not NIL:
        restored_pairs.append(pair)
        pair = pair.cdr
    assert [p.car for p in restored_pairs] == list(range(3000))
    places = {key: place for place, key in enumerate(table.order_ids)}
    order = [places[id(p)] for p in restored_pairs]
    assert order == sorted(order) and len(table) == len(table.order_ids) >= 3000
    assert list(table.order_captures) == [1] * len(table)
