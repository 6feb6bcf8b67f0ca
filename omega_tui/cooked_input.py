"""What the user typed while ``omega`` was starting, taken from the terminal before it is mangled.

Why this exists: until Textual's driver switches the terminal to raw mode (a quarter of a second
after launch, most of it importing Textual), the terminal is in its cooked mode, and the kernel
translates keys *as they arrive*: Enter becomes a line feed (``ICRNL``), which Textual later reads
as ``ctrl+j``, the REPL's "newline" key. Which keys were translated cannot be told apart afterwards:
a burst typed right after launch was read partly before the app's first frame and partly after,
and the later part's Enters came out as newlines, so every form ran together in the input.

``CookedInput`` leaves cooked mode the moment the command line asks for the full-screen app: it
turns off line buffering, echo and ``ICRNL`` (keys typed from then on arrive untranslated, for
Textual to read as usual) and drains what was typed before, when the translation still applied.
That text is handed to the app as keys (``text_as_keys``), line feeds as Enter. The terminal's own
settings come back when the app ends (Textual restores the ones it found, which are ours).
"""

from __future__ import annotations

import os
import select
import sys
from types import TracebackType
from typing import Any

__all__ = ["CookedInput", "text_as_keys"]


class CookedInput:
    """``take`` when the app is chosen, ``restore`` when it has ended (also a context manager)."""

    def __init__(self, stream: Any = None) -> None:
        self._stream = sys.stdin if stream is None else stream
        self._fd: int | None = None
        self._saved: list[Any] | None = None
        self.text = ""
        """What was typed before ``__enter__``, as the terminal's cooked mode passed it on."""

    def __enter__(self) -> "CookedInput":
        return self.take()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.restore()

    def take(self) -> "CookedInput":
        """Leave cooked mode and keep what was typed so far in ``text``."""
        try:
            import termios

            fd = self._stream.fileno()
            if not os.isatty(fd):
                return self
            saved = termios.tcgetattr(fd)
        except (ImportError, AttributeError, ValueError, OSError):
            return self  # not a terminal (or no termios): nothing was translated
        attributes = [list(part) if isinstance(part, list) else part for part in saved]
        attributes[0] &= ~termios.ICRNL  # iflag: Enter stays a carriage return from now on
        attributes[3] &= ~(termios.ICANON | termios.ECHO)  # lflag: no line buffering, no echo
        try:
            termios.tcsetattr(fd, termios.TCSANOW, attributes)
        except (OSError, termios.error):
            return self
        self._fd, self._saved = fd, saved
        self.text = _drain(fd)
        return self

    def restore(self) -> None:
        """The terminal's settings as ``take`` found them (again and again: only the first counts)."""
        if self._fd is None or self._saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        except (OSError, termios.error):
            pass  # the terminal went away: nothing to give back
        self._fd = self._saved = None


def _drain(fd: int) -> str:
    """Everything waiting on ``fd`` now (complete lines and the line being typed), without waiting."""
    chunks: list[bytes] = []
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                break
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def text_as_keys(text: str) -> list[tuple[str, str]]:
    """``(key, character)`` pairs Textual would have made of ``text`` typed in raw mode.

    The cooked line discipline has already applied the user's erase and kill keys, so the text is
    what they meant: printable characters, line feeds (their Enters) and tabs. Other control
    characters (an arrow key's escape sequence typed before the app was up) are dropped.
    """
    from textual.keys import _character_to_key

    keys: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        character = text[index]
        index += 1
        if character == "\x1b":  # an escape sequence: ESC [ ... final, or ESC O x
            if index < len(text) and text[index] in "[O":
                index += 1
                while index < len(text) and not ("@" <= text[index] <= "~"):
                    index += 1
                index += 1
            continue
        if character in "\r\n":
            keys.append(("enter", "\r"))
        elif character == "\t":
            keys.append(("tab", "\t"))
        elif character.isprintable():
            keys.append((_character_to_key(character), character))
    return keys
