"""Frames of ``multiprocess.connection`` (``send_bytes``), taken apart from bytes as they arrive.

The backend reads its connections on the event loop instead of one thread per connection: a
reading thread must win the GIL back from the loop after every ``recv`` (twice per frame), which
while a session computes cost 1-3 ms per request. Reading on the loop needs the framing done by
hand, from whatever bytes a non-blocking ``recv`` returned: a 4-byte big-endian signed length
(``-1`` then an 8-byte length for frames over 2 GiB), then the payload. Clients keep using
``Connection.send_bytes``/``recv_bytes``, so the wire is unchanged.
"""

from __future__ import annotations

import struct

_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


def frame(payload: bytes) -> bytes:
    """``payload`` as one frame, header included, for a single write: ``send_bytes`` writes the
    header and a payload over 16 KiB separately, which wakes the reader twice."""
    if len(payload) > 0x7FFFFFFF:
        return _SHORT.pack(-1) + _LONG.pack(len(payload)) + payload
    return _SHORT.pack(len(payload)) + payload


class FrameError(Exception):
    """The byte stream cannot be a frame sequence (or a frame is over the limit): close the connection."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


class FrameReader:
    """Collects received bytes and hands out complete frames, refusing any over ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._size: int | None = None  # payload size of the frame being read, once its header is in
        self._header = _SHORT.size

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the frames it completed (possibly none). Raises ``FrameError``."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            if self._size is None and not self._read_header():
                return frames
            assert self._size is not None
            end = self._header + self._size
            if len(self._buffer) < end:
                return frames
            with memoryview(self._buffer) as view:  # one copy (slicing the bytearray would make two)
                frames.append(bytes(view[self._header:end]))
            del self._buffer[:end]
            self._size = None
            self._header = _SHORT.size

    def clear(self) -> None:
        """Forget an unfinished frame (it stalled): its memory is freed at once."""
        self._buffer = bytearray()
        self._size = None
        self._header = _SHORT.size

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame held (0 between frames)."""
        return len(self._buffer)

    def _read_header(self) -> bool:
        if len(self._buffer) < _SHORT.size:
            return False
        (size,) = _SHORT.unpack_from(self._buffer)
        header = _SHORT.size
        if size == -1:
            if len(self._buffer) < _SHORT.size + _LONG.size:
                return False
            (size,) = _LONG.unpack_from(self._buffer, _SHORT.size)
            header += _LONG.size
        elif size < 0:
            raise FrameError(f"bad frame header (length {size}): not a multiprocess.connection frame")
        if size > self.max_bytes:
            raise FrameError(f"frame of {size} bytes is over the limit of {self.max_bytes} bytes", too_large=True)
        self._size = size
        self._header = header
        return True
