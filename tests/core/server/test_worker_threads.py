"""``server.worker_threads``: while long work runs in worker threads the interpreter switches
threads every ``SHARED_SWITCH_INTERVAL_S`` (the loop keeps its share of the GIL), and the
interval is put back when the last job ends, whatever the jobs did."""

from __future__ import annotations

import sys
import threading

import anyio
import pytest

from omega_core.server.worker_threads import SHARED_SWITCH_INTERVAL_S, QuickSwitching, run_in_worker


def test_the_interval_is_lowered_while_jobs_run_and_restored_after_the_last() -> None:
    before = sys.getswitchinterval()
    switching = QuickSwitching()
    with switching.running():
        assert sys.getswitchinterval() == pytest.approx(SHARED_SWITCH_INTERVAL_S)
        with switching.running():
            assert switching.jobs == 2
        assert sys.getswitchinterval() == pytest.approx(SHARED_SWITCH_INTERVAL_S)
    assert switching.jobs == 0
    assert sys.getswitchinterval() == pytest.approx(before)


def test_a_failing_job_still_restores_the_interval() -> None:
    before = sys.getswitchinterval()
    switching = QuickSwitching()
    with pytest.raises(ValueError):
        with switching.running():
            raise ValueError("boom")
    assert sys.getswitchinterval() == pytest.approx(before)


def test_run_in_worker_runs_off_the_calling_thread_with_the_lowered_interval() -> None:
    before = sys.getswitchinterval()
    seen: list[tuple[int, float]] = []

    def job(value: int) -> int:
        seen.append((threading.get_ident(), sys.getswitchinterval()))
        return value * 2

    assert anyio.run(run_in_worker, job, 21) == 42
    assert seen[0][0] != threading.get_ident()
    assert seen[0][1] == pytest.approx(SHARED_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == pytest.approx(before)


BLOCKING_OUTSIDE_THE_GIL = {
    ("persistence.py", "writer.fsync"),  # waits on the disk
    ("backend.py", "instance.session.effects.perform"),  # waits on the oracle's network
    ("worker_threads.py", "func"),  # run_in_worker itself
}
"""The only plain ``to_thread.run_sync`` calls in the server: their jobs wait outside the GIL."""


def test_worker_jobs_that_run_python_keep_the_loops_share_of_the_gil() -> None:
    """A job that runs Python in a plain worker thread holds the GIL for the default 5 ms switch
    interval each time the loop wants it back: loading a session that way (``Backend.instance``)
    gave listings a p99 of 6-9 ms while clients created sessions. Every such hop goes through
    ``run_in_worker``; a plain one is for a job that blocks outside the GIL."""
    import re
    from pathlib import Path

    import omega_core.server as server_package

    found = set()
    for path in Path(server_package.__file__).parent.glob("*.py"):
        for match in re.finditer(r"to_thread\.run_sync\(\s*([\w.]+)", path.read_text(encoding="utf-8")):
            found.add((path.name, match.group(1)))
    assert found == BLOCKING_OUTSIDE_THE_GIL
