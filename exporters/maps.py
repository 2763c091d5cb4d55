"""Thematic map exports: theme -> subthemes -> codes as PNG, SVG, PDF, Graphviz DOT, Mermaid or text.

The format comes from the file suffix. Every format draws the same tree
(:func:`qualcode.themes.map_tree`) with the same counts (passages, see
:data:`qualcode.evidence.UNIT_NOTE`) and the same legend. DOT and Mermaid are written from a
networkx graph (codes shared between themes are one node); the figures are drawn with
matplotlib (Agg, no pyplot) from a layout computed here — a layered tree, never a force-directed
one, so labels cannot collide:

- layouts: ``map`` puts the study title in the middle with themes fanning out right and left
  (split so the two sides are about equally tall); ``tree`` puts the title on top and the
  themes under it, left to right; ``auto`` (the default) takes the map when it is narrow enough
  and the tree otherwise. The figure is sized for print: no wider than :data:`MAX_WIDTH`
  (labels wrap shorter until it fits), so that across a 16 cm manuscript column no label is
  smaller than 6 pt; a big map grows downwards;
- each column is one level (themes, subthemes, codes); every node owns a horizontal band as tall
  as the larger of its own label and its children's bands, so no two labels in a column overlap
  and a parent is never farther than its band from its children;
- labels are measured with the glyph advances of the font that draws them (:class:`Glyphs`) and
  wrapped, so boxes fit their text; the PNG draws the text as those glyphs' outlines (one path
  per colour, which keeps a 150-code map well under 2 s at 300 dpi), SVG and PDF as real text;
- one colour per theme (filled theme box, outlined subthemes, coloured dot and link for codes);
  text on a filled box is white or near-black, whichever has the higher WCAG contrast;
  candidate themes are dashed, discarded ones (only with ``include_discarded``) grey and dotted;
  a legend under the map says so and what the counts count;
- PNG at 300 dpi (only a map past :data:`MAX_PIXELS` is drawn at less, never under 150 dpi),
  written by :func:`png_bytes`.

In DOT and Mermaid a code that serves several themes is one node with several links; in the
figure and the text tree it is repeated under each theme (a tree layout has one parent per node).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from qualcode.errors import InvalidInput
from qualcode.export import ExportResult, export_time, write_export
from qualcode.themes import MapNode, map_legend, map_tree, render_text_tree

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("png", "svg", "pdf", "dot", "gv", "mmd", "mermaid", "txt")
LAYOUTS = ("auto", "map", "tree")


def export_map(study: "Study", path: str | Path, *, themes: Sequence[str] | None = None,
               counts: bool = False, include_discarded: bool = False, codes: bool = True,
               layout: str = "auto", title: str | None = None, dpi: int | None = None,
               coder: str | None = None) -> ExportResult:
    """Write the thematic map to ``path`` in the format its suffix names."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the map format from {path.name!r}: use .png, .svg, .pdf, .dot, "
                           ".mmd or .txt")
    if layout not in LAYOUTS:
        raise InvalidInput("layout must be 'auto' (the default), 'map' (two-sided) or 'tree' (title on top, "
                           "left to right)")
    root = map_tree(study, themes=themes, include_discarded=include_discarded, counts=counts,
                    coder=coder, codes=codes, title=title)
    if not root.children:
        raise InvalidInput("there are no themes to draw yet (qualcode themes add STUDY.qc NAME --code CODE)")
    nodes = sum(1 for _ in root.walk())
    text = render_text_tree(root, counts=counts, coder=coder)
    notes: tuple[str, ...] = ()
    if fmt == "txt":
        content: str | bytes = text
    elif fmt in ("dot", "gv"):
        content = to_dot(root, counts=counts, coder=coder)
    elif fmt in ("mmd", "mermaid"):
        content = to_mermaid(root, counts=counts, coder=coder)
    else:
        lay = layout_map(root, counts=counts, layout=layout, legend=_legend_lines(root, counts, coder))
        content = render_figure(root, fmt, counts=counts, layout=layout, dpi=dpi,
                                created=export_time(study), coder=coder, lay=lay)
        notes = print_notes(lay, codes)
    result = write_export(study, path, content, kind="map", fmt=fmt, text=text, items=nodes)
    return replace(result, notes=notes) if notes else result


PAGE = 24.7 / 2.54 * 72  # the text block of an A4 page (2.5 cm margins), in points


def print_notes(lay: "Layout", codes: bool = True) -> tuple[str, ...]:
    """Advice when the figure, printed a manuscript column wide, would not fit a page: every
    label keeps at least 6 pt, so a map of a hundred codes becomes a tall strip."""
    scale = min(1.0, COLUMN / lay.width)
    pages = lay.height * scale / PAGE
    if pages <= 1.2:
        return ()
    ways = "a few themes at a time (--theme, repeatable)" + (" or themes only (--no-codes)" if codes else "")
    return (f"printed 16 cm wide, this map is about {pages:.1f} pages tall; for a figure that fits a page, "
            f"draw {ways}",)


# -- DOT and Mermaid ---------------------------------------------------------------------------

def _graph(root: MapNode):
    """networkx DiGraph of the map with code nodes shared between themes (id ``c<code id>``)."""
    import networkx as nx

    g = nx.DiGraph()

    def nid(n: MapNode) -> str:
        return f"c{n.code_id}" if n.kind == "code" else n.id

    for n, _depth in root.walk():
        if nid(n) not in g:
            g.add_node(nid(n), node=n)
        for child in n.children:
            if nid(child) not in g:
                g.add_node(nid(child), node=child)
            g.add_edge(nid(n), nid(child), colour=child.colour if child.kind != "code" else n.colour)
    return g


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(n: MapNode, counts: bool) -> str:
    return n.count_label() if counts else n.label


def to_dot(root: MapNode, counts: bool = False, coder: str | None = None) -> str:
    g = _graph(root)
    legend = _legend_lines(root, counts, coder)
    label = (f", label={_dot_string(chr(10).join(legend))}, labelloc=b, labeljust=l, fontsize=9"
             if legend else "")
    lines = [
        "digraph thematic_map {",
        f'  graph [rankdir=LR, splines=true, nodesep=0.12, ranksep=0.5, fontname="Helvetica"{label}];',
        '  node [fontname="Helvetica", fontsize=10];',
        "  edge [arrowhead=none, penwidth=1.2];",
    ]
    for nid in g.nodes:   # insertion order = tree order: deterministic
        n: MapNode = g.nodes[nid]["node"]
        attrs = {"label": _label(n, counts)}
        if n.kind == "root":
            attrs.update(shape="box", style="rounded,filled", fillcolor="#333333", fontcolor="white", fontsize="12")
        elif n.kind == "theme":
            style = "rounded,filled" + (",dashed" if n.status == "candidate" else ",dotted" if n.status == "discarded" else "")
            fill = "#BBBBBB" if n.status == "discarded" else n.colour
            attrs.update(shape="box", style=style, fillcolor=fill, color=fill, fontcolor=text_colour(fill),
                         fontsize="11")
        elif n.kind == "subtheme":
            style = "rounded" + (",dashed" if n.status == "candidate" else ",dotted" if n.status == "discarded" else "")
            attrs.update(shape="box", style=style, color=n.colour)
        else:
            attrs.update(shape="plaintext", fontsize="9")
        body = ", ".join(f"{k}={_dot_string(v)}" for k, v in attrs.items())
        lines.append(f"  {nid} [{body}];")
    for a, b, data in g.edges(data=True):
        lines.append(f'  {a} -> {b} [color="{data["colour"]}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    out = text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return out.replace("\n", " ")


def to_mermaid(root: MapNode, counts: bool = False, coder: str | None = None) -> str:
    g = _graph(root)
    lines = ["flowchart LR"] + [f"%% {line}" for line in _legend_lines(root, counts, coder)]
    styles = []
    for nid in g.nodes:
        n: MapNode = g.nodes[nid]["node"]
        label = _mermaid_text(_label(n, counts))
        if n.kind == "root":
            lines.append(f'  {nid}(["{label}"])')
            styles.append(f"  style {nid} fill:#333333,stroke:#333333,color:#ffffff")
        elif n.kind in ("theme", "subtheme"):
            lines.append(f'  {nid}("{label}")')
            dash = ",stroke-dasharray:5 3" if n.status == "candidate" else ",stroke-dasharray:2 2" if n.status == "discarded" else ""
            if n.kind == "theme":
                styles.append(f"  style {nid} fill:{n.colour},stroke:{n.colour},color:{text_colour(n.colour).lower()}{dash}")
            else:
                styles.append(f"  style {nid} fill:#ffffff,stroke:{n.colour},color:#222222{dash}")
        else:
            lines.append(f'  {nid}["{label}"]')
            styles.append(f"  style {nid} fill:#ffffff,stroke:#cccccc,color:#222222")
    for a, b, _data in g.edges(data=True):
        lines.append(f"  {a} --> {b}")
    return "\n".join(lines + styles) + "\n"


def _legend_lines(root: MapNode, counts: bool, coder: str | None) -> list[str]:
    """What the dashes, dots and numbers mean, for the figure's, DOT's and Mermaid's legend."""
    statuses = {n.status for n, _d in root.walk() if n.kind in ("theme", "subtheme")}
    out = []
    if "candidate" in statuses:
        out.append("dashed outline: candidate theme")
    if "discarded" in statuses:
        out.append("grey, dotted: discarded theme")
    if counts:
        out.append(map_legend(counts, coder))
    return out


# -- the figure: layout ------------------------------------------------------------------------

STYLE = {  # font size (pt), weight, wrap width (characters), box padding x / y (pt), sibling gap (pt)
    "root": dict(size=12.5, weight="bold", wrap=22, px=9, py=6, gap=0),
    "theme": dict(size=10.5, weight="bold", wrap=26, px=7, py=4.5, gap=14),
    "subtheme": dict(size=9.5, weight="normal", wrap=28, px=6, py=3.5, gap=9),
    "code": dict(size=8.5, weight="normal", wrap=36, px=0, py=1.2, gap=1.6),
}
LEGEND_SIZE = 8.0    # the smallest type in the figure
LINE = 1.22          # line height as a multiple of the font size
HGAP = 26.0          # horizontal gap between columns (room for the curved links)
INDENT = 16.0        # tree layout: from the left edge to the theme column (the spine runs there)
MARGIN = 14.0
COLUMN = 16 / 2.54 * 72          # a 16 cm manuscript column, in points
MIN_PRINTED = 6.0                # no label smaller than this when the figure is printed COLUMN wide
MAX_WIDTH = COLUMN * LEGEND_SIZE / MIN_PRINTED   # about 605 pt: the widest figure that keeps that
DPI = 300
MAX_PIXELS = 60_000_000  # memory cap (an RGBA buffer of 240 MB); only a huge map is drawn below 300 dpi
MIN_DPI = 150
DARK_TEXT, LIGHT_TEXT = "#1A1A1A", "#FFFFFF"


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#RRGGBB``."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(fill: str) -> str:
    """White or near-black text, whichever contrasts more with ``fill`` (orange #E69F00 and pink
    #CC79A7 get dark text: white on them is about 2:1, dark about 6-8:1); pure black for the few
    mid-tones where neither reaches WCAG's 4.5:1 (black or white always does)."""
    best = LIGHT_TEXT if contrast(LIGHT_TEXT, fill) >= contrast(DARK_TEXT, fill) else DARK_TEXT
    if contrast(best, fill) < 4.5:
        return "#000000"
    return best


@dataclass
class Box:
    node: MapNode
    lines: list[str]
    size: float
    weight: str
    w: float                        # box width (pt)
    h: float                        # box height (pt)
    column: int = 0
    side: int = 1                   # +1 right, -1 left
    x: float = 0.0                  # the box's edge nearest the root
    y: float = 0.0                  # centre
    band: float = 0.0               # height of its band (own box or its children's bands)
    children: list["Box"] = field(default_factory=list)


class Glyphs:
    """DejaVu Sans glyph advances and outlines, cached per character (regular and bold).

    Measuring with these and drawing the PNG's text as their outlines keeps the two exactly
    alike, and costs a dictionary look-up per character instead of matplotlib's per-string text
    shaping (which was most of a big map's drawing time). Labels holding a character the font
    lacks are measured and drawn by matplotlib instead (its font fallback)."""

    SCALE = 100.0                   # outlines are read at 100 pt (72 dpi): 1 unit = 1/100 em

    def __init__(self) -> None:
        from matplotlib import ft2font
        from matplotlib.font_manager import FontProperties, findfont, get_font

        flags = getattr(ft2font, "LoadFlags", None)
        self.no_hinting = flags.NO_HINTING if flags is not None else ft2font.LOAD_NO_HINTING
        kerning = getattr(ft2font, "Kerning", None)
        self.kerning_mode = kerning.UNFITTED if kerning is not None else ft2font.KERNING_UNFITTED
        self.fonts = {}
        for weight in ("normal", "bold"):
            font = get_font(findfont(FontProperties(family="DejaVu Sans", weight=weight)))
            font.set_size(self.SCALE, 72)
            self.fonts[weight] = font
        self.cache: dict[tuple[str, str], tuple[int, float, Any, Any] | None] = {}
        self.kerns: dict[tuple[str, int, int], float] = {}
        self.fallback = None

    def glyph(self, ch: str, weight: str):
        key = (weight, ch)
        if key not in self.cache:
            font = self.fonts[weight]
            index = font.get_char_index(ord(ch))
            if index == 0 and ch not in " \u00a0":
                self.cache[key] = None
            else:
                g = font.load_glyph(index, flags=self.no_hinting)
                verts, codes = font.get_path()
                self.cache[key] = (index, g.linearHoriAdvance / 65536, verts, codes)
        return self.cache[key]

    def covers(self, text: str, weight: str) -> bool:
        return all(self.glyph(ch, weight) is not None for ch in text)

    def _kern(self, weight: str, a: int, b: int) -> float:
        key = (weight, a, b)
        if key not in self.kerns:
            self.kerns[key] = self.fonts[weight].get_kerning(a, b, self.kerning_mode) / 64
        return self.kerns[key]

    def width(self, text: str, size: float, weight: str) -> float:
        """The advance width of one line of text, in points."""
        if not self.covers(text, weight):
            return self._fallback_width(text, size, weight)
        total, prev = 0.0, None
        for ch in text:
            index, advance, _v, _c = self.glyph(ch, weight)
            if prev is not None:
                total += self._kern(weight, prev, index)
            total += advance
            prev = index
        return total * size / self.SCALE

    def _fallback_width(self, text: str, size: float, weight: str) -> float:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        if self.fallback is None:
            self.fallback = TextToPath()
        prop = FontProperties(family="DejaVu Sans", size=size, weight=weight)
        return self.fallback.get_text_width_height_descent(text, prop, ismath=False)[0]

    def line_path(self, text: str, size: float, weight: str, x: float, baseline: float):
        """(vertices, codes) of one line with its left end at ``x`` and its baseline at ``baseline``
        (y up), or None when the font lacks a character."""
        import numpy as np

        if not self.covers(text, weight):
            return None
        scale = size / self.SCALE
        verts, codes, pen, prev = [], [], 0.0, None
        for ch in text:
            index, advance, v, c = self.glyph(ch, weight)
            if prev is not None:
                pen += self._kern(weight, prev, index)
            if len(c):
                verts.append(v * scale + (x + pen * scale, baseline))
                codes.append(c)
            pen += advance
            prev = index
        if not verts:
            return np.empty((0, 2)), np.empty((0,), dtype=np.uint8)
        return np.concatenate(verts), np.concatenate(codes)


def _lines(n: MapNode, counts: bool, wrap: int) -> list[str]:
    label = n.label
    if counts and n.kind == "code" and n.passages is not None:
        label = f"{label} ({n.counts_text()})"
    lines = textwrap.wrap(label, width=wrap, break_long_words=True, break_on_hyphens=True) or [""]
    if counts and n.kind in ("theme", "subtheme") and n.participants is not None:
        lines += textwrap.wrap(n.counts_text(), width=max(wrap, 30)) or [""]
    return lines


def _build(n: MapNode, glyphs: Glyphs, counts: bool, column: int, side: int, wraps: dict[str, int]) -> Box:
    st = STYLE[n.kind]
    lines = _lines(n, counts, wraps[n.kind])
    w = max(glyphs.width(line, st["size"], st["weight"]) for line in lines) + 2 * st["px"]
    if n.kind == "code":
        w += 9.0                     # the dot before the label
    h = len(lines) * st["size"] * LINE + 2 * st["py"]
    box = Box(n, lines, st["size"], st["weight"], w, h, column, side)
    box.children = [_build(c, glyphs, counts, column + 1, side, wraps) for c in n.children]
    return box


def _fix_columns(box: Box, code_column: int) -> None:
    for child in box.children:
        if child.node.kind == "code":
            child.column = code_column
        _fix_columns(child, code_column)


def _gaps(children: list[Box]) -> list[float]:
    """The space above each child but the first: the larger of the two neighbours' gaps."""
    return [max(STYLE[a.node.kind]["gap"], STYLE[b.node.kind]["gap"]) for a, b in zip(children, children[1:])]


def _band(box: Box) -> float:
    if not box.children:
        box.band = box.h
        return box.band
    inner = sum(_band(c) for c in box.children) + sum(_gaps(box.children))
    box.band = max(box.h, inner)
    return box.band


def _place(box: Box, top: float) -> None:
    """Centre the box's children in its band from ``top`` down; the box beside them."""
    if box.children:
        gaps = _gaps(box.children)
        inner = sum(c.band for c in box.children) + sum(gaps)
        y = top + (box.band - inner) / 2
        for c, gap in zip(box.children, [*gaps, 0.0]):
            _place(c, y)
            y += c.band + gap
        mid = (box.children[0].y + box.children[-1].y) / 2
        box.y = min(max(mid, top + box.h / 2), top + box.band - box.h / 2)
    else:
        box.y = top + box.band / 2


def _all(box: Box):
    yield box
    for c in box.children:
        yield from _all(c)


def _split(heights: list[float], gap: float) -> int:
    """How many themes (in order) go on the right so the taller side is as short as possible."""
    best, best_k = None, len(heights)
    total = sum(heights)
    run = 0.0
    for k in range(1, len(heights)):
        run += heights[k - 1]
        worst = max(run + gap * (k - 1), total - run + gap * (len(heights) - k - 1))
        if best is None or worst < best - 1e-9:
            best, best_k = worst, k
    return best_k


@dataclass
class Layout:
    root: Box
    boxes: list[Box]
    width: float
    height: float
    x0: float
    y0: float
    kind: str = "map"               # "map" (two-sided) or "tree"
    legend: list[str] = field(default_factory=list)   # wrapped legend lines, under the map
    spine: float = 0.0              # tree: x of the line joining the title to the themes


def _left(b: Box) -> float:
    return b.x if b.side > 0 or b.node.kind == "root" else b.x - b.w


def _columns(themes: list[Box], code_column: int, start: float) -> tuple[dict[int, float], float]:
    """x of each column's edge nearest the root; theme and subtheme boxes of a column share its
    width (tidy edges). Returns the starts and the far edge."""
    cols: dict[int, float] = {}
    for t in themes:
        for b in _all(t):
            cols[b.column] = max(cols.get(b.column, 0.0), b.w)
    for t in themes:
        for b in _all(t):
            if b.node.kind != "code":
                b.w = cols[b.column]
    x, starts = start, {}
    for col in range(1, code_column + 1):
        starts[col] = x
        x += cols.get(col, 0.0) + (HGAP if cols.get(col) else 0.0)
    return starts, x - HGAP


def _stack(themes: list[Box], top: float) -> None:
    gap = STYLE["theme"]["gap"]
    y = top
    for t in themes:
        _place(t, y)
        y += t.band + gap


def _layout(root: MapNode, counts: bool, kind: str, glyphs: Glyphs, wraps: dict[str, int]) -> Layout:
    rbox = _build(root, glyphs, counts, 0, 1, wraps)
    theme_depth = max((d for n, d in root.walk() if n.kind in ("theme", "subtheme")), default=1)
    code_column = theme_depth + 1
    _fix_columns(rbox, code_column)
    for t in rbox.children:
        _band(t)
    boxes = [rbox]
    spine = 0.0
    if kind == "tree":
        # the title on top, the themes stacked under it, columns left to right
        rbox.x, rbox.y = 0.0, rbox.h / 2
        spine = INDENT / 2
        starts, _far = _columns(rbox.children, code_column, INDENT)
        _stack(rbox.children, rbox.h + STYLE["theme"]["gap"])
        for t in rbox.children:
            for b in _all(t):
                b.side, b.x = 1, starts[b.column]
                boxes.append(b)
    else:
        gap = STYLE["theme"]["gap"]
        k = _split([t.band for t in rbox.children], gap) if len(rbox.children) > 1 else len(rbox.children)
        rbox.x, rbox.y = -rbox.w / 2, 0.0
        for side, themes in ((1, rbox.children[:k]), (-1, rbox.children[k:])):
            if not themes:
                continue
            for t in themes:
                for b in _all(t):
                    b.side = side
            starts, _far = _columns(themes, code_column, rbox.w / 2 + HGAP)
            total = sum(t.band for t in themes) + gap * (len(themes) - 1)
            _stack(themes, -total / 2)
            for t in themes:
                for b in _all(t):
                    b.x = side * starts[b.column]
                    boxes.append(b)
    left = min(_left(b) for b in boxes)
    right = max(_left(b) + b.w for b in boxes)
    top = min(b.y - b.h / 2 for b in boxes)
    bottom = max(b.y + b.h / 2 for b in boxes)
    return Layout(rbox, boxes, width=right - left + 2 * MARGIN, height=bottom - top + 2 * MARGIN,
                  x0=left - MARGIN, y0=top - MARGIN, kind=kind, spine=spine)


def _wrap_legend(lines: Sequence[str], width: float, glyphs: Glyphs) -> list[str]:
    out = []
    for line in lines:
        chars = max(20, int(len(line) * width / max(glyphs.width(line, LEGEND_SIZE, "normal"), 1.0)))
        wrapped = textwrap.wrap(line, width=chars)
        while chars > 20 and max(glyphs.width(w, LEGEND_SIZE, "normal") for w in wrapped) > width:
            chars -= 4
            wrapped = textwrap.wrap(line, width=chars)
        out += wrapped
    return out


def layout_map(root: MapNode, counts: bool = False, layout: str = "auto",
               legend: Sequence[str] = ()) -> Layout:
    """Positions (in points) of every box of the map; see the module docstring.

    ``auto``: the two-sided map when it is no wider than :data:`MAX_WIDTH` (so that, printed
    across a 16 cm column, no label is under 6 pt), else the tree; the tree narrows its label
    wrapping until it fits that width (or its labels cannot wrap any shorter). ``legend`` lines
    are wrapped to the figure's width and placed under it."""
    glyphs = Glyphs()
    wraps = {kind: st["wrap"] for kind, st in STYLE.items()}
    if layout in ("map", "auto"):
        lay = _layout(root, counts, "map", glyphs, wraps)
        if layout == "auto" and lay.width > MAX_WIDTH:
            layout = "tree"
    if layout == "tree":
        wraps["root"] = 48
        lay = _layout(root, counts, "tree", glyphs, wraps)
        while lay.width > MAX_WIDTH and wraps["code"] > 14:
            for kind in ("theme", "subtheme", "code"):
                wraps[kind] = max(12, int(wraps[kind] * 0.85))
            wraps["root"] = max(16, int(wraps["root"] * 0.85))
            lay = _layout(root, counts, "tree", glyphs, wraps)
    if legend:
        lay.legend = _wrap_legend(legend, lay.width - 2 * MARGIN, glyphs)
        lay.height += len(lay.legend) * LEGEND_SIZE * LINE + 6
    return lay


# -- the figure: drawing -----------------------------------------------------------------------

def _outer_x(b: Box) -> float:
    """x of the box's edge away from the root."""
    if b.node.kind == "root":
        return b.w / 2
    return b.x + b.side * b.w


def _tint(colour: str, amount: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = lambda c: round(c + (255 - c) * amount)  # noqa: E731
    return f"#{mix(r):02X}{mix(g):02X}{mix(b):02X}"


class _Text:
    """The figure's labels: in a PNG, glyph outlines gathered into one path per colour (drawn in
    a few calls); in SVG and PDF, real text (searchable, selectable)."""

    def __init__(self, ax, glyphs: Glyphs, as_paths: bool) -> None:
        self.ax, self.glyphs, self.as_paths = ax, glyphs, as_paths
        self.paths: dict[str, tuple[list, list]] = {}

    def add(self, lines: Sequence[str], x: float, y: float, size: float, weight: str, colour: str,
            align: str, zorder: int = 4) -> None:
        """``lines`` centred vertically on ``y`` (y up), aligned left/centre/right on ``x``."""
        pitch = size * LINE
        first = y + (len(lines) - 1) * pitch / 2
        drawn = []
        for i, line in enumerate(lines):
            width = self.glyphs.width(line, size, weight)
            left = x if align == "left" else x - width if align == "right" else x - width / 2
            path = self.glyphs.line_path(line, size, weight, left, first - i * pitch - 0.35 * size) \
                if self.as_paths else None
            if path is None:
                drawn = None
                break
            drawn.append(path)
        if drawn is None:
            self.ax.text(x, y, "\n".join(lines), ha=align, va="center", fontsize=size, fontweight=weight,
                         color=colour, linespacing=LINE, zorder=zorder)
            return
        verts, codes = self.paths.setdefault(colour, ([], []))
        for v, c in drawn:
            verts.append(v)
            codes.append(c)

    def finish(self) -> None:
        import numpy as np
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MPath

        for colour, (verts, codes) in sorted(self.paths.items()):
            if verts:
                path = MPath(np.concatenate(verts), np.concatenate(codes))
                self.ax.add_artist(PathPatch(path, facecolor=colour, edgecolor="none", linewidth=0, zorder=4))


def render_figure(root: MapNode, fmt: str, *, counts: bool = False, layout: str = "auto",
                  dpi: int | None = None, created=None, coder: str | None = None,
                  lay: Layout | None = None) -> bytes:
    """Draw the map with matplotlib (Agg, no pyplot) and return the file's bytes (``lay``: the
    layout, when the caller has computed it already)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, PathPatch
    from matplotlib.path import Path as MPath

    if lay is None:
        lay = layout_map(root, counts=counts, layout=layout, legend=_legend_lines(root, counts, coder))
    glyphs = Glyphs()
    links = [(b, c) for b in lay.boxes for c in b.children]
    rc = {"svg.fonttype": "none", "svg.hashsalt": "qualcode", "pdf.fonttype": 42,
          "font.family": "DejaVu Sans", "path.simplify": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(lay.width / 72, lay.height / 72))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(lay.x0, lay.x0 + lay.width)
        ax.set_ylim(-(lay.y0 + lay.height), -lay.y0)   # y grows downward in the layout
        ax.set_axis_off()
        text = _Text(ax, glyphs, as_paths=fmt == "png")
        # links first, under the boxes
        rbox = lay.root
        if lay.kind == "tree" and rbox.children:
            last = rbox.children[-1]
            ax.add_artist(PathPatch(MPath([(lay.spine, -(rbox.y + rbox.h / 2)), (lay.spine, -last.y + 4)]),
                                    facecolor="none", edgecolor="#999999", linewidth=1.4, zorder=1))
        for pa, pc in links:
            colour = pc.node.colour if pc.node.status != "discarded" else "#AAAAAA"
            width = {"theme": 2.2, "subtheme": 1.5, "code": 0.9}[pc.node.kind]
            y1 = -pc.y
            x1 = pc.x
            if pa.node.kind == "root" and lay.kind == "tree":
                r = 4.0   # from the spine, a rounded elbow into the theme box
                verts = [(lay.spine, y1 + r), (lay.spine, y1), (lay.spine + r, y1), (x1, y1)]
                kinds = [MPath.MOVETO, MPath.CURVE3, MPath.CURVE3, MPath.LINETO]
            else:
                x0 = pc.side * pa.w / 2 if pa.node.kind == "root" else _outer_x(pa)
                y0 = -pa.y
                if pc.column - pa.column > 1 and pa.node.kind != "root":
                    # a theme's own codes skip the subtheme column: bend within the first gap, then
                    # run straight along the code's own band, where no subtheme box can be
                    xm = x0 + pc.side * HGAP
                    dx = (xm - x0) * 0.5
                    verts = [(x0, y0), (x0 + dx, y0), (xm - dx, y1), (xm, y1), (x1, y1)]
                    kinds = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO]
                else:
                    dx = (x1 - x0) * 0.5
                    verts = [(x0, y0), (x0 + dx, y0), (x1 - dx, y1), (x1, y1)]
                    kinds = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4]
            ax.add_artist(PathPatch(MPath(verts, kinds), facecolor="none", edgecolor=colour, linewidth=width,
                                    alpha=0.85, capstyle="round", zorder=1))
        for b in lay.boxes:
            n = b.node
            top = -(b.y - b.h / 2)
            left = _left(b)
            if n.kind == "code":
                dot_x = b.x + b.side * 1.5
                ax.add_artist(FancyBboxPatch((dot_x - 3, -b.y - 3), 6, 6, boxstyle="circle,pad=0",
                                            facecolor=n.colour if n.status != "discarded" else "#AAAAAA",
                                            edgecolor="none", zorder=3))
                text.add(b.lines, b.x + b.side * 8.0, -b.y, b.size, b.weight,
                         "#666666" if n.status == "discarded" else "#222222", "left" if b.side > 0 else "right")
                continue
            dashed = n.status == "candidate"
            if n.kind == "root":
                face, edge = "#333333", "#333333"
            elif n.status == "discarded":
                face, edge = "#EEEEEE", "#999999"
            elif n.kind == "theme":
                face, edge = (n.colour if not dashed else _tint(n.colour, 0.25)), n.colour
            else:
                face, edge = _tint(n.colour, 0.88), n.colour
            fg = "#666666" if n.status == "discarded" else text_colour(face)
            style = ":" if n.status == "discarded" else "--" if dashed else "-"
            ax.add_artist(FancyBboxPatch((left, top - b.h), b.w, b.h, boxstyle="round,pad=0,rounding_size=4",
                                        facecolor=face, edgecolor=edge, linewidth=1.3 if n.kind != "root" else 0,
                                        linestyle=style, zorder=3))
            text.add(b.lines, left + b.w / 2, -b.y, b.size, b.weight, fg, "center")
        if lay.legend:
            pitch = LEGEND_SIZE * LINE
            bottom = -(lay.y0 + lay.height) + MARGIN * 0.6
            text.add(lay.legend, lay.x0 + MARGIN, bottom + (len(lay.legend) * pitch) / 2, LEGEND_SIZE,
                     "normal", "#555555", "left")
        text.finish()
        buffer = io.BytesIO()
        metadata: dict[str, Any]
        if fmt == "png":
            # print quality (300 dpi) at the figure's own size; only a map too big for memory less
            square_inches = lay.width * lay.height / 72 / 72
            chosen = dpi or max(MIN_DPI, min(DPI, int((MAX_PIXELS / square_inches) ** 0.5)))
            fig.set_dpi(chosen)
            fig.patch.set_facecolor("white")
            canvas = fig.canvas
            canvas.draw()
            buffer.write(png_bytes(canvas.buffer_rgba(), chosen))
        elif fmt == "svg":
            metadata = {"Date": created.isoformat() if created else None, "Creator": "qualcode"}
            fig.savefig(buffer, format="svg", metadata=metadata, facecolor="white")
        else:
            metadata = {"Creator": "qualcode", "Producer": "qualcode", "CreationDate": created, "ModDate": created}
            fig.savefig(buffer, format="pdf", metadata=metadata, facecolor="white")
    return buffer.getvalue()


def png_bytes(rgba, dpi: float, software: str = "qualcode") -> bytes:
    """An RGB PNG of an RGBA buffer (rows top down), written directly: rows unfiltered, zlib level
    1. A map is mostly flat colour, which compresses as small that way as with PNG's adaptive row
    filters, and several times faster than Pillow's encoder (most of a big map's time)."""
    import struct
    import zlib

    import numpy as np

    pixels = np.asarray(rgba)
    h, w = pixels.shape[:2]
    raw = np.zeros((h, w * 3 + 1), dtype=np.uint8)          # a 0 (no filter) before every row
    rows = np.lib.stride_tricks.as_strided(raw[:, 1:], shape=(h, w, 3), strides=(raw.strides[0], 3, 1))
    rows[...] = pixels[:, :, :3]                              # one copy, dropping alpha

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    per_metre = int(round(dpi / 0.0254))
    data = zlib.compress(raw.data, 1)
    out = [b"\x89PNG\r\n\x1a\n",
           chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)),
           chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
           chunk(b"tEXt", b"Software\x00" + software.encode("latin-1"))]
    step = 1 << 20
    out += [chunk(b"IDAT", data[i:i + step]) for i in range(0, len(data), step)]
    out.append(chunk(b"IEND", b""))
    return b"".join(out)
