"""SQL for anonymisation: reading what to scan, rewriting text, remapping anchors, scrubbing.

The study keeps nothing identifying after an apply: document text is rewritten, every anchor
into it is remapped, speaker labels become participant labels, participants' names are cleared
(they move to the key file), free text elsewhere (memos, coding memos, journal, code
definitions, document names and metadata, the audit log and change summaries) is scrubbed, the
full-text index is rebuilt, and the file is vacuumed and its WAL truncated so that no old page
keeps a name.

Anchors are found by introspection, so tables added later are remapped too: every table with
``document_id``, ``start`` and ``end`` columns, and JSON span columns (``spans``, ``result``:
``[[start, end], ...]`` or ``{key: [[start, end], ...]}``) of tables with a ``document_id``.

The study side of the guard lives in two tables of migration ``0004_anonymisation``:
``anonymisation`` (study id, salt, settings, finished applies) and ``anonymisation_terms``
(salted hashes of registered terms, so exports can be checked without the key).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, Iterable

from qualcode.text import word_count

SPAN_JSON_COLUMNS = ("spans", "result")
# Columns never scrubbed: identifiers, times, enumerations, typed values.
KEEP_COLUMNS = frozenset("""
guid sha256 created updated imported entry_date decided reviewed colour color op table_name kind role
type status decision unit format encoding key attributes bands derived_from code_guid coding_guid
theme_guid seed sample coder created_by decided_by
""".split())
SKIP_TABLES = frozenset({"_sqlite_migrations", "anonymisation", "anonymisation_terms", "sqlite_sequence",
                         "sqlite_stat1", "sqlite_stat4"})
# Coders are the researchers doing the analysis: their names are the audit trail, not data.
NOT_SCRUBBED = frozenset({"coders"})


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows(db, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cur = db.execute(sql, list(params))
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# -- settings --------------------------------------------------------------------------------
def state(db) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM anonymisation")}


def get(db, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM anonymisation WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else default


def put(db, key: str, value: Any) -> None:
    db.execute("INSERT INTO anonymisation (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
               "SET value = excluded.value", [key, json.dumps(value, ensure_ascii=False)])


def study_id(db) -> str:
    return get(db, "study_id")


def salt(db) -> str:
    return get(db, "salt")


def applied_ids(db) -> set[str]:
    return {k.split(":", 1)[1] for (k,) in db.execute("SELECT key FROM anonymisation WHERE key LIKE 'applied:%'")}


# -- reading ---------------------------------------------------------------------------------
def documents(db, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    sql = "SELECT id, guid, name, text FROM documents"
    params: list[Any] = []
    if names is not None:
        names = list(names)
        sql += f" WHERE name IN ({', '.join('?' for _ in names)}) COLLATE NOCASE" if names else " WHERE 0"
        params = names
    return rows(db, sql + " ORDER BY name", params)


def document_text(db, document_id: int) -> str:
    return db.execute("SELECT text FROM documents WHERE id = ?", [document_id]).fetchone()[0]


def participants(db) -> list[dict[str, Any]]:
    out = rows(db, "SELECT id, guid, label, grp, name, attributes FROM participants ORDER BY id")
    for r in out:
        r["attributes"] = json.loads(r["attributes"] or "{}")
    return out


def turns_for_labels(db) -> list[dict[str, Any]]:
    return rows(db, """
        SELECT t.id, t.document_id, t.start, t."end", t.speaker, p.label AS participant,
               (SELECT s.role FROM speakers s WHERE s.label = t.speaker
                  AND (s.document_id = t.document_id OR s.document_id IS NULL)
                  ORDER BY s.document_id IS NULL LIMIT 1) AS role
        FROM turns t LEFT JOIN participants p ON p.id = t.participant_id
        ORDER BY t.document_id, t.start, t.id""")


def non_participant_speakers(db) -> list[tuple[str, str | None]]:
    """(speaker label, role) of turns that belong to no participant: interviewers, other and
    unknown speakers, and labels nobody has mapped yet (role None)."""
    return [(r["speaker"], r["role"]) for r in rows(db, """
        SELECT DISTINCT t.speaker,
               (SELECT s.role FROM speakers s WHERE s.label = t.speaker
                  AND (s.document_id = t.document_id OR s.document_id IS NULL)
                  ORDER BY s.document_id IS NULL LIMIT 1) AS role
        FROM turns t WHERE t.participant_id IS NULL AND t.speaker IS NOT NULL AND t.speaker != ''
        ORDER BY t.speaker""")]


def interviewer_labels(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT label FROM speakers WHERE role = 'interviewer'")]


def first_documents(db) -> dict[int, str]:
    return {pid: name for pid, name in db.execute(
        "SELECT t.participant_id, min(d.imported || d.name) FROM turns t JOIN documents d ON d.id = t.document_id "
        "WHERE t.participant_id IS NOT NULL GROUP BY t.participant_id")}


def speaker_labels_by_participant(db) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for pid, label in db.execute(
            "SELECT DISTINCT participant_id, speaker FROM turns WHERE participant_id IS NOT NULL AND speaker IS NOT NULL "
            "UNION SELECT participant_id, label FROM speakers WHERE participant_id IS NOT NULL"):
        out.setdefault(pid, set()).add(label)
    return out


# -- introspection ---------------------------------------------------------------------------
def _tables(db) -> list[str]:
    virtual = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")]
    names = []
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        if name in SKIP_TABLES or name.startswith("sqlite_") or name in virtual:
            continue
        if any(name.startswith(v + "_") for v in virtual):
            continue
        names.append(name)
    return names


def _columns(db, table: str) -> list[tuple[str, str]]:
    return [(r[1], (r[2] or "").upper()) for r in db.execute(f"PRAGMA table_info({_q(table)})")]


def anchor_tables(db) -> list[str]:
    """Tables whose rows point into document text with (document_id, start, end)."""
    out = []
    for table in _tables(db):
        cols = {c for c, _ in _columns(db, table)}
        if {"document_id", "start", "end"} <= cols:
            out.append(table)
    return out


def span_json_tables(db) -> list[tuple[str, list[str]]]:
    out = []
    for table in _tables(db):
        cols = {c for c, _ in _columns(db, table)}
        found = [c for c in SPAN_JSON_COLUMNS if c in cols]
        if "document_id" in cols and found:
            out.append((table, found))
    return out


def text_columns(db) -> list[tuple[str, list[str]]]:
    """(table, free-text columns) that scrubbing walks."""
    out = []
    for table in _tables(db):
        if table in NOT_SCRUBBED:
            continue
        cols = [c for c, t in _columns(db, table)
                if c not in KEEP_COLUMNS and ("TEXT" in t or "CHAR" in t or "CLOB" in t or t == "")
                and not (table == "documents" and c == "text")
                and not c.endswith("_id") and c not in SPAN_JSON_COLUMNS]
        if cols:
            out.append((table, cols))
    return out


def text_values(db) -> Iterable[tuple[str, int, str, str]]:
    """Every (table, rowid, column, value) that scrubbing or the leak check looks at."""
    for table, cols in text_columns(db):
        select = ", ".join(_q(c) for c in cols)
        try:
            cur = db.execute(f"SELECT rowid, {select} FROM {_q(table)}")
        except sqlite3.OperationalError:  # WITHOUT ROWID table
            continue
        for row in cur:
            for c, v in zip(cols, row[1:]):
                if isinstance(v, str) and v:
                    yield table, row[0], c, v


# -- the raw-byte check's map of the file -----------------------------------------------------
def page_size(db) -> int:
    return int(db.execute("PRAGMA page_size").fetchone()[0])


def page_owners(db) -> dict[int, str] | None:
    """Page number -> the table or index it belongs to (``dbstat``), or None when this SQLite
    has no ``dbstat`` table. Pages not listed are free (or SQLite's own bookkeeping)."""
    try:
        return {pageno: name for name, pageno in db.execute("SELECT name, pageno FROM dbstat")}
    except sqlite3.OperationalError:
        return None


def object_tables(db) -> dict[str, str]:
    """Every table and index -> the table it belongs to; FTS shadow tables -> their FTS table."""
    out = {"sqlite_schema": "sqlite_schema", "sqlite_master": "sqlite_schema"}
    virtual = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")]
    for name, tbl in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"):
        owner = next((v for v in virtual if tbl == v or tbl.startswith(v + "_")), tbl)
        out[name] = owner
    return out


def virtual_tables(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")}


def index_copies(db) -> dict[tuple[str, str], int]:
    """(table, column) -> how many indexes hold a copy of the column's values."""
    out: dict[tuple[str, str], int] = {}
    for table, index in db.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"):
        for r in db.execute(f"PRAGMA index_xinfo({_q(index)})"):
            if r[5] and r[2]:  # key columns named (not expressions, not the rowid)
                out[(table, r[2])] = out.get((table, r[2]), 0) + 1
    return out


def all_text_cells(db) -> Iterable[tuple[str, str, str]]:
    """(table, column, value) of every text value in every ordinary table (the schema's SQL as
    ``sqlite_schema.sql``), for accounting what the file's bytes hold."""
    virtual = virtual_tables(db)
    for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"):
        yield "sqlite_schema", "sql", sql
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        if table in virtual or any(table.startswith(v + "_") for v in virtual) or table.startswith("sqlite_"):
            continue
        cols = [r[1] for r in db.execute(f"PRAGMA table_info({_q(table)})")]
        cur = db.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(table)}")
        for row in cur:
            for c, v in zip(cols, row):
                if isinstance(v, str) and v:
                    yield table, c, v


# -- remapping -------------------------------------------------------------------------------
def remap_json_spans(value: Any, mapper: Callable[[int, int], tuple[int, int]]) -> Any:
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            return list(mapper(value[0], value[1]))
        return [remap_json_spans(v, mapper) for v in value]
    if isinstance(value, dict):
        return {k: remap_json_spans(v, mapper) for k, v in value.items()}
    return value


def rewrite(db, plans: dict[int, Any], speaker_updates: dict[int, str],
            speaker_delete: list[int], speaker_insert: list[tuple[int | None, str, str, int | None]],
            scrub_updates: list[tuple[str, int, str, str]], audit_fn: Callable[[str, str | None], str | None],
            guard_terms: list[tuple[str, str]], apply_id: str, summary: dict[str, Any]) -> dict[str, int]:
    """The study side of an apply, inside the caller's transaction.

    ``plans``: document id -> object with ``new_text`` and ``emap`` (an ``EditMap``);
    ``speaker_updates``: turn id -> new speaker label; ``speaker_delete`` / ``speaker_insert``:
    speakers rows whose label changes, and their replacements (document_id, label, role,
    participant_id);
    ``scrub_updates``: (table, rowid, column, new value); ``audit_fn(table_name, json)``
    remaps and scrubs one audit row's before/after JSON.
    """
    counts = {"documents": 0, "anchors": 0, "turns": 0, "scrubbed": 0, "audit": 0}
    before_links = dict(db.execute("SELECT id, participant_id FROM turns").fetchall())
    for doc_id, plan in plans.items():
        db.execute("UPDATE documents SET text = ?, char_count = ?, word_count = ? WHERE id = ?",
                   [plan.new_text, len(plan.new_text), word_count(plan.new_text), doc_id])
        counts["documents"] += 1
    ids = list(plans)
    marks = ", ".join("?" for _ in ids)
    for table in anchor_tables(db):
        updates = []
        for rid, doc_id, s, e in db.execute(
                f'SELECT rowid, document_id, start, "end" FROM {_q(table)} WHERE document_id IN ({marks}) '
                "AND start IS NOT NULL AND \"end\" IS NOT NULL", ids):
            ns, ne = plans[doc_id].emap.span(s, e)
            if (ns, ne) != (s, e):
                updates.append((ns, ne, rid))
        db.conn.executemany(f'UPDATE {_q(table)} SET start = ?, "end" = ? WHERE rowid = ?', updates)
        counts["turns" if table == "turns" else "anchors"] += len(updates)
    for table, cols in span_json_tables(db):
        for col in cols:
            updates = []
            for rid, doc_id, value in db.execute(
                    f"SELECT rowid, document_id, {_q(col)} FROM {_q(table)} WHERE document_id IN ({marks})", ids):
                try:
                    data = json.loads(value)
                except (TypeError, ValueError):
                    continue
                new = remap_json_spans(data, plans[doc_id].emap.span)
                if new != data:
                    updates.append((json.dumps(new, ensure_ascii=False), rid))
            db.conn.executemany(f"UPDATE {_q(table)} SET {_q(col)} = ? WHERE rowid = ?", updates)
            counts["anchors"] += len(updates)
    db.conn.executemany("UPDATE turns SET speaker = ? WHERE id = ?", [(v, k) for k, v in speaker_updates.items()])
    # Speaker mapping rows: drop those whose label changes, add rows for the new labels.
    db.conn.executemany("DELETE FROM speakers WHERE id = ?", [(i,) for i in speaker_delete])
    for doc_id, label, role, pid in speaker_insert:
        clash = db.execute("SELECT role, participant_id FROM speakers WHERE label = ? AND coalesce(document_id, 0) = ?",
                           [label, doc_id or 0]).fetchone()
        if clash is None:
            db.execute("INSERT INTO speakers (document_id, label, role, participant_id) VALUES (?, ?, ?, ?)",
                       [doc_id, label, role, pid])
    from qualcode.store.speakers import relink_turns

    relink_turns(db)
    after_links = dict(db.execute("SELECT id, participant_id FROM turns").fetchall())
    if after_links != before_links:
        moved = sum(1 for k in before_links if before_links[k] != after_links.get(k))
        raise RuntimeError(f"relabelling speakers would move {moved} turns to another participant")
    db.execute("UPDATE participants SET name = NULL WHERE name IS NOT NULL")
    for table, rid, col, value in scrub_updates:
        db.execute(f"UPDATE {_q(table)} SET {_q(col)} = ? WHERE rowid = ?", [value, rid])
        counts["scrubbed"] += 1
    audit_updates = []
    for rid, table_name, before, after in db.execute("SELECT id, table_name, before, after FROM audit"):
        nb, na = audit_fn(table_name, before), audit_fn(table_name, after)
        if nb != before or na != after:
            audit_updates.append((nb, na, rid))
    db.conn.executemany("UPDATE audit SET before = ?, after = ? WHERE id = ?", audit_updates)
    counts["audit"] = len(audit_updates)
    write_guard_terms(db, guard_terms)
    from qualcode.store.search import rebuild

    rebuild(db)
    put(db, f"applied:{apply_id}", summary)
    return counts


def speaker_rows_to_replace(db, new_label: Callable[[str, str, int | None], str]) -> tuple[list[int], list[tuple]]:
    """Speakers rows whose label changes: (ids to delete, rows to insert)."""
    delete, insert = [], []
    for r in rows(db, "SELECT id, document_id, label, role, participant_id FROM speakers"):
        new = new_label(r["label"], r["role"], r["participant_id"])
        if new != r["label"]:
            delete.append(r["id"])
            insert.append((r["document_id"], new, r["role"], r["participant_id"]))
    return delete, insert


def rename_reviewer(db, old: str, new: str) -> None:
    """A coder renamed (``coders rename``): the applies they reviewed name them anew."""
    for key, value in db.execute("SELECT key, value FROM anonymisation WHERE key LIKE 'applied:%'").fetchall():
        data = json.loads(value)
        if isinstance(data, dict) and isinstance(data.get("by"), str) and data["by"].lower() == old.lower():
            data["by"] = new
            db.execute("UPDATE anonymisation SET value = ? WHERE key = ?", [json.dumps(data, ensure_ascii=False), key])


def coder_names(db) -> set[str]:
    return {r[0].lower() for r in db.execute("SELECT name FROM coders")}


def participant_labels(db) -> dict[int, str]:
    return dict(db.execute("SELECT id, label FROM participants").fetchall())


# -- guard terms -----------------------------------------------------------------------------
def write_guard_terms(db, terms: list[tuple[str, str]]) -> None:
    db.execute("DELETE FROM anonymisation_terms")
    db.conn.executemany("INSERT OR IGNORE INTO anonymisation_terms (hash, mode) VALUES (?, ?)", terms)


def guard_terms(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT hash FROM anonymisation_terms")}


# -- after the transaction -------------------------------------------------------------------
def compact(db) -> str | None:
    """Rewrite the file without free pages and truncate the WAL: no old page keeps a name.

    Returns None when done, else why it could not finish: another connection reading the study
    blocks the checkpoint (``PRAGMA wal_checkpoint(TRUNCATE)`` answers busy), so the file's old
    pages, and the WAL, keep the old text until that connection closes."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("PRAGMA secure_delete = ON")
    try:
        conn.execute("VACUUM")
    except sqlite3.OperationalError as exc:  # locked by another connection
        return f"VACUUM failed: {exc}"
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 2000")  # a reader that stays will not go within seconds
    try:
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        return f"checkpoint failed: {exc}"
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    if busy:
        return f"checkpoint blocked: {max(0, log - done)} of {log} WAL frames not copied back"
    return None
