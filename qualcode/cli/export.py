"""Manuscript-ready exports and the methods report.

``qualcode export map|quotes|matrix|participants|codebook STUDY.qc -o FILE`` (the format comes
from FILE's suffix) and ``qualcode report methods STUDY.qc``. Every file goes through
``qualcode.export.write_export`` (the anonymisation guard's hook) and is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.common import ALLOW_LEAKS, JSON, OUTPUT, STUDY, emit, leaks_allowed, opened, say
from qualcode.errors import InvalidInput

def _done(result, as_json):
    from qualcode.export import written

    emit(result, as_json, lambda r: written(r.path, r.format, r.bytes, r.items, r.notes))


@click.group()
def export():
    """Write thematic maps, quote tables, framework matrices, participant tables and codebooks.

    The format comes from the output file's suffix. Exports are deterministic: the same study
    gives the same bytes (their recorded creation time is the study's last change).
    """


@export.command("map")
@STUDY
@OUTPUT
@click.option("--theme", "themes", multiple=True, metavar="THEME", help="Only THEME and its subthemes (repeatable).")
@click.option("--counts", is_flag=True,
              help="Show passages per code and participants and passages per theme (passages: overlapping "
                   "codings by any coder count once, as rows of the quote table).")
@click.option("--discarded", is_flag=True, help="Include discarded themes (grey, dotted) and count them.")
@click.option("--no-codes", is_flag=True, help="Themes and subthemes only.")
@click.option("--layout", type=click.Choice(["auto", "map", "tree"]), default="auto", show_default=True,
              help="map: themes fan out left and right of the title; tree: the title on top, left to right; "
                   "auto: the map when it fits a 16 cm column with labels of at least 6 pt, else the tree.")
@click.option("--title", help="The label of the title node (default: the study title).")
@click.option("--dpi", type=click.IntRange(50, 1200),
              help="PNG resolution (default: 300; only a map too big for memory gets less, never under 150).")
@click.option("--coder", metavar="NAME", help="Count only this coder's codings (with --counts).")
@ALLOW_LEAKS
@JSON
def export_map_cmd(study, output, themes, counts, discarded, no_codes, layout, title, dpi, coder, allow_leaks,
                   as_json):
    """The thematic map (theme -> subthemes -> codes): .png .svg .pdf .dot .mmd or .txt."""
    from exporters.maps import export_map

    with opened(study) as s, leaks_allowed(allow_leaks):
        result = export_map(s, output, themes=themes or None, counts=counts, include_discarded=discarded,
                            codes=not no_codes, layout=layout, title=title, dpi=dpi, coder=coder)
    _done(result, as_json)


@export.command("quotes")
@STUDY
@OUTPUT
@click.option("--theme", "themes", multiple=True, metavar="THEME", help="Only THEME and its subthemes (repeatable).")
@click.option("--key-only", is_flag=True, help="Only key quotes (qualcode themes quote).")
@click.option("--template", default="({label})", show_default=True,
              help="Attribution template over participant fields: {label}, {group}, {number} and any "
                   "attribute, e.g. '[Participant {number}, {role}, {experience_band}]'. Extracts "
                   "with no participant (interviewer turns) read 'unattributed' in the template's "
                   "brackets: (unattributed), [unattributed].")
@click.option("--coder", metavar="NAME", help="Only this coder's codings (default: every coder, passages merged).")
@click.option("--discarded", is_flag=True, help="Include discarded themes.")
@click.option("--title", help="Heading of the table (DOCX, Markdown).")
@ALLOW_LEAKS
@JSON
def export_quotes_cmd(study, output, themes, key_only, template, coder, discarded, title, allow_leaks, as_json):
    """Quote table theme | subtheme | quote | attribution: .docx .csv .md or .xlsx."""
    from exporters.quotes import export_quotes

    with opened(study) as s, leaks_allowed(allow_leaks):
        result = export_quotes(s, output, themes=themes or None, key_only=key_only, template=template,
                               coder=coder, include_discarded=discarded, title=title)
    _done(result, as_json)


@export.command("matrix")
@STUDY
@OUTPUT
@click.option("--by", type=click.Choice(["themes", "subthemes", "codes"]), default="themes", show_default=True,
              help="Columns: top-level themes (with subthemes), every theme node, or codes.")
@click.option("--group-by", "group_by", multiple=True, metavar="ATTR",
              help="Group rows by participant attribute(s) (default: group; repeatable).")
@click.option("--sort", "sort_by", multiple=True, metavar="ATTR", help="Sort rows by attribute(s) within groups.")
@click.option("--attribute", "attributes", multiple=True, metavar="ATTR", help="Show this attribute as a column.")
@click.option("--excerpts", type=click.IntRange(0), default=0, show_default=True,
              help="Add each extract shortened to N characters (0: none).")
@click.option("--coder", metavar="NAME", help="Only this coder's codings.")
@click.option("--discarded", is_flag=True, help="Include discarded themes.")
@ALLOW_LEAKS
@JSON
def export_matrix_cmd(study, output, by, group_by, sort_by, attributes, excerpts, coder, discarded, allow_leaks,
                      as_json):
    """Framework matrix, participants x themes (or codes): .csv .xlsx or .docx."""
    from exporters.matrix import export_matrix

    with opened(study) as s, leaks_allowed(allow_leaks):
        result = export_matrix(s, output, by=by, group_by=group_by or ("group",), sort_by=sort_by,
                               attributes=attributes, coder=coder, excerpts=excerpts, include_discarded=discarded)
    _done(result, as_json)


@export.command("participants")
@STUDY
@OUTPUT
@click.option("--attribute", "attributes", multiple=True, metavar="ATTR",
              help="Characteristics to show (default: age and gender when recorded; repeatable).")
@click.option("--suppress-below", type=click.IntRange(0), default=5, show_default=True,
              help="Show counts below this as '<N' (0: no suppression).")
@click.option("--group", "groups", multiple=True, metavar="GROUP", help="Columns in this order (default: every group).")
@ALLOW_LEAKS
@JSON
def export_participants_cmd(study, output, attributes, suppress_below, groups, allow_leaks, as_json):
    """Participant characteristics by group (COREQ 16): .docx .csv or .md."""
    from exporters.participants_table import export_participants

    with opened(study) as s, leaks_allowed(allow_leaks):
        result = export_participants(s, output, attributes=attributes or None, suppress_below=suppress_below,
                                     groups=groups or None)
    _done(result, as_json)


@export.command("codebook")
@STUDY
@OUTPUT
@ALLOW_LEAKS
@JSON
def export_codebook_cmd(study, output, allow_leaks, as_json):
    """The codebook: tree, definitions, counts and themes: .docx .csv or .md."""
    from exporters.codebook import export_codebook

    with opened(study) as s, leaks_allowed(allow_leaks):
        result = export_codebook(s, output)
    _done(result, as_json)


@click.group()
def report():
    """Reports for the write-up."""


@report.command("methods")
@STUDY
@click.option("--agreement/--no-agreement", default=None,
              help="Include inter-coder agreement (default: yes for codebook and coding-reliability "
                   "studies, no for reflexive TA).")
@click.option("--unit", default="turn", show_default=True,
              help="Unit of analysis for agreement: character, segment, turn, sentence or document.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report to a .txt, .md or .json file.")
@ALLOW_LEAKS
@JSON
def report_methods(study, agreement, unit, output, allow_leaks, as_json):
    """The countable facts a methods section needs (transcripts, participants, coders, agreement ...)."""
    from qualcode.export import write_export
    from qualcode.output import to_json
    from qualcode.themes import methods_summary

    with opened(study) as s, leaks_allowed(allow_leaks):
        facts = methods_summary(s, agreement=agreement, unit=unit)
        if output is not None:
            fmt = output.suffix.lower().lstrip(".")
            if fmt == "json":
                content = to_json(facts) + "\n"
            elif fmt in ("md", "markdown"):
                content = "# Methods: countable facts\n\n" + "".join(f"- {line.strip()}\n" for line in facts["lines"])
            elif fmt == "txt":
                content = "\n".join(facts["lines"]) + "\n"
            else:
                raise InvalidInput("write the methods report to a .txt, .md or .json file")
            write_export(s, output, content, kind="methods", fmt=fmt, text="\n".join(facts["lines"]))
            say(f"Wrote {output}")
    emit(facts, as_json, lambda f: "\n".join(f["lines"]))


COMMANDS = [export, report]
