"""Shared writers for tabular exports: CSV, XLSX, Markdown and DOCX, all deterministic.

- CSV: UTF-8 with a BOM (Excel reads it as UTF-8), CRLF rows (RFC 4180), every cell made safe
  against formula injection.
- XLSX (openpyxl): bold header row, frozen and repeated when printed, wrapped text, fixed
  document properties; text is always a string cell (never a formula, and no apostrophe: a
  string cell is never evaluated), so ``=SUM(A1)`` reads back as exactly that.
- Markdown: pipe tables with ``|`` escaped and line breaks as ``<br>``.
- DOCX (python-docx): real Word tables whose header rows repeat on every page (``w:tblHeader``;
  optionally a heading row spanning the table above the column headings), cell paragraphs in a
  tight "Table Text" style (0 pt before, 1 pt after, single spacing), fixed core properties.

Zip containers (DOCX, XLSX) are rewritten with fixed member times, so the same content always
gives the same bytes; the only recorded creation time is the one passed in (``created``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

# -- cells -------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: text that a spreadsheet would run as a formula
    (starting with ``= + - @``, a tab or a carriage return) gets a leading apostrophe (OWASP).
    Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def xlsx_value(value: Any) -> Any:
    """A value for an XLSX cell: text as it is (written as a string cell, which a spreadsheet
    never evaluates, so no apostrophe is needed or shown), numbers as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    return str(value)


def _formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


# -- CSV ---------------------------------------------------------------------------------------

def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# -- Markdown ----------------------------------------------------------------------------------

def md_escape(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(part.strip() for part in text.splitlines()) if "\n" in text else text


def md_inline(text: str) -> str:
    """Text for emphasis markers: escape the characters that would end or start emphasis."""
    out = md_escape(text)
    for ch in ("*", "_", "`"):
        out = out.replace(ch, "\\" + ch)
    return out


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], raw: bool = False) -> str:
    """A pipe table. With ``raw`` the cells are already Markdown (escaped by the caller)."""
    cell = (lambda v: "" if v is None else str(v)) if raw else md_escape
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# -- zip containers ----------------------------------------------------------------------------

def normalise_zip(data: bytes, when: datetime) -> bytes:
    """Rewrite a zip with every member's time set to ``when`` (same order, same content)."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second - when.second % 2)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            member.create_system = 0
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


# -- XLSX --------------------------------------------------------------------------------------

@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    widths: dict[int, float] = field(default_factory=dict)   # column index -> width in characters
    wrap: set[int] = field(default_factory=set)              # column indexes with wrapped text
    italic: set[int] = field(default_factory=set)
    section_rows: set[int] = field(default_factory=set)      # row indexes shown bold (group headings)


def xlsx_bytes(sheets: Sequence[Sheet], created: datetime, title: str = "") -> bytes:
    """An XLSX workbook (openpyxl, write-only mode: 5,000 styled rows in about a second)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    naive = created.replace(tzinfo=None)
    wb.properties.created = naive
    wb.properties.modified = naive
    wb.properties.creator = "qualcode"
    wb.properties.lastModifiedBy = "qualcode"
    wb.properties.title = title or None
    bold = Font(bold=True)
    italic = Font(italic=True)
    wrapped = Alignment(vertical="top", wrap_text=True)
    top = Alignment(vertical="top")
    used_titles: set[str] = set()
    for sheet in sheets:
        ws = wb.create_sheet(_sheet_title(sheet.title, used_titles))
        for j, width in sorted(sheet.widths.items()):
            ws.column_dimensions[get_column_letter(j + 1)].width = width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        if sheet.headers:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.headers))}{len(sheet.rows) + 1}"

        def cell(value, font=None, alignment=None):
            c = WriteOnlyCell(ws, value=xlsx_value(value))
            if c.data_type == "f":      # a string cell, never a formula: Excel does not evaluate it
                c.data_type = "s"
            if font is not None:
                c.font = font
            if alignment is not None:
                c.alignment = alignment
            return c

        ws.append([cell(h, bold, wrapped) for h in sheet.headers])
        styled = sheet.wrap | sheet.italic
        for i, row in enumerate(sheet.rows):
            if i in sheet.section_rows:
                ws.append([cell(v, bold, top) for v in row])
                continue
            # plain values for unstyled cells: styling every cell triples the time
            ws.append([cell(v, italic if j in sheet.italic else None, wrapped if j in sheet.wrap else None)
                       if j in styled or _formula_like(v) else xlsx_value(v) for j, v in enumerate(row)])
    buffer = io.BytesIO()
    wb.save(buffer)
    return normalise_zip(_fix_xlsx_times(buffer.getvalue(), created), created)


def _sheet_title(title: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'") or "Sheet"
    clean = clean[:31]
    base, n = clean, 2
    while clean.casefold() in used:
        suffix = f" ({n})"
        clean = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(clean.casefold())
    return clean


def _fix_xlsx_times(data: bytes, created: datetime) -> bytes:
    """openpyxl stamps ``dcterms:modified`` with the clock on save; put the export time back."""
    import re

    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>", blob)
            dst.writestr(info, blob)
    return out.getvalue()


# -- DOCX --------------------------------------------------------------------------------------

def new_document(created: datetime, title: str = "", landscape: bool = False):
    """A python-docx Document with fixed core properties and A4 pages (2 cm margins)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    doc = Document()
    props = doc.core_properties
    props.title = title
    props.author = "qualcode"
    props.last_modified_by = "qualcode"
    props.revision = 1
    props.created = created.replace(tzinfo=None)
    props.modified = created.replace(tzinfo=None)
    section = doc.sections[0]
    width, height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        width, height = height, width
    section.page_width, section.page_height = width, height
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    return doc


def text_width(doc) -> int:
    section = doc.sections[0]
    return section.page_width - section.left_margin - section.right_margin


def repeat_header(row) -> None:
    """Flag a table row as a header row repeated at the top of every page (``w:tblHeader``)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    for old in tr_pr.findall(qn("w:tblHeader")):
        tr_pr.remove(old)
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


TABLE_TEXT = "Table Text"    # the paragraph style of every table cell: no space before, 1 pt after


def _table_text_style(doc) -> str:
    """The style id of the cell paragraph style (added once per document): tight spacing, so
    rows are as tall as their text (Normal's 10 pt space after would pad every cell)."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    try:
        style = doc.styles[TABLE_TEXT]
    except KeyError:
        style = doc.styles.add_style(TABLE_TEXT, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.quick_style = True
        fmt = style.paragraph_format
        fmt.space_before = Pt(0)
        fmt.space_after = Pt(1)
        fmt.line_spacing = 1.0
    return style.style_id


def add_table(doc, headers: Sequence[str], widths: Sequence[float] | None = None, style: str = "Table Grid",
              heading: str | None = None, heading_shade: str = "E7E6E6"):
    """A table with a bold header row that repeats on every page; returns the table.

    With ``heading``, a first header row spanning the table holds that text (a theme's name), so
    it repeats on every page the table runs onto, above the column headings."""
    from docx.shared import Emu

    table = doc.add_table(rows=0, cols=len(headers))
    try:
        table.style = doc.styles[style]
    except KeyError:
        pass
    table.autofit = False
    emus = None
    if widths:
        total = sum(widths)
        full = text_width(doc)
        emus = [Emu(int(full * w / total)) for w in widths]
        for col, w in zip(table.columns, emus):
            col.width = w
    table._col_widths = emus  # remembered for fast rows
    fast = FastRows(table)
    if heading is not None:
        fast.add([[(heading, {"bold": True})]], shade=heading_shade, span=True, header=True, keep_with_next=True)
    fast.add([[(str(h), {"bold": True})] for h in headers], header=True, keep_with_next=True)
    return table


class FastRows:
    """Append many rows to a python-docx table quickly (built as XML, not through ``add_row``).

    ``add(cells)``: each cell is a list of runs ``(text, {"italic": bool, "bold": bool, "size":
    points, "colour": "RRGGBB"})`` or a plain string. Cells may hold line breaks (``\\n``) — they
    become separate paragraphs, in the tight "Table Text" style.
    """

    def __init__(self, table) -> None:
        self.table = table
        self.widths = getattr(table, "_col_widths", None)
        self.style_id = _table_text_style(table.part.document)

    def add(self, cells: Sequence[Any], shade: str | None = None, bold: bool = False, *, span: bool = False,
            header: bool = False, keep_together: bool = False, keep_with_next: bool = False) -> None:
        """One row. ``span``: a single cell across every column; ``header``: repeated at the top of
        every page (header rows must come first); ``keep_together``: never split across pages;
        ``keep_with_next``: on the same page as the next row."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        tr = OxmlElement("w:tr")
        if header or keep_together:
            tr_pr = OxmlElement("w:trPr")
            if keep_together:
                tr_pr.append(OxmlElement("w:cantSplit"))
            if header:
                flag = OxmlElement("w:tblHeader")
                flag.set(qn("w:val"), "true")
                tr_pr.append(flag)
            tr.append(tr_pr)
        columns = len(self.table.columns)
        for j, content in enumerate(cells):
            tc = OxmlElement("w:tc")
            tc_pr = OxmlElement("w:tcPr")
            if self.widths:
                w = OxmlElement("w:tcW")
                width = sum(self.widths) if span else self.widths[j]
                w.set(qn("w:w"), str(int(width / 635)))   # EMU -> twentieths of a point
                w.set(qn("w:type"), "dxa")
                tc_pr.append(w)
            if span and columns > 1:
                g = OxmlElement("w:gridSpan")
                g.set(qn("w:val"), str(columns))
                tc_pr.append(g)
            if shade:
                shd = OxmlElement("w:shd")
                shd.set(qn("w:val"), "clear")
                shd.set(qn("w:color"), "auto")
                shd.set(qn("w:fill"), shade)
                tc_pr.append(shd)
            tc.append(tc_pr)
            runs = [(content, {})] if isinstance(content, str) or content is None else list(content)
            paragraphs: list[list[tuple[str, dict]]] = [[]]
            for text, fmt in runs:
                parts = ("" if text is None else str(text)).split("\n")
                for k, part in enumerate(parts):
                    if k:
                        paragraphs.append([])
                    if part:
                        paragraphs[-1].append((part, fmt))
            for para in paragraphs:
                p = OxmlElement("w:p")
                p_pr = OxmlElement("w:pPr")
                p_style = OxmlElement("w:pStyle")
                p_style.set(qn("w:val"), self.style_id)
                p_pr.append(p_style)
                if keep_with_next:
                    p_pr.append(OxmlElement("w:keepNext"))
                p.append(p_pr)
                for text, fmt in para:
                    r = OxmlElement("w:r")
                    if fmt.get("italic") or fmt.get("bold") or bold or fmt.get("size") or fmt.get("colour"):
                        r_pr = OxmlElement("w:rPr")
                        if fmt.get("bold") or bold:
                            r_pr.append(OxmlElement("w:b"))
                        if fmt.get("italic"):
                            r_pr.append(OxmlElement("w:i"))
                        if fmt.get("colour"):
                            colour = OxmlElement("w:color")
                            colour.set(qn("w:val"), fmt["colour"])
                            r_pr.append(colour)
                        if fmt.get("size"):
                            size = OxmlElement("w:sz")
                            size.set(qn("w:val"), str(int(round(fmt["size"] * 2))))
                            r_pr.append(size)
                        r.append(r_pr)
                    t = OxmlElement("w:t")
                    t.text = _xml_safe(text)
                    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                    r.append(t)
                    p.append(r)
                tc.append(p)
            tr.append(tc)
            if span:
                break
        self.table._tbl.append(tr)


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters other than tab and newline)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff")


def docx_bytes(doc, created: datetime) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return normalise_zip(buffer.getvalue(), created)


def docx_text(doc) -> str:
    """The document's text (paragraphs and table cells), for the anonymisation guard."""
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for tr in table._tbl.tr_lst:
            for tc in tr.tc_lst:
                parts.append("".join(t.text or "" for t in tc.iter(
                    "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")))
    return "\n".join(parts)


def table_text(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in [headers, *rows])
