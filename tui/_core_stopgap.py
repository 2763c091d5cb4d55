"""STOPGAP: read-only summaries the TUI needs and the core does not offer yet.

Each function uses only public core APIs (no SQL) and is described in ``tui/NEEDS_CORE.md`` so the
lead can move it into ``qualcode/`` (where it can be one query). Delete this file once it has.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Any


def coding_progress(study, coders: list[str]) -> dict[int, dict[str, float]]:
    """{document id: {coder: share of the document's participant turns with >= 1 coding}}.

    Turns spoken by a mapped participant count; a document without any uses all its turns.
    """
    by_doc: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for coder in coders:
        for c in study.codings.list(coder=coder):
            by_doc[c.document_id][coder].append((c.start, c.end))
    out: dict[int, dict[str, float]] = {}
    for doc in study.documents.list():
        turns = study.documents.turns(doc.id)
        units = [t for t in turns if t.participant] or turns
        starts = [t.start for t in units]
        out[doc.id] = {}
        for coder in coders:
            covered = set()
            for s, e in by_doc[doc.id].get(coder, []):
                i = max(bisect_right(starts, s) - 1, 0)
                while i < len(units) and units[i].start < e:
                    if units[i].end > s:
                        covered.add(i)
                    i += 1
            out[doc.id][coder] = len(covered) / len(units) if units else 0.0
    return out


def counts_by_coder(study) -> dict[int, dict[str, dict[str, Any]]]:
    """{code id: {coder: {"codings", "documents", "participants"}}} (codes.counts() lacks
    participants per coder)."""
    base = study.codes.counts()
    out: dict[int, dict[str, dict[str, Any]]] = {}
    participants: dict[tuple[int, str], set[str]] = defaultdict(set)
    for c in study.codings.list():
        if c.participant:
            participants[(c.code_id, c.coder)].add(c.participant)
    for code_id, entry in base.items():
        out[code_id] = {}
        for coder, numbers in entry["by_coder"].items():
            out[code_id][coder] = {**numbers, "participants": len(participants.get((code_id, coder), ()))}
    return out
