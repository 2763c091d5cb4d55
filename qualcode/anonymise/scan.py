"""``scan``: find identifiers in every document and store them as candidates in the key file.

Detectors, strongest first (where two overlap the stronger, then the longer, wins):

1. the register, exactly (``register``) — case-insensitive, possessives, whole words;
2. the rules (``email``, ``url``, ``nhs-number``, ``uk-phone``, ``uk-postcode``, ``date``,
   ``age-over-89``);
3. the register, fuzzily (``register-fuzzy``) — misspellings such as ``Sara``, ``Srah``;
4. spaCy NER (``ner-PERSON``, ``ner-GPE`` ...) when a model is installed, and the same entity
   text found again elsewhere (``ner-PERSON-repeat``), in every document scanned, since a model
   rarely tags every mention; names NER found in earlier scans are searched for too.

Speaker labels written in the text (``Sarah Whitfield:``) are not candidates: apply rewrites
them to participant labels. Candidate ids are stable: a candidate found again at the same place
with the same text keeps its id, replacement and review decision.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from qualcode.anonymise import ner as ner_mod
from qualcode.anonymise.keyfile import KeyFile, now
from qualcode.anonymise.labels import label_edits
from qualcode.anonymise.register import (
    DEFAULT_THRESHOLD,
    STOPWORDS,
    Matcher,
    lowercase_vocabulary,
    name_variants,
    terms_from_entries,
    vocabulary_and_words,
)
from qualcode.anonymise.remap import Edit, resolve_overlaps
from qualcode.anonymise.rules import scan_rules
from qualcode.store import anonymise as store
from qualcode.store.speakers import INTERVIEWER_LABELS, UNKNOWN_LABELS
from qualcode.text import context

CONTEXT = 40
PRIORITY = {"register": 1, "rule": 1, "register-fuzzy": 2, "register-lowercase": 2, "ner": 3, "ner-repeat": 4}
# Candidates that --accept-all leaves to the reviewer: lower-case ordinary words that are also
# registered names ("mark it up" / "rang mark").
NEEDS_REVIEW_RULES = ("register-lowercase",)


def detector(rule: str) -> str:
    """The detector a candidate's rule belongs to: ``ner``, ``fuzzy`` or ``always`` (the exact
    register and the pattern rules run in every scan)."""
    if rule.startswith("ner-"):
        return "ner"
    if rule == "register-fuzzy":
        return "fuzzy"
    return "always"



@dataclass
class Found:
    start: int
    end: int
    original: str
    replacement: str
    rule: str
    kind: str
    score: float | None
    entry_id: int | None
    priority: int


@dataclass
class ScanResult:
    documents: int
    words: int
    found: dict[str, int]
    new: int
    kept: int
    removed: int
    labels: int
    model: str | None
    notes: list[str] = field(default_factory=list)
    held: int = 0  # reviewed candidates not found this time, kept with their decision
    not_rescanned: int = 0  # open candidates of a detector that did not run this time, kept
    stale: int = 0  # open candidates their detector did not find again: kept, marked stale
    needs_review: int = 0  # open lower-case candidates (--accept-all leaves them to the reviewer)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_key(study, key_path, create: bool = False) -> KeyFile:
    """Open the key for ``study``: check the path, bind it to the study, finish any half apply."""
    key = KeyFile.open(key_path, study.path, create=create)
    try:
        key.bind(store.study_id(study.db), study.setting("title"))
        reconcile(study, key)
    except BaseException:
        key.close()
        raise
    return key


def reconcile(study, key: KeyFile) -> None:
    """Finish (or forget) an apply that stopped between the key's and the study's commits."""
    done = store.applied_ids(study.db)
    for apply_id in key.pending_applies():
        if apply_id in done:
            key.finish_apply(apply_id)
        else:
            key.abandon_apply(apply_id)


def participant_labels(db) -> dict[str, str]:
    """participant guid -> label."""
    return {p["guid"]: p["label"] for p in store.participants(db)}


INTERVIEWER_REPLACEMENT = "[interviewer]"
SPEAKER_REPLACEMENT = "[name]"
# Words that make a speaker label a role, not a person's name ("Respondent", "Unknown Speaker").
ROLE_WORDS = frozenset("""
respondent respondents participant participants patient patients interviewee interviewees interviewer
interviewers moderator facilitator researcher researchers speaker speakers unknown host guest chair
audience everyone all group both several others other crosstalk inaudible unclear narrator translator
interpreter staff student carer client member members voice voices male female man woman child note
""".split())


def sync_participants(study, key: KeyFile) -> int:
    """Feed the register from the study: participants' real names (and the name-like speaker
    labels mapped to them, replaced by ``[name of P1]``), and the speaker labels that name
    someone who is not a participant: interviewers (``Amira Haddad`` -> ``[interviewer]``) and
    other or not yet mapped speakers (-> ``[name]``). An entry the register already has keeps
    its replacement; the labels are added to it as variants."""
    speakers = store.speaker_labels_by_participant(study.db)
    version = key.register_version()
    with key.transaction():
        for p in store.participants(study.db):
            labels = {s for s in speakers.get(p["id"], ()) if _name_like(s, p["label"])}
            if not p["name"] and not labels:
                continue
            name = p["name"] or sorted(labels, key=len)[-1]
            variants = name_variants(name) + [(s, "speaker", True, "auto") for s in sorted(labels) if s != name]
            key.add_entry(name, None, "person", "participant", participant=p["guid"], variants=variants)
        participant_labels_ = {p["label"].lower() for p in store.participants(study.db)}
        others: dict[str, str | None] = {}
        for label, role in store.non_participant_speakers(study.db):
            if label.strip().lower() in participant_labels_ or not person_label(label):
                continue
            if others.get(label) != "interviewer":
                others[label] = role
        # Longest first, so that "Amira" joins the entry "Amira Haddad" made before it.
        for label in sorted(others, key=lambda x: (-len(x), x)):
            role = others[label]
            name = _clean_label(label)
            terms = name_variants(name)
            parts = name.split()
            if len(parts) >= 2 and parts[0].rstrip(".").lower() in _TITLES and len(parts) == 2:
                terms.append((parts[1], "last", True, "auto"))  # "Dr Okafor" -> Okafor
            terms += [(t, "speaker", True, "auto") for t in {label.strip()} if t != name]
            existing = key.find_entry(name=name)
            wanted = INTERVIEWER_REPLACEMENT if role == "interviewer" else SPEAKER_REPLACEMENT
            replacement = wanted
            if existing is not None:
                entry = key.entry(existing)
                # Only an entry this sync made follows the speaker's role (mapped to interviewer
                # since); a replacement someone chose stays.
                # [name] becomes [interviewer], never the other way round.
                replacement = wanted if (entry.source == "speaker" and entry.replacement == SPEAKER_REPLACEMENT
                                         and wanted == INTERVIEWER_REPLACEMENT) else None
            key.add_entry(name, replacement, "person", "speaker", variants=terms)
    return key.register_version() - version


def unmapped_person_labels(db) -> list[str]:
    """Speaker labels that name a person but belong to no participant and have no role."""
    participants_ = {p["label"].lower() for p in store.participants(db)}
    return sorted({label for label, role in store.non_participant_speakers(db)
                   if role is None and label.strip().lower() not in participants_ and person_label(label)})


_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev", "nurse", "sister"}


def _clean_label(label: str) -> str:
    """``Amira Haddad (Northmoor Uni)`` -> ``Amira Haddad``."""
    return " ".join(re.sub(r"\(.*?\)|\[.*?\]", " ", label).split()).strip(" ,.-:")


def person_label(label: str) -> bool:
    """Does a speaker label name a person (``Amira Haddad``, ``Amira``, ``Dr Okafor``), rather
    than a role or a code (``I``, ``Interviewer 2``, ``Unknown Speaker``, ``P9``, ``Respondent``)?"""
    raw = label.strip()
    if INTERVIEWER_LABELS.match(raw) or UNKNOWN_LABELS.match(raw):
        return False
    name = _clean_label(raw)
    words = name.split()
    if not words or len(words) > 4 or any(ch.isdigit() for ch in name) or len(name) < 3:
        return False
    for w in words:
        bare = w.strip(".,'’-")
        if not bare or not bare[0].isupper() or bare.lower() in ROLE_WORDS or bare.lower() in STOPWORDS:
            if bare.lower().rstrip(".") in _TITLES:
                continue
            return False
    return any(w.strip(".").lower() not in _TITLES for w in words)


def _name_like(label: str, participant_label: str) -> bool:
    label = label.strip()
    return (len(label) >= 3 and label.lower() != participant_label.lower()
            and not INTERVIEWER_LABELS.match(label) and not UNKNOWN_LABELS.match(label)
            and not re.fullmatch(r"[A-Z]{1,4}\d+", label) and any(c.isalpha() for c in label))


def build_matcher(study, key: KeyFile, texts: list[str] | None = None,
                  threshold: float | None = DEFAULT_THRESHOLD, remember: bool = False,
                  lower: set[str] | None = None) -> tuple[Matcher, set[str]]:
    """The register's matcher, built once for a whole scan. ``lower`` is the texts' lower-case
    vocabulary when the caller has it already (else it is read from ``texts``)."""
    if texts is not None and lower is None:
        lower = lowercase_vocabulary(texts)
    resolved = None if texts is not None else key.resolved_case()
    terms, modes = terms_from_entries(key.entries(), participant_labels(study.db), lower, resolved)
    if remember:
        with key.transaction():
            key.set_case_modes(modes)
    return Matcher(terms, threshold), (lower or set())


_BRACKETED = re.compile(r"\[[^\[\]\n]{0,200}\]")


class ReplacementZones:
    """Where a text already holds a replacement (``[name of P1]``): never a candidate again.

    Built once per scan: most replacements are bracketed, found by one small pattern and looked
    up in a set; the few others (``Interviewer``, a pseudonym a reviewer typed) share one
    alternation. Overlapping zones are merged."""

    def __init__(self, replacements: set[str]) -> None:
        self.bracketed = {r for r in replacements if _BRACKETED.fullmatch(r)}
        others = sorted(replacements - self.bracketed, key=len, reverse=True)
        self._others = re.compile("|".join(re.escape(r) for r in others)) if others else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = []
        if self.bracketed and "[" in text:
            found += [m.span() for m in _BRACKETED.finditer(text) if m.group(0) in self.bracketed]
        if self._others is not None:
            found += [m.span() for m in self._others.finditer(text)]
        found.sort()
        merged: list[tuple[int, int]] = []
        for s, e in found:
            if merged and s < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        return merged


def scan(study, key: KeyFile, *, documents: list[str] | None = None, model: str | None = None,
         use_ner: bool = True, threshold: float | None = DEFAULT_THRESHOLD, n_process: int = 1,
         batch_size: int = 16, progress: Callable[[int, int], None] | None = None) -> ScanResult:
    db = study.db
    sync_participants(study, key)
    unmapped = unmapped_person_labels(db)
    docs = store.documents(db, documents)
    if documents is not None:
        missing = {d.lower() for d in documents} - {d["name"].lower() for d in docs}
        if missing:
            from qualcode.errors import NotFound

            raise NotFound(f"unknown document {sorted(missing)[0]!r}")
    texts = [d["text"] for d in docs]
    all_texts = texts if documents is None else [d["text"] for d in store.documents(db)]
    lower, word_counts = vocabulary_and_words(all_texts)
    if documents is not None:
        word_counts = [len(t.split()) for t in texts]
    matcher, lower = build_matcher(study, key, all_texts, threshold, remember=True, lower=lower)
    labels = label_edits(db)
    notes: list[str] = []
    model_name = None
    entities: list[list[ner_mod.Entity]] = [[] for _ in docs]
    if use_ner:
        choice = ner_mod.choose_model(model, store.get(db, "ner_model"))
        if choice.name is not None:
            nlp = ner_mod.load(choice.name)
            if nlp is None:
                notes.append(f"spaCy model {choice.name!r} could not be loaded: scanning with the register and rules only")
            else:
                model_name = choice.name
                entities = ner_mod.entities(nlp, texts, batch_size=batch_size, n_process=n_process,
                                            progress=progress)
        elif choice.note:
            notes.append(choice.note)
    else:
        notes.append("NER is off: scanning with the register and rules only")
    if unmapped:
        shown = ", ".join(unmapped[:5]) + (f" and {len(unmapped) - 5} more" if len(unmapped) > 5 else "")
        notes.append(f"{len(unmapped)} speaker label(s) that name someone are mapped to no participant or role "
                     f"({shown}): they are in the register as [name], so apply replaces them in the text too. "
                     "Map them first (`qualcode speakers map STUDY LABEL P3|interviewer`) to keep them apart")

    replacements = {t.replacement for t in matcher.terms} | {r[0] for r in key.conn.execute(
        "SELECT DISTINCT replacement FROM log UNION SELECT DISTINCT replacement FROM candidates")}
    replacements |= {"[name]", "[place]", "[date]", "[phone]", "[email]", "[postcode]", "[URL]",
                     "[NHS number]", "[hospital]", "[organisation]", "[age 90 or over]", "Interviewer"}
    zones = ReplacementZones(replacements)
    participant_label_set = {p["label"].lower() for p in store.participants(db)}

    # NER: trim each entity, give every mention of one text the kind most mentions have, and
    # find the mentions the model missed.
    ner_by_doc: list[list[tuple[int, int, str, str]]] = []
    votes: dict[str, Counter] = {}
    for doc, ents in zip(docs, entities):
        text = doc["text"]
        kept_ents = []
        for e in ents:
            k = ner_mod.kind_of(e.label, e.text, lower)
            if k is None:
                continue
            s, t_end = ner_mod.trim(text, e.start, e.end)
            piece = text[s:t_end]
            if s >= t_end or piece.lower() in participant_label_set or "[" in piece or "]" in piece:
                continue
            kept_ents.append((s, t_end, piece, e.label))
            votes.setdefault(piece, Counter())[(e.label, *k)] += 1
        ner_by_doc.append(kept_ents)
    majority = {piece: c.most_common(1)[0][0] for piece, c in votes.items()}
    # Names NER found in earlier scans (of other documents, or with a model this scan does not
    # run) are searched for here too: a name tagged in one document is a name in every document.
    for piece, kind, replacement in key.conn.execute(
            "SELECT original, kind, max(proposed) FROM candidates WHERE rule LIKE 'ner-PERSON%' "
            "AND status != 'rejected' GROUP BY original, kind"):
        if piece not in majority and piece.lower() not in participant_label_set and "[" not in piece:
            majority[piece] = ("PERSON", kind, replacement)
    repeat_texts = {t: v for t, v in majority.items()
                    if len(t) >= 3 and v[0] != "DATE" and t.lower() not in STOPWORDS}
    repeat_re = (re.compile(r"(?<![\w@])(?:" + "|".join(re.escape(t) for t in sorted(repeat_texts, key=len, reverse=True))
                            + r")(?![\w@])") if repeat_texts else None)

    found_by_doc: dict[str, list[Found]] = {}
    counts: Counter = Counter()
    words = 0
    for i, doc in enumerate(docs):
        text = doc["text"]
        words += word_counts[i]
        items: list[Found] = []
        name_matches = matcher.find(text, lower)
        for m in name_matches:
            rule = "register" if m.how == "exact" else "register-fuzzy"
            if m.generic or matcher.is_ambiguous(m, text):  # somebody else, or whose name is unclear
                items.append(Found(m.start, m.end, text[m.start:m.end], "[name]", rule, "name", m.score, None,
                                   PRIORITY[rule]))
            else:
                items.append(Found(m.start, m.end, text[m.start:m.end], m.term.replacement, rule, m.term.kind,
                                   m.score, m.term.entry_id, PRIORITY[rule]))
        for m in matcher.lowercase(text, [(m.start, m.end) for m in name_matches]):
            shared = matcher.is_ambiguous(m, text)
            items.append(Found(m.start, m.end, text[m.start:m.end], "[name]" if shared else m.term.replacement,
                               "register-lowercase", m.term.kind, m.score, None if shared else m.term.entry_id,
                               PRIORITY["register-lowercase"]))
        for h in scan_rules(text):
            items.append(Found(h.start, h.end, text[h.start:h.end], h.replacement, h.rule, h.kind, None, None,
                               PRIORITY["rule"]))
        seen_ner: set[tuple[int, int]] = set()
        for s, t_end, piece, _label in ner_by_doc[i]:
            label, kind, repl = majority[piece]
            seen_ner.add((s, t_end))
            items.append(Found(s, t_end, piece, repl, f"ner-{label}", kind, None, None, PRIORITY["ner"]))
        if repeat_re is not None:
            for m in repeat_re.finditer(text):
                if m.span() in seen_ner:
                    continue
                label, kind, repl = repeat_texts[m.group(0)]
                items.append(Found(m.start(), m.end(), m.group(0), repl, f"ner-{label}-repeat", kind, None, None,
                                   PRIORITY["ner-repeat"]))
        # Speaker labels that apply will rewrite, and replacements already in the text, are off limits.
        blocked = [(le.start, le.end) for le in labels.get(doc["id"], []) if le.start is not None]
        blocked += zones.spans(text)
        pairs = [(0, Edit(s, e, "x")) for s, e in blocked] + [(f.priority, Edit(f.start, f.end, "x")) for f in items]
        _kept, dropped = resolve_overlaps(pairs)
        dropped_set = set(dropped)
        kept_items = [f for i, f in enumerate(items) if (i + len(blocked)) not in dropped_set]
        for f in kept_items:
            counts[f.rule] += 1
        found_by_doc[doc["guid"]] = kept_items

    ran = {"always"} | ({"fuzzy"} if threshold is not None else set()) | ({"ner"} if model_name else set())
    stored = _store(key, docs, found_by_doc, ran)
    new, kept, removed = stored["new"], stored["kept"], stored["removed"]
    scan_state = key.meta("scan") or {}
    hashes = dict(scan_state.get("documents", {}))
    for d in docs:
        hashes[d["guid"]] = text_hash(d["text"])
    live = {d["guid"] for d in store.documents(db)}
    hashes = {g: h for g, h in hashes.items() if g in live}
    with key.transaction():
        key.set_meta("scan", {"register_version": key.register_version(), "documents": hashes,
                              "model": model_name, "time": now(), "threshold": threshold})
    needs_review = key.conn.execute(
        f"SELECT count(*) FROM candidates WHERE status = 'open' AND rule IN ({', '.join('?' for _ in NEEDS_REVIEW_RULES)})",
        NEEDS_REVIEW_RULES).fetchone()[0]
    return ScanResult(len(docs), words, dict(sorted(counts.items())), new, kept, removed,
                      sum(len(v) for v in labels.values()), model_name, notes, stored["held"],
                      stored["not_rescanned"], stored["stale"], needs_review)


def _store(key: KeyFile, docs: list[dict[str, Any]], found_by_doc: dict[str, list[Found]],
           ran: set[str] = frozenset({"always", "fuzzy", "ner"})) -> dict[str, int]:
    """Write the candidates in one transaction. A candidate found again (same place, same text)
    keeps its id and review (and stops being stale); new ones are inserted in reading order.
    A candidate not found this time is

    - kept with its decision when it was reviewed (accepted, rejected or edited): a rescan with
      other detectors (``--no-ner``) or another threshold never throws a decision away;
    - kept as it is when it is open and its detector did not run (``ner`` under ``--no-ner``);
    - kept and marked *stale* when it is open and its detector ran but did not find it again
      (``--accept-all`` leaves stale candidates alone; a reviewer can still accept them);
    - deleted only when it is open and its text no longer stands at its place."""
    stamp = now()
    text_of = {d["guid"]: d for d in docs}
    updates: list[list[Any]] = []
    inserts: list[list[Any]] = []
    gone: list[tuple[int]] = []
    stale: list[tuple[int]] = []
    held = not_rescanned = 0
    for guid, items in found_by_doc.items():
        doc = text_of[guid]
        existing = {(r["start"], r["end"], r["original"]): r for r in key.rows(
            'SELECT id, start, "end", original, edited, status, rule FROM candidates WHERE document_guid = ? '
            "AND pending_apply IS NULL", [guid])}
        seen = set()
        for f in items:
            left, _m, right = context(doc["text"], f.start, f.end, CONTEXT)
            k = (f.start, f.end, f.original)
            if k in existing:
                seen.add(k)
                updates.append([doc["name"], f.replacement, f.rule, f.kind, f.score, f.entry_id, left, right, stamp,
                                f.replacement, existing[k]["id"]])
            else:
                inserts.append([guid, doc["name"], f.start, f.end, f.original, f.replacement, f.replacement, f.rule,
                                f.kind, f.score, f.entry_id, left, right, stamp])
        for k, r in existing.items():
            if k in seen:
                continue
            if r["status"] != "open" or r["edited"]:
                held += 1
            elif doc["text"][r["start"]:r["end"]] != r["original"]:
                gone.append((r["id"],))
            elif detector(r["rule"]) not in ran:
                not_rescanned += 1
            else:
                stale.append((r["id"],))
    with key.transaction() as conn:
        conn.executemany(
            "UPDATE candidates SET document = ?, proposed = ?, rule = ?, kind = ?, score = ?, entry_id = ?, "
            "left_context = ?, right_context = ?, scanned = ?, stale = 0, "
            "replacement = CASE WHEN edited THEN replacement ELSE ? END WHERE id = ?", updates)
        conn.executemany(
            'INSERT INTO candidates (document_guid, document, start, "end", original, replacement, proposed, '
            "rule, kind, score, entry_id, left_context, right_context, scanned) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
        conn.executemany("DELETE FROM candidates WHERE id = ?", gone)
        conn.executemany("UPDATE candidates SET stale = 1 WHERE id = ?", stale)
    return {"new": len(inserts), "kept": len(updates), "removed": len(gone), "held": held,
            "not_rescanned": not_rescanned, "stale": len(stale)}
