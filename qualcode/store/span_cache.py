"""Packed per-document caches of the lean rows the agreement code reads (migration 0006).

``span_cache`` holds, per document, its codings' (code_id, coder_id, start, end) as int64 bytes;
``turn_cache`` its turns' (start, end). Triggers on ``codings``, ``turns`` and ``documents``
delete a document's row whenever anything it summarises changes, so a row that exists is valid.
Reading returns numpy arrays (``np.frombuffer``) and rebuilds the missing rows from the source
tables in one write transaction, so no writer can slip between the read and the cache write.

When the cache cannot be written (the file is read-only, another connection holds the write
lock, the caller is inside a transaction of its own, or the study predates the migration) the
rows are read from the source tables and simply not cached: results never depend on the cache.
"""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import numpy as np

SPAN_COLUMNS = 'code_id, coder_id, start, "end"'
TURN_COLUMNS = 'start, "end"'
_TABLES = {"span_cache": ("codings", SPAN_COLUMNS, 4), "turn_cache": ("turns", TURN_COLUMNS, 2)}


def _has_cache(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        [table]).fetchone() is not None


def int_rows(rows: Any, width: int) -> np.ndarray:
    """Store rows (a list of int tuples, or already an array) as an int64 (n, width) array.

    ``np.fromiter`` over the flattened tuples is about twice as fast as ``np.asarray`` on a list
    of 200,000 tuples, which matters when loading a whole study's codings.
    """
    if isinstance(rows, np.ndarray):
        return rows.astype(np.int64, copy=False).reshape(-1, width)
    flat = itertools.chain.from_iterable(rows)
    return np.fromiter(flat, dtype=np.int64, count=len(rows) * width).reshape(-1, width)


def _source_rows(conn: sqlite3.Connection, source: str, columns: str, width: int,
                 documents: list[int] | None) -> np.ndarray:
    """(document_id, columns...) int64 rows from the source table, sorted by document."""
    sql = f"SELECT document_id, {columns} FROM {source}"
    params: list[Any] = []
    if documents is not None:
        if not documents:
            return np.zeros((0, width + 1), dtype=np.int64)
        sql += f" WHERE document_id IN ({', '.join('?' for _ in documents)})"
        params = list(documents)
    flat = int_rows(conn.execute(sql, params).fetchall(), width + 1)
    return flat[np.argsort(flat[:, 0], kind="stable")]


def _blobs(rows: np.ndarray, documents: list[int]) -> list[tuple[int, int, bytes]]:
    """(document_id, n, bytes) per document of ``documents`` (empty documents too)."""
    ids = np.asarray(documents, dtype=np.int64)
    lo = np.searchsorted(rows[:, 0], ids, side="left")
    hi = np.searchsorted(rows[:, 0], ids, side="right")
    body = np.ascontiguousarray(rows[:, 1:])
    return [(int(d), int(h - l), body[l:h].tobytes()) for d, l, h in zip(ids.tolist(), lo.tolist(), hi.tolist())]


def _load(db: Any, table: str, documents: list[int] | None, all_documents: list[int]) -> np.ndarray:
    """(document_id, columns...) int64 rows of ``documents`` (None: all), cached per document."""
    conn: sqlite3.Connection = db.conn
    source, columns, width = _TABLES[table]
    if not _has_cache(conn, table):
        return _source_rows(conn, source, columns, width, documents)
    wanted = all_documents if documents is None else list(documents)
    ids, rows = _read_cache(conn, table, width, documents)
    missing = sorted(set(wanted) - set(ids))
    parts = [rows]
    if missing:
        parts.append(_rebuild(conn, table, source, columns, width, missing,
                              everything=len(missing) == len(all_documents) or len(missing) > 500))
    out = np.concatenate(parts) if len(parts) > 1 else rows
    if documents is not None and len(documents) > 500:  # the cache was read whole
        out = out[np.isin(out[:, 0], np.asarray(wanted, dtype=np.int64))]
    return out


def _read_cache(conn: sqlite3.Connection, table: str, width: int,
                documents: list[int] | None) -> tuple[list[int], np.ndarray]:
    """(cached document ids, their rows) -- one join of the blobs, one ``np.frombuffer``."""
    sql = f"SELECT document_id, n, spans FROM {table}"
    params: list[Any] = []
    if documents is not None and len(documents) <= 500:
        sql += f" WHERE document_id IN ({', '.join('?' for _ in documents)})" if documents else " WHERE 0"
        params = list(documents)
    found = conn.execute(sql, params).fetchall()
    ids = [r[0] for r in found]
    counts = np.fromiter((r[1] for r in found), dtype=np.int64, count=len(found))
    body = np.frombuffer(b"".join(r[2] for r in found), dtype=np.int64).reshape(-1, width)
    rows = np.empty((len(body), width + 1), dtype=np.int64)
    rows[:, 0] = np.repeat(np.asarray(ids, dtype=np.int64), counts)
    rows[:, 1:] = body
    return ids, rows


def _rebuild(conn: sqlite3.Connection, table: str, source: str, columns: str, width: int,
             missing: list[int], everything: bool) -> np.ndarray:
    """Rows of the ``missing`` documents from the source table, written to the cache when the
    write lock is free at once (never waiting for it); not written otherwise."""
    began = False
    if not conn.in_transaction:
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("BEGIN IMMEDIATE")
            began = True
        except sqlite3.OperationalError:  # read-only file or another writer: do not cache
            began = False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    try:
        rows = _source_rows(conn, source, columns, width, None if everything else missing)
        blobs = _blobs(rows, missing)
        if began:
            conn.executemany(f"INSERT OR REPLACE INTO {table} (document_id, n, spans) VALUES (?, ?, ?)",
                             blobs)
            conn.execute("COMMIT")
            began = False
    except sqlite3.OperationalError:
        if began:
            conn.execute("ROLLBACK")
            began = False
        rows = _source_rows(conn, source, columns, width, None if everything else missing)
    finally:
        if began:
            conn.execute("ROLLBACK")
    return rows[np.isin(rows[:, 0], np.asarray(missing, dtype=np.int64))]


def _document_ids(db: Any) -> list[int]:
    return [r[0] for r in db.conn.execute("SELECT id FROM documents ORDER BY id")]


def coding_spans(db: Any, documents: list[int] | None = None) -> np.ndarray:
    """int64 (n, 5) rows (document_id, code_id, coder_id, start, end) of every coder's codings of
    ``documents`` (None: every document), grouped by document (no further order promised)."""
    return _load(db, "span_cache", documents, _document_ids(db))


def turn_spans(db: Any, documents: list[int] | None = None) -> np.ndarray:
    """int64 (n, 3) rows (document_id, start, end) of the turns of ``documents`` (None: all)."""
    return _load(db, "turn_cache", documents, _document_ids(db))


def invalidate(db: Any) -> None:
    """Empty both caches (the next read rebuilds them); used by the cold-path benchmark."""
    conn: sqlite3.Connection = db.conn
    for table in _TABLES:
        if _has_cache(conn, table):
            db.execute(f"DELETE FROM {table}")
