"""CodingIndex: painted segments, lookups and incremental updates agree with brute force."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.highlight import CodingIndex, Span
from tui.textmap import OffsetMap

TEXT = "Interviewer: so how was it?\n\nP1: It was like falling off a cliff edge 😀.\nShort.\n\n中文 line\n"


def spans_strategy(text: str):
    n = len(text)

    def make(items):
        out = []
        for i, (a, b, code, coder) in enumerate(items):
            s, e = sorted((a, b))
            if e > s:
                out.append(Span(i + 1, code, f"code{code}", coder, s, e))
        return out

    return st.lists(st.tuples(st.integers(0, n), st.integers(0, n), st.integers(1, 4),
                              st.sampled_from(["Amira", "Ben"])), max_size=12).map(make)


def brute(text: str, spans, visible=None):
    """offset -> set of covering coding ids, for characters that are not line breaks."""
    return {i: {s.id for s in spans if s.start <= i < s.end and (visible is None or s.coder in visible)}
            for i, ch in enumerate(text) if ch != "\n"}


def painted(index: CodingIndex, text: str):
    omap = index.omap
    out = {}
    for i, ch in enumerate(text):
        if ch == "\n":
            continue
        row, col = omap.to_location(i)
        ids = set()
        for c0, c1, seg_ids in index.segments(row):
            if c0 <= col < c1:
                ids = set(seg_ids)
        out[i] = ids
    return out


@settings(max_examples=150)
@given(spans_strategy(TEXT), st.sampled_from([None, frozenset({"Amira"}), frozenset({"Ben"})]))
def test_segments_paint_exactly_the_covered_characters(spans, visible):
    index = CodingIndex(OffsetMap(TEXT))
    index.load(spans, visible)
    assert painted(index, TEXT) == brute(TEXT, spans, visible)
    for row in range(index.omap.line_count):  # segments never overlap, innermost first
        segs = index.segments(row)
        for (a0, a1, ids), (b0, _b1, _ids) in zip(segs, segs[1:]):
            assert a1 <= b0
        for _c0, _c1, ids in segs:
            lengths = [index.spans[i].length for i in ids]
            assert lengths == sorted(lengths)


@settings(max_examples=150)
@given(spans_strategy(TEXT), spans_strategy(TEXT), st.data())
def test_incremental_updates_equal_a_rebuild(first, second, data):
    index = CodingIndex(OffsetMap(TEXT))
    index.load(first)
    for s in first[: len(first) // 2]:
        index.remove(s.id)
    for s in second:
        index.add(Span(s.id + 100, s.code_id, s.code, s.coder, s.start, s.end))
    index.set_visible(frozenset({"Ben"}))
    index.set_visible(None)
    expected = first[len(first) // 2:] + [Span(s.id + 100, s.code_id, s.code, s.coder, s.start, s.end)
                                           for s in second]
    fresh = CodingIndex(OffsetMap(TEXT))
    fresh.load(expected)
    assert painted(index, TEXT) == painted(fresh, TEXT)
    offset = data.draw(st.integers(0, len(TEXT) - 1))
    assert {s.id for s in index.at(offset)} == {s.id for s in expected if s.start <= offset < s.end}
    nxt = index.next_after(offset)
    later = [s for s in expected if s.start > offset]
    assert (nxt.start if nxt else None) == (min(s.start for s in later) if later else None)
    prev = index.previous_before(offset)
    earlier = [s for s in expected if s.start < offset]
    assert (prev.start if prev else None) == (max(s.start for s in earlier) if earlier else None)
    a, b = sorted(data.draw(st.tuples(st.integers(0, len(TEXT)), st.integers(0, len(TEXT)))))
    assert index.covers(a, b) == any(s.start < b and s.end > a for s in expected)
    # replace_all converges to the same picture
    index.replace_all(first)
    fresh.load(first)
    assert painted(index, TEXT) == painted(fresh, TEXT)
