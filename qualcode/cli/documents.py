"""Importing transcripts, listing and showing documents, full-text search."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from qualcode.cli.common import JSON, STUDY, emit, opened, parse_assignments, say, table
from qualcode.errors import InvalidInput, QualcodeError, StudyFileError

@click.command("import")
@STUDY
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILES...")
@click.option("--format", "fmt", metavar="FORMAT", help="Skip detection and read every file as FORMAT.")
@click.option("--replace", is_flag=True,
              help="Update a document of the same name whose transcript changed; codings are moved to "
                   "the same words where found, and reported.")
@click.option("--max-size", type=click.FloatRange(min=0.001), default=50, show_default=True,
              help="Refuse files larger than this many MB.")
@click.option("--speaker", "speaker_map", multiple=True, metavar="LABEL=PARTICIPANT",
              help="Map a speaker label in these files to a participant (or interviewer/unknown); repeatable.")
@JSON
def import_(study, files, fmt, replace, max_size, speaker_map, as_json):
    """Import transcripts (files or folders): text, DOCX, VTT, SRT, Otter, Rev ...

    Re-importing the same bytes changes nothing; changed bytes under the same file name are
    added beside the earlier document (with a note) unless --replace is given. A bad file, or
    a .doc/.docm/.rtf/.odt/.pdf file in a folder, is reported and skipped; the others are
    imported (exit 1 if any was skipped, 2 if none could be imported).
    """
    import importers
    from importers.batch import MB, collect, import_file

    if fmt and fmt not in importers.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; known: {', '.join(sorted(importers.FORMATS))}")
    mapping = parse_assignments(speaker_map)
    unsupported: list = []
    paths = collect(files, unsupported)
    if not paths and not unsupported:
        raise InvalidInput("no transcript files found in the given folders")
    results, failures = [], [{"file": str(path), "error": reason} for path, reason in unsupported]
    with opened(study) as s:
        # A damaged page is only met when a write reaches it: with files committed one by one,
        # the batch would stop half way. So a batch checks the file first (~1 s per 150 MB).
        try:
            health = s.db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            health = str(exc)
        if health != "ok":
            raise StudyFileError(f"{study} is damaged ({health}); nothing was imported. Restore a backup, "
                                 "or see `qualcode info STUDY --check`")
        show_bar = sys.stderr.isatty() and not as_json and len(paths) > 1
        with click.progressbar(paths, label="Importing", file=sys.stderr) if show_bar else _plain(paths) as bar:
            for path in bar:
                try:
                    results.append(import_file(s, path, fmt, replace, int(max_size * MB), mapping))
                except QualcodeError as exc:
                    failures.append({"file": str(path), "error": str(exc)})
    unused = [label for label in mapping if results and all(label in r["unused_speakers"] for r in results)]
    def render(data):
        rows = [(Path(r["file"]).name, r["status"], r["format"], r["encoding"], r["turns"],
                 len(r["speakers"]), r["words"]) for r in data["imported"]]
        out = table(rows, ["file", "status", "format", "encoding", "turns", "speakers", "words"]) if rows else ""
        for r in data["imported"]:
            for w in r["warnings"]:
                out += f"\nwarning: {Path(r['file']).name}: {w}"
            for n in r["notes"]:
                out += f"\nnote: {Path(r['file']).name}: {n}"
            if r["codings"]:
                c = r["codings"]
                out += (f"\n{r['document']}: codings kept {c['kept']}, moved to the same words {c['moved']}, "
                        f"dropped (words gone) {c['dropped']}")
                if c.get("merged"):
                    out += f", merged with the same coder's coding they now overlap {c['merged']}"
                for d in r.get("dropped_codings", []):
                    out += (f"\n  dropped: {d['document']} {d['start']}:{d['end']} {d['code']} ({d['coder']}) "
                            f"{_quote(d['text'])}")
        for label in data["unused_speaker_labels"]:
            out += f"\nwarning: --speaker {label}: no imported file has this speaker label; nothing was mapped"
        return out
    emit({"imported": results, "failed": failures, "unused_speaker_labels": unused}, as_json, render)
    for f in failures:
        say(f"qualcode: error: {f['file']}: {f['error']}")
    if failures:
        raise SystemExit(2 if not results else 1)


def _quote(text: str, width: int = 60) -> str:
    """A coding's text on one line for the summary."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")


class _plain:
    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        return False


@click.group()
def documents():
    """List, show and rename documents."""


@documents.command("list")
@STUDY
@JSON
def documents_list(study, as_json):
    """List documents with participants, format, words and codings per coder."""
    with opened(study) as s:
        docs = s.documents.list()
        per_coder = {}
        for c in s.codings.list():
            per_coder.setdefault(c.document_id, {}).setdefault(c.coder, 0)
            per_coder[c.document_id][c.coder] += 1
        data = [{**d.as_dict(), "codings": per_coder.get(d.id, {})} for d in docs]
    emit(data, as_json, lambda ds: table(
        [(d["id"], d["name"], ", ".join(d["participants"]), d["format"], d["word_count"],
          ", ".join(f"{k} {v}" for k, v in d["codings"].items())) for d in ds],
        ["id", "document", "participants", "format", "words", "codings"]))


@documents.command("show")
@STUDY
@click.argument("document")
@click.option("--turns", "show_turns", is_flag=True, help="List turns with spans instead of the text.")
@JSON
def documents_show(study, document, show_turns, as_json):
    """Print a document's text (or its turns with character spans)."""
    with opened(study) as s:
        doc = s.documents.get(document)
        text = s.documents.text(doc.id)
        turns = s.documents.turns(doc.id)
    if as_json:
        emit({**doc.as_dict(), "text": text, "turns": turns}, True)
    elif show_turns:
        click.echo(table([(t.seq, t.speaker or "", t.participant or "", f"{t.start}:{t.end}",
                           _ms(t.start_ms), text[t.start:t.end]) for t in turns],
                         ["#", "speaker", "participant", "span", "time", "text"]))
    else:
        click.echo(text)


def _ms(ms):
    if ms is None:
        return ""
    s = ms // 1000
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


@documents.command("rename")
@STUDY
@click.argument("document")
@click.argument("new_name")
@JSON
def documents_rename(study, document, new_name, as_json):
    """Rename a document."""
    with opened(study) as s:
        doc = s.documents.rename(document, new_name)
    emit(doc, as_json, lambda d: f"Renamed to {d.name}")


@documents.command("set")
@STUDY
@click.argument("document")
@click.argument("values", nargs=-1, metavar="KEY=VALUE...")
@click.option("--date", "interview_date", metavar="YYYY-MM-DD", help="When the interview took place.")
@click.option("--duration", help="How long it lasted, e.g. 37 min or 0:37:12.")
@click.option("--mode", help="How it was held, e.g. telephone, video, face-to-face.")
@JSON
def documents_set(study, document, values, interview_date, duration, mode, as_json):
    """Set a document's metadata (date, duration, mode and any KEY=VALUE; KEY= removes one)."""
    from datetime import date

    meta = parse_assignments(values)
    if interview_date is not None:
        try:
            meta["date"] = date.fromisoformat(interview_date).isoformat() if interview_date else ""
        except ValueError:
            raise InvalidInput(f"--date must be YYYY-MM-DD, not {interview_date!r}") from None
    for key, value in (("duration", duration), ("mode", mode)):
        if value is not None:
            meta[key] = value.strip()
    if not meta:
        raise InvalidInput("give --date, --duration, --mode or KEY=VALUE to set")
    with opened(study) as s:
        doc = s.documents.set_metadata(document, meta)
    emit(doc, as_json, lambda d: f"{d.name}: " + ", ".join(f"{k}: {v}" for k, v in sorted(d.metadata.items())))


@click.command()
@STUDY
@click.argument("query")
@click.option("--document", help="Only this document.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Most turns to show.")
@JSON
def search(study, query, document, limit, as_json):
    """Full-text search: words, "exact phrases", prefix* and OR; hits in context.

    Any input is safe: other punctuation is treated as a word separator.
    """
    with opened(study) as s:
        total, hits = s.search(query, document=document, limit=limit)
    def render(data):
        if not data["hits"]:
            return "No matches."
        lines = [f"{h.document} [{h.participant or h.speaker or '-'}] {h.start}:{h.end}  "
                 f"…{h.left}[{h.match}]{h.right}…" for h in data["hits"]]
        shown = len({h.turn_id for h in data["hits"]})
        lines.append(f"{data['turns']} matching turn(s)" + (f", first {shown} shown" if shown < data["turns"] else ""))
        return "\n".join(lines)
    emit({"query": query, "turns": total, "hits": hits}, as_json, render)


COMMANDS = [import_, documents, search]
