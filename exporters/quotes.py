"""Quote tables: theme | subtheme | quote | attribution, grouped by theme (DOCX, CSV, Markdown, XLSX).

The rows come from :func:`qualcode.evidence.quote_rows`; each quote carries its quote number
(``Q12``, :class:`qualcode.evidence.QuoteRefs`), the reference the framework matrix uses.
Layouts:

- DOCX: one real Word table (``Table Grid``) per theme. Its first two rows are header rows that
  Word repeats on every page the table runs onto: the theme's name across the table, then the
  column headings Subtheme | Quote | No. (no Subtheme column when no row has one) — so a theme
  continued on a new page is still named at its top. A subtheme's name is written on its first
  row; each quote is italic with its attribution after it in upright type:
  *"It's like walking off a cliff."* (P1). Cell paragraphs are tight (0 pt before, 1 pt after)
  and a row never splits across pages.
- Markdown: one section per theme (``## Theme``) holding a table Subtheme | Quote | No., the
  quote in italics followed by its attribution.
- CSV and XLSX: one flat row per quote with the quote number and traceability columns
  (participant, group, code, document, span, coding id, coder, key quote); CSV cells are
  formula-safe, XLSX cells are string cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from exporters.tables import (
    FastRows, Sheet, add_table, csv_bytes, docx_bytes, docx_text, markdown_table, md_inline, new_document,
    table_text, xlsx_bytes,
)
from qualcode.errors import InvalidInput
from qualcode.evidence import QuoteRow, quote_rows
from qualcode.export import ExportResult, export_time, write_export

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("docx", "csv", "md", "markdown", "xlsx")
CSV_HEADERS = ["ref", "theme", "subtheme", "quote", "attribution", "participant", "group", "code", "document",
               "start", "end", "coding_id", "coder", "key_quote"]
OPEN, CLOSE = "\u201c", "\u201d"
REF_NOTE = ("No. is the quote number; the framework matrix (qualcode export matrix) refers to quotes by it. "
            "One row per passage: overlapping codings by any coder are one quote.")


def export_quotes(study: "Study", path: str | Path, *, themes: Sequence[str] | None = None,
                  key_only: bool = False, template: str = "({label})", coder: str | None = None,
                  include_discarded: bool = False, title: str | None = None) -> ExportResult:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the table format from {path.name!r}: use .docx, .csv, .md or .xlsx")
    rows = quote_rows(study, themes, key_only=key_only, template=template, coder=coder,
                      include_discarded=include_discarded)
    if not rows:
        what = "key quotes" if key_only else "quotes"
        raise InvalidInput(f"no {what} to export: gather codes into themes first (qualcode themes assign)"
                           + (" and flag key quotes (qualcode themes quote)" if key_only else ""))
    title = title if title is not None else "Illustrative quotes"
    flat = [_flat(r) for r in rows]
    text = table_text(CSV_HEADERS, flat)
    created = export_time(study)
    if fmt == "csv":
        content: str | bytes = csv_bytes(CSV_HEADERS, flat)
    elif fmt in ("md", "markdown"):
        content = to_markdown(rows, title)
    elif fmt == "xlsx":
        content = xlsx_bytes([Sheet("Quotes", CSV_HEADERS, flat,
                                    widths={0: 7, 1: 28, 2: 28, 3: 80, 4: 22, 7: 28, 8: 18},
                                    wrap={1, 2, 3, 4}, italic={3})], created, title=title)
    else:
        doc = to_docx(rows, title, created)
        content = docx_bytes(doc, created)
        text = docx_text(doc)
    return write_export(study, path, content, kind="quotes", fmt=fmt, text=text, items=len(rows))


def _flat(r: QuoteRow) -> list:
    return [r.ref, r.theme, r.subtheme, r.quote, r.attribution, r.participant or "", r.group or "", r.code,
            r.document, r.start, r.end, r.coding_id, r.coder, "yes" if r.key else ""]


def _quoted(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def to_markdown(rows: Sequence[QuoteRow], title: str) -> str:
    out = [f"# {title}\n"] if title else []
    has_sub = any(r.subtheme for r in rows)
    for theme in _groups(rows, lambda r: r.theme):
        out.append(f"\n## {md_inline(theme[0].theme)}\n\n")
        body, last = [], None
        for r in theme:
            quote = f"*{md_inline(_quoted(r.quote))}* {md_inline(r.attribution)}"
            if has_sub:
                shown = md_inline(r.subtheme) if r.subtheme != last else ""
                last = r.subtheme
                body.append([shown, quote, r.ref])
            else:
                body.append([quote, r.ref])
        out.append(markdown_table(["Subtheme", "Quote", "No."] if has_sub else ["Quote", "No."], body, raw=True))
    out.append(f"\n{REF_NOTE}\n")
    return "".join(out)


def _groups(rows: Sequence[QuoteRow], key) -> list[list[QuoteRow]]:
    groups: list[list[QuoteRow]] = []
    for r in rows:
        if groups and key(groups[-1][0]) == key(r):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def to_docx(rows: Sequence[QuoteRow], title: str, created):
    from docx.shared import Pt

    doc = new_document(created, title=title)
    if title:
        doc.add_heading(title, level=1)
    has_sub = any(r.subtheme for r in rows)
    headers = ["Subtheme", "Quote", "No."] if has_sub else ["Quote", "No."]
    widths = [3.0, 12.5, 1.5] if has_sub else [15.3, 1.7]
    for i, theme in enumerate(_groups(rows, lambda r: r.theme)):
        if i:   # a paragraph between the tables, or Word joins them into one
            gap = doc.add_paragraph()
            gap.paragraph_format.space_after = Pt(6)
        table = add_table(doc, headers, widths, heading=theme[0].theme)
        fast = FastRows(table)
        last_sub = None
        for r in theme:
            quote = [(_quoted(r.quote), {"italic": True}), (" " + r.attribution, {})]
            ref = [(r.ref, {"colour": "595959"})]
            if has_sub:
                sub_cell = r.subtheme if r.subtheme != last_sub else ""
                last_sub = r.subtheme
                fast.add([sub_cell, quote, ref], keep_together=True)
            else:
                fast.add([quote, ref], keep_together=True)
    note = doc.add_paragraph(REF_NOTE)
    note.paragraph_format.space_before = Pt(6)
    for run in note.runs:
        run.italic = True
        run.font.size = Pt(8.5)
    return doc
