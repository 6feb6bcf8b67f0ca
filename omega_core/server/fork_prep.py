"""What the supervisor does before it forks a backend, so the child serves within milliseconds.

A backend restart is a gap for every client (ARCHITECTURE.md section 7: another client's ping
max <= 50 ms across a kill -9 and restart). Measured in the forked child before this module
(``bench/restart_gap.py``, quiet machine, gap about 40 ms in all):

- the first ``anyio.run`` imported anyio's asyncio backend and its helpers (``anyio`` loads it
  only when a loop starts, and the supervisor never starts one): about 15 ms, every restart;
- ``tune_garbage_collector``'s ``gc.collect()`` walked every object the supervisor had built
  (modules, the whole import graph: about 27,000 objects), writing to each one's header and so
  copying every page of the inherited heap (copy-on-write): about 10 ms.

So the supervisor imports those modules once, at its start (``preload_backend_modules``), and
moves everything it built into the collector's permanent generation right before each fork
(``freeze_before_fork``, as Python's ``gc.freeze`` documentation advises for a forking server):
the child's collection then walks only what the child built. The supervisor's own garbage is
small and mostly acyclic (reference counting frees it); what is frozen is never collected.
"""

from __future__ import annotations

import gc
import importlib

BACKEND_LATE_IMPORTS = (
    "anyio._backends._asyncio",  # imported by anyio only when ``anyio.run`` starts a loop
    "anyio.streams.memory",
    "anyio._core._signals",  # ``anyio.open_signal_receiver``
    "queue",
    "resource",  # ``raise_descriptor_limit``
    "ctypes",  # ``prctl`` in the backend's entry
    "omega_core.session.sweep",  # the start-up sweep of leftover temp files
)
"""Modules the backend imports after the fork on its way to serving; the supervisor imports them
first, so the forked child has them (``tests/core/server/test_restart_gap.py`` checks the list:
a backend start in a prepared process imports nothing new)."""


def preload_backend_modules() -> None:
    """Import what the backend needs to start serving (once, in the supervisor, before any fork)."""
    for name in BACKEND_LATE_IMPORTS:
        importlib.import_module(name)
    gc.collect()  # the start-up's garbage (argument parsing, the config) is not frozen forever


def freeze_before_fork() -> None:
    """Move every object tracked by the collector into its permanent generation, so a collection
    in the forked child neither walks nor writes to (and thereby copies) the parent's objects."""
    gc.freeze()
