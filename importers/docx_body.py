"""The body of a Word document as a list of paragraphs and table rows, in document order.

Reads the main document part's XML directly with lxml (the parser python-docx uses, with entity
resolution and network access off) instead of opening the whole package with python-docx, which
costs about 10 ms per file in styles and part loading: a batch of 1,000 transcripts would spend
10 s there. What is read, mirroring python-docx's ``Paragraph.text``: ``w:t`` text, ``w:tab`` ->
``\\t``, ``w:br`` (line breaks only) and ``w:cr`` -> ``\\n``, ``w:noBreakHyphen`` -> ``-``; runs
inside hyperlinks, simple fields, smart tags, content controls and tracked insertions; not
deleted or moved-away text, not text boxes. Tables: rows of cells (a vertically merged cell once,
nested tables recursed); body-level content controls are entered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from lxml import etree

from qualcode.errors import InvalidInput

_NAMESPACES = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",  # Strict OOXML
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(slots=True)
class Run:
    text: str
    bold: bool


@dataclass(slots=True)
class Para:
    runs: list[Run]
    style: str = ""
    outline: bool = False  # w:outlineLvl: a heading whatever its style is called

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(slots=True)
class Row:
    cells: list[list[Para]] = field(default_factory=list)  # each cell: its paragraphs
    nested: bool = False  # a cell holds a table: read the cells as ordinary blocks


class _Names:
    def __init__(self, ns: str) -> None:
        w = "{%s}" % ns
        self.val = w + "val"
        self.p, self.r, self.t, self.tab, self.ptab, self.br, self.cr = (
            w + "p", w + "r", w + "t", w + "tab", w + "ptab", w + "br", w + "cr")
        self.hyphen = w + "noBreakHyphen"
        self.type = w + "type"
        self.tbl, self.tr, self.tc = w + "tbl", w + "tr", w + "tc"
        self.tcPr, self.vMerge = w + "tcPr", w + "vMerge"
        self.pPr, self.pStyle, self.outlineLvl = w + "pPr", w + "pStyle", w + "outlineLvl"
        self.rPr, self.b, self.rStyle = w + "rPr", w + "b", w + "rStyle"
        self.body = w + "body"
        self.containers = {w + name for name in ("hyperlink", "fldSimple", "smartTag", "ins", "moveTo", "customXml", "dir", "bdo")}
        self.sdt, self.sdtContent = w + "sdt", w + "sdtContent"


def _bold(run: etree._Element, n: _Names) -> bool:
    rpr = run.find(n.rPr)
    if rpr is None:
        return False
    b = rpr.find(n.b)
    if b is not None:
        return b.get(n.val, "true").lower() not in ("0", "false", "off")
    style = rpr.find(n.rStyle)
    return style is not None and style.get(n.val, "").lower() in ("strong", "bold")


def _run_text(run: etree._Element, n: _Names) -> str:
    parts = []
    for child in run:
        tag = child.tag
        if tag == n.t:
            parts.append(child.text or "")
        elif tag == n.tab or tag == n.ptab:
            parts.append("\t")
        elif tag == n.br:
            if child.get(n.type, "textWrapping") == "textWrapping":
                parts.append("\n")
        elif tag == n.cr:
            parts.append("\n")
        elif tag == n.hyphen:
            parts.append("-")
    return "".join(parts)


def _runs(container: etree._Element, n: _Names) -> Iterator[Run]:
    for child in container:
        tag = child.tag
        if tag == n.r:
            yield Run(_run_text(child, n), _bold(child, n))
        elif tag in n.containers:
            yield from _runs(child, n)
        elif tag == n.sdt:
            content = child.find(n.sdtContent)
            if content is not None:
                yield from _runs(content, n)


def _para(p: etree._Element, n: _Names) -> Para:
    style, outline = "", False
    ppr = p.find(n.pPr)
    if ppr is not None:
        ps = ppr.find(n.pStyle)
        if ps is not None:
            style = ps.get(n.val, "")
        outline = ppr.find(n.outlineLvl) is not None
    return Para(list(_runs(p, n)), style, outline)


def _cell_paras(tc: etree._Element, n: _Names) -> list[Para]:
    return [_para(p, n) for p in tc.iter(n.p)]


def _blocks(container: etree._Element, n: _Names) -> Iterator[Para | Row]:
    for child in container:
        tag = child.tag
        if tag == n.p:
            yield _para(child, n)
        elif tag == n.tbl:
            for tr in child.findall(n.tr):
                row = Row()
                cells = []
                for tc in tr.findall(n.tc):
                    tcpr = tc.find(n.tcPr)
                    merge = tcpr.find(n.vMerge) if tcpr is not None else None
                    if merge is not None and merge.get(n.val, "continue") != "restart":
                        continue  # the lower part of a vertically merged cell
                    cells.append(tc)
                row.nested = any(tc.find(n.tbl) is not None for tc in cells)
                if row.nested:
                    for tc in cells:
                        yield from _blocks(tc, n)
                    continue
                row.cells = [_cell_paras(tc, n) for tc in cells]
                yield row
        elif tag == n.sdt:
            content = child.find(n.sdtContent)
            if content is not None:
                yield from _blocks(content, n)
        elif tag in n.containers:
            yield from _blocks(child, n)


def read_body(xml: bytes) -> list[Para | Row]:
    """Paragraphs and table rows of a main document part, or ``InvalidInput``."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"not a readable Word document (broken XML: {str(exc)[:80]})") from None
    ns = etree.QName(root).namespace
    if ns not in _NAMESPACES:
        raise InvalidInput("not a Word document (unexpected main part)")
    n = _Names(ns)
    body = root.find(n.body)
    if body is None:
        raise InvalidInput("not a Word document (no body)")
    return list(_blocks(body, n))
