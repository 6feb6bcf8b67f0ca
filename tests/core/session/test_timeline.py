"""Snapshots, annotations and the annotated timeline (issue #5, parts 3 and 4), in-process.

Everything goes through ``omega_core.repl.processor.process`` on a ``ReplState.open`` REPL, as a
user types it; ``omega_core.session.timeline.page`` gets unit tests of its own (correctness against
a plain merged sort on 100,000 checkpoints, and its cost per page).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

import omega_core.repl.commands  # noqa: F401 - registers every command
from omega_core.config import load_config
from omega_core.lang.builtins import fresh_globals
from omega_core.lang.printer import write_string
from omega_core.repl.processor import process
from omega_core.repl.state import ReplState
from omega_core.session import timeline as tl

BUILTINS = frozenset(fresh_globals())
PROBE = '(list x (hash-ref h "a" 0) (hash-count h) lst (counter))'
"""Reads the globals, the inside of a hash table and a closure's captured variable (and bumps it)."""


class Repl:
    """A REPL on one session of the test's session dir; ``repl(line)`` returns the output."""

    def __init__(self, name: str = "T") -> None:
        self.config = load_config()
        self.state = ReplState.open(self.config, name)

    def __call__(self, line: str) -> str:
        self.state, output, _ = process(self.state, line)
        assert isinstance(output, str) and not output.endswith("\n")
        return output

    @property
    def session(self) -> Any:
        return self.state.session

    @property
    def sessions_dir(self) -> Path:
        return self.config.sessions_dir

    def reopen(self, name: str | None = None) -> None:
        name = name or self.session.name
        self.state.close()
        self.state = ReplState.open(self.config, name)

    def user_globals(self) -> dict[str, str]:
        """The printed value of every global the user defined (not the builtins)."""
        return {key: write_string(value) for key, value in self.session.machine.globals.items() if key not in BUILTINS}

    def files(self, name: str | None = None) -> dict[str, bytes]:
        """Every file of session ``name`` (log, index, states, meta, timeline) and its bytes."""
        name = name or self.session.name
        return {path.name: path.read_bytes() for path in sorted(self.sessions_dir.glob(f"{name}.*"))}

    def timeline_items(self, tag: str | None = None) -> list[dict[str, Any]]:
        session = self.session
        total, items = tl.page(session.checkpoints, session.checkpoint_seqs, session.timeline, 0, 10**9, tag)
        assert total == len(items)
        return items

    def disk_total(self) -> int:
        return sum(path.stat().st_size for path in self.sessions_dir.iterdir() if path.is_file())


@pytest.fixture
def repl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    r = Repl()
    yield r
    r.state.close()


def build_state(repl: Repl) -> None:
    """Globals, a hash table mutated in place, a list and a closure with a captured counter."""
    for line in ("(define x 1)", "(define h (make-hash))", '(hash-set! h "a" 1)', "(define lst (list 1 2 3))",
                 "(define counter (let ((n 0)) (lambda () (set! n (+ n 1)) n)))", "(counter)"):
        assert not repl(line).startswith("error"), line


def mutate(repl: Repl) -> None:
    """Change every part of the state ``build_state`` made, and add a global."""
    for line in ("(set! x 42)", '(hash-set! h "a" 99)', '(hash-set! h "b" 2)', "(set! lst (list 9))",
                 "(counter)", "(counter)", "(define later 7)"):
        assert not repl(line).startswith("error"), line


def snapshot_id(output: str) -> str:
    assert output.startswith("Snapshot snap-"), output
    return output.split()[1]


def undo_id(output: str) -> str:
    """The id of the snapshot a restore took of what it replaced (named in its report)."""
    marker = "what it replaced is snapshot "
    assert marker in output, output
    return output.split(marker)[1].split(":")[0].strip()


def snapshots_of(repl: Repl) -> list[dict[str, Any]]:
    return [dict(s) for s in repl.session.timeline.snapshots]


# --------------------------------------------------------------------------------------------
# Snapshots


def test_snapshot_list_restore_and_delete(repl: Repl) -> None:
    build_state(repl)
    assert repl(":session snapshots") == "  (no snapshots)"
    made = repl(":session snapshot before the change --tag keep --tag v1")
    sid = snapshot_id(made)
    assert made == f"Snapshot {sid} at seq {repl.session.position}: before the change"
    listed = repl(":session snapshots")
    assert sid in listed and "before the change" in listed and "#keep" in listed and "#v1" in listed
    (entry,) = snapshots_of(repl)
    assert entry["id"] == sid and entry["tags"] == ["keep", "v1"] and entry["seq"] == repl.session.position

    mutate(repl)
    restored = repl(f":session restore {sid}")
    assert f"Restored {sid}" in restored and not restored.startswith("error")
    assert repl("x") == "=> 1"

    other = snapshot_id(repl(":session snapshot second"))
    assert repl(f":session snapshot-delete {sid}") == f"Deleted snapshot {sid}"
    ids = [s["id"] for s in snapshots_of(repl)]
    assert sid not in ids and other in ids
    assert repl(f":session restore {sid}").startswith("error: no snapshot")


def test_restore_gives_exactly_the_state_at_creation(repl: Repl) -> None:
    build_state(repl)
    expected_globals = repl.user_globals()
    sid = snapshot_id(repl(":session snapshot base"))
    expected_probe = repl(PROBE)  # after the snapshot point: restoring undoes this call too
    mutate(repl)
    assert repl(PROBE) != expected_probe
    repl(f":session restore {sid}")
    assert repl.user_globals() == expected_globals
    assert "later" not in repl.user_globals()
    assert repl(PROBE) == expected_probe == '=> (1 1 1 (1 2 3) 2)'
    assert repl("later").startswith("error: unbound variable: later")


def test_restore_of_a_snapshot_taken_after_a_failed_input(repl: Repl) -> None:
    """A snapshot taken right after an error (its seq is the error event) restores what the failed
    input had already done before it failed."""
    repl("(define a 1)")
    assert repl("(begin (define z 9) (car 1))").startswith("error: car")
    expected = repl.user_globals()
    sid = snapshot_id(repl(":session snapshot after-error"))
    repl("(set! z 100)")
    repl(f":session restore {sid}")
    assert repl.user_globals() == expected
    assert repl("z") == "=> 9"


def test_restore_snapshots_what_it_replaces_so_it_can_be_undone(repl: Repl) -> None:
    build_state(repl)
    sid = snapshot_id(repl(":session snapshot base"))
    mutate(repl)
    mutated_globals = repl.user_globals()
    report = repl(f":session restore {sid}")
    undo = undo_id(report)
    auto = next(s for s in snapshots_of(repl) if s["id"] == undo)
    assert auto.get("auto") is True and "auto" in auto["tags"]
    assert repl("x") == "=> 1"
    # undo: restoring the automatic snapshot brings back everything the restore replaced
    repl(f":session restore {undo}")
    assert repl.user_globals() == mutated_globals
    assert repl(PROBE) == '=> (42 99 2 (9) 4)'
    assert repl("later") == "=> 7"


def test_restore_as_new_session_leaves_the_original_unchanged(repl: Repl) -> None:
    build_state(repl)
    expected = repl.user_globals()
    sid = snapshot_id(repl(":session snapshot base"))
    expected_probe = repl(PROBE)
    mutate(repl)
    original_globals = repl.user_globals()
    original_log = (repl.sessions_dir / "T.jsonl").read_bytes()
    original_snapshots = snapshots_of(repl)

    out = repl(f":session restore {sid} --as copy")
    assert not out.startswith("error") and "copy" in out
    assert repl.session.name == "copy"
    assert repl.user_globals() == expected
    assert repl(PROBE) == expected_probe
    assert repl("later").startswith("error: unbound variable")

    repl(":session load T")
    assert repl.session.name == "T"
    assert repl.user_globals() == original_globals
    # the original got no automatic snapshot and no jump: only its timeline records the copy
    assert (repl.sessions_dir / "T.jsonl").read_bytes().startswith(original_log)
    assert snapshots_of(repl) == original_snapshots
    assert repl(f":session restore {sid} --as copy").startswith("error: a session named 'copy' already exists")


def test_restore_as_after_an_earlier_restore_copies_the_branch(repl: Repl) -> None:
    """A snapshot taken after a restore (the log holds a jump) copies into an equivalent session."""
    build_state(repl)
    first = snapshot_id(repl(":session snapshot one"))
    mutate(repl)
    repl(f":session restore {first}")
    repl("(define branch 5)")
    repl("(set! x 3)")
    expected = repl.user_globals()
    second = snapshot_id(repl(":session snapshot on-the-branch"))
    expected_probe = repl(PROBE)
    repl("(set! x 1000)")
    repl(f":session restore {second} --as branched")
    assert repl.user_globals() == expected
    assert repl(PROBE) == expected_probe
    repl.reopen("branched")  # and rebuilt from its own files
    assert repl.user_globals() == expected


def test_snapshots_survive_close_and_reopen(repl: Repl) -> None:
    build_state(repl)
    expected = repl.user_globals()
    sid = snapshot_id(repl(":session snapshot durable --tag keep"))
    mutate(repl)
    before = snapshots_of(repl)
    repl.reopen()
    assert snapshots_of(repl) == before
    assert sid in repl(":session snapshots")
    repl(f":session restore {sid}")
    assert repl.user_globals() == expected


def test_snapshot_of_an_empty_session_restores_or_fails_without_leaving_anything(repl: Repl) -> None:
    made = repl(":session snapshot empty")
    if made.startswith("error"):
        assert repl.session.timeline.snapshots == []
        return
    sid = snapshot_id(made)
    before = snapshots_of(repl)
    out = repl(f":session restore {sid}")
    if out.startswith("error"):
        assert snapshots_of(repl) == before  # nothing changed
    else:
        assert repl.user_globals() == {}


@pytest.mark.parametrize("line, message", [
    (":session restore snap-99", "error: no snapshot 'snap-99'"),
    (":session restore nonsense", "error: no snapshot 'nonsense'"),
    (":session restore snap-99 --as fresh", "error: no snapshot 'snap-99'"),
    (":session snapshot-delete snap-99", "error: no snapshot 'snap-99'"),
    (":session snapshot x --tag bad/tag", "error: invalid tag name"),
    (":session snapshot x --tag .hidden", "error: invalid tag name"),
    (":session snapshot x --tag", "usage: :session snapshot"),
    (":session snapshot x --bogus 1", "error: unknown option --bogus"),
    (":session restore", "usage: :session restore"),
])
def test_bad_snapshot_input_is_refused_and_changes_nothing(repl: Repl, line: str, message: str) -> None:
    build_state(repl)
    snapshot_id(repl(":session snapshot keep"))
    before_files = repl.files()
    before_snapshots = snapshots_of(repl)
    before_next = repl.session.next_seq
    out = repl(line)
    assert out.startswith(message), out
    assert snapshots_of(repl) == before_snapshots
    assert repl.session.next_seq == before_next
    assert repl.files() == before_files
    assert not (repl.sessions_dir / "fresh.jsonl").exists()


def test_restore_as_an_invalid_name_is_refused(repl: Repl) -> None:
    build_state(repl)
    sid = snapshot_id(repl(":session snapshot keep"))
    before = repl.files()
    out = repl(f":session restore {sid} --as ../evil")
    assert out.startswith("error: invalid session name"), out
    assert repl.files() == before and repl.session.name == "T"
    assert sorted(p.name for p in repl.sessions_dir.iterdir() if p.name.startswith("T.")) == sorted(before)


# --------------------------------------------------------------------------------------------
# Annotations


def checkpoint_seqs(repl: Repl) -> list[int]:
    return list(repl.session.checkpoint_seqs)


def test_annotate_and_unannotate_a_checkpoint(repl: Repl) -> None:
    build_state(repl)
    seq = checkpoint_seqs(repl)[1]
    assert repl(f":session annotate {seq} first real state --note 'the base' --tag base --tag v1") == f"Annotated seq {seq}"
    entry = repl.session.timeline.annotations[seq]
    assert entry["label"] == "first real state" and entry["note"] == "the base" and entry["tags"] == ["base", "v1"]
    text = repl(":session timeline all")
    assert f"[{seq:03d}] annotation 'first real state' - the base #base #v1" in text
    # re-annotating replaces the label
    repl(f":session annotate {seq} renamed")
    assert repl.session.timeline.annotations[seq]["label"] == "renamed"
    assert repl(f":session unannotate {seq}") == f"Removed the annotation at seq {seq}"
    assert seq not in repl.session.timeline.annotations
    assert "annotation" not in repl(":session timeline all")


@pytest.mark.parametrize("line, message", [
    (":session annotate {nocp} label", "error: no checkpoint at seq {nocp}"),
    (":session annotate 99999 label", "error: no checkpoint at seq 99999"),
    (":session annotate -1 label", "error: SEQ must be 0 or more"),
    (":session annotate abc label", "error: SEQ must be a whole number"),
    (":session annotate {cp} label --tag bad/tag", "error: invalid tag name"),
    (":session annotate {cp} label --tag ..", "error: invalid tag name"),
    (":session annotate {cp} label --tag ok --tag 'has space'", "error: invalid tag name"),
    (":session annotate {cp} label --note", "usage: :session annotate"),
    (":session annotate {cp} label --note a --note b", "error: --note given twice"),
    (":session annotate {cp}", "usage: :session annotate"),
    (":session annotate {cp} '   '", "error: an annotation needs a label"),
    (":session annotate {cp} " + "x" * 201, "error: label too long"),
    (":session unannotate {cp}", "error: no annotation at seq {cp}"),
    (":session unannotate 99999", "error: no annotation at seq 99999"),
])
def test_bad_annotation_input_is_refused_and_changes_nothing(repl: Repl, line: str, message: str) -> None:
    build_state(repl)
    cps = checkpoint_seqs(repl)
    annotated, cp = cps[0], cps[1]
    repl(f":session annotate {annotated} kept")
    nocp = next(seq for seq in range(repl.session.next_seq) if seq not in cps)
    before_files = repl.files()
    before = dict(repl.session.timeline.annotations)
    out = repl(line.format(cp=cp, nocp=nocp))
    assert out.startswith(message.format(cp=cp, nocp=nocp)), out
    assert repl.session.timeline.annotations == before
    assert repl.files() == before_files


def test_annotations_survive_close_and_reopen(repl: Repl) -> None:
    build_state(repl)
    seq = checkpoint_seqs(repl)[2]
    repl(f":session annotate {seq} durable --note kept --tag keep")
    before = dict(repl.session.timeline.annotations)
    repl.reopen()
    assert repl.session.timeline.annotations == before
    assert f"[{seq:03d}] annotation 'durable' - kept #keep" in repl(":session timeline all")


def test_annotations_go_into_forks_up_to_the_fork_point_and_into_saves(repl: Repl) -> None:
    build_state(repl)
    cps = checkpoint_seqs(repl)
    early, late = cps[1], cps[-1]
    repl(f":session annotate {early} early --tag keep")
    repl(f":session annotate {late} late")
    early_snapshot = snapshot_id(repl(":session snapshot early-snap"))
    repl(f":session goto {early}")
    assert repl.session.position == early
    # a save copies everything
    repl(":session save saved")
    # a fork copies only what is at or before its seq
    out = repl(":session fork forked")
    assert out.startswith(f"Forked 'T' at seq {early} into 'forked'"), out
    assert repl.session.name == "forked"
    assert set(repl.session.timeline.annotations) == {early}
    assert repl.session.timeline.annotations[early]["label"] == "early"
    assert [s["id"] for s in snapshots_of(repl)] == []  # the snapshot is past the fork point
    repl.reopen("saved")
    assert set(repl.session.timeline.annotations) == {early, late}
    assert [s["id"] for s in snapshots_of(repl)] == [early_snapshot]
    repl.reopen("forked")  # still there after a reopen
    assert set(repl.session.timeline.annotations) == {early}
    # the original records the fork and keeps all it had
    repl.reopen("T")
    assert set(repl.session.timeline.annotations) == {early, late}
    assert [(f["name"], f["seq"]) for f in repl.session.timeline.forks] == [("forked", early)]


# --------------------------------------------------------------------------------------------
# The timeline


def test_timeline_shows_checkpoints_annotations_snapshots_forks_and_jumps_in_order(repl: Repl) -> None:
    repl("(define a 1)")
    repl("(define b 2)")
    repl("(define c 3)")
    cp_a, cp_b, cp_c = checkpoint_seqs(repl)
    repl(f":session annotate {cp_b} middle --tag mark")
    snap = snapshot_id(repl(":session snapshot at-the-end --tag mark"))
    end = repl.session.position
    repl(f":session goto {cp_a}")
    jump = repl.session.checkpoints[-1]
    assert jump.get("jumpTo") == cp_a
    repl(":session fork side")
    repl(":session load T")
    repl("(define d 4)")
    cp_d = checkpoint_seqs(repl)[-1]

    kinds = [(item["seq"], item["kind"]) for item in repl.timeline_items()]
    assert kinds == [
        (cp_a, "checkpoint"), (cp_a, "fork"),
        (cp_b, "checkpoint"), (cp_b, "annotation"),
        (cp_c, "checkpoint"), (end, "snapshot"),
        (jump["seq"], "jump"),
        (cp_d, "checkpoint"),
    ]
    assert cp_c == end  # the snapshot shares the last checkpoint's seq: the checkpoint comes first
    # the text form lists the same items in the same order
    lines = repl(":session timeline all").splitlines()
    assert [int(line.split("[")[1].split("]")[0]) for line in lines] == [seq for seq, _ in kinds]
    assert "fork 'side'" in lines[1] and "annotation 'middle'" in lines[3]
    assert f"snapshot {snap} 'at-the-end'" in lines[5] and f"jump to {cp_a}" in lines[6]
    assert lines[-1].startswith(">")  # the current point

    tagged = repl.timeline_items("mark")
    assert [(item["seq"], item["kind"]) for item in tagged] == [(cp_b, "annotation"), (end, "snapshot")]
    text = repl(":session timeline --tag mark")
    assert "annotation 'middle'" in text and f"snapshot {snap}" in text and "checkpoint" not in text
    assert repl(":session timeline --tag nothing-here") == "  (nothing on the timeline tagged nothing-here)"
    assert repl(":session timeline --tag bad/tag").startswith("error: invalid tag name")
    # N: the last N items
    last_two = repl(":session timeline 2").splitlines()
    assert last_two[0] == "  (6 earlier items; :session timeline all)" and len(last_two) == 3


# --------------------------------------------------------------------------------------------
# page(): correctness on 100,000 checkpoints, and its cost


def synthetic(tmp_path: Path, count: int = 100_000, extras: int = 50, seed: int = 5) -> tuple[
        list[dict[str, Any]], list[int], tl.Timeline, list[dict[str, Any]]]:
    """``count`` checkpoints (every 3rd seq; every 1000th a jump) and ``extras`` annotations,
    snapshots and forks at random seqs (some on checkpoints, some between, some sharing a seq),
    and the merged timeline built the straightforward way: everything in one list, sorted."""
    rng = random.Random(seed)
    checkpoints = []
    for i in range(count):
        cp: dict[str, Any] = {"seq": 3 * i, "byteOffset": 100 * i, "stateId": f"state-{3 * i}", "reason": "manual"}
        if i % 1000 == 999:
            cp["jumpTo"] = 3 * (i - 500)
        checkpoints.append(cp)
    seqs = [cp["seq"] for cp in checkpoints]
    timeline = tl.Timeline(tmp_path / "synthetic.timeline.json")
    last = 3 * (count - 1)
    picks = [0, 1, last, last + 1, 2] + [rng.randrange(0, last + 5) for _ in range(extras - 5)]
    for n, seq in enumerate(picks):
        kind = n % 3
        if kind == 0:
            anchor = seq - seq % 3  # annotations sit on checkpoints
            timeline.annotations[anchor] = {"label": f"a{n}", "tags": ["even"] if n % 2 == 0 else [], "created": 0}
        elif kind == 1:
            timeline.snapshots.append({"id": f"snap-{n}", "seq": seq, "description": f"s{n}",
                                       "tags": ["even"] if n % 2 == 0 else [], "created": 0})
        else:
            timeline.forks.append({"name": f"f{n}", "seq": seq, "created": 0})
    timeline.snapshots.append({"id": "snap-twin", "seq": picks[6], "description": "same seq", "tags": [], "created": 0})
    rows: list[tuple[int, int, int, dict[str, Any]]] = []
    for order, cp in enumerate(checkpoints):
        rows.append((cp["seq"], 0, order, tl.checkpoint_item(cp)))
    for order, (seq, entry) in enumerate(timeline.annotations.items()):
        rows.append((seq, 1, order, {"seq": seq, "kind": "annotation", "label": entry["label"], "note": entry.get("note"),
                                     "tags": entry.get("tags", [])}))
    for order, snap in enumerate(timeline.snapshots):
        rows.append((snap["seq"], 2, order, {"seq": snap["seq"], "kind": "snapshot", "snapshot_id": snap["id"],
                                             "label": snap["description"], "tags": snap.get("tags", [])}))
    for order, fork in enumerate(timeline.forks):
        rows.append((fork["seq"], 3, order, {"seq": fork["seq"], "kind": "fork", "label": fork["name"], "tags": []}))
    rows.sort(key=lambda row: row[:3])
    return checkpoints, seqs, timeline, [row[3] for row in rows]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return synthetic(tmp_path_factory.mktemp("page"))


def test_every_page_concatenated_equals_the_merged_sort(big: Any) -> None:
    checkpoints, seqs, timeline, expected = big
    assert len(expected) == len(checkpoints) + len(timeline.annotations) + len(timeline.snapshots) + len(timeline.forks)
    pages: list[dict[str, Any]] = []
    offset = 0
    while True:
        total, items = tl.page(checkpoints, seqs, timeline, offset, 200)
        assert total == len(expected)
        if not items:
            break
        assert len(items) == min(200, total - offset)
        pages.extend(items)
        offset += 200
    assert pages == expected
    assert {item["kind"] for item in pages} == {"checkpoint", "jump", "annotation", "snapshot", "fork"}


def test_pages_at_random_offsets_match_the_merged_sort(big: Any) -> None:
    checkpoints, seqs, timeline, expected = big
    rng = random.Random(11)
    # the places next to each extra item are where an off-by-one would show
    extra_positions = [n for n, item in enumerate(expected) if item["kind"] not in ("checkpoint", "jump")]
    offsets = [0, 1, len(expected) - 1, len(expected), len(expected) + 10]
    offsets += [max(0, p + d) for p in extra_positions[:20] for d in (-1, 0, 1)]
    offsets += [rng.randrange(len(expected)) for _ in range(30)]
    for offset in offsets:
        for limit in (0, 1, 7, 200, 1000):
            total, items = tl.page(checkpoints, seqs, timeline, offset, limit)
            assert total == len(expected)
            assert items == expected[offset:offset + limit], (offset, limit)


def test_tag_filter_pages_only_tagged_items(big: Any) -> None:
    checkpoints, seqs, timeline, expected = big
    tagged = [item for item in expected if "even" in item.get("tags", [])]
    assert tagged and all(item["kind"] in ("annotation", "snapshot") for item in tagged)
    total, items = tl.page(checkpoints, seqs, timeline, 0, 10_000, "even")
    assert total == len(tagged) and items == tagged
    total, items = tl.page(checkpoints, seqs, timeline, 3, 4, "even")
    assert items == tagged[3:7]
    assert tl.page(checkpoints, seqs, timeline, 0, 10, "nobody") == (0, [])


def test_a_page_of_a_100k_checkpoint_timeline_is_cheap(big: Any) -> None:
    checkpoints, seqs, timeline, expected = big
    rng = random.Random(3)
    offsets = [0, len(expected) - 200] + [rng.randrange(len(expected) - 200) for _ in range(98)]
    times = []
    for offset in offsets:
        started = time.perf_counter()
        tl.page(checkpoints, seqs, timeline, offset, 200)
        times.append((time.perf_counter() - started) * 1000)
    median, worst = statistics.median(times), max(times)
    print(f"\ntimeline page of 200 on {len(expected):,} items: median {median:.3f} ms, max {worst:.3f} ms "
          "(target < 10 ms)")
    assert median < 100, times


# --------------------------------------------------------------------------------------------
# Snapshots share the log


@pytest.mark.slow  # building the 100k-event session takes 1-3 s
def test_snapshot_of_a_session_with_100k_events_is_fast_and_small(repl: Repl) -> None:
    started = time.perf_counter()
    line = " ".join(["1"] * 1000)  # 1,000 forms: 2,000 events an input, no state capture
    for _ in range(50):
        repl.session.execute(line)
    assert repl.session.next_seq >= 100_000
    build_seconds = time.perf_counter() - started
    repl.session.flush(force_index=True)
    before = repl.disk_total()
    started = time.perf_counter()
    out = repl(":session snapshot big --tag perf")
    elapsed_ms = (time.perf_counter() - started) * 1000
    grown = repl.disk_total() - before
    print(f"\nsnapshot of a {repl.session.next_seq:,}-event session: {elapsed_ms:.2f} ms, {grown} bytes on disk "
          f"(targets < 50 ms, < 1 KB; built in {build_seconds:.1f} s)")
    assert out.startswith("Snapshot snap-1 at seq")
    # No time limit here (a loaded disk makes the sidecar's fsync slow): that it costs one small
    # write whatever the session's size is shown by what it writes.
    assert 0 < grown < 1024
    # the log was not copied: the only new file is the small timeline sidecar
    assert (repl.sessions_dir / "T.timeline.json").stat().st_size < 1024
    assert json.loads((repl.sessions_dir / "T.timeline.json").read_text())["snapshots"][0]["seq"] == repl.session.position


def test_restore_after_reopen_uses_the_log_not_a_copy(repl: Repl) -> None:
    """A snapshot holds a seq, not a copy: the session's files hold no second copy of the state."""
    build_state(repl)
    expected = repl.user_globals()
    repl.session.flush(force_index=True)
    sizes = {name: len(data) for name, data in repl.files().items()}
    sid = snapshot_id(repl(":session snapshot s"))
    after = {name: len(data) for name, data in repl.files().items()}
    assert {k: v for k, v in after.items() if k != "T.timeline.json"} == sizes
    mutate(repl)
    repl.reopen()
    repl(f":session restore {sid}")
    assert repl.user_globals() == expected
    assert os.path.exists(repl.sessions_dir / "T.timeline.json")
