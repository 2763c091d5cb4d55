"""``apply``: rewrite the study with the accepted replacements, keeping every anchor on its words.

Order of work, so that a crash leaves the study as it was before or after:

1. plan (read only): per document the accepted candidates plus the speaker-label rewrites, as
   non-overlapping edits; the new text; an ``EditMap`` for every anchor; the scrubbed values of
   every other text column; the hashed register for the guard. ``--dry-run`` stops here.
2. key file, one transaction: the original text of each document, the anonymisation log, the
   participants' names, the scrubbed originals, and the candidates' positions after the apply,
   all marked as belonging to a *pending* apply.
3. study, one transaction (``study.change``): documents, anchors (every table with
   ``document_id``/``start``/``end``, JSON span columns), turns and their speakers, speaker
   mappings, participants' names cleared, scrubbed columns, the audit log remapped and scrubbed,
   guard hashes, full-text index rebuilt, and the apply's id recorded. The audit log records only
   that an anonymisation happened (one change, no row images).
4. key file: the pending apply is made final. If the process died between 2 and 3 the next use
   of the key forgets the pending rows; between 3 and 4 it finishes them (``scan.reconcile``).
5. ``VACUUM`` and ``wal_checkpoint(TRUNCATE)``: no free page or WAL frame keeps old text. When
   another connection holds a read transaction the checkpoint cannot finish (SQLite answers
   busy) and the old pages stay in the file until that connection closes: the result then says
   so (``compacted`` False, ``warnings``) and the CLI exits 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.anonymise import labels as labels_mod
from qualcode.anonymise.guard import ID_KINDS, NAME_KINDS, guard_rows
from qualcode.anonymise.keyfile import Candidate, KeyFile, new_apply_id, now
from qualcode.anonymise.register import terms_from_entries
from qualcode.anonymise.remap import Edit, EditMap, apply_edits, resolve_overlaps
from qualcode.anonymise.scan import participant_labels, reconcile, text_hash
from qualcode.anonymise.scrub import Scrubber
from qualcode.errors import Conflict, InvalidInput
from qualcode.store import anonymise as store
from qualcode.store.changes import default_actor
from qualcode.store.speakers import INTERVIEWER_LABELS
from qualcode.text import context


@dataclass
class Planned:
    start: int
    end: int
    original: str
    replacement: str
    rule: str
    kind: str
    candidate_id: int | None
    reviewer: str
    reviewed: str | None
    new_start: int = 0


@dataclass
class DocPlan:
    id: int
    guid: str
    name: str
    old_text: str
    new_text: str
    planned: list[Planned]
    emap: EditMap


@dataclass
class ApplyResult:
    dry_run: bool
    apply_id: str | None
    documents: int
    replacements: int
    by_rule: dict[str, int]
    labels: int
    skipped: list[dict[str, Any]]
    open_left: int
    participants_moved: int
    scrubbed: int
    anchors: dict[str, int] = field(default_factory=dict)
    diff: list[dict[str, Any]] = field(default_factory=list)
    needs_review: int = 0  # open candidates --accept-all leaves to the reviewer (lower case, stale)
    compacted: bool = True  # False: another connection kept old pages in the file (see warnings)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_fresh(study, key: KeyFile) -> None:
    """Refuse to apply candidates found against another text or another register."""
    state = key.meta("scan")
    if not state:
        raise InvalidInput("nothing scanned yet: run `qualcode anonymise scan` first")
    if state.get("register_version") != key.register_version():
        raise InvalidInput("the register changed since the last scan: run `qualcode anonymise scan` again "
                           "(then review the new candidates)")
    hashes = state.get("documents", {})
    for d in store.documents(study.db):
        if d["guid"] not in hashes:
            raise InvalidInput(f"document {d['name']!r} was not scanned: run `qualcode anonymise scan` again")
        if hashes[d["guid"]] != text_hash(d["text"]):
            raise InvalidInput(f"document {d['name']!r} changed since the last scan: run `qualcode anonymise scan` again")


def plan(study, key: KeyFile, accept_all: bool = False, reviewer: str | None = None
         ) -> tuple[dict[int, DocPlan], list[dict[str, Any]], dict[int, str], list[Candidate]]:
    """Per document: the edits to make. Returns (plans, skipped, turn speaker updates, candidates used)."""
    db = study.db
    reviewer = reviewer or default_actor()
    docs = {d["guid"]: d for d in store.documents(db)}
    from qualcode.anonymise.scan import NEEDS_REVIEW_RULES

    chosen = [c for c in key.candidates() if c.status == "accepted" or (
        accept_all and c.status == "open" and not c.stale and c.rule not in NEEDS_REVIEW_RULES)]
    label_plan = labels_mod.label_edits(db)
    by_doc: dict[str, list[tuple[int, Planned]]] = {}
    skipped: list[dict[str, Any]] = []
    speaker_updates: dict[int, str] = {}
    doc_by_id = {d["id"]: d for d in docs.values()}
    for doc_id, edits in label_plan.items():
        for le in edits:
            speaker_updates[le.turn_id] = le.label
            if le.start is not None:
                by_doc.setdefault(doc_by_id[doc_id]["guid"], []).append((0, Planned(
                    le.start, le.end, le.original, le.label, "speaker-label", "label", None, reviewer, None)))
    # Participants may have been relabelled since the scan: derive [name of LABEL] afresh.
    from qualcode.anonymise.register import replacement_for

    labels_now = participant_labels(db)
    current = {e.id: replacement_for(e, labels_now) for e in key.entries()}
    for c in chosen:
        doc = docs.get(c.document_guid)
        if doc is None:
            skipped.append({"id": c.id, "reason": "document no longer in the study"})
            continue
        if doc["text"][c.start:c.end] != c.original:
            skipped.append({"id": c.id, "reason": "text changed since the scan"})
            continue
        who = c.reviewer or (reviewer if c.status == "open" else None) or reviewer
        replacement = c.replacement
        if not c.edited and c.entry_id in current and c.replacement == c.proposed:
            replacement = current[c.entry_id]
        by_doc.setdefault(c.document_guid, []).append((1, Planned(
            c.start, c.end, c.original, replacement, c.rule, c.kind, c.id, who, c.reviewed)))
    plans: dict[int, DocPlan] = {}
    for guid, items in by_doc.items():
        doc = docs[guid]
        pairs = [(prio, Edit(p.start, p.end, p.replacement)) for prio, p in items]
        kept, dropped = resolve_overlaps(pairs)
        for i in dropped:
            p = items[i][1]
            if p.candidate_id is not None:
                skipped.append({"id": p.candidate_id, "reason": "overlaps another replacement"})
        dropped_set = set(dropped)
        planned = sorted((p for i, (_prio, p) in enumerate(items) if i not in dropped_set), key=lambda p: p.start)
        emap = EditMap(kept)
        for p, ns in zip(planned, emap.new_starts):
            p.new_start = ns
        plans[doc["id"]] = DocPlan(doc["id"], guid, doc["name"], doc["text"], apply_edits(doc["text"], kept),
                                   planned, emap)
    return plans, skipped, speaker_updates, chosen


def _speaker_label(labels: dict[int, str]):
    def new_label(label: str, role: str, participant_id: int | None) -> str:
        if participant_id is not None and participant_id in labels:
            return labels[participant_id]
        if role == "interviewer" and not INTERVIEWER_LABELS.match(label.strip()):
            return labels_mod.INTERVIEWER
        return label
    return new_label


def apply(study, key: KeyFile, accept_all: bool = False, dry_run: bool = False,
          reviewer: str | None = None) -> ApplyResult:
    db = study.db
    reviewer = reviewer or study.actor or default_actor()
    reconcile(study, key)
    check_fresh(study, key)
    plans, skipped, speaker_updates, chosen = plan(study, key, accept_all, reviewer)
    used_ids = {p.candidate_id for dp in plans.values() for p in dp.planned if p.candidate_id is not None}
    by_rule: dict[str, int] = {}
    for dp in plans.values():
        for p in dp.planned:
            by_rule[p.rule] = by_rule.get(p.rule, 0) + 1
    open_cands = key.candidates(status="open")
    used_open = {c.id for c in chosen if c.status == "open"}
    open_left = sum(1 for c in open_cands if c.id not in used_open)
    needs_review = open_left if accept_all else 0
    people = [p for p in store.participants(db) if p["name"]]

    # Scrubbing: registered terms as the scan matches them, and every string accepted in the text.
    labels = participant_labels(db)
    terms, _ = terms_from_entries(key.entries(), labels, None, key.resolved_case())
    coders = store.coder_names(db)
    literals = {p.original: p.replacement for dp in plans.values() for p in dp.planned
                if p.rule != "speaker-label" and p.original.lower() not in coders}
    scrubber = Scrubber(terms, literals)
    handled_turns = set(speaker_updates)
    relabel_speaker = _speaker_label(store.participant_labels(db))
    speaker_delete, speaker_insert = store.speaker_rows_to_replace(db, relabel_speaker)
    handled_speakers = set(speaker_delete)
    scrub_updates: list[tuple[str, int, str, str]] = []
    scrub_originals: list[tuple[str, int, str, str]] = []
    for table, rid, col, value in store.text_values(db):
        if (table, col) == ("participants", "name") or table == "audit":
            continue
        if (table == "turns" and col == "speaker" and rid in handled_turns) or \
           (table == "speakers" and col == "label" and rid in handled_speakers):
            continue
        new = scrubber.value(value, col)
        if new != value:
            scrub_updates.append((table, rid, col, new))
            scrub_originals.append((table, rid, col, value))
    anchor_tables = set(store.anchor_tables(db))
    span_tables = {t: cols for t, cols in store.span_json_tables(db)}
    plans_by_id = plans

    def audit_fn(table_name: str, raw: str | None) -> str | None:
        if not raw:
            return raw
        try:
            row = json.loads(raw)
        except ValueError:
            return scrubber.value(raw)
        if not isinstance(row, dict):
            return raw
        new = dict(row)
        doc_id = row.get("document_id")
        if doc_id in plans_by_id:
            emap = plans_by_id[doc_id].emap
            if table_name in anchor_tables and isinstance(row.get("start"), int) and isinstance(row.get("end"), int):
                new["start"], new["end"] = emap.span(row["start"], row["end"])
            for col in span_tables.get(table_name, ()):
                if isinstance(row.get(col), str):
                    try:
                        new[col] = json.dumps(store.remap_json_spans(json.loads(row[col]), emap.span),
                                              ensure_ascii=False)
                    except ValueError:
                        pass
        if table_name == "participants" and new.get("name"):
            new["name"] = None
        if table_name == "speakers" and isinstance(new.get("label"), str):
            new["label"] = relabel_speaker(new["label"], new.get("role") or "", new.get("participant_id"))
        new = scrubber.json(new)
        return raw if new == row else json.dumps(new, ensure_ascii=False)

    # Guard hashes: every registered term, and every identifier and name replaced in the text.
    extra_terms, identifiers = [], []
    for dp in plans.values():
        for p in dp.planned:
            if p.kind in ID_KINDS:
                identifiers.append((p.kind, p.original))
            elif p.kind in NAME_KINDS and len(p.original) >= 3:
                extra_terms.append((p.original, "cs"))
    hashes, longest = guard_rows(study, key, extra_terms, identifiers)

    replacements = sum(1 for dp in plans.values() for p in dp.planned if p.rule != "speaker-label")
    label_count = sum(1 for dp in plans.values() for p in dp.planned if p.rule == "speaker-label")
    diff = [{"document": dp.name, "start": p.start, "end": p.end, "original": p.original,
             "replacement": p.replacement, "rule": p.rule, "candidate": p.candidate_id,
             "context": "".join(context(dp.old_text, p.start, p.end, 30)[0:1]) + "[" + p.original + " -> "
             + p.replacement + "]" + context(dp.old_text, p.start, p.end, 30)[2]}
            for dp in sorted(plans.values(), key=lambda d: d.name) for p in dp.planned]
    result = ApplyResult(dry_run, None, len(plans), replacements, dict(sorted(by_rule.items())), label_count,
                         skipped, open_left, len(people), len(scrub_updates), {}, diff, needs_review)
    if dry_run:
        return result
    if not plans and not people and not scrub_updates:
        raise InvalidInput("nothing to apply: no accepted candidates (review them, or use --accept-all)")

    # 2. key file: everything identifying, marked pending.
    apply_id = new_apply_id()
    stamp = now()
    remaining = [c for c in key.candidates() if c.id not in used_ids]
    with key.transaction() as conn:
        conn.execute("INSERT INTO applies (id, started, status, reviewer, summary) VALUES (?, ?, 'pending', ?, ?)",
                     [apply_id, stamp, reviewer, json.dumps({"documents": len(plans), "replacements": replacements})])
        for dp in plans.values():
            conn.execute("INSERT INTO originals (apply_id, document_guid, document, text, saved) VALUES (?, ?, ?, ?, ?)",
                         [apply_id, dp.guid, dp.name, dp.old_text, stamp])
            conn.executemany(
                'INSERT INTO log (apply_id, document_guid, document, start, "end", new_start, new_end, original, '
                "replacement, rule, kind, candidate_id, reviewer, reviewed, applied) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(apply_id, dp.guid, dp.name, p.start, p.end, p.new_start, p.new_start + len(p.replacement),
                  p.original, p.replacement, p.rule, p.kind, p.candidate_id, p.reviewer, p.reviewed, stamp)
                 for p in dp.planned])
        conn.executemany("INSERT INTO people (apply_id, participant, label, grp, name, moved) VALUES (?, ?, ?, ?, ?, ?)",
                         [(apply_id, p["guid"], p["label"], p["grp"], p["name"], stamp) for p in people])
        conn.executemany("INSERT INTO scrubbed (apply_id, table_name, row_id, column_name, original) VALUES (?, ?, ?, ?, ?)",
                         [(apply_id, *row) for row in scrub_originals])
        conn.executemany("UPDATE candidates SET pending_apply = ?, pending_start = NULL, pending_end = NULL WHERE id = ?",
                         [(apply_id, i) for i in used_ids])
        moved = []
        guid_plan = {dp.guid: dp for dp in plans.values()}
        for c in remaining:
            dp = guid_plan.get(c.document_guid)
            if dp is None:
                continue
            s, e = dp.emap.span(c.start, c.end)
            moved.append((apply_id, s, e, c.id))
        conn.executemany("UPDATE candidates SET pending_apply = ?, pending_start = ?, pending_end = ? WHERE id = ?", moved)

    # 3. the study, in one transaction.
    summary = {"documents": len(plans), "replacements": replacements, "labels": label_count,
               "participants": len(people), "time": stamp, "by": reviewer}
    try:
        with study.change("anonymise apply",
                          f"anonymised {len(plans)} documents: {replacements} replacements, {label_count} speaker "
                          f"labels, {len(people)} participants' names moved to the key file (apply {apply_id})",
                          reviewer):
            counts = store.rewrite(db, plans, speaker_updates, speaker_delete, speaker_insert, scrub_updates,
                                   audit_fn, hashes, apply_id, summary)
            store.put(db, "terms_max_words", longest)
    except RuntimeError as exc:
        key.abandon_apply(apply_id)
        raise Conflict(f"cannot apply: {exc}") from None
    except BaseException:
        key.abandon_apply(apply_id)
        raise
    # 4. the key's side is final; the scan state now describes the new texts.
    key.finish_apply(apply_id)
    with key.transaction():
        state = key.meta("scan") or {}
        docs = state.get("documents", {})
        for dp in plans.values():
            docs[dp.guid] = text_hash(dp.new_text)
        state["documents"] = docs
        key.set_meta("scan", state)
    # 5. no old page survives — unless another connection holds an old snapshot open.
    result.apply_id = apply_id
    result.anchors = counts
    busy = store.compact(db)
    if busy:
        result.compacted = False
        result.warnings.append(
            f"the study is anonymised, but another connection to {Path(study.path).name} (another qualcode window, "
            f"a notebook, a database browser) is reading it, so the old text is still in the file ({busy}). "
            "Close the other qualcode windows and programs using the study, then run `qualcode anonymise "
            "check` with the key to confirm the file is clean")
    return result
