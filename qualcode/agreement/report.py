"""Agreement reports as table rows and plain text: shared by the CLI and the exporters.

Pure formatting of an :class:`~qualcode.agreement.units.AgreementReport`; no I/O. Numbers are
shown to 3 decimals, shares as percentages, undefined figures as "n/a" with the reason kept in
the machine formats (JSON, CSV).
"""

from __future__ import annotations

import math
from typing import Any

from qualcode.agreement.units import AgreementReport, Figure, plural
from qualcode.output import table

UNRELIABLE = "†"  # marks a bootstrap interval that is not to be trusted (Figure.ci_note)

STAT_HEADERS = {"cohen": "kappa", "fleiss": "Fleiss kappa", "alpha": "alpha",
                "percent": "agreement", "bp": "BP kappa"}


def stat_header(report: AgreementReport, key: str) -> str:
    if report.unit == "segment" and key == "percent":
        return "P_obs"
    if report.unit == "character" and key == "cohen":
        return "kappa (NVivo K)"
    if report.options.get("exclude_uncoded") and key == "percent":
        return "overlap"
    return STAT_HEADERS[key]


def fmt_value(value: float | None, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def fmt_stat(fig: Figure, key: str, with_ci: bool = True, percent: bool = False) -> str:
    c = fig.stats.get(key)
    if c is None:
        return ""
    text = fmt_value(float(c), percent)
    if text != "n/a" and getattr(c, "convention", None):
        text += "*"
    ci = fig.ci.get(key) if with_ci else None
    if ci and not any(math.isnan(x) for x in ci):
        text += f" [{fmt_value(ci[0], percent)}, {fmt_value(ci[1], percent)}]"
        if fig.ci_note:
            text += UNRELIABLE
    return text


def display_keys(report: AgreementReport) -> list[str]:
    """Statistics shown in the human tables: Fleiss' kappa is left out for two coders (it is
    Scott's pi there, kept in JSON and CSV)."""
    return [k for k in report.stat_keys if not (k == "fleiss" and len(report.coders) == 2)]


def table_columns(report: AgreementReport) -> list[str]:
    """Headers of the per-figure tables (label column first)."""
    if report.unit == "segment":
        count_cols = ["segments"]
        if len(report.coders) == 2:
            a, b = report.coders
            count_cols += [f"{a} matched", f"{a} unmatched", f"{b} matched", f"{b} unmatched"]
    else:
        count_cols = ["N units", "prevalence"]
        if len(report.coders) == 2:
            a, b = report.coders
            count_cols += ["both", f"{a} only", f"{b} only", "neither"]
        else:
            count_cols += [f"coded by {k}" for k in range(len(report.coders) + 1)]
    return count_cols + [stat_header(report, k) for k in display_keys(report)]


def figure_cells(report: AgreementReport, fig: Figure, with_ci: bool = True) -> list[str]:
    cells: list[Any] = [f"{fig.n_units:,}"]
    if report.unit != "segment":
        cells.append(fmt_value(fig.prevalence, percent=True))
    if report.unit != "segment" or len(report.coders) == 2:
        cells += [f"{v:,}" for v in fig.table.values()]
    for key in display_keys(report):
        cells.append(fmt_stat(fig, key, with_ci, percent=(key == "percent"
                                                          and report.unit != "segment")))
    return cells


def sections(report: AgreementReport, per_document: bool = True, cells: bool = False
             ) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) for pooled, per-code, per-document and optional cell tables."""
    cols = table_columns(report)
    out = [("Pooled", ["figure"] + cols, [["pooled"] + figure_cells(report, report.pooled)]),
           ("By code", ["code"] + cols,
            [[f.code] + figure_cells(report, f) for f in report.by_code])]
    if per_document:
        out.append(("By document", ["document"] + cols,
                    [[f.document] + figure_cells(report, f) for f in report.by_document]))
    if cells:
        out.append(("By code and document", ["code", "document"] + cols,
                    [[f.code, f.document] + figure_cells(report, f, False) for f in report.cells]))
    return out


def pairwise_rows(report: AgreementReport) -> tuple[list[str], list[list[str]]]:
    pw = report.pairwise
    headers = [""] + pw["coders"]
    rows = [[name] + [fmt_value(v) for v in row] for name, row in zip(pw["coders"], pw["kappa"])]
    return headers, rows


def undefined_reasons(report: AgreementReport) -> list[str]:
    """Distinct reasons for n/a figures, for a footnote."""
    seen: dict[str, None] = {}
    for fig in [report.pooled, *report.by_code, *report.by_document]:
        for c in fig.stats.values():
            if c.reason:
                seen.setdefault(c.reason)
    return list(seen)


def _units_line(report: AgreementReport) -> str:
    if report.unit == "segment":
        return "N units: coded segments (checks in both directions)."
    unit = "characters" if report.unit == "character" else report.unit_label
    return (f"N units: {unit} per code; pooled and per-document rows count code x "
            f"{report.unit} pairs.")


def summary_lines(report: AgreementReport) -> list[str]:
    """What was compared and what a unit is: the lines above the tables (CLI and TUI)."""
    docs = plural(len(report.documents), "double-coded document")
    if report.options.get("all_documents"):
        docs = plural(len(report.documents), "document") + ", every selected one counted"
    return [f"Agreement between {', '.join(report.coders)} at the level of {report.unit_label} "
            f"({docs}, {plural(len(report.codes), 'code')})",
            _units_line(report)]


def footer_lines(report: AgreementReport) -> list[str]:
    """Pairwise table (more than two coders), footnotes, notes and the methods sentence: the
    lines below the tables (CLI and TUI)."""
    lines: list[str] = []
    if len(report.coders) > 2:
        headers, rows = pairwise_rows(report)
        lines += [f"Pairwise {report.pairwise['statistic']}", table(rows, headers), ""]
    if any(getattr(c, "convention", None) for f in report.by_code for c in f.stats.values()):
        lines.append("* K = 1 by NVivo's convention (no variation).")
    reasons = undefined_reasons(report)
    if reasons:
        lines.append("n/a: " + "; ".join(reasons) + ".")
    if any(f.ci_note for f in [report.pooled, *report.by_code]):
        lines.append(f"{UNRELIABLE} bootstrap interval not reliable (see the warnings).")
    lines += [f"Note: {n}" for n in report.notes]
    lines += [f"Warning: {w}." for w in report.warnings]
    lines += ["", report.methods]
    return lines


def text_report(report: AgreementReport, per_document: bool = True, cells: bool = False) -> str:
    """The CLI's human-readable output."""
    lines = summary_lines(report) + [""]
    if report.documents and len(report.coders) >= 2:  # else there is no figure to tabulate
        for title, headers, rows in sections(report, per_document, cells):
            lines += [title, table(rows, headers) if rows else "(none)", ""]
    lines += footer_lines(report)
    return "\n".join(lines)


def csv_rows(report: AgreementReport, cells: bool = True) -> tuple[list[str], list[list[Any]]]:
    """Flat rows for CSV/XLSX: every figure with counts, statistics, CIs and reasons."""
    keys = report.stat_keys
    table_keys = list(report.pooled.table)
    headers = ["unit", "scope", "code", "document", "n_units", "prevalence"]
    headers += [f"coded_{c}" for c in report.coders] + table_keys
    for k in keys:
        headers += [k, f"{k}_ci_low", f"{k}_ci_high", f"{k}_reason"]
    figures = [report.pooled, *report.by_code, *report.by_document]
    if cells:
        figures += report.cells
    rows = []
    for f in figures:
        row: list[Any] = [report.unit, f.scope, f.code or "", f.document or "", f.n_units,
                          "" if f.prevalence is None else round(f.prevalence, 6)]
        row += [f.coded.get(c, "") for c in report.coders]
        row += [f.table.get(k, "") for k in table_keys]
        for k in keys:
            c = f.stats[k]
            v = float(c)
            ci = f.ci.get(k)
            row += ["" if math.isnan(v) else round(v, 6),
                    "" if not ci or math.isnan(ci[0]) else round(ci[0], 6),
                    "" if not ci or math.isnan(ci[1]) else round(ci[1], 6),
                    c.reason or getattr(c, "convention", None) or ""]
        rows.append(row)
    return headers, rows
