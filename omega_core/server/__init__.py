"""The session server: supervisor, backend (pool, persistence, protocol) and client."""
