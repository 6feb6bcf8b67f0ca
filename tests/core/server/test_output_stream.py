"""Live output (interfaces.md #1): ``execute(on_output=...)`` gets display output while the command runs,
followers get it as ``output`` pushes, and the reply still carries the whole output."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omega_core.config import load_config
from omega_core.server import launcher
from omega_core.server.client import OmegaClient
from omega_core.server.output_stream import OutputStream
from omega_core.server.paths import ServerPaths
from tests.core.server.live_server import stop_server


class FakeMachine:
    def __init__(self) -> None:
        self.output: list[str] = []


def test_stream_pushes_new_output_then_the_rest_of_each_form() -> None:
    machine, sent = FakeMachine(), []
    stream = OutputStream(sent.append, lambda: machine, interval_s=0.0)
    machine.output += ["a", "b"]
    stream.slice()
    stream.slice()  # nothing new: nothing sent
    machine.output.append("c")
    stream.slice()
    machine.output.clear()  # the evaluator took the form's output
    stream.form_done("abcd")  # "d" came after the last slice
    machine.output.append("x")
    stream.slice()
    stream.form_done("x")
    assert sent == ["ab", "c", "d", "x"]


def test_a_streaming_requester_gets_each_forms_result_after_its_output() -> None:
    machine, sent = FakeMachine(), []
    stream = OutputStream(lambda text: sent.append(("output", text)), lambda: machine, interval_s=0.0,
                          send_form=lambda index, result: sent.append(("form", index, result)))
    machine.output.append("a")
    stream.slice()
    machine.output.clear()
    stream.form_done("ab", lambda: {"value": "x"})
    stream.form_done("", lambda: {"value": "y"})
    assert sent == [("output", "a"), ("output", "b"), ("form", 0, {"value": "x"}), ("form", 1, {"value": "y"})]


def test_a_requester_that_does_not_stream_costs_no_result_building() -> None:
    machine, built = FakeMachine(), []
    stream = OutputStream(lambda text: None, lambda: machine, interval_s=0.0)

    def result() -> dict:
        built.append(1)
        return {}

    stream.form_done("", result)
    assert built == []


@pytest.fixture
def config_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "omega.toml"
    path.write_text("[server]\nidle_shutdown_s = 20\n", encoding="utf-8")
    config = load_config(path)
    try:
        yield path
    finally:
        paths = ServerPaths.for_config(config)
        stop_server(paths, config)
        assert launcher.server_pid(paths) is None


def interrupt_once(seen: threading.Event, config_path: Path, what: str) -> threading.Thread:
    """A thread that interrupts session "s" from another client once ``seen`` is set: the
    command under test runs until then, so what it saw came while it ran."""
    def interrupt() -> None:
        assert seen.wait(15), f"no {what} while the command ran"
        with OmegaClient(load_config(config_path), name="stopper", config_path=str(config_path)) as stopper:
            stopper.interrupt("s")

    helper = threading.Thread(target=interrupt)
    helper.start()
    return helper


def test_output_arrives_before_the_command_ends(config_path: Path) -> None:
    config = load_config(config_path)
    follower_got: list[dict] = []
    with OmegaClient(config, name="runner", config_path=str(config_path), connect_timeout_s=15) as runner, \
            OmegaClient(config, name="follower", config_path=str(config_path), connect_timeout_s=15,
                        on_push=follower_got.append) as follower:
        runner.execute("(define (spin) (spin))", "s")
        follower.subscribe("s")
        chunks: list[str] = []
        first = threading.Event()

        def on_output(chunk: str) -> None:
            chunks.append(chunk)
            first.set()

        helper = interrupt_once(first, config_path, "output")
        reply = runner.execute('(display "first") (newline) (spin)', "s", on_output=on_output)
        helper.join(20)
        # The runner saw "first" while (spin) ran (the command only ended because of the interrupt).
        assert "".join(chunks).startswith("first\n")
        assert reply.results[0]["output"] == "first"  # the reply still has the whole output
        assert reply.results[-1]["error_code"] == "interrupted"
        follower.poll_pushes(0.5)
        pushed = [p for p in follower_got if p.get("push") == "output"]
        assert pushed and pushed[0]["session"] == "s" and "first" in "".join(p["text"] for p in pushed)
        assert pushed[0]["client"] == runner.client_id


def test_each_forms_result_arrives_as_the_form_ends(config_path: Path) -> None:
    """An input of several forms: the first define's result reaches ``on_form`` while a later
    form still runs (before this, every result came with the reply at the end)."""
    config = load_config(config_path)
    with OmegaClient(config, name="runner", config_path=str(config_path), connect_timeout_s=15) as runner:
        forms: list[dict] = []
        first = threading.Event()

        def on_form(result: dict) -> None:
            forms.append(result)
            first.set()

        helper = interrupt_once(first, config_path, "form result")
        reply = runner.execute('(define a 1) (display "x") (define (spin) (spin)) (spin)', "s",
                               on_output=lambda chunk: None, on_form=on_form)
        helper.join(20)
        assert [form["value"] for form in forms[:3]] == ["a", "null", "spin"]
        assert forms[1]["output"] == "x"
        assert reply.results[:3] == forms[:3]  # the same dicts as the reply's
        assert reply.results[-1]["error_code"] == "interrupted"
