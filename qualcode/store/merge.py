"""Merging a second coder's copy of a study back into the study (``qualcode merge``).

What is matched, and how:

* documents by content: the current canonical text must be the same (compared by its SHA-256), so
  a copy that went through a REFI-QDA round trip still matches; never by name (a document renamed
  in the other copy is matched and the new name mentioned). A document of the other study with
  the same source file (SHA-256 of the source bytes), GUID or name as a base document but a
  different text (one copy was anonymised, or the text was replaced) is a **conflict**: reported,
  and none of its codings, memos or speaker mappings are merged. A document found only in the
  other study is added.
* codes by GUID, then by name under the same (matched) parent, then by a name used once in the
  base (a code moved in the other copy). Same code with a different
  definition (description, include/exclude, example, colour, status) or a different name/place is
  a **conflict**: reported, the base keeps its own. Codes only in the other study are added.
* coders by GUID, then by name; participants by GUID, then by label (attribute differences are
  conflicts); variables by name.
* codings keep their coder. One already in the base (same GUID, or same document, code, coder
  and span) is not added twice; one overlapping the same coder's coding of the same code is merged
  with it (the study-wide rule). ``theirs=[coder]`` makes the other study authoritative for those
  coders: their codings in the base on shared documents are replaced by the other study's.
* themes by GUID, then name under the same parent (a different concept, definition or status is
  a conflict); the codes they gather and their key quotes are added.
* memos by GUID (a different body is a conflict); journal entries by coder, date and text.

Into an anonymised study (one ``qualcode anonymise apply`` has rewritten) nothing identifying is
brought: participants' real names are never copied, documents of a study that was never
anonymised are not added, and speaker labels, documents, memos, coding memos, journal entries,
code and theme texts that hold a name or identifier the study has registered (the export guard's
salted hashes, and the other study's participants' names) are left out. Each is a conflict.

Nothing is silently resolved: every conflict is listed. The whole merge is one change (one undo);
a merge that changes nothing records no change.
Before the base is changed it is backed up with SQLite's backup API to ``BASE.qc.bak-YYYYmmdd-HHMMSS``;
with an output file the base is not touched at all. The other study is read from a private copy,
so merging never writes to it either.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.errors import InvalidInput, StudyFileError
from qualcode.store.connection import APPLICATION_ID
from qualcode.store.refi import (XTheme, _free_guid, _has_table, _rows, _theme_rows, forget_if_empty,
                                 write_themes)
from qualcode.store.speakers import relink_turns
from qualcode.transcript import ParsedTranscript, ParsedTurn

if TYPE_CHECKING:
    from qualcode.study import Study

DEFINITION = ("description", "include_when", "exclude_when", "example", "colour", "status")


@dataclass
class MergeReport:
    base: str = ""
    other: str = ""
    output: str = ""
    backup: str | None = None
    dry_run: bool = False
    added: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        self.added[what] = self.added.get(what, 0) + n

    def match(self, what: str, n: int = 1) -> None:
        self.matched[what] = self.matched.get(what, 0) + n

    def skip(self, reason: str, n: int | str = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + (n if isinstance(n, int) else 1)

    # the interface of ``qualcode.store.refi.Report`` that ``write_themes`` uses
    def count(self, what: str, n: int = 1) -> None:
        suffix = " already in the study"
        if what.endswith(suffix):
            self.match(what[: -len(suffix)], n)
        else:
            self.add(what, n)

    def warn(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {"base": self.base, "other": self.other, "output": self.output, "backup": self.backup,
                "dry_run": self.dry_run, "added": self.added, "matched": self.matched,
                "skipped": self.skipped, "conflicts": self.conflicts, "notes": self.notes}


class _DryRun(Exception):
    pass


# -- files ---------------------------------------------------------------------------------------
def _check_study_file(path: Path) -> None:
    if not path.exists():
        raise StudyFileError(f"{path} does not exist")
    if path.is_dir():
        raise StudyFileError(f"{path} is a folder, not a study file")
    # Through SQLite, not open()/close(): closing a descriptor of a study this process has open
    # would drop that connection's locks (see ``connection.open_existing``).
    if path.stat().st_size == 0:
        raise StudyFileError(f"{path} is not a qualcode study")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        app_id = None
    if app_id != APPLICATION_ID:
        raise StudyFileError(f"{path} is not a qualcode study")


def copy_study(source: Path, target: Path) -> None:
    """A consistent copy of a study: SQLite's online backup API when the study is in use (it has
    a write-ahead log beside it), else the file itself (a closed study is one consistent file,
    and a read-only connection would leave -wal/-shm files beside it)."""
    if not Path(f"{source}-wal").exists():
        shutil.copyfile(source, target)
        return
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()


def backup_path(path: Path, when: datetime | None = None) -> Path:
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate, n = Path(f"{path}.bak-{stamp}"), 2
    while candidate.exists():
        candidate = Path(f"{path}.bak-{stamp}-{n}")
        n += 1
    return candidate


def merge_files(base: str | Path, other: str | Path, out: str | Path | None = None,
                theirs: tuple[str, ...] | list[str] = (), dry_run: bool = False) -> MergeReport:
    """Merge study ``other`` into ``base`` (backed up first), or into a new file ``out``."""
    from qualcode.study import Study

    base, other = Path(base), Path(other)
    _check_study_file(base)
    _check_study_file(other)
    if base.resolve() == other.resolve():
        raise InvalidInput("BASE and OTHER are the same file")
    out_path = Path(out) if out else None
    if out_path is not None:
        if out_path.exists():
            raise InvalidInput(f"{out_path} already exists; give a new file for the merged study")
        if not out_path.parent.exists():
            raise InvalidInput(f"folder {out_path.parent} does not exist")
        if out_path.resolve() in (base.resolve(), other.resolve()):
            raise InvalidInput("the output must be a new file, not BASE or OTHER")
    report = MergeReport(base=str(base), other=str(other), output=str(out_path or base), dry_run=dry_run)
    with tempfile.TemporaryDirectory(prefix="qualcode-merge-") as tmp:
        other_copy = Path(tmp) / "other.qc"
        copy_study(other, other_copy)
        with Study.open(other_copy) as other_study:
            if out_path is not None and not dry_run:
                target = out_path.parent / f".{out_path.name}.merging-{os.getpid()}"
                parts = [target, Path(f"{target}-wal"), Path(f"{target}-shm")]
                try:
                    copy_study(base, target)
                    with Study.open(target) as study:
                        merge(study, other_study, report, theirs)
                        study.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    os.replace(target, out_path)
                finally:
                    for p in parts:
                        p.unlink(missing_ok=True)
                return report
            with Study.open(base) as study:
                if dry_run:
                    try:
                        with study.change("merge", "dry run"):
                            merge(study, other_study, report, theirs)
                            raise _DryRun
                    except _DryRun:
                        pass
                    return report
                backup = backup_path(base)
                copy_study(base, backup)
                report.backup = str(backup)
                try:
                    merge(study, other_study, report, theirs)
                except BaseException:
                    backup.unlink(missing_ok=True)  # the base is unchanged (one transaction)
                    report.backup = None
                    raise
    return report


# -- the merge itself ----------------------------------------------------------------------------
def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Privacy:
    """What keeps identifying data out of an anonymised base study.

    A study is anonymised once ``qualcode anonymise apply`` has run on it (the ``anonymisation``
    table records each apply). Its export guard (salted hashes of every registered name and
    replaced identifier, no key needed) checks what the merge would bring in, and so do the other
    study's participants' real names, which the base's register may not know."""

    def __init__(self, study: "Study", other: "Study") -> None:
        from qualcode.store import anonymise as anon

        self.active = _has_table(study.db, "anonymisation") and bool(anon.applied_ids(study.db))
        self.other_anonymised = _has_table(other.db, "anonymisation") and bool(anon.applied_ids(other.db))
        self.guard = None
        self.names = None
        if not self.active:
            return
        from qualcode.anonymise.guard import Guard

        self.guard = Guard(study)
        full, tokens = set(), set()
        for (name,) in other.db.execute("SELECT name FROM participants WHERE name IS NOT NULL AND name != ''"):
            full.add(name.strip())
            tokens.update(t for t in re.findall(r"[^\W\d_]+", name) if len(t) >= 3)
        coders = {n.casefold() for (n,) in study.db.execute("SELECT name FROM coders")}
        tokens = {t for t in tokens if t.casefold() not in coders}
        parts = [f"(?i:{re.escape(n)})" for n in sorted(full, key=len, reverse=True) if n] + \
            [re.escape(t) for t in sorted(tokens, key=len, reverse=True)]
        if parts:
            self.names = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")

    def hits(self, *texts: Any) -> int:
        """How many identifying things the texts hold (0 when the base is not anonymised)."""
        if not self.active:
            return 0
        n = 0
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                continue
            n += len(self.guard.check(text))
            if self.names is not None:
                n += len(self.names.findall(text))
        return n

    def refuse(self, report: MergeReport, what: str, *texts: Any) -> bool:
        """True (and a conflict reported) when ``what`` would bring identifying data in."""
        n = self.hits(*texts)
        if n:
            report.conflicts.append(f"{what}: holds {n} name(s) or identifier(s) registered as identifying; "
                                    "not brought into this anonymised study")
        return bool(n)


def merge(study: "Study", other: "Study", report: MergeReport, theirs: tuple[str, ...] | list[str] = ()) -> MergeReport:
    """Bring ``other``'s work into ``study`` in one change; conflicts are listed in ``report``.

    A merge that changes nothing leaves no entry in the study's history (so ``undo`` never
    reverts a no-op)."""
    db, odb = study.db, other.db
    summary = f"merge {Path(report.other).name if report.other else other.path.name}"
    privacy = _Privacy(study, other)
    nested = getattr(study, "_change", None) is not None   # part of a caller's change (a dry run)
    with study.change("merge", summary) as ch:
        coders = _merge_coders(db, odb, ch, report)
        theirs_ids = set()
        for name in theirs:
            row = odb.execute("SELECT id FROM coders WHERE name = ? COLLATE NOCASE", [name.strip()]).fetchone()
            if row is None:
                raise InvalidInput(f"--theirs: no coder {name!r} in {Path(report.other).name or 'OTHER'}")
            theirs_ids.add(coders[row[0]])
        _merge_variables(db, odb, ch, report)
        participants = _merge_participants(db, odb, ch, report, privacy)
        codes = _merge_codes(study, other, ch, report, privacy)
        documents, conflicted = _merge_documents(study, other, ch, report, participants, privacy)
        _merge_speakers(db, odb, ch, report, documents, participants, privacy)
        codings = _merge_codings(study, other, ch, report, documents, conflicted, codes, coders, theirs_ids,
                                 privacy)
        themes = _merge_themes(db, odb, ch, report, codes, codings, privacy)
        _merge_memos(db, odb, ch, report, documents, codes, coders, codings, participants, themes, privacy)
        _merge_journal(db, odb, ch, report, coders, privacy)
        study.participants._recompute_bands(ch)
        relink_turns(db)
        for table, what in (("reconciliation_decisions", "reconciliation decisions"),
                            ("agreement_rounds", "agreement rounds")):
            if _has_table(odb, table) and odb.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                report.notes.append(f"{what} of {Path(report.other).name or 'OTHER'} are not merged")
        if not nested:
            forget_if_empty(db, ch)
    return report


def _merge_coders(db, odb, ch, report: MergeReport) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in _rows(odb, "SELECT * FROM coders ORDER BY id"):
        row = db.execute("SELECT id, name FROM coders WHERE guid = ?", [r["guid"]]).fetchone()
        if row is None:
            row = db.execute("SELECT id, name FROM coders WHERE name = ? COLLATE NOCASE", [r["name"]]).fetchone()
        elif row[1].casefold() != r["name"].casefold():
            report.conflicts.append(f"coder {row[1]!r} is called {r['name']!r} in the other study (same GUID); "
                                    f"kept {row[1]!r}")
        if row is not None:
            out[r["id"]] = row[0]
            report.match("coders")
            continue
        out[r["id"]] = ch.insert("coders", {"name": r["name"], "kind": r["kind"], "created": r["created"],
                                            "guid": _free_guid(db, "coders", r["guid"], r["name"])})
        report.add("coders")
    return out


def _merge_variables(db, odb, ch, report: MergeReport) -> None:
    for r in _rows(odb, "SELECT * FROM variables ORDER BY id"):
        row = db.execute("SELECT type, derived_from, bands FROM variables WHERE name = ? COLLATE NOCASE",
                         [r["name"]]).fetchone()
        if row is None:
            ch.insert("variables", {"name": r["name"], "type": r["type"], "derived_from": r["derived_from"],
                                    "bands": r["bands"], "guid": _free_guid(db, "variables", r["guid"], r["name"])})
            report.add("variables")
        elif (row[0], row[1], row[2]) != (r["type"], r["derived_from"], r["bands"]):
            report.conflicts.append(f"attribute {r['name']!r}: {r['type']} in the other study, {row[0]} here "
                                    "(or a different band); kept this study's")


def _merge_participants(db, odb, ch, report: MergeReport, privacy: _Privacy) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in _rows(odb, "SELECT * FROM participants ORDER BY id"):
        rows = _rows(db, "SELECT * FROM participants WHERE guid = ?", [r["guid"]]) or \
            _rows(db, "SELECT * FROM participants WHERE label = ? COLLATE NOCASE", [r["label"]])
        if rows:
            b = rows[0]
            out[r["id"]] = b["id"]
            report.match("participants")
            theirs, ours = json.loads(r["attributes"]), json.loads(b["attributes"])
            keys = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            if b["label"].casefold() != r["label"].casefold():
                keys.insert(0, "label")
            if b["grp"] != r["grp"]:
                keys.insert(0, "group")
            if keys:
                report.conflicts.append(f"participant {b['label']}: {', '.join(keys)} differ in the other study; "
                                        "kept this study's")
            continue
        name = r["name"]
        if name and privacy.active:
            report.conflicts.append(f"participant {r['label']}: the other study holds their real name; it was not "
                                    "copied into this anonymised study (register it in the key with "
                                    "`qualcode anonymise register`)")
            name = None
        out[r["id"]] = ch.insert("participants", {
            "label": r["label"], "grp": r["grp"], "name": name, "attributes": r["attributes"],
            "created": r["created"], "guid": _free_guid(db, "participants", r["guid"], r["label"])})
        report.add("participants")
    return out


def _merge_codes(study: "Study", other: "Study", ch, report: MergeReport, privacy: _Privacy) -> dict[int, int]:
    db, odb = study.db, other.db
    out: dict[int, int] = {}
    other_paths = other.codes._paths()
    rows = _rows(odb, "SELECT * FROM codes ORDER BY id")
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    for r in rows:
        by_parent.setdefault(r["parent_id"], []).append(r)
    queue = list(by_parent.get(None, []))
    seen = set()
    while queue:
        r = queue.pop(0)
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        queue.extend(by_parent.get(r["id"], []))
        parent = out.get(r["parent_id"]) if r["parent_id"] is not None else None
        found = _rows(db, "SELECT * FROM codes WHERE guid = ?", [r["guid"]])
        how = "guid"
        if not found:
            how = "name"
            found = _rows(db, "SELECT * FROM codes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
                          [parent or 0, r["name"]])
        if not found:  # the only code of that name, elsewhere in the tree: the same code, moved
            anywhere = _rows(db, "SELECT * FROM codes WHERE name = ? COLLATE NOCASE", [r["name"]])
            if len(anywhere) == 1:
                how, found = "moved", anywhere
        if found:
            b = found[0]
            out[r["id"]] = b["id"]
            report.match("codes")
            path = study.codes.by_id(b["id"]).path
            if how != "name" and (b["name"] != r["name"] or b["parent_id"] != parent):
                report.conflicts.append(f"code {path}: named or placed as {other_paths[r['id']]!r} in the other "
                                        "study; kept this study's")
            differs = [k for k in DEFINITION if (b[k] or "") != (r[k] or "")]
            if differs:
                report.conflicts.append(f"code {path}: same code, different definition ({', '.join(differs)}); "
                                        "kept this study's")
            continue
        if privacy.refuse(report, f"code {other_paths[r['id']]}", r["name"], r["description"], r["include_when"],
                          r["exclude_when"], r["example"]):
            report.skip("codes (and their codings) left out of the anonymised study")
            continue
        out[r["id"]] = ch.insert("codes", {
            **{k: r[k] for k in ("name", "colour", "description", "include_when", "exclude_when", "example",
                                 "status", "created")},
            "parent_id": parent, "guid": _free_guid(db, "codes", r["guid"], r["name"])})
        report.add("codes")
    return out


def _merge_documents(study: "Study", other: "Study", ch, report: MergeReport,
                     participants: dict[int, int], privacy: _Privacy) -> tuple[dict[int, int], set[int]]:
    db, odb = study.db, other.db
    by_text: dict[str, int] = {}
    by_sha: dict[str, int] = {}
    names: dict[int, str] = {}
    for doc_id, sha, text, name in db.execute("SELECT id, sha256, text, name FROM documents ORDER BY id"):
        by_text.setdefault(_text_hash(text), doc_id)
        by_sha.setdefault(sha, doc_id)
        names[doc_id] = name
    out: dict[int, int] = {}
    conflicted: set[int] = set()
    for r in _rows(odb, "SELECT * FROM documents ORDER BY id"):
        match = by_text.get(_text_hash(r["text"]))
        if match is not None:  # the same text (whatever the source bytes were): the same document
            out[r["id"]] = match
            report.match("documents")
            if names[match].casefold() != r["name"].casefold():
                report.notes.append(f"document {names[match]} is called {r['name']!r} in the other study; "
                                    f"kept the name {names[match]!r}")
            continue
        same, why = by_sha.get(r["sha256"]), "same source file"
        if same is None:
            row = db.execute("SELECT id FROM documents WHERE guid = ? OR name = ? COLLATE NOCASE "
                             "ORDER BY guid = ? DESC LIMIT 1", [r["guid"], r["name"], r["guid"]]).fetchone()
            same, why = (row[0] if row else None), "same GUID or name"
        if same is not None:
            conflicted.add(r["id"])
            left = _left_out(odb, r["id"])
            hint = ""
            if why == "same source file":
                hint = (" (this study was anonymised)" if privacy.active and not privacy.other_anonymised else
                        " (the other study was anonymised)" if privacy.other_anonymised and not privacy.active else
                        " (same source file: anonymised or replaced in one copy)")
            report.conflicts.append(f"document {names[same]}: its text differs in the other study ({r['name']}){hint}; "
                                    f"{_listing(left)} there were not merged")
            for what, n in left.items():
                if n:
                    report.skip(f"{what} on a document whose text changed", n)
            continue
        if privacy.active and not privacy.other_anonymised:
            conflicted.add(r["id"])
            report.conflicts.append(f"document {r['name']}: the other study was never anonymised; not added to "
                                    "this anonymised study (anonymise it there first, or import and anonymise it "
                                    "here)")
            report.skip("documents left out of the anonymised study")
            continue
        turn_rows = _rows(odb, 'SELECT start, "end", speaker, start_ms, end_ms FROM turns '
                               "WHERE document_id = ? ORDER BY seq", [r["id"]])
        if privacy.refuse(report, f"document {r['name']}", r["name"], r["text"], r["metadata"],
                          "\n".join(sorted({t["speaker"] for t in turn_rows if t["speaker"]}))):
            conflicted.add(r["id"])
            report.skip("documents left out of the anonymised study")
            continue
        turns = [ParsedTurn(t["start"], t["end"], t["speaker"], t["start_ms"], t["end_ms"]) for t in turn_rows]
        parsed = ParsedTranscript(text=r["text"], turns=turns, format=r["format"], encoding=r["encoding"],
                                  metadata=json.loads(r["metadata"]))
        result = study.documents.add(parsed, r["name"], r["source_name"], r["sha256"])
        doc_id = result["document"].id
        ch.update("documents", doc_id, {"guid": _free_guid(db, "documents", r["guid"], r["sha256"]),
                                        "imported": r["imported"]})
        out[r["id"]] = doc_id
        by_sha[r["sha256"]] = doc_id
        by_text[_text_hash(r["text"])] = doc_id
        names[doc_id] = r["name"]
        report.add("documents")
    return out, conflicted


def _left_out(odb, doc_id: int) -> dict[str, int]:
    """What of the other study's document a conflict keeps out: codings, memos, speaker mappings."""
    codings = odb.execute("SELECT count(*) FROM codings WHERE document_id = ?", [doc_id]).fetchone()[0]
    memos = odb.execute("SELECT count(*) FROM memos WHERE document_id = ?", [doc_id]).fetchone()[0]
    speakers = odb.execute("SELECT count(*) FROM speakers WHERE document_id = ?", [doc_id]).fetchone()[0]
    return {"codings": codings, "memos": memos, "speaker mappings": speakers}


def _listing(left: dict[str, int]) -> str:
    singular = {"codings": "coding(s)", "memos": "memo(s)", "speaker mappings": "speaker mapping(s)"}
    parts = [f"{n} {singular[k]}" for k, n in left.items() if n or k == "codings"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _merge_speakers(db, odb, ch, report: MergeReport, documents: dict[int, int],
                    participants: dict[int, int], privacy: _Privacy) -> None:
    for r in _rows(odb, "SELECT * FROM speakers ORDER BY id"):
        if r["document_id"] is not None and r["document_id"] not in documents:
            continue
        doc = documents.get(r["document_id"]) if r["document_id"] is not None else None
        participant = participants.get(r["participant_id"]) if r["participant_id"] is not None else None
        row = db.execute("SELECT role, participant_id FROM speakers WHERE coalesce(document_id, 0) = ? "
                         "AND label = ?", [doc or 0, r["label"]]).fetchone()
        if row is None:
            if privacy.hits(r["label"]):
                where = db.execute("SELECT name FROM documents WHERE id = ?", [doc]).fetchone()[0] if doc \
                    else "all documents"
                report.conflicts.append(f"a speaker label of the other study ({where}) is a registered name; "
                                        "its mapping was not brought into this anonymised study")
                report.skip("speaker mappings left out of the anonymised study")
                continue
            ch.insert("speakers", {"document_id": doc, "label": r["label"], "role": r["role"],
                                   "participant_id": participant})
            report.add("speaker mappings")
        elif (row[0], row[1]) != (r["role"], participant):
            where = db.execute("SELECT name FROM documents WHERE id = ?", [doc]).fetchone()[0] if doc else "all documents"
            report.conflicts.append(f"speaker {r['label']!r} ({where}) maps differently in the other study; "
                                    "kept this study's mapping")


def _merge_codings(study: "Study", other: "Study", ch, report: MergeReport, documents: dict[int, int],
                   conflicted: set[int], codes: dict[int, int], coders: dict[int, int],
                   theirs: set[int], privacy: _Privacy) -> dict[int, int]:
    db, odb = study.db, other.db
    out: dict[int, int] = {}
    if theirs:
        shared = sorted({documents[d] for d in documents})
        marks = ", ".join("?" for _ in theirs)
        docs = ", ".join("?" for _ in shared) or "NULL"
        removed = 0
        for (coding_id,) in db.execute(
                f"SELECT id FROM codings WHERE coder_id IN ({marks}) AND document_id IN ({docs})",
                [*sorted(theirs), *shared]).fetchall():
            ch.delete("codings", coding_id)
            removed += 1
        if removed:
            report.notes.append(f"replaced {removed} coding(s) of {', '.join(_names(db, theirs))} here "
                                "with the other study's (--theirs)")
    for r in _rows(odb, 'SELECT * FROM codings ORDER BY document_id, start, "end", id'):
        if r["document_id"] in conflicted:
            continue
        doc, code, coder = documents.get(r["document_id"]), codes.get(r["code_id"]), coders.get(r["coder_id"])
        if doc is None or code is None or coder is None:
            report.skip("codings whose document, code or coder could not be matched")
            continue
        if r["memo"] and privacy.refuse(report, f"the memo of coding {r['guid']}", r["memo"]):
            r = {**r, "memo": ""}
        same = _rows(db, 'SELECT id, document_id, code_id, coder_id, start, "end", memo FROM codings WHERE guid = ?',
                     [r["guid"]])
        if same:
            b = same[0]
            out[r["id"]] = b["id"]
            if (b["document_id"], b["code_id"], b["coder_id"], b["start"], b["end"]) != (doc, code, coder,
                                                                                        r["start"], r["end"]):
                report.conflicts.append(f"coding {r['guid']}: changed in the other study "
                                        f"({r['start']}:{r['end']}); kept this study's ({b['start']}:{b['end']})")
            else:
                _memo(ch, report, b, r)
                report.match("codings")
            continue
        same = _rows(db, 'SELECT id, memo FROM codings WHERE document_id = ? AND code_id = ? AND coder_id = ? '
                         'AND start = ? AND "end" = ?', [doc, code, coder, r["start"], r["end"]])
        if same:
            out[r["id"]] = same[0]["id"]
            _memo(ch, report, same[0], r)
            report.match("codings")
            continue
        overlapping = db.execute('SELECT 1 FROM codings WHERE document_id = ? AND code_id = ? AND coder_id = ? '
                                 'AND start < ? AND "end" > ? LIMIT 1',
                                 [doc, code, coder, r["end"], r["start"]]).fetchone()
        if overlapping:
            out[r["id"]] = study.codings._add(ch, doc, code, coder, r["start"], r["end"], r["memo"])
            report.add("codings merged with an overlapping one of the same coder")
            continue
        out[r["id"]] = ch.insert("codings", {
            "document_id": doc, "code_id": code, "coder_id": coder, "start": r["start"], "end": r["end"],
            "memo": r["memo"], "created": r["created"],
            "guid": _free_guid(db, "codings", r["guid"], doc, r["start"], r["end"])})
        report.add("codings")
    return out


def _memo(ch, report: MergeReport, base: dict[str, Any], theirs: dict[str, Any]) -> None:
    if (theirs["memo"] or "") == (base["memo"] or "") or not theirs["memo"]:
        return
    if not base["memo"]:
        ch.update("codings", base["id"], {"memo": theirs["memo"]})
        report.add("coding memos")
    else:
        report.conflicts.append(f"coding {base['id']}: its memo differs in the other study; kept this study's")


def _names(db, coder_ids: set[int]) -> list[str]:
    return [db.execute("SELECT name FROM coders WHERE id = ?", [i]).fetchone()[0] for i in sorted(coder_ids)]


def _merge_themes(db, odb, ch, report: MergeReport, codes: dict[int, int], codings: dict[int, int],
                  privacy: _Privacy) -> dict[int, int]:
    """Themes by GUID, then name under the same parent; their codes and key quotes are added."""
    if not (_has_table(odb, "themes") and _has_table(db, "themes")):
        return {}
    rows = [r for r in _theme_rows(odb)
            if not privacy.refuse(report, f"theme {r['path']}", r["name"], r["concept"], r["definition"])]
    guid_of = {r["id"]: r["guid"] for r in rows}
    code_ids = {g: codes[i] for i, g in odb.execute("SELECT id, guid FROM codes") if i in codes}
    themes = [XTheme(guid=r["guid"], name=r["name"], parent=guid_of.get(r["parent_id"]), status=r["status"],
                     concept=r["concept"], definition=r["definition"], colour=r["colour"], codes=r["codes"],
                     path=r["path"]) for r in rows]
    by_guid = write_themes(db, ch, themes, code_ids, report, merge=True)  # type: ignore[arg-type]
    out = {r["id"]: by_guid[r["guid"]] for r in rows if r["guid"] in by_guid}
    for r in _rows(odb, "SELECT k.* FROM key_quotes k JOIN codings c ON c.id = k.coding_id AND c.guid = k.coding_guid"):
        theme, coding = out.get(r["theme_id"]), codings.get(r["coding_id"])
        if theme is None or coding is None:
            report.skip("key quotes on codings that were not merged")
            continue
        if privacy.refuse(report, "a key quote's note", r["note"]):
            continue
        guid = db.execute("SELECT guid FROM codings WHERE id = ?", [coding]).fetchone()[0]
        if db.execute("SELECT 1 FROM key_quotes WHERE theme_id = ? AND coding_guid = ?", [theme, guid]).fetchone():
            continue
        ch.insert("key_quotes", {"theme_id": theme, "coding_id": coding, "coding_guid": guid, "note": r["note"],
                                 "created": r["created"]})
        report.add("key quotes")
    return out


def _merge_memos(db, odb, ch, report: MergeReport, documents: dict[int, int], codes: dict[int, int],
                 coders: dict[int, int], codings: dict[int, int], participants: dict[int, int],
                 themes: dict[int, int], privacy: _Privacy) -> None:
    for r in _rows(odb, "SELECT * FROM memos ORDER BY id"):
        same = db.execute("SELECT id, body FROM memos WHERE guid = ?", [r["guid"]]).fetchone()
        if same is not None:
            if same[1] != r["body"]:
                report.conflicts.append(f"memo {same[0]}: its text differs in the other study; kept this study's")
            else:
                report.match("memos")
            continue
        if privacy.refuse(report, f"memo {r['title'] or r['guid']}" if not privacy.hits(r["title"]) else "a memo",
                          r["title"], r["body"]):
            continue
        kind = r["target_type"]
        target = {"document": documents, "passage": documents, "code": codes, "coding": codings,
                  "participant": participants, "theme": themes}.get(kind)
        row = {"target_type": kind, "target_id": None, "document_id": None, "start": r["start"], "end": r["end"]}
        if kind in ("document", "passage"):
            row["document_id"] = row["target_id"] = documents.get(r["document_id"])
            if row["document_id"] is None:
                report.skip("memos on something that was not merged")
                continue
        elif kind == "study":
            pass
        elif target is None or target.get(r["target_id"]) is None:
            report.skip("memos on something that was not merged")
            continue
        else:
            row["target_id"] = target[r["target_id"]]
            if kind == "coding":
                row["document_id"] = db.execute("SELECT document_id FROM codings WHERE id = ?",
                                                [row["target_id"]]).fetchone()[0]
        ch.insert("memos", {**row, "coder_id": coders.get(r["coder_id"]), "title": r["title"], "body": r["body"],
                            "created": r["created"], "updated": r["updated"],
                            "guid": _free_guid(db, "memos", r["guid"], r["body"][:40])})
        report.add("memos")


def _merge_journal(db, odb, ch, report: MergeReport, coders: dict[int, int], privacy: _Privacy) -> None:
    for r in _rows(odb, "SELECT * FROM journal ORDER BY id"):
        coder = coders.get(r["coder_id"])
        if db.execute("SELECT 1 FROM journal WHERE coder_id = ? AND entry_date = ? AND body = ?",
                      [coder, r["entry_date"], r["body"]]).fetchone():
            report.match("journal entries")
            continue
        if privacy.refuse(report, f"journal entry of {r['entry_date']}", r["body"]):
            continue
        ch.insert("journal", {"coder_id": coder, "entry_date": r["entry_date"], "phase": r["phase"],
                              "body": r["body"], "created": r["created"]})
        report.add("journal entries")
