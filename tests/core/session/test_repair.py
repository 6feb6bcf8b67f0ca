"""Where repair cuts a log: after its last consistent event (header first, seqs from 0 by one)."""

from __future__ import annotations

from omega_core.session.repair import last_consistent_offset

HEADER = b'{"type":"session","version":1,"id":"s","created":"2026-01-01T00:00:00Z"}\n'


def event(seq: int) -> bytes:
    return b'{"seq":%d,"ts":1,"type":"input","code":"x"}\n' % seq


def test_a_consistent_log_is_kept_whole() -> None:
    data = HEADER + event(0) + event(1)
    assert last_consistent_offset(data) == (len(data), 2, None, "s")


def test_the_cut_comes_before_the_first_bad_line() -> None:
    good = HEADER + event(0) + event(1)
    for bad, why in ((event(3), "seq gap"), (event(1), "duplicate seq 1"), (b"{not json\n", "invalid JSON"),
                     (b'{"type":"step"}\n', "without an integer seq")):
        cut, kept, reason, _ = last_consistent_offset(good + bad + event(2))
        assert (cut, kept) == (len(good), 2) and why in str(reason), (bad, reason)


def test_a_log_without_a_header_keeps_nothing() -> None:
    assert last_consistent_offset(b"")[:3] == (0, 0, "no complete header line")
    assert last_consistent_offset(event(0))[:3] == (0, 0, "no valid header line")


def test_a_torn_last_line_is_cut() -> None:
    good = HEADER + event(0)
    assert last_consistent_offset(good + b'{"seq":1')[:3] == (len(good), 1, "a torn last line")
