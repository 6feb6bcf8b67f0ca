"""The host side of effects: asking the oracle, and the shell and file operations config allows.

The machine stops at a host effect and hands over ``(op, args)``; ``EffectHost.perform`` does the
work and returns the value to resume with, plus a record of the oracle exchange (request, receipt
key, answer) so the session layer can log ``llm_req``/``llm_resp`` events and keep a receipt.
Shell and file operations are refused unless ``[effects]`` enables them, because a program a
user pastes should not be able to touch their machine by default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from omega_core.config import EffectsConfig, OracleConfig
from omega_core.errors import EvalError
from omega_core.lang.printer import display_string, write_string
from omega_core.lang.values import UNSPECIFIED, Pair, iter_list, make_list
from omega_core.oracle import Oracle, make_oracle, oracle_request, receipt_key

ORACLE_OPS = frozenset({"infer.op", "search.op"})
SHELL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class OracleExchange:
    """One question to the oracle and its answer: what a receipt records."""

    op: str
    request: dict[str, Any]
    key: str
    model: str
    prompt: str
    texts: tuple[str, ...]
    tokens: int | None
    duration_ms: int
    timestamp_ms: int


@dataclass(frozen=True)
class EffectOutcome:
    value: Any
    exchange: OracleExchange | None = None


def prompt_of(args: list[Any]) -> str:
    """The prompt text of an oracle effect's arguments.

    A list of strings is joined with no separator; a string is taken as it is; anything else is
    printed. Several arguments are joined the same way, so ``(effect infer.op "Say " x)`` works.
    """
    parts: list[str] = []
    for arg in args:
        if type(arg) is Pair and all(type(item) is str for item in iter_list(arg)):
            parts.append("".join(iter_list(arg)))
        elif type(arg) is str:
            parts.append(arg)
        else:
            parts.append(write_string(arg))
    return "".join(parts)


def oracle_from_config(config: OracleConfig) -> Oracle:
    return make_oracle(
        str(config.kind),
        script=config.script,
        fallback_answer=config.fallback_answer,
        base_url=config.base_url,
        model=config.model,
        api_key_env=config.api_key_env,
        timeout_s=config.timeout_s,
        retries=config.retries,
        retry_backoff_s=config.retry_backoff_s,
        stream=config.stream,
        stream_delay_ms=config.stream_delay_ms,
    )


class EffectHost:
    """Performs host effects. The oracle is created on first use (a bad oracle config should only
    bother programs that ask the oracle)."""

    def __init__(
        self,
        oracle_config: OracleConfig | None = None,
        effects: EffectsConfig | None = None,
        search_samples: int = 3,
        oracle_factory: Callable[[], Oracle] | None = None,
    ) -> None:
        self._oracle_config = oracle_config or OracleConfig()
        self._effects = effects or EffectsConfig()
        self._search_samples = search_samples
        self._oracle_factory = oracle_factory or (lambda: oracle_from_config(self._oracle_config))
        self._oracle: Oracle | None = None

    @property
    def oracle(self) -> Oracle:
        if self._oracle is None:
            self._oracle = self._oracle_factory()
        return self._oracle

    def oracle_request(self, op: str, args: list[Any]) -> tuple[dict[str, Any], str, int]:
        """The request dict and receipt key an oracle effect would send, without sending it."""
        samples = 1 if op == "infer.op" else self._search_samples
        prompt = prompt_of(args)
        request = oracle_request(op, self.oracle.model, prompt, samples)
        return request, receipt_key(request), samples

    def perform(self, op: str, args: list[Any], on_token: Callable[[str], None] | None = None) -> EffectOutcome:
        """Do one host effect. ``on_token`` (oracle effects) receives the answer as it streams."""
        if op in ORACLE_OPS:
            return self.ask(op, args, on_token)
        if op == "shell.op":
            return EffectOutcome(self._shell(args))
        if op == "file.read.op":
            return EffectOutcome(self._file_read(args))
        if op == "file.write.op":
            return EffectOutcome(self._file_write(args))
        raise EvalError(f"unhandled effect {op}")

    def ask(self, op: str, args: list[Any], on_token: Callable[[str], None] | None = None) -> EffectOutcome:
        request, key, samples = self.oracle_request(op, args)
        started = time.time()
        if on_token is not None:
            answer = self.oracle.ask(request["prompt"], samples, on_token=on_token)
        else:  # the plain call: oracles written before streaming take no on_token
            answer = self.oracle.ask(request["prompt"], samples)
        exchange = OracleExchange(
            op=op,
            request=request,
            key=key,
            model=answer.model,
            prompt=request["prompt"],
            texts=tuple(answer.texts),
            tokens=answer.tokens,
            duration_ms=answer.duration_ms,
            timestamp_ms=int(started * 1000),
        )
        return EffectOutcome(value_of_exchange(exchange), exchange)

    def _refuse(self, op: str, key: str) -> EvalError:
        return EvalError(f"{op} is disabled: enable it with [effects] {key} = true in your config file")

    def _shell(self, args: list[Any]) -> Any:
        if not self._effects.allow_shell:
            raise self._refuse("shell.op", "allow_shell")
        if len(args) != 1 or type(args[0]) is not str:
            raise EvalError('shell.op: expected one string, the command, as in (effect shell.op "ls")')
        import subprocess  # only when a shell effect runs (allowed): not a cost of every start

        try:
            done = subprocess.run(args[0], shell=True, capture_output=True, text=True, timeout=SHELL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise EvalError(f"shell.op: the command ran longer than {SHELL_TIMEOUT_S:g} s and was stopped") from None
        if done.returncode != 0:
            raise EvalError(f"shell.op: the command exited with status {done.returncode}: {done.stderr.strip()[:200]}")
        return done.stdout

    def _file_read(self, args: list[Any]) -> Any:
        if not self._effects.allow_file_read:
            raise self._refuse("file.read.op", "allow_file_read")
        if len(args) != 1 or type(args[0]) is not str:
            raise EvalError('file.read.op: expected one string, the path, as in (effect file.read.op "notes.txt")')
        try:
            return Path(args[0]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as problem:
            raise EvalError(f"file.read.op: cannot read {args[0]}: {problem}") from None

    def _file_write(self, args: list[Any]) -> Any:
        if not self._effects.allow_file_write:
            raise self._refuse("file.write.op", "allow_file_write")
        if len(args) != 2 or type(args[0]) is not str:
            raise EvalError('file.write.op: expected a path and a value, as in (effect file.write.op "out.txt" "text")')
        try:
            Path(args[0]).write_text(display_string(args[1]), encoding="utf-8")
        except OSError as problem:
            raise EvalError(f"file.write.op: cannot write {args[0]}: {problem}") from None
        return UNSPECIFIED


def value_of_exchange(exchange: OracleExchange) -> Any:
    """What the program receives: the text for ``infer.op``, a list of texts for ``search.op``."""
    if exchange.op == "infer.op":
        return exchange.texts[0] if exchange.texts else ""
    return make_list(exchange.texts)
