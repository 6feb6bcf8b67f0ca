"""Omega TUI: the Textual app and the batch front end; talks to omega_core only through its client API."""

DEFAULT_SESSION = "current"
"""The session a front end opens without ``--session``: the server's default
(``omega_core.repl.state.DEFAULT_SESSION``, not imported from there: that module loads the language;
here, not in ``link``: the app needs it before the first frame, the client only after)."""
