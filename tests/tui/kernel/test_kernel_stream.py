"""How a cell's messages are published when the client streams output (interfaces.md #1:
``OmegaClient.execute(..., on_output=...)``), with a stand-in link instead of a server: chunks go
out as stdout streams while the entry runs, in order, before the value, and are not repeated when
the reply (which holds the whole output) comes in. Also the fallback: a client without
``on_output`` has its output sent once the reply is in."""

from __future__ import annotations

from typing import Any, Callable

from omega_core.server.client import ExecuteReply
from omega_tui.kernel.kernel import OmegaKernel


class StreamingLink:
    """Plays a server that streams ``chunks`` while running, then replies with the whole output."""

    def __init__(self, chunks: list[str], value: str, streams: bool = True) -> None:
        self.chunks = chunks
        self.value = value
        self.streams_output = streams
        self.session = "s"
        self.published_before_reply: list[tuple[str, dict[str, Any]]] = []
        self.kernel: "RecordingKernel | None" = None

    def execute(self, text: str, first_line: int = 1, on_output: Callable[[str], None] | None = None) -> ExecuteReply:
        if self.streams_output and on_output is not None:
            for chunk in self.chunks:
                on_output(chunk)
        assert self.kernel is not None
        self.published_before_reply = list(self.kernel.published)
        whole = "".join(self.chunks)
        result = {"line": 1, "value": self.value, "output": whole, "error": None, "error_code": None, "steps": 1,
                  "ms": 0.1, "input": text}
        return ExecuteReply(f"{whole}\n=> {self.value}", [result], False, "s", True)

    def take_notices(self) -> list[str]:
        return []


class RecordingKernel(OmegaKernel):
    """The kernel's cell logic with its iopub messages recorded instead of sent."""

    published: list[tuple[str, dict[str, Any]]]

    def _publish(self, kind: str, content: dict[str, Any], parent: dict[str, Any]) -> None:
        self.published.append((kind, content))


def kernel_with(link: StreamingLink) -> RecordingKernel:
    kernel = RecordingKernel.__new__(RecordingKernel)  # no ipykernel sockets: only the cell logic runs
    kernel.published = []
    kernel._link = link  # type: ignore[assignment]
    kernel._setup_problem = None
    kernel._user_names = None
    link.kernel = kernel
    return kernel


def test_streamed_chunks_go_out_while_the_cell_runs_and_are_not_repeated() -> None:
    link = StreamingLink(["tok", "en ", "by token\n"], "7")
    kernel = kernel_with(link)
    reply = kernel._run_cell("(ask)", False, {})
    assert reply["status"] == "ok"
    assert link.published_before_reply == [("stream", {"name": "stdout", "text": "tok"}),
                                           ("stream", {"name": "stdout", "text": "en "}),
                                           ("stream", {"name": "stdout", "text": "by token\n"})]
    assert [kind for kind, _ in kernel.published] == ["stream", "stream", "stream", "execute_result"]
    assert kernel.published[-1][1]["data"] == {"text/plain": "7"}


def test_without_streaming_the_output_is_sent_once_the_reply_is_in() -> None:
    link = StreamingLink(["tok", "en"], "7", streams=False)
    kernel = kernel_with(link)
    kernel._run_cell("(ask)", False, {})
    assert link.published_before_reply == []
    assert kernel.published == [("stream", {"name": "stdout", "text": "token"}),
                                ("execute_result", {"execution_count": 0, "data": {"text/plain": "7"}, "metadata": {}})]


def test_a_silent_cell_publishes_nothing() -> None:
    kernel = kernel_with(StreamingLink(["x"], "1"))
    assert kernel._run_cell("(f)", True, {})["status"] == "ok"
    assert kernel.published == []


def test_a_kernel_that_could_not_set_up_says_why_in_every_cell() -> None:
    kernel = RecordingKernel.__new__(RecordingKernel)
    kernel.published = []
    kernel._link = None
    kernel._setup_problem = "/x/omega.toml: [server] idle_shutdown_s: expected a number, got \"x\""
    kernel._user_names = None
    reply = kernel._run_cell("(+ 1 2)", False, {})
    assert reply["status"] == "error" and reply["ename"] == "ConfigError"
    assert "idle_shutdown_s" in reply["evalue"] and "could not start" in reply["evalue"]
    assert [kind for kind, _ in kernel.published] == ["error"]
