"""Where codings fall on the screen: per-row column ranges, built once per document and kept
up to date one coding at a time.

``CodingIndex`` turns each visible coding's (start, end) offsets into (row, col0, col1) pieces
with a ``LineIndex`` (bisect), files them under their rows, and answers what the coding screen
asks on every keypress in O(codings on that row): the painted segments of a row, the codings at
an offset, the next/previous coding. Adding, removing or re-filtering (blind mode) touches only
the rows of the codings concerned; nothing is recomputed for the whole document.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from itertools import pairwise
from collections.abc import Iterable
from dataclasses import dataclass

from tui.textmap import OffsetMap


@dataclass(frozen=True)
class Span:
    """What the widget needs to know about one coding."""

    id: int
    code_id: int
    code: str
    coder: str
    start: int
    end: int
    memo: str = ""

    @classmethod
    def of(cls, coding) -> Span:
        return cls(coding.id, coding.code_id, coding.code, coding.coder, coding.start, coding.end,
                   coding.memo or "")

    @property
    def length(self) -> int:
        return self.end - self.start


Segment = tuple[int, int, tuple[int, ...]]  # (col0, col1, coding ids innermost first)


class CodingIndex:
    def __init__(self, omap: OffsetMap) -> None:
        self.omap = omap
        self.spans: dict[int, Span] = {}  # every coding of the document, visible or not
        self.visible_coders: frozenset[str] | None = None  # None: everybody's
        self._rows: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)  # row -> id -> (c0, c1)
        self._segments: dict[int, list[Segment]] = {}
        self._order: list[tuple[int, int, int]] | None = None  # sorted (start, end, id) of visible
        self._max_len = 0

    # -- building ----------------------------------------------------------------------------
    def load(self, spans: Iterable[Span], visible_coders: frozenset[str] | None = None) -> None:
        self.spans = {s.id: s for s in spans}
        self.visible_coders = visible_coders
        self._rebuild()

    def set_visible(self, visible_coders: frozenset[str] | None) -> set[int]:
        """Show only these coders' codings (None: all); returns the rows whose paint changed."""
        before = set(self._rows)
        self.visible_coders = visible_coders
        self._rebuild()
        return before | set(self._rows)

    def _rebuild(self) -> None:
        self._rows = defaultdict(dict)
        self._segments.clear()
        self._order = None
        for span in self.spans.values():
            if self.is_visible(span):
                self._file(span)

    def is_visible(self, span: Span) -> bool:
        return self.visible_coders is None or span.coder in self.visible_coders

    def pieces(self, span: Span) -> list[tuple[int, int, int]]:
        """(row, col0, col1) pieces of a span; rows in between are covered to their line end."""
        omap = self.omap
        r0, c0 = omap.to_location(span.start)
        r1, c1 = omap.to_location(span.end)
        if r0 == r1:
            return [(r0, c0, c1)] if c1 > c0 else []
        out = []
        first_len = omap.index.line_length(r0)
        if first_len > c0:
            out.append((r0, c0, first_len))
        for row in range(r0 + 1, r1):
            length = omap.index.line_length(row)
            if length:
                out.append((row, 0, length))
        if c1 > 0:
            out.append((r1, 0, c1))
        return out

    def _file(self, span: Span) -> set[int]:
        rows = set()
        for row, c0, c1 in self.pieces(span):
            self._rows[row][span.id] = (c0, c1)
            self._segments.pop(row, None)
            rows.add(row)
        return rows

    def _unfile(self, span: Span) -> set[int]:
        rows = set()
        for row, _c0, _c1 in self.pieces(span):
            entry = self._rows.get(row)
            if entry is not None and entry.pop(span.id, None) is not None:
                if not entry:
                    del self._rows[row]
                self._segments.pop(row, None)
                rows.add(row)
        return rows

    # -- incremental updates -------------------------------------------------------------------
    def add(self, span: Span) -> set[int]:
        """Add or replace a coding; returns the rows to repaint."""
        rows = self.remove(span.id)
        self.spans[span.id] = span
        if self.is_visible(span):
            rows |= self._file(span)
            self._order = None
        return rows

    def remove(self, coding_id: int) -> set[int]:
        span = self.spans.pop(coding_id, None)
        if span is None:
            return set()
        self._order = None
        return self._unfile(span)

    def replace_all(self, spans: Iterable[Span]) -> set[int]:
        """Swap in a fresh set of codings, repainting only rows whose codings changed."""
        new = {s.id: s for s in spans}
        rows: set[int] = set()
        for cid in [cid for cid, s in self.spans.items() if new.get(cid) != s]:
            rows |= self.remove(cid)
        for cid, s in new.items():
            if self.spans.get(cid) != s:
                rows |= self.add(s)
        return rows

    # -- questions ---------------------------------------------------------------------------
    def segments(self, row: int) -> list[Segment]:
        """Non-overlapping painted pieces of a row, each with its codings (innermost first)."""
        cached = self._segments.get(row)
        if cached is not None:
            return cached
        entry = self._rows.get(row)
        if not entry:
            self._segments[row] = []
            return []
        cuts = sorted({c for c0, c1 in entry.values() for c in (c0, c1)})
        spans = self.spans
        out: list[Segment] = []
        for a, b in pairwise(cuts):
            ids = [cid for cid, (c0, c1) in entry.items() if c0 <= a and c1 >= b]
            if not ids:
                continue
            ids.sort(key=lambda cid: (spans[cid].length, cid))
            key = tuple(ids)
            if out and out[-1][1] == a and out[-1][2] == key:
                out[-1] = (out[-1][0], b, key)
            else:
                out.append((a, b, key))
        self._segments[row] = out
        return out

    def on_row(self, row: int) -> list[Span]:
        entry = self._rows.get(row) or {}
        return sorted((self.spans[cid] for cid in entry), key=lambda s: (s.start, s.id))

    def at(self, offset: int) -> list[Span]:
        """Visible codings covering ``offset`` (start <= offset < end), innermost first."""
        row, col = self.omap.to_location(offset)
        if col >= self.omap.index.line_length(row):  # a line break: not painted, so not filed
            found = self.overlapping(offset, offset + 1)
        else:
            found = [s for s in self.on_row(row) if s.start <= offset < s.end]
        return sorted(found, key=lambda s: (s.length, s.id))

    def overlapping(self, start: int, end: int) -> list[Span]:
        """Visible codings that share at least one character with start:end."""
        return [self.spans[i] for s, e, i in self._sorted() if s < end and e > start]

    def _sorted(self) -> list[tuple[int, int, int]]:
        if self._order is None:
            self._order = sorted((s.start, s.end, s.id) for s in self.spans.values() if self.is_visible(s))
            self._max_len = max((e - s for s, e, _ in self._order), default=0)
        return self._order

    def visible(self) -> list[Span]:
        return [self.spans[i] for _s, _e, i in self._sorted()]

    def next_after(self, offset: int) -> Span | None:
        order = self._sorted()
        i = bisect_right(order, (offset, float("inf"), float("inf")))
        return self.spans[order[i][2]] if i < len(order) else None

    def previous_before(self, offset: int) -> Span | None:
        order = self._sorted()
        i = bisect_left(order, (offset, -1, -1))
        return self.spans[order[i - 1][2]] if i > 0 else None

    def covers(self, start: int, end: int) -> bool:
        """Is any character of start:end covered by a visible coding?"""
        order = self._sorted()
        i = bisect_left(order, (end, -1, -1))  # codings starting before `end`
        # codings are few per turn; scan back while they could still reach `start`
        longest = self._longest()
        while i > 0:
            s, e, _ = order[i - 1]
            if e > start:
                return True
            if s + longest <= start:
                break
            i -= 1
        return False

    def _longest(self) -> int:
        self._sorted()
        return self._max_len

    def rows(self) -> list[int]:
        return sorted(self._rows)
