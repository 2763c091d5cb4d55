"""Exports: golden files for text formats, DOCX/XLSX read back, maps drawn, syntax of DOT and Mermaid,
formula injection, determinism, the one export door, and the demo study end to end.

Regenerate the golden files after an intended change with ``QUALCODE_UPDATE_GOLDEN=1 pytest tests/test_exports.py``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import zipfile
from pathlib import Path

import pytest

from qualcode.errors import InvalidInput
from qualcode.evidence import quote_rows
from qualcode.store.themes import themes_of
from qualcode.study import Study
from exporters.maps import MAX_WIDTH
from test_themes import build_study, build_themes

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("QUALCODE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def themed(tmp_path_factory):
    return build_themes(build_study(tmp_path_factory.mktemp("exports") / "exports.qc"))


@pytest.fixture
def out(tmp_path):
    return tmp_path


def golden(name: str, produced: Path) -> None:
    expected = GOLDEN / name
    data = produced.read_bytes()
    if UPDATE or not expected.exists():
        if not UPDATE:
            pytest.fail(f"golden file {expected} is missing (run with QUALCODE_UPDATE_GOLDEN=1 to create it)")
        expected.parent.mkdir(exist_ok=True)
        expected.write_bytes(data)
    assert data == expected.read_bytes(), f"{name} differs from its golden file"


def open_study(path):
    return Study.open(path)


# -- golden text formats -----------------------------------------------------------------------

@pytest.mark.parametrize("name, call", [
    ("quotes.md", lambda s, p: __import__("exporters.quotes", fromlist=["x"]).export_quotes(s, p)),
    ("quotes.csv", lambda s, p: __import__("exporters.quotes", fromlist=["x"]).export_quotes(
        s, p, template="[Participant {number}, {role}, {experience_band}]")),
    ("quotes_key.md", lambda s, p: __import__("exporters.quotes", fromlist=["x"]).export_quotes(s, p, key_only=True)),
    ("map.dot", lambda s, p: __import__("exporters.maps", fromlist=["x"]).export_map(s, p, counts=True)),
    ("map.mmd", lambda s, p: __import__("exporters.maps", fromlist=["x"]).export_map(s, p)),
    ("map.txt", lambda s, p: __import__("exporters.maps", fromlist=["x"]).export_map(s, p, counts=True,
                                                                                       include_discarded=True)),
    ("codebook.md", lambda s, p: __import__("exporters.codebook", fromlist=["x"]).export_codebook(s, p)),
    ("codebook.csv", lambda s, p: __import__("exporters.codebook", fromlist=["x"]).export_codebook(s, p)),
    ("participants.md", lambda s, p: __import__("exporters.participants_table", fromlist=["x"]).export_participants(
        s, p, attributes=["age", "gender", "role"])),
    ("participants.csv", lambda s, p: __import__("exporters.participants_table", fromlist=["x"]).export_participants(
        s, p, suppress_below=0)),
    ("matrix.csv", lambda s, p: __import__("exporters.matrix", fromlist=["x"]).export_matrix(
        s, p, attributes=["gender"], excerpts=40)),
    ("matrix_codes.csv", lambda s, p: __import__("exporters.matrix", fromlist=["x"]).export_matrix(
        s, p, by="codes", group_by=["gender"], sort_by=["age"])),
])
def test_golden_text_exports(themed, out, name, call):
    path = out / name
    with open_study(themed) as s:
        result = call(s, path)
    assert result.path == str(path) and result.bytes == path.stat().st_size
    golden(name, path)


# -- quote tables ------------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _repeats(row) -> bool:
    trpr = row._tr.trPr
    flag = trpr.find(f"{W}tblHeader") if trpr is not None else None
    return flag is not None and flag.get(f"{W}val") in ("true", "1", None)


def test_docx_quote_table_reads_back(themed, out):
    """One table per theme; its header rows (the theme's name across the table, then the column
    headings) repeat on every page it runs onto, so a continued theme is named at its top."""
    import docx

    from exporters.quotes import export_quotes

    path = out / "quotes.docx"
    with open_study(themed) as s:
        export_quotes(s, path, template="[Participant {number}, {role}, {experience_band}]")
    doc = docx.Document(str(path))
    assert doc.paragraphs[0].text == "Illustrative quotes"
    cliff, understood = doc.tables
    theme_row, header = cliff.rows[0], cliff.rows[1]
    assert {c.text for c in theme_row.cells} == {"Falling off a cliff edge"}     # one cell across the table
    assert theme_row.cells[0].paragraphs[0].runs[0].bold
    assert [c.text for c in header.cells] == ["Subtheme", "Quote", "No."]
    assert _repeats(theme_row) and _repeats(header) and not _repeats(cliff.rows[2])
    assert understood.rows[0].cells[0].text == "Being understood"
    rows = cliff.rows[2:]
    assert len(rows) == 5 and len(understood.rows) == 4
    assert rows[0].cells[0].text == "" and rows[3].cells[0].text == "Keeping going" and rows[4].cells[0].text == ""
    assert [r.cells[2].text for r in rows] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    quote_cell = rows[0].cells[1]
    runs = quote_cell.paragraphs[0].runs
    assert runs[0].italic and runs[0].text == "\u201cit was like falling off a cliff edge. The group was my lifeline\u201d"
    assert not runs[1].italic and runs[1].text == " [Participant 1, Patient]"
    staff = [r for r in rows if "Senior Health Connector" in r.cells[1].text]
    assert staff and staff[0].cells[1].text.endswith("[Participant 1, Senior Health Connector, highly experienced]")
    # tight cells: the "Table Text" style (no space before, at most 2 pt after, single spacing); rows never split
    para = quote_cell.paragraphs[0]
    assert para.style.name == "Table Text"
    fmt = para.style.paragraph_format
    assert fmt.space_before.pt == 0 and fmt.space_after.pt <= 2 and fmt.line_spacing == 1.0
    assert rows[0]._tr.trPr.find(f"{W}cantSplit") is not None
    assert doc.core_properties.author == "qualcode"


def test_xlsx_quote_table_reads_back(themed, out):
    import openpyxl

    from exporters.quotes import export_quotes

    path = out / "quotes.xlsx"
    with open_study(themed) as s:
        export_quotes(s, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Quotes"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("ref", "theme", "subtheme", "quote", "attribution")
    assert rows[1][:2] == ("Q1", "Falling off a cliff edge") and rows[1][4] == "(P1)" and rows[1][13] == "yes"
    assert ws["A1"].font.bold and ws["D2"].font.italic and ws.freeze_panes == "A2"
    assert ws.print_title_rows == "$1:$1"


def test_formula_injection_is_neutralised(themed, out):
    import openpyxl

    from exporters.quotes import export_quotes
    from exporters.tables import csv_bytes, safe_cell

    with open_study(themed) as s:
        export_quotes(s, out / "all.csv", include_discarded=True)
        export_quotes(s, out / "all.xlsx", include_discarded=True)
    text = (out / "all.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    quotes = [r[3] for r in rows[1:]]
    assert "'=SUM(A1) is how I count my good days" in quotes
    assert not any(q.startswith(("=", "+", "-", "@")) for q in quotes)
    # XLSX: a string cell (inline string), never a formula, and no visible apostrophe
    ws = openpyxl.load_workbook(out / "all.xlsx")["Quotes"]
    cells = [c for c in ws["D"] if isinstance(c.value, str) and "SUM" in c.value]
    assert cells and cells[0].value == "=SUM(A1) is how I count my good days" and cells[0].data_type == "s"
    with zipfile.ZipFile(out / "all.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"><is><t>=SUM(A1) is how' in sheet
    from datetime import datetime, timezone

    from exporters.tables import Sheet, xlsx_bytes
    data = xlsx_bytes([Sheet("S", ["plain", "styled"], [["=SUM(A1)", "=SUM(A1)"], ["+1", "@x"]], italic={1})],
                      datetime(2024, 1, 1, tzinfo=timezone.utc))
    ws = openpyxl.load_workbook(io.BytesIO(data))["S"]
    for ref, value in (("A2", "=SUM(A1)"), ("B2", "=SUM(A1)"), ("A3", "+1"), ("B3", "@x")):
        assert (ws[ref].value, ws[ref].data_type) == (value, "s"), ref
    for bad in ("=1+1", "+1", "-1", "@SUM(1)", "\tx", "\rx"):
        assert safe_cell(bad) == "'" + bad
    assert safe_cell("fine = ok") == "fine = ok" and safe_cell(-3) == -3 and safe_cell(None) == ""
    assert csv_bytes(["a"], [["=cmd|' /C calc'!A0"]]).decode("utf-8-sig").splitlines()[1] == "'=cmd|' /C calc'!A0"


@pytest.fixture
def unattributed(tmp_path):
    """The exports study plus an interviewer turn coded into a theme that also has participants' extracts."""
    path = build_themes(build_study(tmp_path / "unattributed.qc"))
    with open_study(path) as s:
        s.codings.add_text("S1_interview", "Cliff edge", "Amira", "What does your role involve?")
    return path


def test_unattributed_extracts_sort_last_in_every_format(unattributed, out):
    """A theme with participants' and an interviewer's extracts (once a TypeError in the sort)."""
    import docx
    import openpyxl

    from exporters.quotes import export_quotes

    template = "[Participant {number}, {role}]"
    with open_study(unattributed) as s:
        rows = quote_rows(s, template=template)
        cliff = [r for r in rows if r.theme == "Falling off a cliff edge" and not r.subtheme]
        assert [r.participant for r in cliff] == ["P1", "P2", "S1", None]     # unattributed last
        assert cliff[-1].attribution == "[unattributed]" and cliff[-1].quote == "What does your role involve?"
        assert quote_rows(s)[3].attribution == "(unattributed)"
        for fmt in ("csv", "md", "xlsx", "docx"):
            export_quotes(s, out / f"q.{fmt}", template=template)
    text = (out / "q.csv").read_text("utf-8-sig")
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["quote"] == "What does your role involve?"]
    assert row["attribution"] == "[unattributed]" and row["participant"] == ""
    assert "*\u201cWhat does your role involve?\u201d* [unattributed]" in (out / "q.md").read_text()
    ws = openpyxl.load_workbook(out / "q.xlsx")["Quotes"]
    assert [r[4] for r in ws.iter_rows(values_only=True) if r[3] == "What does your role involve?"] == ["[unattributed]"]
    cells = [c for t in docx.Document(str(out / "q.docx")).tables for r in t.rows for c in r.cells]
    assert any(c.text == "\u201cWhat does your role involve?\u201d [unattributed]" for c in cells)


def test_quote_export_errors(themed, out):
    from exporters.quotes import export_quotes

    with open_study(themed) as s:
        with pytest.raises(InvalidInput, match="unknown field"):
            export_quotes(s, out / "q.csv", template="({rank})")
        with pytest.raises(InvalidInput, match="format"):
            export_quotes(s, out / "q.pdf")
        with pytest.raises(InvalidInput, match="no quotes"):
            export_quotes(s, out / "q.csv", themes=["Numbers"])
    assert not (out / "q.csv").exists()


def test_a_large_docx_quote_table_is_built_fast_enough_to_be_practical(tmp_path):
    """5,000 rows through the fast row builder (timing is measured in benchmarks/, not here)."""
    import docx

    from exporters.quotes import to_docx
    from exporters.tables import docx_bytes
    from qualcode.evidence import QuoteRow
    from qualcode.export import EPOCH

    rows = [QuoteRow(theme=f"Theme {i // 500}", subtheme=f"Sub {i // 100}", quote=f"Quote number {i} " * 5,
                     attribution=f"(P{i % 40 + 1})", participant=f"P{i % 40 + 1}", group="patient", code="c",
                     document="d", start=i, end=i + 5, coding_id=i, coder="A", key=False, theme_path="t")
             for i in range(5000)]
    data = docx_bytes(to_docx(rows, "Quotes", EPOCH), EPOCH)
    doc = docx.Document(io.BytesIO(data))
    assert len(doc.tables) == 10 and sum(len(t.rows) - 2 for t in doc.tables) == 5000


# -- maps --------------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_map_figures_are_produced(themed, out, suffix):
    from exporters.maps import export_map

    path = out / f"map.{suffix}"
    with open_study(themed) as s:
        result = export_map(s, path, counts=True)
    data = path.read_bytes()
    assert result.format == suffix and result.items == 7
    if suffix == "png":
        width, height = png_size(data)
        assert width > 800 and height > 150 and len(data) > 20_000
    elif suffix == "svg":
        text = data.decode()
        assert text.lstrip().startswith("<?xml") and "<svg" in text
        labels = re.findall(r"<text[^>]*>(.*?)</text>", text, flags=re.S)
        joined = " ".join(labels)
        for label in ("Falling off a cliff", "Keeping going", "Being understood", "Cliff edge (3)", "Pacing (2)",
                      "Peer support (2)"):
            assert label in joined, label
        assert "Numbers" not in joined
    else:
        assert data.startswith(b"%PDF-") and len(data) > 5_000 and b"%%EOF" in data[-64:]


def test_map_layout_never_overlaps_on_a_big_map(tmp_path):
    """15 themes, 45 subthemes and 150 codes: no two boxes intersect, every box is inside the page."""
    from exporters.maps import layout_map, render_figure

    path = tmp_path / "big.qc"
    s = Study.create(path, title="A large study", coder="A")
    t = themes_of(s)
    with s.change("bulk", "bulk"):
        codes = [s.codes.add(f"Code number {i} " + "long words " * (i % 4)).path for i in range(150)]
        k = 0
        for i in range(15):
            theme = t.add(f"Theme {i}: " + "a rather long theme name " * (i % 3), status="active")
            t.assign(theme.path, codes[k:k + 4])
            k += 4
            for j in range(3):
                sub = t.add(f"Subtheme {i}.{j}" + " with more words" * j, parent=theme.path)
                n = 2 if k < 150 else 0
                if n:
                    t.assign(sub.path, codes[k:k + n])
                    k += n
        assert k == 150
    from qualcode.themes import map_tree

    root = map_tree(s, counts=True)
    for layout in ("map", "tree", "auto"):
        lay = layout_map(root, counts=True, layout=layout)
        rects = []
        for b in lay.boxes:
            left = b.x if b.side > 0 or b.node.kind == "root" else b.x - b.w
            rects.append((left, b.y - b.h / 2, left + b.w, b.y + b.h / 2, b.node.label))
            assert lay.x0 <= left and left + b.w <= lay.x0 + lay.width
            assert lay.y0 <= b.y - b.h / 2 and b.y + b.h / 2 <= lay.y0 + lay.height
        rects.sort()
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                if b[0] >= a[2]:
                    break
                overlap = min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
                assert not overlap, (a[4], b[4])
    assert len(lay.boxes) == 1 + 15 + 45 + 150
    assert lay.kind == "tree" and lay.width <= MAX_WIDTH      # auto: too wide as a map
    data = render_figure(root, "png", counts=True)
    width, height = png_size(data)
    assert png_dpi(data) == 300 and abs(width - lay.width / 72 * 300) <= 1 and height > 5000   # 300 dpi, big or not
    # so tall a map is said to be, with what to do: it cannot fit a page with 6 pt labels
    from exporters.maps import COLUMN, PAGE, export_map

    result = export_map(s, tmp_path / "big.svg", counts=True)
    pages = lay.height * min(1.0, COLUMN / lay.width) / PAGE
    assert pages > 3 and result.notes == (
        f"printed 16 cm wide, this map is about {pages:.1f} pages tall; for a figure that fits a page, "
        "draw a few themes at a time (--theme, repeatable) or themes only (--no-codes)",)
    assert export_map(s, tmp_path / "one.svg", themes=["Theme 1: a rather long theme name "]).notes == ()
    assert export_map(s, tmp_path / "big.txt").notes == ()  # text has no page size
    s.close()


def png_dpi(data: bytes) -> int:
    at = data.index(b"pHYs")
    per_metre, _y, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    assert unit == 1
    return round(per_metre * 0.0254)


def test_the_default_map_fits_a_manuscript_column(tmp_path):
    """The demo's map was a 6:1 strip whose 8.5 pt labels printed at 3.5 pt across 16 cm; the default
    (auto) layout keeps every label at 6 pt or more there, at an aspect closer to a page."""
    from PIL import Image

    import sample_transcripts
    from exporters.maps import COLUMN, LEGEND_SIZE, STYLE, export_map, layout_map
    from qualcode.cli.demo import build
    from qualcode.themes import map_tree

    path = tmp_path / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()
    with open_study(path) as s:
        root = map_tree(s, counts=True)
        lay = layout_map(root, counts=True)
        smallest = min([LEGEND_SIZE] + [st["size"] for st in STYLE.values()])
        assert smallest * COLUMN / lay.width >= 6.0
        assert lay.width / lay.height < 2.0                       # not a strip
        assert layout_map(root, counts=True, layout="map").width / lay.width > 1.5   # the old default
        assert export_map(s, tmp_path / "map.png", counts=True).notes == ()   # fits a page: no advice
    data = (tmp_path / "map.png").read_bytes()
    assert png_dpi(data) == 300
    image = Image.open(tmp_path / "map.png")
    image.load()
    assert image.size == png_size(data) and image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255)
    colours = {c for _n, c in image.getcolors(1 << 20)}
    assert (0x33, 0x33, 0x33) in colours                       # the title box


def test_text_on_theme_boxes_has_enough_contrast():
    """White on orange #E69F00 or pink #CC79A7 is about 2:1; the text colour follows luminance."""
    from exporters.maps import _tint, contrast, text_colour
    from qualcode.store.themes import PALETTE

    assert text_colour("#E69F00") != "#FFFFFF" and text_colour("#CC79A7") != "#FFFFFF"
    assert text_colour("#0072B2") == "#FFFFFF" and text_colour("#333333") == "#FFFFFF"
    for colour in PALETTE:
        for fill in (colour, _tint(colour, 0.25), _tint(colour, 0.88)):     # theme, candidate, subtheme
            assert contrast(text_colour(fill), fill) >= 4.5, fill


def test_the_map_legend_and_counts_are_the_same_in_every_format(themed, out):
    """The figure, the text tree, DOT and Mermaid show the same counts and explain the dashes, the
    grey dots and the unit."""
    from exporters.maps import export_map
    from qualcode.themes import map_tree

    with open_study(themed) as s:
        for suffix in ("svg", "txt", "dot", "mmd"):
            export_map(s, out / f"m.{suffix}", counts=True, include_discarded=True)
        root = map_tree(s, counts=True, include_discarded=True)
    svg = " ".join(re.findall(r"<text[^>]*>(.*?)</text>", (out / "m.svg").read_text(), flags=re.S))
    svg = re.sub(r"<[^>]+>", " ", svg)
    tree = (out / "m.txt").read_text()
    dot = (out / "m.dot").read_text()
    for n, _depth in root.walk():
        if n.kind == "root":
            continue
        assert n.counts_text() in svg and n.count_label() in tree and n.count_label() in dot, n.label
    for text in (svg, tree, dot, (out / "m.mmd").read_text()):
        flat = " ".join(text.split())
        assert "passages = distinct coded passages" in flat.replace("\\n", " ")
    for text in (svg, dot, (out / "m.mmd").read_text()):
        assert "dashed outline: candidate theme" in text and "grey, dotted: discarded theme" in text


def test_dot_output_parses_with_pydot(themed, out, tmp_path):
    """A real DOT parser (pydot, a test dependency) reads the map back: nodes, labels, edges."""
    import warnings

    with warnings.catch_warnings():       # pydot's parser uses pyparsing's old names
        warnings.simplefilter("ignore")
        pydot = pytest.importorskip("pydot")
        import pydot.dot_parser  # noqa: F401
    from exporters.maps import export_map

    with open_study(themed) as s:
        export_map(s, out / "m.dot", counts=True, include_discarded=True)
    [graph] = pydot.graph_from_dot_data((out / "m.dot").read_text())
    nodes = {n.get_name(): n for n in graph.get_nodes() if n.get_name() not in ("node", "graph", "edge")}
    assert nodes["root"].get("label") == '"Pain study"'
    assert nodes["t1"].get("label") == '"Falling off a cliff edge (3 participants, 5 passages)"'
    edges = {(e.get_source(), e.get_destination()) for e in graph.get_edges()}
    assert ("root", "t1") in edges and all(a in nodes and b in nodes for a, b in edges)
    for path in (GOLDEN / "map.dot", out / "m.dot"):
        assert pydot.graph_from_dot_data(path.read_text())
    odd = tmp_path / "odd.qc"
    s = Study.create(odd, title='A "quoted" study', coder="A")
    s.codes.add("Back\\slash <b> & #1")
    themes_of(s).add('"Walking off" a cliff <edge> & #1 | pipe; {braces} [x]', codes=["Back\\slash <b> & #1"])
    export_map(s, tmp_path / "odd.dot")
    s.close()
    [odd_graph] = pydot.graph_from_dot_data((tmp_path / "odd.dot").read_text())
    assert odd_graph.get_node("t1")[0].get("label") == '"\\"Walking off\\" a cliff <edge> & #1 | pipe; {braces} [x]"'


def _dot_tokens(text: str):
    pattern = re.compile(r'\s+|//[^\n]*|(?P<str>"(?:\\.|[^"\\])*")|(?P<id>[A-Za-z_][A-Za-z_0-9]*|-?\d+(?:\.\d+)?)'
                         r"|(?P<arrow>->)|(?P<p>[{}\[\];,=])")
    pos = 0
    while pos < len(text):
        m = pattern.match(text, pos)
        assert m, f"unexpected DOT text at {pos}: {text[pos:pos + 30]!r}"
        pos = m.end()
        for kind in ("str", "id", "arrow", "p"):
            if m.group(kind) is not None:
                yield kind, m.group(kind)


def check_dot(text: str) -> dict[str, dict[str, str]]:
    """Parse the DOT subset qualcode writes; return node attributes; fail on any syntax error."""
    toks = list(_dot_tokens(text))
    i = 0

    def take(kind=None, value=None):
        nonlocal i
        k, v = toks[i]
        assert (kind is None or k == kind) and (value is None or v == value), (k, v, kind, value, i)
        i += 1
        return v

    def attrs():
        out = {}
        take("p", "[")
        while toks[i] != ("p", "]"):
            key = take("id")
            take("p", "=")
            k, v = toks[i]
            assert k in ("id", "str")
            i_val = take()
            out[key] = bytes(i_val[1:-1], "utf-8").decode("unicode_escape") if k == "str" else i_val
            if toks[i] == ("p", ","):
                take()
        take("p", "]")
        return out

    take("id", "digraph")
    take("id")
    take("p", "{")
    nodes, edges = {}, []
    while toks[i] != ("p", "}"):
        first = take("id")
        if first in ("graph", "node", "edge"):
            attrs()
        elif toks[i] == ("arrow", "->"):
            take()
            second = take("id")
            if toks[i] == ("p", "["):
                attrs()
            edges.append((first, second))
        else:
            nodes[first] = attrs()
        take("p", ";")
    take("p", "}")
    assert i == len(toks)
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes


MERMAID_NODE = re.compile(r'^  (\w+)(\(\["[^"]*"\]\)|\("[^"]*"\)|\["[^"]*"\])$')
MERMAID_EDGE = re.compile(r"^  (\w+) --> (\w+)$")
MERMAID_STYLE = re.compile(r"^  style (\w+) (?:[\w-]+:[#\w. ]+)(?:,[\w-]+:[#\w. ]+)*$")


def check_mermaid(text: str) -> dict[str, str]:
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "flowchart LR"
    nodes, edges, styled = {}, [], set()
    for line in lines[1:]:
        if m := MERMAID_NODE.match(line):
            label = re.search(r'"([^"]*)"', m.group(2)).group(1)
            assert not re.search(r"[<>]", label)
            nodes[m.group(1)] = label
        elif m := MERMAID_EDGE.match(line):
            edges.append(m.groups())
        elif m := MERMAID_STYLE.match(line):
            styled.add(m.group(1))
        elif line.startswith("%% "):         # a comment line (the legend)
            continue
        else:
            pytest.fail(f"not Mermaid flowchart syntax: {line!r}")
    assert all(a in nodes and b in nodes for a, b in edges) and styled <= set(nodes)
    return nodes


def test_dot_and_mermaid_parse_and_escape_awkward_names(tmp_path):
    from exporters.maps import export_map

    path = tmp_path / "odd.qc"
    s = Study.create(path, title='A "quoted" study', coder="A")
    s.codes.add("Back\\slash <b> & #1")
    s.codes.add("Shared")
    t = themes_of(s)
    awkward = '"Walking off" a cliff <edge> & #1 | pipe; {braces} [x]'
    t.add(awkward, codes=["Back\\slash <b> & #1", "Shared"], status="active")
    t.add("Other", codes=["Shared"])
    export_map(s, tmp_path / "m.dot")
    export_map(s, tmp_path / "m.mmd")
    nodes = check_dot((tmp_path / "m.dot").read_text())
    assert nodes["t1"]["label"] == awkward and nodes["root"]["label"] == 'A "quoted" study'
    assert nodes["c1"]["label"] == "Back\\slash <b> & #1"
    assert (tmp_path / "m.dot").read_text().count("-> c2") == 2          # a shared code: one node, two links
    mm = check_mermaid((tmp_path / "m.mmd").read_text())
    assert mm["t1"] == "#quot;Walking off#quot; a cliff #lt;edge#gt; & #35;1 | pipe; {braces} [x]"
    s.close()


def test_golden_dot_and_mermaid_are_valid(themed):
    check_dot((GOLDEN / "map.dot").read_text())
    check_mermaid((GOLDEN / "map.mmd").read_text())


def test_map_errors(tmp_path, themed):
    from exporters.maps import export_map

    empty = Study.create(tmp_path / "e.qc", coder="A")
    with pytest.raises(InvalidInput, match="no themes"):
        export_map(empty, tmp_path / "m.png")
    empty.close()
    with open_study(themed) as s:
        with pytest.raises(InvalidInput, match="format"):
            export_map(s, tmp_path / "m.jpeg")
        with pytest.raises(InvalidInput):
            export_map(s, tmp_path / "m.png", layout="spring")


# -- matrix, participants, codebook --------------------------------------------------------------

def test_matrix_xlsx_and_docx(themed, out):
    import docx
    import openpyxl

    from exporters.matrix import export_matrix

    with open_study(themed) as s:
        export_matrix(s, out / "m.xlsx", attributes=["age"])
        export_matrix(s, out / "m.docx", by="subthemes")
        with pytest.raises(InvalidInput, match="unknown participant attribute"):
            export_matrix(s, out / "m.csv", group_by=["shoe size"])
        with pytest.raises(InvalidInput, match="real names"):
            export_matrix(s, out / "m.csv", attributes=["name"])
    rows = list(openpyxl.load_workbook(out / "m.xlsx").active.iter_rows(values_only=True))
    assert rows[0] == ("group", "participant", "age", "Falling off a cliff edge", "Being understood")
    p1 = [r for r in rows if r[1] == "P1"][0]
    assert p1[0] == "patient" and p1[2] == "52"
    assert "– pacing as a skill" in p1[3] and "Quotes: Q1*, Q4" in p1[3]      # the quote table's numbers
    doc = docx.Document(str(out / "m.docx"))
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Participant", "Falling off a cliff edge",
                                                     "Falling off a cliff edge/Keeping going", "Being understood"]
    assert table.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None
    assert table.rows[1].cells[0].text == "patient"          # a section row opens each group
    assert doc.sections[0].page_width > doc.sections[0].page_height


def test_participant_table_suppression(themed, out):
    import docx

    from exporters.participants_table import export_participants
    from qualcode.evidence import participant_table

    with open_study(themed) as s:
        table = participant_table(s, ["age", "gender"], suppress_below=5)
        assert table.headers == ["Characteristic", "Patients (n = 3)", "Staff (n = 1)", "Total (n = 4)"]
        rows = {r[0].strip(): r[1:] for r in table.rows}
        assert rows["Participants, n"] == ["3", "1", "4"]
        assert rows["mean"] == ["–", "–", "–"] and rows["F"] == ["<5", "<5", "<5"]
        # staff: F is <5 and M is 0; with the group size shown, M = 0 would give F away: M is suppressed too
        assert rows["M"] == ["<5", "*", "<5"]
        open_table = participant_table(s, ["age", "gender"], suppress_below=0)
        rows = {r[0].strip(): r[1:] for r in open_table.rows}
        assert rows["mean"] == ["60.0", "41.0", "55.2"] and rows["median"] == ["61", "41", "56.5"]
        assert rows["range"] == ["52–67", "41–41", "41–67"] and rows["F"] == ["2 (67 %)", "1 (100 %)", "3 (75 %)"]
        assert participant_table(s, ["age"], suppress_below=3, groups=["staff", "patient"]).headers[1] == "Staff (n = 1)"
        with pytest.raises(InvalidInput):
            participant_table(s, ["age"], groups=["aliens"])
        export_participants(s, out / "p.docx", attributes=["age", "gender"])
    doc = docx.Document(str(out / "p.docx"))
    assert doc.tables[0].rows[0].cells[0].text == "Characteristic"
    assert any("<5" in p.text for p in doc.paragraphs)          # the suppression note


def _people(path, groups):
    """A study with participants only: groups = {group: [(age, gender), ...]}."""
    s = Study.create(path, coder="A")
    for prefix, people in groups.items():
        for i, (age, gender) in enumerate(people, start=1):
            attributes = {"gender": gender}
            if age is not None:
                attributes["age"] = str(age)
            s.participants.add(f"{prefix[0].upper()}{i}", group=prefix, attributes=attributes)
    return s


def test_suppressed_cells_cannot_be_recovered_by_subtraction(tmp_path, out):
    from exporters.participants_table import export_participants
    from qualcode.evidence import participant_table

    s = _people(tmp_path / "p.qc", {
        "patient": [(30 + i, "F" if i < 6 else "M") for i in range(10)],     # 6 F, 4 M
        "staff": [(50, "F"), (51, "F"), (52, "F"), (53, "F"), (54, "F"), (60, "M")],   # 5 F, 1 M
        "volunteer": [(25, "F"), (70, "M")],                              # 2: too few for any summary
    })
    table = participant_table(s, ["age", "gender"])
    rows = {r[0].strip(): r[1:] for r in table.rows}
    assert table.headers[1:] == ["Patients (n = 10)", "Staff (n = 6)", "Volunteers (n = 2)", "Total (n = 18)"]
    # every column and row holds no suppressed count alone: none is total minus the others
    for i, r in enumerate(table.rows):
        if table.kinds[i] == "value":
            assert sum(c in ("<5", "*") for c in r[1:]) != 1, r
    for j in range(3):
        column = [rows["F"][j], rows["M"][j]]
        assert sum(c in ("<5", "*") for c in column) != 1, column
    assert rows["M"][:3] == ["<5", "<5", "<5"] and rows["F"][1] == "*" and rows["F"][2] == "<5"
    # ages: the volunteers' 2 values are hidden, and so is the next smallest group's (staff, 6),
    # or the total's mean minus the others' would give the volunteers' mean and the total's
    # range their ages (25 and 70)
    assert rows["mean"][2] == "–" and rows["mean"][1] == "–" and rows["range"][1] == "–"
    assert rows["mean"][0] == "34.5" and rows["range"][0] == "30–39"
    assert rows["range"][3] == "25–70"                     # from 18 people: no group of fewer than 5 exposed
    assert "worked out from a total by subtraction" in table.notes[0] and "next smallest group" in table.notes[0]
    export_participants(s, out / "p.md", attributes=["age", "gender"])
    text = (out / "p.md").read_text()
    assert "| \\* |" in text and "by subtraction" in text
    open_table = participant_table(s, ["gender"], suppress_below=0)
    assert {r[0].strip(): r[1:] for r in open_table.rows}["M"] == ["4 (40 %)", "1 (17 %)", "1 (50 %)", "6 (33 %)"]
    s.close()


def test_codebook_docx(themed, out):
    import docx

    from exporters.codebook import export_codebook

    with open_study(themed) as s:
        export_codebook(s, out / "c.docx")
    table = docx.Document(str(out / "c.docx")).tables[0]
    texts = [r.cells[0].text.strip() for r in table.rows[1:]]
    assert texts[:2] == ["Counting", "Peer support"] and "Cliff edge" in texts
    cliff = [r for r in table.rows if r.cells[0].text.strip() == "Cliff edge"][0]
    assert "Include when: Feeling dropped" in cliff.cells[1].text and cliff.cells[2].text == "3"   # passages
    assert cliff.cells[5].text == "Falling off a cliff edge"


# -- determinism and the export door -------------------------------------------------------------

EVERY = [("quotes", "docx"), ("quotes", "xlsx"), ("quotes", "csv"), ("quotes", "md"), ("map", "png"),
         ("map", "svg"), ("map", "pdf"), ("map", "dot"), ("matrix", "docx"), ("matrix", "xlsx"),
         ("participants", "docx"), ("codebook", "docx")]


def _export(kind, s, path):
    from exporters.codebook import export_codebook
    from exporters.maps import export_map
    from exporters.matrix import export_matrix
    from exporters.participants_table import export_participants
    from exporters.quotes import export_quotes

    return {"quotes": export_quotes, "map": export_map, "matrix": export_matrix,
            "participants": export_participants, "codebook": export_codebook}[kind](s, path)


def test_exports_are_deterministic(themed, tmp_path):
    """Same study, same bytes: exported twice, a second apart (zip and document times are fixed)."""
    import time

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with open_study(themed) as s:
        first = [_export(kind, s, tmp_path / "a" / f"{kind}.{fmt}") for kind, fmt in EVERY]
        time.sleep(1.1)
        second = [_export(kind, s, tmp_path / "b" / f"{kind}.{fmt}") for kind, fmt in EVERY]
    for (kind, fmt), a, b in zip(EVERY, first, second):
        assert a.sha256 == b.sha256, (kind, fmt)
        assert (tmp_path / "a" / f"{kind}.{fmt}").read_bytes() == (tmp_path / "b" / f"{kind}.{fmt}").read_bytes()


def test_recorded_creation_time_is_the_last_change(themed, tmp_path, monkeypatch):
    import docx

    from exporters.quotes import export_quotes
    from qualcode.export import export_time

    with open_study(themed) as s:
        result = export_quotes(s, tmp_path / "q.docx")
        stamp = export_time(s)
        assert result.created == stamp.isoformat().replace("+00:00", "Z")
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "946684800")
        assert export_time(s).year == 2000
    created = docx.Document(str(tmp_path / "q.docx")).core_properties.created
    assert created.replace(tzinfo=None) == stamp.replace(tzinfo=None)
    with zipfile.ZipFile(tmp_path / "q.docx") as z:
        assert {i.date_time[:3] for i in z.infolist()} == {(stamp.year, stamp.month, stamp.day)}


def test_every_export_passes_through_the_guard(themed, tmp_path, monkeypatch):
    import qualcode.export as door

    seen = []

    def spy(content, **kw):
        seen.append((kw["kind"], kw["fmt"], kw["text"]))
        return content

    monkeypatch.setattr(door, "guard", spy)
    with open_study(themed) as s:
        for kind, fmt in EVERY + [("map", "mmd"), ("map", "txt"), ("matrix", "csv"), ("participants", "md"),
                                  ("codebook", "csv")]:
            _export(kind, s, tmp_path / f"x.{fmt}")
        from qualcode.cli import main

        assert main(["report", "methods", str(themed), "-o", str(tmp_path / "methods.md")]) == 0
    assert len(seen) == len(EVERY) + 6
    # binary formats hand the guard their readable text, so it can scan quotes and labels
    texts = {(k, f): t for k, f, t in seen}
    assert "falling off a cliff edge" in texts[("quotes", "docx")]
    assert "Keeping going" in texts[("map", "png")]


def test_a_failing_guard_stops_the_export_and_writes_nothing(themed, tmp_path, monkeypatch):
    import qualcode.export as door
    from exporters.quotes import export_quotes
    from qualcode.errors import CheckFailed

    def refuse(content, **kw):
        raise CheckFailed("a real name would leak")

    monkeypatch.setattr(door, "guard", refuse)
    with open_study(themed) as s:
        with pytest.raises(CheckFailed):
            export_quotes(s, tmp_path / "q.docx")
    assert list(tmp_path.iterdir()) == []


def test_the_export_door_refuses_the_study_file_and_folders(themed, tmp_path):
    from qualcode.export import write_export

    with open_study(themed) as s:
        with pytest.raises(InvalidInput, match="study file"):
            write_export(s, themed, "x", kind="test")
        with pytest.raises(InvalidInput, match="folder"):
            write_export(s, tmp_path, "x", kind="test")
        with pytest.raises(InvalidInput, match="does not exist"):
            write_export(s, tmp_path / "nope" / "x.txt", "x", kind="test")


def test_an_unwritable_path_is_named_in_the_error_never_the_temporary_file(themed, tmp_path, monkeypatch):
    import qualcode.export as door

    target = tmp_path / "x.svg"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".x.svg.abc123.part"))

    with open_study(themed) as s:
        monkeypatch.setattr(door.tempfile, "mkstemp", refuse)
        with pytest.raises(InvalidInput) as err:
            door.write_export(s, target, "x", kind="test")
        assert str(err.value) == f"cannot write {target}: Permission denied" and ".part" not in str(err.value)
        monkeypatch.undo()
        monkeypatch.setattr(door.os, "replace", refuse)
        with pytest.raises(InvalidInput, match=f"cannot write {re.escape(str(target))}: Permission denied"):
            door.write_export(s, target, "x", kind="test")
    assert list(tmp_path.iterdir()) == []          # the temporary file went too


# -- CLI -----------------------------------------------------------------------------------------

def test_cli_exports(themed, tmp_path, qc):
    p = str(themed)
    for args in (("map", "-o", tmp_path / "m.svg", "--counts"), ("map", "-o", tmp_path / "m.txt", "--no-codes"),
                 ("quotes", "-o", tmp_path / "q.md", "--key-only", "--template", "[{label}, {group}]"),
                 ("quotes", "-o", tmp_path / "q.csv", "--theme", "Being understood"),
                 ("matrix", "-o", tmp_path / "x.csv", "--by", "codes", "--sort", "age"),
                 ("participants", "-o", tmp_path / "p.md", "--attribute", "age", "--suppress-below", "0"),
                 ("codebook", "-o", tmp_path / "c.md")):
        r = qc("export", args[0], p, *args[1:])
        assert r.code == 0, (args, r.err)
        assert r.out.startswith(f"Wrote {args[2]}")
    assert (tmp_path / "m.txt").read_text().splitlines() == [
        "Pain study", "├── Falling off a cliff edge", "│   └── Keeping going [candidate]",
        "└── Being understood [candidate]"]
    assert "*\u201cit was like falling off a cliff edge\u201d* [P1, patient]" in (tmp_path / "q.md").read_text()
    assert {r["theme"] for r in csv.DictReader(io.StringIO((tmp_path / "q.csv").read_text("utf-8-sig")))} == {
        "Being understood"}
    data = qc("export", "map", p, "-o", tmp_path / "m.dot", "--json").json()
    assert data["format"] == "dot" and len(data["sha256"]) == 64


def test_cli_export_errors(themed, tmp_path, qc):
    p = str(themed)
    for args in (("export", "quotes", p, "-o", tmp_path / "q.csv", "--template", "({nope})"),
                 ("export", "map", p, "-o", tmp_path / "m.gif"),
                 ("export", "quotes", p, "-o", tmp_path / "q.csv", "--theme", "Nope"),
                 ("export", "participants", p, "-o", tmp_path / "p.md", "--attribute", "name"),
                 ("report", "methods", p, "-o", tmp_path / "m.docx"),
                 ("report", "methods", p, "--agreement", "--unit", "bogus"),
                 ("report", "methods", p, "--unit", "bogus")):
        r = qc(*args)
        assert r.code == 2 and r.err.startswith("qualcode: error:") and r.err.count("\n") == 1, (args, r.err)
    assert not any(tmp_path.iterdir())


def test_cli_report_methods(themed, tmp_path, qc):
    p = str(themed)
    r = qc("report", "methods", p)
    assert r.code == 0 and "Transcripts: 4" in r.out and "Double coded: 2 of 4 transcripts (50 %)" in r.out
    data = qc("report", "methods", p, "--json", "--agreement", "--unit", "document").json()
    assert data["participants"] == 4 and data["double_coded"]["share"] == 0.5
    assert qc("report", "methods", p, "-o", tmp_path / "m.json").code == 0
    assert '"transcripts": 4' in (tmp_path / "m.json").read_text()


# -- the demo study, end to end ------------------------------------------------------------------

SAMPLE_THEMES = {
    # theme: (status, [(subtheme, [codes])], own codes)
    "Falling off a cliff edge": ("active", [("Keeping gains going", ["Programme ending/Maintaining gains",
                                                                     "Self-management/Pacing"])],
                                 ["Programme ending/Cliff edge"]),
    "Only people with pain get it": ("active", [("Giving something back", ["Peer support/Giving back",
                                                                           "Peer support/Volunteer role and boundaries"]),
                                                ("Groups on screen", ["Peer support/Remote groups"])],
                                     ["Peer support/Feeling understood", "Living with pain/Invisible pain and stigma"]),
    "Somebody again": ("candidate", [], ["Identity/Loss of former self", "Identity/Hope and rebuilding",
                                         "Identity/Work and purpose"]),
    "Falling through the gaps": ("candidate", [("Waiting", ["Services/Waiting lists"])],
                                 ["Services/Referral pathways", "Services/Social prescribing"]),
}


def test_demo_study_to_map_and_quote_table(tmp_path, qc):
    import docx

    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()  # the demo brings its sample themes and key quotes
    p = str(path)
    theme = "Falling off the cliff edge"
    from qualcode.study import Study

    with Study.open(path) as s:  # start from no key quotes at all
        for quote in s.themes.key_quotes():
            s.themes.quote(quote.coding_id, quote.theme, unflag=True)
    # flag key quotes: P1's, PTV1's and S1's cliff edge
    extracts = qc("evidence", p, "--code", "Programme ending/Cliff edge", "--coder", "Amira", "--json").json()["extracts"]
    chosen = {}
    for e in extracts:
        chosen.setdefault(e["participant"], e["coding_id"])
    for label in ("P1", "PTV1", "S1"):
        assert qc("themes", "quote", p, str(chosen[label]), "--theme", theme).code == 0
    ev = qc("evidence", p, "--theme", theme, "--json").json()
    assert {g["group"] for g in ev["groups"]} == {"patient", "patient tutor volunteer", "staff"}
    assert "1 of 7 patients: P1" in ev["summary"]

    png = tmp_path / "map.png"
    assert qc("export", "map", p, "-o", png, "--counts").code == 0
    width, height = png_size(png.read_bytes())
    assert width > 1500 and height > 300

    plain = tmp_path / "quotes.docx"
    assert qc("export", "quotes", p, "-o", plain, "--key-only", "--theme", theme, "--allow-leaks").code == 0
    [table] = docx.Document(str(plain)).tables
    assert table.rows[0].cells[0].text == theme
    assert [c.text for c in table.rows[1].cells] == ["Quote", "No."]  # no subtheme has key quotes
    attributions = [r.cells[0].paragraphs[0].runs[-1].text.strip() for r in table.rows[2:]]
    assert attributions == ["(P1)", "(PTV1)", "(S1)"]

    styled = tmp_path / "quotes_styled.docx"
    template = "[Participant {number}, {role}, {experience_band}]"
    # the demo is not anonymised (its transcripts keep names on purpose): lift the guard here
    r = qc("export", "quotes", p, "-o", styled, "--template", template, "--allow-leaks")
    assert r.code == 0, r.err
    tables = docx.Document(str(styled)).tables
    assert all(_repeats(t.rows[0]) and _repeats(t.rows[1]) for t in tables)
    cells = [r.cells[-2] for t in tables for r in t.rows[2:]]
    ends = {c.paragraphs[0].runs[-1].text.strip() for c in cells}
    assert "[Participant 1, Senior Health Connector, highly experienced]" in ends
    assert "[Participant 1, Patient Tutor Volunteer, experienced]" in ends
    assert "[Participant 1, Patient]" in ends
    assert all(c.paragraphs[0].runs[0].italic for c in cells)
    assert qc("report", "methods", p).code == 0


# -- one counting unit everywhere ----------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_study(tmp_path_factory):
    """The demo study (two coders whose codings overlap) plus a discarded subtheme."""
    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path_factory.mktemp("demo") / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()
    with Study.open(path) as s:
        t = themes_of(s)
        t.add("Dropped idea", parent="Being believed", status="discarded", codes=["Peer support/Remote groups"])
    return path


def test_every_export_counts_passages_the_way_the_quote_table_does(demo_study, tmp_path, qc):
    """Map, text tree, evidence, themes list, overview, codebook and quote table agree: counts are
    passages (overlapping codings by any coder once), a theme's are its quote-table rows, and
    discarded subthemes are left out unless asked for."""
    from exporters.codebook import export_codebook
    from qualcode.evidence import codebook_rows, evidence
    from qualcode.themes import map_tree

    p = str(demo_study)
    with open_study(demo_study) as s:
        rows = quote_rows(s)
        per_theme: dict[str, int] = {}
        for r in rows:
            per_theme[r.theme] = per_theme.get(r.theme, 0) + 1
        per_node: dict[str, int] = {}
        for r in rows:
            per_node[r.theme_path] = per_node.get(r.theme_path, 0) + 1
        root = map_tree(s, counts=True)
        listed = {r["path"]: r for r in qc("themes", "list", p, "--json").json()}
        overview = {r["theme"]: r for r in qc("evidence", p, "--json").json()["themes"]}
        for theme in root.children:
            ev = evidence(s, theme=theme.label)
            assert theme.passages == ev.passages == per_theme[theme.label], theme.label
            assert listed[theme.label]["passages"] == overview[theme.label]["passages"] == ev.passages
            assert theme.participants == len(ev.participant_labels) == listed[theme.label]["participants"]
        # a node with one code: the code's count is the node's quote-table rows
        codebook = {r["path"]: r for r in codebook_rows(s)}
        cliff = s.themes.get("Falling off the cliff edge")
        node = next(n for n in root.children if n.label == cliff.name)
        for code_node in (n for n in node.children if n.kind == "code"):
            path = next(c for c in cliff.codes if c.endswith(code_node.label))
            assert code_node.passages == codebook[path]["passages"] == evidence(s, code=path).passages
        cliff_code = codebook["Programme ending/Cliff edge"]
        assert cliff_code["passages"] < cliff_code["codings"]          # 2 coders: 12 passages, 19 codings
        believed = evidence(s, theme="Being believed")
        assert "Being believed/Dropped idea" not in [x["theme"] for x in believed.subthemes]
        with_discarded = evidence(s, theme="Being believed", include_discarded=True)
        assert with_discarded.passages > believed.passages
        shown = map_tree(s, counts=True, include_discarded=True)
        assert next(n for n in shown.children if n.label == "Being believed").passages == with_discarded.passages
        assert listed["Being believed"]["passages"] == believed.passages          # listed, but not counted
        assert listed["Being believed/Dropped idea"]["status"] == "discarded"
        export_codebook(s, tmp_path / "c.md")
    # the unit is named in every output
    text = qc("export", "map", p, "-o", tmp_path / "m.txt", "--counts").code == 0 and (tmp_path / "m.txt").read_text()
    assert f"Falling off the cliff edge ({node.participants} participants, {node.passages} passages)" in text
    assert "Counts: passages = distinct coded passages" in text
    assert "passages = distinct coded passages" in qc("themes", "list", p).out
    out = qc("evidence", p, "--code", "Programme ending/Cliff edge").out
    assert f"Passages: {cliff_code['passages']} ({cliff_code['codings']} codings: Amira " in out
    assert "Passages:" in (tmp_path / "c.md").read_text()


def test_the_matrix_refers_to_quotes_by_the_quote_tables_numbers(demo_study, tmp_path):
    from exporters.matrix import export_matrix
    from exporters.quotes import export_quotes
    from qualcode.anonymise.guard import allowing_leaks
    from qualcode.evidence import framework_matrix

    with open_study(demo_study) as s, allowing_leaks():
        rows = quote_rows(s)
        refs = [r.ref for r in rows]
        assert refs == [f"Q{i}" for i in range(1, len(rows) + 1)]            # the full table reads Q1, Q2 ...
        by_ref = {r.ref: r for r in rows}
        matrix = framework_matrix(s)
        cited = {ref.rstrip("*") for row in matrix.rows for cell in row.cells for ref in cell.refs}
        assert cited and cited <= set(refs)
        for row in matrix.rows:
            for title, cell in zip(matrix.columns, row.cells):
                for ref in cell.refs:
                    quote = by_ref[ref.rstrip("*")]
                    assert quote.theme == title and quote.participant == row.participant
                    assert not ref.endswith("*") or quote.key
        # cut-down tables keep the numbers
        for cut in (quote_rows(s, ["Being believed"]), quote_rows(s, key_only=True), quote_rows(s, coder="Ben")):
            for r in cut:
                base = r.ref.rstrip("abcdefghijklmnopqrstuvwxyz")
                full = by_ref[base]
                assert (full.theme_path, full.document) == (r.theme_path, r.document)
                assert full.start <= r.start and r.end <= full.end
        export_quotes(s, tmp_path / "q.csv")
        export_matrix(s, tmp_path / "m.csv")
    table = {r["ref"] for r in csv.DictReader(io.StringIO((tmp_path / "q.csv").read_text("utf-8-sig")))}
    matrix_text = (tmp_path / "m.csv").read_text("utf-8-sig")
    assert set(re.findall(r"\bQ\d+", matrix_text)) <= table


def test_golden_methods_report_of_the_demo_study(tmp_path, qc):
    """``report methods`` on the demo study, as text (the Python version normalised)."""
    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()
    r = qc("report", "methods", str(path), "--agreement", "-o", tmp_path / "methods.txt")
    assert r.code == 0, r.err
    text = re.sub(r"\(Python [\d.]+\w*\)", "(Python X.Y.Z)", (tmp_path / "methods.txt").read_text())
    (tmp_path / "methods_demo.txt").write_text(text)
    golden("methods_demo.txt", tmp_path / "methods_demo.txt")
