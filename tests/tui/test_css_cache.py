"""Parsed CSS kept between runs (``omega_tui.css_cache``): a second start parses nothing, and the
rules it loads are the ones a parse gives; a file it should not trust, or cannot read, means a
normal parse."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from textual.css import stylesheet as stylesheet_module

from omega_tui.css_cache import FORMAT, CachedStylesheet, ParsedCssStore, default_cache_path

VARIABLES = {"primary": "#004578", "surface": "#1e1e1e", "panel": "#252525", "foreground": "#e0e0e0",
             "background": "#121212", "accent": "#ffa62b", "secondary": "#0178d4", "error": "#ba3c5b",
             "warning": "#ffa62b", "success": "#4ebf71", "boost": "#ffffff0a"}
SOURCES = [("#status-bar { height: 1; background: $primary; }", ("app", "one")),
           ("Screen { layout: vertical; } .x:focus { color: $accent; }", ("app", "two"))]


def parses_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets one entry per CSS source Textual's parser is asked to parse."""
    counted: list[int] = []
    original = stylesheet_module.parse

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(stylesheet_module, "parse", counting)
    return counted


def build(store: ParsedCssStore) -> CachedStylesheet:
    sheet = CachedStylesheet(variables=dict(VARIABLES), store=store)
    for css, read_from in SOURCES:
        sheet.add_source(css, read_from=read_from)
    sheet.parse()
    return sheet


def test_a_second_run_loads_what_the_first_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = parses_counted(monkeypatch)
    path = str(tmp_path / "cache" / "tcss.pickle")
    first = build(ParsedCssStore(path))
    assert len(counted) == len(SOURCES)
    assert first.store.save() and os.path.isfile(path)
    assert os.stat(path).st_mode & 0o077 == 0
    second = build(ParsedCssStore(path))
    assert len(counted) == len(SOURCES), "the second run parsed again"
    assert second.css == first.css and second.css.strip()
    other_theme = CachedStylesheet(variables={**VARIABLES, "primary": "#ff0000"}, store=ParsedCssStore(path))
    for css, read_from in SOURCES:
        other_theme.add_source(css, read_from=read_from)
    other_theme.parse()  # other variables: parsed, not loaded (the colours differ)
    assert len(counted) == 2 * len(SOURCES)
    assert "#FF0000" in other_theme.css.upper() and "#FF0000" not in first.css.upper()


def test_an_edited_source_is_parsed_and_only_what_a_run_used_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "tcss.pickle")
    build(ParsedCssStore(path)).store.save()
    counted = parses_counted(monkeypatch)
    store = ParsedCssStore(path)
    sheet = CachedStylesheet(variables=dict(VARIABLES), store=store)
    sheet.add_source("#status-bar { height: 2; }", read_from=("app", "one"))  # edited
    sheet.parse()
    assert len(counted) == 1 and "height: 2" in sheet.css
    store.save()
    with open(path, "rb") as file:
        _, entries = pickle.load(file)
    (kept,) = entries.values()
    assert [key[0] for key in kept] == ["#status-bar { height: 2; }"]


@pytest.mark.parametrize("spoil", ["group_writable", "dir_writable", "symlink", "garbage", "other_format"])
def test_a_file_it_should_not_trust_or_cannot_read_means_a_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 spoil: str) -> None:
    path = tmp_path / "tcss.pickle"
    first = build(ParsedCssStore(str(path)))
    first.store.save()
    if spoil == "group_writable":
        path.chmod(0o620)
    elif spoil == "dir_writable":
        tmp_path.chmod(0o777)
    elif spoil == "symlink":
        (tmp_path / "real.pickle").write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(tmp_path / "real.pickle")
    elif spoil == "garbage":
        path.write_bytes(b"not a pickle")
    else:
        path.write_bytes(pickle.dumps((FORMAT + 1, {})))
    counted = parses_counted(monkeypatch)
    again = build(ParsedCssStore(str(path)))
    assert len(counted) == len(SOURCES) and again.css == first.css


def test_the_path_names_the_versions_whose_classes_it_pickles(tmp_path: Path) -> None:
    path = default_cache_path({"XDG_CACHE_HOME": str(tmp_path), "HOME": "/nonexistent"})
    assert path.startswith(str(tmp_path / "omega")) and "textual" in path and "py3" in path


@pytest.mark.anyio
async def test_the_app_saves_its_parsed_css_at_exit_and_the_next_start_parses_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omega_core.config import Config
    from omega_tui.app import OmegaApp
    from omega_tui.canned import CannedClient

    from .conftest import wait_for

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    counts = []
    for _ in range(2):
        counted = parses_counted(monkeypatch)
        app = OmegaApp(Config(), client_factory=lambda: CannedClient())
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.ready.is_set() and app.side_panes.filled, 10, "the canned session")
            await pilot.pause()
        counts.append(len(counted))
        monkeypatch.undo()
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert counts[0] > 5 and counts[1] == 0, counts
    assert os.path.isfile(default_cache_path({"XDG_CACHE_HOME": str(tmp_path)}))


def test_the_variables_key_is_computed_once_per_variables_dict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import omega_tui.css_cache as css_cache

    keys: list[str] = []
    original = css_cache._variables_key

    def counted(variables: dict[str, str]) -> str:
        keys.append(original(variables))
        return keys[-1]

    monkeypatch.setattr(css_cache, "_variables_key", counted)
    store = ParsedCssStore(str(tmp_path / "cache" / "tcss.pickle"))
    variables = dict(VARIABLES)
    for index in range(5):  # every source of a start asks with the stylesheet's one variables dict
        store.get(variables, ("css", index))
        store.put(variables, ("css", index), [])
    assert len(keys) == 1
    changed = dict(VARIABLES, primary="#ff0000")  # a theme change: Textual sets a new dict
    store.put(changed, ("css", 0), ["rules"])
    assert len(keys) == 2 and keys[0] != keys[1]
    assert store._used[keys[1]] == {("css", 0): ["rules"]} and len(store._used[keys[0]]) == 5


def test_each_source_is_unpickled_only_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tcss.pickle"
    first = build(ParsedCssStore(str(path)))
    assert first.store.save()
    with open(path, "rb") as file:
        form, entries = pickle.load(file)
    (kept,) = entries.values()
    assert form == FORMAT and all(isinstance(rules, bytes) for rules in kept.values())
    spoiled = next(key for key in kept if key[1] == SOURCES[1][1])
    kept[spoiled] = b"not a pickle"  # one entry that does not load: only that source is parsed again
    path.write_bytes(pickle.dumps((form, entries)))
    loads: list[int] = []
    original = pickle.loads

    def counted(data: bytes) -> Any:
        loads.append(1)
        return original(data)

    monkeypatch.setattr("omega_tui.css_cache.pickle.loads", counted)
    store = ParsedCssStore(str(path))
    store._file()
    assert loads == [], "the file's entries were unpickled before they were asked for"
    counted_parses = parses_counted(monkeypatch)
    again = build(store)
    assert len(counted_parses) == 1 and again.css == first.css
