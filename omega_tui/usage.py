"""``UsageError``: bad command-line use (exit status 2 with the message), shared by the subcommands."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line use: exit status 2 with the message."""
