"""Which keys came from the terminal together: the mark ``burst_driver`` puts on a burst's keys.

A terminal without bracketed paste sends a paste as plain keys, Enter included. What tells those
keys from typed ones is not their timing (a loaded machine stretches the time between handling two
keys, and the paste ran as two inputs) but how they arrived: a paste reaches the program in one
read of the terminal, keys typed by hand in reads of their own. ``burst_driver`` marks every key of
a read that brought more than one key with a ``BurstMark``; the REPL input takes an Enter with more
keys of its burst behind it as a newline of the paste. Keys without a mark (from Pilot, from
``EarlyKeys``' cooked text, from another driver) are judged by the timing rules in ``repl_input``.

This module is tiny on purpose: the REPL input imports it, and the driver's module (which imports
Textual's Linux driver) loads only when the app picks its driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events

__all__ = ["BurstMark", "burst_mark", "mark_burst"]

_ATTRIBUTE = "omega_burst"
"""The attribute of a ``textual.events.Key`` that holds its mark (``Key`` instances take attributes)."""


@dataclass(frozen=True, slots=True)
class BurstMark:
    """Where a key sits in the burst (one terminal read) it came in."""

    before: int
    """Keys of the same burst ahead of this one."""
    after: int
    """Keys of the same burst behind this one."""


def burst_mark(event: events.Event) -> BurstMark | None:
    """The mark of ``event``: None for a key that came alone, or not from ``burst_driver``."""
    return getattr(event, _ATTRIBUTE, None)


def mark_burst(messages: list[object]) -> int:
    """Mark the keys among ``messages`` (what one read parsed into) as one burst, if there are two
    or more of them; returns how many keys there were."""
    keys = [message for message in messages if isinstance(message, events.Key)]
    if len(keys) > 1:
        last = len(keys) - 1
        for index, key in enumerate(keys):
            setattr(key, _ATTRIBUTE, BurstMark(before=index, after=last - index))
    return len(keys)
