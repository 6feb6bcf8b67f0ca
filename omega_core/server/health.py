"""Which sessions are degraded: a background job (flush, index, fsync, push, eviction) failed for them.

Failures stay in their session (issue 10, item 1): every background job catches whatever it
raises, and records it here instead of letting it reach the loop (where it would kill the backend
and every other client with it). The acknowledged log is written by the command itself, before
its reply, so a degraded session keeps running commands; what it may lack is a checkpoint state,
an up-to-date index or an fsync, which the next successful run of that job catches up on. Each
job's failure is kept apart, so only that job's later success clears it.

Shown as ``"degraded": cause`` in ``list_sessions`` rows, ``{NAME: cause}`` in ``status`` and
``metrics``, and ``[degraded: cause]`` in ``:session list`` (interfaces.md #2).
"""

from __future__ import annotations

import enum
import logging

log = logging.getLogger("omega.backend")


class BackgroundJob(enum.StrEnum):
    """The background work done for a session outside its commands."""

    FLUSH = "flush"
    INDEX = "index"
    FSYNC = "fsync"
    PUSH = "push"
    EVICT = "evict"


def describe(problem: BaseException) -> str:
    """One line for a failure: its type and message, never a traceback."""
    text = str(getattr(problem, "message", "") or problem).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(problem).__name__}: {first}"[:300] if first else type(problem).__name__


class SessionHealth:
    """The failed background jobs per session (empty when all is well)."""

    def __init__(self) -> None:
        self._failures: dict[str, dict[BackgroundJob, str]] = {}

    def failed(self, name: str, job: BackgroundJob, problem: BaseException) -> None:
        """Record (and log, once per new cause, with the traceback) that ``job`` failed for ``name``."""
        cause = f"{job.value} failed: {describe(problem)}"
        jobs = self._failures.setdefault(name, {})
        if jobs.get(job) != cause:
            log.error("session %s degraded: background %s", name, cause, exc_info=problem)
        jobs[job] = cause

    def succeeded(self, name: str, job: BackgroundJob) -> None:
        """``job`` worked for ``name``: its earlier failure, if any, is over."""
        jobs = self._failures.get(name)
        if jobs is not None and jobs.pop(job, None) is not None:
            log.info("session %s: background %s works again", name, job.value)
            if not jobs:
                del self._failures[name]

    def forget(self, name: str) -> None:
        """The session is gone (deleted or renamed)."""
        self._failures.pop(name, None)

    def cause(self, name: str) -> str | None:
        """The session's degraded cause (the first failing job's), or None when healthy."""
        jobs = self._failures.get(name)
        return next(iter(jobs.values())) if jobs else None

    def degraded(self) -> dict[str, str]:
        """Every degraded session with its cause, by name."""
        return {name: cause for name in sorted(self._failures) if (cause := self.cause(name)) is not None}
