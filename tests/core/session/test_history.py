"""``omega_core.session.history``: inputs as rows, folded checkpoints, branches and their lanes,
marks, paging, search, and the preview of one row (issue 12, item 4)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from omega_core.config import Config
from omega_core.session.history import History, InputRow, Outcome, detail, names_defined
from omega_core.session.recorded import RecordedSession


class Log:
    """Builds a session's events with consecutive seqs, as a recorded session writes them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def _add(self, **event: Any) -> int:
        event["seq"] = len(self.events)
        self.events.append(event)
        return event["seq"]

    def input(self, code: str, value: str | None = "1", error: str | None = None, periodic: int = 0) -> int:
        seq = self._add(type="input", code=code)
        self._add(type="step", d=0, ctrl=code)
        for _ in range(periodic):
            self._add(type="checkpoint", d=1, reason="periodic", stateId="s")
        if error is not None:
            self._add(type="error", d=0, message=error)
        elif value is not None:
            self._add(type="result", value=value)
            self._add(type="checkpoint", d=0, reason="manual", stateId="s")
        return seq

    def jump(self, to: int) -> int:
        return self._add(type="checkpoint", d=0, reason="manual", stateId="s", jumpTo=to)


def history_of(log: Log) -> History:
    history = History()
    history.add_events(log.events)
    return history


def test_each_input_is_a_row_with_its_first_line_and_the_preview_of_its_result_or_error() -> None:
    log = Log()
    log.input("(define x 1)", value="x")
    log.input("(car '())\n(+ 1 2)", error="car: expected a pair, got null")
    log.input("(loop)", value="done", periodic=48)
    history = history_of(log)
    assert [row.first_line for row in history.rows] == ["(define x 1)", "(car '())", "(loop)"]
    assert history.rows[1].line_count == 2
    assert [row.outcome for row in history.rows] == [Outcome.RESULT, Outcome.ERROR, Outcome.RESULT]
    assert [row.preview for row in history.rows] == ["x", "car: expected a pair, got null", "done"]
    page = history.page(0, 10, position=len(log.events) - 1)
    assert page["rows"][2]["checkpoints"] == {"periodic": 48, "effect": 0, "llm_boundary": 0}
    assert len(page["rows"][2]["folded"]) == 48 and page["rows"][0]["folded"] == []
    assert page["rows"][2]["goto"] == len(log.events) - 1  # its closing checkpoint
    assert page["rows"][2]["at_position"] and not page["rows"][1]["at_position"]


def test_a_long_first_line_is_cut_and_a_result_preview_is_one_line() -> None:
    log = Log()
    log.input("(list " + "1 " * 200 + ")", value="(1\n 1)")
    row = history_of(log).rows[0]
    assert len(row.first_line) == 120 and row.first_line.endswith("…")
    assert row.preview == "(1 1)"


def test_going_back_and_continuing_makes_a_branch_in_a_new_lane() -> None:
    log = Log()
    first = [log.input(f"(define a{n} {n})") for n in range(5)]
    log.jump(first[1] + 2)  # back to the end of row 1
    log.input("(define b 1)")
    log.input("(define c 1)")
    history = history_of(log)
    assert [row.branch for row in history.rows] == [0, 0, 0, 0, 0, 1, 1]
    assert history.rows[5].parent == 1 and history.rows[6].parent == 5
    page = history.page(0, 10, position=len(log.events) - 1)
    rows = page["rows"]
    assert page["lanes"] == 2
    assert [row["lane"] for row in rows] == [0, 0, 0, 0, 0, 1, 1]
    assert rows[1]["forks"] == [1]  # the branch leaves row 1 ...
    assert [row["through"] for row in rows[2:5]] == [[1], [1], [1]]  # ... and runs past rows 2-4
    # the current branch: rows 0, 1 and the new ones, not the abandoned rows 2-4
    assert [row["current"] for row in rows] == [True, True, False, False, False, True, True]
    assert rows[2]["through_current"] == [1]


def test_going_back_to_the_tip_of_an_old_branch_reuses_its_lane() -> None:
    log = Log()
    rows = [log.input(f"(a{n})") for n in range(3)]
    log.jump(rows[0] + 2)
    log.input("(b)")  # branch 1 from row 0, lane 1
    log.jump(rows[2] + 2)  # back to the tip of the first branch
    log.input("(c)")
    history = history_of(log)
    page = history.page(0, 10, position=len(log.events) - 1)
    assert [row["lane"] for row in page["rows"]] == [0, 0, 0, 1, 0]
    assert page["rows"][3]["through"] == [0]  # lane 0 runs past (b) down to (c)
    assert [row["current"] for row in page["rows"]] == [True, True, True, False, True]


def test_a_goto_without_a_new_input_adds_no_row_and_moves_the_current_point() -> None:
    log = Log()
    rows = [log.input(f"(a{n})") for n in range(3)]
    log.jump(rows[0] + 2)
    history = history_of(log)
    assert len(history) == 3
    page = history.page(0, 10, position=rows[0] + 2)
    assert [row["at_position"] for row in page["rows"]] == [True, False, False]
    assert [row["current"] for row in page["rows"]] == [True, False, False]


def test_a_goto_then_an_input_from_the_last_row_continues_its_branch() -> None:
    log = Log()
    rows = [log.input(f"(a{n})") for n in range(2)]
    log.jump(rows[1] + 2)
    log.input("(b)")
    assert [row.branch for row in history_of(log).rows] == [0, 0, 0]


def test_annotations_and_snapshots_mark_the_row_whose_events_they_point_into() -> None:
    log = Log()
    rows = [log.input(f"(a{n})") for n in range(3)]
    extras = [(rows[1] + 3, 1, {"seq": rows[1] + 3, "kind": "annotation", "label": "good", "tags": ["keep"]}),
              (rows[2] + 3, 2, {"seq": rows[2] + 3, "kind": "snapshot", "snapshot_id": "snap-1", "label": "", "tags": []})]
    page = history_of(log).page(0, 10, None, extras)
    assert [[mark["kind"] for mark in row["marks"]] for row in page["rows"]] == [[], ["annotation"], ["snapshot"]]


def test_search_finds_inputs_labels_and_tags_in_either_direction_and_wraps() -> None:
    log = Log()
    rows = [log.input(code) for code in ["(define alpha 1)", "(beta)", "(define Alpha 2)", "(gamma)"]]
    extras = [(rows[3] + 3, 1, {"seq": rows[3] + 3, "kind": "annotation", "label": "the end", "tags": ["release"]})]
    history = history_of(log)
    assert history.search("ALPHA", -1, 1, extras) == 0
    assert history.search("alpha", 0, 1, extras) == 2
    assert history.search("alpha", 2, 1, extras) == 0  # wraps
    assert history.search("alpha", 2, -1, extras) == 0
    assert history.search("end", 0, 1, extras) == 3  # a label
    assert history.search("#release", 0, 1, extras) == 3  # a tag
    assert history.search("delta", 0, 1, extras) is None
    assert history.search("   ", 0, 1, extras) is None


def test_pages_of_many_rows_match_slices_of_the_whole() -> None:
    """(bench/tui.py pages 100,000 rows; 20,000 keep this test short.)"""
    history = History()
    seq = 0
    for n in range(20_000):
        history.add({"seq": seq, "type": "input", "code": f"(f {n})"})
        history.add({"seq": seq + 1, "type": "result", "value": str(n)})
        seq += 2
    for offset in (0, 10_000, 19_990):
        page = history.page(offset, 20, position=seq - 1)
        assert page["total"] == 20_000
        assert [row["first_line"] for row in page["rows"]] == [f"(f {n})" for n in range(offset, min(offset + 20, 20_000))]
    assert history.page(20_000, 20, None)["rows"] == []


def test_events_seen_twice_are_added_once() -> None:
    """A log scan and a batch pushed while it ran may overlap."""
    log = Log()
    log.input("(a)")
    log.input("(b)")
    history = History()
    history.add_events(log.events[:4])
    history.add_events(log.events)
    assert [row.first_line for row in history.rows] == ["(a)", "(b)"]


def test_names_defined_reads_top_level_defines_only() -> None:
    assert names_defined("(define x 1) (define (f a) (define inner 2) a) (+ 1 2)") == ["x", "f"]
    assert names_defined("(define ((curried a) b) a)") == ["curried"]
    assert names_defined("(unclosed") == []


def test_detail_collects_output_values_names_receipts_and_tokens() -> None:
    events = [
        {"seq": 4, "type": "input", "code": "(define x (infer.op \"hi\"))"},
        {"seq": 5, "type": "checkpoint", "reason": "llm_boundary", "stateId": "s"},
        {"seq": 6, "type": "llm_resp", "receiptKey": "k1", "tokens": 7, "valuePreview": "hello"},
        {"seq": 7, "type": "result", "value": "x", "output": "said hi\n"},
        {"seq": 8, "type": "input", "code": "(next)"},
    ]
    row = InputRow(seq=4, end=7, first_line="", line_count=1, search_text="", outcome=Outcome.RESULT, preview="x",
                   folded=(), branch=0, parent=None)
    shown = detail(events, row)
    assert shown["code"].startswith("(define x") and shown["output"] == "said hi\n" and shown["values"] == ["x"]
    assert shown["names"] == ["x"] and shown["receipts"] == ["k1"] and shown["tokens"] == 7
    assert shown["checkpoints"] == [{"seq": 5, "reason": "llm_boundary"}]
    assert detail(events, dataclasses.asdict(row))["values"] == ["x"]


def test_a_real_session_read_from_its_log_matches_its_live_batches(tmp_path: Path) -> None:
    config = Config(session_dir=str(tmp_path))
    session = RecordedSession.open(config.sessions_dir, "s", config)
    live = History()
    session.listeners.append(live.add_events)
    session.execute("(define x 1)")
    session.execute("(car '())")
    session.goto(session.checkpoints[0]["seq"])
    session.execute("(define y 2)")
    from_log = History()
    from_log.add_events(event for _, event in session.iter_events())
    session.close()
    assert live.rows == from_log.rows
    assert [row.first_line for row in live.rows] == ["(define x 1)", "(car '())", "(define y 2)"]
    assert [row.outcome for row in live.rows] == [Outcome.RESULT, Outcome.ERROR, Outcome.RESULT]
    assert [row.branch for row in live.rows] == [0, 0, 1] and live.rows[2].parent == 0


def test_the_detail_of_a_huge_input_is_cut_with_a_note() -> None:
    events = [{"seq": 0, "type": "input", "code": "(big)" + " " * 10_000},
              {"seq": 1, "type": "result", "value": "x" * 100_000, "output": "y" * 1_000_000}]
    row = InputRow(seq=0, end=1, first_line="(big)", line_count=1, search_text="", outcome=Outcome.RESULT,
                   preview="", folded=(), branch=0, parent=None)
    shown = detail(events, row)
    assert len(shown["output"]) < 5_000 and shown["output"].endswith("(996,000 more characters not shown)")
    assert len(shown["values"][0]) < 600 and "more characters not shown" in shown["values"][0]
    assert len(shown["code"]) < 5_000
