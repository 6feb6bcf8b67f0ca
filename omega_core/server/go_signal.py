"""The supervisor's "go" to a standby backend (``backend_process``): one line on a pipe that
carries the restart count and when it was given (``time.monotonic``, for the start record).

Its own module because both sides need it: the supervisor writes it (``backend_process``) and the
backend reads it (``backend_start``), and the backend must not import the supervisor's modules."""

from __future__ import annotations

import os

GO_MESSAGE_BYTES = 128


def encode_go(restarts: int, began: float) -> bytes:
    return f"go {restarts} {began!r}\n".encode("ascii")


def read_go(fd: int) -> tuple[int, float] | None:
    """Read the "go" from ``fd`` (readable) and close it: (restarts, began), or None when the pipe
    ended without one (the supervisor stopped or died: the standby is not needed)."""
    try:
        message = os.read(fd, GO_MESSAGE_BYTES)
    except OSError:
        message = b""
    finally:
        os.close(fd)
    try:
        word, restarts, began = message.decode("ascii").split()
        if word == "go":
            return int(restarts), float(began)
    except (UnicodeDecodeError, ValueError):
        pass
    return None
