"""Errors a user can see. Each carries a message written for the user (what, where, how to fix).

Python exceptions that are not OmegaError are bugs; front ends show them only behind ``--debug``.
"""

from __future__ import annotations


class OmegaError(Exception):
    """Base of every error that is reported to the user as ``error: MESSAGE``."""

    code = "eval_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReadError(OmegaError):
    """Text that cannot be read as data; names line and column (1-based)."""

    code = "parse_error"

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line}, column {column}")
        self.bare_message = message
        self.line = line
        self.column = column


class CompileError(OmegaError):
    """A form that is read fine but is not valid syntax (bad special form)."""

    code = "parse_error"


class EvalError(OmegaError):
    """A run-time error in user code (type errors, unbound variables, user `error` calls)."""


class BudgetExceeded(OmegaError):
    """A command ran past one of its budgets (steps, memory, integer size, output): see
    ``omega_core/lang/budgets.py``. The command's changes are undone."""

    code = "budget_exceeded"


class InternalError(OmegaError):
    """The host failed under a command (a Python limit such as its recursion depth or memory, or a
    bug): the command is stopped and undone, the session goes on. Never a traceback to the user."""

    code = "internal"


class Interrupted(OmegaError):
    """A command was stopped by the user."""

    code = "interrupted"


class ConfigError(OmegaError):
    """A configuration file or value is wrong; the message names file, key and expected type."""

    code = "bad_request"
