"""Imports every command module so their commands are in ``processor.COMMANDS``."""

from omega_core.repl import debug_commands, misc_commands, session_commands, timeline_commands  # noqa: F401
