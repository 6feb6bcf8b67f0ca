"""Session names for notebooks: from JPY_SESSION_NAME's file name, cleaned to the name rule."""

from __future__ import annotations

from datetime import date

import pytest

from omega_core.session.names import validate_name
from omega_tui.kernel.naming import clean_session_name, notebook_session_name, numbered_name

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(("jpy", "expected"), [
    ("analysis.ipynb", "analysis"),
    ("work/sub dir/Mail triage.ipynb", "Mail-triage"),
    ("/abs/path/Café notes (v2).ipynb", "Cafe-notes-v2"),
    ("C:\\Users\\me\\Report.IPYNB", "Report"),
    (".hidden.ipynb", "hidden"),
    ("x" * 100 + ".ipynb", "x" * 64),
    ("日本語.ipynb", "notebook-2026-12-02"),  # nothing usable left
    ("", "notebook-2026-12-02"),
    (None, "notebook-2026-12-02"),
    ("../../etc/passwd", "passwd"),
    ("a/b/", "b"),
])
def test_notebook_session_name(jpy: str | None, expected: str) -> None:
    name = notebook_session_name(jpy, TODAY)
    assert name == expected
    assert validate_name(name) == name


@pytest.mark.parametrize("text", ["a\x00b", "tab\there", "..", "-.-", "x/y", "a" * 70, "Ω", "ok-name_1.2"])
def test_cleaned_names_always_pass_the_rule(text: str) -> None:
    cleaned = clean_session_name(text)
    assert cleaned is None or validate_name(cleaned) == cleaned


def test_the_rule_is_the_session_layers() -> None:
    from omega_core.session import names
    from omega_tui.kernel import naming

    assert naming.MAX_NAME_LENGTH == names.MAX_NAME_LENGTH
    assert naming._NAME_RULE.pattern == names._NAME_RE.pattern


def test_numbered_names_stay_within_the_limit() -> None:
    assert numbered_name("notes", 2) == "notes-2"
    long = numbered_name("n" * 64, 9)
    assert len(long) == 64 and long.endswith("-9")
