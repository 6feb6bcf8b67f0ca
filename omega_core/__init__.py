"""Omega core: language, sessions, REPL commands, server and client. Never imports Textual."""

__version__ = "0.1.0"
