"""The widget boundary for offsets: canonical text <-> what the TextArea shows, (row, col) <-> offset.

Offsets everywhere in qualcode are code-point indices into a document's canonical text, whose
only line break is ``\\n``. Textual's ``Document`` splits lines with ``str.splitlines``, which also
breaks on a few characters that canonical text keeps (vertical tab, form feed, the file/group/
record separators ...). ``display_text`` swaps each of those for one visible symbol, so the
widget's text has exactly the same length and the same ``\\n`` positions as the canonical text:
row/column in the widget == row/column in ``qualcode.text.LineIndex``. Columns are code points
(``str`` indices) in both; wide characters (CJK, emoji) only change how many cells a column takes
on screen, which the TextArea handles itself.
"""

from __future__ import annotations

from qualcode.text import LineIndex

# Characters str.splitlines() treats as line breaks besides "\n" -> one visible code point each.
_EXTRA_BREAKS = {
    "\x0b": "\u240b",  # ␋ vertical tab
    "\x0c": "\u240c",  # ␌ form feed (Word page breaks)
    "\x1c": "\u241c",  # ␜
    "\x1d": "\u241d",  # ␝
    "\x1e": "\u241e",  # ␞
    "\x85": "\u2424",  # ␤ NEL (never in canonical text, kept safe anyway)
    "\u2028": "\u2424",
    "\u2029": "\u2424",
    "\r": "\u240d",  # ␍
}
_TABLE = str.maketrans(_EXTRA_BREAKS)


def display_text(text: str) -> str:
    """The text the widget shows: same length and same ``\\n`` positions as ``text``."""
    return text.translate(_TABLE)


class OffsetMap:
    """(row, column) <-> code-point offset for one document, clamping widget locations.

    A TextArea location may sit one column past the end of a line (the cursor cell); that maps
    to the offset of the line's ``\\n`` (or the end of the text), which is what a span end means.
    """

    def __init__(self, text: str) -> None:
        self.index = LineIndex(text)
        self.length = len(text)

    @property
    def line_count(self) -> int:
        return self.index.line_count

    def to_offset(self, location: tuple[int, int]) -> int:
        row, col = location
        last = self.index.line_count - 1
        if row > last:
            return self.length
        row = max(row, 0)
        col = max(0, min(col, self.index.line_length(row)))
        return self.index.to_offset(row, col)

    def to_location(self, offset: int) -> tuple[int, int]:
        return self.index.to_location(max(0, min(offset, self.length)))

    def span(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        """Ordered (start, end) offsets of a selection given as two locations."""
        x, y = self.to_offset(a), self.to_offset(b)
        return (x, y) if x <= y else (y, x)

    def line_start(self, row: int) -> int:
        return self.index.line_starts[row]

    def line_end(self, row: int) -> int:
        return self.index.line_starts[row] + self.index.line_length(row)
