"""``anonymise check``: does the study still hold identifiers?

What it looks at:

- every document, with the guard (registered terms as the scan matches them, participants'
  names, the hashed register) — and, with the key, the lower-case forms of registered names that
  are also ordinary words (``mark``), which a reviewer must have accepted or rejected;
- every other text value the study keeps (memos, code definitions, change summaries, the audit
  log ...), reported as ``table.column``;
- participants' ``name`` column;
- with the key, the **raw bytes** of the study file and its ``-wal`` / ``-shm`` companions,
  matched in any case, which catches what a query cannot see: free pages, old versions of pages
  in the WAL, stale bytes left in a page, the full-text index. Each hit is placed in the table
  (or free page, or WAL frame) that holds it (SQLite's ``dbstat``), and hits that live values
  account for are not counted twice: the value checks above decide about those.

Exemptions are per position, never per word: a place a reviewer rejected (decided not
identifying) is not reported, and another mention of the same word elsewhere still is.

Coders' names are study metadata, not data subjects' names: the research team codes under
their own names by consent. Mentions of a coder's name in the columns that name coders
(``coders.name``, ``changes.coder``, an apply's reviewer ...) are not counted, and the report
says so (``raw_exempt``); the same name in a transcript, a memo or a quote is still a leak.
``qualcode coders rename`` renames a coder when the team wants the name gone too.

**Without the key** the check knows less: only participants' names still in the study and the
salted hashes of the registered terms (exact words, no misspellings, ordinary-word names only
when capitalised), and not which places a reviewer rejected — so a keyless check can report a
kept (rejected) word that the keyed check accepts, and it cannot search the raw bytes.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from pathlib import Path
from typing import Any, Iterable

from qualcode.anonymise.guard import Guard, Leak
from qualcode.store import anonymise as store
from qualcode.store.connection import read_raw

CODER_COLUMNS = ("coders.name", "changes.coder")


def raw_pattern(terms) -> tuple[re.Pattern[bytes], dict[bytes, str]] | None:
    """One bytes pattern, any case, for every term of three characters or more."""
    forms: dict[bytes, str] = {}
    for t in terms:
        text = " ".join(t.text.split())
        if len(text) >= 3:
            forms.setdefault(text.lower().encode("utf-8"), text)
    if not forms:
        return None
    body = b"|".join(re.escape(f).replace(rb"\ ", rb"\s+") for f in sorted(forms, key=len, reverse=True))
    return re.compile(rb"(?<![A-Za-z0-9])(?:" + body + rb")(?![A-Za-z0-9])", re.IGNORECASE), forms


def raw_patterns(terms) -> list[tuple[re.Pattern[bytes], dict[bytes, str]]]:
    """Kept for callers of the old API: the one any-case pattern, in a list."""
    found = raw_pattern(terms)
    return [found] if found else []


def _term_of(forms: dict[bytes, str], raw: bytes) -> str:
    key = b" ".join(raw.split()).lower()
    return forms.get(key) or raw.decode("utf-8", "replace")


def _wal_frames(data: bytes) -> tuple[int, list[tuple[int, int, bool]]]:
    """(page size, [(offset of the frame's page, page number, current?)]) of a WAL file: the
    frames up to the last commit whose salts match the header; a page's last such frame is its
    current version, earlier frames (and frames after the last commit) are old text."""
    if len(data) < 32 or struct.unpack(">I", data[:4])[0] not in (0x377F0682, 0x377F0683):
        return 0, []
    size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames = []
    pos, last_commit = 32, -1
    while pos + 24 + size <= len(data):
        pgno, commit = struct.unpack(">II", data[pos:pos + 8])
        if data[pos + 8:pos + 16] != salts:
            break
        frames.append((pos + 24, pgno))
        if commit:
            last_commit = len(frames) - 1
        pos += 24 + size
    latest: dict[int, int] = {}
    for i, (_off, pgno) in enumerate(frames[:last_commit + 1]):
        latest[pgno] = i
    return size, [(off, pgno, latest.get(pgno) == i) for i, (off, pgno) in enumerate(frames)]


def _live_counts(db, pattern: re.Pattern[bytes], forms: dict[bytes, str], coders: set[str]):
    """What the live values hold: (table, term) -> copies in the file (values and their index
    copies); (table, column, term) -> mentions in columns no value check reads, split into
    leaks and coder names (``coders.name``, ``changes.coder``, a coder named in metadata);
    and the terms written somewhere in the documents' text."""
    covered = {(t, c) for t, cols in store.text_columns(db) for c in cols}
    covered |= {("documents", "text"), ("participants", "name"), ("sqlite_schema", "sql")}
    copies = store.index_copies(db)
    live: dict[tuple[str, str], int] = {}
    uncovered: dict[tuple[str, str, str], int] = {}
    coder_mentions: dict[tuple[str, str, str], int] = {}
    in_documents: set[str] = set()
    for table, col, value in store.all_text_cells(db):
        data = value.encode("utf-8")
        hits = [_term_of(forms, m.group(0)) for m in pattern.finditer(data)]
        if not hits:
            continue
        for term in hits:
            live[(table, term)] = live.get((table, term), 0) + 1 + copies.get((table, col), 0)
            if table == "documents" and col == "text":
                in_documents.add(term.lower())
            if (table, col) in covered:
                continue
            k = (table, col, term)
            if f"{table}.{col}" in CODER_COLUMNS or term.lower() in coders or value.strip().lower() in coders:
                coder_mentions[k] = coder_mentions.get(k, 0) + 1
            else:
                uncovered[k] = uncovered.get(k, 0) + 1
    return live, uncovered, coder_mentions, in_documents


def raw_leaks(path: Path, terms, db=None, coders: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Registered terms found in the bytes of the study file and its companions, in any case.

    With ``db`` (an open study) each hit is placed: ``where`` names the table and column (or
    ``free page``, ``old page version in the WAL`` ...) and hits accounted for by live values
    that the value checks read are left to them. Coder names in the columns naming coders are
    returned with ``exempt`` set (see the module docstring)."""
    found = raw_pattern(terms)
    if found is None:
        return []
    pattern, forms = found
    coders = {c.lower() for c in coders}
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    raw: dict[tuple[str, str, str], int] = {}  # (file, where, term) -> count
    if db is None:
        for p in files:
            for m in pattern.finditer(read_raw(p)):
                key = (p.name, "", _term_of(forms, m.group(0)))
                raw[key] = raw.get(key, 0) + 1
        return [{"file": f, "where": w, "term": t, "count": n} for (f, w, t), n in sorted(raw.items())]

    owners = store.page_owners(db)
    tables = store.object_tables(db)
    size = store.page_size(db)
    wal_path = Path(f"{path}-wal")
    wal = read_raw(wal_path) if wal_path.exists() else b""
    wal_size, frames = _wal_frames(wal)
    superseded = {pgno for _off, pgno, current in frames if current}
    frame_starts = [off for off, _pgno, _current in frames]
    current_hits: dict[tuple[str, str], int] = {}  # (owner table, term) -> count

    def place(pgno: int) -> str | None:
        """The table owning page ``pgno`` (None: a free page)."""
        if owners is None:
            return "?"
        name = owners.get(pgno)
        return None if name is None else tables.get(name, name)

    for p in files:
        data = wal if p == wal_path else read_raw(p)
        for m in pattern.finditer(data):
            term = _term_of(forms, m.group(0))
            if p == path:
                pgno = m.start() // size + 1
                if pgno in superseded:
                    where = "old page version in the file (the WAL holds a newer one: not checkpointed)"
                else:
                    owner = place(pgno)
                    if owner is not None:
                        current_hits[(owner, term)] = current_hits.get((owner, term), 0) + 1
                        continue
                    where = "free page"
            elif p == wal_path:
                i = bisect_right(frame_starts, m.start()) - 1
                frame = frames[i] if i >= 0 and m.start() < frames[i][0] + wal_size else None
                if frame is not None and frame[2]:
                    owner = place(frame[1])
                    if owner is not None:
                        current_hits[(owner, term)] = current_hits.get((owner, term), 0) + 1
                        continue
                where = "old page version in the WAL (not checkpointed)"
            else:
                where = "shared-memory file"
            raw[(p.name, where, term)] = raw.get((p.name, where, term), 0) + 1

    live, uncovered, coder_mentions, in_documents = _live_counts(db, pattern, forms, coders)
    out = [{"file": f, "where": w, "term": t, "count": n} for (f, w, t), n in sorted(raw.items())]
    for (table, col, term), n in sorted(uncovered.items()):
        out.append({"file": path.name, "where": f"{table}.{col}", "term": term, "count": n})
    for (table, col, term), n in sorted(coder_mentions.items()):
        out.append({"file": path.name, "where": f"{table}.{col}", "term": term, "count": n, "exempt": "coder"})
    fts = store.virtual_tables(db)
    if owners is None:  # no page map: compare the whole file with all live values
        totals: dict[str, int] = {}
        for (_owner, term), n in current_hits.items():
            totals[term] = totals.get(term, 0) + n
        for term, n in sorted(totals.items()):
            allowed = sum(c for (_t, tm), c in live.items() if tm == term)
            if term.lower() in in_documents:
                continue  # the full-text index holds it too: cannot tell apart without dbstat
            if n > allowed:
                out.append({"file": path.name, "where": "stale bytes", "term": term, "count": n - allowed})
        return out
    for (owner, term), n in sorted(current_hits.items()):
        if owner in fts:
            if term.lower() in in_documents:
                continue  # the index of text that is still there (and checked as text)
            out.append({"file": path.name, "where": f"{owner} (full-text index of text no longer there)",
                        "term": term, "count": n})
            continue
        excess = n - live.get((owner, term), 0)
        if excess > 0:
            out.append({"file": path.name, "where": f"{owner} (stale bytes of deleted or changed rows)",
                        "term": term, "count": excess})
    return out


def _rejected_spans(key) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    if key is not None:
        for c in key.candidates(status="rejected"):
            spans.setdefault(c.document_guid, []).append((c.start, c.end))
    return spans


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def check_study(study, key=None) -> dict[str, Any]:
    db = study.db
    guard = Guard(study, key, coders_exempt=False)
    rejected = _rejected_spans(key)
    documents = []
    for d in store.documents(db):
        kept = rejected.get(d["guid"], [])
        leaks = [lk for lk in guard.check(d["text"]) if not _inside(kept, lk.start, lk.end)]
        if key is not None:
            # Ordinary-word names in lower case ("rang mark"): a reviewer must have decided.
            for m in guard.matcher.lowercase(d["text"], [(lk.start, lk.end) for lk in leaks]):
                if not _inside(kept, m.start, m.end):
                    left, text, right = d["text"][max(0, m.start - 30):m.start], d["text"][m.start:m.end], \
                        d["text"][m.end:m.end + 30]
                    leaks.append(Leak(m.start, m.end, text, m.term.kind, "lowercase (not reviewed)", left, right))
            leaks.sort(key=lambda lk: lk.start)
        if leaks:
            documents.append({"document": d["name"], "leaks": [lk.as_dict() for lk in leaks]})
    values = []
    for table, rid, col, value in store.text_values(db):
        if table == "participants" and col == "name":
            continue
        leaks = guard.check_value(value)
        if leaks:
            values.append({"table": table, "row": rid, "column": col, "where": f"{table}.{col}",
                           "leaks": [lk.text for lk in leaks]})
    names = [p["label"] for p in store.participants(db) if p["name"]]
    raw: list[dict[str, Any]] = []
    raw_exempt: list[dict[str, Any]] = []
    if key is not None:
        coders = store.coder_names(db)
        for r in raw_leaks(Path(study.path), guard.matcher.terms, db, coders):
            (raw_exempt if r.get("exempt") else raw).append(r)
    hints = []
    wheres = " ".join(r["where"] for r in raw)
    if "WAL" in wheres:
        hints.append("the file still holds old page versions (the WAL is not checkpointed): another connection is "
                     "probably reading the study; close the other qualcode windows and programs using it, then "
                     "check again (or run `qualcode anonymise apply STUDY --key KEY --compact`)")
    if "free page" in wheres or "stale bytes" in wheres:
        hints.append("old text survives in unused space of the file: `qualcode anonymise apply STUDY --key KEY "
                     "--compact` rewrites the file without it")
    if any(lk.get("found_by", "").startswith("lowercase") for d in documents for lk in d["leaks"]):
        hints.append("lower-case words that are also registered names need a decision: `qualcode anonymise list "
                     "STUDY --key KEY --rule register-lowercase`, then accept or reject them")
    count = (sum(len(d["leaks"]) for d in documents) + sum(len(v["leaks"]) for v in values) + len(names)
             + sum(r["count"] for r in raw))
    return {"ok": count == 0, "leaks": count, "documents": documents, "values": values,
            "participants_with_names": names, "raw": raw, "raw_exempt": raw_exempt,
            "rejected_kept": sum(len(v) for v in rejected.values()), "with_key": key is not None,
            "hints": hints}
