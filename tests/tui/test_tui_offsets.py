"""(row, col) <-> offset at the widget boundary, property-tested against the canonical text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.document._document import Document

from qualcode.text import LineIndex, canonicalise
from tui.textmap import (
    OffsetMap,
    ceil_boundary,
    clusters,
    display_text,
    floor_boundary,
    is_boundary,
    next_boundary,
    previous_boundary,
)

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


# -- grapheme clusters: selection never splits what a reader sees as one character ---------------
# Each atom is one user-perceived character, whatever its neighbours (among these atoms).
ATOMS = ["a", "b", " ", ".", "\n", "😀", "👍🏽", "👩🏽\u200d💻", "👨\u200d👩\u200d👧\u200d👦", "🇬🇧", "🇫🇷",
         "e\u0301", "1\ufe0f\u20e3", "❤\ufe0f", "中", "\u1100\u1161\u11a8", "한", "ก่",
         "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "\u00a0"]
ATOM_LISTS = st.lists(st.sampled_from(ATOMS), max_size=40)
# Any code points, tricky ones over-represented: lone modifiers, joiners, indicators, jamo.
ANY_TEXT = st.text(st.one_of(st.sampled_from(list("a \n") + ["\u200d", "\ufe0f", "\U0001f3fd", "\u0301", "🇬",
                                                         "🇧", "👍", "\u1100", "\u1161", "\u11a8", "\uac00"]),
                             st.characters(blacklist_categories=("Cs",))), max_size=40)


def boundaries(text: str) -> list[int]:
    out, i = [0], 0
    while i < len(text):
        i = next_boundary(text, i)
        out.append(i)
    return out


@given(ATOM_LISTS)
def test_clusters_are_the_atoms(atoms):
    text = "".join(atoms)
    assert clusters(text) == atoms


@given(ANY_TEXT)
def test_boundaries_are_consistent(text):
    marks = boundaries(text)
    assert marks == sorted(set(marks)) and marks[-1] == len(text)
    assert marks == [i for i in range(len(text) + 1) if is_boundary(text, i)]
    assert "".join(clusters(text)) == text
    for before, after in zip(marks, marks[1:]):
        assert previous_boundary(text, after) == before
    for i in range(len(text) + 1):
        lo, hi = floor_boundary(text, i), ceil_boundary(text, i)
        assert lo <= i <= hi and lo in marks and hi in marks
        assert not [m for m in marks if lo < m < hi]
    for i, ch in enumerate(text):
        if i and text[i - 1] != "\n" and ch in "\u200d\ufe0f\U0001f3fd\u0301":
            assert not is_boundary(text, i)  # never before a joiner, selector, skin tone, accent


@settings(max_examples=60)
@given(ATOM_LISTS, st.data())
def test_a_selection_holds_whole_clusters_and_shift_right_moves_by_one(atoms, data):
    from textual.widgets.text_area import Selection

    from tui.widgets.transcript import TranscriptView

    text = canonicalise("".join(atoms))
    view = TranscriptView()
    view.load_document(text)
    marks = boundaries(text)
    a, b = sorted((data.draw(st.integers(0, len(text))), data.draw(st.integers(0, len(text)))))
    view.selection = Selection(view.omap.to_location(a), view.omap.to_location(b))
    s, e = view.selection_span
    if a == b:
        assert (s, e) == (a, b)
    else:  # widened to whole clusters, never narrowed
        assert s in marks and e in marks and s <= a and b <= e
        assert not [m for m in marks if s < m <= a] and not [m for m in marks if b <= m < e]
    # the cursor walks the boundaries, one per press, both ways
    view.selection = Selection.cursor((0, 0))
    seen = [0]
    while seen[-1] < len(text):
        view.selection = Selection.cursor(view.get_cursor_right_location())
        seen.append(view.cursor_offset)
    assert seen == marks
    back = [len(text)]
    while back[-1] > 0:
        view.selection = Selection.cursor(view.get_cursor_left_location())
        back.append(view.cursor_offset)
    assert back == marks[::-1]
