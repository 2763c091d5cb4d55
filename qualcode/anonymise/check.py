"""``anonymise check``: does the study still hold identifiers?

Looks at every document (register terms, participants' names, hashed terms), every other text
value kept in the study, participants' ``name`` column, and — with the key — the raw bytes of the
study file and its ``-wal`` / ``-shm`` companions, which catches what a query cannot see (free
pages, old WAL frames, the full-text index). Places a reviewer rejected (decided not
identifying) are not reported as leaks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qualcode.anonymise.guard import Guard
from qualcode.store import anonymise as store


def raw_patterns(terms) -> list[tuple[re.Pattern[bytes], dict[bytes, str]]]:
    """One bytes pattern per case mode (any case / Capitalised or UPPER) for all terms."""
    groups: dict[str, dict[bytes, str]] = {"ci": {}, "cs": {}}
    for t in terms:
        text = " ".join(t.text.split())
        if len(text) < 3:
            continue
        if t.case_mode == "cs":
            for form in {text[:1].upper() + text[1:], text.upper()}:
                groups["cs"][form.encode("utf-8")] = text
        else:
            groups["ci"][text.lower().encode("utf-8")] = text
    out = []
    for mode, forms in groups.items():
        if not forms:
            continue
        body = b"|".join(re.escape(f).replace(rb"\ ", rb"\s+") for f in sorted(forms, key=len, reverse=True))
        flags = re.IGNORECASE if mode == "ci" else 0
        out.append((re.compile(rb"(?<![A-Za-z0-9])(?:" + body + rb")(?![A-Za-z0-9])", flags), forms))
    return out


def raw_leaks(path: Path, terms) -> list[dict[str, Any]]:
    """Registered terms found in the bytes of the study file and its companions."""
    patterns = raw_patterns(terms)
    found = []
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if not p.exists() or not patterns:
            continue
        data = p.read_bytes()
        counts: dict[str, int] = {}
        for pattern, forms in patterns:
            for m in pattern.finditer(data):
                key = b" ".join(m.group(0).split())
                term = forms.get(key) or forms.get(key.lower()) or m.group(0).decode("utf-8", "replace")
                counts[term] = counts.get(term, 0) + 1
        found += [{"file": p.name, "term": t, "count": n} for t, n in sorted(counts.items())]
    return found


def check_study(study, key=None) -> dict[str, Any]:
    db = study.db
    guard = Guard(study, key)
    rejected: dict[str, set[tuple[int, int]]] = {}
    if key is not None:
        for c in key.candidates(status="rejected"):
            rejected.setdefault(c.document_guid, set()).add((c.start, c.end))
    documents = []
    for d in store.documents(db):
        leaks = [lk for lk in guard.check(d["text"])
                 if not any(s <= lk.start and lk.end <= e for s, e in rejected.get(d["guid"], ()))]
        if leaks:
            documents.append({"document": d["name"], "leaks": [lk.as_dict() for lk in leaks]})
    values = []
    for table, rid, col, value in store.text_values(db):
        if table == "participants" and col == "name":
            continue
        leaks = guard.check_value(value)
        if leaks:
            values.append({"table": table, "row": rid, "column": col,
                           "leaks": [lk.text for lk in leaks]})
    names = [p["label"] for p in store.participants(db) if p["name"]]
    raw = []
    if key is not None:
        kept = {c.original.lower() for c in key.candidates(status="rejected")}
        raw = raw_leaks(Path(study.path), [t for t in guard.matcher.terms if t.text.lower() not in kept])
    count = sum(len(d["leaks"]) for d in documents) + sum(len(v["leaks"]) for v in values) + len(names) + len(raw)
    return {"ok": count == 0, "leaks": count, "documents": documents, "values": values,
            "participants_with_names": names, "raw": raw,
            "rejected_kept": sum(len(v) for v in rejected.values()), "with_key": key is not None}
