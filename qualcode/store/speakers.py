"""Speaker labels -> participants (or interviewer / unknown).

The raw label stays on every turn; this mapping decides which participant a turn belongs to.
A mapping is study-wide (``Sarah Whitfield`` is P1 everywhere) or for one document (``R`` is P2
only in P2's interview); the document's own mapping wins. Labels equal to a participant's label
or recorded name map themselves.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from qualcode.errors import InvalidInput, QualcodeError
from qualcode.store.base import EntityStore

ROLES = ("participant", "interviewer", "unknown", "other")
INTERVIEWER_LABELS = re.compile(
    r"^(i|int|interviewer\s*\d*|moderator|facilitator|researcher)$", re.IGNORECASE
)
UNKNOWN_LABELS = re.compile(r"^(unknown speaker|unknown|speaker\s*\d+|spk\d+|speaker_\d+)$", re.I)

# How one raw label resolves in one document: the document's own mapping, else a study-wide
# mapping (a mapping to interviewer/unknown/other resolves to no participant), else the
# participant whose label or recorded name equals it (case-insensitively; the lowest id wins).
# Every look-up is indexed: ``speakers_by_label`` and ``participants_by_name`` (0005_indexes),
# the unique NOCASE ``participants.label``.
_RESOLVE = """
SELECT CASE WHEN EXISTS (SELECT 1 FROM speakers s WHERE s.label = :label
                         AND (s.document_id = :doc OR s.document_id IS NULL))
THEN (SELECT s.participant_id FROM speakers s WHERE s.label = :label
      AND (s.document_id = :doc OR s.document_id IS NULL)
      ORDER BY s.document_id IS NULL LIMIT 1)
ELSE (SELECT min(id) FROM (
        SELECT min(p.id) AS id FROM participants p WHERE p.label = :label COLLATE NOCASE
        UNION ALL
        SELECT min(p.id) FROM participants p WHERE p.name = :label COLLATE NOCASE))
END
"""

# Each (document, label) pair with what its turns point to now.
_PAIRS = """
SELECT document_id, speaker, min(participant_id), max(participant_id), count(participant_id), count(*)
FROM turns WHERE speaker IS NOT NULL {where} GROUP BY document_id, speaker
"""


def resolve_label(db, document_id: int, label: str) -> int | None:
    """The participant id a speaker label stands for in one document (None: nobody)."""
    return db.execute(_RESOLVE, {"label": label, "doc": document_id}).fetchone()[0]


def relink_turns(db, document_id: int | None = None) -> None:
    """Set every turn's participant from its speaker label (one document, or the whole study).

    Set-based: a study has ~120,000 turns but a few labels per document, so each distinct
    (document, label) pair is resolved once, and only the pairs whose turns point elsewhere are
    written. (One UPDATE with correlated subqueries per turn cost ~30 ms per document.)
    """
    where, params = ("", []) if document_id is None else ("AND document_id = ?", [document_id])
    updates = []
    for doc_id, label, low, high, linked, total in db.execute(_PAIRS.format(where=where), params).fetchall():
        pid = resolve_label(db, doc_id, label)
        uniform = linked == 0 or (linked == total and low == high)
        if not uniform or (low if linked else None) != pid:
            updates.append((pid, doc_id, label))
    if updates:
        opened = not db.conn.in_transaction
        db.conn.executemany("UPDATE turns SET participant_id = ? WHERE document_id = ? AND speaker = ?", updates)
        if opened and db.conn.in_transaction:  # called outside a transaction: commit like db.execute
            db.conn.commit()


class SpeakerStore(EntityStore):
    def list(self, unmapped_only: bool = False, document: str | None = None) -> list[dict[str, Any]]:
        """One row per (document, speaker label) with the turn count and how it resolves."""
        params: list[Any] = []
        where = "t.speaker IS NOT NULL"
        if document:
            where += " AND t.document_id = ?"
            params.append(self.study.documents.get(document).id)
        rows = self.rows(
            f"""
            SELECT d.name AS document, t.speaker AS speaker, count(*) AS turns,
                   p.label AS participant,
                   (SELECT s.role FROM speakers s WHERE s.label = t.speaker
                      AND (s.document_id = t.document_id OR s.document_id IS NULL)
                      ORDER BY s.document_id IS NULL LIMIT 1) AS role
            FROM turns t JOIN documents d ON d.id = t.document_id
            LEFT JOIN participants p ON p.id = t.participant_id
            WHERE {where}
            GROUP BY t.document_id, t.speaker ORDER BY d.name, min(t.start)
            """,
            params,
        )
        for r in rows:
            if r["participant"] and not r["role"]:
                r["role"] = "participant"
            r["mapped"] = r["role"] is not None
        if unmapped_only:
            rows = [r for r in rows if not r["mapped"]]
        return rows

    def map(self, label: str, target: str, document: str | None = None) -> dict[str, Any]:
        """Map ``label`` to a participant label, or to ``interviewer`` / ``unknown`` / ``other``.

        A label that no turn uses (yet) is mapped all the same, for documents imported later,
        but the result's ``warning`` says so: it is more often a typo than a plan."""
        label = label.strip()
        if not label:
            raise InvalidInput("speaker label is empty")
        doc_id = self.study.documents.get(document).id if document else None
        if target.lower() in ("interviewer", "unknown", "other"):
            role, participant_id = target.lower(), None
        else:
            role, participant_id = "participant", self.study.participants.get(target).id
        scope = f" in {document}" if document else ""
        with self.study.change("speakers map", f"map speaker {label}{scope} to {target}") as ch:
            existing = self.row(
                "SELECT id FROM speakers WHERE label = ? AND coalesce(document_id, 0) = ?",
                [label, doc_id or 0],
            )
            values = {"document_id": doc_id, "label": label, "role": role, "participant_id": participant_id}
            if existing:
                ch.update("speakers", existing["id"], values)
            else:
                ch.insert("speakers", values)
            relink_turns(self.db, doc_id)
        result = {"speaker": label, "document": document, "role": role,
                  "participant": None if participant_id is None else target}
        used = self.db.execute(
            "SELECT 1 FROM turns WHERE speaker = ? AND (? IS NULL OR document_id = ?) LIMIT 1",
            [label, doc_id, doc_id]).fetchone()
        if not used:
            where = f"in {document}" if document else "in any document"
            result["warning"] = (f"speaker label {label!r} does not occur {where}; "
                                 "the mapping is kept for transcripts imported later")
        return result

    def import_mapping(self, rows: list[dict[str, str]], source: str | None = None) -> int:
        """Apply many mappings (columns speaker, participant, optional document) in one change;
        ``source`` (the file's name) starts every error message."""
        where = f"{source}: " if source else ""
        columns = set(rows[0]) if rows else set()
        if rows and (not columns & {"speaker", "label"} or "participant" not in columns):
            found = ", ".join(sorted(c for c in columns if c)) or "none"
            raise InvalidInput(f"{where}needs columns 'speaker' and 'participant' (and optionally "
                               f"'document'); found: {found}")
        n = 0
        with self.study.change("speakers import", f"map {len(rows)} speaker labels"):
            for i, row in enumerate(rows, start=2):
                label = (row.get("speaker") or row.get("label") or "").strip()
                target = (row.get("participant") or "").strip()
                if not label or not target:
                    raise InvalidInput(f"{where}row {i}: needs 'speaker' and 'participant' values")
                document = (row.get("document") or "").strip() or None
                if document and self.study.documents.find(document) is None:
                    continue  # mapping for a document not (yet) imported
                try:
                    self.map(label, target, document)
                except QualcodeError as exc:  # an unknown participant: say where it was written
                    raise type(exc)(f"{where}row {i}: {exc}") from None
                n += 1
        return n

    def known_labels(self) -> set[str]:
        """Every label the study can already resolve: mapped speaker labels, participant labels and
        recorded names. An importer believes a label seen only once in a file when it is one of
        these (``Sarah:`` said once in a focus group), however common the word."""
        return {r[0] for r in self.db.execute(
            "SELECT label FROM speakers UNION SELECT label FROM participants "
            "UNION SELECT name FROM participants WHERE name IS NOT NULL")}

    def link_labels(self, ch, document_id: int, labels: Iterable[str]) -> dict[str, int | None]:
        """Give obvious interviewer/unknown labels their role, then say which participant each
        label stands for in the document. Import calls it before inserting the turns, so they
        are written with their participant once instead of being updated afterwards."""
        labels = list(dict.fromkeys(labels))
        for label in labels:
            role = "interviewer" if INTERVIEWER_LABELS.match(label.strip()) else (
                "unknown" if UNKNOWN_LABELS.match(label.strip()) else None)
            if role is None:
                continue
            mapped = self.db.execute(
                "SELECT 1 FROM speakers WHERE label = ? AND (document_id = ? OR document_id IS NULL)",
                [label, document_id]).fetchone()
            if not mapped:
                ch.insert("speakers", {"document_id": document_id, "label": label, "role": role,
                                       "participant_id": None})
        return {label: resolve_label(self.db, document_id, label) for label in labels}

    def auto_map(self, ch, document_id: int) -> None:
        """``link_labels`` for a document's stored turns, and link them."""
        labels = [r[0] for r in self.db.execute(
            "SELECT DISTINCT speaker FROM turns WHERE document_id = ? AND speaker IS NOT NULL", [document_id])]
        self.link_labels(ch, document_id, labels)
        relink_turns(self.db, document_id)

    def relink(self, ch=None) -> None:
        relink_turns(self.db)
