"""The codebook, coding and uncoding, codings, memos and the reflexive journal."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.common import CODER, COUNT, JSON, ROW_ID, STUDY, WHO, emit, opened, parse_span, read_text, table
from qualcode.errors import InvalidInput

DEFINITION_OPTIONS = [
    click.option("--colour", "--color", "colour", help="Colour as #RRGGBB."),
    click.option("--description", help="What the code means."),
    click.option("--include", "include_when", help="Include when ..."),
    click.option("--exclude", "exclude_when", help="Exclude when ..."),
    click.option("--example", help="A typical example."),
]


def definition_options(f):
    for option in reversed(DEFINITION_OPTIONS):
        f = option(f)
    return f


@click.group()
def codes():
    """The codebook: add, list, rename, move, merge, delete and describe codes."""


@codes.command("add")
@STUDY
@click.argument("name")
@click.option("--parent", help="Parent code (name or path); or give NAME as a path, e.g. 'Peer support/Trust'.")
@definition_options
@WHO
@JSON
def codes_add(study, name, parent, colour, description, include_when, exclude_when, example, who, as_json):
    """Add a code NAME."""
    with opened(study, actor=who) as s:
        code = s.codes.add(name, parent=parent, colour=colour, description=description or "",
                           include_when=include_when or "", exclude_when=exclude_when or "", example=example or "")
    emit(code, as_json, lambda c: f"Added code {c.path} {c.colour}")


@codes.command("list")
@STUDY
@click.option("--flat", is_flag=True, help="Full paths instead of an indented tree.")
@JSON
def codes_list(study, flat, as_json):
    """The code tree with counts of codings, documents and participants (per coder in --json)."""
    with opened(study) as s:
        codes_ = s.codes.list()
        counts = s.codes.counts()
    empty = {"codings": 0, "documents": 0, "participants": 0, "by_coder": {}}
    data = [{**c.as_dict(), **counts.get(c.id, empty)} for c in codes_]
    def render(rows):
        if not rows:
            return "No codes yet (qualcode codes add STUDY.qc NAME)."
        def label(r):
            return r["path"] if flat else "  " * r["path"].count("/") + r["name"]
        return table([(label(r), r["colour"], r["codings"], r["documents"], r["participants"],
                       ", ".join(f"{k} {v['codings']}" for k, v in r["by_coder"].items())) for r in rows],
                     ["code", "colour", "codings", "docs", "participants", "by coder"])
    emit(data, as_json, render)


@codes.command("rename")
@STUDY
@click.argument("code")
@click.argument("new_name")
@WHO
@JSON
def codes_rename(study, code, new_name, who, as_json):
    """Rename CODE to NEW_NAME (stays under the same parent)."""
    with opened(study, actor=who) as s:
        c = s.codes.rename(code, new_name)
    emit(c, as_json, lambda c: f"Renamed to {c.path}")


@codes.command("move")
@STUDY
@click.argument("code")
@click.option("--parent", help="New parent code.")
@click.option("--top", is_flag=True, help="Move to the top level.")
@WHO
@JSON
def codes_move(study, code, parent, top, who, as_json):
    """Move CODE under another code (--parent) or to the top level (--top)."""
    if bool(parent) == bool(top):
        raise InvalidInput("say where to: --parent CODE or --top")
    with opened(study, actor=who) as s:
        c = s.codes.move(code, None if top else parent)
    emit(c, as_json, lambda c: f"Moved to {c.path}")


@codes.command("merge")
@STUDY
@click.argument("source")
@click.argument("target")
@WHO
@JSON
def codes_merge(study, source, target, who, as_json):
    """Merge SOURCE into TARGET: codings and child codes move, SOURCE is deleted."""
    with opened(study, actor=who) as s:
        r = s.codes.merge(source, target)
    emit(r, as_json, lambda r: f"Merged {source} into {target}: {r['codings_moved']} codings, "
                               f"{r['children_moved']} child codes moved")


@codes.command("delete")
@STUDY
@click.argument("code")
@click.option("--codings", type=click.Choice(["delete"]), help="Delete the code's codings too.")
@click.option("--move-to", metavar="CODE", help="Move the code's codings to another code first.")
@WHO
@JSON
def codes_delete(study, code, codings, move_to, who, as_json):
    """Delete CODE. Refuses while codings exist unless --codings delete or --move-to CODE."""
    with opened(study, actor=who) as s:
        r = s.codes.delete(code, codings=codings, move_to=move_to)
    emit(r, as_json, lambda r: f"Deleted {code} ({r['codings_deleted']} codings deleted, "
                               f"{r['codings_moved']} moved)")


@codes.command("describe")
@STUDY
@click.argument("code")
@definition_options
@click.option("--status", type=click.Choice(["active", "draft", "retired"]), help="Code status.")
@WHO
@JSON
def codes_describe(study, code, colour, description, include_when, exclude_when, example, status, who, as_json):
    """Show CODE's definition, or change its fields."""
    with opened(study, actor=who) as s:
        c = s.codes.describe(code, colour=colour, description=description, include_when=include_when,
                             exclude_when=exclude_when, example=example, status=status)
    emit(c, as_json, lambda c: "\n".join([
        f"{c.path}  {c.colour}  ({c.status})",
        f"description: {c.description}", f"include when: {c.include_when}",
        f"exclude when: {c.exclude_when}", f"example: {c.example}"]))


@codes.command("import")
@STUDY
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@WHO
@JSON
def codes_import(study, csv_file, who, as_json):
    """Add codes from CSV (code as a path, colour, description, include, exclude, example)."""
    with opened(study, actor=who) as s:
        r = s.codes.import_csv(csv_file)
    emit(r, as_json, lambda r: f"Codes: {r['added']} added, {r['updated']} updated")


def _target(span, text):
    if (span is None) == (text is None):
        raise InvalidInput("give either --span START:END or --text \"exact words\"")


@click.command()
@STUDY
@click.argument("document")
@click.argument("code")
@CODER
@click.option("--span", help="Characters START:END (code points, end exclusive).")
@click.option("--text", "quote", help="The exact words to code.")
@click.option("--nth", type=COUNT, default=1, show_default=True, help="Which occurrence of --text.")
@click.option("--memo", default="", help="A memo on this coding.")
@JSON
def code(study, document, code, coder, span, quote, nth, memo, as_json):
    """Code a span of DOCUMENT with CODE."""
    _target(span, quote)
    with opened(study, actor=coder) as s:
        if span:
            start, end = parse_span(span)
            c = s.codings.add(document, code, coder, start, end, memo)
        else:
            c = s.codings.add_text(document, code, coder, quote, nth, memo)
    emit(c, as_json, lambda c: f"Coded {c.document} {c.start}:{c.end} as {c.code} ({c.coder}): “{c.text}”")


@click.command()
@STUDY
@click.argument("document", required=False)
@click.argument("code", required=False)
@CODER
@click.option("--span", help="Characters START:END to uncode.")
@click.option("--text", "quote", help="The exact words to uncode.")
@click.option("--nth", type=COUNT, default=1, show_default=True, help="Which occurrence of --text.")
@click.option("--id", "coding_id", type=ROW_ID, help="Delete coding ID entirely (no DOCUMENT/CODE needed).")
@JSON
def uncode(study, document, code, coder, span, quote, nth, coding_id, as_json):
    """Remove CODE from a span of DOCUMENT (trimming or splitting codings), or a coding by --id."""
    with opened(study, actor=coder) as s:
        if coding_id is not None:
            if document or span or quote:
                raise InvalidInput("--id deletes one coding; give no DOCUMENT, --span or --text with it")
            c = s.codings.delete(coding_id)
            emit(c, as_json, lambda c: f"Deleted coding {c.id} ({c.code}, {c.coder})")
            return
        if not (document and code):
            raise InvalidInput("give DOCUMENT and CODE (or --id N)")
        _target(span, quote)
        if span:
            start, end = parse_span(span)
        else:
            from qualcode.store.codings import find_text

            doc = s.documents.get(document)
            start, end = find_text(s.documents.text(doc.id), quote, nth)
        r = s.codings.remove(document, code, coder, start, end)
    emit(r, as_json, lambda r: f"Uncoded {start}:{end}: {r['removed']} removed, {r['trimmed']} trimmed, "
                               f"{r['split']} split")


@click.command()
@STUDY
@click.option("--document", help="Only this document.")
@click.option("--code", help="Only this code.")
@click.option("--children", is_flag=True, help="With --code: include its child codes.")
@click.option("--coder", help="Only this coder.")
@click.option("--limit", type=COUNT, help="At most this many.")
@JSON
def codings(study, document, code, children, coder, limit, as_json):
    """List codings with their text, speaker and participant label."""
    with opened(study) as s:
        rows = s.codings.list(document=document, code=code, coder=coder, include_children=children, limit=limit)
    emit(rows, as_json, lambda rs: table(
        [(c.id, c.document, f"{c.start}:{c.end}", c.code, c.coder, c.participant or c.speaker or "", c.text)
         for c in rs], ["id", "document", "span", "code", "coder", "who", "text"]) if rs else "No codings.")


@click.group()
def memo():
    """Memos on the study, a document, a passage, a code, a coding or a participant."""


@memo.command("add")
@STUDY
@click.argument("text")
@CODER
@click.option("--document", help="Attach to a document ...")
@click.option("--span", help="... or to a passage START:END of it.")
@click.option("--code", help="Attach to a code.")
@click.option("--coding", type=ROW_ID, help="Attach to a coding (by id).")
@click.option("--participant", help="Attach to a participant.")
@click.option("--title", default="", help="A short title.")
@JSON
def memo_add(study, text, coder, document, span, code, coding, participant, title, as_json):
    """Write a memo (TEXT, or - to read it from standard input); with no target it is on the study."""
    with opened(study, actor=coder) as s:
        m = s.memos.add(read_text(text), coder, document=document, span=parse_span(span) if span else None,
                        code=code, coding=coding, participant=participant, title=title)
    emit(m, as_json, lambda m: f"Memo {m.id} on {m.target_type} {m.target}")


@memo.command("list")
@STUDY
@click.option("--on", "target_type", help="Only memos on: study, document, passage, code, coding, participant.")
@click.option("--document", help="Only memos in this document.")
@click.option("--code", help="Only memos on this code.")
@click.option("--coder", help="Only this coder's memos.")
@JSON
def memo_list(study, target_type, document, code, coder, as_json):
    """List memos."""
    with opened(study) as s:
        ms = s.memos.list(target_type=target_type, document=document, code=code, coder=coder)
    emit(ms, as_json, lambda ms: table([(m.id, m.target_type, m.target, m.coder or "", m.updated[:10], m.body)
                                        for m in ms], ["id", "on", "target", "coder", "date", "memo"])
         if ms else "No memos.")


@memo.command("edit")
@STUDY
@click.argument("memo_id", type=ROW_ID, metavar="ID")
@click.argument("text")
@click.option("--title", help="New title.")
@WHO
@JSON
def memo_edit(study, memo_id, text, title, who, as_json):
    """Replace the text of memo ID (- reads standard input)."""
    with opened(study, actor=who) as s:
        m = s.memos.edit(memo_id, read_text(text), title)
    emit(m, as_json, lambda m: f"Memo {m.id} updated")


@memo.command("delete")
@STUDY
@click.argument("memo_id", type=ROW_ID, metavar="ID")
@WHO
@JSON
def memo_delete(study, memo_id, who, as_json):
    """Delete memo ID (undo brings it back)."""
    with opened(study, actor=who) as s:
        m = s.memos.delete(memo_id)
    emit(m, as_json, lambda m: f"Deleted memo {m.id}")


@click.group()
def journal():
    """The reflexive journal: dated entries per coder."""


@journal.command("add")
@STUDY
@click.argument("text")
@CODER
@click.option("--date", "entry_date", help="Entry date YYYY-MM-DD (default: today).")
@click.option("--phase", type=click.IntRange(1, 6), help="Braun & Clarke phase 1-6 (default: the study's current phase).")
@JSON
def journal_add(study, text, coder, entry_date, phase, as_json):
    """Add a journal entry (TEXT, or - to read standard input)."""
    with opened(study, actor=coder) as s:
        e = s.journal.add(read_text(text), coder, entry_date, phase)
    emit(e, as_json, lambda e: f"Journal entry {e.id} ({e.entry_date}, {e.coder})")


@journal.command("list")
@STUDY
@click.option("--coder", help="Only this coder's entries.")
@click.option("--phase", type=click.IntRange(1, 6), help="Only entries from this phase.")
@JSON
def journal_list(study, coder, phase, as_json):
    """List journal entries by date."""
    with opened(study) as s:
        es = s.journal.list(coder, phase)
    emit(es, as_json, lambda es: "\n\n".join(f"{e.entry_date}  {e.coder}  (phase {e.phase})\n{e.body}" for e in es)
         if es else "No journal entries.")


COMMANDS = [codes, code, uncode, codings, memo, journal]
