"""An endless non-tail recursion stopped by its budget, on a real server: the command ends with
``budget_exceeded``, its huge stack is freed in pieces off the loop (``lang.release``) while the
probe client goes on being answered, the backend does not restart, the session stays usable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omega_core.lang.release import RELEASE_SLICE, release_in_background
from omega_core.lang.frames import CallK
from tests.core.server.isolation_probe import Probe
from tests.core.server.live_server import LiveServer, servers


RELEASE_MIN_FRAMES = 2 * RELEASE_SLICE


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("stopped-deep"))
    make = next(factory)
    try:
        yield make(language={"step_budget": 600_000})
    finally:
        factory.close()


def test_an_endless_recursion_ends_with_its_budget_and_others_are_served(srv: LiveServer) -> None:
    with srv.client(name="bomb") as client, Probe(srv) as probe:
        client.execute("(define (down n) (+ 1 (down (+ n 1))))", "endless")
        reply = client.execute("(down 0)", "endless")
        codes = [result.get("error_code") for result in reply.results]
        assert codes == ["budget_exceeded"], reply
        assert client.execute("(+ 40 2)", "endless").output == "=> 42"
    probe.assert_served()


def test_a_shared_tail_of_the_chain_is_left_intact() -> None:
    """Frames held from elsewhere (a captured continuation) are never cut."""
    frame = None
    for index in range(3 * RELEASE_MIN_FRAMES):
        frame = CallK(frame, None, [None, index], 1, None, ())
        if index == RELEASE_MIN_FRAMES:
            kept = frame
    thread = release_in_background([frame])
    frame = None
    assert thread is not None
    thread.join(30)
    length, probe = 0, kept
    while probe is not None:
        length += 1
        probe = probe.next
    assert length == RELEASE_MIN_FRAMES + 1
