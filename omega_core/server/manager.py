"""Sessions inside the backend: instances, the LRU pool and the catalog of what is on disk.

``SessionManager.get`` finds a session in the pool, else loads it from disk, else creates it.
The pool is bounded by count and by estimated memory; evicting a session flushes it first, and
a session in use (a command running) is never evicted. Descriptors are bounded apart: a loaded
session holds two (its log and states file) only while it is used; the least recently used idle
ones beyond ``open_files_budget`` (and any idle for ``[server] close_idle_files_s``) close them
and stay loaded, and ``get`` reopens them (issue 10, item 8). The catalog keeps one summary per session
on disk in memory (``catalog.SessionCatalog``, the listing half of the manager).
"""

from __future__ import annotations

import collections
import logging
import resource
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from omega_core.config import Config
from omega_core.effects import EffectHost
from omega_core.errors import OmegaError
from omega_core.lang.release import release_session_values
from omega_core.repl.state import ReplState
from omega_core.session.copying import delete_session_files
from omega_core.session.damaged import open_damaged
from omega_core.session.errors import CorruptLog
from omega_core.session.validation import damaged_signature
from omega_core.session.listing import SessionSummary
from omega_core.session.names import session_paths, validate_name
from omega_core.session.recorded import RecordedSession

from omega_core.server.catalog import SessionCatalog
from omega_core.server.health import BackgroundJob, SessionHealth
from omega_core.server.worker_threads import quick_switching
from omega_core.server.list_reply import ListReplyEncoder
from omega_core.server.side_sizes import SideFileSizes


log = logging.getLogger("omega.sessions")

DESCRIPTORS_PER_SESSION = 2
"""A loaded session's files while it is used: its log (written and locked) and its states file."""
DESCRIPTOR_SHARE = 4
"""Sessions' files may use at most 1/this of the process's descriptor limit (the rest: clients,
the listening socket, temporary files of saves and copies)."""



class NotFound(OmegaError):
    code = "not_found"


class BadRequest(OmegaError):
    code = "bad_request"


@dataclass
class SessionInstance:
    """One loaded session: its recorded session, its REPL state (debugger), and bookkeeping."""

    session: RecordedSession
    repl: ReplState
    last_access: float = field(default_factory=time.time)
    busy: int = 0
    """Commands running on it now (a busy session is never evicted)."""

    @property
    def name(self) -> str:
        return self.session.name

    def estimated_memory(self) -> int:
        return self.session.estimated_memory()

    def touch(self) -> None:
        self.last_access = time.time()


@dataclass
class PoolStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class SessionManager(SessionCatalog):
    def __init__(self, config: Config, effects: EffectHost | None = None) -> None:
        self.config = config
        self.sessions_dir = config.sessions_dir
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        self.effects = effects or EffectHost(config.oracle, config.effects, config.language.search_samples)
        self.pool: collections.OrderedDict[str, SessionInstance] = collections.OrderedDict()
        self.stats = PoolStats()
        self.max_sessions = config.server.max_cached_sessions
        self.max_bytes = config.server.max_memory_mb * 1024 * 1024
        self.in_use: Callable[[], Collection[str]] = frozenset
        """The sessions clients work in now (the backend's ``working_sessions``): never evicted for
        memory, only past ``max_cached_sessions``."""
        self._preloaded: dict[str, RecordedSession] = {}
        self._list_encoder = ListReplyEncoder()
        self._side_sizes = SideFileSizes(self.sessions_dir)
        self.bytes_written_evicted = 0
        self._catalog: dict[str, SessionSummary] = {}
        self._catalog_version = 0
        """Bumped on every change of ``_catalog`` (part of the cached listing's key)."""
        self._catalog_mtime: int = -1
        """The sessions directory's mtime (ns) when the catalog last looked at it."""
        self.health = SessionHealth()
        """Sessions whose background jobs failed (shown in listings, status and metrics)."""
        self.max_open_logs = config.server.max_open_logs
        """Loaded sessions holding their files open at most (idle ones beyond it close theirs)."""
        self.damaged: dict[str, str] = {}
        """Sessions whose log failed validation when opened -> what, file, byte offset."""
        self._renaming: set[str] = set()
        """Both names of each rename under way (``begin_rename`` .. ``end_rename``)."""

    # --- pool ----------------------------------------------------------------------------------

    def get(self, name: str, create: bool = True) -> SessionInstance:
        validate_name(name)
        self._refuse_if_renaming(name)
        instance = self.pool.get(name)
        reopened = instance is not None and not instance.busy and instance.session.files_released
        if reopened:
            self._reopen_files(instance)
        if instance is not None and not instance.busy and self._stale(instance):
            self.pool.pop(name)
            instance.session.close()
            _release_values(instance)
            instance = None
        if instance is not None:
            self.pool.move_to_end(name)
            self.stats.hits += 1
            instance.touch()
            if reopened:
                self.limit_open_files(keep=name)
            return instance
        self.stats.misses += 1
        session = self._preloaded.pop(name, None)
        if session is None:
            session = self._open(name, create)
        repl = ReplState(config=self.config, session=session, effects=self.effects, provider=self._provide,
                         lister=self.summaries)
        instance = SessionInstance(session, repl)
        self.pool[name] = instance
        self.evict_if_needed(keep=name)
        self.limit_open_files(keep=name)
        return instance

    def _open(self, name: str, create: bool) -> RecordedSession:
        if not create and not session_paths(self.sessions_dir, name).log.exists():
            raise NotFound(f"no session named '{name}' (see :session list)")
        try:
            session = RecordedSession.open(self.sessions_dir, name, self.config, self.effects)
        except CorruptLog as problem:  # failed validation: read-only and listed as damaged until repaired
            self.damaged[name] = problem.message
            log.error("%s", problem.message)
            return open_damaged(self.sessions_dir, name, self.config, self.effects, problem.message)
        self.damaged.pop(name, None)
        return session

    def _stale(self, instance: SessionInstance) -> bool:
        """A pooled session to open again: closed (``:session repair`` closes a damaged one), or
        damaged and its files changed since (repaired, or restored from a backup by hand)."""
        session = instance.session
        if session.closed:
            return True
        return session.damaged is not None and session.damaged_signature != damaged_signature(
            session.paths.log, session.paths.index)

    def preload(self, name: str, create: bool = True) -> None:
        """Open ``name`` (replaying its log) off the event loop; ``get`` adopts it into the pool."""
        validate_name(name)
        self._refuse_if_renaming(name)
        if name not in self.pool and name not in self._preloaded:
            with quick_switching.running():  # the replay holds the GIL: the loop keeps its share
                self._preloaded[name] = self._open(name, create)

    def _provide(self, name: str) -> RecordedSession:
        """The processor's way to other sessions (``:session load/fork``) in the server."""
        return self.get(name).session

    def evict_if_needed(self, keep: str | None = None) -> list[str]:
        """Unload the least recently used sessions while the pool is over its count or memory
        budget, except ``keep``, busy sessions and, for the memory budget, the sessions clients
        work in (``in_use``): a session bigger than the budget, evicted whenever another client
        ran a command, was loaded again for each of its own commands (30 s for four million pairs)."""
        evicted: list[str] = []
        most = max(1, self.max_sessions)
        in_use = self.in_use()
        while len(self.pool) > most or (len(self.pool) > 1 and self.memory_estimate() > self.max_bytes):
            over_count = len(self.pool) > most
            victim = next((name for name, inst in self.pool.items()
                           if name != keep and inst.busy == 0 and (over_count or name not in in_use)), None)
            if victim is None:
                break
            self.unload(victim)
            self.stats.evictions += 1
            evicted.append(victim)
        return evicted

    # --- descriptors -----------------------------------------------------------------------------

    def open_files_budget(self) -> int:
        """Loaded sessions that may hold their files open at once: ``[server] max_open_logs``, and no
        more than a ``DESCRIPTOR_SHARE`` of the descriptor limit allows (read each time: the
        backend raises its soft limit at start)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_open_logs
        return max(1, min(self.max_open_logs, soft // DESCRIPTOR_SHARE // DESCRIPTORS_PER_SESSION))

    def open_files_count(self) -> int:
        """Loaded sessions holding files open now."""
        return sum(1 for instance in self.pool.values() if instance.session.files_open)

    def limit_open_files(self, keep: str | None = None) -> list[str]:
        """Close the files of the least recently used idle sessions beyond ``open_files_budget``
        (they stay loaded); ``keep`` and sessions running a command keep theirs. Sessions whose
        log awaits its interval fsync go last: closing would fsync on the loop."""
        holding = [instance for instance in self.pool.values()
                   if instance.session.files_open and instance.name != keep and not instance.busy]
        excess = self.open_files_count() - self.open_files_budget()
        released: list[str] = []
        # the pool's order is least recently used first; a stable sort puts clean logs before
        for instance in sorted(holding, key=lambda instance: instance.session.log_needs_fsync):
            if excess <= 0:
                break
            if self._release_files(instance):
                released.append(instance.name)
                excess -= 1
        return released

    def release_idle_files(self, now: float | None = None) -> list[str]:
        """Close the files of sessions idle for ``[server] close_idle_files_s`` (the flush loop
        calls this); 0 turns it off."""
        idle_s = self.config.server.close_idle_files_s
        if idle_s <= 0:
            return []
        cutoff = (time.time() if now is None else now) - idle_s
        return [instance.name for instance in list(self.pool.values())
                if instance.session.files_open and not instance.busy and instance.last_access <= cutoff
                and not instance.session.log_needs_fsync  # the fsync loop first (off the loop)
                and self._release_files(instance)]

    def _release_files(self, instance: SessionInstance) -> bool:
        """Close ``instance``'s files; a failure (writing its pending states, the closing fsync)
        marks it degraded and never goes further (issue 10, item 1)."""
        try:
            instance.session.release_idle_files()
        except Exception as problem:  # noqa: BLE001 - a failure stays in its session
            self.health.failed(instance.name, BackgroundJob.FLUSH, problem)
            return False
        return True

    def _reopen_files(self, instance: SessionInstance) -> None:
        """Reopen the files of a session that gave them back; if its log changed on disk meanwhile
        (another program wrote to it) the session is closed and ``get`` opens it again from disk."""
        if not instance.session.reopen_files():
            log.warning("session '%s': its log changed on disk while it was idle; opened again from its files",
                        instance.name)

    def memory_estimate(self) -> int:
        return sum(instance.estimated_memory() for instance in self.pool.values())

    def unload(self, name: str, sync_in_background: bool = True) -> bool:
        """Flush and close a loaded session (it stays on disk). A failing flush marks the session
        degraded (its log, written by each command, is intact) and never stops the unloading.
        Its log's interval sync, if due, and the freeing of its values go on in threads of
        their own (``sync_in_background=False``: the sync here, as when the backend stops)."""
        instance = self.pool.pop(name, None)
        if instance is None:
            return False
        try:
            instance.session.close(sync_in_background)  # closes the log even when the final flush fails
        except Exception as problem:  # noqa: BLE001 - a failure stays in its session (issue 10, item 1)
            self.health.failed(name, BackgroundJob.EVICT, problem)
        else:
            for job in (BackgroundJob.EVICT, BackgroundJob.FLUSH, BackgroundJob.INDEX):
                self.health.succeeded(name, job)  # the closing flush wrote states and index
        self.bytes_written_evicted += instance.session.bytes_written
        self._catalog[name] = self._summary_of(instance)
        self._catalog_version += 1
        _release_values(instance)
        return True

    def close_all(self) -> None:
        for name in list(self.pool):
            self.unload(name, sync_in_background=False)

    # --- renaming and deleting -----------------------------------------------------------------

    def delete(self, name: str, confirm: str | None) -> None:
        validate_name(name)
        if confirm != name:
            raise BadRequest(f"deleting '{name}' needs confirmation: pass confirm={name!r}")
        if name in self.pool and self.pool[name].busy:
            raise BadRequest(f"session '{name}' is running a command; interrupt it first")
        instance = self.pool.pop(name, None)
        if instance is not None:
            instance.session.close()
            _release_values(instance)
        if not delete_session_files(self.sessions_dir, name):
            raise NotFound(f"no session named '{name}'")
        self.damaged.pop(name, None)
        self._catalog.pop(name, None)
        self._catalog_version += 1
        self.health.forget(name)

    def rename(self, name: str, new_name: str) -> None:
        """Rename in one go on the calling thread (a server runs the copy off its loop: ``op_rename``)."""
        held = self.begin_rename(name, new_name)
        done = False
        try:
            self.rename_files(name, new_name, held)
            done = True
        finally:
            self.end_rename(name, new_name, held, done)

    def begin_rename(self, name: str, new_name: str) -> SessionInstance | None:
        """The checks, and the session taken out of the pool (returned if it was loaded). Until
        ``end_rename`` both names are held back: ``get`` refuses them (the copy must not meet a
        session opened meanwhile under either name)."""
        validate_name(name)
        validate_name(new_name)
        for held in (name, new_name):
            self._refuse_if_renaming(held)
        source = session_paths(self.sessions_dir, name)
        target = session_paths(self.sessions_dir, new_name)
        if not source.log.exists():
            raise NotFound(f"no session named '{name}'")
        if target.log.exists() or new_name in self.pool:
            raise BadRequest(f"a session named '{new_name}' already exists")
        if name in self.pool and self.pool[name].busy:
            raise BadRequest(f"session '{name}' is running a command; interrupt it first")
        self._renaming.update((name, new_name))
        return self.pool.pop(name, None)

    def rename_files(self, name: str, new_name: str, held: SessionInstance | None) -> None:
        """The long half (any thread): copy ``name`` to ``new_name`` (from the loaded session if it
        was: no replay), close it, delete its files."""
        from omega_core.session.copying import copy_session

        loaded = held.session if held is not None else None
        if loaded is not None and (loaded.damaged is not None or loaded.closed):
            loaded.close()  # a damaged, read-only view: opening its files again says what is wrong
            loaded = None
        session = loaded or RecordedSession.open(self.sessions_dir, name, self.config, self.effects)
        try:
            copy_session(session, new_name)
        finally:
            session.close()
        delete_session_files(self.sessions_dir, name)

    def end_rename(self, name: str, new_name: str, held: SessionInstance | None, done: bool) -> None:
        """The loop's half after the copy: both names free again; the catalog forgets ``name``."""
        self._renaming.difference_update((name, new_name))
        if held is not None:
            self.bytes_written_evicted += held.session.bytes_written
        if not done:
            return
        self.damaged.pop(name, None)
        self._catalog.pop(name, None)
        self._catalog_version += 1
        self.health.forget(name)

    def _refuse_if_renaming(self, name: str) -> None:
        if name in self._renaming:
            raise BadRequest(f"session '{name}' is being renamed; try again when that is done")


def _release_values(instance: SessionInstance) -> None:
    """Free an unloaded session's values in the release thread, not on the loop."""
    encoder, global_table, values = instance.session.hand_over_values()
    release_session_values(encoder, global_table, values)
