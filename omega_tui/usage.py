"""``UsageError``: bad command-line use (exit status 2), shared by ``omega`` and ``omega server``.

Why it carries a usage line and an example: a user who typed a wrong flag needs the right form in
front of them, not a pointer to ``--help``. The front end prints ``omega: MESSAGE``, then the usage
line, then one example close to what they tried.
"""

from __future__ import annotations

import re

OMEGA_USAGE = "omega [--plain | --batch] [FILE | -] [--json] [--session NAME] [--embedded] [--config FILE] [--debug]"
SERVER_USAGE = "omega server start|stop|status|restart [--json] [--config FILE]"
BATCH_EXAMPLE = "omega --batch program.omega"

_SESSION_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", re.ASCII)
"""ARCHITECTURE.md section 6 (``omega_core.session.names``), checked here without loading the session
package so the thin batch client stays small; a failing name is then explained by ``validate_name``."""


class UsageError(Exception):
    """Bad command-line use: exit status 2, with the message, a usage line and an example."""

    def __init__(self, message: str, example: str = BATCH_EXAMPLE, usage: str = OMEGA_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.example = example
        self.usage = usage

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """What the user sees on stderr: the message, the usage line, one example."""
        return [f"omega: {self.message}", f"usage: {self.usage}", f"example: {self.example}"]


def check_session_name(name: str) -> str:
    """``name`` if it is a valid session name, else ``UsageError`` saying why (exit status 2)."""
    if _SESSION_NAME.fullmatch(name) is None:
        from omega_core.session.names import validate_name  # the precise reason, only on failure

        try:
            validate_name(name)
        except Exception as problem:  # noqa: BLE001 - InvalidName; its message says what is wrong
            raise UsageError(getattr(problem, "message", str(problem)), "omega --batch --session work program.omega") from None
        raise UsageError(f"invalid session name {name!r}", "omega --batch --session work program.omega")
    return name
