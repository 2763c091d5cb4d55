"""(row, col) <-> offset at the widget boundary, property-tested against the canonical text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.document._document import Document

from qualcode.text import LineIndex, canonicalise
from tui.textmap import OffsetMap, display_text

# Text with the characters that trip line splitting and cell widths: emoji (incl. ZWJ pieces and
# flags), CJK, combining marks, NBSP, tabs, form feeds and other str.splitlines() separators.
ALPHABET = st.sampled_from(list("ab z\n\n\t.") + ["😀", "👍🏽", "\u200d", "🇬🇧", "中", "文", "é", "e\u0301",
                                                  "\u00a0", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\u2028",
                                                  "\x85", "\r\n", "\r"])
TEXTS = st.lists(ALPHABET, max_size=80).map(lambda parts: canonicalise("".join(parts)))


@given(TEXTS)
def test_display_text_keeps_length_and_line_breaks(text):
    shown = display_text(text)
    assert len(shown) == len(text)
    assert [i for i, ch in enumerate(shown) if ch == "\n"] == [i for i, ch in enumerate(text) if ch == "\n"]
    # Textual's Document splits the shown text into exactly the canonical text's lines.
    assert Document(shown).lines == shown.split("\n")
    assert [len(line) for line in Document(shown).lines] == [len(line) for line in text.split("\n")]


@given(TEXTS, st.data())
def test_offset_location_round_trip_matches_the_widget_document(text, data):
    omap = OffsetMap(text)
    doc = Document(display_text(text))
    offset = data.draw(st.integers(0, len(text)))
    row, col = omap.to_location(offset)
    assert omap.to_offset((row, col)) == offset
    assert (row, col) == LineIndex(text).to_location(offset)
    line = doc.get_line(row)
    if col < len(line):  # the widget shows the very character the offset names
        assert line[col] == display_text(text)[offset]
    else:  # end of a line: the offset is the "\n" (or the end of the text)
        assert offset == len(text) or text[offset] == "\n"
    # The widget's own text range between two locations is the canonical slice.
    other = data.draw(st.integers(0, len(text)))
    a, b = sorted((offset, other))
    assert doc.get_text_range(omap.to_location(a), omap.to_location(b)) == display_text(text)[a:b]
    assert omap.span(omap.to_location(b), omap.to_location(a)) == (a, b)


@settings(max_examples=50)
@given(TEXTS, st.integers(-3, 100), st.integers(-3, 300))
def test_out_of_range_locations_clamp_inside_the_text(text, row, col):
    offset = OffsetMap(text).to_offset((row, col))
    assert 0 <= offset <= len(text)
