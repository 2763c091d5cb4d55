"""Reviewing candidates before apply: accept, reject, edit the replacement, add to the register.

The same functions serve the CLI (``anonymise accept 3-9 12``) and the TUI's review screen
(``walk`` gives the candidates in reading order with their context).
"""

from __future__ import annotations

import re
from typing import Iterable

from qualcode.anonymise.keyfile import Candidate, KeyFile
from qualcode.anonymise.register import KIND_REPLACEMENTS
from qualcode.errors import InvalidInput

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_ids(values: Iterable[str]) -> list[int]:
    """``["3-6", "9,11", "14"]`` -> [3, 4, 5, 6, 9, 11, 14]."""
    out: list[int] = []
    for value in values:
        for piece in re.split(r"[,\s]+", str(value).strip()):
            if not piece:
                continue
            m = _RANGE.match(piece)
            if not m:
                raise InvalidInput(f"candidate ids are numbers or ranges like 3-9, not {piece!r}")
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if hi < lo:
                raise InvalidInput(f"range {piece} runs backwards")
            if hi - lo > 1_000_000:
                raise InvalidInput(f"range {piece} is too long")
            out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


def select(key: KeyFile, ids: Iterable[str] = (), rule: str | None = None, document: str | None = None,
           all_open: bool = False, same_as: int | None = None) -> list[int]:
    """Candidate ids chosen by ids/ranges, by rule (``--all-rule``), by document, or all open."""
    chosen = parse_ids(ids)
    if chosen:
        existing = {c.id for c in key.candidates(ids=chosen)}
        missing = [i for i in chosen if i not in existing]
        if missing:
            raise InvalidInput(f"no candidate with id {', '.join(map(str, missing[:10]))}"
                               + (" ..." if len(missing) > 10 else ""))
    if rule or all_open or document:
        chosen += [c.id for c in key.candidates(status="open" if all_open or rule or document else None,
                                                rule=rule, document=document)]
    if same_as is not None:
        original = key.candidate(same_as).original
        chosen += [c.id for c in key.candidates() if c.original.lower() == original.lower()]
    if not chosen:
        raise InvalidInput("no candidates chosen: give ids (e.g. 3-9 12), --all-rule RULE, --document or --all")
    return list(dict.fromkeys(chosen))


def accept(key: KeyFile, ids: list[int], reviewer: str) -> int:
    return key.review(ids, "accepted", reviewer)


def reject(key: KeyFile, ids: list[int], reviewer: str) -> int:
    return key.review(ids, "rejected", reviewer)


def reopen(key: KeyFile, ids: list[int], reviewer: str) -> int:
    return key.review(ids, "open", reviewer)


def edit(key: KeyFile, ids: list[int], replacement: str, reviewer: str) -> int:
    key.edit(ids, replacement, reviewer)
    return len(ids)


def add_to_register(key: KeyFile, candidate_id: int, replacement: str | None = None,
                    kind: str | None = None, name: str | None = None) -> int:
    """Register a candidate's text (e.g. a relative's name NER found) so every mention is caught
    by the next scan, and by the export guard. Returns the entry id."""
    c = key.candidate(candidate_id)
    if c.entry_id is not None and name is None and replacement is None:
        with key.transaction():
            key.add_variant(c.entry_id, c.original, "review")
        return c.entry_id
    kind = kind or ("person" if c.kind == "name" else c.kind)
    replacement = replacement or (c.replacement if c.replacement != KIND_REPLACEMENTS.get(kind) else None)
    term = name or c.original
    with key.transaction():
        return key.add_entry(term, replacement, kind, "review")


def walk(key: KeyFile, status: str = "open") -> list[Candidate]:
    """Candidates in reading order (document, position), for a review screen."""
    return key.candidates(status=status)


def context(study, candidate: Candidate, width: int = 200) -> tuple[str, str, str]:
    """Wider context for a review screen: (left, original, right) read from the study's text.
    Falls back to the stored context when the document changed since the scan."""

    row = study.db.execute("SELECT text FROM documents WHERE guid = ?", [candidate.document_guid]).fetchone()
    if row is None or row[0][candidate.start:candidate.end] != candidate.original:
        return candidate.left_context, candidate.original, candidate.right_context
    text = row[0]
    return text[max(0, candidate.start - width):candidate.start], candidate.original, text[candidate.end:candidate.end + width]


def summary(key: KeyFile) -> dict[str, int]:
    """Counts by status, for a progress line."""
    out = {"open": 0, "accepted": 0, "rejected": 0}
    for by_status in key.counts().values():
        for status, n in by_status.items():
            out[status] = out.get(status, 0) + n
    return out
