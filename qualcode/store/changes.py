"""Every change to a study goes through a ``Change``: one transaction, one audit record.

A change groups row operations (insert / update / delete) under one entry in ``changes`` with
who, when and what; each row operation keeps the row before and after as JSON in ``audit``.
That record is the audit trail reviewers ask for and the basis of undo: undoing a change applies
its row operations backwards, as a new change, so nothing is ever silently forgotten.

Document text is not copied into the audit log on import (it is the source file's text and the
file is kept by the researcher); undoing an import deletes the document and its turns. A
``--replace`` is different: the earlier text exists nowhere else, so it is logged as one
*version* row (a ``documents`` update whose before and after are ``{"row": ..., "turns": ...}``:
the whole row with its text, and the turns; ``documents.version``); undo and redo put that
version back and re-index it, and the codings move with their own rows. Replaces logged by an older qualcode (a plain ``documents`` update whose
SHA-256 changed, text not kept) are refused rather than half undone.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from qualcode.errors import Conflict, NotFound

if TYPE_CHECKING:
    from qualcode.store.database import StudyDatabase as Database

# Rows of these tables are logged without their bulky columns; see module docstring.
_SLIM = {"documents": ("text",)}
# Child rows that are created with a document and go with it; not logged row by row.
_UNLOGGED = {"turns"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name on this system
        return "unknown"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Change:
    """Row operations recorded under one change id; used only inside ``record``."""

    def __init__(self, db: Database, change_id: int) -> None:
        self.db = db
        self.id = change_id
        self.count = 0

    def _row(self, table: str, row_id: int) -> dict[str, Any] | None:
        cur = self.db.execute(f"SELECT * FROM {_quote(table)} WHERE id = ?", [row_id])
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cur.description], row))

    def _log(self, table: str, row_id: int, op: str, before: dict | None, after: dict | None,
             slim: bool = True) -> None:
        if table in _UNLOGGED:
            return
        for column in _SLIM.get(table, ()) if slim else ():
            for row in (before, after):
                if row is not None and column in row and op != "delete":
                    row[column] = None
        self.db.execute(
            "INSERT INTO audit (change_id, table_name, row_id, op, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            [
                self.id,
                table,
                row_id,
                op,
                None if before is None else json.dumps(before, ensure_ascii=False),
                None if after is None else json.dumps(after, ensure_ascii=False),
            ],
        )
        self.count += 1

    def log_version(self, table: str, row_id: int, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Record a whole version change (written by the caller) with nothing left out."""
        self._log(table, row_id, "update", before, after, slim=False)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        columns = list(row)
        sql = (
            f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        row_id = self.db.execute(sql, [row[c] for c in columns]).lastrowid
        after = self._row(table, row_id) if table not in _UNLOGGED else None
        self._log(table, row_id, "insert", None, after)
        return row_id

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        before = self._row(table, row_id)
        if before is None:
            raise NotFound(f"{table} row {row_id} does not exist")
        if all(before.get(k) == v for k, v in values.items()):
            return
        assignments = ", ".join(f"{_quote(c)} = ?" for c in values)
        self.db.execute(
            f"UPDATE {_quote(table)} SET {assignments} WHERE id = ?", [*values.values(), row_id]
        )
        self._log(table, row_id, "update", before, self._row(table, row_id))

    def delete(self, table: str, row_id: int) -> None:
        before = self._row(table, row_id)
        if before is None:
            return
        self.db.execute(f"DELETE FROM {_quote(table)} WHERE id = ?", [row_id])
        self._log(table, row_id, "delete", before, None)


@contextmanager
def record(db: Database, command: str, summary: str, actor: str | None = None) -> Iterator[Change]:
    """Open a transaction and a change; commit both, or neither."""
    with db.atomic():
        change_id = db.execute(
            "INSERT INTO changes (coder, command, summary, created) VALUES (?, ?, ?, ?)",
            [actor or default_actor(), command, summary, now()],
        ).lastrowid
        change = Change(db, change_id)
        yield change


def last_change(db: Database, actor: str | None = None, undone: bool = False) -> dict | None:
    # A redo is the original change again, so it can be undone; an undo is undone only by redo.
    where = "undone_by IS NOT NULL" if undone else "undone_by IS NULL AND (undoes IS NULL OR command = 'redo')"
    params: list[Any] = []
    if actor:
        where += " AND coder = ? COLLATE NOCASE"
        params.append(actor)
    row = db.execute(
        f"SELECT id, coder, command, summary, created FROM changes WHERE {where} "
        "AND EXISTS (SELECT 1 FROM audit WHERE audit.change_id = changes.id) "
        "ORDER BY id DESC LIMIT 1",
        params,
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("id", "coder", "command", "summary", "created"), row))


def undo(db: Database, actor: str | None = None, by: str | None = None) -> dict:
    """Undo the newest change not yet undone (by ``actor`` if given); return its description."""
    target = last_change(db, actor)
    if target is None:
        who = f" by {actor}" if actor else ""
        raise NotFound(f"nothing to undo{who}")
    ops = db.execute(
        "SELECT table_name, row_id, op, before, after FROM audit WHERE change_id = ? ORDER BY id DESC",
        [target["id"]],
    ).fetchall()
    # Refuse when a later change still depends on a row this change touched.
    for table, row_id, _op, _b, _a in ops:
        later = db.execute(
            "SELECT c.id, c.summary FROM audit a JOIN changes c ON c.id = a.change_id "
            "WHERE a.table_name = ? AND a.row_id = ? AND a.change_id > ? "
            "AND c.undone_by IS NULL AND c.undoes IS NULL LIMIT 1",
            [table, row_id, target["id"]],
        ).fetchone()
        if later:
            raise Conflict(
                f"cannot undo change {target['id']} ({target['summary']}): "
                f"change {later[0]} ({later[1]}) depends on it; undo that first"
            )
    with record(db, "undo", f"undo: {target['summary']}", by or actor) as change:
        try:
            for table, row_id, op, before, after in ops:
                _reverse(db, change, table, row_id, op, before, after, target["id"], target["summary"])
        except sqlite3.IntegrityError:
            raise Conflict(
                f"cannot undo change {target['id']} ({target['summary']}): later work still uses "
                "what it created"
            ) from None
        from qualcode.store.speakers import relink_turns  # local: speakers imports nothing from here

        relink_turns(db)
        db.execute("UPDATE changes SET undoes = ? WHERE id = ?", [target["id"], change.id])
        db.execute("UPDATE changes SET undone_by = ? WHERE id = ?", [change.id, target["id"]])
    return target


def redo(db: Database, actor: str | None = None, by: str | None = None) -> dict:
    """Re-apply what the newest undo (by ``actor``) reverted, if nothing else has happened since.

    Several undos in a row are redone one by one, newest first: walking back from the newest
    change, redos and the undos they reverted are stepped over; the first undo not yet redone is
    the one to redo; any other change ends the walk (new work discards what could be redone).
    """
    params: list[Any] = []
    where = "EXISTS (SELECT 1 FROM audit WHERE audit.change_id = changes.id)"
    if actor:
        where += " AND coder = ? COLLATE NOCASE"
        params.append(actor)
    newest = None
    for row in db.execute(f"SELECT id, command, undoes, undone_by FROM changes WHERE {where} "
                          "ORDER BY id DESC", params):
        command, undone_by = row[1], row[3]
        if command == "redo" or (command == "undo" and undone_by is not None):
            continue
        if command == "undo":
            newest = row
        break
    if newest is None:
        who = f" by {actor}" if actor else ""
        raise NotFound(f"nothing to redo{who}: redo follows an undo directly")
    undo_id, original_id = newest[0], newest[2]
    original = db.execute("SELECT summary FROM changes WHERE id = ?", [original_id]).fetchone()[0]
    later = db.execute(
        "SELECT c.id, c.summary FROM audit a JOIN changes c ON c.id = a.change_id "
        "WHERE a.change_id > ? AND c.undone_by IS NULL AND (a.table_name, a.row_id) IN "
        "(SELECT table_name, row_id FROM audit WHERE change_id = ?) LIMIT 1",
        [undo_id, original_id]).fetchone()
    if later:
        raise Conflict(f"cannot redo {original!r}: change {later[0]} ({later[1]}) has touched it since")
    ops = db.execute(
        "SELECT table_name, row_id, op, before, after FROM audit WHERE change_id = ? ORDER BY id",
        [original_id]).fetchall()
    with record(db, "redo", f"redo: {original}", by or actor) as change:
        try:
            for table, row_id, op, before, after in ops:
                if op == "insert":
                    _reverse(db, change, table, row_id, "delete", after)
                elif op == "delete":
                    change.delete(table, row_id)
                else:
                    _reverse(db, change, table, row_id, "update", after, before)
        except sqlite3.IntegrityError:
            raise Conflict(f"cannot redo {original!r}: the study has changed since") from None
        from qualcode.store.speakers import relink_turns

        relink_turns(db)
        db.execute("UPDATE changes SET undoes = ? WHERE id = ?", [undo_id, change.id])
        db.execute("UPDATE changes SET undone_by = ? WHERE id = ?", [change.id, undo_id])
    return {"id": original_id, "summary": original, "redo": change.id}


def _reverse(db: Database, change: Change, table: str, row_id: int, op: str, before: str | None,
             after: str | None = None, change_id: int | None = None, summary: str = "") -> None:
    """Apply one audit row backwards: the row goes back to ``before`` (``after`` is what the
    change left, checked where it matters)."""
    if op == "update" and table == "documents" and after is not None:
        old, new = json.loads(before), json.loads(after)
        if _is_version(old):
            from qualcode.store.documents import restore_version  # local: documents imports this module

            restore_version(db, change, row_id, old, new)
            return
        if old.get("sha256") != new.get("sha256"):
            what = f"change {change_id} ({summary})" if change_id else "this change"
            raise Conflict(
                f"cannot undo {what}: it replaced a document's text and was recorded by an older "
                "qualcode that did not keep the earlier text; import the earlier file with --replace instead"
            )
    if op == "insert":
        if table == "documents":
            _drop_document_index(db, row_id)
            db.execute("DELETE FROM speakers WHERE document_id = ?", [row_id])
            db.execute("DELETE FROM turns WHERE document_id = ?", [row_id])
            if db.execute("SELECT 1 FROM codings WHERE document_id = ? LIMIT 1", [row_id]).fetchone():
                raise Conflict("cannot undo the import: the document has codings")
        change.delete(table, row_id)
    elif op == "delete":
        row = json.loads(before)
        if any(v is None for k, v in row.items() if k in _SLIM.get(table, ())):
            raise Conflict(f"cannot restore {table} row {row_id}: its content was not kept")
        try:
            change.insert(table, row)
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"cannot restore {table} row {row_id}: {exc}") from exc
    else:
        row = json.loads(before)
        for column in _SLIM.get(table, ()):
            row.pop(column, None)
        row.pop("id", None)
        change.update(table, row_id, row)


def _is_version(data: Any) -> bool:
    """A whole document version (``Change.log_version``) rather than a plain row."""
    return isinstance(data, dict) and set(data) == {"row", "turns"}


def _drop_document_index(db: Database, document_id: int) -> None:
    from qualcode.store.search import unindex_document  # local: search imports nothing from here

    unindex_document(db, document_id)
