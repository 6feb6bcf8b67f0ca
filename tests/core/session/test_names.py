"""Session, snapshot and tag names: the rule of ARCHITECTURE.md section 6 and its messages."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omega_core.errors import OmegaError
from omega_core.session.names import NAME_RULE, InvalidName, session_paths, validate_name

ALLOWED = set(string.ascii_letters + string.digits + "._-")


def follows_rule(name: str) -> bool:
    """An independent statement of the rule, to check validate_name against."""
    return 1 <= len(name) <= 64 and not name.startswith(".") and all(ch in ALLOWED for ch in name)


@pytest.mark.parametrize("name", ["a", "squares", "effects_mock", "A-1.2_x", "x" * 64, "a..b", "-", "_x."])
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "it is empty"),
        ("x" * 65, "it is 65 characters long"),
        (".hidden", 'it starts with "."'),
        ("..", 'it starts with "."'),
        ("../x", 'it starts with "."'),
        ("a/b", 'it contains "/"'),
        ("a b", 'it contains " "'),
        ("caf\u00e9", 'it contains "\u00e9"'),
        ("x\x00y", 'it contains "\\x00"'),
        ("x\n", 'it contains "\\n"'),
        ("a\\b", 'it contains "\\\\"'),
    ],
)
def test_invalid_names_say_what_is_wrong_and_the_rule(name: str, problem: str) -> None:
    with pytest.raises(InvalidName) as info:
        validate_name(name)
    message = info.value.message
    assert message.startswith("invalid session name ")
    assert f"({problem})" in message
    assert message.endswith(NAME_RULE)
    assert info.value.code == "invalid_name"
    assert isinstance(info.value, OmegaError)


def test_example_message() -> None:
    with pytest.raises(InvalidName) as info:
        validate_name("../x")
    assert info.value.message == (
        'invalid session name "../x" (it starts with "."): names are 1-64 characters of '
        'A-Z a-z 0-9 . _ - and may not start with "."'
    )


def test_what_changes_the_message() -> None:
    with pytest.raises(InvalidName, match=r'^invalid snapshot name "a/b"'):
        validate_name("a/b", "snapshot")


def test_control_characters_are_escaped_and_long_names_cut() -> None:
    with pytest.raises(InvalidName) as info:
        validate_name("\x1b[31mred\x00" + "y" * 500)
    message = info.value.message
    assert "\x1b" not in message and "\x00" not in message
    assert "\\x1b[31mred\\x00" in message
    assert len(message) < 300


def test_non_text_is_refused_with_invalid_name() -> None:
    with pytest.raises(InvalidName):
        validate_name(42)  # type: ignore[arg-type]


@settings(max_examples=500)
@given(st.text(max_size=80))
def test_random_text_passes_only_if_it_follows_the_rule(name: str) -> None:
    try:
        result = validate_name(name)
    except InvalidName as exc:
        assert not follows_rule(name)
        assert all(ch.isprintable() for ch in exc.message)
    else:
        assert follows_rule(name)
        assert result == name


@given(st.text(alphabet=sorted(ALLOWED), min_size=1, max_size=64))
def test_text_from_the_allowed_characters_passes_unless_it_starts_with_a_dot(name: str) -> None:
    if name.startswith("."):
        with pytest.raises(InvalidName):
            validate_name(name)
    else:
        assert validate_name(name) == name


def test_session_paths(tmp_path: Path) -> None:
    paths = session_paths(tmp_path, "squares")
    assert paths.log == tmp_path / "squares.jsonl"
    assert paths.index == tmp_path / "squares.index.json"
    assert paths.meta == tmp_path / "squares.meta.json"
    assert paths.states == tmp_path / "squares.states.ndjson"
    assert not paths.states.name.endswith(".jsonl")  # OmegaLLM lists every *.jsonl as a session
    with pytest.raises(InvalidName):
        session_paths(tmp_path, "../etc")
