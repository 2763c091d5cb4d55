"""``Study``: one study file, and every operation the CLI and the TUI offer on it.

Operations are grouped by what they act on (``study.codes``, ``study.codings`` ...); each group
lives in its own store module with its SQL. Every write is one transaction and one audited change
(``qualcode.store.changes``), so a failure or a kill leaves the study as it was before or after.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from qualcode.errors import InvalidInput, NotFound
from qualcode.store import changes, connection
from qualcode.store.schema import schema_version

if TYPE_CHECKING:
    from qualcode.store.database import StudyDatabase as Database

    from qualcode.store.coders import CoderStore
    from qualcode.store.codes import CodeStore
    from qualcode.store.codings import CodingStore
    from qualcode.store.decisions import DecisionStore
    from qualcode.store.documents import DocumentStore
    from qualcode.store.memos import JournalStore, MemoStore
    from qualcode.store.participants import ParticipantStore
    from qualcode.store.speakers import SpeakerStore
    from qualcode.store.themes import ThemeStore

APPROACHES = ("reflexive", "codebook", "coding-reliability")
PHASES = {
    1: "Familiarising with the data",
    2: "Coding",
    3: "Generating initial themes",
    4: "Developing and reviewing themes",
    5: "Refining, defining and naming themes",
    6: "Writing up",
}


class Study:
    """An open study file. Use ``Study.create`` or ``Study.open``; close it (or use ``with``)."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self.actor: str | None = None  # who is acting, for the audit log (a coder name)
        self._change: changes.Change | None = None

    # One store per kind of thing, each created (and its module imported) on first use: a CLI
    # call such as ``qualcode info`` needs none of them, and start-up is most of its time.
    @cached_property
    def coders(self) -> CoderStore:
        from qualcode.store.coders import CoderStore

        return CoderStore(self)

    @cached_property
    def participants(self) -> ParticipantStore:
        from qualcode.store.participants import ParticipantStore

        return ParticipantStore(self)

    @cached_property
    def documents(self) -> DocumentStore:
        from qualcode.store.documents import DocumentStore

        return DocumentStore(self)

    @cached_property
    def speakers(self) -> SpeakerStore:
        from qualcode.store.speakers import SpeakerStore

        return SpeakerStore(self)

    @cached_property
    def codes(self) -> CodeStore:
        from qualcode.store.codes import CodeStore

        return CodeStore(self)

    @cached_property
    def codings(self) -> CodingStore:
        from qualcode.store.codings import CodingStore

        return CodingStore(self)

    @cached_property
    def memos(self) -> MemoStore:
        from qualcode.store.memos import MemoStore

        return MemoStore(self)

    @cached_property
    def journal(self) -> JournalStore:
        from qualcode.store.memos import JournalStore

        return JournalStore(self)

    @cached_property
    def decisions(self) -> DecisionStore:
        """Double coding: assignments, agreement rounds, reconciliation."""
        from qualcode.store.decisions import DecisionStore

        return DecisionStore(self)

    @cached_property
    def themes(self) -> ThemeStore:
        """Braun & Clarke themes, subthemes, key quotes."""
        from qualcode.store.themes import ThemeStore

        return ThemeStore(self)

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        title: str | None = None,
        approach: str = "reflexive",
        coder: str | None = None,
    ) -> "Study":
        if approach not in APPROACHES:
            raise InvalidInput(f"approach must be one of {', '.join(APPROACHES)}, not {approach!r}")
        path = Path(path)
        db = connection.create(path)
        study = cls(db, path)
        with study.change("init", f"create study {path.name}") as ch:
            for key, value in {
                "title": title or path.stem,
                "approach": approach,
                "phase": 1,
                "created": changes.now(),
                "blind": True,
                "forbid_unblind": False,
            }.items():
                ch.insert("project", {"key": key, "value": json.dumps(value)})
        if coder:
            study.coders.add(coder)
        return study

    @classmethod
    def open(cls, path: str | Path) -> "Study":
        path = Path(path)
        return cls(connection.open_existing(path), path)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- changes, undo -----------------------------------------------------------------------
    @contextmanager
    def change(self, command: str, summary: str, actor: str | None = None) -> Iterator[changes.Change]:
        """One transaction + one audit-log entry for a multi-row write.

        Re-entrant: an operation that calls others (a codebook import adding codes) records
        them all under the outermost change, so one undo reverts the whole command.
        """
        if self._change is not None:
            yield self._change
            return
        with changes.record(self.db, command, summary, actor or self.actor) as ch:
            self._change = ch
            try:
                yield ch
            finally:
                self._change = None

    def undo(self, coder: str | None = None) -> dict[str, Any]:
        if coder:
            coder = self.coders.get(coder).name
        return changes.undo(self.db, coder, by=coder or self.actor)

    def redo(self, coder: str | None = None) -> dict[str, Any]:
        """Re-apply the change the newest undo reverted (only directly after that undo)."""
        if coder:
            coder = self.coders.get(coder).name
        return changes.redo(self.db, coder, by=coder or self.actor)

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, coder, command, summary, created, undoes, undone_by FROM changes "
            "ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        keys = ("id", "coder", "command", "summary", "created", "undoes", "undone_by")
        return [dict(zip(keys, r)) for r in rows]

    # -- project settings --------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM project")}

    def setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM project WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def configure(self, **values: Any) -> dict[str, Any]:
        """Change project settings (title, approach, phase, blind, forbid_unblind)."""
        if "approach" in values and values["approach"] not in APPROACHES:
            raise InvalidInput(f"approach must be one of {', '.join(APPROACHES)}")
        if "phase" in values:
            try:
                phase = int(values["phase"])
            except (TypeError, ValueError):
                phase = 0
            if phase not in PHASES:
                raise InvalidInput("phase must be a number from 1 to 6 (Braun & Clarke)")
            values["phase"] = phase
        if "title" in values and not str(values["title"]).strip():
            raise InvalidInput("title cannot be empty")
        unknown = set(values) - {"title", "approach", "phase", "blind", "forbid_unblind"}
        if unknown:
            raise InvalidInput(f"unknown setting: {', '.join(sorted(unknown))}")
        summary = ", ".join(f"{k}={v}" for k, v in values.items())
        with self.change("configure", f"set {summary}") as ch:
            for key, value in values.items():
                row = self.db.execute("SELECT id FROM project WHERE key = ?", [key]).fetchone()
                if row:
                    ch.update("project", row[0], {"value": json.dumps(value)})
                else:
                    ch.insert("project", {"key": key, "value": json.dumps(value)})
        return self.settings()

    def set_by(self, key: str) -> dict[str, Any] | None:
        """Who last changed setting ``key`` and when (``{"coder", "created"}``), from the audit log;
        None if it was never changed since the study was created (or the change was undone)."""
        row = self.db.execute(
            "SELECT coder, created FROM changes WHERE command = 'configure' AND undone_by IS NULL "
            "AND (summary LIKE ? OR summary LIKE ?) ORDER BY id DESC LIMIT 1",
            [f"set {key}=%", f"%, {key}=%"]).fetchone()
        return {"coder": row[0], "created": row[1]} if row else None

    # -- coding complete (blind double coding) ------------------------------------------------
    def completion(self) -> dict[str, str]:
        """The coders who marked their coding of this study complete: name -> when (UTC, ISO).

        Kept in the ``coding_complete`` setting by coder id (a renamed coder keeps their mark)."""
        marks = self.setting("coding_complete", {}) or {}
        names = {str(c.id): c.name for c in self.coders.list()}
        return {names[k]: v for k, v in sorted(marks.items(), key=lambda kv: kv[1]) if k in names}

    def mark_complete(self, coder: str, reopen: bool = False) -> dict[str, Any]:
        """Mark ``coder``'s coding complete (or, with ``reopen``, take the mark back): one audited,
        undoable change made as that coder. Marking twice (or reopening an open coding) changes
        nothing. Returns ``{"coder", "complete", "since", "changed"}``."""
        who = self.coders.get(coder)
        if who.kind != "coder":
            raise InvalidInput(f"{who.name!r} holds reconciled codings; only a coder marks coding complete")
        marks = dict(self.setting("coding_complete", {}) or {})
        ident = str(who.id)
        changed = (ident in marks) == reopen
        if changed:
            if reopen:
                del marks[ident]
                summary = f"reopen the coding of {who.name}"
            else:
                marks[ident] = changes.now()
                summary = f"mark the coding of {who.name} complete"
            with self.change("coders complete", summary, who.name) as ch:
                row = self.db.execute("SELECT id FROM project WHERE key = 'coding_complete'").fetchone()
                if row:
                    ch.update("project", row[0], {"value": json.dumps(marks)})
                else:
                    ch.insert("project", {"key": "coding_complete", "value": json.dumps(marks)})
        return {"coder": who.name, "complete": ident in marks, "since": marks.get(ident), "changed": changed}

    # -- overview ----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        count = lambda table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
        settings = self.settings()
        words = self.db.execute("SELECT coalesce(sum(word_count), 0) FROM documents").fetchone()[0]
        return {
            "path": str(self.path),
            "title": settings.get("title"),
            "approach": settings.get("approach"),
            "phase": settings.get("phase"),
            "phase_name": PHASES.get(settings.get("phase")),
            "schema_version": schema_version(self.db),
            "documents": count("documents"),
            "words": words,
            "turns": count("turns"),
            "participants": count("participants"),
            "coders": count("coders"),
            "codes": count("codes"),
            "codings": count("codings"),
            "memos": count("memos"),
            "journal_entries": count("journal"),
            "changes": count("changes"),
        }

    def search(self, query: str, document: str | None = None, limit: int | None = 50):
        """Full-text search: (matching turns, keyword-in-context hits)."""
        from qualcode.store.search import search

        return search(self, query, document=document, limit=limit)

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def require(self, found: Any, what: str) -> Any:
        if found is None:
            raise NotFound(what)
        return found
