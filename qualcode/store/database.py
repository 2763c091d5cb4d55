"""The connection object every store talks to: ``execute``, ``conn`` and ``atomic``.

The stores use exactly three things of ``sqlite_utils.Database``: ``execute`` (a write outside
a transaction commits at once), ``conn`` and ``atomic()`` (a transaction, or a savepoint when
one is already open). Importing ``sqlite_utils`` costs ~100 ms (its plugin manager, dateutil,
click and the table machinery), which was most of every CLI command's time against the issue-9
target of 100 ms. So an up-to-date study is opened with this small class, which keeps the same
semantics; ``sqlite_utils.Migrations`` is still what creates and upgrades the schema
(``qualcode.store.schema``), on a ``sqlite_utils.Database`` over the same connection.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _first_keyword(sql: str) -> str:
    stripped = sql.lstrip()
    return stripped.split(None, 1)[0].upper() if stripped else ""


class StudyDatabase:
    """A study's SQLite connection with ``sqlite_utils.Database``'s transaction rules."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> sqlite3.Cursor:
        """Run one statement. A write outside a transaction is committed straight away, as
        ``sqlite_utils`` does; inside ``atomic()`` it becomes part of the transaction."""
        conn = self.conn
        was_in_transaction = conn.in_transaction
        try:
            cursor = conn.execute(sql) if parameters is None else conn.execute(sql, parameters)
        except Exception:
            if not was_in_transaction and conn.in_transaction:
                conn.execute("ROLLBACK")  # the failed statement's implicit transaction
            raise
        if (not was_in_transaction and conn.in_transaction and cursor.description is None
                and _first_keyword(sql) not in _TRANSACTION_CONTROL):
            conn.execute("COMMIT")
        return cursor

    @contextmanager
    def atomic(self) -> Iterator[StudyDatabase]:
        """One transaction; nested blocks are savepoints, rolled back alone on an error."""
        conn = self.conn
        if conn.in_transaction:
            savepoint = f"qc_{uuid.uuid4().hex}"
            conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:  # a RAISE(ROLLBACK) may have ended it already
                    conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()
