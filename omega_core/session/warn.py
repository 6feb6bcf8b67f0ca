"""Warnings of the session layer (a repaired file, a sidecar left out) to the ``omega.session`` log.

``logging`` is imported on the first warning, not at start: its imports would cost every start of
``omega --embedded`` (``tests/tui/test_cli_startup.py`` checks that a one-liner never loads it).
"""

from __future__ import annotations


def warn(message: str) -> None:
    import logging

    logging.getLogger("omega.session").warning("%s", message)
