"""Participant labels: label schemes by group, and speaker labels turned into participant labels.

Two things:

- **schemes** (``plan_labels`` / ``relabel``): participants numbered per group with a prefix
  (patients ``P1``..., patient tutor volunteers ``PTV1``..., staff ``S1``...), either as given
  (the labels already there, numbered in label order) or in interview order (by an
  ``interview_date``-like attribute, then the first document a participant speaks in);
- **speaker labels** (``label_edits``): at apply, every turn mapped to a participant gets the
  participant's label as its speaker, and the label written in the document itself (``Sarah
  Whitfield:`` before the turn) is rewritten to it (``P1:``). Interviewers named in labels
  (``Amira Haddad:``) become ``Interviewer``; ``I:``, ``Interviewer:`` and unknown speakers stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qualcode.errors import InvalidInput
from qualcode.store import anonymise as store
from qualcode.store.participants import LABEL, label_prefix, natural_key
from qualcode.store.speakers import INTERVIEWER_LABELS, UNKNOWN_LABELS

INTERVIEWER = "Interviewer"
DATE_ATTRIBUTES = ("interview_date", "interview date", "interviewed", "date")


@dataclass(frozen=True)
class LabelEdit:
    document_id: int
    turn_id: int
    start: int | None  # the label's span in the text (None: not written in the text)
    end: int | None
    original: str
    label: str
    role: str


def speaker_target(speaker: str, role: str | None, participant_label: str | None) -> str:
    """What a turn's speaker label becomes."""
    if participant_label:
        return participant_label
    if role == "interviewer" and not INTERVIEWER_LABELS.match(speaker.strip()):
        return INTERVIEWER
    return speaker


def label_edits(db) -> dict[int, list[LabelEdit]]:
    """Planned speaker-label rewrites per document id, in text order."""
    out: dict[int, list[LabelEdit]] = {}
    texts: dict[int, str] = {}
    prev_end: dict[int, int] = {}
    for t in store.turns_for_labels(db):
        doc_id = t["document_id"]
        if doc_id not in texts:
            texts[doc_id] = store.document_text(db, doc_id)
            prev_end[doc_id] = 0
        gap_start = prev_end[doc_id]
        prev_end[doc_id] = t["end"]
        speaker = t["speaker"]
        if not speaker:
            continue
        role = t["role"] or ("participant" if t["participant"] else None)
        target = speaker_target(speaker, role, t["participant"])
        if target == speaker:
            continue
        gap = texts[doc_id][gap_start:t["start"]]
        pos = gap.rfind(speaker)
        if pos == -1:
            start = end = None
        else:
            start = gap_start + pos
            end = start + len(speaker)
        out.setdefault(doc_id, []).append(LabelEdit(doc_id, t["id"], start, end, speaker, target, role or ""))
    return out


def interviewer_names(db) -> set[str]:
    """Speaker labels that name an interviewer (kept out of the study after apply)."""
    return {r for r in store.interviewer_labels(db) if not INTERVIEWER_LABELS.match(r.strip())
            and not UNKNOWN_LABELS.match(r.strip())}


# -- schemes -------------------------------------------------------------------------------
def parse_scheme(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    scheme: dict[str, str] = {}
    for pair in pairs:
        group, sep, prefix = pair.partition("=")
        if not sep or not group.strip() or not re.fullmatch(r"[A-Za-z][A-Za-z_\-]{0,15}", prefix.strip()):
            raise InvalidInput(f"a label scheme is GROUP=PREFIX (e.g. patient=P, staff=S), not {pair!r}")
        scheme[group.strip().lower()] = prefix.strip()
    return scheme


def _interview_key(p: dict[str, Any], first_doc: dict[int, str]) -> tuple:
    attrs = p["attributes"]
    date = None
    for name in DATE_ATTRIBUTES:
        for k, v in attrs.items():
            if k.lower() == name and v not in (None, ""):
                date = str(v)
                break
        if date:
            break
    return (date is None, date or "", first_doc.get(p["id"], "\uffff"), natural_key(p["label"]))


def plan_labels(db, order: str = "given", scheme: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Proposed labels: one row per participant (label, new_label, group, ordered_by, speakers)."""
    if order not in ("given", "interview"):
        raise InvalidInput("--order must be 'given' or 'interview'")
    scheme = {k.lower(): v for k, v in (scheme or {}).items()}
    people = store.participants(db)
    first_doc = store.first_documents(db)
    speakers = store.speaker_labels_by_participant(db)
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in people:
        groups.setdefault(p["grp"], []).append(p)
    rows = []
    for grp, members in groups.items():
        prefix = scheme.get(grp.lower())
        if prefix is None:
            prefixes = {label_prefix(m["label"]) for m in members}
            prefix = prefixes.pop() if len(prefixes) == 1 else None
        if order == "interview":
            members = sorted(members, key=lambda p: _interview_key(p, first_doc))
        else:
            members = sorted(members, key=lambda p: natural_key(p["label"]))
        for n, p in enumerate(members, start=1):
            if order == "given":
                digits = re.search(r"(\d+)$", p["label"])
                number = digits.group(1) if digits else str(n)
                new = f"{scheme[grp.lower()]}{number}" if grp.lower() in scheme else p["label"]
            else:
                new = f"{prefix}{n}" if prefix else p["label"]
            rows.append({"label": p["label"], "new_label": new, "group": grp,
                         "interview": _interview_key(p, first_doc)[1] or None,
                         "speakers": sorted(speakers.get(p["id"], ()))})
    rows.sort(key=lambda r: natural_key(r["new_label"]))
    for r in rows:
        if not LABEL.match(r["new_label"]):
            raise InvalidInput(f"label {r['new_label']!r} is not a valid participant label")
    news = [r["new_label"].lower() for r in rows]
    if len(set(news)) != len(news):
        raise InvalidInput("the scheme gives two participants the same label; use distinct prefixes per group")
    return rows


def relabel(study, rows: list[dict[str, Any]]) -> int:
    """Rename participants as planned (one audited change; undo restores the old labels)."""
    changes = [r for r in rows if r["new_label"] != r["label"]]
    if not changes:
        return 0
    if store.applied_ids(study.db):
        raise InvalidInput("this study is anonymised: its labels are written into the transcripts, so "
                           "relabel before `anonymise apply`, not after")
    with study.change("anonymise labels", f"relabel {len(changes)} participants") as ch:
        ids = {p["label"]: p["id"] for p in store.participants(study.db)}
        for i, r in enumerate(changes):
            ch.update("participants", ids[r["label"]], {"label": f"__relabel_{i}"})
        for i, r in enumerate(changes):
            ch.update("participants", ids[r["label"]], {"label": r["new_label"]})
        from qualcode.store.speakers import relink_turns

        relink_turns(study.db)
    return len(changes)
