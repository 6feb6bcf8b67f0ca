"""Build the configured oracle from the fields of the ``[oracle]`` config section.

The keyword names are exactly the config keys, so the caller can pass the section straight through
and every error can point at the key to change.
"""

from __future__ import annotations

from pathlib import Path

from omega_core.oracle.base import Oracle, OracleError
from omega_core.oracle.scripted import ScriptedOracle

ORACLE_KINDS = ("scripted", "openai")


def make_oracle(
    kind: str,
    *,
    script: str,
    fallback_answer: str,
    base_url: str,
    model: str,
    api_key_env: str,
    timeout_s: float,
    retries: int,
    retry_backoff_s: float,
    stream: bool = True,
    stream_delay_ms: float = 0.0,
) -> Oracle:
    """Return a :class:`ScriptedOracle` or an :class:`OpenAICompatibleOracle`.

    ``script = ""`` means no script file (every prompt gets the fallback answer); a path starting
    with ``~`` is expanded. The scripted oracle always reports the model ``"scripted"``: ``model``
    belongs to the remote endpoint, and a scripted answer recorded under a real model's name would
    later be mistaken for that model's answer.
    """
    if kind == "scripted":
        script_path = Path(script).expanduser() if script else None
        return ScriptedOracle(script_path, fallback_answer, stream_delay_ms=stream_delay_ms)
    if kind == "openai":
        # Imported here: http.client, ssl and email cost a start-up that the scripted oracle never needs.
        from omega_core.oracle.openai_compat import OpenAICompatibleOracle

        return OpenAICompatibleOracle(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            retries=retries,
            retry_backoff_s=retry_backoff_s,
            stream=stream,
        )
    raise OracleError(
        f"unknown oracle kind {kind!r}; set the oracle kind in [oracle] to one of: {', '.join(ORACLE_KINDS)}"
    )
