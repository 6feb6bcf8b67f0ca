"""The notebook's session on the server: its name, write access across shutdown and restart, a
session held by someone else, and a server that went away."""

from __future__ import annotations

from datetime import date

from omega_core.server.client import OmegaClient
from omega_core.server.protocol import Op
from tests.core.server.live_server import stop_server
from tests.tui.kernel.kernel_lab import KernelLab, run_cell


def test_the_session_is_named_after_the_notebook_and_restart_reattaches(lab: KernelLab) -> None:
    manager, client = lab.start(JPY_SESSION_NAME="projects/Café notes (v2).ipynb")
    assert run_cell(client, "(define kept 41)").status == "ok"
    listing = run_cell(client, ":session list")
    assert "Cafe-notes-v2" in (listing.result() or "")
    manager.restart_kernel(now=False)
    client.wait_for_ready(timeout=30)
    again = run_cell(client, "(+ kept 1)")
    assert again.status == "ok" and again.result() == "42"  # the same session, definitions and all


def test_without_a_notebook_name_it_is_notebook_date_and_shutdown_releases_it(lab: KernelLab) -> None:
    manager, client = lab.start()  # no JPY_SESSION_NAME: jupyter console, nbclient
    assert run_cell(client, "(define owner 'kernel)").status == "ok"
    name = f"notebook-{date.today().isoformat()}"
    assert name in (run_cell(client, ":session list").result() or "")
    with OmegaClient(lab.config, autostart=False, name="after the kernel") as other:
        holders = other.call(Op.CLIENTS, name)
        assert [holder["name"] for holder in holders] == ["jupyter kernel"]
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        assert other.call(Op.CLIENTS, name) == []
        reply = other.execute("owner", name)  # write access is free: no `locked`
        assert reply.ok and reply.output == "=> kernel"


def test_a_held_session_makes_the_notebook_take_a_numbered_one(lab: KernelLab) -> None:
    with OmegaClient(lab.config, name="terminal app") as holder:
        holder.call(Op.ACCESS, "busy-notebook", mode="read-write")
        _, client = lab.start(JPY_SESSION_NAME="busy-notebook.ipynb")
        run = run_cell(client, "(+ 1 1)")
        assert run.status == "ok" and run.result() == "2"
        assert "'busy-notebook-2'" in run.stderr() and "in use" in run.stderr()
        assert "busy-notebook-2" in (run_cell(client, ":session list").result() or "")


def test_a_cell_after_the_server_stopped_reconnects_by_itself(lab: KernelLab) -> None:
    _, client = lab.start(JPY_SESSION_NAME="survivor.ipynb")
    assert run_cell(client, "(define survives 7)").status == "ok"
    stop_server(lab.paths, lab.config)
    assert not lab.server_running()
    run = run_cell(client, "(* survives 6)")
    assert run.status == "ok" and run.result() == "42"  # a new server, the session recovered from its log
    assert "reconnected" in run.stderr()
    assert lab.server_running()


def test_a_server_that_cannot_start_is_a_clear_error_and_the_kernel_goes_on(lab: KernelLab) -> None:
    _, client = lab.start(JPY_SESSION_NAME="unreachable.ipynb")
    assert run_cell(client, "(define later 1)").status == "ok"
    stop_server(lab.paths, lab.config)
    moved = lab.session_dir.with_name("moved-away")
    lab.session_dir.rename(moved)
    lab.session_dir.write_text("a file where the session dir should be", encoding="utf-8")
    try:
        failed = run_cell(client, "(+ later 1)")
    finally:
        lab.session_dir.unlink()
        moved.rename(lab.session_dir)
    assert failed.status == "error"
    content = failed.reply["content"]
    assert content["ename"] == "Unavailable"
    assert "Not a directory" in content["evalue"] and "omega server restart" in content["evalue"]
    assert "Traceback (most recent call last)" not in repr(failed.outputs)
    with OmegaClient(lab.config, autostart=False) as admin:
        admin.restart()  # what `omega server restart` does
    recovered = run_cell(client, "(+ later 1)")
    assert recovered.status == "ok" and recovered.result() == "2"
