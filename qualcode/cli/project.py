"""Study-level commands: init, info, settings, coders, undo, history."""

from __future__ import annotations

import click

from qualcode.cli.common import CODER, JSON, STUDY, emit, opened, say, table
from qualcode.errors import InvalidInput
from qualcode.study import APPROACHES, PHASES, Study


@click.command()
@STUDY
@click.option("--title", help="Study title (default: the file name).")
@click.option("--approach", type=click.Choice(APPROACHES), default="reflexive", show_default=True,
              help="Thematic-analysis approach; changes prompts and defaults only.")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Add a coder (repeatable).")
@JSON
def init(study, title, approach, coders, as_json):
    """Create a new study file STUDY.qc."""
    if len({c.strip().casefold() for c in coders}) != len(coders) or any(not c.strip() for c in coders):
        raise InvalidInput("coder names must be non-empty and different")
    s = Study.create(study, title=title, approach=approach)
    try:
        for name in coders:
            s.coders.add(name)
        emit(s.info(), as_json)
    finally:
        s.close()
    if not as_json:
        say(f"Created {study} ({approach}). Next: qualcode import {study} TRANSCRIPTS...")


def _render_info(i: dict) -> str:
    lines = [
        f"{i['title']}  ({i['path']})",
        f"approach: {i['approach']}   phase: {i['phase']} – {i['phase_name']}   schema: {i['schema_version']}",
        f"documents: {i['documents']} ({i['words']:,} words, {i['turns']} turns)   participants: {i['participants']}",
        f"coders: {i['coders']}   codes: {i['codes']}   codings: {i['codings']}   memos: {i['memos']}"
        f"   journal entries: {i['journal_entries']}   changes: {i['changes']}",
    ]
    if "integrity" in i:
        lines.append(f"integrity check: {i['integrity']}")
    return "\n".join(lines)


@click.command()
@STUDY
@click.option("--check", is_flag=True, help="Also run SQLite's integrity check (slow on big studies).")
@JSON
def info(study, check, as_json):
    """Show a study's title, approach, phase, schema version and counts."""
    with opened(study) as s:
        data = s.info()
        if check:
            data["integrity"] = s.integrity_check()
    emit(data, as_json, _render_info)
    if check and data["integrity"] != "ok":
        raise SystemExit(1)


@click.command()
@STUDY
@click.option("--title", help="New title.")
@click.option("--approach", type=click.Choice(APPROACHES), help="reflexive, codebook or coding-reliability.")
@click.option("--phase", type=click.IntRange(1, 6), help="Braun & Clarke phase, 1-6.")
@click.option("--blind/--no-blind", default=None,
              help="Coders see only their own codings by default (double coding).")
@click.option("--forbid-unblind/--allow-unblind", default=None,
              help="Forbid showing other coders' codings to a coder until they have marked their coding "
                   "complete (`qualcode coders complete`); even then only the codings of coders marked "
                   "complete are shown. Holds on every TUI screen (coding, codebook, memos, themes, "
                   "agreement).")
@click.option("--coder", metavar="NAME",
              help="Who is changing the settings, for the audit trail (default: $QUALCODE_CODER, or the "
                   "study's only coder); changing --blind or --forbid-unblind needs a known coder.")
@JSON
def settings(study, title, approach, phase, blind, forbid_unblind, coder, as_json):
    """Show or change the study's settings.

    Shows who last changed the blind settings and which coders marked their coding complete."""
    values = {k: v for k, v in {"title": title, "approach": approach, "phase": phase, "blind": blind,
                                "forbid_unblind": forbid_unblind}.items() if v is not None}
    with opened(study, actor=coder) as s:
        if "blind" in values or "forbid_unblind" in values:
            s.actor = s.coders.resolve(coder).name  # never an anonymous change of the blind rules
        data = s.configure(**values) if values else s.settings()
        data.pop("coding_complete", None)
        data["phase_name"] = PHASES.get(data.get("phase"))
        for key in ("blind", "forbid_unblind"):
            data[f"{key}_set_by"] = s.set_by(key)
        data["coding_complete"] = s.completion()
        people = [c.name for c in s.coders.list() if c.kind == "coder"]
    open_ = [p for p in people if p not in data["coding_complete"]]
    if values.get("forbid_unblind") is False and open_ and not as_json:
        say(f"note: unblinding is now allowed while {', '.join(open_)} "
            f"{'has' if len(open_) == 1 else 'have'} not marked their coding complete")

    def render(d: dict) -> str:
        lines = []
        for k, v in d.items():
            if k.endswith("_set_by"):
                v = f"{v['coder']} at {v['created']}" if v else "—"
            elif k == "coding_complete":
                v = ", ".join(f"{name} ({when})" for name, when in v.items()) or "nobody yet"
            lines.append(f"{k}: {v}")
        return "\n".join(lines)

    emit(data, as_json, render)


@click.group()
def coders():
    """List, add and rename coders (the people who code); mark their coding complete."""


@coders.command("add")
@STUDY
@click.argument("name")
@JSON
def coders_add(study, name, as_json):
    """Add a coder NAME."""
    with opened(study) as s:
        coder = s.coders.add(name)
    emit(coder, as_json, lambda c: f"Added coder {c.name}")


@coders.command("rename")
@STUDY
@click.argument("old")
@click.argument("new")
@JSON
def coders_rename(study, old, new, as_json):
    """Rename coder OLD to NEW everywhere the study names them, the history included.

    Not undone by `undo`: rename back instead."""
    with opened(study) as s:
        coder = s.coders.rename(old, new)
    emit(coder, as_json, lambda c: f"Renamed coder {old} to {c.name} (in the history too)")


@coders.command("complete")
@STUDY
@click.argument("name")
@click.option("--reopen", is_flag=True,
              help="Take the mark back: NAME is coding again (and blind again under --forbid-unblind).")
@JSON
def coders_complete(study, name, reopen, as_json):
    """Mark coder NAME's coding of this study complete (or --reopen it).

    Recorded with the time, as a change by NAME (`history` shows it, `undo` reverts it). Under
    `settings --forbid-unblind` a coder sees other coders' codings only once they are marked
    complete themselves, and then only the codings of the coders marked complete too: a pair's
    agreement figures and disagreements show once both of them are complete."""
    with opened(study, actor=name) as s:
        done = s.mark_complete(name, reopen=reopen)

    def render(d: dict) -> str:
        state = f"complete since {d['since']}" if d["complete"] else "open (not marked complete)"
        return f"{d['coder']}: coding {state}" + ("" if d["changed"] else " (unchanged)")

    emit(done, as_json, render)


@coders.command("list")
@STUDY
@JSON
def coders_list(study, as_json):
    """List coders with their codings and documents."""
    with opened(study) as s:
        rows = []
        complete = s.completion()
        for c in s.coders.list():
            codings = s.codings.list(coder=c.name)
            rows.append({**c.as_dict(), "codings": len(codings),
                         "documents": len({x.document_id for x in codings}),
                         "complete": complete.get(c.name)})
    emit(rows, as_json, lambda rs: table([(r["name"], r["kind"], r["codings"], r["documents"],
                                           r["complete"] or "—") for r in rs],
                                         ["coder", "kind", "codings", "documents", "complete"]))


@click.command()
@STUDY
@CODER
@JSON
def undo(study, coder, as_json):
    """Undo the last change (the last change by --coder, if given)."""
    with opened(study, actor=coder) as s:
        undone = s.undo(coder)
    emit(undone, as_json, lambda u: f"Undid change {u['id']}: {u['summary']} ({u['coder']}, {u['created']})")


@click.command()
@STUDY
@CODER
@JSON
def redo(study, coder, as_json):
    """Redo what the last undo reverted (only directly after it; by --coder, if given)."""
    with opened(study, actor=coder) as s:
        done = s.redo(coder)
    emit(done, as_json, lambda d: f"Redid change {d['id']}: {d['summary']}")


@click.command()
@STUDY
@click.option("--limit", type=click.IntRange(1, 2**63 - 1), default=20, show_default=True, help="How many changes to show.")
@JSON
def history(study, limit, as_json):
    """Show the audit log: who changed what, and when."""
    with opened(study) as s:
        rows = s.history(limit)
    def render(rs):
        return table([(r["id"], r["created"], r["coder"], r["summary"] +
                       (" [undone]" if r["undone_by"] else "")) for r in rs],
                     ["id", "when", "who", "change"], max_width=80)
    emit(rows, as_json, render)


COMMANDS = [init, info, settings, coders, undo, redo, history]
