"""The kernel driven by ``jupyter_client`` from its kernelspec, on a real server it started itself:
values, streams, errors, REPL commands, completion, inspection, completeness and interrupts.

These tests share one kernel (starting one costs seconds); each uses names of its own.
"""

from __future__ import annotations

import json
import queue
import signal
import time
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from omega_core.server.client import OmegaClient
from omega_tui.kernel.link import accepts_on_output

from tests.tui.kernel.kernel_lab import TIMEOUT_S, KernelLab, collect_outputs, run_cell, send_interrupt, shell_request

Shared = tuple[KernelLab, BlockingKernelClient]


def no_python_traceback(run: Any) -> None:
    text = repr(run.reply) + repr(run.outputs)
    assert "Traceback (most recent call last)" not in text and 'File "' not in text, text


def test_kernel_info_names_the_language(shared: Shared) -> None:
    _, client = shared
    content = shell_request(client, "kernel_info")
    info = content["language_info"]
    assert content["implementation"] == "omega"
    assert info["name"] == "omega" and info["file_extension"] == ".omega"
    assert info["codemirror_mode"] == "scheme" and info["pygments_lexer"] == "scheme"
    assert info["mimetype"] == "text/x-omega"
    assert "debugger" not in content.get("supported_features", [])  # debugpy cannot step Omega


def test_quit_asks_the_front_end_to_leave(shared: Shared) -> None:
    run = run_cell(shared[1], ":quit")
    assert run.status == "ok"
    assert run.reply["content"]["payload"] == [{"source": "ask_exit", "keepkernel": False}]
    assert run_cell(shared[1], "(+ 2 2)").result() == "4"  # a notebook ignores it: the kernel goes on


def test_value_comes_back_as_execute_result(shared: Shared) -> None:
    run = run_cell(shared[1], "(+ 1 2)")
    assert run.status == "ok"
    assert run.result() == "3"
    assert run.stdout() == ""


def test_display_output_is_a_stdout_stream_before_the_value(shared: Shared) -> None:
    run = run_cell(shared[1], '(display "hi")\n(newline)\n(display (list "a" 1))\n(* 6 7)')
    assert run.status == "ok"
    assert run.stdout() == "hi\n(a 1)"
    kinds = [kind for kind, _ in run.outputs]
    assert kinds.index("execute_result") > max(i for i, kind in enumerate(kinds) if kind == "stream")
    assert run.result() == "42"


@pytest.mark.skipif(not accepts_on_output(OmegaClient.execute),
                    reason="this OmegaClient.execute does not stream output (interfaces.md #1 on_output)")
def test_display_output_arrives_while_the_cell_still_runs(shared: Shared) -> None:
    _, client = shared
    msg_id = client.execute('(display "started")\n(let wait () (wait))', stop_on_error=False)
    deadline = time.monotonic() + TIMEOUT_S
    shown = ""
    while "started" not in shown:  # the loop never ends: only streaming can show this now
        assert time.monotonic() < deadline, "display output did not reach the notebook while the cell ran"
        try:
            message = client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "stream":
            shown += message["content"]["text"]
    reply = _interrupt_until_replied(client, msg_id, lambda: send_interrupt(client))
    rest = collect_outputs(client, msg_id)
    assert reply["content"]["ename"] == "Interrupted"
    assert not [c for kind, c in rest if kind == "stream" and "started" in c.get("text", "")]  # not repeated


def test_an_error_names_its_kind_and_the_line_and_column_in_the_cell(shared: Shared) -> None:
    run = run_cell(shared[1], "(define live-x 1)\n(+ live-x\n   (car 5))")
    assert run.status == "error"
    content = run.reply["content"]
    assert content["ename"] == "EvalError"
    assert "car: expected a pair" in content["evalue"]
    traceback = "\n".join(content["traceback"])
    assert "line 3, column 4" in traceback
    assert "   (car 5))" in traceback  # the cell's own line, under which a caret points
    errors = run.of("error")
    assert len(errors) == 1 and errors[0]["ename"] == "EvalError"
    no_python_traceback(run)


def test_a_parse_error_names_the_line_and_column(shared: Shared) -> None:
    run = run_cell(shared[1], '(display "ok")\n(+ 1\n')
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "ParseError"
    assert "line 2, column 1" in "\n".join(run.reply["content"]["traceback"])
    assert run.stdout() == "ok"  # the forms before it ran
    no_python_traceback(run)


def test_command_mistakes_are_errors_not_tracebacks(shared: Shared) -> None:
    unknown = run_cell(shared[1], ":no-such-command")
    assert unknown.status == "error" and unknown.reply["content"]["ename"] == "CommandError"
    assert ":help" in unknown.reply["content"]["evalue"]
    usage = run_cell(shared[1], ":session load")
    assert usage.status == "error" and usage.reply["content"]["ename"] == "UsageError"
    assert "usage: :session load NAME" in usage.reply["content"]["evalue"]
    for run in (unknown, usage):
        no_python_traceback(run)


def test_time_travel_commands_work_in_cells(shared: Shared) -> None:
    _, client = shared
    assert run_cell(client, "(define travel 1)\n(set! travel 2)").status == "ok"
    checkpoints = run_cell(client, ":session checkpoints")
    assert checkpoints.status == "ok" and checkpoints.result()
    timeline = run_cell(client, ":session timeline")
    assert timeline.status == "ok" and timeline.result()
    goto = run_cell(client, ":session goto 1")
    assert goto.status == "ok" and "Jumped to seq 1" in (goto.result() or ""), goto.outputs


def test_oracle_calls_in_cells_leave_receipts(shared: Shared) -> None:
    lab, client = shared
    run = run_cell(client, '(effect infer.op "Name a colour")')
    assert run.status == "ok" and run.result() and run.result().startswith('"')
    log = lab.session_dir / "sessions" / "shared.jsonl"
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    requests = [e for e in events if e.get("type") == "llm_req" and "Name a colour" in e.get("promptPreview", "")]
    assert requests, "no llm_req event for the cell's oracle call"
    responses = [e for e in events if e.get("type") == "llm_resp" and e.get("receiptKey") == requests[-1]["receiptKey"]]
    assert responses, "no llm_resp with the request's receipt key"


def test_session_list_has_a_table_too(shared: Shared) -> None:
    run = run_cell(shared[1], ":session list")
    assert run.status == "ok"
    data = run.of("execute_result")[0]["data"]
    assert "shared" in data["text/plain"]
    assert "<table>" in data["text/html"] and "<b>shared</b>" in data["text/html"]


def test_commands_and_code_mix_in_one_cell(shared: Shared) -> None:
    run = run_cell(shared[1], "(define mixed 5)\n:defs\n(* mixed 2)")
    assert run.status == "ok"
    assert "mixed" in run.stdout()  # the :defs listing, shown where it ran
    assert run.result() == "10"


def test_session_load_switches_like_the_repl(shared: Shared) -> None:
    _, client = shared
    assert run_cell(client, "(define only-in-shared 1)").status == "ok"
    forked = run_cell(client, ":session fork side-branch")
    assert forked.status == "ok", forked.outputs
    assert run_cell(client, "(define only-in-side 2)").status == "ok"
    back = run_cell(client, ":session load shared")
    assert back.status == "ok" and "Loaded session 'shared'" in (back.result() or "")
    missing = run_cell(client, "only-in-side")
    assert missing.status == "error" and "only-in-side" in missing.reply["content"]["evalue"]
    again = run_cell(client, ":session load side-branch")
    assert again.status == "ok"
    assert run_cell(client, "only-in-side").result() == "2"
    assert run_cell(client, ":session load shared").status == "ok"


def test_session_attach_gives_a_fresh_session(shared: Shared) -> None:
    _, client = shared
    assert run_cell(client, "(define only-before 1)").status == "ok"
    attached = run_cell(client, ":session attach fresh-start")
    assert attached.status == "ok" and "fresh-start" in (attached.result() or "")
    empty = run_cell(client, "only-before")
    assert empty.status == "error" and "only-before" in empty.reply["content"]["evalue"]
    assert run_cell(client, ":session load shared").status == "ok"
    assert run_cell(client, "only-before").result() == "1"


def test_completion_offers_definitions_primitives_special_forms_and_commands(shared: Shared) -> None:
    _, client = shared
    assert run_cell(client, "(define (complete-me alpha beta) (+ alpha beta))").status == "ok"
    own = shell_request(client, "complete", "(complete-m", 11)
    assert own["matches"] == ["complete-me"] and own["cursor_start"] == 1 and own["cursor_end"] == 11
    primitives = shell_request(client, "complete", "(string-ap", 10)["matches"]
    assert "string-append" in primitives
    forms = shell_request(client, "complete", "(let", 4)["matches"]
    assert {"let", "let*", "letrec"} <= set(forms)
    in_string = shell_request(client, "complete", '(display "let', 13)
    assert in_string["matches"] == []
    commands = shell_request(client, "complete", ":session l", 10)
    assert {":session list", ":session load"} <= set(commands["matches"]) and commands["cursor_start"] == 0


def test_inspection_shows_parameters_and_source(shared: Shared) -> None:
    _, client = shared
    source = "(define (inspect-me first . rest)\n  (cons first rest))"
    assert run_cell(client, source).status == "ok"
    reply = shell_request(client, "inspect", "(inspect-me 1 2)", 5)
    assert reply["found"] is True
    text = reply["data"]["text/plain"]
    assert "(first . rest)" in text and source in text
    special = shell_request(client, "inspect", "(lambda (x) x)", 3)
    assert special["found"] and "(lambda (PARAM ...) BODY ...)" in special["data"]["text/plain"]
    primitive = shell_request(client, "inspect", "(car x)", 2)
    assert primitive["found"] and "primitive" in primitive["data"]["text/plain"]
    unknown = shell_request(client, "inspect", "(no-such-name-here)", 4)
    assert unknown["found"] is False


def test_is_complete_follows_parentheses_strings_and_comments(shared: Shared) -> None:
    _, client = shared
    open_form = shell_request(client, "is_complete", "(define (f x)\n  (if x")
    assert open_form["status"] == "incomplete" and open_form["indent"] == "    "
    assert shell_request(client, "is_complete", "(+ 1 2)")["status"] == "complete"
    assert shell_request(client, "is_complete", "(+ 1 2))")["status"] == "invalid"
    assert shell_request(client, "is_complete", '(display "(")')["status"] == "complete"
    assert shell_request(client, "is_complete", '(display "a')["status"] == "incomplete"
    assert shell_request(client, "is_complete", "(+ 1 2) ; (")["status"] == "complete"
    assert shell_request(client, "is_complete", ":session list")["status"] == "complete"


def _interrupt_until_replied(client: BlockingKernelClient, msg_id: str, interrupt: Any) -> dict[str, Any]:
    """Interrupt (again, until the command has reached the server and stopped) and return the reply."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        interrupt()
        try:
            reply = client.get_shell_msg(timeout=0.5)
        except queue.Empty:
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply
    raise AssertionError("the running cell was not interrupted")


def test_interrupt_request_stops_a_running_cell_and_the_kernel_goes_on(shared: Shared) -> None:
    _, client = shared
    msg_id = client.execute("(define (spin n) (spin (+ n 1)))\n(spin 0)", stop_on_error=False)
    reply = _interrupt_until_replied(client, msg_id, lambda: send_interrupt(client))
    collect_outputs(client, msg_id)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted", reply["content"]
    assert run_cell(client, "(+ 1 2)").result() == "3"


def test_sigint_stops_a_running_cell_too(shared: Shared) -> None:
    lab, client = shared
    manager = lab.started[0][0]
    msg_id = client.execute("(let loop ((n 0)) (loop (+ n 1)))", stop_on_error=False)
    reply = _interrupt_until_replied(client, msg_id, lambda: manager.signal_kernel(signal.SIGINT))
    collect_outputs(client, msg_id)
    assert reply["content"]["ename"] == "Interrupted", reply["content"]
    assert run_cell(client, "(* 2 3)").result() == "6"
