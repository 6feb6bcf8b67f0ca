"""A capture of many objects (a list of millions of pairs) is finished and pruned in slices: the
prune's copy of the address table and its search for each capture's first address pause too, and
a payload of many chunks stays a list of pieces. After a 2-million-pair list was captured, the
prune held the server's loop 0.8 s in one call, and the payload's join and concatenations 0.1 s."""

from __future__ import annotations

import gc
import json
from typing import Any

from omega_core.lang.machine import Machine, Status
from omega_core.lang.reader import read_all
from omega_core.lang.serialize_shared import (
    CHUNK_RECORDS,
    PAYLOAD_JOIN_MAX_CHUNKS,
    PRUNE_SCAN_PIECE,
    SharedEncoder,
    payload_text,
)

PAIRS = 4 * PRUNE_SCAN_PIECE


def machine_with_list(pairs: int) -> Machine:
    machine = Machine()
    source = f"(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc)))) (define big (build {pairs} '()))"
    for datum in read_all(source).forms:
        machine.start(machine.compile(datum).root)
        assert machine.run(10**8) is Status.DONE
    return machine


class CountingShard(dict):  # type: ignore[type-arg]
    """A shard of the address table that counts its look-ups (the prune's scan uses ``get``)."""

    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        CountingShard.lookups += 1
        return super().get(key, default)


def count_lookups(encoder: SharedEncoder) -> None:
    table = encoder.addr
    counting = {id(shard): CountingShard(shard) for shard in table.distinct}
    table.shards = [counting[id(shard)] for shard in table.shards]
    table.distinct = [counting[id(shard)] for shard in table.distinct]


def test_the_prune_pauses_while_it_scans_and_compacts_a_big_table() -> None:
    encoder = SharedEncoder()
    machine = machine_with_list(PAIRS)  # held: the prune keeps every pair
    encoder.capture(machine, 1)  # one capture: one block of addresses
    assert len(encoder.addr) > PAIRS
    count_lookups(encoder)
    CountingShard.lookups = 0
    pruning = encoder.prune_steps(0.0)  # no time at all: every look at the clock pauses
    assert next(pruning, True) is None
    assert CountingShard.lookups == 0  # paused while finding where the block starts, before any look-up
    pauses = 1
    most_between = 0
    while True:
        CountingShard.lookups = 0
        if next(pruning, True) is not None:
            break
        pauses += 1
        most_between = max(most_between, CountingShard.lookups)
    assert pauses > PAIRS // 1024 + PAIRS // PRUNE_SCAN_PIECE  # the compaction of the order paused too
    assert most_between <= 1024 + 2  # before: the whole block (the list's pairs) in one call
    assert len(encoder.addr.order_ids) == len(encoder.addr) > PAIRS  # all still held (by the list)
    assert machine.globals["big"] is not None


def test_a_payload_of_many_chunks_stays_in_pieces_that_read_back_whole() -> None:
    body = SharedEncoder().capture(machine_with_list(CHUNK_RECORDS * (PAYLOAD_JOIN_MAX_CHUNKS + 8)), 1)
    payload = body["payload"]
    assert isinstance(payload, list) and len(payload) > PAYLOAD_JOIN_MAX_CHUNKS
    records = json.loads(payload_text(payload))["records"]
    assert len(records) == body["counts"][0]


def test_a_payload_of_few_chunks_is_one_text() -> None:
    body = SharedEncoder().capture(machine_with_list(CHUNK_RECORDS * 4), 1)
    assert isinstance(body["payload"], str)


def _walked_sizes(frame_locals: dict[str, Any]) -> dict[str, int]:
    """How many referents the collector visits in each of a paused prune's own locals (the
    table, its shards and the encoder exist anyway)."""
    return {name: len(gc.get_referents(value)) for name, value in frame_locals.items()
            if name not in ("self", "table", "shards", "shard") and gc.is_tracked(value)}


def test_a_paused_prune_holds_no_container_the_collector_would_walk_item_by_item() -> None:
    """The prune's copy of a table of millions of addresses lives across its pauses; as a list,
    every young collection meanwhile walked all its items (10-16 ms each, measured after
    ``(set! xs 0)`` replaced a 4-million-pair list: 12 and 30 ms loop stalls)."""
    encoder = SharedEncoder()
    encoder.capture(machine_with_list(PAIRS), 1)
    pruning = encoder.prune_steps(0.0)
    paused_in_scan = 0
    while next(pruning, True) is None:
        frame = pruning.gi_frame
        assert frame is not None
        sizes = _walked_sizes(frame.f_locals)
        assert all(size < 16 for size in sizes.values()), sizes
        paused_in_scan += "kept" in frame.f_locals
    assert paused_in_scan > 0
