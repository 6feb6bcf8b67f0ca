"""A small notebook run from top to bottom by nbclient (Jupyter's own executor) on the Omega kernel."""

from __future__ import annotations

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from omega_tui.kernel.spec import KERNEL_NAME
from tests.tui.kernel.kernel_lab import KernelLab


def test_a_notebook_runs_with_nbclient(lab: KernelLab, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in lab.env(JPY_SESSION_NAME="squares.ipynb").items():
        monkeypatch.setenv(key, value)  # nbclient starts the kernel with this process's environment
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Squares"),
        nbformat.v4.new_code_cell("(define (square x) (* x x))"),
        nbformat.v4.new_code_cell('(display "seven squared:")\n(newline)\n(square 7)'),
        nbformat.v4.new_code_cell(":session checkpoints"),
        nbformat.v4.new_code_cell("(square 'seven)"),
        nbformat.v4.new_code_cell("(map square (list 1 2 3))"),
    ]
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=lab.spec_manager)
    client = NotebookClient(notebook, km=manager, timeout=60, allow_errors=True)
    try:
        client.execute()
    finally:
        if manager.has_kernel:  # nbclient leaves a kernel manager it was given running
            manager.shutdown_kernel(now=False)
    assert notebook.metadata["language_info"]["name"] == "omega"
    define, square, checkpoints, failure, mapped = notebook.cells[1:]
    assert define.outputs[0]["data"]["text/plain"] == "square"
    kinds = [o["output_type"] for o in square.outputs]  # one stream output, or one per streamed chunk
    assert kinds[-1] == "execute_result" and set(kinds[:-1]) == {"stream"}
    assert "".join(o["text"] for o in square.outputs[:-1]) == "seven squared:\n"
    assert square.outputs[-1]["data"]["text/plain"] == "49"
    assert checkpoints.outputs[0]["output_type"] == "execute_result"
    error = failure.outputs[0]
    assert error["output_type"] == "error" and error["ename"] == "EvalError"
    assert "line 1, column" in "\n".join(error["traceback"])
    assert mapped.outputs[0]["data"]["text/plain"] == "(1 4 9)"
    assert [cell.execution_count for cell in notebook.cells[1:]] == [1, 2, 3, 4, 5]
