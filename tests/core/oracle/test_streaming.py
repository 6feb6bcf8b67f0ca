"""Streaming oracle answers: the event-stream reader, the OpenAI-compatible oracle asking an endpoint
to stream (and falling back when it will not), and the scripted oracle's word-by-word answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.oracle import OpenAICompatibleOracle, OracleError
from omega_core.oracle.scripted import ScriptedOracle
from omega_core.oracle.sse import read_chat_stream
from tests.core.oracle.fake_openai import PROXY_VARIABLES, FakeOpenAIServer, FakeReply


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(reply_text="The capital is Paris") as fake:
        yield fake


def make(url: str, **extra: object) -> OpenAICompatibleOracle:
    return OpenAICompatibleOracle(base_url=url, model="gpt-test", api_key_env="", timeout_s=5.0,
                                  retries=1, retry_backoff_s=0.01, **extra)  # type: ignore[arg-type]


def events(*chunks: str) -> list[bytes]:
    return [line.encode("utf-8") + b"\n" for chunk in chunks for line in (chunk, "")]


# --- the reader ------------------------------------------------------------------------------------

def test_reader_hands_over_each_delta_and_returns_the_whole_answer() -> None:
    pieces: list[str] = []
    reply = read_chat_stream(events(
        ': a comment',
        'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}',
        'data: {"choices":[{"index":0,"delta":{"content":"Par"}}]}',
        'data: {"choices":[{"index":0,"delta":{"content":"is"}}]}',
        'data: {"choices":[],"usage":{"total_tokens":12}}',
        'data: [DONE]',
        'data: {"choices":[{"index":0,"delta":{"content":"after done: ignored"}}]}',
    ), pieces.append, "http://x/v1")
    assert pieces == ["Par", "is"]
    assert (reply.text, reply.tokens) == ("Paris", 12)


def test_reader_joins_multi_line_data_and_takes_a_last_event_without_blank_line() -> None:
    pieces: list[str] = []
    lines = [b'data: {"choices":[{"index":0,\n', b'data: "delta":{"content":"a"}}]}\n', b"\n",
             b'data: {"choices":[{"index":0,"delta":{"content":"b"}}]}\r\n']
    assert read_chat_stream(lines, pieces.append, "u").text == "ab"
    assert pieces == ["a", "b"]


def test_reader_names_the_endpoint_for_a_bad_event_and_for_an_error_in_the_stream() -> None:
    with pytest.raises(OracleError, match=r"http://x/v1 .*not JSON.*\[oracle\] stream = false"):
        read_chat_stream(events("data: {not json"), lambda _: None, "http://x/v1")
    with pytest.raises(OracleError, match=r"failed while answering.*overloaded"):
        read_chat_stream(events('data: {"error":{"message":"overloaded"}}'), lambda _: None, "http://x/v1")


# --- the OpenAI-compatible oracle ------------------------------------------------------------------

def test_pieces_arrive_while_the_endpoint_is_still_answering(server: FakeOpenAIServer) -> None:
    """The fake holds the rest of the answer until the first piece has reached us: a client that
    read the whole reply before handing pieces over would see the stream finished already."""
    gate = threading.Event()
    server.stream_gate = gate
    pieces: list[str] = []
    finished_at_first_piece: list[bool] = []

    def on_token(piece: str) -> None:
        if not pieces:
            finished_at_first_piece.append(server.stream_finished.is_set())
        pieces.append(piece)
        gate.set()

    answer = make(server.url).ask("capital of France?", on_token=on_token)
    assert finished_at_first_piece == [False]
    assert answer.texts == ("The capital is Paris",)
    assert answer.tokens == 7
    assert pieces == ["The", " capital", " is", " Paris"]
    assert server.requests[0].body["stream"] is True
    assert server.requests[0].body["stream_options"] == {"include_usage": True}


def test_no_sink_no_stream_and_search_samples_never_stream(server: FakeOpenAIServer) -> None:
    oracle = make(server.url)
    assert oracle.ask("x").texts == ("The capital is Paris",)
    pieces: list[str] = []
    assert len(oracle.ask("x", 3, on_token=pieces.append).texts) == 3
    assert pieces == []
    assert all("stream" not in request.body for request in server.requests)


def test_an_endpoint_that_ignores_stream_gives_the_answer_as_one_piece(server: FakeOpenAIServer) -> None:
    server.honor_stream = False
    pieces: list[str] = []
    assert make(server.url).ask("x", on_token=pieces.append).texts == ("The capital is Paris",)
    assert pieces == ["The capital is Paris"]


def test_an_endpoint_that_refuses_streaming_is_asked_plainly_and_not_asked_to_stream_again(
        server: FakeOpenAIServer) -> None:
    server.script(FakeReply(status=400, error_message="unknown field stream_options"))
    oracle = make(server.url)
    pieces: list[str] = []
    assert oracle.ask("x", on_token=pieces.append).texts == ("The capital is Paris",)
    assert pieces == ["The capital is Paris"]
    assert oracle.stream is False
    oracle.ask("y", on_token=pieces.append)
    assert [request.body.get("stream") for request in server.requests] == [True, None, None]


def test_stream_off_in_config_never_asks_to_stream(server: FakeOpenAIServer) -> None:
    pieces: list[str] = []
    make(server.url, stream=False).ask("x", on_token=pieces.append)
    assert "stream" not in server.requests[0].body
    assert pieces == ["The capital is Paris"]


# --- the scripted oracle ---------------------------------------------------------------------------

def test_scripted_oracle_streams_word_by_word(tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[[answer]]\nmatch = "france"\nanswer = "  It is  Paris. "\n', encoding="utf-8")
    oracle = ScriptedOracle(script, "fallback")
    pieces: list[str] = []
    answer = oracle.ask("capital of France", on_token=pieces.append)
    assert pieces == ["  It", " is", "  Paris.", " "]
    assert "".join(pieces) == answer.texts[0] == "  It is  Paris. "
    assert oracle.ask("capital of France").texts == answer.texts  # same answer without a sink
