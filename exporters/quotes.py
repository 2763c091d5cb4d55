"""Quote tables: theme | subtheme | quote | attribution, grouped by theme (DOCX, CSV, Markdown, XLSX).

The rows come from :func:`qualcode.evidence.quote_rows`. Layouts:

- DOCX: a real Word table (``Table Grid``) with a header row that repeats on every page; columns
  Theme | Subtheme | Quote (no Subtheme column when no row has one); a theme's and a subtheme's
  name are written on their first row only; each quote is italic with its attribution after it
  in upright type: *"It's like walking off a cliff."* (P1).
- Markdown: one section per theme (``## Theme``) holding a table Subtheme | Quote, the quote in
  italics followed by its attribution.
- CSV and XLSX: one flat row per quote with traceability columns (participant, group, code,
  document, span, coding id, coder, key quote); cells are formula-safe.
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
CSV_HEADERS = ["theme", "subtheme", "quote", "attribution", "participant", "group", "code", "document",
               "start", "end", "coding_id", "coder", "key_quote"]
OPEN, CLOSE = "\u201c", "\u201d"


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
        content = xlsx_bytes([Sheet("Quotes", CSV_HEADERS, flat, widths={0: 28, 1: 28, 2: 80, 3: 22, 6: 28, 7: 18},
                                    wrap={0, 1, 2, 3}, italic={2})], created, title=title)
    else:
        doc = to_docx(rows, title, created)
        content = docx_bytes(doc, created)
        text = docx_text(doc)
    return write_export(study, path, content, kind="quotes", fmt=fmt, text=text, items=len(rows))


def _flat(r: QuoteRow) -> list:
    return [r.theme, r.subtheme, r.quote, r.attribution, r.participant or "", r.group or "", r.code,
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
                body.append([shown, quote])
            else:
                body.append([quote])
        out.append(markdown_table(["Subtheme", "Quote"] if has_sub else ["Quote"], body, raw=True))
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
    doc = new_document(created, title=title)
    if title:
        doc.add_heading(title, level=1)
    has_sub = any(r.subtheme for r in rows)
    headers = ["Theme", "Subtheme", "Quote"] if has_sub else ["Theme", "Quote"]
    widths = [2.2, 2.2, 7.0] if has_sub else [2.6, 8.0]
    table = add_table(doc, headers, widths)
    fast = FastRows(table)
    last_theme = last_sub = None
    for r in rows:
        theme_cell = [(r.theme, {"bold": True})] if r.theme != last_theme else ""
        if r.theme != last_theme:
            last_sub = None
        sub_cell = r.subtheme if (r.subtheme, r.theme) != (last_sub, last_theme) else ""
        quote = [(_quoted(r.quote), {"italic": True}), (" " + r.attribution, {})]
        fast.add([theme_cell, sub_cell, quote] if has_sub else [theme_cell, quote])
        last_theme, last_sub = r.theme, r.subtheme
    return doc
