"""Codebook export (COREQ item 25, the coding tree) as DOCX, CSV or Markdown.

Every code in tree order with its definition (description, include when, exclude when, example),
counts (passages, codings, documents, participants) and the themes it serves
(:func:`qualcode.evidence.codebook_rows`).

- CSV: flat, one row per code with its full path and depth; formula-safe.
- Markdown: the tree as a nested list with counts, then one section per code with its definition.
- DOCX: a table Code | Definition | Passages | Documents | Participants | Themes, indented by
  depth, header repeated on every page.

Counts are passages, the unit of the map and the quote table (overlapping codings by any coder
count once); CSV also has ``codings`` (every coder's counted separately).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from exporters.tables import (
    FastRows, add_table, csv_bytes, docx_bytes, docx_text, md_escape, new_document, table_text,
)
from qualcode.errors import InvalidInput
from qualcode.evidence import codebook_rows
from qualcode.export import ExportResult, export_time, write_export

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("docx", "csv", "md", "markdown")
CSV_HEADERS = ["code", "name", "parent", "depth", "description", "include_when", "exclude_when", "example",
               "passages", "codings", "documents", "participants", "themes", "colour", "status"]
COUNTS_NOTE = ("Passages: distinct coded passages (overlapping codings by any coder count once, as in the map "
               "and the quote table); codings: every coder's codings counted separately.")
FIELDS = (("description", "Description"), ("include_when", "Include when"), ("exclude_when", "Exclude when"),
          ("example", "Example"))


def export_codebook(study: "Study", path: str | Path, *, title: str | None = None) -> ExportResult:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the codebook format from {path.name!r}: use .docx, .csv or .md")
    rows = codebook_rows(study)
    if not rows:
        raise InvalidInput("the study has no codes yet")
    title = title if title is not None else "Codebook"
    flat = [[r["path"], r["name"], r["parent"], r["depth"], r["description"], r["include_when"],
             r["exclude_when"], r["example"], r["passages"], r["codings"], r["documents"], r["participants"],
             "; ".join(r["themes"]), r["colour"], r["status"]] for r in rows]
    text = table_text(CSV_HEADERS, flat)
    if fmt == "csv":
        content: str | bytes = csv_bytes(CSV_HEADERS, flat)
    elif fmt in ("md", "markdown"):
        content = to_markdown(rows, title)
    else:
        created = export_time(study)
        doc = to_docx(rows, title, created)
        content = docx_bytes(doc, created)
        text = docx_text(doc)
    return write_export(study, path, content, kind="codebook", fmt=fmt, text=text, items=len(rows))


def _n(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _counts(r: dict) -> str:
    return f"{_n(r['passages'], 'passage')}, {_n(r['participants'], 'participant')}"


def to_markdown(rows: list[dict], title: str) -> str:
    out = [f"# {title}\n\n"] if title else []
    out.append("## Code tree\n\n")
    out.append(f"{COUNTS_NOTE}\n\n")
    for r in rows:
        out.append(f"{'  ' * r['depth']}- **{md_escape(r['name'])}** ({_counts(r)})\n")
    out.append("\n## Definitions\n")
    for r in rows:
        out.append(f"\n### {md_escape(r['path'])}\n\n")
        for key, label in FIELDS:
            if r[key]:
                out.append(f"- *{label}:* {md_escape(r[key])}\n")
        out.append(f"- *Counts:* {_n(r['passages'], 'passage')} ({_n(r['codings'], 'coding')}) in "
                   f"{_n(r['documents'], 'document')}, {_n(r['participants'], 'participant')}\n")
        if r["themes"]:
            out.append(f"- *Themes:* {md_escape('; '.join(r['themes']))}\n")
    return "".join(out)


def to_docx(rows: list[dict], title: str, created):
    doc = new_document(created, title=title, landscape=True)
    doc.add_heading(title, level=1)
    table = add_table(doc, ["Code", "Definition", "Passages", "Documents", "Participants", "Themes"],
                      [2.6, 6.0, 0.9, 0.9, 1.1, 2.2])
    fast = FastRows(table)
    for r in rows:
        definition = []
        for key, label in FIELDS:
            if r[key]:
                if definition:
                    definition.append(("\n", {}))
                definition += [(f"{label}: ", {"bold": True}), (r[key], {"italic": key == "example"})]
        name = [("\u2003" * r["depth"] + r["name"], {"bold": r["depth"] == 0})]
        fast.add([name, definition or "", str(r["passages"]), str(r["documents"]), str(r["participants"]),
                  "; ".join(r["themes"])])
    note = doc.add_paragraph(COUNTS_NOTE)
    for run in note.runs:
        run.italic = True
    return doc
