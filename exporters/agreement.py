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
from qualcode.errors import InvalidInput
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
    lines += [f"- Warning: {w}." for w in report.warnings]
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
    _require_suffix(path, ".docx", "the Word document")
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
    for w in report.warnings:
        doc.add_paragraph(f"Warning: {w}.", style="List Bullet")
    reasons = undefined_reasons(report)
    if reasons:
        doc.add_paragraph("n/a: " + "; ".join(reasons) + ".", style="List Bullet")
    buffer = io.BytesIO()
    doc.save(buffer)  # zip members carry the clock's time: stamp them with the study's instead
    write_export(study, path, normalise_zip(buffer.getvalue(), when), kind="agreement", fmt="docx",
                 text=markdown(report, cells))
    return Path(path)


def _require_suffix(path: str | Path, suffix: str, what: str) -> None:
    """A Word file or PNG under another name would lie about its content: refuse it."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise InvalidInput(f"{what} is written as {suffix}: name it like "
                           f"{path.with_suffix(suffix).name}, not {path.name}")


def _luminance(rgba) -> float:
    """Relative luminance (WCAG) of an sRGB colour, 0 (black) .. 1 (white)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(float(c)) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour(rgba) -> str:
    """Near-black on light cells, white on dark ones: whichever contrasts more (WCAG ratio)."""
    lum = _luminance(rgba)
    return "#1a1a1a" if (lum + 0.05) / (0.0103 + 0.05) >= (1.05) / (lum + 0.05) else "#ffffff"


def cell_format(values, percent: bool):
    """One format for every cell of a heatmap: shares as percentages (whole ones when every value
    is a whole percentage, e.g. document level's 0 % / 100 %), coefficients to two decimals."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if percent:
        whole = bool(np.all(np.abs(finite * 100 - np.round(finite * 100)) < 1e-9))
        spec = ".0%" if whole else ".1%"
        return lambda v: format(v, spec).replace("%", " %")
    return lambda v: f"{v:.2f}".replace("-", "\u2212")


def heatmap_figure(report: AgreementReport, key: str | None = None):
    """The matplotlib figure of :func:`write_heatmap` (codes x documents, one statistic).

    The title is wrapped to the figure's width; each cell's value is written in near-black or
    white, whichever contrasts more with its colour; shares (percent agreement, P_obs) are shown
    as percentages, on the colour bar too; undefined cells are grey with "n/a".
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import Normalize, to_rgba
    from matplotlib.ticker import FuncFormatter

    key = key or ("percent" if report.unit == "document" else report.headline)
    codes, documents, values = report.cell_values(key)
    n_codes, n_docs = max(len(codes), 1), max(len(documents), 1)
    width = min(2.5 + 0.9 * n_docs, 24)
    fig, ax = plt.subplots(figsize=(width, min(1.8 + 0.32 * n_codes, 40)))
    bad = "#d9d9d9"
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad=bad)
    percent = key == "percent"
    norm = Normalize(vmin=0.0 if percent else -0.2, vmax=1.0)
    grid = values.reshape(len(codes), len(documents)) if values.size else np.full((1, 1), np.nan)
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto",
                   interpolation="nearest")
    ax.set_xticks(range(len(documents)), documents, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(codes)), codes, fontsize=8)
    fmt = cell_format(values, percent)
    if len(codes) * len(documents) <= 600:
        for i in range(len(codes)):
            for j in range(len(documents)):
                v = values[i, j]
                undefined = math.isnan(v)
                colour = text_colour(to_rgba(bad) if undefined else cmap(norm(v)))
                ax.text(j, i, "n/a" if undefined else fmt(v), ha="center", va="center",
                        fontsize=7, color=colour)
    label = stat_header(report, key)
    bar = fig.colorbar(im, ax=ax, extend="min" if not percent else "neither")
    bar.set_label(label + (" (%)" if percent else ""), fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if percent:
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:.0f}"))
    chars = max(28, int(width * 72 / (9 * 0.6)))
    title = "\n".join(textwrap.wrap(f"{label} per code and document", chars)
                      + textwrap.wrap(f"{report.unit_label}; {', '.join(report.coders)}", chars))
    ax.set_title(title, fontsize=9)
    return fig


def write_heatmap(study: "Study", report: AgreementReport, path: str | Path, key: str | None = None) -> Path:
    """Codes (rows) x documents (columns) heatmap of one statistic as PNG; grey = undefined.

    Saved with a tight bounding box, so no title, label or colour-bar text is cut off.
    """
    _require_suffix(path, ".png", "the heatmap")
    import matplotlib.pyplot as plt

    fig = heatmap_figure(report, key)
    codes, documents = report.codes, report.documents
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", pad_inches=0.15,
                metadata={"Software": None})
    plt.close(fig)
    write_export(study, path, buffer.getvalue(), kind="agreement heatmap", fmt="png",
                 text="\n".join([*codes, *documents]))
    return Path(path)
