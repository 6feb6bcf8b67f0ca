"""The client's end of a ``multiprocess.connection`` connection, in a few lines of standard library.

Why not ``multiprocess.connection.Connection`` itself: importing it loads ``multiprocess`` and dill
(and the standard ``multiprocessing.connection`` still loads the whole multiprocessing package),
which was most of the start-up time of ``omega --batch`` against a running server. A client needs
only three things, all done here byte for byte as ``multiprocessing.connection`` does them:

* frames: a 4-byte big-endian signed length (``-1`` then an 8-byte length past 2 GiB), then the
  payload (``omega_core.server.framing`` builds them);
* the mutual challenge handshake: HMAC of a random message with the shared key, MD5 as Python 3.11
  sends it, or the ``{digest}``-prefixed form of Python 3.12+;
* ``poll``, ``fileno``, ``close`` and ``EOFError`` on a closed peer, which the transport relies on.

Import cost matters here (every ``omega --batch`` loads this module): ``hmac``/``hashlib`` load
OpenSSL, so the MD5 HMAC the server asks for is computed with the built-in ``_md5`` (RFC 2104, a
few lines; tests/core/server/test_wire.py checks it against ``hmac``), and ``hmac`` is imported only
for a ``{digest}``-named challenge. The socket is only used through its methods: ``socket`` itself (its
enum conversions, ``selectors``) is not imported here either.

The server keeps using ``multiprocess.connection`` (its Listener hands sockets to the backend); the
wire is the same, and tests/core/server/test_wire.py talks to a real multiprocess peer.
"""

from __future__ import annotations

import _operator
import os
import select
import struct

from omega_core.server.framing import frame

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import _socket

CHALLENGE = b"#CHALLENGE#"
WELCOME = b"#WELCOME#"
FAILURE = b"#FAILURE#"
MESSAGE_LENGTH = 20  # random bytes of a challenge (multiprocessing.connection.MESSAGE_LENGTH)
DEFAULT_DIGEST = "md5"  # what Python 3.11's multiprocessing uses; 3.12 names its digest in braces
HANDSHAKE_MAX_BYTES = 256
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")
NAMED_DIGESTS = frozenset({"md5", "sha256", "sha384", "sha3_256", "sha3_384", "sha3_512", "sha512", "blake2b",
                           "blake2s"})
"""Digests a ``{name}``-prefixed challenge may name (``multiprocessing.connection._ALLOWED_DIGESTS``)."""
_HMAC_BLOCK = 64  # MD5's block size in bytes (RFC 2104's B)
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class AuthenticationError(Exception):
    """The peer's key differs from ours (the handshake failed)."""


class SocketConnection:
    """A connected AF_UNIX socket speaking ``multiprocess.connection`` frames (blocking)."""

    def __init__(self, sock: _socket.socket) -> None:
        sock.setblocking(True)
        self._sock: _socket.socket | None = sock

    def _socket(self) -> _socket.socket:
        if self._sock is None:
            raise OSError("handle is closed")
        return self._sock

    @property
    def closed(self) -> bool:
        return self._sock is None

    def fileno(self) -> int:
        return self._socket().fileno()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send_bytes(self, payload: bytes) -> None:
        self._socket().sendall(frame(bytes(payload)))

    def _recv_exact(self, size: int) -> bytes:
        sock = self._socket()
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = sock.recv_into(view[got:], size - got)
            if count == 0:
                raise EOFError("the peer closed the connection")
            got += count
        return bytes(buffer)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        (size,) = _SHORT.unpack(self._recv_exact(_SHORT.size))
        if size == -1:
            (size,) = _LONG.unpack(self._recv_exact(_LONG.size))
        if size < 0 or (maxlength is not None and size > maxlength):
            raise OSError(f"bad message length {size}")
        return self._recv_exact(size) if size else b""

    def poll(self, timeout: float | None = 0.0) -> bool:
        """True if a frame (or EOF) is there to read within ``timeout`` seconds (None: wait)."""
        poller = select.poll()
        poller.register(self._socket().fileno(), select.POLLIN | select.POLLPRI)
        wait_ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        return bool(poller.poll(wait_ms))


def _digest_and_payload(message: bytes) -> tuple[str | None, bytes]:
    """``{sha256}payload`` (Python 3.12+) or a bare payload (3.11: MD5; None). A bare challenge is
    random bytes that may start with ``{`` too: only a known digest name between braces counts."""
    if message.startswith(b"{"):
        end = message.find(b"}", 1, 20)
        if end > 0:
            name = message[1:end]
            if name.isascii() and name.decode("ascii") in NAMED_DIGESTS:
                return name.decode("ascii"), message[end + 1:]
    return None, message


def hmac_digest(key: bytes, message: bytes, digest_name: str) -> bytes:
    """``hmac.new(key, message, digest_name).digest()``; MD5 (what the server sends) without hmac."""
    if digest_name == DEFAULT_DIGEST:
        try:
            from _md5 import md5
        except ImportError:  # a Python built without it: the standard way
            pass
        else:
            if len(key) > _HMAC_BLOCK:
                key = md5(key).digest()
            key = key.ljust(_HMAC_BLOCK, b"\0")
            inner = md5(key.translate(_INNER_PAD) + message).digest()
            return md5(key.translate(_OUTER_PAD) + inner).digest()
    import hmac

    return hmac.new(key, message, digest_name).digest()


def _response(key: bytes, message: bytes) -> bytes:
    """The HMAC answering a challenge, in the form the challenge came in (bare, or ``{digest}``-led)."""
    digest_name, payload = _digest_and_payload(message)
    if digest_name is not None:
        return b"{" + digest_name.encode("ascii") + b"}" + hmac_digest(key, payload, digest_name)
    return hmac_digest(key, message, DEFAULT_DIGEST)


def answer_challenge(conn: SocketConnection, key: bytes) -> None:
    """Prove we hold ``key`` (the server's challenge comes first)."""
    message = conn.recv_bytes(HANDSHAKE_MAX_BYTES)
    if not message.startswith(CHALLENGE):
        raise AssertionError(f"not a multiprocess handshake greeting: {message[:20]!r}")
    conn.send_bytes(_response(key, message[len(CHALLENGE):]))
    if conn.recv_bytes(HANDSHAKE_MAX_BYTES) != WELCOME:
        raise AuthenticationError("digest sent was rejected")


def deliver_challenge(conn: SocketConnection, key: bytes) -> None:
    """Make the server prove it holds ``key`` too (as Python 3.11 asks: MD5, no prefix)."""
    message = os.urandom(MESSAGE_LENGTH)
    conn.send_bytes(CHALLENGE + message)
    answer = conn.recv_bytes(HANDSHAKE_MAX_BYTES)
    digest_name, response = _digest_and_payload(answer)
    # _operator._compare_digest is what hmac.compare_digest falls back to: constant time, no OpenSSL.
    if _operator._compare_digest(response, hmac_digest(key, message, digest_name or DEFAULT_DIGEST)):
        conn.send_bytes(WELCOME)
        return
    conn.send_bytes(FAILURE)
    raise AuthenticationError("digest received was wrong")
