"""Textual's Linux driver, reading the terminal in bursts: what arrived together is marked together.

Why this exists: without bracketed paste a terminal sends a multi-line paste as keys, Enter
included, and the REPL must not run the paste's first line when it sees its first Enter. Textual's
``LinuxDriver`` reads the terminal in a thread and posts each key on its own; the app could only
guess a paste from the keys' timing, and on a loaded machine the keys of one paste got far enough
apart (or the Enter got handled before the rest was even posted) that the paste ran as two inputs.

The rule here needs no clock. One read of the terminal, together with whatever is already waiting
in it right after that read, is one *burst*: it arrived faster than anyone types. A read that filled
the whole buffer means the writer is still writing, so the driver waits (``FULL_READ_WAIT_S``) for
the rest. The keys of a burst of two or more keys are marked (``read_burst.mark_burst``), stamped
with the time of the read, and posted to the app in one go (nothing gets in between them). Keys
typed by hand come one per read, however fast the typist; only a reader thread starved for longer
than the gap between two keystrokes could see typed keys together.

One exception: what was waiting in the terminal when the driver began to read was typed while the
app was loading (the terminal is out of cooked mode by then, see ``cooked_input``), so it is typed
text, not a paste, and is not marked (``EarlyKeys`` replays it as typed).

``run_input_thread`` follows ``textual.drivers.linux_driver.LinuxDriver.run_input_thread`` (Textual
8.2), with the reading and the posting changed as above.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual import _time, events
from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from omega_tui.read_burst import mark_burst

__all__ = ["BurstDriver", "FULL_READ_WAIT_S", "READ_SIZE", "burst_driver_class"]

READ_SIZE = 4096
"""Bytes asked of one read (as Textual does)."""
TEXTUAL_MAJOR = 8
"""The Textual major version whose input loop ``BurstDriver.run_input_thread`` follows."""
FULL_READ_WAIT_S = 0.05
"""After a read that filled ``READ_SIZE``, how long to wait for the rest of what is being written."""


class BurstDriver(LinuxDriver):
    """``LinuxDriver`` whose input thread reads in bursts and marks a burst's keys (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch: list[Message] | None = None
        """Messages of the burst being parsed, gathered by ``send_message`` on the input thread."""
        self._batch_thread: int | None = None

    def send_message(self, message: Message) -> None:
        """On the input thread while a burst is parsed: gather (posted together by ``_post_batch``)."""
        batch = self._batch
        if batch is not None and threading.get_ident() == self._batch_thread:
            batch.append(message)
            return
        super().send_message(message)

    def _process_burst(self, messages: list[Message], at: float | None) -> None:
        """Mark the keys of one burst (unless ``at`` is None: the backlog), then post all of it."""
        if at is not None and mark_burst(messages):
            for message in messages:
                if isinstance(message, events.Key):
                    message.time = at
        self._batch, self._batch_thread = [], threading.get_ident()
        try:
            for message in messages:
                self.process_message(message)  # Textual's own processing (mouse offsets, resize ...)
            batch = self._batch
        finally:
            self._batch = self._batch_thread = None
        if batch:
            asyncio.run_coroutine_threadsafe(self._post_batch(batch), loop=self._loop)

    async def _post_batch(self, batch: list[Message]) -> None:
        for message in batch:
            await self._app._post_message(message)  # noqa: SLF001 - what Driver.send_message posts with

    def run_input_thread(self) -> None:
        """Wait for input and post it, a burst at a time."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        backlog = bool(selector.select(0))  # typed while the app was loading: not a burst

        def read_burst(final: bool) -> str:
            """One read and everything waiting right behind it (more of a full read's writer)."""
            chunk = os.read(fileno, READ_SIZE)
            chunks = [chunk]
            while chunk:
                if not selector.select(FULL_READ_WAIT_S if len(chunk) == READ_SIZE else 0):
                    break
                chunk = os.read(fileno, READ_SIZE)
                chunks.append(chunk)
            return decode(b"".join(chunks), final=final)

        def process_selector_events(selector_events: list[tuple[selectors.SelectorKey, int]],
                                    final: bool = False) -> None:
            nonlocal backlog
            for last, (_selector_key, mask) in loop_last(selector_events):
                if mask & selectors.EVENT_READ:
                    unicode_data = read_burst(final and last)
                    at = None if backlog else _time.get_time()
                    backlog = False
                    if not unicode_data:
                        break  # this can occur if the stdin is piped
                    self._process_burst(list(parser.feed(unicode_data)), at)
            ticked = list(parser.tick())  # a lone escape, once its wait for more is over
            if ticked:
                self._process_burst(ticked, None)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(0.1))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


def burst_driver_class() -> type[LinuxDriver] | None:
    """``BurstDriver`` if this Textual is the one its input loop follows (``TEXTUAL_MAJOR``), else
    None: the app then keeps Textual's own driver, and pastes without bracketed paste are told
    from typing by the timing rules of ``repl_input`` (as before the driver existed)."""
    major = textual_version().split(".")[0]
    return BurstDriver if major == str(TEXTUAL_MAJOR) else None


def textual_version() -> str:
    """The installed Textual's version, read without ``importlib.metadata`` when possible.

    Why: ``textual.__version__`` is computed by ``importlib.metadata``, whose import (``email``,
    ``zipfile``, ``csv``...) and lookup of the distribution cost 20-30 ms of the app's start, before
    its first frame (issue 12: keys within 0.3 s). The name of the ``textual-X.Y.Z.dist-info``
    directory installed beside the package says the same; ``importlib.metadata`` remains the
    fallback (another layout: an egg, a zip). A ``__version__`` set on the module itself (a test,
    a later Textual) wins.
    """
    import textual

    explicit = textual.__dict__.get("__version__")
    if explicit is not None:
        return str(explicit)
    package_dir = os.path.dirname(os.path.abspath(textual.__file__ or ""))
    try:
        names = os.listdir(os.path.dirname(package_dir))
    except OSError:
        names = []
    versions = [name[len("textual-"):-len(".dist-info")] for name in names
                if name.startswith("textual-") and name.endswith(".dist-info")]
    if len(versions) == 1 and versions[0][:1].isdigit():  # two would be a stale install: ask the fallback
        return versions[0]
    return str(getattr(textual, "__version__", "0"))
