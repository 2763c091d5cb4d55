"""Memos on any object, and the reflexive journal (dated entries per coder).

A memo targets the study, a document, a passage (document + span), a code, a coding, a
participant or (later) a theme. Passage anchors are offsets like codings and are remapped with
them when text is rewritten.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from qualcode.errors import InvalidInput, NotFound
from qualcode.records import JournalEntry, Memo
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

TARGETS = ("study", "document", "passage", "code", "coding", "participant", "theme")


class MemoStore(EntityStore):
    def _target_name(self, r: dict[str, Any]) -> str:
        kind, tid = r["target_type"], r["target_id"]
        if kind == "study":
            return "study"
        if kind in ("document", "passage"):
            name = self.scalar("SELECT name FROM documents WHERE id = ?", [r["document_id"]])
            return name if kind == "document" else f"{name} {r['start']}:{r['end']}"
        if kind == "code":
            return self.study.codes.by_id(tid).path
        if kind == "participant":
            return self.scalar("SELECT label FROM participants WHERE id = ?", [tid]) or f"#{tid}"
        return f"{kind} {tid}"

    def _record(self, r: dict[str, Any]) -> Memo:
        return Memo(
            id=r["id"], target_type=r["target_type"], target_id=r["target_id"], target=self._target_name(r),
            document_id=r["document_id"], start=r["start"], end=r["end"], coder=r["coder"],
            title=r["title"], body=r["body"], created=r["created"], updated=r["updated"],
        )

    _SELECT = "SELECT m.*, k.name AS coder FROM memos m LEFT JOIN coders k ON k.id = m.coder_id"

    def list(self, target_type: str | None = None, document: str | None = None, code: str | None = None,
             coder: str | None = None) -> list[Memo]:
        where, params = [], []
        if target_type:
            if target_type not in TARGETS:
                raise InvalidInput(f"memo target must be one of {', '.join(TARGETS)}")
            where.append("m.target_type = ?")
            params.append(target_type)
        if document:
            where.append("m.document_id = ?")
            params.append(self.study.documents.get(document).id)
        if code:
            where.append("m.target_type = 'code' AND m.target_id = ?")
            params.append(self.study.codes.get(code).id)
        if coder:
            where.append("m.coder_id = ?")
            params.append(self.study.coders.get(coder).id)
        sql = self._SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY m.id"
        return [self._record(r) for r in self.rows(sql, params)]

    def get(self, memo_id: int) -> Memo:
        r = self.row(self._SELECT + " WHERE m.id = ?", [memo_id])
        if r is None:
            raise NotFound(f"memo {memo_id} does not exist")
        return self._record(r)

    def add(self, body: str, coder: str | None = None, *, document: str | None = None,
            span: tuple[int, int] | None = None, code: str | None = None, coding: int | None = None,
            participant: str | None = None, title: str = "") -> Memo:
        body = body.strip()
        if not body:
            raise InvalidInput("a memo needs some text")
        targets = [x is not None for x in (document, code, coding, participant)]
        if sum(targets) > 1:
            raise InvalidInput("a memo attaches to one thing: a document (or passage), a code, a coding or a participant")
        coder_rec = self.study.coders.resolve(coder)
        row: dict[str, Any] = {"target_type": "study", "target_id": None, "document_id": None,
                               "start": None, "end": None}
        if document is not None:
            doc = self.study.documents.get(document)
            row.update(target_type="document", target_id=doc.id, document_id=doc.id)
            if span is not None:
                start, end = span
                if not (0 <= start < end <= doc.char_count):
                    raise InvalidInput(f"span {start}:{end} is outside the document (0:{doc.char_count}) or empty")
                row.update(target_type="passage", start=start, end=end)
        elif span is not None:
            raise InvalidInput("--span needs --document")
        elif code is not None:
            row.update(target_type="code", target_id=self.study.codes.get(code).id)
        elif coding is not None:
            c = self.study.codings.get(coding)
            row.update(target_type="coding", target_id=c.id, document_id=c.document_id)
        elif participant is not None:
            row.update(target_type="participant", target_id=self.study.participants.get(participant).id)
        stamp = now()
        with self.study.change("memo add", f"memo on {row['target_type']}", coder_rec.name) as ch:
            memo_id = ch.insert("memos", {**row, "coder_id": coder_rec.id, "title": title.strip(),
                                          "body": body, "created": stamp, "updated": stamp, "guid": new_guid()})
        return self.get(memo_id)

    def edit(self, memo_id: int, body: str | None = None, title: str | None = None) -> Memo:
        self.get(memo_id)
        values: dict[str, Any] = {}
        if body is not None:
            if not body.strip():
                raise InvalidInput("a memo needs some text")
            values["body"] = body.strip()
        if title is not None:
            values["title"] = title.strip()
        if values:
            with self.study.change("memo edit", f"edit memo {memo_id}") as ch:
                ch.update("memos", memo_id, {**values, "updated": now()})
        return self.get(memo_id)

    def delete(self, memo_id: int) -> Memo:
        memo = self.get(memo_id)
        with self.study.change("memo delete", f"delete memo {memo_id}") as ch:
            ch.delete("memos", memo_id)
        return memo


class JournalStore(EntityStore):
    def add(self, body: str, coder: str | None = None, entry_date: str | None = None,
            phase: int | None = None) -> JournalEntry:
        body = body.strip()
        if not body:
            raise InvalidInput("a journal entry needs some text")
        coder_rec = self.study.coders.resolve(coder)
        try:
            day = date.fromisoformat(entry_date).isoformat() if entry_date else date.today().isoformat()
        except ValueError:
            raise InvalidInput(f"date must be YYYY-MM-DD, not {entry_date!r}") from None
        if phase is None:
            phase = self.study.setting("phase")
        elif phase not in range(1, 7):
            raise InvalidInput("phase must be a number from 1 to 6 (Braun & Clarke)")
        with self.study.change("journal add", f"journal entry {day} ({coder_rec.name})", coder_rec.name) as ch:
            entry_id = ch.insert("journal", {"coder_id": coder_rec.id, "entry_date": day, "phase": phase,
                                             "body": body, "created": now()})
        return self.get(entry_id)

    def get(self, entry_id: int) -> JournalEntry:
        r = self.row("SELECT j.id, k.name AS coder, j.entry_date, j.phase, j.body, j.created "
                     "FROM journal j JOIN coders k ON k.id = j.coder_id WHERE j.id = ?", [entry_id])
        if r is None:
            raise NotFound(f"journal entry {entry_id} does not exist")
        return JournalEntry(**r)

    def list(self, coder: str | None = None, phase: int | None = None) -> list[JournalEntry]:
        where, params = [], []
        if coder:
            where.append("j.coder_id = ?")
            params.append(self.study.coders.get(coder).id)
        if phase:
            where.append("j.phase = ?")
            params.append(phase)
        sql = ("SELECT j.id, k.name AS coder, j.entry_date, j.phase, j.body, j.created "
               "FROM journal j JOIN coders k ON k.id = j.coder_id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY j.entry_date, j.id")
        return [JournalEntry(**r) for r in self.rows(sql, params)]
