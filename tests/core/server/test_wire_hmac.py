"""``wire.hmac_digest``: the handshake's HMAC without ``hmac`` (MD5 on the built-in ``_md5``) is
``hmac.new``'s, for keys shorter, as long as and longer than the block, and for named digests."""

from __future__ import annotations

import hmac

import pytest

from omega_core.server.wire import hmac_digest


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
@pytest.mark.parametrize("digest", ["md5", "sha256"])
def test_hmac_digest_is_the_standard_one(key_length: int, digest: str) -> None:
    key = bytes(range(256))[:key_length] if key_length <= 256 else b""
    for message in (b"", b"#CHALLENGE#" + bytes(20), bytes(range(256)) * 3):
        assert hmac_digest(key, message, digest) == hmac.new(key, message, digest).digest()
