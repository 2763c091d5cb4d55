"""Thematic map exports: theme -> subthemes -> codes as PNG, SVG, PDF, Graphviz DOT, Mermaid or text.

The format comes from the file suffix. Every format draws the same tree
(:func:`qualcode.themes.map_tree`). DOT and Mermaid are written from a networkx graph (codes
shared between themes are one node); the figures are drawn with matplotlib (Agg, no pyplot) from
a layout computed here — a layered tree, never a force-directed one, so labels cannot collide
(networkx's own layouts are spring or spectral ones, and importing it would cost the PNG path
time it does not need):

- the study title sits in the middle; themes fan out to the right and to the left (split so the
  two sides are about equally tall; one theme -> right only, or ``layout="tree"`` for a plain
  left-to-right tree);
- each column is one level (themes, subthemes, codes); every node owns a horizontal band as tall
  as the larger of its own label and its children's bands, so no two labels in a column overlap
  and a parent is never farther than its band from its children;
- labels are measured with the font that draws them (matplotlib's text-to-path metrics) and
  wrapped, so boxes fit their text in PNG, SVG and PDF alike;
- one colour per theme (filled theme box, outlined subthemes, coloured dot and link for codes);
  candidate themes are dashed, discarded ones (only with ``include_discarded``) grey and dotted.

In DOT and Mermaid a code that serves several themes is one node with several links; in the
figure and the text tree it is repeated under each theme (a tree layout has one parent per node).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from qualcode.errors import InvalidInput
from qualcode.export import ExportResult, export_time, write_export
from qualcode.themes import MapNode, map_legend, map_tree, render_text_tree

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("png", "svg", "pdf", "dot", "gv", "mmd", "mermaid", "txt")


def export_map(study: "Study", path: str | Path, *, themes: Sequence[str] | None = None,
               counts: bool = False, include_discarded: bool = False, codes: bool = True,
               layout: str = "map", title: str | None = None, dpi: int | None = None,
               coder: str | None = None) -> ExportResult:
    """Write the thematic map to ``path`` in the format its suffix names."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the map format from {path.name!r}: use .png, .svg, .pdf, .dot, "
                           ".mmd or .txt")
    if layout not in ("map", "tree"):
        raise InvalidInput("layout must be 'map' (two-sided) or 'tree' (left to right)")
    root = map_tree(study, themes=themes, include_discarded=include_discarded, counts=counts,
                    coder=coder, codes=codes, title=title)
    if not root.children:
        raise InvalidInput("there are no themes to draw yet (qualcode themes add STUDY.qc NAME --code CODE)")
    nodes = sum(1 for _ in root.walk())
    text = render_text_tree(root, counts=counts, coder=coder)
    if fmt == "txt":
        content: str | bytes = text
    elif fmt in ("dot", "gv"):
        content = to_dot(root, counts=counts, coder=coder)
    elif fmt in ("mmd", "mermaid"):
        content = to_mermaid(root, counts=counts, coder=coder)
    else:
        content = render_figure(root, fmt, counts=counts, layout=layout, dpi=dpi,
                                created=export_time(study), coder=coder)
    return write_export(study, path, content, kind="map", fmt=fmt, text=text, items=nodes)


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
            attrs.update(shape="box", style=style, fillcolor=fill, color=fill, fontcolor="white", fontsize="11")
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
                styles.append(f"  style {nid} fill:{n.colour},stroke:{n.colour},color:#ffffff{dash}")
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
    "theme": dict(size=10.5, weight="bold", wrap=26, px=7, py=4.5, gap=16),
    "subtheme": dict(size=9.5, weight="normal", wrap=28, px=6, py=3.5, gap=10),
    "code": dict(size=8.5, weight="normal", wrap=36, px=0, py=1.2, gap=1.8),
}
LINE = 1.22          # line height as a multiple of the font size
HGAP = 30.0          # horizontal gap between columns (room for the curved links)
MARGIN = 14.0
MAX_PIXELS = 6_000_000   # default PNG size cap (a 15-theme, 150-code map renders at about 125 dpi)


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


class _Measure:
    def __init__(self) -> None:
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        self.t2p = TextToPath()
        self.props = {}
        self.cache: dict[tuple[str, float, str], float] = {}
        self.FontProperties = FontProperties

    def width(self, text: str, size: float, weight: str) -> float:
        key = (text, size, weight)
        if key not in self.cache:
            prop = self.props.get((size, weight))
            if prop is None:
                prop = self.props[(size, weight)] = self.FontProperties(family="DejaVu Sans", size=size, weight=weight)
            w, _h, _d = self.t2p.get_text_width_height_descent(text, prop, ismath=False)
            self.cache[key] = w
        return self.cache[key]


def _lines(n: MapNode, counts: bool) -> list[str]:
    st = STYLE[n.kind]
    label = n.label
    if counts and n.kind == "code" and n.passages is not None:
        label = f"{label} ({n.counts_text()})"
    lines = textwrap.wrap(label, width=st["wrap"], break_long_words=True, break_on_hyphens=True) or [""]
    if counts and n.kind in ("theme", "subtheme") and n.participants is not None:
        lines.append(n.counts_text())
    return lines


def _build(n: MapNode, measure: _Measure, counts: bool, column: int, side: int) -> Box:
    st = STYLE[n.kind]
    lines = _lines(n, counts)
    w = max(measure.width(line, st["size"], st["weight"]) for line in lines) + 2 * st["px"]
    if n.kind == "code":
        w += 9.0                     # the dot before the label
    h = len(lines) * st["size"] * LINE + 2 * st["py"]
    box = Box(n, lines, st["size"], st["weight"], w, h, column, side)
    box.children = [_build(c, measure, counts, column + 1, side) for c in n.children]
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


def layout_map(root: MapNode, counts: bool = False, layout: str = "map") -> Layout:
    """Positions (in points) of every box of the map; see the module docstring."""
    measure = _Measure()
    rbox = _build(root, measure, counts, 0, 1)
    theme_depth = max((d for n, d in root.walk() if n.kind in ("theme", "subtheme")), default=1)
    code_column = theme_depth + 1
    _fix_columns(rbox, code_column)
    for t in rbox.children:
        _band(t)
    gap = STYLE["theme"]["gap"]
    if layout == "map" and len(rbox.children) > 1:
        k = _split([t.band for t in rbox.children], gap)
    else:
        k = len(rbox.children)
    sides = {1: rbox.children[:k], -1: rbox.children[k:]}
    boxes = [rbox]
    # column widths per side: theme/subtheme boxes share their column's width (tidy edges)
    extents: dict[int, float] = {}
    for side, themes in sides.items():
        if not themes:
            continue
        cols: dict[int, float] = {}
        for t in themes:
            for b in _all(t):
                b.side = side
                cols[b.column] = max(cols.get(b.column, 0.0), b.w)
        for t in themes:
            for b in _all(t):
                if b.node.kind != "code":
                    b.w = cols[b.column]
        x = rbox.w / 2 + HGAP
        starts = {}
        for col in range(1, code_column + 1):
            starts[col] = x
            x += cols.get(col, 0.0) + (HGAP if cols.get(col) else 0.0)
        extents[side] = x - HGAP
        total = sum(t.band for t in themes) + gap * (len(themes) - 1)
        y = -total / 2
        for t in themes:
            _place(t, y)
            y += t.band + gap
        for t in themes:
            for b in _all(t):
                b.x = side * starts[b.column]
                boxes.append(b)
    rbox.x, rbox.y = -rbox.w / 2, 0.0
    right = extents.get(1, rbox.w / 2)
    left = extents.get(-1, rbox.w / 2)
    top = min(b.y - b.h / 2 for b in boxes)
    bottom = max(b.y + b.h / 2 for b in boxes)
    if layout == "tree" or not sides[-1]:
        left = rbox.w / 2
    return Layout(rbox, boxes, width=left + right + 2 * MARGIN, height=bottom - top + 2 * MARGIN,
                  x0=-left - MARGIN, y0=top - MARGIN)


def _outer_x(b: Box) -> float:
    """x of the box's edge away from the root."""
    if b.node.kind == "root":
        return b.w / 2
    return b.x + b.side * b.w


def _inner_x(b: Box) -> float:
    return b.x


def _tint(colour: str, amount: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    mix = lambda c: round(c + (255 - c) * amount)  # noqa: E731
    return f"#{mix(r):02X}{mix(g):02X}{mix(b):02X}"


def render_figure(root: MapNode, fmt: str, *, counts: bool = False, layout: str = "map",
                  dpi: int | None = None, created=None, coder: str | None = None) -> bytes:
    """Draw the map with matplotlib (Agg, no pyplot) and return the file's bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, PathPatch
    from matplotlib.path import Path as MPath

    lay = layout_map(root, counts=counts, layout=layout)
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
        # links first, under the boxes
        for pa, pc in links:
            if pa.node.kind == "root":
                x0 = pc.side * pa.w / 2
            else:
                x0 = _outer_x(pa)
            x1 = _inner_x(pc)
            y0, y1 = -pa.y, -pc.y
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
            width = {"theme": 2.2, "subtheme": 1.5, "code": 0.9}[pc.node.kind]
            colour = pc.node.colour if pc.node.status != "discarded" else "#AAAAAA"
            ax.add_artist(PathPatch(MPath(verts, kinds),
                                   facecolor="none", edgecolor=colour, linewidth=width, alpha=0.85,
                                   capstyle="round", zorder=1))
        candidates = False
        for b in lay.boxes:
            n = b.node
            top = -(b.y - b.h / 2)
            left = b.x if b.side > 0 or n.kind == "root" else b.x - b.w
            text = "\n".join(b.lines)
            if n.kind == "code":
                dot_x = b.x + b.side * 1.5
                ax.add_artist(FancyBboxPatch((dot_x - 3, -b.y - 3), 6, 6, boxstyle="circle,pad=0",
                                            facecolor=n.colour if n.status != "discarded" else "#AAAAAA",
                                            edgecolor="none", zorder=3))
                tx = b.x + b.side * 8.0
                ax.text(tx, -b.y, text, ha="left" if b.side > 0 else "right", va="center",
                        fontsize=b.size, color="#222222", linespacing=LINE, zorder=4)
                continue
            dashed = n.status == "candidate"
            candidates |= dashed
            if n.kind == "root":
                face, edge, fg = "#333333", "#333333", "white"
            elif n.status == "discarded":
                face, edge, fg = "#EEEEEE", "#999999", "#666666"
            elif n.kind == "theme":
                face, edge, fg = (n.colour if not dashed else _tint(n.colour, 0.25)), n.colour, "white"
            else:
                face, edge, fg = _tint(n.colour, 0.88), n.colour, "#222222"
            style = ":" if n.status == "discarded" else "--" if dashed else "-"
            ax.add_artist(FancyBboxPatch((left, top - b.h), b.w, b.h, boxstyle="round,pad=0,rounding_size=4",
                                        facecolor=face, edgecolor=edge, linewidth=1.3 if n.kind != "root" else 0,
                                        linestyle=style, zorder=3))
            ax.text(left + b.w / 2, -b.y, text, ha="center", va="center", fontsize=b.size,
                    fontweight=b.weight, color=fg, linespacing=LINE, zorder=4)
        if candidates:
            ax.text(lay.x0 + 4, -(lay.y0 + lay.height) + 4, "dashed: candidate theme", fontsize=7,
                    color="#666666", ha="left", va="bottom", zorder=4)
        buffer = io.BytesIO()
        metadata: dict[str, Any]
        if fmt == "png":
            # 300 dpi (print quality) unless that passes MAX_PIXELS: huge maps belong in SVG/PDF
            square_inches = lay.width * lay.height / 72 / 72
            chosen = dpi or max(72, min(300, int((MAX_PIXELS / square_inches) ** 0.5)))
            metadata = {"Software": "qualcode"}
            fig.savefig(buffer, format="png", dpi=chosen, metadata=metadata, facecolor="white",
                        pil_kwargs={"compress_level": 2})
        elif fmt == "svg":
            metadata = {"Date": created.isoformat() if created else None, "Creator": "qualcode"}
            fig.savefig(buffer, format="svg", metadata=metadata, facecolor="white")
        else:
            metadata = {"Creator": "qualcode", "Producer": "qualcode", "CreationDate": created, "ModDate": created}
            fig.savefig(buffer, format="pdf", metadata=metadata, facecolor="white")
    return buffer.getvalue()
