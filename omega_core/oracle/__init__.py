"""Oracles: what answers the ``infer.op`` and ``search.op`` effects (scripted or OpenAI-compatible)."""

from omega_core.oracle.base import (
    Oracle,
    OracleAnswer,
    OracleError,
    check_samples,
    oracle_request,
    receipt_key,
)
from omega_core.oracle.factory import ORACLE_KINDS, make_oracle
from omega_core.oracle.scripted import DEFAULT_FALLBACK_ANSWER, ScriptedOracle

__all__ = [
    "DEFAULT_FALLBACK_ANSWER",
    "ORACLE_KINDS",
    "OpenAICompatibleOracle",
    "Oracle",
    "OracleAnswer",
    "OracleError",
    "ScriptedOracle",
    "check_samples",
    "make_oracle",
    "oracle_request",
    "receipt_key",
]


def __getattr__(name: str) -> object:
    """``OpenAICompatibleOracle`` on first use only: its HTTP stack is heavy to import."""
    if name == "OpenAICompatibleOracle":
        from omega_core.oracle.openai_compat import OpenAICompatibleOracle

        return OpenAICompatibleOracle
    raise AttributeError(f"module 'omega_core.oracle' has no attribute {name!r}")
