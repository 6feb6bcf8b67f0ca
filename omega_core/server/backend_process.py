"""How the supervisor starts backend processes: forked when needed, or a standby forked ahead.

A backend restart is a gap every client waits through (ARCHITECTURE.md section 7: another
client's ping max <= 50 ms across a kill -9). Forking the next backend only once the last one died
put the fork, multiprocess's bootstrap of the child and the child's first touches of its inherited
pages (copy-on-write) into that gap: about 3 ms of a 15 ms gap, and more on a loaded machine,
where each of those steps waits for a core.

So once a backend has run for ``stable_start_s`` (the restart policy's "healthy run", after which a
crash restarts at once), the supervisor forks a **standby**: a backend that builds itself and
starts its event loop without touching any session state (it holds no lock, reads no session
file, accepts nothing), then waits in its loop for a line on a pipe. When the active backend dies,
the supervisor writes "go" (with the restart count) on that pipe and the standby takes over: it
reads the request record the dead one left, starts accepting the clients waiting in the listen
queue, sweeps leftover temp files and serves, as a freshly forked backend would (sessions are
recovered when opened, as always). Measured (``bench/restart_gap.py``): go to serving about
0.5 ms, against about 7 ms from a fork.

- memory: a standby shares its pages with the supervisor until it goes (copy-on-write); it owns
  about a megabyte of its own (page tables, its stack);
- a standby that died meanwhile (killed, out of memory) is noticed when it is needed (``go``
  fails) and the supervisor forks a backend as before; the next standby comes after the next
  healthy run, so a crash loop never forks standbys;
- stop: the supervisor ends its standby (SIGTERM, then reaps it); a killed supervisor takes it along
  (``die_with_supervisor``, as for the backend), and the pipe's end says so too;
- config: a standby carries the supervisor's config, which never changes while it runs (a config
  change takes a new server); anything that changed it would have to ``discard`` the standby.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import Any

from omega_core.server.backend_run import backend_main
from omega_core.server.fork_prep import freeze_before_fork
from omega_core.server.go_signal import encode_go

log = logging.getLogger("omega.supervisor")

PR_SET_PDEATHSIG = 1


def die_with_supervisor(supervisor_pid: int) -> None:
    """Ask the kernel for SIGTERM when the supervisor dies (Linux ``prctl``): a supervisor killed
    with -9 must not leave an orphan backend serving the socket and holding the session logs' locks
    while a new server starts. Elsewhere the backend's idle loop notices within a second."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != supervisor_pid:  # the supervisor died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def backend_entry(*args: Any, began: float | None = None) -> None:
    """A backend forked when needed: ``args`` are ``backend_main``'s (the last: the supervisor's pid)."""
    die_with_supervisor(args[-1])
    backend_main(*args, began=began)


def standby_entry(go_fd: int, supervisor_end: int, listener: Any, config: Any, key: bytes, supervisor_pid: int) -> None:
    """A standby: the backend, built and with its loop running, waiting for "go" on ``go_fd``
    (``Backend.serve``; never returns). The end of the pipe (the supervisor stopped or died) ends
    it quietly."""
    os.close(supervisor_end)
    # The supervisor's handlers were inherited and act on the supervisor's state: until the
    # backend's loop takes these signals over (after the "go"), they simply end the standby.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    die_with_supervisor(supervisor_pid)
    backend_main(listener, config, key, 0, supervisor_pid, go_fd=go_fd)


class Standby:
    """A forked standby backend (see the module docstring) and the supervisor's end of its pipe."""

    def __init__(self, process: Any, go_end: int) -> None:
        self.process = process
        self.go_end = go_end

    @classmethod
    def fork(cls, context: Any, listener: Any, config: Any, key: bytes) -> Standby:
        """Fork a standby with multiprocess's ``context`` (the supervisor's, "fork")."""
        read_end, write_end = os.pipe()
        process = context.Process(target=standby_entry, name="omega-backend",
                                  args=(read_end, write_end, listener, config, key, os.getpid()))
        try:
            freeze_before_fork()
            process.start()
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(process, write_end)

    def go(self, restarts: int, began: float) -> bool:
        """Make the standby the backend; False if it cannot be (it died meanwhile: fork another)."""
        try:
            if not self.process.is_alive():
                return False
            os.write(self.go_end, encode_go(restarts, began))
            return True
        except OSError:  # EPIPE: it died between the check and the write
            return False
        finally:
            self._close_go_end()

    def discard(self) -> None:
        """End a standby that is not needed (stop, or it can no longer be used) and reap it."""
        self._close_go_end()  # the standby reads the end of the pipe and exits
        with contextlib.suppress(OSError, ValueError, AssertionError):
            if self.process.is_alive():
                os.kill(self.process.pid, signal.SIGTERM)
            self.process.join(5.0)
            if self.process.is_alive():
                log.warning("the standby backend (pid %s) did not stop: SIGKILL", self.process.pid)
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.join(5.0)

    def _close_go_end(self) -> None:
        if self.go_end >= 0:
            with contextlib.suppress(OSError):
                os.close(self.go_end)
            self.go_end = -1
