"""The app's parsed CSS kept on disk between runs, so a start does not tokenize and parse it again.

Why: before its first frame the app parses its own ``app.tcss`` and the default CSS of every
Textual widget it shows, 20-40 ms of the start (Textual's tokenizer runs a regular expression per
token), against a budget of 0.3 s from launch to an input that takes keys (issue 12). The result
depends only on the CSS text, where it was read from, a few flags and the theme's variables, so it
is kept in the user's cache dir and loaded (a few milliseconds) instead.

``CachedStylesheet`` is Textual's ``Stylesheet`` with one change: a parse that misses its
in-memory cache asks the ``ParsedCssStore`` first, and what it parses itself is handed to the store,
which writes the file when the app ends (``save``). The file is named by the Textual and Python
versions (the pickled classes are theirs) and holds, per set of theme variables, the rules of each
parsed source, each pickled on its own: a start unpickles only the sources it asks for, when it
asks (the first frame's; the side panes' after it; other themes' never). Only what this run used
is written back, so an edited ``app.tcss`` does not make it grow. Anything wrong with the file
(missing, another owner, writable by others, unreadable, from another layout) means a normal
parse; the cache never changes what is shown.
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
from typing import Any

from textual.css.stylesheet import Stylesheet

FORMAT = 2
"""Bumped when the file's layout changes (older files are then ignored). 2: each source's rules
pickled apart."""
KEPT_VARIABLE_SETS = 4
"""Themes whose parsed CSS one file keeps (the most recently used ones)."""


def default_cache_path(environ: dict[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME/omega/tcss-...pickle`` (else ``~/.cache``), named by the versions whose
    classes it pickles."""
    from omega_core.config_files import home_dir
    from omega_tui.burst_driver import textual_version

    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME", "")
    base = os.path.normpath(cache) if cache and os.path.isabs(cache) else os.path.join(home_dir(env), ".cache")
    name = f"tcss-{FORMAT}-textual{textual_version()}-py{sys.version_info[0]}{sys.version_info[1]}.pickle"
    return os.path.join(base, "omega", name)


class ParsedCssStore:
    """The file of parsed CSS: read once when first asked, written by ``save`` if this run parsed
    something it lacked."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._loaded: dict[str, dict[tuple[Any, ...], bytes]] | None = None
        self._used: dict[str, dict[tuple[Any, ...], Any]] = {}
        """What this run used, per variables key and source: the pickled rules read from the file,
        or the rules it parsed itself (pickled by ``save``)."""
        self._missed = False
        self._last_variables: tuple[dict[str, str], str] | None = None
        """The last variables asked about and their key: the key of a theme's 170 variables costs
        some 0.1 ms, and every source of the first frame asks with the same ones."""

    def _key_of(self, variables: dict[str, str]) -> str:
        """``_variables_key(variables)``, computed once per variables dict. Textual replaces the
        dict when the variables change (``Stylesheet.set_variables``) and never changes one in place
        (its own parse cache relies on that too)."""
        last = self._last_variables
        if last is not None and last[0] is variables:
            return last[1]
        key = _variables_key(variables)
        self._last_variables = (variables, key)
        return key

    def get(self, variables: dict[str, str], key: tuple[Any, ...]) -> Any:
        """The rules parsed for ``key`` under ``variables`` in an earlier run, or None."""
        variable_key = self._key_of(variables)
        pickled = self._file().get(variable_key, {}).get(key)
        if not isinstance(pickled, bytes):
            return None
        try:
            rules = pickle.loads(pickled)  # from the file ``_read`` trusted
        except Exception:  # noqa: BLE001 - an entry that does not load means: parse as usual
            return None
        self._used.setdefault(variable_key, {})[key] = pickled
        return rules

    def put(self, variables: dict[str, str], key: tuple[Any, ...], rules: Any) -> None:
        """Rules this run parsed itself (written by ``save``)."""
        self._used.setdefault(self._key_of(variables), {})[key] = rules
        self._missed = True

    def save(self) -> bool:
        """Write the file if this run parsed something it did not hold; False if it could not."""
        if not self._missed:
            return True
        directory = os.path.dirname(self.path)
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            used = {name: {key: _pickled(rules) for key, rules in entries.items()} for name, entries in self._used.items()}
            merged = {name: entries for name, entries in self._file().items() if name not in used}
            merged.update(used)  # last: the most recently used
            merged = dict(list(merged.items())[-KEPT_VARIABLE_SETS:])
            os.makedirs(directory, mode=0o700, exist_ok=True)
            with open(temporary, "wb") as file:
                pickle.dump((FORMAT, merged), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)  # whole or not at all, also with two apps ending together
        except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            try:
                os.unlink(temporary)
            except OSError:
                pass
            return False
        self._loaded, self._used, self._missed = merged, used, False
        return True

    def _file(self) -> dict[str, dict[tuple[Any, ...], bytes]]:
        if self._loaded is None:
            self._loaded = _read(self.path)
        return self._loaded


def _pickled(rules: Any) -> bytes:
    """An entry as the file keeps it (read from the file: as it was; parsed by this run: pickled)."""
    return rules if isinstance(rules, bytes) else pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)


def _variables_key(variables: dict[str, str]) -> str:
    return repr(sorted(variables.items()))


def _read(path: str) -> dict[str, dict[tuple[Any, ...], bytes]]:
    """The file's entries; empty if it is missing, not a regular file of this user that only this
    user can write, in a dir only this user can write (a pickle runs code when loaded), or not
    readable as this format."""
    try:
        folder = os.stat(os.path.dirname(path), follow_symlinks=False)
        if not _private(folder, stat.S_ISDIR):  # another user could swap the file in a shared dir
            return {}
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(descriptor, "rb") as file:
            if not _private(os.fstat(file.fileno()), stat.S_ISREG):  # what was opened, not a name
                return {}
            loaded = pickle.load(file)
    except Exception:  # noqa: BLE001 - any problem with a cache file means: parse as usual
        return {}
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and loaded[0] == FORMAT and isinstance(loaded[1], dict)):
        return {}
    return loaded[1]


def _private(info: os.stat_result, kind: Any) -> bool:
    """Of this user, of the right kind, writable by no one else."""
    return bool(kind(info.st_mode)) and info.st_uid == os.getuid() and not info.st_mode & 0o022


class CachedStylesheet(Stylesheet):
    """A ``Stylesheet`` whose parses come from a ``ParsedCssStore`` when it has them."""

    def __init__(self, *, variables: dict[str, str] | None = None, store: ParsedCssStore) -> None:
        super().__init__(variables=variables)
        self.store = store

    @classmethod
    def replacing(cls, stylesheet: Stylesheet, store: ParsedCssStore) -> CachedStylesheet:
        """A cached stylesheet with ``stylesheet``'s variables and sources (the app's, before use)."""
        cached = cls(variables=dict(stylesheet._variables), store=store)
        cached.source = stylesheet.source.copy()
        cached._require_parse = stylesheet._require_parse
        return cached

    def _parse_rules(self, css: str, read_from: Any, is_default_rules: bool = False, tie_breaker: int = 0,
                     scope: str = "") -> Any:
        key = (css, read_from, is_default_rules, tie_breaker, scope)  # Textual's own cache key
        cached = self._parse_cache.get(key)
        if cached is not None:
            return cached
        stored = self.store.get(self._variables, key)
        if stored is not None:
            self._parse_cache[key] = stored
            return stored
        rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
        self.store.put(self._variables, key, rules)
        return rules
