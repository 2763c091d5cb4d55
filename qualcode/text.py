"""Canonical text and the offset convention shared by every part of qualcode.

Canonical text = decoded text with the BOM stripped and every line ending (CRLF, CR, U+2028,
U+2029, NEL) turned into ``\\n``; nothing else is touched (no quote fixing, NBSP kept).
Positions everywhere are code-point indices into it. Widgets and exchange formats convert at
their own edges using ``LineIndex``.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_LINE_BREAKS = re.compile("\r\n|\r|\u2028|\u2029|\u0085")
# Possessive: a word never gives back letters, so the engine keeps no backtracking state
# (~20 % faster on a 1,000-transcript import, same matches).
_WORD_PATTERN = r"\w+(?:['’\-]\w+)*"
try:
    _WORD = re.compile(r"\w++(?:['’\-]\w++)*+")
except re.error:  # Python 3.10: no possessive quantifiers
    _WORD = re.compile(_WORD_PATTERN)


def _has_line_break_to_fix(text: str) -> bool:
    # Substring tests run far faster than the regex over a transcript, and in a one-byte
    # (Latin-1) string the two non-Latin-1 separators cannot occur, so those tests cost nothing.
    return "\r" in text or "\x85" in text or "\u2028" in text or "\u2029" in text


def canonicalise(text: str) -> str:
    """Return ``text`` in canonical form (BOM stripped, all line endings ``\\n``)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _LINE_BREAKS.sub("\n", text) if _has_line_break_to_fix(text) else text


def is_canonical(text: str) -> bool:
    return not text.startswith("\ufeff") and not _has_line_break_to_fix(text)


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of letters/digits, with inner apostrophes and hyphens."""
    # subn counts in C; iterating finditer built a match object per word (~1 s of a
    # 1,000-transcript import).
    return _WORD.subn("", text)[1]


def words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


class LineIndex:
    """Convert between code-point offsets and (row, column) pairs of a text, both 0-based.

    Built once per text (O(n)); each conversion is O(log lines) with ``bisect``.
    """

    def __init__(self, text: str) -> None:
        self.text_length = len(text)
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.line_starts = starts

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_length(self, row: int) -> int:
        start = self.line_starts[row]
        if row + 1 < len(self.line_starts):
            return self.line_starts[row + 1] - 1 - start
        return self.text_length - start

    def to_location(self, offset: int) -> tuple[int, int]:
        if not 0 <= offset <= self.text_length:
            raise ValueError(f"offset {offset} outside 0..{self.text_length}")
        row = bisect_right(self.line_starts, offset) - 1
        return row, offset - self.line_starts[row]

    def to_offset(self, row: int, column: int) -> int:
        if not 0 <= row < len(self.line_starts):
            raise ValueError(f"row {row} outside 0..{len(self.line_starts) - 1}")
        if not 0 <= column <= self.line_length(row):
            raise ValueError(f"column {column} outside line {row}")
        return self.line_starts[row] + column


_WHITESPACE = re.compile(r"\s+")


def context(text: str, start: int, end: int, width: int = 40) -> tuple[str, str, str]:
    """Keyword-in-context pieces (left, match, right), each on one line.

    Runs of whitespace (line breaks included) become one space, and the space next to the
    match is kept, so ``left + match + right`` reads as the text does ("the [pacing], that").
    """
    left = _WHITESPACE.sub(" ", text[max(0, start - width) : start]).lstrip()
    right = _WHITESPACE.sub(" ", text[end : end + width]).rstrip()
    return left, " ".join(text[start:end].split()), right
