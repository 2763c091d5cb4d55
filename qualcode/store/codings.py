"""Codings: a coder applies a code to a span of a document's canonical text.

Spans are code-point offsets, end exclusive. One coder's overlapping codings of one code are
merged on write, so nothing is ever counted twice; other coders' codings are never touched.
"""

from __future__ import annotations

from typing import Any

from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.records import Coding
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

# Column order matters: ``CodingStore._records`` unpacks the rows in this order.
_SELECT = """
SELECT c.id, c.document_id, d.name AS document, c.code_id, k.name AS coder,
       c.start, c."end", c.memo, c.created,
       t.speaker AS speaker, p.label AS participant
FROM codings c
JOIN documents d ON d.id = c.document_id
JOIN coders k ON k.id = c.coder_id
LEFT JOIN turns t ON t.id = (SELECT id FROM turns WHERE document_id = c.document_id
                             AND start <= c.start ORDER BY start DESC LIMIT 1)
LEFT JOIN participants p ON p.id = t.participant_id
"""


def find_text(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """Span of the ``nth`` (1-based) occurrence of ``needle`` in ``text``."""
    if not needle:
        raise InvalidInput("the text to code is empty")
    if nth < 1:
        raise InvalidInput("--nth counts from 1")
    pos, count = -1, 0
    while count < nth:
        pos = text.find(needle, pos + 1)
        if pos == -1:
            if count == 0:
                folded = text.casefold().count(needle.casefold())
                hint = f" ({folded} match(es) ignoring case)" if folded else ""
                raise NotFound(f"text {_short(needle)!r} does not occur in the document{hint}")
            raise NotFound(f"text {_short(needle)!r} occurs only {count} time(s), not {nth}")
        count += 1
    return pos, pos + len(needle)


def _join_memos(memos: list[str]) -> str:
    """The memo of merged codings: each different memo once, in order."""
    return "\n".join(dict.fromkeys(m for m in memos if m))


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


class CodingStore(EntityStore):
    def _records(self, sql: str, params: list[Any]) -> list[Coding]:
        """Codings for a query on ``_SELECT``, with their code paths and quotes.

        Built from the row tuples in ``_SELECT``'s column order: a dict per row and keyword
        arguments cost ~30 % of listing 9,000 codings.
        """
        rows = self.db.execute(sql, params).fetchall()
        if not rows:
            return []
        paths = self.study.codes._paths()
        # Each document's text is read once and sliced in Python: SQLite's substr would load a
        # document's whole text again for every coding. The texts are streamed, one document
        # at a time, so a listing of thousands of codings never holds every text at once.
        by_doc: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_doc.setdefault(r[1], []).append(i)
        quotes: list[str] = [""] * len(rows)
        ids = sorted(by_doc)
        for n in range(0, len(ids), 500):
            chunk = ids[n:n + 500]
            cursor = self.db.execute(
                f"SELECT id, text FROM documents WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
            for doc_id, text in cursor:
                for i in by_doc[doc_id]:
                    quotes[i] = text[rows[i][5]:rows[i][6]]
        return [Coding(cid, doc_id, document, code_id, paths[code_id], coder, start, end, quote, memo,
                       created, speaker, participant)
                for (cid, doc_id, document, code_id, coder, start, end, memo, created, speaker, participant),
                quote in zip(rows, quotes)]

    def list(self, document: str | None = None, code: str | None = None, coder: str | None = None,
             include_children: bool = False, limit: int | None = None) -> list[Coding]:
        where, params = [], []
        if document:
            where.append("c.document_id = ?")
            params.append(self.study.documents.get(document).id)
        if code:
            target = self.study.codes.get(code)
            ids = [target.id]
            if include_children:
                ids = [c.id for c in self.study.codes.list()
                       if c.id == target.id or c.path.casefold().startswith(target.path.casefold() + "/")]
            where.append(f"c.code_id IN ({', '.join('?' for _ in ids)})")
            params.extend(ids)
        if coder:
            where.append("c.coder_id = ?")
            params.append(self.study.coders.get(coder).id)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY d.name, c.start, c.id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self._records(sql, params)

    def spans(self, coders: list[int] | None = None, codes: list[int] | None = None,
              documents: list[int] | None = None) -> list[tuple[int, int, int, int, int]]:
        """Lean rows (document_id, code_id, coder_id, start, end) for statistics over many codings.

        No text, no joins: the agreement code works on intervals, 200,000 rows at a time.
        """
        where, params = [], []
        for column, ids in (("coder_id", coders), ("code_id", codes), ("document_id", documents)):
            if ids is not None:
                where.append(f"{column} IN ({', '.join('?' for _ in ids)})" if ids else "0")
                params.extend(ids)
        sql = 'SELECT document_id, code_id, coder_id, start, "end" FROM codings'
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.db.execute(sql + " ORDER BY document_id, code_id, coder_id, start", params).fetchall()

    def get(self, coding_id: int) -> Coding:
        found = self._records(_SELECT + " WHERE c.id = ?", [coding_id])
        if not found:
            raise NotFound(f"coding {coding_id} does not exist")
        return found[0]

    def at(self, document_id: int, offset: int, coder: str | None = None) -> list[Coding]:
        sql = _SELECT + ' WHERE c.document_id = ? AND c.start <= ? AND c."end" > ?'
        params: list[Any] = [document_id, offset, offset]
        if coder:
            sql += " AND k.name = ?"
            params.append(coder)
        return self._records(sql + " ORDER BY c.start", params)

    # -- writing -----------------------------------------------------------------------------
    def _require_open(self, coder: str) -> None:
        """A coder who marked their coding complete may see the others' codings (blind coding
        with --forbid-unblind), so their own must not change afterwards: the agreement figures
        would no longer measure independent coding. Reopening is one audited command."""
        since = self.study.completion().get(coder)
        if since:
            raise Conflict(f"{coder} marked their coding complete at {since}; to change their codings, "
                           f"reopen it first (`qualcode coders complete STUDY {coder} --reopen`, or k on "
                           "the TUI's documents screen)")

    def add(self, document: str, code: str, coder: str | None, start: int, end: int, memo: str = "") -> Coding:
        doc = self.study.documents.get(document)
        code_rec = self.study.codes.get(code)
        coder_rec = self.study.coders.resolve(coder)
        self._require_open(coder_rec.name)
        if not (0 <= start < end <= doc.char_count):
            raise InvalidInput(f"span {start}:{end} is outside the document (0:{doc.char_count}) or empty")
        text = self.study.documents.text(doc.id)
        if not text[start:end].strip():
            raise InvalidInput(f"span {start}:{end} holds only whitespace")
        summary = f"code {doc.name} {start}:{end} as {code_rec.path} ({coder_rec.name})"
        with self.study.change("code", summary, coder_rec.name) as ch:
            coding_id = self._add(ch, doc.id, code_rec.id, coder_rec.id, start, end, memo)
        return self.get(coding_id)

    def add_text(self, document: str, code: str, coder: str | None, text: str, nth: int = 1,
                 memo: str = "") -> Coding:
        doc = self.study.documents.get(document)
        start, end = find_text(self.study.documents.text(doc.id), text, nth)
        return self.add(doc.name, code, coder, start, end, memo)

    def _add(self, ch, doc_id: int, code_id: int, coder_id: int, start: int, end: int, memo: str) -> int:
        overlapping = self.rows(
            'SELECT id, start, "end", memo FROM codings WHERE document_id = ? AND code_id = ? '
            'AND coder_id = ? AND start < ? AND "end" > ? ORDER BY start',
            [doc_id, code_id, coder_id, end, start],
        )
        if not overlapping:
            return ch.insert("codings", {
                "document_id": doc_id, "code_id": code_id, "coder_id": coder_id, "start": start,
                "end": end, "memo": memo.strip(), "created": now(), "guid": new_guid()})
        keep, *rest = overlapping
        merged_memo = _join_memos([keep["memo"], *(r["memo"] for r in rest), memo.strip()])
        for r in rest:
            ch.delete("codings", r["id"])
        ch.update("codings", keep["id"], {
            "start": min(start, *(r["start"] for r in overlapping)),
            "end": max(end, *(r["end"] for r in overlapping)),
            "memo": merged_memo})
        return keep["id"]

    def remove(self, document: str, code: str, coder: str | None, start: int, end: int) -> dict[str, int]:
        """Uncode ``start:end``: codings of this code by this coder lose that range (may split)."""
        doc = self.study.documents.get(document)
        code_rec = self.study.codes.get(code)
        coder_rec = self.study.coders.resolve(coder)
        self._require_open(coder_rec.name)
        if not (0 <= start < end <= doc.char_count):
            raise InvalidInput(f"span {start}:{end} is outside the document (0:{doc.char_count}) or empty")
        hits = self.rows(
            'SELECT * FROM codings WHERE document_id = ? AND code_id = ? AND coder_id = ? '
            'AND start < ? AND "end" > ?', [doc.id, code_rec.id, coder_rec.id, end, start])
        if not hits:
            raise NotFound(f"{coder_rec.name} has no coding of {code_rec.path!r} in {start}:{end} of {doc.name}")
        removed = trimmed = split = 0
        summary = f"uncode {doc.name} {start}:{end} from {code_rec.path} ({coder_rec.name})"
        with self.study.change("uncode", summary, coder_rec.name) as ch:
            for h in hits:
                left = (h["start"], start) if h["start"] < start else None
                right = (end, h["end"]) if h["end"] > end else None
                if not left and not right:
                    ch.delete("codings", h["id"])
                    removed += 1
                elif left and right:
                    ch.update("codings", h["id"], {"end": start})
                    ch.insert("codings", {**{k: h[k] for k in ("document_id", "code_id", "coder_id", "memo")},
                                          "start": end, "end": h["end"], "created": now(), "guid": new_guid()})
                    split += 1
                else:
                    ch.update("codings", h["id"], {"start": (left or right)[0], "end": (left or right)[1]})
                    trimmed += 1
        return {"removed": removed, "trimmed": trimmed, "split": split}

    def delete(self, coding_id: int) -> Coding:
        coding = self.get(coding_id)
        self._require_open(coding.coder)
        with self.study.change("uncode", f"delete coding {coding_id} ({coding.code}, {coding.coder})",
                               coding.coder) as ch:
            ch.delete("codings", coding_id)
        return coding

    def adjust(self, coding_id: int, start: int, end: int) -> Coding:
        """Move a coding's boundaries (merging with the same coder's overlapping codings)."""
        coding = self.get(coding_id)
        self._require_open(coding.coder)
        doc = self.study.documents.get(coding.document_id)
        if not (0 <= start < end <= doc.char_count):
            raise InvalidInput(f"span {start}:{end} is outside the document (0:{doc.char_count}) or empty")
        coder_id = self.study.coders.get(coding.coder).id
        with self.study.change("adjust", f"adjust coding {coding_id} to {start}:{end}", coding.coder) as ch:
            ch.delete("codings", coding_id)
            new_id = self._add(ch, coding.document_id, coding.code_id, coder_id, start, end, coding.memo)
        return self.get(new_id)

    def set_memo(self, coding_id: int, memo: str) -> Coding:
        self.get(coding_id)
        with self.study.change("coding memo", f"memo on coding {coding_id}") as ch:
            ch.update("codings", coding_id, {"memo": memo.strip()})
        return self.get(coding_id)

    def move_code(self, ch, src_id: int, dst_id: int) -> int:
        """Re-code every coding of ``src_id`` as ``dst_id`` (merging overlaps); used by merge."""
        rows = self.rows("SELECT * FROM codings WHERE code_id = ? ORDER BY id", [src_id])
        for r in rows:
            ch.delete("codings", r["id"])
            self._add(ch, r["document_id"], dst_id, r["coder_id"], r["start"], r["end"], r["memo"])
        return len(rows)

    def relocate(self, ch, document_id: int, old_text: str, new_text: str) -> tuple[dict[str, int], set[int]]:
        """Keep a replaced document's codings on the same words where they can be found again.

        Returns the counts (kept, moved, dropped, merged) and the ids of the codings dropped
        because their words are gone."""
        kept = moved = 0
        gone: set[int] = set()
        for r in self.rows("SELECT * FROM codings WHERE document_id = ?", [document_id]):
            quote = old_text[r["start"]:r["end"]]
            if new_text[r["start"]:r["end"]] == quote:
                kept += 1
                continue
            positions = []
            pos = new_text.find(quote)
            while pos != -1 and len(positions) < 1000:
                positions.append(pos)
                pos = new_text.find(quote, pos + 1)
            if positions:
                best = min(positions, key=lambda p: abs(p - r["start"]))
                ch.update("codings", r["id"], {"start": best, "end": best + len(quote)})
                moved += 1
            else:
                ch.delete("codings", r["id"])
                gone.add(r["id"])
        merged = self._merge_overlaps(ch, document_id) if moved else 0
        return {"kept": kept, "moved": moved, "dropped": len(gone), "merged": merged}, gone

    def _merge_overlaps(self, ch, document_id: int) -> int:
        """Merge one coder's overlapping codings of one code in a document, as ``_add`` does on
        every write: codings moved to the same words (two quotes of 'pain' whose nearest match
        is now the same one) must not count twice. Returns how many codings were merged away."""
        groups: list[list[dict[str, Any]]] = []
        end = 0  # the furthest end of the last group
        for r in self.rows('SELECT id, code_id, coder_id, start, "end", memo FROM codings '
                           'WHERE document_id = ? ORDER BY code_id, coder_id, start, id', [document_id]):
            last = groups[-1] if groups else None
            if last and (last[0]["code_id"], last[0]["coder_id"]) == (r["code_id"], r["coder_id"]) and r["start"] < end:
                last.append(r)
                end = max(end, r["end"])
            else:
                groups.append([r])
                end = r["end"]
        merged = 0
        for keep, *rest in (g for g in groups if len(g) > 1):
            for r in rest:
                ch.delete("codings", r["id"])
            ch.update("codings", keep["id"], {"end": max(r["end"] for r in [keep, *rest]),
                                              "memo": _join_memos([keep["memo"], *(r["memo"] for r in rest)])})
            merged += len(rest)
        return merged
