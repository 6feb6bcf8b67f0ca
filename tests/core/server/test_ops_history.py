"""The ``history`` op on a real server: pages of input rows, a branch after goto + input, search,
the preview of one row, bad arguments, and that reading the history records nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omega_core.server.client import OmegaClient, ServerError
from tests.core.server.live_server import LiveServer, servers


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    factory = servers(tmp_path_factory.mktemp("history"))
    make = next(factory)
    try:
        yield make()
    finally:
        factory.close()


@pytest.fixture
def client(srv: LiveServer) -> Iterator[OmegaClient]:
    with srv.client(name="history test") as made:
        yield made


def test_history_pages_inputs_and_draws_a_branch_after_goto_and_a_new_input(client: OmegaClient) -> None:
    client.open_session("h1")
    for line in ["(define x 1)", "(car '())", "(define y 2)"]:
        client.execute(line, "h1")
    first = client.history("h1", offset=0, limit=10)
    assert first["total"] == 3
    assert [row["first_line"] for row in first["rows"]] == ["(define x 1)", "(car '())", "(define y 2)"]
    assert [row["outcome"] for row in first["rows"]] == ["result", "error", "result"]
    assert first["rows"][2]["at_position"]
    events_before = client.history("h1", offset=0, limit=10)["position"]
    assert events_before == first["position"]  # reading records nothing
    client.goto("h1", first["rows"][0]["goto"])
    client.execute("(define z 3)", "h1")
    after = client.history("h1", offset=0, limit=10)
    assert after["total"] == 4 and after["lanes"] == 2
    assert [row["lane"] for row in after["rows"]] == [0, 0, 0, 1]
    assert after["rows"][3]["parent"] == 0 and after["rows"][0]["forks"] == [1]
    assert [row["current"] for row in after["rows"]] == [True, False, False, True]


def test_history_search_and_row_preview(client: OmegaClient) -> None:
    client.open_session("h2")
    client.execute('(display "hello")\n(define (square n) (* n n))', "h2")
    client.execute("(square 4)", "h2")
    assert client.history("h2", search="SQUARE", **{"from": 0})["match"] == 1
    assert client.history("h2", search="nothing like it")["match"] is None
    shown = client.history("h2", row=0)
    assert shown["names"] == ["square"] and shown["output"] == "hello"
    assert shown["code"].startswith('(display "hello")')
    assert client.history("h2", row=1)["values"] == ["16"]


@pytest.mark.parametrize("args, words", [
    ({"offset": -1}, "args.offset must be an integer >= 0"),
    ({"limit": "ten"}, "args.limit must be an integer"),
    ({"search": ""}, "args.search must be non-empty text"),
    ({"search": "x", "direction": 2}, "args.direction must be 1 or -1"),
    ({"row": 99}, "no row 99"),
])
def test_bad_history_arguments_get_a_clear_error(client: OmegaClient, args: dict, words: str) -> None:
    name = f"h3-{sorted(args)[0]}-{len(words)}"
    client.open_session(name)
    client.execute("(+ 1 2)", name)
    with pytest.raises(ServerError) as caught:
        client.history(name, **args)
    assert words in str(caught.value)
    assert client.history(name, offset=0, limit=5)["total"] == 1  # the backend is fine
