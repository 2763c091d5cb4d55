"""Canonical text and the offset <-> (row, column) conversion every widget relies on."""

from hypothesis import given
from hypothesis import strategies as st

from qualcode.text import LineIndex, canonicalise, context, is_canonical, word_count

texts = st.text(alphabet=st.sampled_from(list("ab \n😀漢\u00a0’é")), max_size=300)


def test_canonicalise_strips_bom_and_normalises_every_line_ending_only():
    raw = "\ufeffa\r\nb\rc\u2028d\u2029e\x85f\u00a0“g”"
    assert canonicalise(raw) == "a\nb\nc\nd\ne\nf\u00a0“g”"
    assert is_canonical(canonicalise(raw))
    assert not is_canonical("a\r\nb")


@given(st.text(max_size=200))
def test_canonicalise_is_idempotent(raw):
    once = canonicalise(raw)
    assert canonicalise(once) == once and is_canonical(once)


@given(st.text(alphabet=st.sampled_from(list("a\r\n\x85\u2028\u2029\ufeff é漢")), max_size=60))
def test_canonical_form_is_the_line_break_rule_whatever_the_shortcut(raw):
    import re

    body = raw[1:] if raw.startswith("\ufeff") else raw
    assert canonicalise(raw) == re.sub("\r\n|\r|\u2028|\u2029|\x85", "\n", body)
    assert is_canonical(raw) == (raw == canonicalise(raw) and not raw.startswith("\ufeff"))


@given(texts, st.data())
def test_line_index_round_trips_every_offset(text, data):
    index = LineIndex(text)
    offset = data.draw(st.integers(0, len(text)))
    row, col = index.to_location(offset)
    assert index.to_offset(row, col) == offset
    lines = text.split("\n")
    assert index.line_count == len(lines)
    assert lines[row][:col] == text[index.line_starts[row]:offset]


def test_line_index_counts_code_points_not_utf16_units():
    text = "😀a\n漢字b"
    index = LineIndex(text)
    assert index.to_location(text.index("a")) == (0, 1)
    assert index.to_location(text.index("b")) == (1, 2)


def test_word_count_keeps_contractions_and_hyphens_whole():
    # I / don't / know / it's / a / well-being / thing / 50 / times
    assert word_count("I don't know—it's a well-being thing, 50 times.") == 9


@given(st.text(alphabet=st.sampled_from(list("ab1_ '’-—\n\u0301é漢😀")), max_size=200))
def test_word_pattern_finds_the_words_of_the_plain_pattern(text):
    # The fast (possessive) pattern must find exactly what the readable one does.
    import re

    from qualcode.text import _WORD_PATTERN, words

    plain = [(m.start(), m.end()) for m in re.finditer(_WORD_PATTERN, text)]
    assert [(m.start(), m.end()) for m in words(text)] == plain
    assert word_count(text) == len(plain)


def test_keyword_in_context_keeps_the_space_beside_the_match():
    text = "The\npacing , that was\n\n  massive.   Pacing!"
    start = text.index("pacing")
    left, match, right = context(text, start, start + 6, width=12)
    assert (left, match, right) == ("The ", "pacing", " , that was")
    start = text.rindex("Pacing")
    assert context(text, start, start + 6, width=11) == ("massive. ", "Pacing", "!")
    assert context("a  b", 0, 1, width=2) == ("", "a", "")  # outer ends are trimmed
    assert context("a  b", 0, 1, width=3) == ("", "a", " b")
