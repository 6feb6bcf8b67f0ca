"""Omega TUI: the Textual app and the batch front end; talks to omega_core only through its client API."""
