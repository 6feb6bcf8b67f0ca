"""An offline, deterministic oracle that answers from a TOML file of prompt patterns.

It exists so that programs, tests and demos that use ``infer.op`` / ``search.op`` run without a
network or an API key and always give the same answers. Script format::

    fallback = "optional: overrides the configured fallback answer"
    [[answer]]
    match = "capital of France"      # plain substring, case-insensitive
    answer = "Paris"
    [[answer]]
    regex = "^count (\\d+)$"         # Python regex, re.search, case-sensitive unless (?i)
    answer = "counted {1}"           # {N} is regex group N ({0} the whole match)
    answers = ["a", "b", "c"]        # optional: search.op samples, cycled if fewer than asked

The first matching entry wins. When nothing matches the fallback answer is returned; the default
fallback says plainly that it is one, so nobody mistakes it for a real answer.

Asked with a token sink (``ask(..., on_token=...)``), it hands a one-answer reply over word by word,
``stream_delay_ms`` apart (``[oracle] stream_delay_ms``), as a streaming endpoint would: front ends
and their tests can watch an answer arrive without a network.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from omega_core.oracle.base import OracleAnswer, OracleError, check_samples

DEFAULT_FALLBACK_ANSWER = "[scripted oracle fallback: no pattern matched]"

_TOP_KEYS = frozenset({"fallback", "answer"})
_ENTRY_KEYS = frozenset({"match", "regex", "answer", "answers"})
_GROUP_REF = re.compile(r"\{(\d+)\}")
_WORD = re.compile(r"\s*\S+|\s+$")  # a streamed answer's pieces: each word with the space before it


@dataclass(frozen=True)
class ScriptEntry:
    """One ``[[answer]]`` table, validated. Exactly one of ``match`` / ``regex`` is set."""

    number: int
    match: str | None
    regex: re.Pattern[str] | None
    answer: str
    answers: tuple[str, ...]

    def try_answer(self, prompt: str, samples: int) -> tuple[str, ...] | None:
        """The texts this entry gives for ``prompt``, or ``None`` when it does not match."""
        if self.match is not None:
            if self.match.casefold() not in prompt.casefold():
                return None
            return _pick(self.answer, self.answers, samples)
        assert self.regex is not None
        found = self.regex.search(prompt)
        if found is None:
            return None
        texts = _pick(self.answer, self.answers, samples)
        return tuple(_fill_groups(text, found) for text in texts)


def _pick(answer: str, answers: tuple[str, ...], samples: int) -> tuple[str, ...]:
    """One answer for infer; for N samples cycle ``answers``, else repeat the single answer."""
    if samples == 1:
        return (answer,)
    if answers:
        return tuple(answers[i % len(answers)] for i in range(samples))
    return (answer,) * samples


def _fill_groups(text: str, found: re.Match[str]) -> str:
    """Replace ``{N}`` with regex group N (unmatched optional groups become "")."""
    return _GROUP_REF.sub(lambda ref: found.group(int(ref.group(1))) or "", text)


class ScriptedOracle:
    """Answers prompts from a TOML script loaded once at construction (see the module docstring)."""

    def __init__(self, script_path: Path | None, fallback_answer: str, model: str = "scripted",
                 stream_delay_ms: float = 0.0) -> None:
        self.model = model
        self.stream_delay_s = max(0.0, stream_delay_ms) / 1000
        self.script_path = script_path
        # An empty configured fallback means "not configured": an empty answer would hide the fact
        # that nothing matched, which is exactly what the fallback text is there to show.
        fallback = fallback_answer or DEFAULT_FALLBACK_ANSWER
        entries: tuple[ScriptEntry, ...] = ()
        if script_path is not None:
            data = _load_toml(script_path)
            fallback, entries = _parse_script(script_path, data, fallback)
        self.fallback_answer = fallback
        self.entries = entries

    def ask(self, prompt: str, samples: int = 1, on_token: Callable[[str], None] | None = None) -> OracleAnswer:
        """First matching entry's answer(s), else the fallback answer repeated ``samples`` times."""
        check_samples(samples)
        started = time.perf_counter()
        texts: tuple[str, ...] | None = None
        for entry in self.entries:
            texts = entry.try_answer(prompt, samples)
            if texts is not None:
                break
        if texts is None:
            texts = (self.fallback_answer,) * samples
        if on_token is not None and samples == 1:
            for number, piece in enumerate(_WORD.findall(texts[0])):
                if number and self.stream_delay_s:
                    time.sleep(self.stream_delay_s)
                on_token(piece)
        tokens = len(prompt.split()) + sum(len(text.split()) for text in texts)
        duration_ms = int((time.perf_counter() - started) * 1000)
        return OracleAnswer(texts=texts, model=self.model, tokens=tokens, duration_ms=duration_ms)


def _load_toml(path: Path) -> dict[str, Any]:
    """Read and parse the script, turning every failure into an OracleError that names the file."""
    hint = 'fix the path in [oracle] script, or set script = "" to use only the fallback answer'
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise OracleError(f"scripted oracle: script file {path} does not exist; {hint}") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OracleError(f"scripted oracle: cannot read script file {path} ({reason}); {hint}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OracleError(
            f"scripted oracle: script file {path} is not UTF-8 text (bad byte at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    import tomllib  # here: compiling its regexes would cost every start that reads no script

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OracleError(
            f"scripted oracle: script file {path} is not valid TOML: {exc}; fix the syntax there"
        ) from None


def _parse_script(path: Path, data: dict[str, Any], fallback: str) -> tuple[str, tuple[ScriptEntry, ...]]:
    """Validate the parsed TOML; every problem names the file and, for entries, the entry number."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise OracleError(
            f"scripted oracle: script file {path} has unknown top-level key(s) {', '.join(unknown)}; "
            "only 'fallback' and [[answer]] tables are allowed"
        )
    if "fallback" in data:
        if not isinstance(data["fallback"], str):
            raise OracleError(
                f"scripted oracle: script file {path}: 'fallback' must be a string, "
                f"not {_toml_type(data['fallback'])}; quote it"
            )
        fallback = data["fallback"]
    tables = data.get("answer", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise OracleError(
            f"scripted oracle: script file {path}: 'answer' must be a list of [[answer]] tables; "
            "write each entry under its own [[answer]] header"
        )
    entries = tuple(_parse_entry(path, number, table) for number, table in enumerate(tables, start=1))
    return fallback, entries


def _parse_entry(path: Path, number: int, table: dict[str, Any]) -> ScriptEntry:
    """Check one ``[[answer]]`` table (``number`` is 1-based, counting [[answer]] headers)."""
    where = f"scripted oracle: script file {path}, [[answer]] entry {number}"
    unknown = sorted(set(table) - _ENTRY_KEYS)
    if unknown:
        raise OracleError(
            f"{where} has unknown key(s) {', '.join(unknown)}; allowed: match, regex, answer, answers"
        )
    has_match, has_regex = "match" in table, "regex" in table
    if not has_match and not has_regex:
        raise OracleError(f"{where} has neither 'match' nor 'regex'; add one to say which prompts it answers")
    if has_match and has_regex:
        raise OracleError(f"{where} has both 'match' and 'regex'; keep only one")
    key = "match" if has_match else "regex"
    pattern = table[key]
    if not isinstance(pattern, str):
        raise OracleError(f"{where}: '{key}' must be a string, not {_toml_type(pattern)}")
    if has_match and not pattern:
        raise OracleError(f"{where}: 'match' is empty and would match every prompt; give it some text")
    compiled: re.Pattern[str] | None = None
    if has_regex:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise OracleError(
                f"{where}: 'regex' {pattern!r} is not a valid Python regular expression ({exc}); "
                "remember that backslashes must be doubled inside TOML double-quoted strings"
            ) from None
    answers = table.get("answers", [])
    if "answers" in table and (
        not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers)
    ):
        raise OracleError(f"{where}: 'answers' must be a non-empty list of strings")
    if "answer" in table:
        answer = table["answer"]
        if not isinstance(answer, str):
            raise OracleError(f"{where}: 'answer' must be a string, not {_toml_type(answer)}; quote it")
    elif "answers" in table:
        answer = answers[0]
    else:
        raise OracleError(f"{where} has no 'answer' (or 'answers'); add the text to answer with")
    if compiled is not None:
        for text in (answer, *answers):
            for ref in _GROUP_REF.finditer(text):
                if int(ref.group(1)) > compiled.groups:
                    raise OracleError(
                        f"{where}: the answer refers to {ref.group(0)} but the regex has only "
                        f"{compiled.groups} group(s); add a (...) group or fix the reference"
                    )
    return ScriptEntry(
        number=number,
        match=pattern if has_match else None,
        regex=compiled,
        answer=answer,
        answers=tuple(answers),
    )


def _toml_type(value: object) -> str:
    """Describe a parsed TOML value's type in TOML's words, for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)
