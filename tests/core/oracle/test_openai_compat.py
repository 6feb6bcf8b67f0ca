"""OpenAI-compatible oracle against a local fake server: requests, retries and error messages."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from omega_core.oracle import OpenAICompatibleOracle, OracleError
from tests.core.oracle.fake_openai import FakeOpenAIServer, FakeReply

KEY = "sk-test-secret-key-123"


@pytest.fixture(autouse=True)
def _no_proxy_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy variables would send 127.0.0.1 traffic elsewhere; the key comes from the env var."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMEGA_TEST_KEY", KEY)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(reply_text="Paris") as fake:
        yield fake


def make(url: str, *, retries: int = 2, timeout_s: float = 2.0, env: str = "OMEGA_TEST_KEY",
         **extra: object) -> OpenAICompatibleOracle:
    return OpenAICompatibleOracle(
        base_url=url, model="gpt-test", api_key_env=env, timeout_s=timeout_s,
        retries=retries, retry_backoff_s=0.01, **extra,  # type: ignore[arg-type]
    )


def error_of(oracle: OpenAICompatibleOracle, samples: int = 1) -> str:
    with pytest.raises(OracleError) as info:
        oracle.ask("What is the capital of France?", samples)
    message = info.value.message
    assert KEY not in message
    return message


def test_normal_answer_and_request_sent(server: FakeOpenAIServer) -> None:
    answer = make(server.url).ask("What is the capital of France?")
    assert answer.texts == ("Paris",)
    assert answer.model == "gpt-test"
    assert answer.tokens == 7
    assert answer.duration_ms >= 0
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "n": 1,
    }
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"


def test_trailing_slash_in_base_url(server: FakeOpenAIServer) -> None:
    make(server.url + "/").ask("x")
    assert server.requests[0].path == "/v1/chat/completions"


def test_key_is_read_at_call_time(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    oracle = make(server.url)
    monkeypatch.setenv("OMEGA_TEST_KEY", "sk-rotated")
    oracle.ask("x")
    assert server.requests[0].headers["Authorization"] == "Bearer sk-rotated"


def test_explicit_environ_mapping(server: FakeOpenAIServer) -> None:
    make(server.url, environ={"OMEGA_TEST_KEY": "sk-mapped"}).ask("x")
    assert server.requests[0].headers["Authorization"] == "Bearer sk-mapped"


def test_empty_api_key_env_sends_no_authorization(server: FakeOpenAIServer) -> None:
    make(server.url, env="").ask("x")
    assert "Authorization" not in server.requests[0].headers


def test_n_samples(server: FakeOpenAIServer) -> None:
    answer = make(server.url).ask("colour?", samples=3)
    assert answer.texts == ("Paris", "Paris (2)", "Paris (3)")
    assert server.requests[0].body["n"] == 3
    assert len(server.requests) == 1


def test_fewer_choices_than_samples_asks_again(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(choices=2, usage_tokens=5), FakeReply(choices=1, usage_tokens=4))
    answer = make(server.url).ask("colour?", samples=3)
    assert len(answer.texts) == 3
    assert [r.body["n"] for r in server.requests] == [3, 1]
    assert answer.tokens == 9


def test_more_choices_than_samples_are_cut(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(choices=4))
    assert len(make(server.url).ask("x", samples=2).texts) == 2


def test_missing_usage_gives_none_tokens(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(usage_tokens=None))
    assert make(server.url).ask("x").tokens is None


@pytest.mark.parametrize("status", [500, 503, 429])
def test_retry_then_success(server: FakeOpenAIServer, status: int) -> None:
    server.script(FakeReply(status=status))
    assert make(server.url).ask("x").texts == ("Paris",)
    assert len(server.requests) == 2


def test_retries_run_out(server: FakeOpenAIServer) -> None:
    server.script(*[FakeReply(status=500, error_message="model overloaded")] * 3)
    message = error_of(make(server.url, retries=2))
    assert len(server.requests) == 3
    assert "HTTP 500" in message and "model overloaded" in message and "after 3 attempts" in message


def test_no_retry_on_400(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(status=400, error_message="Invalid 'n': too large"))
    message = error_of(make(server.url))
    assert len(server.requests) == 1
    assert "HTTP 400" in message and "Invalid 'n': too large" in message and server.url in message


def test_http_error_body_is_cut_to_200_chars(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(status=404, body="x" * 500))
    message = error_of(make(server.url))
    assert "x" * 200 in message and "x" * 201 not in message
    assert "[oracle] base_url" in message


def test_api_key_echoed_by_server_is_redacted(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(status=401, error_message=f"Incorrect API key provided: {KEY}"))
    message = error_of(make(server.url))
    assert "HTTP 401" in message and "***" in message and "OMEGA_TEST_KEY" in message


def test_connection_refused() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}/v1"
    message = error_of(make(url, retries=1))
    assert "refused" in message and url in message and "[oracle] base_url" in message
    assert "after 2 attempts" in message


def test_timeout(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(delay_s=1.0), FakeReply(delay_s=1.0))
    started = time.monotonic()
    message = error_of(make(server.url, retries=1, timeout_s=0.2))
    assert time.monotonic() - started < 0.9
    assert "0.2 s" in message and "[oracle] timeout_s" in message and server.url in message
    assert len(server.requests) == 2  # timeouts are retried


def test_timeout_then_success(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(delay_s=0.6))
    assert make(server.url, retries=1, timeout_s=0.2).ask("x").texts == ("Paris",)


def test_malformed_json(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(body="<html>Bad Gateway</html>"))
    message = error_of(make(server.url))
    assert "is not JSON" in message and "<html>" in message and server.url in message
    assert len(server.requests) == 1


def test_missing_choices(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(body='{"error": {"message": "no such model"}}'))
    message = error_of(make(server.url))
    assert "has no 'choices'" in message and "no such model" in message


def test_empty_choices(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(choices=0))
    assert "empty or non-list 'choices'" in error_of(make(server.url))


def test_content_not_a_string(server: FakeOpenAIServer) -> None:
    server.script(FakeReply(body='{"choices": [{"message": {"role": "assistant", "content": null}}]}'))
    assert "choices[0].message.content is not a string (got null)" in error_of(make(server.url))


def test_missing_api_key_variable(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    message = error_of(make(server.url, env="OPENAI_API_KEY"))
    assert message == (
        "the API key environment variable OPENAI_API_KEY is not set; export it or change "
        "[oracle] api_key_env"
    )
    assert server.requests == []


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"base_url": "localhost:8000/v1"}, "[oracle] base_url"),
        ({"model": ""}, "[oracle] model"),
        ({"timeout_s": 0}, "[oracle] timeout_s"),
        ({"retries": -1}, "[oracle] retries"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, object], expected: str) -> None:
    settings: dict[str, object] = dict(
        base_url="http://127.0.0.1:1/v1", model="m", api_key_env="K", timeout_s=1.0,
        retries=0, retry_backoff_s=0.0,
    )
    with pytest.raises(OracleError) as info:
        OpenAICompatibleOracle(**{**settings, **kwargs})  # type: ignore[arg-type]
    assert expected in info.value.message
