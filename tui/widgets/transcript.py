"""``TranscriptView``: the whole transcript in ONE read-only TextArea, codings painted in colour.

* Text: ``display_text`` of the canonical text, so (row, column) here == ``LineIndex`` (row, col)
  of the canonical text and offsets convert exactly (``self.omap``).
* Colour: ``get_line`` (the TextArea hook for styling a line) paints the pre-computed segments of
  ``CodingIndex`` for that row only; Textual renders (and caches) just the visible rows, so the
  cost of a keypress is independent of the document's length.
* Gutter: the TextArea's own gutter mechanics (mouse mapping, wrap width, cursor offset all use
  ``gutter_width``) with our content: the turn's start time, its participant label once the
  speaker is mapped (the text keeps the label as spoken), and a colour mark per code on the line.

No study access here: the coding screen feeds text, turns and spans in and reads offsets out.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color
from textual.document._wrapped_document import WrappedDocument
from textual.reactive import Reactive, reactive
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from tui.highlight import CodingIndex, Span
from tui.textmap import OffsetMap, ceil_boundary, display_text, floor_boundary, next_boundary, previous_boundary

# Navigation and selection keys of TextArea; editing keys (undo, cut, paste, delete ...) are left
# out so that they reach the app (ctrl+z is the study's undo here).
_KEEP = {
    "cursor_up", "cursor_down", "cursor_left", "cursor_right", "cursor_word_left",
    "cursor_word_right", "cursor_line_start", "cursor_line_end", "cursor_page_up",
    "cursor_page_down", "cursor_word_left(True)", "cursor_word_right(True)",
    "cursor_line_start(True)", "cursor_line_end(True)", "cursor_up(True)", "cursor_down(True)",
    "cursor_left(True)", "cursor_right(True)", "copy",
}
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n")
MARKS = 2  # colour marks in the gutter (codes on the line)
LABEL_WIDTH = 6  # participant labels in the gutter are cut to this


def format_ms(ms: int) -> str:
    seconds = ms // 1000
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def word_span(text: str, offset: int, lo: int = 0, hi: int | None = None) -> tuple[int, int] | None:
    """The word at (or just after) ``offset`` within lo:hi."""
    hi = len(text) if hi is None else hi
    line_start = text.rfind("\n", lo, offset) + 1 if offset > lo else lo
    line_start = max(line_start, lo)
    for m in _WORD.finditer(text, line_start, hi):
        if m.end() > offset:
            return m.start(), m.end()
    return None


def sentence_span(text: str, offset: int, lo: int, hi: int) -> tuple[int, int] | None:
    """The sentence around ``offset`` inside lo:hi (a turn), leading/trailing spaces trimmed."""
    if hi <= lo:
        return None
    offset = max(lo, min(offset, hi - 1))
    start = lo
    for m in _SENTENCE_END.finditer(text, lo, hi):
        if m.end() <= offset:
            start = m.end()
        else:
            end = m.end() if m.group() != "\n" else m.start()
            break
    else:
        end = hi
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


class _Wrapped(WrappedDocument):
    """``WrappedDocument`` whose height is remembered between wraps.

    TextArea asks for the height once per rendered row, and WrappedDocument sums over every line
    of the document to answer: O(document) per row. The text here never changes between wraps.
    """

    _height: int | None = None

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        self._height = None
        super().wrap(width, tab_width)

    def wrap_range(self, *args, **kwargs):  # pragma: no cover - read-only widget, kept correct
        self._height = None
        return super().wrap_range(*args, **kwargs)

    @property
    def height(self) -> int:
        if self._height is None:
            self._height = super().height
        return self._height


class TranscriptView(TextArea, inherit_bindings=False):
    BINDINGS = [b for b in TextArea.BINDINGS if isinstance(b, Binding) and b.action in _KEEP]

    DEFAULT_CSS = """
    TranscriptView { border: none; padding: 0; overflow-y: scroll; }
    TranscriptView:focus { border: none; }
    """

    # TextArea repaints the whole widget whenever the selection changes; a bare cursor moving
    # needs only its old and new rows (see ``_watch_selection``), which keeps a move in one frame.
    selection: Reactive[Selection] = reactive(Selection(), init=False, always_update=True, repaint=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        self.source = ""
        self.omap = OffsetMap("")
        self.index = CodingIndex(self.omap)
        self.colours: dict[int, str] = {}
        self.turn_starts: list[int] = []
        self.turn_ends: list[int] = []
        self._stamps: dict[int, str] = {}  # row -> start time of the turn starting there
        self._stamp_width = 0
        self._labels: dict[int, str] = {}  # row -> participant label of the turn starting there
        self._label_width = 0
        self._styles: dict[tuple, Style] = {}
        self._versions: dict[int, int] = {}  # row -> paint version, part of the line cache key
        super().__init__("", read_only=True, soft_wrap=True, show_line_numbers=False,
                         highlight_cursor_line=False, tab_behavior="focus", id=id, classes=classes)

    # -- loading -----------------------------------------------------------------------------
    def load_document(self, text: str, turns: Sequence = (), spans: Iterable[Span] = (),
                      colours: dict[int, str] | None = None,
                      visible_coders: frozenset[str] | None = None) -> None:
        self.source = text
        self.omap = OffsetMap(text)
        self.index = CodingIndex(self.omap)
        self.index.load(spans, visible_coders)
        self.colours = dict(colours or {})
        self.turn_starts = [t.start for t in turns]
        self.turn_ends = [t.end for t in turns]
        stamps: dict[int, str] = {}
        labels: dict[int, str] = {}
        for t in turns:
            row = self.omap.to_location(t.start)[0]
            if t.start_ms is not None:
                stamps.setdefault(row, format_ms(t.start_ms))
            participant = getattr(t, "participant", None)
            if participant and participant != t.speaker:  # the mapped label, when the text has a name
                labels.setdefault(row, participant[:LABEL_WIDTH])
        self._stamps = stamps
        self._stamp_width = max((len(s) for s in stamps.values()), default=-1) + 1
        self._labels = labels
        self._label_width = max((len(s) for s in labels.values()), default=-1) + 1
        self._styles.clear()
        self._versions.clear()
        self.load_text(display_text(text))

    # -- offsets -----------------------------------------------------------------------------
    @property
    def cursor_offset(self) -> int:
        return self.omap.to_offset(self.cursor_location)

    @property
    def selection_span(self) -> tuple[int, int]:
        """The selection as code-point offsets, widened to whole grapheme clusters (a selection
        made by any means never splits 👍🏽 or a ZWJ sequence)."""
        start, end = self.selection
        s, e = self.omap.span(start, end)
        if s == e:
            return s, e
        return self._snap(s, floor_boundary), self._snap(e, ceil_boundary)

    def _snap(self, offset: int, how) -> int:
        row, col = self.omap.to_location(offset)
        line = self.document.get_line(row) if row < self.document.line_count else ""
        return offset - col + how(line, col)

    # -- cursor moves by grapheme cluster (offsets stay code points) ----------------------------
    def _cluster_location(self, location: tuple[int, int], how=floor_boundary) -> tuple[int, int]:
        row, col = location
        if row >= self.document.line_count:
            return location
        return row, how(self.document.get_line(row), col)

    def get_cursor_left_location(self) -> tuple[int, int]:
        row, col = self.cursor_location
        if col == 0 or row >= self.document.line_count:
            return super().get_cursor_left_location()
        return row, previous_boundary(self.document.get_line(row), col)

    def get_cursor_right_location(self) -> tuple[int, int]:
        row, col = self.cursor_location
        if row >= self.document.line_count:
            return super().get_cursor_right_location()
        line = self.document.get_line(row)
        if col >= len(line):
            return super().get_cursor_right_location()
        return row, next_boundary(line, col)

    def get_cursor_up_location(self) -> tuple[int, int]:
        return self._cluster_location(super().get_cursor_up_location())

    def get_cursor_down_location(self) -> tuple[int, int]:
        return self._cluster_location(super().get_cursor_down_location())

    def get_target_document_location(self, event) -> tuple[int, int]:
        return self._cluster_location(super().get_target_document_location(event))

    def select_span(self, start: int, end: int, scroll: bool = True) -> None:
        self.selection = Selection(self.omap.to_location(start), self.omap.to_location(end))
        if scroll:
            self.scroll_cursor_visible(center=True)

    def move_to(self, offset: int) -> None:
        self.move_cursor(self.omap.to_location(offset), center=True)

    # -- turn / word / sentence geometry -------------------------------------------------------
    def turn_index_at(self, offset: int) -> int | None:
        i = bisect_right(self.turn_starts, offset) - 1
        if i < 0:
            return 0 if self.turn_starts and offset < self.turn_starts[0] else None
        return i

    def turn_bounds(self, offset: int) -> tuple[int, int]:
        """The turn around ``offset`` (its spoken text, label excluded); on a speaker label, the
        turn it introduces; elsewhere (a heading, no turns) the line."""
        starts, ends = self.turn_starts, self.turn_ends
        row = self.omap.to_location(offset)[0]
        if starts:
            i = bisect_right(starts, offset) - 1
            if i >= 0 and starts[i] <= offset <= ends[i]:
                return starts[i], ends[i]
            if i + 1 < len(starts) and self.omap.to_location(starts[i + 1])[0] == row:
                return starts[i + 1], ends[i + 1]
        return self.omap.line_start(row), self.omap.line_end(row)

    def select_word(self) -> bool:
        s, e = self.selection_span
        if s != e:  # extend to the next word
            found = word_span(self.source, e)
            if found:
                self.select_span(s, found[1], scroll=False)
                return True
            return False
        found = word_span(self.source, s)
        if found:
            self.select_span(*found, scroll=False)
        return found is not None

    def select_sentence(self) -> bool:
        s, e = self.selection_span
        lo, hi = self.turn_bounds(e if s == e else max(s, e - 1))
        if s != e:  # extend to the end of the next sentence
            nxt = e
            while nxt < len(self.source) and self.source[nxt].isspace():
                nxt += 1
            lo2, hi2 = self.turn_bounds(nxt) if nxt < len(self.source) else (lo, hi)
            found = sentence_span(self.source, nxt, lo2, hi2) if nxt < len(self.source) else None
            if found:
                self.select_span(s, max(e, found[1]), scroll=False)
            return found is not None
        found = sentence_span(self.source, s, lo, hi)
        if found:
            self.select_span(*found, scroll=False)
        return found is not None

    def select_turn(self) -> bool:
        """Select the turn at the cursor; with a selection, extend it to the end of its turn, or
        over the next turn when it already ends a turn."""
        s, e = self.selection_span
        if s == e:
            lo, hi = self.turn_bounds(s)
        else:
            starts, ends = self.turn_starts, self.turn_ends
            lo, hi = s, e
            i = bisect_right(starts, e - 1) - 1  # the turn holding the selection's last character
            if i >= 0 and ends[i] > e:
                hi = ends[i]
            else:
                j = bisect_left(starts, e)
                if j < len(starts):
                    hi = ends[j]
        if hi > lo:
            self.select_span(lo, hi, scroll=False)
            return True
        return False

    # -- codings -----------------------------------------------------------------------------
    def set_colours(self, colours: dict[int, str]) -> None:
        self.colours = dict(colours)
        self._styles.clear()
        self.repaint()

    def repaint(self, rows: Iterable[int] | None = None) -> None:
        """Re-render after codings changed: the given rows (default all); only what is on screen
        is ever rendered, and rows not named keep their cached strips."""
        if rows is None:
            self._line_cache.clear()
        else:
            versions = self._versions
            for row in rows:
                versions[row] = versions.get(row, 0) + 1
        self.refresh()

    def update_spans(self, spans: Iterable[Span], code_id: int | None = None, coder: str | None = None) -> None:
        """Replace the codings (optionally of one code / coder only); repaint what changed."""
        spans = list(spans)
        if code_id is None and coder is None:
            rows = self.index.replace_all(spans)
        else:
            keep = [s for s in self.index.spans.values()
                    if not ((code_id is None or s.code_id == code_id) and (coder is None or s.coder == coder))]
            rows = self.index.replace_all(keep + spans)
        if rows:
            self.repaint(rows)

    def set_visible_coders(self, coders: frozenset[str] | None) -> None:
        self.repaint(self.index.set_visible(coders))

    # -- painting ----------------------------------------------------------------------------
    def _set_document(self, text: str, language: str | None) -> None:
        super()._set_document(text, language)
        self.wrapped_document.__class__ = _Wrapped  # same object, cached height
        self.wrapped_document._height = None

    def render_line(self, y: int) -> Strip:
        # TextArea.render_line minus its placeholder check, which joins the whole document
        # (``self.text``) for every row rendered.
        # The cache key names the selection/cursor only for rows of the document lines they touch,
        # so moving the cursor re-renders those rows, not the whole screen.
        scroll_x, scroll_y = self.scroll_offset
        absolute_y = scroll_y + y
        try:
            line_index, section = self.wrapped_document._offset_to_line_info[absolute_y]
        except IndexError:
            line_index, section = -1, 0
        selection = self.selection
        (top_row, _), (bottom_row, _) = sorted(selection)
        cursor_row, cursor_col = selection.end
        if selection.start == selection.end:
            # A bare cursor marks one wrapped row of its line (two at a wrap point), so a cursor
            # moving through a long paragraph repaints two rows, not the whole paragraph.
            touched = line_index == cursor_row and self._section_holds(line_index, section, cursor_col)
        else:
            touched = top_row <= line_index <= bottom_row or line_index == cursor_row
        cache_key = (
            self.size, scroll_x, absolute_y, line_index, self._versions.get(line_index, 0),
            (selection, self._cursor_visible) if touched else None,
            self.theme, self.has_focus, self.show_cursor,
        )
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        line = self._render_line(y)
        self._line_cache[cache_key] = line
        return line

    def _watch_selection(self, previous: Selection, selection: Selection) -> None:
        if not self.is_mounted:
            return
        wrapped = self.wrapped_document
        try:
            old_y = wrapped.location_to_offset(previous.end).y
        except (IndexError, ValueError):
            old_y = None
        super()._watch_selection(previous, selection)
        if old_y is None or previous.start != previous.end or selection.start != selection.end:
            self.refresh()
            return
        new_y = self._cursor_offset[1]
        for y in {old_y, new_y}:  # one row either side: a cursor at a wrap point marks both
            self.refresh_lines(max(y - 1, 0), 3)

    def _section_holds(self, line_index: int, section: int, column: int) -> bool:
        offsets = self.wrapped_document.get_offsets(line_index)
        start = offsets[section - 1] if section > 0 else 0
        end = offsets[section] if section < len(offsets) else None
        return start <= column and (end is None or column <= end)

    def _style(self, ids: tuple[int, ...]) -> Style:
        spans = self.index.spans
        inner = spans[ids[0]]
        several = len({spans[i].code_id for i in ids}) > 1
        theme = self._theme
        base_bg = theme.base_style.bgcolor if theme and theme.base_style else None
        key = (inner.code_id, several, base_bg)
        style = self._styles.get(key)
        if style is None:
            colour = Color.parse(self.colours.get(inner.code_id, "#888888"))
            background = Color.from_rich_color(base_bg) if base_bg else Color(30, 30, 30)
            tint = background.blend(colour, 0.55)
            style = Style(bgcolor=tint.rich_color, color=tint.get_contrast_text(0.95).rich_color,
                          underline=several)
            self._styles[key] = style
        return style

    def get_line(self, line_index: int) -> Text:
        line = Text(self.document.get_line(line_index), end="", no_wrap=True)
        for c0, c1, ids in self.index.segments(line_index):
            line.stylize(self._style(ids), c0, c1)
        return line

    @property
    def gutter_width(self) -> int:
        return self._stamp_width + self._label_width + MARKS + 1

    def _render_line(self, y: int) -> Strip:
        strip = super()._render_line(y)
        y_offset = y + self.scroll_offset.y
        try:
            row, section = self.wrapped_document._offset_to_line_info[y_offset]
        except IndexError:
            return strip
        theme = self._theme
        gutter_style = (theme.gutter_style if theme else None) or Style()
        base_style = theme.base_style if theme and theme.base_style else Style()
        segments = []
        if self._stamp_width:
            stamp = self._stamps.get(row, "") if section == 0 else ""
            segments.append(Segment(f"{stamp:>{self._stamp_width - 1}} ", gutter_style))
        if self._label_width:
            label = self._labels.get(row, "") if section == 0 else ""
            segments.append(Segment(f"{label:<{self._label_width - 1}} ", gutter_style + Style(bold=True)))
        codes: list[int] = []
        for span in self.index.on_row(row):
            if span.code_id not in codes:
                codes.append(span.code_id)
        for i in range(MARKS):
            if i < len(codes):
                colour = self.colours.get(codes[i], "#888888")
                segments.append(Segment("▐" if i else "▌", Style(color=colour) + Style(bgcolor=base_style.bgcolor)))
            else:
                segments.append(Segment(" ", base_style))
        segments.append(Segment(" ", base_style))
        gutter = Strip(segments, self.gutter_width).apply_style(base_style)
        return Strip.join([gutter, strip])

    # -- mouse: double click selects a word, triple click the turn ---------------------------------
    async def _on_click(self, event) -> None:
        chain = getattr(event, "chain", 1)
        if chain == 2:
            self.selection = Selection.cursor(self.selection.end)
            self.select_word()
        elif chain >= 3:
            self.selection = Selection.cursor(self.selection.end)
            self.select_turn()
