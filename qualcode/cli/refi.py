"""REFI-QDA exchange and merging studies from the command line.

``qualcode export qdpx|qdc STUDY.qc -o FILE`` (commands added to the ``export`` group),
``qualcode import-qdpx FILE.qdpx -o STUDY.qc``, ``qualcode import-qdc STUDY.qc FILE.qdc`` and
``qualcode merge BASE.qc OTHER.qc [-o OUT.qc]``. Exit 0 on success, 1 when something was reported
as a conflict (nothing silently resolved), 2 on bad input — one line on stderr, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.common import ALLOW_LEAKS, JSON, OUTPUT, STUDY, emit, leaks_allowed, opened, say

def _written(data: dict) -> str:
    parts = [f"{data[k]} {k}" for k in ("codes", "cases", "sources", "codings", "notes", "sets") if data.get(k)]
    return f"Wrote {data['file']} ({data['bytes']:,} bytes: {', '.join(parts) or 'empty'})"


@click.command("qdpx")
@STUDY
@OUTPUT
@click.option("--offsets", type=click.Choice(["codepoint", "utf16"]), default="codepoint", show_default=True,
              help="How selection positions count: code points (the REFI-QDA spec) or UTF-16 units "
                   "(what NVivo and QualCoder read). The selected text is in each selection's name either way.")
@ALLOW_LEAKS
@JSON
def export_qdpx_cmd(study, output, offsets, allow_leaks, as_json):
    """A REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder ...

    Valid against the REFI-QDA 1.0 Project.xsd. The study's GUIDs are kept, so
    exports can be compared, and the same study gives the same bytes. Every text
    in the archive passes the anonymisation guard (see --allow-leaks).

    \b
    What goes where:
      coders          -> Users
      codes           -> nested Codes with their colour; description, include
                         when, exclude when, example and status as labelled
                         paragraphs of the Description
      participants    -> Cases with typed Variables and a "group" Variable
                         (real names never leave the study)
      documents       -> TextSources with their plain text in sources/ (UTF-8,
                         LF, no BOM); metadata as VariableValues; speaker
                         mappings as "Speaker <label>: <participant>" lines of
                         the Description
      speaker turns   -> qualcode/turns/<guid>.json: spans, labels and caption
                         times (qualcode's own file; other tools ignore it)
      codings         -> PlainTextSelection + Coding (coder, time; the selected
                         text in the selection's name)
      a coding's memo -> a Note "Coding memo" referenced by the Coding
      memos           -> Notes: on the study (Project NoteRef), a document, a
                         passage, a code or a coding (NoteRef), a participant
                         (a Link to the Case), a theme (MemberNote of its Set)
      journal         -> one Note per entry ("Journal <date>", phase in its
                         Description), gathered in the Set "Reflexive journal"
      themes          -> one Set of codes per theme or subtheme, named
                         "Theme: <theme>" or "Theme: <theme>/<subtheme>";
                         central organising concept, definition, status and
                         colour as labelled paragraphs of the Set's Description

    \b
    Not exported: key quotes (a Set cannot hold codings), agreement rounds,
    reconciliation decisions and the change history. Other tools show themes
    as sets of codes and the journal as notes; importing the file back into
    qualcode (`qualcode import-qdpx`) makes them themes and journal entries
    again, and restores the turns.
    """
    from exporters.refi_qda import export_qdpx

    with opened(study) as s, leaks_allowed(allow_leaks):
        data = export_qdpx(s, output, offsets=offsets)
    emit(data, as_json, _written)


@click.command("qdc")
@STUDY
@OUTPUT
@ALLOW_LEAKS
@JSON
def export_qdc_cmd(study, output, allow_leaks, as_json):
    """The codebook as a REFI-QDA .qdc (codes, definitions, colours; themes as Sets of codes)."""
    from exporters.refi_qda import export_qdc

    with opened(study) as s, leaks_allowed(allow_leaks):
        data = export_qdc(s, output)
    emit(data, as_json, _written)


def _report_text(data: dict, verb: str) -> str:
    imported = ", ".join(f"{n} {what}" for what, n in data["imported"].items()) or "nothing"
    lines = [f"{verb} {data['file']}" + (f" (from {data['origin']})" if data.get("origin") else "") + f": {imported}."]
    for p in data.get("positions", []):
        extra = f"; {p['matched']}/{p['checked']} selections quote their text" if p["checked"] else ""
        lines.append(f"  positions in {p['source']}: {p['counting']} — {p['decided_by']}{extra}")
    for s in data.get("skipped", []):
        example = f" (e.g. {s['example'][:60]})" if s.get("example") else ""
        lines.append(f"  skipped {s['count']}: {s['reason']}{example}")
    for w in data.get("warnings", []):
        lines.append(f"  warning: {w}")
    for c in data.get("conflicts", []):
        lines.append(f"  conflict: {c}")
    return "\n".join(lines)


@click.command("import-qdpx")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.qdpx")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="STUDY.qc", help="The new study file to create (never an existing one).")
@click.option("--title", help="The study's title (default: the project's name).")
@JSON
def import_qdpx_cmd(file, output, title, as_json):
    """Import a REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA, QualCoder ...) as a new study.

    Positions are checked per document against the text each selection quotes (code points or
    UTF-16 units, CRLF counted as one or two) and the choice is reported. Schema problems are
    warnings; what cannot be used is skipped with its reason. The study file is created only if
    the import succeeds; unsafe or damaged files are refused.
    """
    from importers.refi_qda import import_qdpx

    report = import_qdpx(file, output, title=title)
    data = {**report.as_dict(), "study": str(output)}
    emit(data, as_json, lambda d: _report_text(d, "Imported") + f"\nStudy: {output}")


@click.command("import-qdc")
@STUDY
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.qdc")
@click.option("--update", is_flag=True, help="Take the file's definitions for codes the study already has.")
@JSON
def import_qdc_cmd(study, file, update, as_json):
    """Add a REFI-QDA codebook (.qdc) to STUDY.qc: codes by GUID then name, Sets of codes as themes.

    A code the study already has keeps its definition; a different one in the file is reported
    as a conflict (exit 1) unless --update takes the file's. One change: `qualcode undo` reverts it.
    """
    from importers.refi_qda import import_qdc

    with opened(study) as s:
        report = import_qdc(s, file, update=update)
    data = report.as_dict()
    emit(data, as_json, lambda d: _report_text(d, "Read"))
    if data["conflicts"]:
        raise SystemExit(1)


@click.command("merge")
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path), metavar="BASE.qc")
@click.argument("other", type=click.Path(dir_okay=False, path_type=Path), metavar="OTHER.qc")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.qc",
              help="Write the merged study to this new file and leave BASE untouched.")
@click.option("--theirs", multiple=True, metavar="CODER",
              help="OTHER is the authority for CODER: their codings in BASE (on shared documents) are replaced "
                   "by OTHER's (repeatable).")
@click.option("--dry-run", is_flag=True, help="Report what would be merged; write nothing.")
@JSON
def merge_cmd(base, other, output, theirs, dry_run, as_json):
    """Bring a second coder's copy of the study (OTHER.qc) into BASE.qc.

    Documents match by their current text (never by name; a renamed one is
    mentioned), codes by GUID then name, coders by GUID then name; every coding
    keeps its coder. Conflicts (same code, different definition; a document
    whose text changed, e.g. anonymised in one copy, whose codings, memos and
    speaker mappings are then not merged ...) are listed and never silently
    resolved (exit 1). Into an anonymised study nothing identifying is brought:
    no real names, no document from a study never anonymised, nothing holding a
    registered name (each a conflict). BASE is backed up first to
    BASE.qc.bak-YYYYmmdd-HHMMSS; the merge is one change (`qualcode undo`
    reverts it), and a merge that changes nothing records none.
    """
    from qualcode.store.merge import merge_files

    report = merge_files(base, other, output, theirs=theirs, dry_run=dry_run)
    data = report.as_dict()

    def render(d: dict) -> str:
        head = "Would merge" if d["dry_run"] else "Merged"
        added = ", ".join(f"{n} {w}" for w, n in d["added"].items()) or "nothing new"
        matched = ", ".join(f"{n} {w}" for w, n in d["matched"].items()) or "nothing"
        lines = [f"{head} {d['other']} into {d['output']}: added {added}; already there: {matched}."]
        if d["backup"]:
            lines.append(f"  backup of the base: {d['backup']}")
        for reason, n in d["skipped"].items():
            lines.append(f"  skipped {n}: {reason}")
        for note in d["notes"]:
            lines.append(f"  note: {note}")
        for c in d["conflicts"]:
            lines.append(f"  conflict: {c}")
        return "\n".join(lines)

    emit(data, as_json, render)
    if data["conflicts"]:
        if not as_json:
            say(f"qualcode: {len(data['conflicts'])} conflict(s) left as BASE has them; resolve them by hand")
        raise SystemExit(1)


COMMANDS = [import_qdpx_cmd, import_qdc_cmd, merge_cmd]
EXPORT_COMMANDS = [export_qdpx_cmd, export_qdc_cmd]


def attach(cli: click.Group) -> None:
    """Register the commands: ``qdpx``/``qdc`` under the ``export`` group (``export-qdpx`` and
    ``export-qdc`` at the top level in an installation without that group)."""
    for command in COMMANDS:
        cli.add_command(command)
    group = cli.commands.get("export")
    if not isinstance(group, click.Group):
        try:
            from qualcode.cli import export as export_module

            group = getattr(export_module, "export", None)
        except ImportError:
            group = None
    if isinstance(group, click.Group):
        for command in EXPORT_COMMANDS:
            group.add_command(command)
    else:
        cli.add_command(export_qdpx_cmd, "export-qdpx")
        cli.add_command(export_qdc_cmd, "export-qdc")
