"""The catalog of sessions on disk and the ``list_sessions`` listing (a part of ``SessionManager``).

The catalog keeps one summary per session on disk in memory, refreshed from the directory only
when its contents change (the directory's mtime), so a listing is a memory walk, never a parse of
indexes. The disk half of a refresh runs in a worker thread (``catalog_scan``), except for a small
catalog with no new session on disk (``quick_catalog_scan``); the listing's rows are encoded once
per layout and patched for loaded sessions (``list_reply``). Apart from the pool (``manager``) so
each can be read alone; it reads the manager's pool, health and damaged sessions, and nothing else.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol

from omega_core.server.catalog_scan import CatalogScan, directory_mtime, quick_scan_catalog, scan_catalog
from omega_core.server.health import SessionHealth
from omega_core.server.list_reply import LIST_COLUMNS, ListReplyEncoder, ListRow, with_health
from omega_core.server.side_sizes import SideFileSizes
from omega_core.session.listing import SessionSummary

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from omega_core.session.recorded import RecordedSession


class SessionInstance(Protocol):
    """What the catalog reads of a loaded session (``manager.SessionInstance``; not imported from
    there: the manager imports this module)."""

    session: "RecordedSession"
    last_access: float

QUICK_SCAN_SESSIONS = 256
"""A catalog of at most this many sessions is refreshed on the loop (``quick_catalog_scan``): a
``listdir`` of its directory takes a few hundred microseconds."""
QUICK_SCAN_NEW = 0
"""...provided no new session appeared on disk: summarizing one may read its whole log (108 ms on
the loop for a saved copy of 68,680 events: ``count_log_checkpoints``), so that stays in a worker."""


def listing_rows(catalog: dict[str, SessionSummary], pool_rows: list[ListRow]) -> list[ListRow]:
    """Every session's listing row, sorted by name: loaded ones' rows as given, the others from
    their catalog summaries (any thread: it reads only what it is given)."""
    loaded = {row[0]: row for row in pool_rows}
    rows = []
    for name in sorted(catalog.keys() | loaded.keys()):
        row = loaded.get(name)
        if row is None:
            summary = catalog[name]
            row = (name, summary.event_count, summary.checkpoint_count, summary.size_bytes,
                   round(summary.modified, 3), False)
        rows.append(row)
    return rows



class SessionCatalog:
    """The catalog and listing half of ``SessionManager`` (which initialises these fields)."""

    sessions_dir: "Path"
    pool: "collections.OrderedDict[str, SessionInstance]"
    health: SessionHealth
    damaged: dict[str, str]
    _catalog: dict[str, SessionSummary]
    _catalog_version: int
    _catalog_mtime: int
    _list_encoder: ListReplyEncoder
    _side_sizes: SideFileSizes

    def _refresh_catalog(self) -> None:
        """Pick up sessions that appeared or vanished on disk (the directory's mtime changed).

        Only new names are summarized: the server is the only writer of the sessions it knows,
        so their summaries stay right (loaded ones come from memory, unloaded ones were updated
        when they were unloaded). An atomic index or meta write changes the mtime too, so this
        must stay cheap: one listdir plus the new names. A server does the disk half in a worker
        thread first (``catalog_scan_job``); then this finds the mtime unchanged and returns.
        """
        if self.catalog_current():
            return
        self.apply_catalog_scan(scan_catalog(self.sessions_dir, *self._catalog_snapshot()))

    def catalog_current(self) -> bool:
        """Whether the catalog saw the sessions directory as it is now (no refresh due)."""
        return directory_mtime(self.sessions_dir) == self._catalog_mtime

    def _catalog_snapshot(self) -> tuple[frozenset[str] | None, frozenset[str]]:
        return (frozenset(self._catalog) if self._catalog else None), frozenset(self.pool)

    def catalog_scan_job(self) -> Callable[[], CatalogScan]:
        """The disk half of a refresh as a function for a worker thread (it reads the names known
        now, not the live catalog); ``apply_catalog_scan`` on the loop after it."""
        sessions_dir = self.sessions_dir
        known, loaded = self._catalog_snapshot()
        return lambda: scan_catalog(sessions_dir, known, loaded)

    def catalog_is_small(self) -> bool:
        """At most ``QUICK_SCAN_SESSIONS`` sessions known or loaded: their refresh and their
        listing's rows are cheap enough for the event loop."""
        return len(self._catalog) + len(self.pool) <= QUICK_SCAN_SESSIONS

    def quick_catalog_scan(self) -> bool:
        """Refresh the catalog on the loop when that is cheap: a small catalog (at most
        ``QUICK_SCAN_SESSIONS`` known and loaded) and no new session on disk (only names gone, or
        files rewritten); False when the worker's scan is needed. Why: the directory's mtime moves with every
        index or sidecar a busy session rewrites, and each listing then went through a worker
        thread twice (the hop, and the GIL the loop holds while a slice computes): 5-15 ms while a
        session computed, for a scan of a few hundred microseconds."""
        if not self.catalog_is_small():
            return False
        known, loaded = self._catalog_snapshot()
        if known is None:
            return False
        scan = quick_scan_catalog(self.sessions_dir, known, loaded, QUICK_SCAN_NEW)
        if scan is None:
            return False
        self.apply_catalog_scan(scan)
        return True

    def apply_catalog_scan(self, scan: CatalogScan) -> None:
        """Take a scan's findings into the catalog. Summaries the loop made meanwhile (a session
        unloaded after the scan began) are newer and stay; a name deleted or renamed meanwhile
        changed the directory after the scan read its mtime, so the next refresh drops it."""
        self._catalog_mtime = scan.mtime
        catalog = self._catalog
        if scan.names is not None:
            for gone in set(catalog) - scan.names:
                del catalog[gone]
                self._catalog_version += 1
        for name, summary in scan.summaries.items():
            if name not in catalog and (scan.full or name not in self.pool):
                catalog[name] = summary
                self._catalog_version += 1
        if scan.full:
            self._catalog_version += 1

    def summaries(self, refresh: bool = True) -> list[SessionSummary]:
        """Every session, loaded or not, sorted by name (for ``:session list``). ``refresh=False``:
        the caller just refreshed the catalog off the loop (``Backend.refresh_catalog``); while a
        tool writes sessions into the directory its mtime changes all the time, and refreshing
        here again would do the disk work on the loop after all."""
        if refresh:
            self._refresh_catalog()
        merged = dict(self._catalog)
        for name, instance in self.pool.items():
            merged[name] = self._summary_of(instance)
        for name, cause in self.damaged.items():
            if name in merged:
                merged[name] = dataclasses.replace(merged[name], damaged=cause)
        return [merged[name] for name in sorted(merged)]

    def _summary_of(self, instance: SessionInstance) -> SessionSummary:
        session = instance.session
        return SessionSummary(
            name=session.name,
            session_id=session.session_id,
            created=session.created,
            event_count=session.next_seq,
            checkpoint_count=len(session.checkpoints),
            size_bytes=self._disk_bytes(instance),
            modified=instance.last_access,
        )

    def list_json(self, refresh: bool = True) -> bytes:
        """``list()`` as JSON (see ``list_reply``). Called on the event loop for every listing, so
        it patches the loaded sessions' rows into the last reply instead of encoding it all.
        ``refresh``: as for ``summaries``."""
        if refresh:
            self._refresh_catalog()
        pool_rows = self._pool_rows()
        layout = (self._catalog_version, frozenset(self.pool))
        return with_health(self._list_encoder.encode(layout, lambda: self._rows(pool_rows), pool_rows),
                           self.health_rows())

    def health_rows(self) -> dict[str, dict[str, str]]:
        """The extra fields of unhealthy sessions' listing rows, by name (usually empty): ``degraded``
        (a background job failed) and ``damaged`` (the log failed validation when opened)."""
        rows: dict[str, dict[str, str]] = {name: {"degraded": cause} for name, cause in self.health.degraded().items()}
        for name, cause in self.damaged.items():
            rows.setdefault(name, {})["damaged"] = cause
        return rows

    def _rows(self, pool_rows: list[ListRow]) -> list[ListRow]:
        return listing_rows(self._catalog, pool_rows)

    def list_encoder_job(self) -> Callable[[], ListReplyEncoder] | None:
        """When the listing's layout changed (the catalog or the pool's members), the encoding of
        every row as a function for a worker thread (None: the cached one is current); install
        its result with ``install_list_encoder``. Why: after a restart the first listing encoded
        thousands of rows on the loop (17 ms per 4,000 rows here, 40-80 ms under load)."""
        if self.listing_current():
            return None
        layout = (self._catalog_version, frozenset(self.pool))
        pool_rows = self._pool_rows()
        catalog = dict(self._catalog)  # summaries are frozen: the copy is the snapshot

        def build() -> ListReplyEncoder:
            encoder = ListReplyEncoder()
            encoder.encode(layout, lambda: listing_rows(catalog, pool_rows), pool_rows)
            return encoder

        return build

    def listing_current(self) -> bool:
        """Whether the cached listing has the rows of the catalog and pool as they are now (only
        loaded sessions' rows may need patching)."""
        return self._list_encoder.layout == (self._catalog_version, frozenset(self.pool))

    def install_list_encoder(self, encoder: ListReplyEncoder) -> None:
        """Use ``encoder`` (from ``list_encoder_job``) if the layout it encoded is still the
        listing's (else the next listing encodes the new one, as before)."""
        if encoder.layout == (self._catalog_version, frozenset(self.pool)):
            self._list_encoder = encoder

    def _disk_bytes(self, instance: SessionInstance, now: float | None = None, mtime: int | None = None) -> int:
        """All of a loaded session's files: the log's size is current, the others' as cached by
        ``side_sizes`` (read again after the server wrote them or the directory changed)."""
        if now is None or mtime is None:
            now, mtime = time.monotonic(), directory_mtime(self.sessions_dir)
        return instance.session.log_size + self._side_sizes.of(instance.session.name, now, mtime)

    def _pool_rows(self) -> list[ListRow]:
        """The listing rows of the loaded sessions (one clock and one directory read for all)."""
        now, mtime = time.monotonic(), directory_mtime(self.sessions_dir)
        self._side_sizes.keep_only(self.pool)
        return [(instance.session.name, instance.session.next_seq, len(instance.session.checkpoints),
                 self._disk_bytes(instance, now, mtime), round(instance.last_access, 3), True)
                for instance in self.pool.values()]

    def side_files_written(self, name: str) -> None:
        """The server wrote ``name``'s states or index: its listing Size reads them again."""
        self._side_sizes.forget(name)

    def list(self) -> list[dict[str, Any]]:
        """Every session on disk or loaded, with its real counts, sorted by name."""
        pool_rows = self._pool_rows()
        self._refresh_catalog()
        extra = self.health_rows()
        return [{**dict(zip(LIST_COLUMNS, row)), **extra.get(row[0], {})} for row in self._rows(pool_rows)]
