"""The panes and dialogs of the Omega terminal app (each talks to the server only through the app)."""
