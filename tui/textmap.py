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

import unicodedata

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


# -- grapheme clusters ------------------------------------------------------------------------------
# The cursor and the selection move by user-perceived character (extended grapheme cluster, UAX #29,
# simplified), so shift+arrow never splits 👍🏽, a ZWJ family, a flag or e + combining accent. Offsets
# stay code points: these functions only say where a cluster boundary is. No dependency offers this
# (``regex`` is not installed; Rich's ``split_graphemes`` misses flags and Hangul), so the rules are
# here: GB6-8 (Hangul jamo), GB9/9a (extend, ZWJ, spacing marks), GB11 (emoji ZWJ sequences),
# GB12/13 (regional-indicator pairs). Clusters never cross a line break.

_ZWJ = "\u200d"


def _is_extend(ch: str) -> bool:
    """Grapheme_Cluster_Break Extend / ZWJ / SpacingMark, near enough (GB9, GB9a)."""
    o = ord(ch)
    if o < 0x300:
        return False
    if ch == _ZWJ or 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF:  # ZWJ, variation selectors
        return True
    if 0x1F3FB <= o <= 0x1F3FF or 0xE0020 <= o <= 0xE007F:  # skin tones, emoji tag sequences
        return True
    if o == 0x200C:  # ZWNJ is Extend
        return True
    return unicodedata.category(ch) in ("Mn", "Me", "Mc")


def _is_pictographic(ch: str) -> bool:
    """Extended_Pictographic, near enough: the emoji blocks and the older symbols used as emoji."""
    o = ord(ch)
    return (0x1F000 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF or 0x2300 <= o <= 0x23FF
            or 0x2B00 <= o <= 0x2BFF or 0x2190 <= o <= 0x21FF or o in (0xA9, 0xAE, 0x203C, 0x2049,
                                                                         0x2122, 0x2139, 0x3030, 0x303D,
                                                                         0x3297, 0x3299))


def _is_ri(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _hangul(ch: str) -> str:
    o = ord(ch)
    if 0x1100 <= o <= 0x115F or 0xA960 <= o <= 0xA97C:
        return "L"
    if 0x1160 <= o <= 0x11A7 or 0xD7B0 <= o <= 0xD7C6:
        return "V"
    if 0x11A8 <= o <= 0x11FF or 0xD7CB <= o <= 0xD7FB:
        return "T"
    if 0xAC00 <= o <= 0xD7A3:
        return "LV" if (o - 0xAC00) % 28 == 0 else "LVT"
    return ""


def is_boundary(text: str, i: int) -> bool:
    """Is there a grapheme-cluster boundary before ``text[i]``?"""
    if i <= 0 or i >= len(text):
        return True
    prev, ch = text[i - 1], text[i]
    if prev == "\n" or ch == "\n":
        return True
    if _is_extend(ch):
        return False
    if prev == _ZWJ and _is_pictographic(ch):
        return False
    if _is_ri(prev) and _is_ri(ch):
        n = 0
        j = i - 1
        while j >= 0 and _is_ri(text[j]):
            n += 1
            j -= 1
        return n % 2 == 0
    hp, hc = _hangul(prev), _hangul(ch)
    if hp and hc:
        if hp == "L" and hc in ("L", "V", "LV", "LVT"):
            return False
        if hp in ("LV", "V") and hc in ("V", "T"):
            return False
        if hp in ("LVT", "T") and hc == "T":
            return False
    return True


def next_boundary(text: str, i: int) -> int:
    """The first cluster boundary after ``i`` (``len(text)`` at the end)."""
    n = len(text)
    i += 1
    while i < n and not is_boundary(text, i):
        i += 1
    return min(i, n)


def previous_boundary(text: str, i: int) -> int:
    """The last cluster boundary before ``i`` (0 at the start)."""
    i -= 1
    while i > 0 and not is_boundary(text, i):
        i -= 1
    return max(i, 0)


def floor_boundary(text: str, i: int) -> int:
    """``i`` if it is a boundary, else the start of the cluster it is inside."""
    return i if is_boundary(text, i) else previous_boundary(text, i)


def ceil_boundary(text: str, i: int) -> int:
    """``i`` if it is a boundary, else the end of the cluster it is inside."""
    return i if is_boundary(text, i) else next_boundary(text, i)


def clusters(text: str) -> list[str]:
    """``text`` cut into grapheme clusters (for tests and for the few short strings that need it)."""
    out, i = [], 0
    while i < len(text):
        j = next_boundary(text, i)
        out.append(text[i:j])
        i = j
    return out
