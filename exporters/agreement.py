"""Agreement reports to files: CSV, Markdown, DOCX tables and a codes x documents heatmap (PNG).

Adapters only: they take a :class:`qualcode.agreement.units.AgreementReport` (computed by the
core) and render it; no SQL, no statistics. Every file goes out through the export door
(``qualcode.export.write_export``: anonymisation guard, atomic write). Output is deterministic
for a given report (the DOCX core properties carry a fixed creation time; the PNG no timestamp).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

from exporters.tables import normalise_zip
from qualcode.agreement.report import (
    csv_rows,
    pairwise_rows,
    sections,
    stat_header,
    undefined_reasons,
)
from qualcode.agreement.units import AgreementReport
from qualcode.export import export_time, write_export

if TYPE_CHECKING:
    from qualcode.study import Study


def write_csv(study: "Study", report: AgreementReport, path: str | Path, cells: bool = True) -> Path:
    """One row per figure (pooled, per code, per document, per code x document)."""
    headers, rows = csv_rows(report, cells=cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    write_export(study, path, out.getvalue(), kind="agreement", fmt="csv", items=len(rows))
    return Path(path)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in headers) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return out


def markdown(report: AgreementReport, cells: bool = False) -> str:
    lines = [f"# Inter-coder agreement: {report.unit_label}", "",
             f"Coders: {', '.join(report.coders)}. Double-coded documents: "
             f"{', '.join(report.documents) or 'none'}.", "", report.methods, ""]
    for title, headers, rows in sections(report, per_document=True, cells=cells):
        lines += [f"## {title}", ""] + (_md_table(headers, rows) if rows else ["(none)"]) + [""]
    headers, rows = pairwise_rows(report)
    lines += [f"## Pairwise {report.pairwise['statistic']}", ""] + _md_table(headers, rows) + [""]
    lines += ["## Notes", ""] + [f"- {n}" for n in report.notes]
    reasons = undefined_reasons(report)
    if reasons:
        lines.append("- n/a: " + "; ".join(reasons) + ".")
    lines.append("- Square brackets: 95 % confidence interval." if report.options.get("bootstrap")
                 else "- No confidence intervals were requested.")
    return "\n".join(lines) + "\n"


def write_markdown(study: "Study", report: AgreementReport, path: str | Path, cells: bool = False) -> Path:
    write_export(study, path, markdown(report, cells), kind="agreement", fmt="md")
    return Path(path)


def write_docx(study: "Study", report: AgreementReport, path: str | Path, cells: bool = False) -> Path:
    """A Word document with the methods sentence and the agreement tables."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title = f"Inter-coder agreement ({report.unit_label})"
    props.author = "qualcode"
    when = export_time(study)
    props.created = props.modified = when
    props.last_modified_by = "qualcode"
    props.revision = 1
    doc.add_heading(f"Inter-coder agreement: {report.unit_label}", level=1)
    doc.add_paragraph(report.methods)
    doc.add_paragraph(f"Coders: {', '.join(report.coders)}. Double-coded documents: "
                      f"{', '.join(report.documents) or 'none'}.")
    tables = sections(report, per_document=True, cells=cells)
    tables.append((f"Pairwise {report.pairwise['statistic']}", *pairwise_rows(report)))
    for title, headers, rows in tables:
        doc.add_heading(title, level=2)
        t = doc.add_table(rows=1 + len(rows), cols=len(headers))
        t.style = "Table Grid"
        for j, h in enumerate(headers):
            cell = t.rows[0].cells[j]
            cell.text = str(h)
            for run in cell.paragraphs[0].runs:
                run.bold = True
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                t.rows[i].cells[j].text = str(value)
        for row in t.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(8)
    doc.add_heading("Notes", level=2)
    for n in report.notes:
        doc.add_paragraph(n, style="List Bullet")
    reasons = undefined_reasons(report)
    if reasons:
        doc.add_paragraph("n/a: " + "; ".join(reasons) + ".", style="List Bullet")
    buffer = io.BytesIO()
    doc.save(buffer)  # zip members carry the clock's time: stamp them with the study's instead
    write_export(study, path, normalise_zip(buffer.getvalue(), when), kind="agreement", fmt="docx",
                 text=markdown(report, cells))
    return Path(path)


def write_heatmap(study: "Study", report: AgreementReport, path: str | Path, key: str | None = None) -> Path:
    """Codes (rows) x documents (columns) heatmap of one statistic; grey = undefined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    key = key or ("percent" if report.unit == "document" else report.headline)
    codes, documents, values = report.cell_values(key)
    n_codes, n_docs = max(len(codes), 1), max(len(documents), 1)
    fig, ax = plt.subplots(figsize=(min(2.0 + 1.1 * n_docs, 24), min(1.5 + 0.32 * n_codes, 40)))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#d9d9d9")
    percent = key == "percent"
    vmin = 0.0 if percent else -0.2
    data = np.ma.masked_invalid(values.reshape(len(codes), len(documents)) if values.size else
                                np.full((1, 1), np.nan))
    im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(documents)), documents, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(codes)), codes, fontsize=8)
    if len(codes) * len(documents) <= 600:
        for i in range(len(codes)):
            for j in range(len(documents)):
                v = values[i, j]
                ax.text(j, i, "n/a" if math.isnan(v) else f"{v:.2f}", ha="center",
                        va="center", fontsize=7, color="#333333")
    label = stat_header(report, key)
    fig.colorbar(im, ax=ax, label=label, extend="min" if not percent else "neither")
    ax.set_title(f"{label} per code and document ({report.unit_label}; "
                 f"{', '.join(report.coders)})", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_export(study, path, buffer.getvalue(), kind="agreement heatmap", fmt="png",
                 text="\n".join([*codes, *documents]))
    return Path(path)
