"""Participant characteristics table (COREQ item 16) as DOCX, CSV or Markdown.

Columns are the participant groups and the total; rows are counts, numeric summaries (mean,
median, range) and categorical counts n (%), with small-cell suppression — counts below the
threshold as ``<k``, complementary suppression (``*``) so that none can be worked out by
subtraction from a total, summaries of too few values as ``–``
(:func:`qualcode.evidence.participant_table`). DOCX and Markdown add the note saying which rules
were applied under the table; CSV holds the table only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from exporters.tables import (
    FastRows, add_table, csv_bytes, docx_bytes, docx_text, markdown_table, md_escape, new_document, table_text,
)
from qualcode.errors import InvalidInput
from qualcode.evidence import CharacteristicsTable, participant_table
from qualcode.export import ExportResult, export_time, write_export

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("docx", "csv", "md", "markdown")


def export_participants(study: "Study", path: str | Path, *, attributes: Sequence[str] | None = None,
                        suppress_below: int = 5, groups: Sequence[str] | None = None,
                        title: str | None = None) -> ExportResult:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the table format from {path.name!r}: use .docx, .csv or .md")
    if not study.participants.list():
        raise InvalidInput("the study has no participants yet (qualcode participants import)")
    table = participant_table(study, attributes, suppress_below=suppress_below, groups=groups)
    title = title if title is not None else "Participant characteristics"
    text = table_text(table.headers, table.rows)
    if fmt == "csv":
        content: str | bytes = csv_bytes(table.headers, [[c.strip() for c in r] for r in table.rows])
    elif fmt in ("md", "markdown"):
        content = to_markdown(table, title)
    else:
        created = export_time(study)
        doc = to_docx(table, title, created)
        content = docx_bytes(doc, created)
        text = docx_text(doc)
    return write_export(study, path, content, kind="participants", fmt=fmt, text=text, items=len(table.rows))


def _md(text: str) -> str:
    return md_escape(text).replace("*", "\\*")     # the complementary-suppression mark, not emphasis


def to_markdown(table: CharacteristicsTable, title: str) -> str:
    rows = [[("&nbsp;&nbsp;" + md_escape(r[0].strip())) if r[0].startswith("  ") else
             (f"**{md_escape(r[0])}**" if kind == "heading" else md_escape(r[0])), *(_md(c) for c in r[1:])]
            for r, kind in zip(table.rows, table.kinds)]
    out = f"# {title}\n\n" if title else ""
    out += markdown_table(table.headers, rows, raw=True)
    for note in table.notes:
        out += f"\n{_md(note)}\n"
    return out


def to_docx(table: CharacteristicsTable, title: str, created):
    doc = new_document(created, title=title)
    doc.add_heading(title, level=1)
    widths = [3.0] + [1.6] * (len(table.headers) - 1)
    t = add_table(doc, table.headers, widths)
    fast = FastRows(t)
    for row, kind in zip(table.rows, table.kinds):
        label = row[0]
        first = [(label.strip(), {"bold": kind == "heading"})]
        if label.startswith("  "):
            first = [("\u2003" + label.strip(), {})]
        fast.add([first, *row[1:]])
    for note in table.notes:
        doc.add_paragraph(note).runs[0].italic = True
    return doc
