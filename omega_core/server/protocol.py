"""The wire protocol (ARCHITECTURE.md section 2): one UTF-8 JSON object per frame, version 1.

Request ``{"v":1,"id":ID,"op":OP,"session":NAME|null,"args":{...}}``; reply
``{"v":1,"id":ID,"ok":true,"result":...}`` or ``{"v":1,"id":ID,"ok":false,"error":{"code":C,"message":M}}``;
push ``{"v":1,"push":KIND,...}`` (``{"push":"resync","session":NAME}``: the client missed pushes
of that session while not reading, and should re-read it; see ``outbox``; ``output`` and
``oracle`` with ``session``, ``request``, ``client``, ``text``: pieces of a running command's
``display`` output and of its streaming oracle answer, see ``output_stream``). Frames go with
``send_bytes``/``recv_bytes`` only: never ``send``/``recv``, which unpickle and would let any
connected peer run code.
"""

from __future__ import annotations

import enum
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

VERSION = 1


class ErrorCode(enum.StrEnum):
    """The closed set of error codes a reply can carry."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    LOCKED = "locked"
    READ_ONLY = "read_only"
    INVALID_NAME = "invalid_name"
    PARSE_ERROR = "parse_error"
    EVAL_ERROR = "eval_error"
    BUDGET_EXCEEDED = "budget_exceeded"
    INTERRUPTED = "interrupted"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class Op(enum.StrEnum):
    """Operations a client may ask for. ``execute`` reaches every REPL command; the rest are the
    structured operations panes use so they never parse text."""

    HELLO = "hello"
    EXECUTE = "execute"
    LIST_SESSIONS = "list_sessions"
    CHECKPOINTS = "checkpoints"
    TRACE = "trace"
    GOTO = "goto"
    INTERRUPT = "interrupt"
    STATUS = "status"
    SHUTDOWN = "shutdown"
    RESTART = "restart"
    OPEN = "open"
    CLOSE = "close"
    DELETE = "delete"
    RENAME = "rename"
    TRANSCRIPT = "transcript"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    PING = "ping"
    ACCESS = "access"
    RELEASE = "release"
    CLIENTS = "clients"
    METRICS = "metrics"
    SNAPSHOT = "snapshot"
    SNAPSHOTS = "snapshots"
    RESTORE = "restore"
    SNAPSHOT_DELETE = "snapshot_delete"
    TIMELINE = "timeline"
    ANNOTATE = "annotate"
    UNANNOTATE = "unannotate"
    HISTORY = "history"


class ProtocolError(Exception):
    """A request that cannot be served; ``code`` is an ``ErrorCode`` value."""

    def __init__(self, code: ErrorCode, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    id: Any
    op: str
    session: str | None
    args: dict[str, Any] = field(default_factory=dict)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""Built once: ``json.dumps`` with options builds a new encoder for every frame."""


def encode(message: dict[str, Any]) -> bytes:
    return _ENCODER.encode(message).encode("utf-8")


MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a request frame may have. Requests nest a few levels;
Python's JSON parser recurses on the host stack, and 100,000 levels would end in a RecursionError
with no reply at all."""

_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")
_SIGNED_STEP = bytes.maketrans(b"[]", b"\x01\xff")
"""Openers to +1, closers to -1 (as signed bytes), for a running sum of the depth."""
DEPTH_CHUNK = 16384
"""Brackets summed per C call by ``json_too_deep`` (about a millisecond: a frame decoded in a
worker thread lets the loop have the GIL between two)."""
_ID_FIELD = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


SCAN_PIECE_BYTES = 256 * 1024
"""Bytes of a frame looked at per C call by the checks below (well under a millisecond each): a
frame of many MB is checked in a worker thread, and a C call over all of it at once would hold the
GIL, and with it the loop, for 20-40 ms (an 8 MB frame of brackets on a loaded machine)."""


def _outside_string_pieces(data: bytes) -> Iterator[bytes]:
    """The JSON text ``data`` without its strings, piece by piece, a few short C calls per piece:
    escaped backslashes go first, then escaped quotes, so every quote left delimits a string; the
    parts between quotes alternate outside/inside, carried from one piece to the next. A piece never
    ends inside a run of backslashes or right after one, so every escape stays within one piece."""
    inside = False
    start = 0
    size = len(data)
    while start < size:
        end = min(start + SCAN_PIECE_BYTES, size)
        while end < size and data[end - 1] == 0x5C:  # include the run of backslashes and the escaped byte
            end += 1
        parts = data[start:end].replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')
        yield b"".join(parts[1::2] if inside else parts[0::2])
        inside ^= bool((len(parts) - 1) & 1)
        start = end


def _bracket_pieces(data: bytes) -> Iterator[bytes]:
    """The brackets of ``data`` outside strings, all as ``[`` and ``]``, piece by piece."""
    for piece in _outside_string_pieces(data):
        yield piece.translate(_ONE_BRACKET_KIND, _NOT_BRACKET)


def _count_in_pieces(data: bytes, needle: bytes) -> int:
    return sum(data.count(needle, start, start + SCAN_PIECE_BYTES) for start in range(0, len(data), SCAN_PIECE_BYTES))


def json_text_outside_strings(data: bytes) -> bytes:
    """``data`` (JSON text) without its strings."""
    return b"".join(_outside_string_pieces(data))


MAX_JSON_CONTAINERS = 4096
"""Most arrays and objects a request frame may hold (outside strings). Requests hold a few; a
frame of a million small arrays is parsed by one C call that holds the GIL for a second."""


def json_container_count(data: bytes) -> int:
    """Arrays and objects in the JSON text ``data`` (brackets inside strings do not count)."""
    count = _count_in_pieces(data, b"[") + _count_in_pieces(data, b"{")
    if count <= MAX_JSON_CONTAINERS:
        return count
    return sum(piece.count(b"[") + piece.count(b"{") for piece in _outside_string_pieces(data))


def json_brackets(data: bytes) -> bytes:
    """The brackets of ``data`` outside strings, all as ``[`` and ``]``."""
    return b"".join(_bracket_pieces(data))


def _has_run_of_openers(data: bytes, length: int) -> bool:
    """Whether ``length`` openers follow each other outside strings (the usual too-deep frame);
    the last ``length - 1`` brackets of a piece are carried into the next one."""
    run = b"[" * length
    carried = b""
    for piece in _bracket_pieces(data):
        joined = carried + piece
        if run in joined:
            return True
        carried = joined[-(length - 1):] if length > 1 else b""
    return False


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests arrays/objects more than ``limit`` deep; checked
    before parsing, in time linear in the size, stopping at the first point deeper than
    ``limit``. Brackets inside strings do not count. Ordinary frames stop at the first check (a
    count of bracket bytes), big code texts at the second (few brackets outside strings); only
    frames with more than ``limit`` brackets outside strings get the running sum of the depth,
    ``DEPTH_CHUNK`` brackets per C call. Every C call looks at one piece (``SCAN_PIECE_BYTES``)."""
    if _count_in_pieces(data, b"[") + _count_in_pieces(data, b"{") <= limit:
        return False
    if sum(piece.count(b"[") for piece in _bracket_pieces(data)) <= limit:
        return False
    if _has_run_of_openers(data, limit + 1):
        return True
    depth = 0
    for brackets in _bracket_pieces(data):
        for start in range(0, len(brackets), DEPTH_CHUNK):
            steps = memoryview(brackets[start:start + DEPTH_CHUNK].translate(_SIGNED_STEP)).cast("b")
            depths = list(itertools.accumulate(steps, initial=depth))
            if max(depths) > limit:
                return True
            depth = depths[-1]
    return False


def _id_near_start(data: bytes) -> Any:
    """The request id of a frame that is not parsed (too deep), if an ``"id"`` field is found."""
    found = _ID_FIELD.search(data)
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def decode_request(data: bytes, max_bytes: int) -> Request:
    """Parse and validate one request frame, or raise ``ProtocolError`` saying what is wrong."""
    if len(data) > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"frame of {len(data)} bytes is over the limit of {max_bytes} bytes")
    containers = json_container_count(data)
    too_many = containers > MAX_JSON_CONTAINERS
    if too_many and not _has_run_of_openers(data, MAX_JSON_DEPTH + 1):  # else: say it is too deep
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"frame holds {containers:,} arrays/objects, more than the "
                            f"protocol's limit of {MAX_JSON_CONTAINERS:,} (requests need a few)", _id_near_start(data))
    if too_many or json_too_deep(data):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"frame nests arrays/objects more than {MAX_JSON_DEPTH} levels "
                            "deep (the protocol's limit; requests need a few)", _id_near_start(data))
    try:
        message = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame is not UTF-8 text") from None
    except RecursionError:  # a belt to json_too_deep's braces
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"frame nests too deep (limit {MAX_JSON_DEPTH} levels)",
                            _id_near_start(data)) from None
    except ValueError as problem:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"frame is not JSON ({problem})") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame must be a JSON object")
    request_id = message.get("id")
    version = message.get("v")
    if type(version) is not int or version != VERSION:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"unsupported protocol version {version!r} (this server speaks v{VERSION})",
            request_id,
        )
    if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "request needs an id (a string or an integer)")
    op = message.get("op")
    if not isinstance(op, str) or op not in Op.__members__.values():
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown op {op!r}", request_id)
    session = message.get("session")
    if session is not None and not isinstance(session, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "session must be a name or null", request_id)
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "args must be a JSON object", request_id)
    return Request(request_id, op, session, args)


def request_id_of(data: bytes) -> Any:
    """The id of a request frame, for a reply to a frame that is not served (None if not found)."""
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


class RawJSON(bytes):
    """A result already encoded as JSON (big, cached replies): spliced into the reply as is."""


def encode_reply(reply: dict[str, Any]) -> bytes:
    result = reply.get("result")
    if isinstance(result, RawJSON):
        head = encode({"v": VERSION, "id": reply["id"], "ok": True})
        return head[:-1] + b',"result":' + bytes(result) + b"}"
    return encode(reply)


def ok_reply(request_id: Any, result: Any) -> dict[str, Any]:
    return {"v": VERSION, "id": request_id, "ok": True, "result": result}


def error_reply(request_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"v": VERSION, "id": request_id, "ok": False, "error": {"code": str(code), "message": message}}


def push(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "push": kind, **fields}


def request(request_id: Any, op: str, session: str | None = None, **args: Any) -> dict[str, Any]:
    return {"v": VERSION, "id": request_id, "op": op, "session": session, "args": args}
