"""Frames written with their environment inline (``omega-delta/4``): one record per frame of a deep
stack, and the environment keeps its identity when something reaches it later (a closure made
over it, a ``set!`` of one of its variables) and across restores."""

from __future__ import annotations

import json
from typing import Any

from omega_core.lang.machine import Machine, Status
from omega_core.lang.printer import write_string
from omega_core.lang.reader import read_all
from omega_core.lang.restore_shared import restore_shared
from omega_core.lang.serialize_shared import FORMAT, SharedEncoder

PROGRAM = """
(define keep #f)
(define (spin k) (if (= k 0) 0 (spin (- k 1))))
(define (f n) (+ (spin 5000) (begin (set! keep (lambda () n)) (set! n (* n 10)) (spin 5000)) n))
"""


class MemoryStore:
    """A ``StoreReader`` over captures kept in memory (what the states file holds, parsed)."""

    def __init__(self) -> None:
        self.bodies: dict[int, dict[str, Any]] = {}

    def add(self, body: dict[str, Any]) -> None:
        self.bodies[body["seq"]] = body

    def body(self, capture: int) -> dict[str, Any]:
        return self.bodies[capture]

    def records(self, capture: int) -> dict[str, Any]:
        payload = self.bodies[capture]["payload"]
        return json.loads(payload) if payload is not None else {"records": [], "rewrites": {}, "units": {}}


def start(machine: Machine, text: str) -> None:
    machine.start(machine.compile(read_all(text).forms[0]).root)


def finish(machine: Machine) -> str:
    assert machine.run(10**9) is Status.DONE, machine.error
    return write_string(machine.value)


def defined_machine() -> Machine:
    machine = Machine()
    for datum in read_all(PROGRAM).forms:
        machine.start(machine.compile(datum).root)
        assert machine.run(10**9) is Status.DONE
    return machine


def test_a_frame_holds_its_unshared_environment_inline() -> None:
    machine = defined_machine()
    start(machine, "(f 7)")
    machine.run(200)  # inside the first (spin 5000): the frame of + waits with f's environment
    body = SharedEncoder().capture(machine, 1)
    assert body["format"] == FORMAT
    records = json.loads(body["payload"])["records"]
    frames = [record for record in records if record[0] == "k"]
    assert any(isinstance(field, list) and field[:1] == ["E"] for frame in frames for field in frame)
    assert not [record for record in records if record[:1] == ["env"] and record[1:] == [None, 7]]


def test_an_inline_environment_reached_later_is_one_object_after_restore() -> None:
    machine = defined_machine()
    encoder = SharedEncoder()
    store = MemoryStore()
    start(machine, "(f 7)")
    machine.run(200)
    store.add(encoder.capture(machine, 1))
    machine.run(11000)  # inside the second spin: keep closes over f's environment, n is now 70
    store.add(encoder.capture(machine, 2))
    restored, _ = restore_shared(store.bodies[2], store)
    closure_env = restored.globals["keep"].env
    frame = restored.k
    while frame is not None and getattr(frame, "env", None) is not closure_env:
        frame = frame.next
    assert frame is not None, "the waiting frame and the closure must share one environment"
    assert closure_env[1] == 70
    assert finish(restored) == "70"
    start(restored, "(keep)")
    assert finish(restored) == "70"
    first, _ = restore_shared(store.bodies[1], store)  # before the closure and the set!
    assert finish(first) == "70"
    assert finish(machine) == "70"


def test_capture_goes_on_sharing_after_a_restore() -> None:
    machine = defined_machine()
    encoder = SharedEncoder()
    store = MemoryStore()
    start(machine, "(f 3)")
    machine.run(200)
    store.add(encoder.capture(machine, 1))
    restored, restored_encoder = restore_shared(store.bodies[1], store)
    restored.run(11000)
    store.add(restored_encoder.capture(restored, 2))
    again, _ = restore_shared(store.bodies[2], store)
    assert finish(again) == "30"
    start(again, "(keep)")
    assert finish(again) == "30"
