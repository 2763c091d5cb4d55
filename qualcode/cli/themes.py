"""Themes (Braun & Clarke), the phase tracker and evidence views.

``qualcode themes add|list|show|rename|move|assign|unassign|define|status|merge|split|quote|memo|delete``,
``qualcode phase STUDY.qc [N]`` and ``qualcode evidence STUDY.qc --theme T | --code C``.
"""

from __future__ import annotations

import click

from qualcode.cli.common import CODER, JSON, STUDY, emit, opened, read_text, say, table
from qualcode.errors import InvalidInput
from qualcode.evidence import evidence as evidence_of
from qualcode.evidence import overview, shorten, theme_counts
from qualcode.store.themes import STATUSES, themes_of
from qualcode.themes import phase_status, set_phase


def _store(s):
    return themes_of(s)


@click.group()
def themes():
    """Braun & Clarke themes: candidate themes, themes and subthemes, the codes they gather, key quotes.

    A theme with a parent is a subtheme; name it by its name or by its path (Theme/Subtheme).
    Every change is in the audit log (qualcode history) and can be undone (qualcode undo).
    """


@themes.command("add")
@STUDY
@click.argument("name")
@click.option("--parent", metavar="THEME", help="Make it a subtheme of THEME (or give NAME as Theme/Subtheme).")
@click.option("--code", "codes", multiple=True, metavar="CODE", help="Gather CODE into it (repeatable).")
@click.option("--concept", help="The central organising concept, in a sentence.")
@click.option("--definition", help="What the theme is about and where its boundaries lie.")
@click.option("--status", type=click.Choice(STATUSES), default="candidate", show_default=True,
              help="candidate, active or discarded.")
@click.option("--colour", "--color", "colour", help="Colour as #RRGGBB (default: the next of the palette).")
@CODER
@JSON
def themes_add(study, name, parent, codes, concept, definition, status, colour, coder, as_json):
    """Add a candidate theme NAME (or a subtheme with --parent)."""
    with opened(study, actor=coder) as s:
        theme = _store(s).add(name, parent, concept=concept or "", definition=definition or "",
                              status=status, colour=colour, codes=codes)
    emit(theme, as_json, lambda t: f"Added {t.kind} {t.path} [{t.status}] {t.colour}"
         + (f" gathering {', '.join(t.codes)}" if t.codes else ""))


COUNTS_NOTE = ("passages = distinct coded passages (overlapping codings by any coder count once, as rows of "
               "the quote table)")


def _render_list(rows):
    if not rows:
        return "No themes yet (qualcode themes add STUDY.qc NAME --code CODE)."
    out = table([("  " * r["depth"] + r["name"], r["status"], len(r["codes"]), r["key_quotes"],
                  r["participants"], r["passages"]) for r in rows],
                ["theme", "status", "codes", "key quotes", "participants", "passages"], max_width=60)
    note = COUNTS_NOTE
    if any(r["status"] == "discarded" and r["depth"] for r in rows):
        note += "; a theme's counts leave out its discarded subthemes"
    return out + "\n" + note + "."


@themes.command("list")
@STUDY
@click.option("--discarded/--no-discarded", "discarded", default=True, show_default=True,
              help="List discarded themes (their passages never count in a live parent theme).")
@click.option("--status", type=click.Choice(STATUSES), help="Only themes with this status.")
@JSON
def themes_list(study, discarded, status, as_json):
    """The theme tree with status, codes, key quotes and coverage.

    Counts are passages, as in the map and the quote table: overlapping codings by any coder
    count once; a theme counts its own codes' passages and its (not discarded) subthemes'."""
    with opened(study) as s:
        store = _store(s)
        listed = store.list(include_discarded=discarded, status=status)
        counts = theme_counts(s)
    rows = []
    for t in listed:
        n = counts[t.id]
        rows.append({**t.as_dict(), "participants": len(n.participants), "passages": n.passages,
                     "codings": n.codings, "coverage": n.coverage})
    emit(rows, as_json, _render_list)


@themes.command("show")
@STUDY
@click.argument("theme")
@click.option("--discarded", is_flag=True, help="Count its discarded subthemes too (as export map --discarded).")
@JSON
def themes_show(study, theme, discarded, as_json):
    """One theme: definition, concept, codes, subthemes, key quotes, memos, coverage and history."""
    with opened(study) as s:
        store = _store(s)
        t = store.get(theme)
        ev = evidence_of(s, theme=t.path, include_discarded=discarded)
        quotes = []
        for q in store.key_quotes(t.path, include_missing=True):
            entry = {**q.as_dict(), "text": None, "participant": None}
            if q.present:
                c = s.codings.get(q.coding_id)
                entry.update(text=c.text, participant=c.participant, document=c.document)
            quotes.append(entry)
        data = {**t.as_dict(), "coverage": ev.summary, "passages": ev.passages, "codings": len(ev.extracts),
                "codings_by_coder": ev.by_coder,
                "subtheme_coverage": ev.subthemes, "key_quote_list": quotes,
                "memo_list": [m.as_dict() for m in store.memos(t.path)], "history": store.history(t.path)}
    emit(data, as_json, _render_show)


def _render_show(d):
    lines = [f"{d['path']}  [{d['kind']}, {d['status']}]  {d['colour']}"]
    if d["concept"]:
        lines.append(f"Central organising concept: {d['concept']}")
    if d["definition"]:
        lines.append(f"Definition: {d['definition']}")
    lines.append("Codes: " + (", ".join(d["codes"]) or "none"))
    if d["children"]:
        lines.append("Subthemes: " + ", ".join(d["children"]))
    lines.append(f"Passages: {_codings_line(d['passages'], d['codings_by_coder'])}")
    lines.append(f"Participants: {d['coverage']}")
    for sub in d["subtheme_coverage"]:
        lines.append(f"  {sub['theme']}: {_n(sub['passages'], 'passage')}; {sub['coverage']}"
                     + (f" [{sub['status']}]" if sub["status"] != "active" else ""))
    if d["key_quote_list"]:
        lines.append("Key quotes:")
        for q in d["key_quote_list"]:
            if q["present"]:
                lines.append(f"  #{q['coding_id']} ({q['participant'] or 'unattributed'}) "
                             f"\u201c{shorten(q['text'], 100)}\u201d" + (f" — {q['note']}" if q["note"] else ""))
            else:
                lines.append(f"  #{q['coding_id']} (the coding no longer exists)")
    if d["memo_list"]:
        lines.append("Memos:")
        lines += [f"  {m['id']}. {m['coder']}: {shorten(m['body'], 100)}" for m in d["memo_list"]]
    if d["history"]:
        lines.append("History:")
        lines += [f"  {h['created']} {h['coder']}: {h['summary']}" + (" [undone]" if h["undone_by"] else "")
                  for h in d["history"][:10]]
    return "\n".join(lines)


@themes.command("rename")
@STUDY
@click.argument("theme")
@click.argument("new_name")
@CODER
@JSON
def themes_rename(study, theme, new_name, coder, as_json):
    """Rename THEME to NEW_NAME."""
    with opened(study, actor=coder) as s:
        t = _store(s).rename(theme, new_name)
    emit(t, as_json, lambda t: f"Renamed to {t.path}")


@themes.command("move")
@STUDY
@click.argument("theme")
@click.argument("parent", required=False)
@click.option("--top", is_flag=True, help="Make it a top-level theme (no parent).")
@click.option("--position", type=click.IntRange(1), help="Its place among its siblings (1 = first).")
@CODER
@JSON
def themes_move(study, theme, parent, top, position, coder, as_json):
    """Make THEME a subtheme of PARENT, a top-level theme (--top), or reorder it (--position)."""
    if parent and top:
        raise InvalidInput("give PARENT or --top, not both")
    with opened(study, actor=coder) as s:
        store = _store(s)
        current = store.get(theme)
        target = None if top else (parent if parent else current.parent)
        if not parent and not top and position is None:
            raise InvalidInput("say where: PARENT, --top or --position N")
        t = store.move(theme, target, position)
    same = (t.parent_id, t.position) == (current.parent_id, current.position)
    verb = "Reordered" if t.parent_id == current.parent_id else "Moved"
    emit(t, as_json, lambda t: f"{t.path} is already there (position {t.position}); nothing changed" if same
         else f"{verb}: {t.path} (position {t.position})")


@themes.command("assign")
@STUDY
@click.argument("theme")
@click.argument("codes", nargs=-1, required=True)
@CODER
@JSON
def themes_assign(study, theme, codes, coder, as_json):
    """Gather CODES into THEME (a code may serve several themes).

    Codes THEME already gathers are left as they are; when none is new, nothing is recorded in
    the history (there is nothing to undo)."""
    with opened(study, actor=coder) as s:
        result = _store(s).assign(theme, codes)
    emit(result, as_json, lambda r: f"{r['theme']}: assigned {', '.join(r['assigned']) or 'nothing new'}"
         + (f" (already there: {', '.join(r['already'])})" if r["already"] else "")
         + ("; no change recorded" if not r["assigned"] else ""))


@themes.command("unassign")
@STUDY
@click.argument("theme")
@click.argument("codes", nargs=-1, required=True)
@CODER
@JSON
def themes_unassign(study, theme, codes, coder, as_json):
    """Take CODES out of THEME (key quotes that only they supported go too)."""
    with opened(study, actor=coder) as s:
        result = _store(s).unassign(theme, codes)
    emit(result, as_json, lambda r: f"{r['theme']}: unassigned {', '.join(r['unassigned'])}"
         + (f"; {r['key_quotes_dropped']} key quote(s) dropped" if r["key_quotes_dropped"] else ""))


@themes.command("define")
@STUDY
@click.argument("theme")
@click.option("--concept", help="The central organising concept ('-' reads standard input).")
@click.option("--definition", help="The definition ('-' reads standard input).")
@click.option("--colour", "--color", "colour", help="Colour as #RRGGBB.")
@CODER
@JSON
def themes_define(study, theme, concept, definition, colour, coder, as_json):
    """Set THEME's central organising concept, definition or colour."""
    if concept is None and definition is None and colour is None:
        raise InvalidInput("give --concept, --definition or --colour")
    with opened(study, actor=coder) as s:
        t = _store(s).define(theme, concept=read_text(concept) if concept is not None else None,
                             definition=read_text(definition) if definition is not None else None, colour=colour)
    emit(t, as_json, _render_defined)


def _render_defined(t):
    return "\n".join([f"{t.path} [{t.status}] {t.colour}",
                      f"Central organising concept: {t.concept or '-'}", f"Definition: {t.definition or '-'}"])


@themes.command("status")
@STUDY
@click.argument("theme")
@click.argument("status", type=click.Choice(STATUSES), metavar="STATUS")
@CODER
@JSON
def themes_status(study, theme, status, coder, as_json):
    """Set THEME's status: candidate, active or discarded."""
    with opened(study, actor=coder) as s:
        t = _store(s).set_status(theme, status)
    emit(t, as_json, lambda t: f"{t.path} is now {t.status}")


@themes.command("merge")
@STUDY
@click.argument("source")
@click.argument("target")
@CODER
@JSON
def themes_merge(study, source, target, coder, as_json):
    """Merge theme SOURCE into TARGET (codes, key quotes, subthemes and memos move; SOURCE goes)."""
    with opened(study, actor=coder) as s:
        result = _store(s).merge(source, target)
    emit(result, as_json, lambda r: f"Merged {r['source']} into {r['target']}: {r['codes']} code(s), "
         f"{r['key_quotes']} key quote(s), {r['subthemes']} subtheme(s), {r['memos']} memo(s) moved")


@themes.command("split")
@STUDY
@click.argument("theme")
@click.argument("new_name")
@click.option("--code", "codes", multiple=True, required=True, metavar="CODE",
              help="A code that moves to the new theme (repeatable).")
@click.option("--parent", metavar="THEME", help="Put the new theme under THEME (default: beside THEME).")
@click.option("--subtheme", "as_subtheme", is_flag=True, help="Make the new theme a subtheme of THEME.")
@CODER
@JSON
def themes_split(study, theme, new_name, codes, parent, as_subtheme, coder, as_json):
    """Split NEW_NAME off THEME, taking the --code codes (and their key quotes) with it."""
    with opened(study, actor=coder) as s:
        result = _store(s).split(theme, new_name, codes, parent=parent, as_subtheme=as_subtheme)
    emit(result, as_json, lambda r: f"Split {r['new']} off {r['source']} with {', '.join(r['codes'])}")


@themes.command("quote")
@STUDY
@click.argument("coding_id", type=int)
@click.option("--theme", metavar="THEME", help="The theme it illustrates (needed when its code serves several).")
@click.option("--unflag", is_flag=True, help="Remove the key-quote flag instead.")
@click.option("--note", default="", help="Why this quote (kept with the flag).")
@CODER
@JSON
def themes_quote(study, coding_id, theme, unflag, note, coder, as_json):
    """Flag (or --unflag) coding CODING_ID as a key quote of a theme (ids: qualcode evidence)."""
    with opened(study, actor=coder) as s:
        result = _store(s).quote(coding_id, theme, unflag=unflag, note=note)
    emit(result, as_json, lambda r: f"Coding {r['coding']} is {'now' if r['key'] else 'no longer'} "
         f"a key quote of {r['theme']}")


@themes.command("memo")
@STUDY
@click.argument("theme")
@click.argument("text")
@click.option("--title", default="", help="A short title.")
@CODER
@JSON
def themes_memo(study, theme, text, title, coder, as_json):
    """Add a memo on THEME (TEXT, or '-' to read standard input)."""
    with opened(study, actor=coder) as s:
        memo = _store(s).memo(theme, read_text(text), coder=coder, title=title)
    emit(memo, as_json, lambda m: f"Memo {m.id} on theme {theme}")


@themes.command("delete")
@STUDY
@click.argument("theme")
@CODER
@JSON
def themes_delete(study, theme, coder, as_json):
    """Delete THEME (for mistakes; to keep it in the record, set its status to discarded)."""
    with opened(study, actor=coder) as s:
        t = _store(s).delete(theme)
    emit(t, as_json, lambda t: f"Deleted theme {t.path} (qualcode undo brings it back)")


# -- phase -------------------------------------------------------------------------------------

def _render_phase(d):
    lines = [f"Phase {d['phase']} of 6: {d['name']}  (approach: {d['approach']})", ""]
    for p in d["phases"]:
        mark = "▶" if p["current"] else " "
        counts = ", ".join(f"{v} {k}" for k, v in p["counts"].items())
        lines.append(f"{mark} {p['phase']}. {p['name']:<40} {counts}")
    lines += ["", f"Journal prompt: {d['prompt']}"]
    if "journal_entry" in d:
        lines.append(f"Journal entry {d['journal_entry']['id']} added ({d['journal_entry']['coder']}).")
    else:
        lines.append(f"  qualcode journal add STUDY.qc --phase {d['phase']} \"...\"  (or: qualcode phase STUDY.qc "
                     f"{d['phase']} --journal \"...\")")
    lines += [f"Hint: {h}" for h in d["hints"]]
    return "\n".join(lines)


@click.command()
@STUDY
@click.argument("phase", type=click.IntRange(1, 6), required=False)
@click.option("--journal", metavar="TEXT", help="Add this journal entry for the phase ('-' reads standard input).")
@CODER
@JSON
def phase(study, phase, journal, coder, as_json):
    """Show the Braun & Clarke phase tracker, or move the study to PHASE (1-6).

    Shows what the study holds for each of the six phases and a journal prompt for the current
    one; the prompt depends on the study's approach (reflexive, codebook, coding-reliability).
    """
    with opened(study, actor=coder) as s:
        if phase is None:
            if journal:
                s.journal.add(read_text(journal), coder=coder)
            data = phase_status(s)
        else:
            data = set_phase(s, phase, journal=read_text(journal) if journal else None, coder=coder)
    emit(data, as_json, _render_phase)


# -- evidence ----------------------------------------------------------------------------------

def _n(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def _codings_line(passages, by_coder):
    """``12 (19 codings: Amira 10, Ben 9)``: the count, and the codings behind it per coder."""
    total = sum(by_coder.values())
    who = ", ".join(f"{name} {n}" for name, n in by_coder.items())
    return f"{passages} ({_n(total, 'coding')}" + (f": {who}" if len(by_coder) > 1 else "") + ")"


def _render_evidence(ev, limit):
    lines = [f"{ev.kind.capitalize()}: {ev.name}", f"Codes: {', '.join(ev.codes) or 'none'}",
             f"Passages: {_codings_line(ev.passages, ev.by_coder)}"
             + (f"; {ev.unattributed} without a participant" if ev.unattributed else ""),
             f"Participants: {ev.summary}"]
    for sub in ev.subthemes:
        lines.append(f"  {sub['theme']}: {_n(sub['passages'], 'passage')}; {sub['coverage']}")
    lines += ["", "Coding density per transcript:",
              table([(d.document, ", ".join(d.participants), d.words, d.passages, f"{d.share:.1%}",
                      f"{d.per_1000_words:.1f}") for d in ev.density],
                    ["document", "participants", "words", "passages", "coded", "per 1000 words"])]
    if ev.participants:
        lines += ["", "Participants (passages here; key quotes here; key quotes in all themes):",
                  table([(p.participant, p.group, p.passages, p.key_quotes, p.quoted_overall) for p in ev.participants],
                        ["participant", "group", "passages", "key quotes", "quoted overall"])]
    lines += ["", COUNTS_NOTE + "."]
    shown = ev.extracts[:limit] if limit else ev.extracts
    if shown:
        lines += ["", "Codings (every coder's; #coding id for qualcode themes quote, * = key quote):"]
        for e in shown:
            lines.append(f"  #{e.coding_id}{'*' if e.key else ''} {e.participant or '?'} {e.document} "
                         f"{e.start}:{e.end} [{e.code}; {e.coder}] \u201c{shorten(e.text, 110)}\u201d")
        if len(shown) < len(ev.extracts):
            lines.append(f"  ... {len(ev.extracts) - len(shown)} more (--limit 0 shows all)")
    return "\n".join(lines)


def _render_overview(d):
    lines = ["Themes:", table([("  " * (r["theme"].count("/")) + r["theme"].rsplit("/", 1)[-1], r["status"],
                                 r["passages"], r["key_quotes"], r["coverage"]) for r in d["themes"]],
                                ["theme", "status", "passages", "key", "participants"], max_width=70)]
    lines += ["", "Theme-coded text per transcript (a passage in several themes counts once):",
              table([(x["document"], x["passages"], f"{x['share']:.1%}") for x in d["density"]],
                    ["document", "passages", "coded"])]
    lines += ["", "Participants:", table([(p["participant"], p["group"], p["passages"], p["quoted"])
                                          for p in d["participants"]],
                                         ["participant", "group", "passages", "key quotes"])]
    lines += ["", d["unit_note"] + "."]
    return "\n".join(lines)


@click.command()
@STUDY
@click.option("--theme", metavar="THEME", help="Evidence for THEME and its subthemes.")
@click.option("--code", metavar="CODE", help="Evidence for CODE.")
@click.option("--children", is_flag=True, help="With --code: include its child codes.")
@click.option("--coder", metavar="NAME", help="Only this coder's codings (default: every coder, passages merged).")
@click.option("--discarded", is_flag=True, help="Count discarded (sub)themes too (as export map --discarded).")
@click.option("--limit", type=click.IntRange(0), default=30, show_default=True,
              help="How many codings to print (0: all; --json always has all).")
@JSON
def evidence(study, theme, code, children, coder, discarded, limit, as_json):
    """Passages, participants by group, density per transcript and quotes per participant.

    For a theme (--theme, with its subthemes) or a code (--code); without either, an overview of
    every theme. "8 of 16 patients: P3, P10, ..." lines show which participants a theme draws on.
    Counts are passages, as in the map and the quote table: overlapping codings by any coder
    count once (with --coder, that coder's codings only); discarded subthemes are left out
    unless --discarded. The codings behind them are listed with their ids (for key quotes).
    """
    if theme and code:
        raise InvalidInput("give --theme or --code, not both")
    with opened(study) as s:
        if not theme and not code:
            data = overview(s, coder=coder, include_discarded=discarded)
            emit(data, as_json, _render_overview)
            return
        ev = evidence_of(s, theme=theme, code=code, coder=coder, include_code_children=children,
                         include_discarded=discarded)
    if as_json:
        emit(ev.as_dict(), True)
    else:
        click.echo(_render_evidence(ev, limit))
        if ev.unattributed:
            say(f"note: {_n(ev.unattributed, 'passage')} without a participant (interviewer or unmapped speaker; "
                "see qualcode speakers)")


COMMANDS = [themes, phase, evidence]
