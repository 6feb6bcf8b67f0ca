"""What every oracle (the thing that answers `infer.op` / `search.op` effects) looks like.

The host calls :meth:`Oracle.ask` from a worker thread, never on the event loop, because a real
oracle blocks on the network for seconds. Answers are recorded as receipts keyed by
:func:`receipt_key`, so replaying a session never asks the oracle again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from omega_core.errors import OmegaError


@dataclass(frozen=True)
class OracleAnswer:
    """One oracle exchange's result.

    ``texts`` holds one text for ``infer.op`` and N for ``search.op`` (always exactly the number of
    samples asked for). ``tokens`` is ``None`` when the oracle cannot say (a server without
    ``usage``); ``duration_ms`` is wall time including retries, because that is what the user waited.
    """

    texts: tuple[str, ...]
    model: str
    tokens: int | None
    duration_ms: int


@runtime_checkable
class Oracle(Protocol):
    """Anything that can answer a prompt. ``ask`` blocks; call it off the event loop."""

    model: str

    def ask(self, prompt: str, samples: int = 1, on_token: Callable[[str], None] | None = None) -> OracleAnswer:
        """Return ``samples`` answer texts for ``prompt``, or raise :class:`OracleError`.

        ``on_token``, when given, receives the answer's pieces as they are produced (one-answer
        requests; front ends show them live). The host passes it only when someone listens, so
        an oracle written before streaming, without the parameter, keeps working."""
        ...


class OracleError(OmegaError):
    """The oracle could not answer. The message says what happened, where (URL or file) and the fix."""

    code = "eval_error"


def oracle_request(op: str, model: str, prompt: str, samples: int) -> dict[str, Any]:
    """Build the request dict that a receipt is keyed by (see :func:`receipt_key`).

    Kept in one place so the recorder and the replayer cannot disagree about its shape.
    """
    return {"op": op, "model": model, "prompt": prompt, "samples": samples}


def receipt_key(request: dict[str, Any]) -> str:
    """SHA-256 hex digest of ``request``'s canonical JSON.

    ``request`` is ``{"op": op, "model": model, "prompt": prompt, "samples": n}`` where ``op`` is the
    effect (``"infer.op"`` or ``"search.op"``), ``model`` the oracle's configured model name,
    ``prompt`` the prompt text exactly as sent and ``n`` the number of samples. Canonical JSON (sorted
    keys, no spaces, UTF-8 without escaping) makes the key independent of dict order, so the same
    question always finds the same recorded answer.
    """
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_samples(samples: int) -> None:
    """Reject sample counts below 1: an empty answer list would silently look like a result."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise OracleError(
            f"the oracle was asked for {samples!r} samples; the sample count must be an integer "
            "of at least 1 (check [language] search_samples in the configuration)"
        )
