"""Framework matrix (Gale et al. 2013): participants x themes or codes, as CSV, XLSX or DOCX.

Rows are every participant, grouped by ``group_by`` attributes (default: their group) and sorted
by ``sort_by`` then label; columns are themes (with their subthemes), every theme node, or codes
(:func:`qualcode.evidence.framework_matrix`). A cell holds the memos of its extracts, optionally
short excerpts, and the quote references: the quote numbers the quote table shows in its No.
column (``Q12``, ``*`` marking key quotes); a passage of a code no theme gathers is referred
to by document and span (``P1_interview 120:340``).

- CSV / XLSX: one row per participant: section (the group-by values), participant, the chosen
  attributes, then one column per theme; formula-safe cells.
- DOCX: landscape; a header row repeated on every page; a shaded row opens each section.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from exporters.tables import (
    FastRows, Sheet, add_table, csv_bytes, docx_bytes, docx_text, new_document, table_text, xlsx_bytes,
)
from qualcode.errors import InvalidInput
from qualcode.evidence import Matrix, framework_matrix
from qualcode.export import ExportResult, export_time, write_export

if TYPE_CHECKING:
    from qualcode.study import Study

FORMATS = ("csv", "xlsx", "docx")
NOTE = ("Cells: memos on the extracts, then the quotes: Q numbers are the quote table's No. column "
        "(qualcode export quotes); * = key quote.")


def export_matrix(study: "Study", path: str | Path, *, by: str = "themes", group_by: Sequence[str] = ("group",),
                  sort_by: Sequence[str] = (), attributes: Sequence[str] = (), coder: str | None = None,
                  excerpts: int = 0, include_discarded: bool = False, title: str | None = None) -> ExportResult:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidInput(f"cannot tell the matrix format from {path.name!r}: use .csv, .xlsx or .docx")
    matrix = framework_matrix(study, by, group_by=group_by, sort_by=sort_by, attributes=attributes,
                              coder=coder, excerpts=excerpts, include_discarded=include_discarded)
    if not matrix.columns:
        raise InvalidInput(f"the matrix has no columns: there are no {by} with codings yet")
    headers, rows = flat(matrix)
    text = table_text(headers, rows)
    created = export_time(study)
    title = title if title is not None else f"Framework matrix: participants x {by}"
    if fmt == "csv":
        content: str | bytes = csv_bytes(headers, rows)
    elif fmt == "xlsx":
        first = 2 + len(matrix.attributes)
        widths = {0: 18, 1: 10, **{first + i: 45 for i in range(len(matrix.columns))}}
        content = xlsx_bytes([Sheet("Framework matrix", headers, rows, widths=widths,
                                    wrap=set(range(first, len(headers))))], created, title=title)
    else:
        doc = to_docx(matrix, title, created)
        content = docx_bytes(doc, created)
        text = docx_text(doc)
    return write_export(study, path, content, kind="matrix", fmt=fmt, text=text, items=len(matrix.rows))


def _section_header(matrix: Matrix) -> str:
    return " / ".join(matrix.group_by) if matrix.group_by else "section"


def flat(matrix: Matrix) -> tuple[list[str], list[list]]:
    headers = [_section_header(matrix), "participant", *matrix.attributes, *matrix.columns]
    rows = [[r.section, r.participant, *(r.attributes[a] for a in matrix.attributes), *(c.text for c in r.cells)]
            for r in matrix.rows]
    return headers, rows


def to_docx(matrix: Matrix, title: str, created):
    doc = new_document(created, title=title, landscape=True)
    doc.add_heading(title, level=1)
    doc.add_paragraph(NOTE)
    headers = ["Participant", *matrix.attributes, *matrix.columns]
    widths = [1.2] + [1.0] * len(matrix.attributes) + [3.0] * len(matrix.columns)
    table = add_table(doc, headers, widths)
    fast = FastRows(table)
    section = None
    for r in matrix.rows:
        if matrix.group_by and r.section != section:
            section = r.section
            fast.add([[(section, {"bold": True})]] + [""] * (len(headers) - 1), shade="E7E6E6")
        fast.add([[(r.participant, {"bold": True})], *(r.attributes[a] for a in matrix.attributes),
                  *(c.text for c in r.cells)])
    return doc
