"""Completion (tab) and inspection (shift+tab) for Omega cells.

Completion offers the session's own definitions (asked of the server with ``:defs``), the
primitives and prelude procedures, and the special forms; on a line starting with ``:`` it offers
the REPL commands. Inspection shows what a name is: a special form's syntax, or the value the
session holds (``:env NAME``, which prints a procedure with its parameters, ``<closure (x y)>``)
and, for the user's own procedures, the source of the definition, found in the session's recorded
inputs (the most recent ``(define (NAME ...`` or ``(define NAME ...``).

Builtin names come from this process's copy of the language tables: they are the same in every
session, so they never cost a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from omega_tui.kernel.syntax import symbol_before, top_level_forms

__all__ = ["Completion", "SPECIAL_FORM_SYNTAX", "builtin_names", "command_names", "complete", "definition_source",
           "describe_name"]

SPECIAL_FORM_SYNTAX: dict[str, str] = {
    "quote": "(quote DATUM), also 'DATUM",
    "if": "(if TEST THEN [ELSE]); a missing ELSE gives #f",
    "define": "(define NAME VALUE) or (define (NAME PARAM ...) BODY ...)",
    "set!": "(set! NAME VALUE)",
    "lambda": "(lambda (PARAM ...) BODY ...), (lambda (PARAM ... . REST) BODY ...) or (lambda ARGS BODY ...)",
    "begin": "(begin EXPR ...)",
    "let": "(let ((NAME VALUE) ...) BODY ...) or named: (let NAME ((VAR INIT) ...) BODY ...)",
    "let*": "(let* ((NAME VALUE) ...) BODY ...): each binding sees the ones before",
    "letrec": "(letrec ((NAME VALUE) ...) BODY ...): the bindings see each other",
    "letrec*": "(letrec* ((NAME VALUE) ...) BODY ...)",
    "cond": "(cond (TEST EXPR ...) ... (else EXPR ...))",
    "and": "(and EXPR ...): stops at the first #f",
    "or": "(or EXPR ...): stops at the first true value",
    "when": "(when TEST EXPR ...)",
    "unless": "(unless TEST EXPR ...)",
    "delay": "(delay EXPR): a promise; (force P) runs it once",
    "cons-stream": "(cons-stream HEAD TAIL): TAIL is delayed",
    "amb": "(amb E1 E2 ...): one alternative; (require P) backtracks when P is false",
    "effect": "(effect OP ARG ...) with OP a name such as infer.op: suspends and asks the host",
    "handle": "(handle BODY (on OP (PARAM ... K) HANDLER ...) ...): K resumes the body",
    "oracle-lambda": "(oracle-lambda (PARAM ...) PROMPT-EXPR ...): a procedure answered by the oracle",
}
"""The syntax of each special form, for inspection (the compiler's own error messages say the same)."""

MAX_MATCHES = 200
_INTERNAL_PREFIX = "%"


@dataclass(frozen=True)
class Completion:
    """Jupyter's ``complete_reply`` content: matches replace ``code[start:end]``."""

    matches: tuple[str, ...]
    start: int
    end: int


@lru_cache(maxsize=1)
def builtin_names() -> frozenset[str]:
    """Primitives, prelude procedures and special forms (internal ``%`` helpers left out)."""
    from omega_core.lang.builtins import base_globals
    from omega_core.lang.compiler import SPECIAL_FORMS

    names = {name for name in base_globals() if not name.startswith(_INTERNAL_PREFIX)}
    names.update(SPECIAL_FORMS)
    names.add("else")
    return frozenset(names)


@lru_cache(maxsize=1)
def command_names() -> tuple[str, ...]:
    """Every REPL command (``:session list`` ...) as typed."""
    import omega_core.repl.commands  # noqa: F401 - registers the commands
    from omega_core.repl.processor import COMMANDS

    return tuple(sorted(COMMANDS))


def _ranked(prefix: str, names: Sequence[str] | frozenset[str]) -> list[str]:
    return sorted({name for name in names if name.startswith(prefix)})[:MAX_MATCHES]


def complete(code: str, cursor: int, user_names: Sequence[str]) -> Completion:
    """Matches for the symbol (or ``:command``) before ``cursor``; nothing inside strings or comments."""
    cursor = max(0, min(cursor, len(code)))
    line_start = code.rfind("\n", 0, cursor) + 1
    line = code[line_start:cursor]
    if line.lstrip().startswith(":"):
        typed = line.lstrip()
        start = cursor - len(typed)
        return Completion(tuple(_ranked(typed, command_names())), start, cursor)
    found = symbol_before(code, cursor)
    if found is None:
        return Completion((), cursor, cursor)
    start, prefix = found
    if not prefix:
        return Completion((), cursor, cursor)
    own = _ranked(prefix, user_names)
    builtin = [name for name in _ranked(prefix, builtin_names()) if name not in own]
    return Completion(tuple((own + builtin)[:MAX_MATCHES]), start, cursor)


def definition_source(name: str, inputs: Sequence[str]) -> str | None:
    """The text of the most recent top-level ``define`` of ``name`` among ``inputs`` (oldest first)."""
    pattern = re.compile(r"\(\s*define\s+\(?\s*" + re.escape(name) + r"(?=[\s()])")
    for code in reversed(inputs):
        for form in reversed(top_level_forms(code)):
            if pattern.match(form):
                return form
    return None


def describe_name(name: str, env_output: str | None, source: str | None) -> str | None:
    """What shift+tab shows for ``name``; None when it names nothing.

    ``env_output`` is the server's ``:env NAME`` answer (None: not asked, e.g. a special form).
    """
    if name in SPECIAL_FORM_SYNTAX and (env_output is None or env_output.startswith("error: ")):
        return f"{name}: special form\n  {SPECIAL_FORM_SYNTAX[name]}"
    if env_output is None or env_output.startswith("error: ") or not env_output.startswith(f"{name} = "):
        return None
    shown = env_output[len(name) + 3:]
    if shown.startswith("<closure"):
        parameters = shown[len("<closure"):].rstrip(">").strip()
        lines = [f"{name}: procedure", f"  parameters: {parameters or '()'}"]
        if source is not None:
            lines += ["", source]
        else:
            lines.append("  (its definition is not among the session's recent inputs)")
        return "\n".join(lines)
    if shown == "<prim>":
        kind = "special form" if name in SPECIAL_FORM_SYNTAX else "primitive procedure"
        return f"{name}: {kind} (builtin)"
    if shown.startswith("<"):
        return f"{name}: {shown.strip('<>')}" + (f"\n\n{source}" if source else "")
    return f"{name} = {shown}" + (f"\n\n{source}" if source else "")
