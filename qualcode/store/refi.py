"""The study <-> REFI-QDA hand-off: an ``Exchange`` of plain records that carry GUIDs.

The exporter (``exporters/refi_qda.py``) turns ``snapshot(study)`` into QDA-XML; the importer
(``importers/refi_qda.py``) turns a .qdpx/.qdc into an ``Exchange`` and ``load`` writes it into a
study with the file's GUIDs kept, in one change. Neither adapter writes SQL: it lives here.

Mapping (documented for users in ``qualcode export qdpx --help`` and the report):

* coders -> ``Users``; codes -> nested ``Code`` (all ``isCodable="true"``: qualcode codes parents
  too); include/exclude/example/status ride in the ``Description`` as labelled paragraphs
  (``Include when: ...``) and are read back from any producer.
* participants -> ``Cases`` with typed ``VariableValue`` s (``group`` is a Text variable); real names
  are never exported. Document metadata -> ``VariableValue`` s on the ``TextSource``.
* memos -> ``Notes``: study memos by the Project's ``NoteRef``, document/passage/code/coding memos by
  the ``NoteRef`` of that element, participant memos by a ``Link`` (a ``Case`` has no NoteRef),
  theme memos by the theme Set's ``MemberNote``; a coding's own memo is a Note named ``Coding memo``
  whose GUID is derived from the coding's (``coding_memo_guid``): that GUID, not the title, tells
  it from a user's memo on the coding when the file comes back.
* the reflexive journal -> Notes gathered in the Set ``Reflexive journal``.
* speaker turns and caption times -> ``qualcode/turns/<document GUID>.json`` in the .qdpx (qualcode's
  own; the XML has no place for them in a TextSource), with the SHA-256 of the text they index and
  the document's source format; speaker mappings -> ``Speaker <label>: <participant>`` lines of the
  TextSource's ``Description``.
* themes -> one ``Set`` of codes per theme or subtheme, named ``Theme: <Theme/Subtheme>`` (a code
  may serve several themes, which a code tree cannot say); central organising concept, definition,
  status and colour as labelled paragraphs of its ``Description``; theme memos as ``MemberNote`` s.
  Key quotes are not exported (a Set cannot hold codings). On import, qualcode's own theme Sets
  come back as themes and any other Set of codes (an ATLAS.ti code group ...) as a candidate theme;
  Sets of sources become a ``groups`` entry (and ``name: value`` metadata) of their documents.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qualcode.errors import InvalidInput
from qualcode.store.changes import now
from qualcode.store.codes import PALETTE
from qualcode.store.participants import TYPES, convert, label_prefix
from qualcode.store.speakers import relink_turns
from qualcode.text import is_canonical
from qualcode.transcript import ParsedTranscript, ParsedTurn

if TYPE_CHECKING:
    from qualcode.study import Study

# Stable GUIDs for things a study stores without one (selections, journal entries, variables).
NAMESPACE = uuid.UUID("54771110-e73c-4d59-80af-48f6a76d1ba0")
GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
JOURNAL_SET = "Reflexive journal"
THEME_PREFIX = "Theme: "
CODING_MEMO = "Coding memo"
# qualcode's own data beside the standard's: one JSON file per document with its speaker turns and
# caption times (the standard has SyncPoints only inside audio/video sources). Other tools ignore
# it; qualcode uses it only while it matches the document's text.
TURNS_FOLDER = "qualcode/turns/"
TURNS_FORMAT = "qualcode-turns-1"
DEFINITION_LABELS = (("include_when", "Include when"), ("exclude_when", "Exclude when"),
                     ("example", "Example"), ("status", "Status"))


def derived_guid(*parts: Any) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def coding_memo_guid(coding_guid: str) -> str:
    """The GUID of the Note that carries a coding's own memo field: derived from the coding's
    GUID, so the importer tells it from a user's memo on the coding (whatever either is titled)."""
    return derived_guid("coding-memo", (normalise_guid(coding_guid) or coding_guid).lower())


def normalise_guid(value: str | None) -> str | None:
    """``{ABCD...}`` -> ``abcd...``; ``None`` for anything that is not a GUID."""
    if value is None:
        return None
    m = GUID.match(value.strip())
    return m.group(1).lower() if m else None


def compose_description(code: "XCode") -> str:
    parts = [code.description.strip()] if code.description.strip() else []
    for key, label in DEFINITION_LABELS:
        value = (getattr(code, key) or "").strip()
        if key == "status" and value in ("", "active"):
            continue
        if value:
            parts.append(f"{label}: {value}")
    return "\n\n".join(parts)


def split_description(text: str | None) -> dict[str, str]:
    """Read ``compose_description`` back: {'description': ..., 'include_when': ...}."""
    fields = {"description": "", "include_when": "", "exclude_when": "", "example": "", "status": ""}
    if not text:
        return fields
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    labels = {label.casefold(): key for key, label in DEFINITION_LABELS}
    current = "description"
    collected: dict[str, list[str]] = {k: [] for k in fields}
    for block in blocks:
        head, sep, rest = block.partition(":")
        key = labels.get(head.strip().casefold()) if sep and "\n" not in head else None
        if key is not None:
            current = key
            collected[key].append(rest.strip())
        else:
            collected[current].append(block.strip())
    return {k: "\n\n".join(v for v in vs if v) for k, vs in collected.items()}


THEME_LABELS = (("concept", "Central organising concept"), ("definition", "Definition"),
                ("status", "Status"), ("colour", "Colour"))


def compose_theme_description(theme: "XTheme") -> str:
    parts = []
    for key, label in THEME_LABELS:
        value = (getattr(theme, key) or "").strip()
        if value:
            parts.append(f"{label}: {value}")
    return "\n\n".join(parts)


def split_theme_description(text: str | None) -> dict[str, str]:
    """Read ``compose_theme_description`` back; unlabelled text is the definition."""
    out = {key: "" for key, _ in THEME_LABELS}
    if not text:
        return out
    labels = {label.casefold(): key for key, label in THEME_LABELS}
    current = "definition"
    collected: dict[str, list[str]] = {k: [] for k in out}
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        head, sep, rest = block.partition(":")
        key = labels.get(head.strip().casefold()) if sep and "\n" not in head else None
        if key is not None:
            current = key
            collected[key].append(rest.strip())
        else:
            collected[current].append(block.strip())
    return {k: "\n\n".join(v for v in vs if v) for k, vs in collected.items()}


# -- the exchange records ----------------------------------------------------------------------
@dataclass
class XUser:
    guid: str
    name: str
    kind: str = "coder"
    created: str | None = None


@dataclass
class XCode:
    guid: str
    name: str
    parent: str | None = None          # parent code GUID
    colour: str | None = None          # #RRGGBB or None (a palette colour is chosen on load)
    description: str = ""
    include_when: str = ""
    exclude_when: str = ""
    example: str = ""
    status: str = "active"
    codable: bool = True
    created: str | None = None


@dataclass
class XVariable:
    guid: str
    name: str
    type: str                           # text | integer | float | boolean | date
    scope: str = "case"                 # case (participant attribute) | source (document metadata)
    description: str = ""
    derived_from: str | None = None
    bands: dict[str, Any] | None = None


@dataclass
class XCase:
    guid: str
    label: str
    group: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)   # variable name -> typed value
    sources: list[str] = field(default_factory=list)            # document GUIDs


@dataclass
class XSource:
    guid: str
    name: str
    text: str                           # canonical text
    source_name: str = ""
    sha256: str = ""
    format: str = "refi-qdpx"
    encoding: str = "utf-8"
    metadata: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    turns: list[ParsedTurn] | None = None


@dataclass
class XCoding:
    guid: str
    source: str                         # document GUID
    code: str                           # code GUID
    user: str | None                    # coder GUID
    start: int
    end: int
    created: str | None = None
    memo: str = ""


@dataclass
class XNote:
    guid: str
    body: str
    title: str = ""
    user: str | None = None
    created: str | None = None
    updated: str | None = None
    target_type: str = "study"          # study | document | passage | code | coding | participant | theme
    target: str | None = None           # GUID of the target (document GUID for passages)
    start: int | None = None
    end: int | None = None


@dataclass
class XJournal:
    guid: str
    user: str
    entry_date: str
    body: str
    phase: int | None = None
    created: str | None = None


@dataclass
class XTheme:
    guid: str
    name: str
    parent: str | None = None          # parent theme GUID (a subtheme)
    status: str = "candidate"          # candidate | active | discarded
    concept: str = ""                  # central organising concept
    definition: str = ""
    colour: str | None = None
    codes: list[str] = field(default_factory=list)   # code GUIDs
    path: str = ""                     # "Theme/Subtheme", for Set names and messages


@dataclass
class Exchange:
    title: str = "Imported study"
    created: str | None = None
    origin: str = ""
    approach: str | None = None
    phase: int | None = None
    users: list[XUser] = field(default_factory=list)
    codes: list[XCode] = field(default_factory=list)
    variables: list[XVariable] = field(default_factory=list)
    cases: list[XCase] = field(default_factory=list)
    sources: list[XSource] = field(default_factory=list)
    codings: list[XCoding] = field(default_factory=list)
    notes: list[XNote] = field(default_factory=list)
    journal: list[XJournal] = field(default_factory=list)
    themes: list[XTheme] = field(default_factory=list)
    # speaker label -> participant per source: (source GUID, label, role, case GUID or None)
    speakers: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What an import or export did: counts, what was skipped and why, how positions were read."""

    file: str = ""
    origin: str = ""
    imported: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)      # reason -> count
    examples: dict[str, str] = field(default_factory=dict)     # reason -> first example
    warnings: list[str] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def skip(self, reason: str, example: str = "") -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if example and reason not in self.examples:
            self.examples[reason] = example

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def count(self, what: str, n: int = 1) -> None:
        self.imported[what] = self.imported.get(what, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "origin": self.origin, "imported": dict(self.imported),
            "skipped": [{"reason": r, "count": n, "example": self.examples.get(r, "")}
                        for r, n in self.skipped.items()],
            "positions": self.positions, "warnings": self.warnings, "conflicts": self.conflicts,
        }


# -- reading a study ---------------------------------------------------------------------------
def _rows(db, sql: str, params: list[Any] | tuple = ()) -> list[dict[str, Any]]:
    cur = db.execute(sql, list(params))
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def snapshot(study: "Study") -> Exchange:
    """Everything a REFI-QDA export carries, with the GUIDs stored in the study."""
    db = study.db
    settings = study.settings()
    ex = Exchange(title=str(settings.get("title") or study.path.stem), created=settings.get("created"),
                  origin="qualcode", approach=settings.get("approach"), phase=settings.get("phase"))
    coders = _rows(db, "SELECT id, name, kind, created, guid FROM coders ORDER BY name COLLATE NOCASE, id")
    coder_guid = {r["id"]: r["guid"] for r in coders}
    ex.users = [XUser(r["guid"], r["name"], r["kind"], r["created"]) for r in coders]

    codes = _rows(db, "SELECT * FROM codes ORDER BY id")
    code_guid = {r["id"]: r["guid"] for r in codes}
    ex.codes = [XCode(guid=r["guid"], name=r["name"], parent=code_guid.get(r["parent_id"]), colour=r["colour"],
                      description=r["description"], include_when=r["include_when"],
                      exclude_when=r["exclude_when"], example=r["example"], status=r["status"],
                      created=r["created"]) for r in codes]

    for r in _rows(db, "SELECT * FROM variables ORDER BY id"):
        ex.variables.append(XVariable(guid=r["guid"], name=r["name"], type=r["type"], scope="case",
                                      derived_from=r["derived_from"],
                                      bands=json.loads(r["bands"]) if r["bands"] else None))
    docs = _rows(db, "SELECT * FROM documents ORDER BY name COLLATE NOCASE, id")
    doc_guid = {r["id"]: r["guid"] for r in docs}
    sources_of: dict[int, list[str]] = {}
    for pid, did in db.execute("SELECT DISTINCT participant_id, document_id FROM turns "
                               "WHERE participant_id IS NOT NULL").fetchall():
        sources_of.setdefault(pid, []).append(doc_guid[did])
    participants = _rows(db, "SELECT * FROM participants ORDER BY id")
    participant_guid = {r["id"]: r["guid"] for r in participants}
    for r in participants:
        ex.cases.append(XCase(guid=r["guid"], label=r["label"], group=r["grp"],
                              attributes=json.loads(r["attributes"]),
                              sources=sorted(set(sources_of.get(r["id"], [])))))
    for r in docs:
        ex.sources.append(XSource(guid=r["guid"], name=r["name"], text=r["text"], source_name=r["source_name"],
                                  sha256=r["sha256"], format=r["format"], encoding=r["encoding"],
                                  metadata=json.loads(r["metadata"]), created=r["imported"]))
    turns_of: dict[int, list[ParsedTurn]] = {}
    for doc_id, start, end, speaker, start_ms, end_ms in db.execute(
            'SELECT document_id, start, "end", speaker, start_ms, end_ms FROM turns ORDER BY document_id, seq, id'):
        turns_of.setdefault(doc_id, []).append(ParsedTurn(start, end, speaker, start_ms, end_ms))
    for r, source in zip(docs, ex.sources):
        source.turns = turns_of.get(r["id"])
    guid_by_name = {r["name"]: r["guid"] for r in docs}
    case_by_label = {r["label"]: r["guid"] for r in participants}
    for r in study.speakers.list():
        role = r["role"] or ("participant" if r["participant"] else None)
        if role is not None:
            ex.speakers.append((guid_by_name[r["document"]], r["speaker"], role,
                                case_by_label.get(r["participant"]) if r["participant"] else None))

    codings = _rows(db, 'SELECT id, document_id, code_id, coder_id, start, "end", memo, created, guid '
                        "FROM codings ORDER BY document_id, start, \"end\", id")
    coding_guid = {r["id"]: r["guid"] for r in codings}
    for r in codings:
        ex.codings.append(XCoding(guid=r["guid"], source=doc_guid[r["document_id"]], code=code_guid[r["code_id"]],
                                  user=coder_guid.get(r["coder_id"]), start=r["start"], end=r["end"],
                                  created=r["created"], memo=r["memo"]))

    themes = _theme_rows(db)
    theme_guid = {t["id"]: t["guid"] for t in themes}
    for r in _rows(db, "SELECT * FROM memos ORDER BY id"):
        kind, tid = r["target_type"], r["target_id"]
        target = {
            "document": doc_guid.get(r["document_id"]), "passage": doc_guid.get(r["document_id"]),
            "code": code_guid.get(tid), "coding": coding_guid.get(tid),
            "participant": participant_guid.get(tid), "theme": theme_guid.get(tid),
        }.get(kind)
        if kind != "study" and target is None:
            kind = "study"  # the target is gone; keep the memo on the study rather than lose it
        ex.notes.append(XNote(guid=r["guid"], body=r["body"], title=r["title"], user=coder_guid.get(r["coder_id"]),
                              created=r["created"], updated=r["updated"], target_type=kind, target=target,
                              start=r["start"], end=r["end"]))
    for r in _rows(db, "SELECT * FROM journal ORDER BY entry_date, id"):
        ex.journal.append(XJournal(guid=derived_guid("journal", coder_guid[r["coder_id"]], r["id"], r["created"]),
                                   user=coder_guid[r["coder_id"]], entry_date=r["entry_date"], body=r["body"],
                                   phase=r["phase"], created=r["created"]))
    ex.themes = [XTheme(guid=t["guid"], name=t["name"], parent=theme_guid.get(t["parent_id"]),
                        status=t["status"], concept=t["concept"], definition=t["definition"],
                        colour=t["colour"], codes=t["codes"], path=t["path"]) for t in themes]
    return ex


def _has_table(db, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def _theme_rows(db) -> list[dict[str, Any]]:
    """Themes with their paths and the GUIDs of the (live) codes they gather."""
    if not _has_table(db, "themes"):
        return []
    rows = _rows(db, "SELECT * FROM themes ORDER BY id")
    members: dict[int, list[str]] = {}
    for tid, guid in db.execute("SELECT tc.theme_id, c.guid FROM theme_codes tc JOIN codes c ON c.id = tc.code_id "
                                "AND c.guid = tc.code_guid ORDER BY tc.position, tc.id"):
        members.setdefault(tid, []).append(guid)
    by_id = {r["id"]: r for r in rows}

    def path(r: dict[str, Any], depth: int = 0) -> str:
        parent = by_id.get(r["parent_id"]) if depth < 100 else None
        return r["name"] if parent is None else path(parent, depth + 1) + "/" + r["name"]

    return [{**r, "path": path(r), "codes": members.get(r["id"], [])} for r in rows]


def forget_if_empty(db, ch) -> None:
    """Drop the ``changes`` row of a change that recorded no row operation: a command that
    changed nothing leaves no entry in the history (and ``undo`` has nothing to revert).
    Call it at the end of the outermost change, inside its transaction."""
    if ch.count == 0 and not db.execute("SELECT 1 FROM audit WHERE change_id = ? LIMIT 1", [ch.id]).fetchone():
        db.execute("DELETE FROM changes WHERE id = ?", [ch.id])


def checkpoint(study: "Study") -> None:
    """Fold the write-ahead log into the study file (before it is renamed into place)."""
    study.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# -- writing an exchange into a study ----------------------------------------------------------
def _free_guid(db, table: str, guid: str | None, *key: Any) -> str:
    """The GUID if it is unused in ``table``, else a stable one derived from it."""
    candidate = guid or derived_guid(table, *key)
    n = 0
    while db.execute(f"SELECT 1 FROM {table} WHERE guid = ?", [candidate]).fetchone():
        n += 1
        candidate = derived_guid(table, guid, n, *key)
    return candidate


def _stamp(value: str | None) -> str:
    return value or now()


def load(study: "Study", ex: Exchange, report: Report, command: str = "import-qdpx",
         summary: str | None = None) -> dict[str, dict[str, int]]:
    """Write ``ex`` into ``study`` (normally a new, empty one) in one change; fill ``report``.

    The importer has already made names valid (unique coder names, code names without ``/``,
    participant labels) and offsets code points into canonical text. Returns id maps by GUID.
    """
    db = study.db
    ids: dict[str, dict[str, int]] = {"users": {}, "codes": {}, "sources": {}, "cases": {}, "codings": {},
                                      "themes": {}}
    with study.change(command, summary or f"import {report.file or 'REFI-QDA project'}") as ch:
        settings: dict[str, Any] = {"title": ex.title or "Imported study"}
        if ex.approach in ("reflexive", "codebook", "coding-reliability"):
            settings["approach"] = ex.approach
        if isinstance(ex.phase, int) and 1 <= ex.phase <= 6:
            settings["phase"] = ex.phase
        study.configure(**settings)
        if ex.created:
            row = db.execute("SELECT id FROM project WHERE key = 'created'").fetchone()
            if row:
                ch.update("project", row[0], {"value": json.dumps(ex.created)})

        for u in ex.users:
            existing = db.execute("SELECT id, guid FROM coders WHERE name = ?", [u.name]).fetchone()
            if existing:
                ids["users"][u.guid] = existing[0]
                continue
            kind = "consensus" if u.kind == "consensus" or u.name.casefold() == "consensus" else "coder"
            ids["users"][u.guid] = ch.insert("coders", {
                "name": u.name, "kind": kind, "created": _stamp(u.created),
                "guid": _free_guid(db, "coders", u.guid, u.name)})
            report.count("coders")

        declared: dict[str, str] = {}
        for v in ex.variables:
            if v.scope != "case":
                continue
            if v.type not in TYPES:
                raise InvalidInput(f"variable {v.name!r} has unknown type {v.type!r}")
            if v.name.casefold() in {d.casefold() for d in declared}:
                continue
            ch.insert("variables", {"name": v.name, "type": "text" if v.derived_from else v.type,
                                    "derived_from": v.derived_from,
                                    "bands": json.dumps(v.bands) if v.bands else None,
                                    "guid": _free_guid(db, "variables", v.guid, v.name)})
            declared[v.name] = "text" if v.derived_from else v.type
            report.count("variables")
        for c in ex.cases:
            attrs: dict[str, Any] = {}
            for name, value in c.attributes.items():
                type_ = declared.get(name)
                if type_ is None:
                    type_ = "text"
                    ch.insert("variables", {"name": name, "type": "text",
                                            "guid": _free_guid(db, "variables", None, name)})
                    declared[name] = type_
                    report.count("variables")
                try:
                    converted = convert(value, type_, name)
                except InvalidInput as exc:
                    report.warn(f"case {c.label}: {exc}; kept as text")
                    converted = str(value)
                if converted is not None:
                    attrs[name] = converted
            ids["cases"][c.guid] = ch.insert("participants", {
                "label": c.label, "grp": (c.group or "").strip() or label_prefix(c.label), "name": None,
                "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True), "created": now(),
                "guid": _free_guid(db, "participants", c.guid, c.label)})
            report.count("participants")

        used = 0
        for code in _parents_first(ex.codes):
            parent_id = ids["codes"].get(code.parent) if code.parent else None
            ids["codes"][code.guid] = ch.insert("codes", {
                "name": code.name, "parent_id": parent_id,
                "colour": code.colour or PALETTE[used % len(PALETTE)],
                "description": code.description.strip(), "include_when": code.include_when.strip(),
                "exclude_when": code.exclude_when.strip(), "example": code.example.strip(),
                "status": code.status.strip() or "active", "created": _stamp(code.created),
                "guid": _free_guid(db, "codes", code.guid, code.name)})
            used += 1
            report.count("codes")

        for s in ex.sources:
            if not is_canonical(s.text):
                raise InvalidInput(f"source {s.name!r}: text is not canonical (importer bug)")
            parsed = ParsedTranscript(text=s.text, turns=list(s.turns or []), format=s.format,
                                      encoding=s.encoding, metadata=dict(s.metadata))
            result = study.documents.add(parsed, s.name, s.source_name or s.name, s.sha256)
            doc = result["document"]
            ids["sources"][s.guid] = doc.id
            if result["status"] == "unchanged":
                report.warn(f"source {s.name!r} has the same text as {doc.name!r}; its codings go there")
                continue
            values = {"guid": _free_guid(db, "documents", s.guid, s.sha256)}
            if s.created:
                values["imported"] = s.created
            ch.update("documents", doc.id, values)
            report.count("documents")

        _map_speakers(study, ch, ex, ids, report)

        for c in ex.codings:
            doc_id, code_id = ids["sources"].get(c.source), ids["codes"].get(c.code)
            coder_id = ids["users"].get(c.user) if c.user else None
            if doc_id is None or code_id is None or coder_id is None:
                report.skip("coding refers to a missing source, code or user", c.guid)
                continue
            overlapping = db.execute(
                'SELECT 1 FROM codings WHERE document_id = ? AND code_id = ? AND coder_id = ? '
                'AND start < ? AND "end" > ? LIMIT 1', [doc_id, code_id, coder_id, c.end, c.start]).fetchone()
            if overlapping:
                ids["codings"][c.guid] = study.codings._add(ch, doc_id, code_id, coder_id, c.start, c.end, c.memo)
                report.count("codings merged with an overlapping one")
                continue
            ids["codings"][c.guid] = ch.insert("codings", {
                "document_id": doc_id, "code_id": code_id, "coder_id": coder_id, "start": c.start,
                "end": c.end, "memo": c.memo.strip(), "created": _stamp(c.created),
                "guid": _free_guid(db, "codings", c.guid, c.source, c.start, c.end)})
            report.count("codings")

        ids["themes"] = write_themes(db, ch, ex.themes, ids["codes"], report)

        for n in ex.notes:
            row: dict[str, Any] = {"target_type": n.target_type, "target_id": None, "document_id": None,
                                   "start": None, "end": None}
            if n.target_type in ("document", "passage"):
                row["document_id"] = row["target_id"] = ids["sources"].get(n.target or "")
                if row["document_id"] is None:
                    row["target_type"] = "study"
                elif n.target_type == "passage":
                    row["start"], row["end"] = n.start, n.end
            elif n.target_type == "code":
                row["target_id"] = ids["codes"].get(n.target or "")
            elif n.target_type == "coding":
                row["target_id"] = ids["codings"].get(n.target or "")
                if row["target_id"] is not None:
                    row["document_id"] = db.execute("SELECT document_id FROM codings WHERE id = ?",
                                                    [row["target_id"]]).fetchone()[0]
            elif n.target_type == "participant":
                row["target_id"] = ids["cases"].get(n.target or "")
            elif n.target_type == "theme":
                row["target_id"] = ids["themes"].get(n.target or "")
            if row["target_type"] != "study" and row["target_id"] is None:
                report.warn(f"note {n.title or n.guid!r}: its target was not imported; kept as a study memo")
                row.update(target_type="study", target_id=None, document_id=None, start=None, end=None)
            coder_id = ids["users"].get(n.user) if n.user else None
            created = _stamp(n.created)
            ch.insert("memos", {**row, "coder_id": coder_id, "title": n.title.strip(), "body": n.body.strip(),
                                "created": created, "updated": n.updated or created,
                                "guid": _free_guid(db, "memos", n.guid, n.title, n.body[:50])})
            report.count("memos")

        for j in ex.journal:
            coder_id = ids["users"].get(j.user)
            if coder_id is None:
                report.skip("journal entry without a known user", j.entry_date)
                continue
            ch.insert("journal", {"coder_id": coder_id, "entry_date": j.entry_date, "phase": j.phase,
                                  "body": j.body.strip(), "created": _stamp(j.created)})
            report.count("journal entries")

        study.participants._recompute_bands(ch)
        study.speakers.relink(ch)
    return ids


def _parents_first(codes: list[XCode]) -> list[XCode]:
    known = {c.guid for c in codes}
    done: set[str] = set()
    out: list[XCode] = []
    pending = list(codes)
    while pending:
        progressed = []
        for c in pending:
            if c.parent is None or c.parent not in known or c.parent in done:
                out.append(c)
                done.add(c.guid)
            else:
                progressed.append(c)
        if len(progressed) == len(pending):  # a cycle: attach the rest at the top level
            for c in progressed:
                c.parent = None
                out.append(c)
            break
        pending = progressed
    return out


def _map_speakers(study: "Study", ch, ex: Exchange, ids: dict[str, dict[str, int]], report: Report) -> None:
    """Give turns their participants: speaker mappings carried by the file, else one case per source."""
    db = study.db
    mapped = 0
    for source, label, role, case in ex.speakers:
        doc_id = ids["sources"].get(source)
        participant_id = ids["cases"].get(case) if case else None
        if doc_id is None or role not in ("participant", "interviewer", "unknown", "other"):
            continue
        if role == "participant" and participant_id is None:
            continue
        values = {"document_id": doc_id, "label": label, "role": role, "participant_id": participant_id}
        existing = db.execute("SELECT id FROM speakers WHERE document_id = ? AND label = ?", [doc_id, label]).fetchone()
        if existing:  # the file's mapping wins over the guess made on import
            ch.update("speakers", existing[0], values)
        else:
            ch.insert("speakers", values)
        mapped += 1
    relink_turns(db)
    cases_of: dict[int, list[int]] = {}
    for c in ex.cases:
        for s in c.sources:
            if s in ids["sources"] and c.guid in ids["cases"]:
                cases_of.setdefault(ids["sources"][s], []).append(ids["cases"][c.guid])
    for doc_id, participants in cases_of.items():
        participants = sorted(set(participants))
        labels = [r[0] for r in db.execute(
            "SELECT DISTINCT t.speaker FROM turns t WHERE t.document_id = ? AND t.speaker IS NOT NULL "
            "AND t.participant_id IS NULL AND NOT EXISTS (SELECT 1 FROM speakers s WHERE s.label = t.speaker "
            "AND (s.document_id = t.document_id OR s.document_id IS NULL))", [doc_id])]
        if len(participants) == 1 and len(labels) == 1:
            ch.insert("speakers", {"document_id": doc_id, "label": labels[0], "role": "participant",
                                   "participant_id": participants[0]})
            mapped += 1
        elif labels:
            name = db.execute("SELECT name FROM documents WHERE id = ?", [doc_id]).fetchone()[0]
            report.warn(f"{name}: speakers {', '.join(labels)} left unmapped (the file links "
                        f"{len(participants)} case(s) to it); map them with `qualcode speakers map`")
    if mapped:
        report.count("speaker labels mapped", mapped)


_COMPARED = ("description", "include_when", "exclude_when", "example", "status", "colour")


def merge_codebook(study: "Study", codes: list[XCode], themes: list[XTheme], report: Report,
                   update: bool = False) -> dict[str, int]:
    """Add a codebook's codes to a study: matched by GUID, then by name under the same parent.

    A matched code whose definition differs is a conflict: reported and left as the study has
    it, unless ``update`` takes the file's definition. Returns code ids by file GUID.
    """
    db = study.db
    ids: dict[str, int] = {}
    nested = getattr(study, "_change", None) is not None
    with study.change("import-qdc", f"import codebook {report.file}") as ch:
        used = db.execute("SELECT count(*) FROM codes").fetchone()[0]
        for code in _parents_first(codes):
            parent_id = ids.get(code.parent) if code.parent else None
            rows = _rows(db, "SELECT * FROM codes WHERE guid = ?", [code.guid])
            by_guid = bool(rows)
            if not rows:
                rows = _rows(db, "SELECT * FROM codes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
                             [parent_id or 0, code.name])
            if rows:
                row = rows[0]
                ids[code.guid] = row["id"]
                path = study.codes.by_id(row["id"]).path
                if by_guid and (row["name"] != code.name or row["parent_id"] != parent_id):
                    report.conflicts.append(f"code {path}: the file names or places it differently "
                                            f"({code.name!r}); kept the study's")
                wanted = {"description": code.description.strip(), "include_when": code.include_when.strip(),
                          "exclude_when": code.exclude_when.strip(), "example": code.example.strip(),
                          "status": code.status.strip() or "active"}
                if code.colour:
                    wanted["colour"] = code.colour
                differs = [k for k in _COMPARED if k in wanted and (row[k] or "") != wanted[k]]
                if not differs:
                    report.count("codes already in the study")
                elif update:
                    ch.update("codes", row["id"], {k: wanted[k] for k in differs})
                    report.count("codes updated")
                else:
                    report.conflicts.append(f"code {path}: the file's definition differs "
                                            f"({', '.join(differs)}); kept the study's (--update takes the file's)")
                    report.count("codes already in the study")
                continue
            ids[code.guid] = ch.insert("codes", {
                "name": code.name, "parent_id": parent_id, "colour": code.colour or PALETTE[used % len(PALETTE)],
                "description": code.description.strip(), "include_when": code.include_when.strip(),
                "exclude_when": code.exclude_when.strip(), "example": code.example.strip(),
                "status": code.status.strip() or "active", "created": _stamp(code.created),
                "guid": _free_guid(db, "codes", code.guid, code.name)})
            used += 1
            report.count("codes added")
        write_themes(db, ch, themes, ids, report, merge=True)
        if not nested:
            forget_if_empty(db, ch)  # a codebook that changes nothing leaves no history entry
    return ids


THEME_STATUSES = ("candidate", "active", "discarded")


def write_themes(db, ch, themes: list[XTheme], code_ids: dict[str, int], report: Report,
                 merge: bool = False) -> dict[str, int]:
    """Store themes (parents first) and the codes they gather; returns theme ids by GUID.

    With ``merge``, a theme already in the study (same GUID, or same name under the same parent)
    gains the codes it lacks; a different definition is reported as a conflict, never overwritten.
    """
    from qualcode.store.themes import PALETTE as THEME_PALETTE

    out: dict[str, int] = {}
    if not themes:
        return out
    if not _has_table(db, "themes"):
        for t in themes:
            report.skip("themes (this study has no themes table)", t.name)
        return out
    for t in _parents_first(themes):  # type: ignore[arg-type]
        parent_id = out.get(t.parent) if t.parent else None
        name = " ".join(t.name.replace("/", "\u2215").split()) or "Unnamed theme"
        existing = db.execute("SELECT * FROM themes WHERE guid = ?", [t.guid]).fetchone() if merge else None
        if existing is None:
            existing = db.execute("SELECT * FROM themes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
                                  [parent_id or 0, name]).fetchone()
            if existing is not None and not merge:
                name = _free_theme_name(db, name, parent_id)
                existing = None
        status = t.status if t.status in THEME_STATUSES else "candidate"
        if t.status and t.status not in THEME_STATUSES:
            report.warn(f"theme {name!r}: status {t.status!r} is not candidate/active/discarded; read as candidate")
        if existing is not None:
            cols = [c[1] for c in db.execute("PRAGMA table_info(themes)")]
            row = dict(zip(cols, existing))
            theme_id = out[t.guid] = row["id"]
            differs = [k for k, v in (("concept", t.concept), ("definition", t.definition), ("status", status))
                       if (v or "").strip() != (row[k] or "")]
            if differs:
                report.conflicts.append(f"theme {row['name']!r}: the file's {', '.join(differs)} differ; "
                                        "kept the study's")
            report.count("themes already in the study")
        else:
            siblings = db.execute("SELECT count(*) FROM themes WHERE coalesce(parent_id, 0) = ?",
                                  [parent_id or 0]).fetchone()[0]
            colour = t.colour
            try:
                from qualcode.store.codes import normalise_colour

                colour = normalise_colour(colour) if colour else None
            except InvalidInput:
                colour = None
            if colour is None:
                if parent_id:
                    colour = db.execute("SELECT colour FROM themes WHERE id = ?", [parent_id]).fetchone()[0]
                else:
                    colour = THEME_PALETTE[siblings % len(THEME_PALETTE)]
            theme_id = out[t.guid] = ch.insert("themes", {
                "name": name, "parent_id": parent_id, "status": status, "concept": t.concept.strip(),
                "definition": t.definition.strip(), "colour": colour, "position": siblings + 1, "created": now(),
                "guid": _free_guid(db, "themes", t.guid, name)})
            report.count("themes")
        for code_guid in t.codes:
            code_id = code_ids.get(code_guid)
            if code_id is None:
                report.skip("theme members that are not codes of the codebook", code_guid)
                continue
            guid = db.execute("SELECT guid FROM codes WHERE id = ?", [code_id]).fetchone()[0]
            if db.execute("SELECT 1 FROM theme_codes WHERE theme_id = ? AND code_guid = ?", [theme_id, guid]).fetchone():
                continue
            position = (db.execute("SELECT max(position) FROM theme_codes WHERE theme_id = ?",
                                   [theme_id]).fetchone()[0] or 0) + 1
            ch.insert("theme_codes", {"theme_id": theme_id, "code_id": code_id, "code_guid": guid,
                                      "position": position, "created": now()})
    return out


def _free_theme_name(db, name: str, parent_id: int | None) -> str:
    candidate, n = name, 2
    while db.execute("SELECT 1 FROM themes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
                     [parent_id or 0, candidate]).fetchone():
        candidate = f"{name} ({n})"
        n += 1
    return candidate
