"""Rewriting text and remapping every anchor that points into it (DESIGN.md, "Offsets").

An edit replaces ``text[start:end]`` with ``replacement``. Edits of one text never overlap and are
applied together. ``EditMap`` maps old offsets to new ones so that an anchor keeps covering the
same words:

- a position outside every edit moves by the length changes of the edits before it;
- an anchor that starts inside an edit starts where the edit's replacement starts, one that ends
  inside an edit ends where the replacement ends: a coding that covered part of a name now covers
  the whole replacement (never half of ``[name of P1]``);
- an anchor ending exactly at an edit's start stays before the replacement, one starting exactly
  at an edit's end stays after it.

So for a span ``(s, e)`` the new text of the span equals the old text of ``(s', e')`` — the span
widened to the edits it touches — with the replacements applied (``widen`` gives ``(s', e')``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str

    @property
    def delta(self) -> int:
        return len(self.replacement) - (self.end - self.start)


def check_edits(text_length: int, edits: Sequence[Edit]) -> None:
    last = 0
    for e in edits:
        if not (last <= e.start < e.end <= text_length):
            raise ValueError(f"edit {e.start}:{e.end} overlaps another or lies outside the text")
        last = e.end


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """The text with every edit applied (edits sorted, non-overlapping)."""
    parts, pos = [], 0
    for e in edits:
        parts.append(text[pos:e.start])
        parts.append(e.replacement)
        pos = e.end
    parts.append(text[pos:])
    return "".join(parts)


class EditMap:
    """Old offset -> new offset for one text's sorted, non-overlapping edits."""

    def __init__(self, edits: Sequence[Edit]) -> None:
        self.edits = list(edits)
        self.starts = [e.start for e in self.edits]
        self.ends = [e.end for e in self.edits]
        self.new_starts: list[int] = []
        shift = 0
        for e in self.edits:
            self.new_starts.append(e.start + shift)
            shift += e.delta
        self.shifts_after: list[int] = []  # cumulative delta after edit i
        shift = 0
        for e in self.edits:
            shift += e.delta
            self.shifts_after.append(shift)

    def _before(self, pos: int) -> int:
        """Total delta of edits ending at or before ``pos``."""
        i = bisect_right(self.ends, pos)
        return self.shifts_after[i - 1] if i else 0

    def start(self, pos: int) -> int:
        i = bisect_right(self.starts, pos) - 1  # last edit starting at or before pos
        if i >= 0 and self.starts[i] <= pos < self.ends[i]:
            return self.new_starts[i]
        return pos + self._before(pos)

    def end(self, pos: int) -> int:
        i = bisect_left(self.ends, pos)  # first edit ending at or after pos
        if i < len(self.edits) and self.starts[i] < pos <= self.ends[i]:
            return self.new_starts[i] + len(self.edits[i].replacement)
        return pos + self._before(pos)

    def span(self, start: int, end: int) -> tuple[int, int]:
        if start == end:  # an empty anchor (a cursor) stays a point
            p = self.start(start)
            return p, p
        return self.start(start), self.end(end)

    def widen(self, start: int, end: int) -> tuple[int, int]:
        """The old span grown to whole edits wherever it starts or ends inside one."""
        i = bisect_right(self.starts, start) - 1
        if i >= 0 and self.starts[i] < start < self.ends[i]:
            start = self.starts[i]
        j = bisect_left(self.ends, end)
        if j < len(self.edits) and self.starts[j] < end < self.ends[j]:
            end = self.ends[j]
        return start, end

    def inside(self, start: int, end: int) -> list[Edit]:
        """Edits lying within ``start:end`` (after widening)."""
        lo = bisect_left(self.starts, start)
        hi = bisect_right(self.ends, end)
        return [e for e in self.edits[lo:hi] if start <= e.start and e.end <= end]


def resolve_overlaps(edits: Iterable[tuple[int, Edit]]) -> tuple[list[Edit], list[int]]:
    """Choose non-overlapping edits from (priority, edit) pairs: lower priority number first,
    then longer spans. Returns (kept edits sorted by position, indexes of dropped pairs)."""
    items = list(edits)
    order = sorted(range(len(items)), key=lambda i: (items[i][0], -(items[i][1].end - items[i][1].start),
                                                     items[i][1].start))
    taken: list[tuple[int, int]] = []
    kept: list[Edit] = []
    dropped: list[int] = []
    import bisect

    for i in order:
        e = items[i][1]
        k = bisect.bisect_left(taken, (e.start, e.end))
        clash = (k > 0 and taken[k - 1][1] > e.start) or (k < len(taken) and taken[k][0] < e.end)
        if clash:
            dropped.append(i)
            continue
        taken.insert(k, (e.start, e.end))
        kept.append(e)
    kept.sort(key=lambda e: e.start)
    return kept, sorted(dropped)
