"""A big input's events are encoded for the log in pieces with pauses between (an input of 100
defines, 200 events, held the backend's loop 3-4 ms after its last form), and the log is what one
encoding of all of them writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omega_core.config import Config
from omega_core.eval_steps import Pause
from omega_core.session.log import encode_events
from omega_core.session.recorded import RecordedSession
from omega_core.session.recorded_log import ENCODE_PIECE_EVENTS


def steps_after_last_result(session: RecordedSession, text: str) -> list[object]:
    items = list(session.execute_steps(text))
    last = max(index for index, item in enumerate(items) if not isinstance(item, Pause))
    return items[last + 1:]


def test_a_big_input_is_encoded_between_pauses_and_logged_whole(tmp_path: Path) -> None:
    config = Config(session_dir=str(tmp_path))
    session = RecordedSession.open(config.sessions_dir, "pieces", config)
    defines = " ".join(f"(define k{n} {n})" for n in range(100))
    pauses = steps_after_last_result(session, defines)
    assert len(pauses) >= (2 * 100) // ENCODE_PIECE_EVENTS and all(isinstance(p, Pause) for p in pauses)
    assert steps_after_last_result(session, "(define small 1)") == []  # a small input: no pause added
    assert session.execute("k99")[0].transcript() == "=> 99"
    session.close()
    lines = session.paths.log.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines if b'"seq"' in line]
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # every event once, in order
    assert [line for line in lines if b'"seq"' in line] == encode_events(events, seqs[0])  # as written at once
    reopened = RecordedSession.open(config.sessions_dir, "pieces", config)
    assert reopened.execute("(+ k0 k99 small)")[0].transcript() == "=> 100"
    reopened.close()


def test_lines_encoded_apart_must_follow_the_log(tmp_path: Path) -> None:
    config = Config(session_dir=str(tmp_path))
    session = RecordedSession.open(config.sessions_dir, "strict", config)
    session.execute("(define a 1)")
    writer = session._writer
    assert writer is not None
    event = {"seq": writer.next_seq, "type": "note", "text": "x"}
    with pytest.raises(ValueError, match="do not follow"):
        writer.append([event], encode_events([event, {**event, "seq": event["seq"] + 1}], event["seq"]))
    with pytest.raises(ValueError, match="does not follow"):
        encode_events([{**event, "seq": event["seq"] + 5}], event["seq"])
    session.close()
