"""A capture of many objects (a list of millions of pairs) is finished and pruned in slices: the
prune's copy of the address table and its search for each capture's first address pause too, and
a payload of many chunks stays a list of pieces. After a 2-million-pair list was captured, the
prune held the server's loop 0.8 s in one call, and the payload's join and concatenations 0.1 s."""

from __future__ import annotations

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


class CountingTable(dict):  # type: ignore[type-arg]
    """An address table that counts its look-ups by subscript (the prune's scan uses them)."""

    lookups = 0

    def __getitem__(self, key: Any) -> Any:
        CountingTable.lookups += 1
        return super().__getitem__(key)


def test_the_prune_pauses_while_it_copies_and_scans_a_big_table() -> None:
    encoder = SharedEncoder()
    encoder.capture(machine_with_list(PAIRS), 1)  # one capture: one block of addresses
    assert len(encoder.addr) > PAIRS
    encoder.addr = CountingTable(encoder.addr)
    CountingTable.lookups = 0
    pruning = encoder.prune_steps(0.0)  # no time at all: every look at the clock pauses
    assert next(pruning, True) is None
    assert CountingTable.lookups <= 2  # paused while copying the keys, before any scan
    pauses = 1
    most_between = 0
    while True:
        CountingTable.lookups = 0
        if next(pruning, True) is not None:
            break
        pauses += 1
        most_between = max(most_between, CountingTable.lookups)
    assert pauses > PAIRS // 1024
    assert most_between <= 1024 + 2  # before: the whole block (the list's pairs) in one call


def test_a_payload_of_many_chunks_stays_in_pieces_that_read_back_whole() -> None:
    body = SharedEncoder().capture(machine_with_list(CHUNK_RECORDS * (PAYLOAD_JOIN_MAX_CHUNKS + 8)), 1)
    payload = body["payload"]
    assert isinstance(payload, list) and len(payload) > PAYLOAD_JOIN_MAX_CHUNKS
    records = json.loads(payload_text(payload))["records"]
    assert len(records) == body["counts"][0]


def test_a_payload_of_few_chunks_is_one_text() -> None:
    body = SharedEncoder().capture(machine_with_list(CHUNK_RECORDS * 4), 1)
    assert isinstance(body["payload"], str)
