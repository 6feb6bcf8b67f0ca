"""A session's capture table: id(object) -> (capture, position, object), kept in shards.

Why shards: a Python dict grows by rebuilding its whole table in one C call that keeps the GIL
throughout. On our 2-core machines, where fresh memory is slow to touch, growing past 700,000
entries took 114 ms and past 2.8 million 570 ms; the capture of a list of 1.5 million pairs held
the server's loop 98 ms while the table grew. ``SHARD_COUNT`` dicts each grow to a 64th of that.

Why unequal shards: ids are spread so evenly that equal shards all grew within the same few
hundred insertions (44 growths, 42 ms, in one slice of a capture). An id picks one of ``SLOTS``
slots (``key >> ID_SHIFT & SLOT_MASK``), and shard ``j`` fills about ``2 ** (j / 64)`` times as
many slots as shard 0: the shards reach their growth points at totals spread evenly over each
doubling, one or two at a time. ``shards`` is the slot list itself (a shard appears in it once per
slot it fills), so a look-up costs one subscript, as with equal shards.

Order: a prune (``SharedEncoder.prune_steps``) frees referrers before what they refer to, in the
order entries were added, which shards do not keep. ``order_ids`` and ``order_captures`` are that
order (arrays of machine words: the collector never walks them); a prune compacts them.

Hot loops (``shared_records``, ``capture_walk``, ``restore_shared``) index ``shards`` themselves
with ``key >> 4 & 8191`` (``ID_SHIFT`` and ``SLOT_MASK`` as literals): a method call per object
would cost capture a good part of its time.
"""

from __future__ import annotations

import array
from collections.abc import Iterator
from typing import Any

Entry = tuple[int, int, Any]
"""(capture, position, object): the object is held so its id is not reused while it is addressed."""

ID_SHIFT = 4
"""Object addresses are 16-byte aligned: the low 4 bits of an id never change."""
SLOT_MASK = 8191
SLOTS = SLOT_MASK + 1
SHARD_COUNT = 64


def _slot_counts() -> list[int]:
    """How many of the ``SLOTS`` slots each shard fills: in proportion to ``2 ** (j / 64)``,
    rounded so they add up (largest remainders first); all different."""
    weights = [2 ** (shard / SHARD_COUNT) for shard in range(SHARD_COUNT)]
    exact = [SLOTS * weight / sum(weights) for weight in weights]
    counts = [int(share) for share in exact]
    by_remainder = sorted(range(SHARD_COUNT), key=lambda shard: exact[shard] - counts[shard], reverse=True)
    for shard in by_remainder[:SLOTS - sum(counts)]:
        counts[shard] += 1
    return counts


SLOT_COUNTS = _slot_counts()


SCATTER = 5167
"""Odd, so ``place * SCATTER % SLOTS`` is a permutation of the slots (see ``sharded_slots``)."""


def sharded_slots() -> tuple[list[dict[Any, Any]], list[dict[Any, Any]]]:
    """New empty shards: (the slot list, each shard once). Shard ``j`` takes its ``SLOT_COUNTS[j]``
    places in a row, and place ``p`` goes to slot ``p * SCATTER % SLOTS``: ids a regular stride
    apart (objects of one size allocated one after the other) meet every shard in its proportion
    and soon. (Slots dealt round-robin met, at a stride of 4 slots, only every 4th shard for the
    first 90 rounds; shards in runs of slots were met one after the other.)"""
    distinct: list[dict[Any, Any]] = [{} for _ in range(SHARD_COUNT)]
    by_place = [distinct[shard] for shard, count in enumerate(SLOT_COUNTS) for _ in range(count)]
    slots: list[dict[Any, Any]] = [{}] * SLOTS
    for place, shard in enumerate(by_place):
        slots[place * SCATTER % SLOTS] = shard
    return slots, distinct


class AddressTable:
    """id(object) -> ``Entry`` for every object a session's captures addressed (see the module doc)."""

    __slots__ = ("shards", "distinct", "order_ids", "order_captures")

    def __init__(self) -> None:
        self.shards: list[dict[int, Entry]]
        """By slot (``key >> ID_SHIFT & SLOT_MASK``); ``distinct``: each shard once."""
        self.distinct: list[dict[int, Entry]]
        self.shards, self.distinct = sharded_slots()
        self.order_ids = array.array("Q")
        """The ids in the order their entries were added (an id may repeat: a later entry for it
        after the first was pruned; ``order_captures`` tells which entry a place stands for)."""
        self.order_captures = array.array("Q")

    def get(self, key: int) -> Entry | None:
        return self.shards[key >> ID_SHIFT & SLOT_MASK].get(key)

    def add(self, key: int, entry: Entry) -> None:
        """Address ``entry[2]`` (whose id is ``key``): the caller checked it is not addressed yet."""
        self.shards[key >> ID_SHIFT & SLOT_MASK][key] = entry
        self.order_ids.append(key)
        self.order_captures.append(entry[0])

    def __len__(self) -> int:
        return sum(map(len, self.distinct))

    def __contains__(self, key: int) -> bool:
        return key in self.shards[key >> ID_SHIFT & SLOT_MASK]

    def entries(self) -> Iterator[Entry]:
        """Every entry, in no particular order."""
        for shard in self.distinct:
            yield from shard.values()
