"""The study schema, as migrations applied on open (``sqlite_utils.Migrations`` runs them).

Never edit a migration that has shipped: add a new one. Each runs in its own transaction.
Indexes are chosen for 1,000 documents, 200,000 turns and 200,000 codings: every lookup the
CLI and TUI make by document, code, coder or position is served by an index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qualcode.store.database import StudyDatabase as Database


@dataclass(frozen=True)
class Migration:
    name: str
    fn: Callable[[Any], None]
    transactional: bool = True


@dataclass(frozen=True)
class AppliedMigration:
    name: str
    applied_at: str


class MigrationSet:
    """The study's migrations, with the API and the ``_sqlite_migrations`` table of
    ``sqlite_utils.Migrations``, which still applies them (creating a study, upgrading one).

    Telling whether a study is up to date takes one plain query, so opening an up-to-date study
    needs nothing from sqlite_utils: importing it is ~40 ms of every CLI call.
    """

    table = "_sqlite_migrations"

    def __init__(self, name: str) -> None:
        self.name = name
        self._migrations: list[Migration] = []

    def __call__(self, *, name: str | None = None, transactional: bool = True) -> Callable:
        def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
            migration_name = name or fn.__name__
            if any(m.name == migration_name for m in self._migrations):
                raise ValueError(f"Migration '{migration_name}' is already registered in set '{self.name}'")
            self._migrations.append(Migration(migration_name, fn, transactional))
            return fn

        return register

    def applied(self, db: Any) -> list[AppliedMigration]:
        """The migrations of this set recorded in the study: the known ones in registration
        order (a migration re-applied later still sits at its place), then any unknown (newer)
        ones in the order they were applied."""
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [self.table]).fetchone()
        if exists is None:
            return []
        rows = [AppliedMigration(name, applied_at) for name, applied_at in db.execute(
            f"SELECT name, applied_at FROM {self.table} WHERE migration_set = ? ORDER BY rowid", [self.name])]
        place = {m.name: i for i, m in enumerate(self._migrations)}
        return sorted(rows, key=lambda a: place.get(a.name, len(place)))

    def pending(self, db: Any) -> list[Migration]:
        done = {m.name for m in self.applied(db)}
        return [m for m in self._migrations if m.name not in done]

    def apply(self, db: Any) -> None:
        """Apply the pending migrations with ``sqlite_utils.Migrations`` (same table, same
        transactions). ``db`` is a ``sqlite_utils.Database`` or anything with its ``conn``."""
        import qualcode

        qualcode._import_sqlite_utils()  # without numpy
        from sqlite_utils import Database, Migrations

        runner = Migrations(self.name)
        for m in self._migrations:
            runner(name=m.name, transactional=m.transactional)(m.fn)
        runner.apply(db if isinstance(db, Database) else Database(db.conn, execute_plugins=False))


migrations = MigrationSet("qualcode")

SCHEMA_V1 = """
CREATE TABLE project (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL            -- JSON
);
CREATE TABLE coders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL DEFAULT 'coder' CHECK (kind IN ('coder', 'consensus')),
    created TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE TABLE participants (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE COLLATE NOCASE,
    grp TEXT NOT NULL,
    name TEXT,                     -- real name; moves to the key file on anonymisation
    attributes TEXT NOT NULL DEFAULT '{}',   -- JSON object of typed values
    created TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE TABLE variables (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    type TEXT NOT NULL CHECK (type IN ('text', 'integer', 'float', 'boolean', 'date')),
    derived_from TEXT,             -- source variable of a derived band
    bands TEXT,                    -- JSON {"edges": [...], "labels": [...]}
    guid TEXT NOT NULL UNIQUE
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    source_name TEXT NOT NULL,
    format TEXT NOT NULL,
    encoding TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    char_count INTEGER NOT NULL,
    word_count INTEGER NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    imported TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE TABLE turns (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    speaker TEXT,
    participant_id INTEGER REFERENCES participants(id) ON DELETE SET NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    start_ms INTEGER,
    end_ms INTEGER,
    CHECK (0 <= start AND start <= "end")
);
CREATE INDEX turns_by_position ON turns(document_id, start);
CREATE INDEX turns_by_participant ON turns(participant_id);
CREATE TABLE speakers (
    id INTEGER PRIMARY KEY,
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,  -- NULL: study-wide
    label TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('participant', 'interviewer', 'unknown', 'other')),
    participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX speakers_unique ON speakers(coalesce(document_id, 0), label);
CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES codes(id),
    colour TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    include_when TEXT NOT NULL DEFAULT '',
    exclude_when TEXT NOT NULL DEFAULT '',
    example TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active',
    created TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE UNIQUE INDEX codes_unique_name ON codes(coalesce(parent_id, 0), name COLLATE NOCASE);
CREATE INDEX codes_by_parent ON codes(parent_id);
CREATE TABLE codings (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    code_id INTEGER NOT NULL REFERENCES codes(id),
    coder_id INTEGER NOT NULL REFERENCES coders(id),
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    memo TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE,
    CHECK (0 <= start AND start < "end")
);
CREATE INDEX codings_by_document ON codings(document_id, start);
CREATE INDEX codings_by_code ON codings(code_id, document_id);
CREATE INDEX codings_by_coder ON codings(coder_id, document_id);
CREATE TABLE memos (
    id INTEGER PRIMARY KEY,
    target_type TEXT NOT NULL CHECK (target_type IN
        ('study', 'document', 'passage', 'code', 'coding', 'participant', 'theme')),
    target_id INTEGER,
    document_id INTEGER REFERENCES documents(id),
    start INTEGER,
    "end" INTEGER,
    coder_id INTEGER REFERENCES coders(id),
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE INDEX memos_by_target ON memos(target_type, target_id);
CREATE INDEX memos_by_document ON memos(document_id);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY,
    coder_id INTEGER NOT NULL REFERENCES coders(id),
    entry_date TEXT NOT NULL,
    phase INTEGER,
    body TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX journal_by_coder ON journal(coder_id, entry_date);
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    coder TEXT NOT NULL,
    command TEXT NOT NULL,
    summary TEXT NOT NULL,
    created TEXT NOT NULL,
    undoes INTEGER REFERENCES changes(id),
    undone_by INTEGER REFERENCES changes(id)
);
CREATE INDEX changes_by_coder ON changes(coder, id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES changes(id),
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    before TEXT,                   -- JSON row before (NULL for insert)
    after TEXT                     -- JSON row after (NULL for delete)
);
CREATE INDEX audit_by_change ON audit(change_id);
CREATE INDEX audit_by_row ON audit(table_name, row_id);
-- Full-text index of turns, rowid = turns.id. Contentless: the text lives once, in documents.
CREATE VIRTUAL TABLE turns_fts USING fts5(
    text, content='', tokenize='unicode61 remove_diacritics 2'
);
"""


@migrations(name="0001_initial")
def _initial(db: Database) -> None:
    for statement in _split(SCHEMA_V1):
        db.execute(statement)


def _split(script: str) -> list[str]:
    """Split a schema script into statements (no semicolons inside our statements' strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def schema_version(db: Database) -> str:
    applied = migrations.applied(db)
    return applied[-1].name if applied else "none"


SCHEMA_RECONCILIATION = """
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    coder_id INTEGER NOT NULL REFERENCES coders(id),
    document_id INTEGER NOT NULL REFERENCES documents(id),
    sample TEXT NOT NULL,          -- as asked: '20%' or '5'
    seed INTEGER NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (coder_id, document_id)
);
CREATE INDEX assignments_by_document ON assignments(document_id);
CREATE TABLE agreement_rounds (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    coders TEXT NOT NULL,          -- JSON list of coder names
    unit TEXT NOT NULL,
    headline TEXT NOT NULL,        -- the methods sentence
    figures TEXT NOT NULL,         -- JSON agreement report (without code x document cells)
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX agreement_rounds_by_round ON agreement_rounds(round);
CREATE TABLE reconciliation_decisions (
    id INTEGER PRIMARY KEY,
    disagreement TEXT NOT NULL,    -- stable id of the disagreement (hash of document, code, spans)
    round INTEGER NOT NULL,
    document_id INTEGER NOT NULL,  -- no foreign keys: the log outlives merged or deleted codes
    document TEXT NOT NULL,        -- names as they were when decided
    code_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    coders TEXT NOT NULL,          -- JSON list of the compared coders' names
    spans TEXT NOT NULL,           -- JSON {coder: [[start, end], ...]} as the disagreement stood
    decision TEXT NOT NULL CHECK (decision IN
        ('keep-a', 'keep-b', 'union', 'intersection', 'drop', 'edit', 'agreed')),
    result TEXT NOT NULL,          -- JSON [[start, end], ...] coded under the consensus coder
    rationale TEXT NOT NULL,
    decided_by INTEGER NOT NULL REFERENCES coders(id),
    adjudicated INTEGER NOT NULL DEFAULT 0,   -- 1: decided by a coder other than the compared ones
    unit TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX reconciliation_by_disagreement ON reconciliation_decisions(disagreement);
CREATE INDEX reconciliation_by_document ON reconciliation_decisions(document_id, code_id);
"""


@migrations(name="0002_reconciliation")
def _reconciliation(db: Database) -> None:
    for statement in _split(SCHEMA_RECONCILIATION):
        db.execute(statement)
# Themes, theme codes and key quotes (the themes issue).
SCHEMA_THEMES = """
CREATE TABLE themes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES themes(id),
    status TEXT NOT NULL DEFAULT 'candidate' CHECK (status IN ('candidate', 'active', 'discarded')),
    concept TEXT NOT NULL DEFAULT '',        -- central organising concept
    definition TEXT NOT NULL DEFAULT '',
    colour TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,     -- order among siblings
    created TEXT NOT NULL,
    guid TEXT NOT NULL UNIQUE
);
CREATE UNIQUE INDEX themes_unique_name ON themes(coalesce(parent_id, 0), name COLLATE NOCASE);
CREATE INDEX themes_by_parent ON themes(parent_id);
CREATE TABLE theme_codes (
    id INTEGER PRIMARY KEY,
    theme_id INTEGER NOT NULL REFERENCES themes(id),
    code_id INTEGER NOT NULL,                -- no foreign key: see the module docstring
    code_guid TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    UNIQUE (theme_id, code_guid)
);
CREATE INDEX theme_codes_by_code ON theme_codes(code_id);
CREATE TABLE key_quotes (
    id INTEGER PRIMARY KEY,
    theme_id INTEGER NOT NULL REFERENCES themes(id),
    coding_id INTEGER NOT NULL,              -- no foreign key: see the module docstring
    coding_guid TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    UNIQUE (theme_id, coding_guid)
);
CREATE INDEX key_quotes_by_coding ON key_quotes(coding_id);
"""


@migrations(name="0003_themes")
def _themes_schema(db: Database) -> None:
    for statement in _split(SCHEMA_THEMES):
        db.execute(statement)

SCHEMA_ANONYMISATION = """
CREATE TABLE anonymisation (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,      -- study_id, salt, ner_model, applied:<id>
    value TEXT NOT NULL            -- JSON
);
CREATE TABLE anonymisation_terms (
    hash TEXT PRIMARY KEY,         -- keyed BLAKE2b (64 bits, key = the salt) of a normalised registered term
    mode TEXT NOT NULL             -- ci: compared case-folded, cs: as written, id: normalised identifier
) WITHOUT ROWID;
"""


@migrations(name="0004_anonymisation")
def _anonymisation(db: Database) -> None:
    import json as _json
    import secrets as _secrets
    import uuid as _uuid

    for statement in _split(SCHEMA_ANONYMISATION):
        db.execute(statement)
    for key, value in (("study_id", str(_uuid.uuid4())), ("salt", _secrets.token_hex(16))):
        db.execute("INSERT INTO anonymisation (key, value) VALUES (?, ?)", [key, _json.dumps(value)])


# Indexes found by the study-scale benchmarks (issue 9). Resolving speaker labels looks
# participants up by recorded name and speakers by label; the study overview and the document
# list read only the small columns of ``documents``, which SQLite stores after the long ``text``
# column (reading them from the table walks every overflow page of the text), so a covering
# index serves them without touching the text.
SCHEMA_INDEXES = """
CREATE INDEX participants_by_name ON participants(name COLLATE NOCASE);
CREATE INDEX speakers_by_label ON speakers(label);
CREATE INDEX documents_overview ON documents(
    name, char_count, word_count, source_name, format, encoding, sha256, metadata, imported
);
"""


@migrations(name="0005_indexes")
def _indexes(db: Database) -> None:
    for statement in _split(SCHEMA_INDEXES):
        db.execute(statement)


# Packed caches of the lean rows the agreement code reads (qualcode.store.span_cache): one row per
# document holding its codings' (code, coder, start, end) or its turns' (start, end) as int64
# bytes. A cache row is valid while it exists: every insert, update or delete of a coding or a
# turn (and any document insert or delete, whose id SQLite may reuse) deletes the row of the
# document it touches, and the reader rebuilds missing rows from the source tables.
SCHEMA_SPAN_CACHE = """
CREATE TABLE span_cache (
    document_id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,
    spans BLOB NOT NULL
);
CREATE TABLE turn_cache (
    document_id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,
    spans BLOB NOT NULL
);
CREATE TRIGGER span_cache_coding_insert AFTER INSERT ON codings BEGIN
    DELETE FROM span_cache WHERE document_id = NEW.document_id;
END;
CREATE TRIGGER span_cache_coding_delete AFTER DELETE ON codings BEGIN
    DELETE FROM span_cache WHERE document_id = OLD.document_id;
END;
CREATE TRIGGER span_cache_coding_update
AFTER UPDATE OF document_id, code_id, coder_id, start, "end" ON codings BEGIN
    DELETE FROM span_cache WHERE document_id IN (OLD.document_id, NEW.document_id);
END;
CREATE TRIGGER turn_cache_turn_insert AFTER INSERT ON turns BEGIN
    DELETE FROM turn_cache WHERE document_id = NEW.document_id;
END;
CREATE TRIGGER turn_cache_turn_delete AFTER DELETE ON turns BEGIN
    DELETE FROM turn_cache WHERE document_id = OLD.document_id;
END;
CREATE TRIGGER turn_cache_turn_update
AFTER UPDATE OF document_id, start, "end" ON turns BEGIN
    DELETE FROM turn_cache WHERE document_id IN (OLD.document_id, NEW.document_id);
END;
CREATE TRIGGER span_cache_document_insert AFTER INSERT ON documents BEGIN
    DELETE FROM span_cache WHERE document_id = NEW.id;
    DELETE FROM turn_cache WHERE document_id = NEW.id;
END;
CREATE TRIGGER span_cache_document_delete AFTER DELETE ON documents BEGIN
    DELETE FROM span_cache WHERE document_id = OLD.id;
    DELETE FROM turn_cache WHERE document_id = OLD.id;
END;
"""


@migrations(name="0006_span_cache")
def _span_cache(db: Database) -> None:
    for statement in _split_triggers(SCHEMA_SPAN_CACHE):
        db.execute(statement)


def _split_triggers(script: str) -> list[str]:
    """Statements of ``script``; a trigger's body (BEGIN ... END;) stays one statement."""
    out, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if sqlite3.complete_statement(text):
            out.append(text)
            current = []
    return out
