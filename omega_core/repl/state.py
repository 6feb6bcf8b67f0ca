"""The state of one REPL: the current recorded session, the debugger, and where sessions live.

``process(repl_state, line)`` (``processor.py``) returns a possibly different ``ReplState``
(``:session load`` switches sessions), which is why this is a value the caller keeps, not a global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omega_core.config import Config
from omega_core.effects import EffectHost
from omega_core.session.recorded import RecordedSession

DEFAULT_SESSION = "current"


@dataclass
class ReplState:
    config: Config
    session: RecordedSession
    effects: EffectHost
    debugger: Any = None
    """The active ``:debug`` session (``omega_core.repl.debugger.Debugger``), if any."""
    extra: dict[str, Any] = field(default_factory=dict)
    provider: Callable[[str], RecordedSession] | None = None
    """Where other sessions come from. None: opened here and owned by this REPL (closed when
    left). A server passes its pool, which owns the sessions (other clients may share them)."""
    lister: Callable[[], list[Any]] | None = None
    """Summaries of every session; None: read the directory (a server passes its catalog)."""

    @property
    def sessions_dir(self) -> Path:
        return self.config.sessions_dir

    @classmethod
    def open(cls, config: Config, name: str = DEFAULT_SESSION, effects: EffectHost | None = None) -> "ReplState":
        """A REPL on session ``name`` (created when it does not exist yet)."""
        host = effects or EffectHost(config.oracle, config.effects, config.language.search_samples)
        session = RecordedSession.open(config.sessions_dir, name, config, host)
        return cls(config=config, session=session, effects=host)

    def switch_to(self, name: str) -> "ReplState":
        """A REPL on another session (this REPL's own session is flushed and closed)."""
        if self.provider is not None:
            return ReplState(config=self.config, session=self.provider(name), effects=self.effects,
                             provider=self.provider, lister=self.lister)
        if name == self.session.name:
            self.session.close()
            return ReplState.open(self.config, name, self.effects)
        session = RecordedSession.open(self.config.sessions_dir, name, self.config, self.effects)
        self.session.close()
        return ReplState(config=self.config, session=session, effects=self.effects)

    def close(self) -> None:
        if self.provider is None:
            self.session.close()
