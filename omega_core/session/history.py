"""A session's history as rows of inputs, with the branches that going back and continuing makes.

The timeline of checkpoints says ``● 45 periodic``; a person thinks in inputs. Here every row is one
input: its first line, a preview of its result or error, and the checkpoints taken while it ran
(periodic, effect, llm_boundary), folded under it. A goto is recorded in the log as a checkpoint with
``jumpTo``; the next input then continues from the jumped-to input, not from the one before it, which
is a branch. Branches get a lane (a column of the graph drawn in the pane's left gutter, as
``git log --graph`` does), allocated once, when the branch starts.

The module is pure: ``History`` is fed the session's events (the log once, then each appended batch)
and answers pages from memory. A page costs what its rows cost plus one pass over the branches
(few), never a pass over all rows, so 100,000 inputs page in well under a millisecond. Annotations,
snapshots and forks (``Timeline.extras``) are passed in and found by binary search on their seq.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FIRST_LINE_LIMIT = 120
PREVIEW_LIMIT = 120
SEARCH_TEXT_LIMIT = 400
"""How much of each input is kept to search (``/``): enough for any realistic query, bounded memory."""
FOLDED_REASONS = ("periodic", "effect", "llm_boundary")
DETAIL_TEXT_LIMIT = 4000
"""Characters of an input and of its output a row's detail carries (the preview shows a few lines)."""
VALUE_LIMIT = 500
DETAIL_ITEMS = 5
DETAIL_NAMES = 100

Extra = tuple[int, int, dict[str, Any]]
"""(seq, rank, item) as ``Timeline.extras`` returns them: annotations, snapshots, forks."""


class Outcome(enum.StrEnum):
    """How an input ended, as far as its recorded events tell."""

    RESULT = "result"
    ERROR = "error"
    NONE = "none"
    """No result event (an input that read nothing, or was cut short)."""


@dataclass(frozen=True, slots=True)
class InputRow:
    """One input of the session and what it left in the log (``seq`` .. ``end``)."""

    seq: int
    end: int
    """Its last event (its closing checkpoint when it ended well): where a goto to this row lands."""
    first_line: str
    line_count: int
    search_text: str
    """The input's start, lower-cased: what ``/`` looks in."""
    outcome: Outcome
    preview: str
    """The last form's value, or the first error's message: one line."""
    folded: tuple[tuple[int, str], ...]
    """(seq, reason) of the checkpoints taken while it ran."""
    branch: int
    parent: int | None
    """Row index of the input this one continued from (None: the first input of the session)."""


@dataclass(frozen=True, slots=True)
class Branch:
    """A run of consecutive rows, each continuing the one before; it forked from row ``fork``."""

    first: int
    fork: int
    """Row index it continues from (-1: none, the session's first branch)."""
    lane: int


def _first_line(text: str) -> tuple[str, int]:
    lines = text.strip("\n").splitlines() or [""]
    first = lines[0].rstrip()
    more = len(lines)
    if len(first) > FIRST_LINE_LIMIT:
        first = first[:FIRST_LINE_LIMIT - 1] + "…"
    return first, more


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= PREVIEW_LIMIT else line[:PREVIEW_LIMIT - 1] + "…"


class _OpenRow:
    """The last input's fields while its events arrive (one object updated in place: a frozen
    ``InputRow`` rebuilt per event made reading a 400,000-event log several times slower)."""

    __slots__ = ("end", "outcome", "preview", "folded")

    def __init__(self, seq: int) -> None:
        self.end = seq
        self.outcome = Outcome.NONE
        self.preview = ""
        self.folded: list[tuple[int, str]] = []


class History:
    """The rows of one session, built from its events in order (see the module docstring)."""

    def __init__(self) -> None:
        self._rows: list[InputRow] = []
        self._open: _OpenRow | None = None
        self._open_changed = False
        self.input_seqs: list[int] = []
        self.branches: list[Branch] = []
        self.branch_last: list[int] = []
        """Row index of each branch's last row (grows while the branch is the newest)."""
        self.lane_end: list[int] = []
        """For each lane, the last row index any branch drawn in it reaches."""
        self.next_seq = 0
        """The seq after the last event seen: events below it are ignored (a log scan and a batch
        pushed meanwhile may overlap)."""
        self._jumped_to: int | None = None
        self._jumped = False

    @property
    def rows(self) -> list[InputRow]:
        """Every row, the last one brought up to date with the events seen."""
        if self._open_changed and self._open is not None and self._rows:
            last, open_row = self._rows[-1], self._open
            self._rows[-1] = InputRow(last.seq, open_row.end, last.first_line, last.line_count, last.search_text,
                                      open_row.outcome, open_row.preview, tuple(open_row.folded), last.branch,
                                      last.parent)
            self._open_changed = False
        return self._rows

    # --- feeding -------------------------------------------------------------------------------

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.add(event)

    def add(self, event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if not isinstance(seq, int) or seq < self.next_seq:
            return
        self.next_seq = seq + 1
        kind = event.get("type")
        if kind == "input":
            self._add_input(seq, str(event.get("code") or ""))
            return
        row = self._open
        if row is None or self._jumped:
            return  # events before the first input, or after a jump and before the next input
        if kind == "checkpoint" and "jumpTo" in event:
            self._jumped = True
            target = event.get("jumpTo")
            self._jumped_to = self.row_at_seq(target) if isinstance(target, int) else None
            return
        row.end = seq
        self._open_changed = True
        if kind == "checkpoint":
            reason = str(event.get("reason") or "")
            if reason != "manual":
                row.folded.append((seq, reason))
        elif row.outcome is Outcome.ERROR:
            return  # the first error says most; keep it
        elif kind == "result":
            row.outcome, row.preview = Outcome.RESULT, _one_line(str(event.get("value") or ""))
        elif kind == "error":
            row.outcome, row.preview = Outcome.ERROR, _one_line(str(event.get("message") or "error"))

    def _add_input(self, seq: int, code: str) -> None:
        rows = self.rows  # the previous row brought up to date first
        index = len(rows)
        if self._jumped:
            parent = self._jumped_to
        else:
            parent = index - 1 if index else None
        self._jumped, self._jumped_to = False, None
        if parent is not None and parent == index - 1 and self.branch_last[rows[parent].branch] == parent:
            branch = rows[parent].branch
            self.branch_last[branch] = index
            self.lane_end[self.branches[branch].lane] = index
        else:
            branch = self._new_branch(index, -1 if parent is None else parent)
        first, line_count = _first_line(code)
        rows.append(InputRow(seq=seq, end=seq, first_line=first, line_count=line_count,
                             search_text=code[:SEARCH_TEXT_LIMIT].lower(), outcome=Outcome.NONE, preview="",
                             folded=(), branch=branch, parent=parent))
        self._open, self._open_changed = _OpenRow(seq), False
        self.input_seqs.append(seq)

    def _new_branch(self, first: int, fork: int) -> int:
        """A new branch from row ``fork``: the lowest lane free after ``fork`` (git-graph style)."""
        lane = next((lane for lane, end in enumerate(self.lane_end) if end <= fork), len(self.lane_end))
        if lane == len(self.lane_end):
            self.lane_end.append(first)
        else:
            self.lane_end[lane] = first
        self.branches.append(Branch(first=first, fork=fork, lane=lane))
        self.branch_last.append(first)
        return len(self.branches) - 1

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def row_at_seq(self, seq: int) -> int | None:
        """Index of the row whose input contains event ``seq`` (None: before the first input)."""
        index = bisect.bisect_right(self.input_seqs, seq) - 1
        return index if index >= 0 else None

    def current_path(self, position: int | None) -> dict[int, int]:
        """Branch -> the last row index of it on the path from the first input to ``position``."""
        row = None if position is None else self.row_at_seq(position)
        path: dict[int, int] = {}
        while row is not None and row >= 0:
            branch = self.rows[row].branch
            if branch in path:  # pragma: no cover - branches only fork from earlier rows
                break
            path[branch] = row
            fork = self.branches[branch].fork
            row = fork if fork >= 0 else None
        return path

    def page(self, offset: int, limit: int, position: int | None, extras: Sequence[Extra] = ()) -> dict[str, Any]:
        """Rows ``offset`` .. ``offset + limit`` as wire dicts, with their graph and marks."""
        total = len(self.rows)
        start, stop = max(0, offset), min(total, max(0, offset) + max(0, limit))
        position_row = None if position is None else self.row_at_seq(position)
        path = self.current_path(position)
        active = [(number, branch) for number, branch in enumerate(self.branches)
                  if branch.fork + 1 < stop and self.branch_last[number] >= start] if start < stop else []
        extra_seqs = [seq for seq, _, _ in extras]
        rows = [self._row_dict(index, active, path, position_row, extras, extra_seqs) for index in range(start, stop)]
        return {"total": total, "position": position, "position_row": position_row,
                "lanes": len(self.lane_end), "rows": rows}

    def _row_dict(self, index: int, active: list[tuple[int, Branch]], path: dict[int, int],
                  position_row: int | None, extras: Sequence[Extra], extra_seqs: list[int]) -> dict[str, Any]:
        row = self.rows[index]
        own = self.branches[row.branch]
        through: list[int] = []
        through_current: list[int] = []
        forks: list[int] = []
        for number, branch in active:
            if number == row.branch:
                continue
            if branch.fork < index < branch.first:  # its connector runs past this row
                through.append(branch.lane)
                if number in path:
                    through_current.append(branch.lane)
            elif branch.fork == index and branch.lane != own.lane:
                forks.append(branch.lane)
        following = self.input_seqs[index + 1] if index + 1 < len(self.input_seqs) else None
        low = bisect.bisect_left(extra_seqs, row.seq)
        high = len(extra_seqs) if following is None else bisect.bisect_left(extra_seqs, following)
        marks = [dict(item) for _, _, item in extras[low:high]]
        counts = {reason: 0 for reason in FOLDED_REASONS}
        for _, reason in row.folded:
            counts[reason] = counts.get(reason, 0) + 1
        return {
            "index": index, "seq": row.seq, "end": row.end, "goto": row.end,
            "first_line": row.first_line, "lines": row.line_count,
            "outcome": row.outcome.value, "preview": row.preview,
            "checkpoints": counts, "folded": [{"seq": seq, "reason": reason} for seq, reason in row.folded],
            "branch": row.branch, "parent": row.parent, "lane": own.lane,
            "through": through, "through_current": through_current, "forks": forks,
            "current": path.get(row.branch, -1) >= index, "at_position": index == position_row,
            "marks": marks,
        }

    def search(self, query: str, start: int, direction: int, extras: Sequence[Extra] = ()) -> int | None:
        """The nearest row after (``direction`` 1) or before (-1) row ``start`` whose input, or one of
        whose labels or tags, contains ``query`` (case-insensitive); wraps around once."""
        needle = query.strip().lower().lstrip("#") if query.strip().startswith("#") else query.strip().lower()
        total = len(self.rows)
        if not needle or not total:
            return None
        marked: set[int] = set()
        for seq, _, item in extras:
            texts = [str(item.get("label") or ""), str(item.get("note") or "")] + [str(t) for t in item.get("tags") or []]
            if any(needle in text.lower() for text in texts):
                row = self.row_at_seq(seq)
                if row is not None:
                    marked.add(row)
        step = 1 if direction >= 0 else -1
        index = start
        rows = self.rows
        for _ in range(total):
            index = (index + step) % total
            if index in marked or needle in rows[index].search_text:
                return index
        return None


def names_defined(code: str) -> list[str]:
    """The names the input's top-level ``define`` forms bind (read, not evaluated)."""
    from omega_core.lang.reader import ReadError, read_all
    from omega_core.lang.values import Pair, Symbol

    try:
        forms = read_all(code).forms
    except (ReadError, RecursionError):
        return []
    names: list[str] = []
    for form in forms:
        if isinstance(form, Pair) and isinstance(form.car, Symbol) and form.car.name == "define" \
                and isinstance(form.cdr, Pair):
            target = form.cdr.car
            while isinstance(target, Pair):  # (define (f x) ...) and curried (define ((f a) b) ...)
                target = target.car
            if isinstance(target, Symbol):
                names.append(target.name)
    return names


def detail(events: Iterable[dict[str, Any]], row: dict[str, Any] | InputRow) -> dict[str, Any]:
    """What the preview panel shows of one input, from its events (``seq`` .. ``end``): the whole
    input, the output and values, the names it defined, the receipts it used and the tokens."""
    seq, end = (row.seq, row.end) if isinstance(row, InputRow) else (int(row["seq"]), int(row["end"]))
    code = ""
    output: list[str] = []
    values: list[str] = []
    errors: list[str] = []
    receipts: list[str] = []
    tokens = 0
    checkpoints: list[dict[str, Any]] = []
    for event in events:
        event_seq = event.get("seq")
        if not isinstance(event_seq, int) or event_seq < seq:
            continue
        if event_seq > end:
            break
        kind = event.get("type")
        if kind == "input":
            code = str(event.get("code") or "")
        elif kind == "result":
            if event.get("output"):
                output.append(str(event["output"]))
            values.append(str(event.get("value") or ""))
        elif kind == "error":
            if event.get("output"):
                output.append(str(event["output"]))
            errors.append(str(event.get("message") or ""))
        elif kind == "llm_resp":
            key = event.get("receiptKey")
            if isinstance(key, str) and key not in receipts:
                receipts.append(key)
            if isinstance(event.get("tokens"), int):
                tokens += event["tokens"]
        elif kind == "checkpoint" and "jumpTo" not in event and event.get("reason") != "manual":
            checkpoints.append({"seq": event_seq, "reason": event.get("reason")})
    return {"seq": seq, "end": end, "code": _cut(code), "output": _cut("".join(output)),
            "values": [_cut(value, VALUE_LIMIT) for value in values[-DETAIL_ITEMS:]],
            "errors": [_cut(error, VALUE_LIMIT) for error in errors[:DETAIL_ITEMS]],
            "names": names_defined(code)[:DETAIL_NAMES], "receipts": receipts[:DETAIL_NAMES], "tokens": tokens,
            "checkpoints": checkpoints[:DETAIL_NAMES]}


def _cut(text: str, limit: int = DETAIL_TEXT_LIMIT) -> str:
    """``text``, or its start and a note of how much was left out (a preview, never the whole of
    a huge output: the reply must stay far below the frame limit)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters not shown)"
