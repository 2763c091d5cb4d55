"""The key file: everything identifying, kept apart from the study (UK Data Service guidance).

A key file is a small SQLite file (``PRAGMA application_id`` = "QCKY") chosen by the user with
``--key``. It is never the study, never inside it, and never exported. It holds

- ``meta``: format version, the id of the study it belongs to, the state of the last scan;
- ``entries`` / ``variants``: the register — real names, variants, nicknames, places ... each
  entry with its replacement (``[name of P1]``) or a participant it belongs to;
- ``candidates``: what ``scan`` found, with stable ids, proposed replacements and review state
  (kept across rescans once reviewed; ``stale`` when a rescan's detectors did not find it again);
- ``log``: the anonymisation log — document, position, original, replacement, rule, reviewer, time;
- ``originals``: each document's text before anonymisation;
- ``people``: participants' real names, moved here from the study;
- ``scrubbed``: other study values (memos, audit rows ...) as they were before scrubbing;
- ``applies``: one row per apply, used to finish or roll back an apply interrupted between the
  key's and the study's transactions.

Every write is one transaction. The file is not encrypted: keep it on an encrypted volume.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from qualcode.errors import Conflict, InvalidInput, NotFound, StudyFileError

KEY_APPLICATION_ID = 0x51434B59  # "QCKY"
STUDY_APPLICATION_ID = 0x51434F44  # "QCOD"
FORMAT = 1
STATUSES = ("open", "accepted", "rejected")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL              -- JSON
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,              -- the real name / identifier as registered
    replacement TEXT,                -- NULL: derived ([name of P1] for a participant, else by kind)
    kind TEXT NOT NULL DEFAULT 'person',
    participant TEXT,                -- participant guid when the entry is a participant
    source TEXT NOT NULL,            -- participant, csv, review, manual
    created TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_participant ON entries(participant) WHERE participant IS NOT NULL;
CREATE TABLE IF NOT EXISTS variants (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    source TEXT NOT NULL,            -- name, first, last, speaker, nickname, csv, review
    fuzzy INTEGER NOT NULL DEFAULT 1,
    case_mode TEXT NOT NULL DEFAULT 'auto',   -- auto, ci (any case), cs (Capitalised or UPPER only)
    UNIQUE (entry_id, term COLLATE NOCASE)
);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_guid TEXT NOT NULL,
    document TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    original TEXT NOT NULL,
    replacement TEXT NOT NULL,
    proposed TEXT NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    score REAL,
    entry_id INTEGER,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    edited INTEGER NOT NULL DEFAULT 0,
    reviewer TEXT,
    reviewed TEXT,
    left_context TEXT NOT NULL DEFAULT '',
    right_context TEXT NOT NULL DEFAULT '',
    scanned TEXT NOT NULL,
    pending_start INTEGER,           -- positions after an apply that is not finished yet
    pending_end INTEGER,
    pending_apply TEXT,
    stale INTEGER NOT NULL DEFAULT 0,  -- open, and its detector did not find it in the last scan
    UNIQUE (document_guid, start, "end", original)
);
CREATE INDEX IF NOT EXISTS candidates_by_status ON candidates(status, rule);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY,
    apply_id TEXT NOT NULL,
    document_guid TEXT NOT NULL,
    document TEXT NOT NULL,
    start INTEGER NOT NULL,          -- position in the text before this apply
    "end" INTEGER NOT NULL,
    new_start INTEGER NOT NULL,      -- position of the replacement in the text after it
    new_end INTEGER NOT NULL,
    original TEXT NOT NULL,
    replacement TEXT NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    candidate_id INTEGER,
    reviewer TEXT NOT NULL,
    reviewed TEXT,
    applied TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_by_document ON log(document_guid, start);
CREATE TABLE IF NOT EXISTS originals (
    id INTEGER PRIMARY KEY,
    apply_id TEXT NOT NULL,
    document_guid TEXT NOT NULL,
    document TEXT NOT NULL,
    text TEXT NOT NULL,
    saved TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    apply_id TEXT NOT NULL,
    participant TEXT NOT NULL,       -- guid
    label TEXT NOT NULL,
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    moved TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scrubbed (
    id INTEGER PRIMARY KEY,
    apply_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    original TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applies (
    id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,            -- pending, done
    reviewer TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}'
);
"""


@dataclass(frozen=True)
class Variant:
    id: int
    entry_id: int
    term: str
    source: str
    fuzzy: bool
    case_mode: str


@dataclass(frozen=True)
class Entry:
    id: int
    name: str
    replacement: str | None
    kind: str
    participant: str | None
    source: str
    variants: tuple[Variant, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    id: int
    document_guid: str
    document: str
    start: int
    end: int
    original: str
    replacement: str
    proposed: str
    rule: str
    kind: str
    score: float | None
    entry_id: int | None
    status: str
    edited: bool
    reviewer: str | None
    reviewed: str | None
    left_context: str
    right_context: str
    scanned: str
    stale: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_key_path(key_path: Path, study_path: Path | None) -> None:
    """Refuse a key path that is, or lives inside, the study (or its -wal / -shm / -journal)."""
    key_res = key_path.resolve() if key_path.exists() else key_path.parent.resolve() / key_path.name
    if study_path is not None:
        study_res = study_path.resolve()
        forbidden = [study_res] + [Path(str(study_res) + s) for s in ("-wal", "-shm", "-journal")]
        if key_res in forbidden or any(_same_file(key_path, f) for f in forbidden):
            raise InvalidInput(f"the key file {key_path} cannot be the study file or one of its companions; "
                               "keep the key apart from the study")
        if study_res in key_res.parents or study_res == key_res.parent:
            raise InvalidInput(f"the key file {key_path} cannot be inside the study {study_path}")
    if key_path.exists():
        if key_path.is_dir():
            raise InvalidInput(f"the key file {key_path} is a folder")
        if key_path.stat().st_size == 0:
            return  # an empty file (e.g. made by mktemp) becomes a new key
        # Through SQLite, never open()/close() of our own: closing a descriptor of a key this
        # process has open (the TUI's review screen) would drop its connection's locks.
        try:
            probe = sqlite3.connect(f"{key_path.resolve().as_uri()}?mode=rw", uri=True)
            try:
                app_id = probe.execute("PRAGMA application_id").fetchone()[0]
            finally:
                probe.close()
        except sqlite3.DatabaseError:
            raise InvalidInput(f"{key_path} is not a qualcode key file (not an SQLite database)") from None
        if app_id == STUDY_APPLICATION_ID:
            raise InvalidInput(f"{key_path} is a qualcode study, not a key file")
        if app_id != KEY_APPLICATION_ID:
            raise InvalidInput(f"{key_path} is an SQLite database but not a qualcode key file")


def now() -> str:
    from qualcode.store.changes import now as _now

    return _now()


class KeyFile:
    """An open key file. Use ``KeyFile.open(path, study_path, create=...)``; close it after use."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, study_path: str | Path | None = None, create: bool = False) -> "KeyFile":
        path = Path(path)
        check_key_path(path, Path(study_path) if study_path is not None else None)
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            if path.exists():
                raise InvalidInput(f"key file {path} is empty (0 bytes), not a qualcode key file: give the "
                                   "right key, or let `qualcode anonymise register` or `anonymise scan` make one")
            raise InvalidInput(f"key file {path} does not exist (create one with "
                               "`qualcode anonymise register` or `anonymise scan`)")
        if not exists and not path.parent.exists():
            raise InvalidInput(f"folder {path.parent} does not exist")
        try:
            conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 10000")
            if not exists:
                conn.execute(f"PRAGMA application_id = {KEY_APPLICATION_ID}")
                conn.execute("PRAGMA journal_mode = DELETE")
                conn.execute("PRAGMA secure_delete = ON")
                with conn:
                    conn.executescript(SCHEMA)
                    conn.execute("INSERT INTO meta VALUES ('format', ?)", [json.dumps(FORMAT)])
                    conn.execute("INSERT INTO meta VALUES ('created', ?)", [json.dumps(now())])
                try:
                    os.chmod(path, 0o600)
                except OSError:
                    pass
            else:
                fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if fmt is None or json.loads(fmt[0]) > FORMAT:
                    conn.close()
                    raise InvalidInput(f"{path} was written by a newer qualcode; upgrade qualcode")
                conn.execute("PRAGMA secure_delete = ON")
                cols = {r[1] for r in conn.execute("PRAGMA table_info(candidates)")}
                if cols and "stale" not in cols:  # a key written before candidates could be stale
                    with conn:
                        conn.execute("ALTER TABLE candidates ADD COLUMN stale INTEGER NOT NULL DEFAULT 0")
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"key file {path} cannot be used: {exc}") from None
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "KeyFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.conn:
            yield self.conn

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, list(params))
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    # -- meta --------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                          "SET value = excluded.value", [key, json.dumps(value, ensure_ascii=False)])

    def bind(self, study_id: str, study_title: str | None = None) -> None:
        """Tie the key to one study; refuse a key that belongs to another."""
        bound = self.meta("study_id")
        if bound is None:
            with self.transaction():
                self.set_meta("study_id", study_id)
                self.set_meta("study_title", study_title)
        elif bound != study_id:
            title = self.meta("study_title")
            raise InvalidInput(f"key file {self.path} belongs to another study"
                               + (f" ({title!r})" if title else ""))

    def register_version(self) -> int:
        return int(self.meta("register_version", 0))

    def _bump_register(self) -> None:
        self.set_meta("register_version", self.register_version() + 1)

    # -- register ----------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        variants: dict[int, list[Variant]] = {}
        for r in self.rows("SELECT * FROM variants ORDER BY id"):
            variants.setdefault(r["entry_id"], []).append(Variant(
                r["id"], r["entry_id"], r["term"], r["source"], bool(r["fuzzy"]), r["case_mode"]))
        return [Entry(r["id"], r["name"], r["replacement"], r["kind"], r["participant"], r["source"],
                      tuple(variants.get(r["id"], ())))
                for r in self.rows("SELECT * FROM entries ORDER BY id")]

    def entry(self, entry_id: int) -> Entry:
        for e in self.entries():
            if e.id == entry_id:
                return e
        raise NotFound(f"register entry {entry_id} does not exist")

    def find_entry(self, *, participant: str | None = None, name: str | None = None) -> int | None:
        if participant is not None:
            row = self.conn.execute("SELECT id FROM entries WHERE participant = ?", [participant]).fetchone()
        else:
            row = self.conn.execute(
                "SELECT e.id FROM entries e LEFT JOIN variants v ON v.entry_id = e.id "
                "WHERE e.name = ? COLLATE NOCASE OR v.term = ? COLLATE NOCASE ORDER BY e.id LIMIT 1",
                [name, name]).fetchone()
        return row[0] if row else None

    def add_entry(self, name: str, replacement: str | None, kind: str, source: str,
                  participant: str | None = None, variants: Iterable[tuple[str, str, bool, str]] = ()) -> int:
        """Add (or extend) an entry. ``variants`` are (term, source, fuzzy, case_mode)."""
        name = " ".join(name.split())
        if not name:
            raise InvalidInput("a register entry needs a name")
        before = self.conn.total_changes
        if replacement is not None and not replacement.strip():
            replacement = None
        existing = self.find_entry(participant=participant) if participant else self.find_entry(name=name)
        if existing is None:
            existing = self.conn.execute(
                "INSERT INTO entries (name, replacement, kind, participant, source, created) "
                "VALUES (?, ?, ?, ?, ?, ?)", [name, replacement, kind, participant, source, now()]).lastrowid
        elif replacement is not None:
            self.conn.execute("UPDATE entries SET replacement = ? WHERE id = ? AND replacement IS NOT ?",
                              [replacement, existing, replacement])
        for term, vsource, fuzzy, case_mode in [(name, "name", True, "auto"), *variants]:
            term = " ".join(term.split())
            if not term:
                continue
            self.conn.execute(
                "INSERT OR IGNORE INTO variants (entry_id, term, source, fuzzy, case_mode) VALUES (?, ?, ?, ?, ?)",
                [existing, term, vsource, int(fuzzy), case_mode])
        if self.conn.total_changes != before:
            self._bump_register()
        return existing

    def add_variant(self, entry_id: int, term: str, source: str = "review", fuzzy: bool = True,
                    case_mode: str = "auto") -> None:
        self.entry(entry_id)
        before = self.conn.total_changes
        self.conn.execute("INSERT OR IGNORE INTO variants (entry_id, term, source, fuzzy, case_mode) "
                          "VALUES (?, ?, ?, ?, ?)", [entry_id, " ".join(term.split()), source, int(fuzzy), case_mode])
        if self.conn.total_changes != before:
            self._bump_register()

    def remove_entry(self, entry_id: int) -> None:
        with self.transaction():
            if not self.conn.execute("DELETE FROM entries WHERE id = ?", [entry_id]).rowcount:
                raise NotFound(f"register entry {entry_id} does not exist")
            self._bump_register()

    def set_case_modes(self, resolved: dict[int, str]) -> None:
        """Remember how 'auto' variants were resolved (so the guard matches them the same way)."""
        self.set_meta("resolved_case", {str(k): v for k, v in resolved.items()})

    def resolved_case(self) -> dict[int, str]:
        return {int(k): v for k, v in (self.meta("resolved_case") or {}).items()}

    # -- candidates --------------------------------------------------------------------------
    def candidates(self, status: str | None = None, rule: str | None = None,
                   document: str | None = None, ids: Iterable[int] | None = None) -> list[Candidate]:
        where, params = [], []
        if status and status != "all":
            where.append("status = ?")
            params.append(status)
        if rule:
            where.append("(rule = ? OR rule LIKE ? OR kind = ?)")
            params += [rule, rule + "%", rule]
        if document:
            where.append("document = ? COLLATE NOCASE")
            params.append(document)
        if ids is not None:
            ids = list(ids)
            where.append(f"id IN ({', '.join('?' for _ in ids)})" if ids else "0")
            params += ids
        sql = "SELECT * FROM candidates" + (" WHERE " + " AND ".join(where) if where else "")
        return [self._candidate(r) for r in self.rows(sql + " ORDER BY document, start, id", params)]

    @staticmethod
    def _candidate(r: dict[str, Any]) -> Candidate:
        return Candidate(**{k: r[k] for k in Candidate.__dataclass_fields__ if k not in ("edited", "stale")},
                         edited=bool(r["edited"]), stale=bool(r.get("stale") or 0))

    def candidate(self, cid: int) -> Candidate:
        found = self.candidates(ids=[cid])
        if not found:
            raise NotFound(f"candidate {cid} does not exist (run `qualcode anonymise list` to see ids)")
        return found[0]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for rule, status, n in self.conn.execute(
                "SELECT rule, status, count(*) FROM candidates GROUP BY rule, status ORDER BY rule"):
            out.setdefault(rule, {})[status] = n
        return out

    def review(self, ids: list[int], status: str, reviewer: str) -> int:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        missing = set(ids) - {r[0] for r in self.conn.execute(
            f"SELECT id FROM candidates WHERE id IN ({', '.join('?' for _ in ids)})", ids)} if ids else set()
        if missing:
            raise NotFound(f"no candidate with id {', '.join(map(str, sorted(missing)[:10]))}")
        stamp = now() if status != "open" else None
        with self.transaction():
            self.conn.executemany(
                "UPDATE candidates SET status = ?, reviewer = ?, reviewed = ? WHERE id = ?",
                [(status, reviewer if status != "open" else None, stamp, i) for i in ids])
        return len(ids)

    def edit(self, ids: list[int], replacement: str, reviewer: str) -> None:
        replacement = replacement.strip()
        if not replacement:
            raise InvalidInput("a replacement cannot be empty (it would make codings empty)")
        with self.transaction():
            self.conn.executemany(
                "UPDATE candidates SET replacement = ?, edited = 1, status = 'accepted', reviewer = ?, "
                "reviewed = ? WHERE id = ?", [(replacement, reviewer, now(), i) for i in ids])

    # -- apply bookkeeping -------------------------------------------------------------------
    def pending_applies(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM applies WHERE status = 'pending'")]

    def finish_apply(self, apply_id: str) -> None:
        """The study committed this apply: make the key's side final."""
        with self.transaction():
            self.conn.execute("DELETE FROM candidates WHERE pending_apply = ? AND pending_start IS NULL",
                              [apply_id])
            self.conn.execute(
                'UPDATE candidates SET start = pending_start, "end" = pending_end, pending_start = NULL, '
                "pending_end = NULL, pending_apply = NULL WHERE pending_apply = ?", [apply_id])
            self.conn.execute("UPDATE applies SET status = 'done', finished = ? WHERE id = ?", [now(), apply_id])

    def abandon_apply(self, apply_id: str) -> None:
        """The study never committed this apply: forget the key's side of it."""
        with self.transaction():
            for table in ("log", "originals", "people", "scrubbed"):
                self.conn.execute(f"DELETE FROM {table} WHERE apply_id = ?", [apply_id])
            self.conn.execute("UPDATE candidates SET pending_start = NULL, pending_end = NULL, "
                              "pending_apply = NULL WHERE pending_apply = ?", [apply_id])
            self.conn.execute("DELETE FROM applies WHERE id = ?", [apply_id])

    def log(self, document: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM log"
        params: list[Any] = []
        if document:
            sql += " WHERE document = ? COLLATE NOCASE"
            params.append(document)
        return self.rows(sql + " ORDER BY id", params)

    def original_text(self, document_guid: str) -> str | None:
        row = self.conn.execute("SELECT text FROM originals WHERE document_guid = ? ORDER BY id LIMIT 1",
                                [document_guid]).fetchone()
        return row[0] if row else None


def new_apply_id() -> str:
    return uuid.uuid4().hex[:12]


__all__ = ["Candidate", "Conflict", "Entry", "KeyFile", "StudyFileError", "Variant", "check_key_path",
           "new_apply_id"]
