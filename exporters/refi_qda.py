"""REFI-QDA export: a study -> a .qdpx project (zip) or a .qdc codebook (QDA-XML 1.0).

Adapter only: it reads ``qualcode.store.refi.snapshot(study)`` (records with the study's stored
GUIDs) and writes XML; no SQL. The output is valid against the REFI-QDA ``Project.xsd`` and
``Codebook.xsd`` and deterministic: same study, same bytes (fixed zip timestamps, sorted entries,
elements in a stable order, no export time recorded).

Positions follow the spec and the advice of the vendor notes: the plain text of each document is
written as ``sources/<guid>.txt`` in UTF-8 with LF line endings and no BOM, selections count code
points of that text with an exclusive end, and each selection's ``name`` holds the selected text
so an importer can check its counting. ``offsets="utf16"`` counts UTF-16 units instead (what NVivo
and QualCoder read); the text in ``name`` stays the same.

Beside ``project.qde`` and ``sources/``, the archive holds ``qualcode/turns/<guid>.json`` for each
document with speaker turns: their spans, labels and caption times, which a TextSource cannot carry
(other tools ignore the folder; qualcode's importer uses a file only while its text hash matches).

How study objects map to REFI elements is documented in ``qualcode.store.refi``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from bisect import bisect_left
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable
from xml.etree import ElementTree as ET

from qualcode import __version__
from qualcode.errors import InvalidInput
from qualcode.store.refi import (CODING_MEMO, JOURNAL_SET, THEME_PREFIX, TURNS_FOLDER, TURNS_FORMAT, Exchange,
                                 XCode, XNote, XSource, coding_memo_guid, compose_description,
                                 compose_theme_description, derived_guid, snapshot)

if TYPE_CHECKING:
    from qualcode.study import Study

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ORIGIN = f"qualcode {__version__}"
TYPE_NAMES = {"text": "Text", "integer": "Integer", "float": "Float", "boolean": "Boolean", "date": "Date"}
GROUP_VARIABLE = "group"
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DATETIME = re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def _clean(text: str) -> str:
    """Characters XML 1.0 cannot carry are dropped (never part of canonical transcript text).

    Most values (GUIDs, numbers, dates, names) are printable, which rules out every such
    character; ``isprintable`` answers that in C, so the regex runs only on the rest."""
    return text if text.isprintable() else _BAD_XML.sub("", text)


def _dt(value: str | None) -> str | None:
    return value if value and _DATETIME.match(value) else None


def _el(parent: ET.Element | None, tag: str, attrs: dict[str, Any] | None = None, text: str | None = None) -> ET.Element:
    clean = {k: _clean(str(v)) for k, v in (attrs or {}).items() if v is not None}
    node = ET.Element(tag, clean) if parent is None else ET.SubElement(parent, tag, clean)
    if text is not None:
        node.text = _clean(text)
    return node


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _code_order(codes: list[XCode]) -> dict[str | None, list[XCode]]:
    children: dict[str | None, list[XCode]] = {}
    known = {c.guid for c in codes}
    for c in codes:
        children.setdefault(c.parent if c.parent in known else None, []).append(c)
    for kids in children.values():
        kids.sort(key=lambda c: (c.name.casefold(), c.guid))
    return children


def _codes(parent: ET.Element, ex: Exchange, notes_of: dict[str, list[str]] | None) -> int:
    children = _code_order(ex.codes)
    count = 0
    stack: list[tuple[ET.Element, XCode]] = [(parent, c) for c in reversed(children.get(None, []))]
    while stack:
        into, code = stack.pop()
        node = _el(into, "Code", {"guid": code.guid, "name": code.name, "isCodable": "true",
                                  "color": code.colour})
        description = compose_description(code)
        if description:
            _el(node, "Description", text=description)
        for note in (notes_of or {}).get(code.guid, []):
            _el(node, "NoteRef", {"targetGUID": note})
        count += 1
        stack.extend((node, c) for c in reversed(children.get(code.guid, [])))
    return count


def _decimal(value: float) -> str:
    text = format(Decimal(repr(float(value))), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"


def _value(parent: ET.Element, variable_guid: str, type_: str, value: Any) -> None:
    vv = _el(parent, "VariableValue")
    _el(vv, "VariableRef", {"targetGUID": variable_guid})
    if type_ == "boolean" and isinstance(value, bool):
        _el(vv, "BooleanValue", text="true" if value else "false")
    elif type_ == "integer" and isinstance(value, int) and not isinstance(value, bool):
        _el(vv, "IntegerValue", text=str(value))
    elif type_ == "float" and isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value):
        _el(vv, "FloatValue", text=_decimal(value))
    elif type_ == "date" and isinstance(value, str) and _DATE.match(value):
        _el(vv, "DateValue", text=value)
    else:
        _el(vv, "TextValue", text=str(value))


def _source_variables(ex: Exchange) -> list[tuple[str, str, str]]:
    """(key, type, guid) for every document metadata key, typed from the values it takes."""
    values: dict[str, list[Any]] = {}
    for s in ex.sources:
        for k, v in s.metadata.items():
            if v is not None and v != "":
                values.setdefault(k, []).append(v)
    out = []
    for key in sorted(values):
        vs = values[key]
        if all(isinstance(v, bool) for v in vs):
            type_ = "boolean"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in vs):
            type_ = "integer"
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vs):
            type_ = "float"
        else:
            type_ = "text"
        out.append((key, type_, derived_guid("source-variable", key)))
    return out


class _Positions:
    """Code point offsets -> the unit the export is asked to count in."""

    def __init__(self, text: str, unit: str) -> None:
        self.astral = [m.start() for m in _ASTRAL.finditer(text)] if unit == "utf16" else []

    def __call__(self, offset: int) -> int:
        return offset + bisect_left(self.astral, offset) if self.astral else offset


def project_xml(ex: Exchange, offsets: str = "codepoint") -> tuple[bytes, dict[str, int]]:
    """The ``project.qde`` document and counts of what it holds."""
    if offsets not in ("codepoint", "utf16"):
        raise InvalidInput("offsets must be 'codepoint' or 'utf16'")
    counts = {"users": len(ex.users), "codes": 0, "variables": 0, "cases": len(ex.cases), "sources": len(ex.sources),
              "selections": 0, "codings": len(ex.codings), "notes": 0, "sets": 0, "links": 0}
    root = _el(None, "Project", {"xmlns": PROJECT_NS, "name": ex.title or "qualcode study", "origin": ORIGIN,
                                 "creationDateTime": _dt(ex.created)})
    user_guids = {u.guid for u in ex.users}
    if ex.users:
        users = _el(root, "Users")
        for u in ex.users:
            _el(users, "User", {"guid": u.guid, "name": u.name})

    # Notes, and where each one hangs (NoteRef on an element, a Link, or a Set member).
    notes: list[tuple[XNote, str | None]] = []   # (note, description)
    notes_of: dict[str, list[str]] = {}          # target GUID (or selection key) -> note GUIDs
    passage_notes: dict[tuple[str, int, int], list[str]] = {}
    project_notes: list[str] = []
    links: list[tuple[str, str]] = []
    theme_notes: dict[str, list[str]] = {}
    for n in ex.notes:
        notes.append((n, None))
        if n.target_type == "study" or n.target is None:
            project_notes.append(n.guid)
        elif n.target_type == "passage" and n.start is not None and n.end is not None:
            passage_notes.setdefault((n.target, n.start, n.end), []).append(n.guid)
        elif n.target_type == "participant":
            links.append((n.guid, n.target))
        elif n.target_type == "theme":
            theme_notes.setdefault(n.target, []).append(n.guid)
        else:  # document, code, coding
            notes_of.setdefault(n.target, []).append(n.guid)
    for c in ex.codings:
        if c.memo.strip():
            guid = coding_memo_guid(c.guid)
            notes.append((XNote(guid=guid, body=c.memo, title=CODING_MEMO, user=c.user, created=c.created,
                                target_type="coding", target=c.guid), None))
            notes_of.setdefault(c.guid, []).insert(0, guid)
    journal_guids = []
    for j in ex.journal:
        notes.append((XNote(guid=j.guid, body=j.body, title=f"Journal {j.entry_date}", user=j.user,
                            created=j.created), f"Phase {j.phase}" if j.phase else None))
        journal_guids.append(j.guid)

    if ex.codes:
        codes = _el(_el(root, "CodeBook"), "Codes")
        counts["codes"] = _codes(codes, ex, notes_of)

    case_vars = [v for v in ex.variables if v.scope == "case"]
    var_type = {v.name: v.type for v in case_vars}
    var_guid = {v.name: v.guid for v in case_vars}
    group_guid = derived_guid("variable", GROUP_VARIABLE)
    source_vars = _source_variables(ex)
    if case_vars or ex.cases or source_vars:
        variables = _el(root, "Variables")
        for v in case_vars:
            node = _el(variables, "Variable", {"guid": v.guid, "name": v.name,
                                               "typeOfVariable": "Text" if v.derived_from else TYPE_NAMES[v.type]})
            if v.derived_from and v.bands:
                _el(node, "Description", text=f"qualcode band of {v.derived_from}: "
                                              f"{json.dumps(v.bands, ensure_ascii=False)}")
        if ex.cases:
            node = _el(variables, "Variable", {"guid": group_guid, "name": GROUP_VARIABLE, "typeOfVariable": "Text"})
            _el(node, "Description", text="participant group")
        for key, type_, guid in source_vars:
            node = _el(variables, "Variable", {"guid": guid, "name": key, "typeOfVariable": TYPE_NAMES[type_]})
            _el(node, "Description", text="document metadata")
        counts["variables"] = len(variables)
    if ex.cases:
        cases = _el(root, "Cases")
        for c in sorted(ex.cases, key=lambda c: _natural(c.label)):
            node = _el(cases, "Case", {"guid": c.guid, "name": c.label})
            if c.group:
                _value(node, group_guid, "text", c.group)
            for name in [v.name for v in case_vars if v.name in c.attributes]:
                if c.attributes[name] is not None:
                    _value(node, var_guid[name], "text" if any(v.derived_from for v in case_vars if v.name == name)
                           else var_type[name], c.attributes[name])
            for s in c.sources:
                _el(node, "SourceRef", {"targetGUID": s})

    if ex.sources:
        sources = _el(root, "Sources")
        by_source: dict[str, list] = {}
        for c in ex.codings:
            by_source.setdefault(c.source, []).append(c)
        speakers: dict[str, list[str]] = {}
        case_label = {c.guid: c.label for c in ex.cases}
        for source, label, role, case in ex.speakers:
            target = case_label.get(case) if role == "participant" else role
            if target:
                speakers.setdefault(source, []).append(f"Speaker {label}: {target}")
        for s in sorted(ex.sources, key=lambda s: (s.name.casefold(), s.guid)):
            node = _el(sources, "TextSource", {"guid": s.guid, "name": s.name,
                                               "plainTextPath": f"internal://{s.guid}.txt",
                                               "creationDateTime": _dt(s.created)})
            if speakers.get(s.guid):
                _el(node, "Description", text="\n".join(speakers[s.guid]))
            position = _Positions(s.text, offsets)
            spans: dict[tuple[int, int], list] = {}
            for c in by_source.get(s.guid, []):
                spans.setdefault((c.start, c.end), []).append(c)
            for key in passage_notes:
                if key[0] == s.guid:
                    spans.setdefault((key[1], key[2]), [])
            for (start, end) in sorted(spans):
                group = sorted(spans[(start, end)], key=lambda c: (c.created or "", c.guid))
                first = group[0] if group else None
                attrs = {"guid": derived_guid("selection", s.guid, start, end), "name": s.text[start:end],
                         "startPosition": position(start), "endPosition": position(end)}
                if first is not None:
                    attrs["creatingUser"] = first.user if first.user in user_guids else None
                    attrs["creationDateTime"] = _dt(first.created)
                sel = _el(node, "PlainTextSelection", attrs)
                counts["selections"] += 1
                for c in group:
                    coding = _el(sel, "Coding", {"guid": c.guid,
                                                 "creatingUser": c.user if c.user in user_guids else None,
                                                 "creationDateTime": _dt(c.created)})
                    _el(coding, "CodeRef", {"targetGUID": c.code})
                    for note in notes_of.get(c.guid, []):
                        _el(coding, "NoteRef", {"targetGUID": note})
                for note in passage_notes.get((s.guid, start, end), []):
                    _el(sel, "NoteRef", {"targetGUID": note})
            for note in notes_of.get(s.guid, []):
                _el(node, "NoteRef", {"targetGUID": note})
            for key, type_, guid in source_vars:
                if s.metadata.get(key) not in (None, ""):
                    _value(node, guid, type_, s.metadata[key])

    if notes:
        holder = _el(root, "Notes")
        for n, description in sorted(notes, key=lambda nd: (nd[0].created or "", nd[0].guid)):
            attrs = {"guid": n.guid, "name": n.title or None,
                     "creatingUser": n.user if n.user in user_guids else None,
                     "creationDateTime": _dt(n.created),
                     "modifiedDateTime": _dt(n.updated) if n.updated and n.updated != n.created else None}
            note = _el(holder, "Note", attrs)
            if description:
                _el(note, "Description", text=description)
            _el(note, "PlainTextContent", text=n.body)
        counts["notes"] = len(notes)
    if links:
        holder = _el(root, "Links")
        for note, case in links:
            _el(holder, "Link", {"guid": derived_guid("link", note, case), "name": "memo", "direction": "OneWay",
                                 "originGUID": note, "targetGUID": case})
        counts["links"] = len(links)

    sets = _theme_sets(ex)
    if sets or journal_guids:
        holder = _el(root, "Sets")
        for guid, name, description, members in sets:
            node = _el(holder, "Set", {"guid": guid, "name": name})
            if description:
                _el(node, "Description", text=description)
            for code in members:
                _el(node, "MemberCode", {"targetGUID": code})
            for note in theme_notes.get(guid, []):
                _el(node, "MemberNote", {"targetGUID": note})
        if journal_guids:
            node = _el(holder, "Set", {"guid": derived_guid("journal-set"), "name": JOURNAL_SET})
            _el(node, "Description", text="qualcode reflexive journal: one note per dated entry")
            for guid in journal_guids:
                _el(node, "MemberNote", {"targetGUID": guid})
        counts["sets"] = len(holder)

    description = []
    if ex.approach:
        description.append(f"Approach: {ex.approach}")
    if ex.phase:
        description.append(f"Braun & Clarke phase: {ex.phase}")
    if description:
        _el(root, "Description", text="\n".join(description))
    for note in project_notes:
        _el(root, "NoteRef", {"targetGUID": note})
    return _serialise(root), counts


def _theme_sets(ex: Exchange) -> list[tuple[str, str, str, list[str]]]:
    known = {c.guid for c in ex.codes}
    out = []
    for t in sorted(ex.themes, key=lambda t: ((t.path or t.name).casefold(), t.guid)):
        out.append((t.guid, THEME_PREFIX + (t.path or t.name), compose_theme_description(t),
                    [c for c in t.codes if c in known]))
    return out


def codebook_xml(ex: Exchange) -> tuple[bytes, dict[str, int]]:
    """A ``.qdc`` codebook: the code tree with definitions, themes as Sets of codes."""
    if not ex.codes:
        raise InvalidInput("the study has no codes; there is no codebook to export")
    root = _el(None, "CodeBook", {"xmlns": CODEBOOK_NS, "origin": ORIGIN})
    n = _codes(_el(root, "Codes"), ex, None)
    sets = _theme_sets(ex)
    if sets:
        holder = _el(root, "Sets")
        for guid, name, description, members in sets:
            node = _el(holder, "Set", {"guid": guid, "name": name})
            if description:
                _el(node, "Description", text=description)
            for code in members:
                _el(node, "MemberCode", {"guid": code})
    return _serialise(root), {"codes": n, "sets": len(sets)}


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A deterministic zip: sorted names, fixed timestamps and permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            # zlib's default level: level 9 took 1.4x the time for a 1 % smaller archive
            zf.writestr(info, entries[name], compresslevel=6)
    return buf.getvalue()


def turns_json(source: XSource) -> bytes:
    """qualcode's own record of a document's turns: code point spans into the text (which the
    file's SHA-256 pins), speaker labels as written, caption times in milliseconds."""
    data = {"format": TURNS_FORMAT, "document": source.guid, "source_format": source.format,
            "text_sha256": hashlib.sha256(source.text.encode("utf-8")).hexdigest(),
            "turns": [[t.start, t.end, t.speaker, t.start_ms, t.end_ms] for t in source.turns or []]}
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _entries(ex: Exchange, offsets: str) -> tuple[dict[str, bytes], dict[str, int]]:
    xml, counts = project_xml(ex, offsets)
    entries = {"project.qde": xml}
    for s in ex.sources:
        entries[f"sources/{s.guid}.txt"] = s.text.encode("utf-8")
        if s.turns:
            entries[f"{TURNS_FOLDER}{s.guid}.json"] = turns_json(s)
    return entries, counts


def qdpx_bytes(ex: Exchange, offsets: str = "codepoint") -> tuple[bytes, dict[str, int]]:
    """The .qdpx archive: ``project.qde`` and one UTF-8 text file per document in ``sources/``."""
    entries, counts = _entries(ex, offsets)
    return zip_bytes(entries), counts


def _deliver(study: "Study", path: Path, data: bytes, kind: str, fmt: str, text: str, items: int):
    """Every export leaves through ``qualcode.export.write_export`` (anonymisation guard, atomic write)."""
    from qualcode.export import write_export

    return write_export(study, path, data, kind=kind, fmt=fmt, text=text, items=items)


def export_qdpx(study: "Study", path: str | Path, offsets: str = "codepoint") -> dict[str, Any]:
    """Write the study as a REFI-QDA project; returns what was written and counts."""
    ex = snapshot(study)
    entries, counts = _entries(ex, offsets)
    data = zip_bytes(entries)
    # The guard cannot read inside the zip: give it every text the archive carries.
    text = "\n".join(v.decode("utf-8") for _, v in sorted(entries.items()))
    result = _deliver(study, Path(path), data, "refi-qdpx", "qdpx", text, counts["codings"])
    return {**result.as_dict(), "file": result.path, "offsets": offsets, **counts}


def export_qdc(study: "Study", path: str | Path) -> dict[str, Any]:
    """Write the study's codebook (and themes as code sets) as a REFI-QDA .qdc."""
    data, counts = codebook_xml(snapshot(study))
    result = _deliver(study, Path(path), data, "refi-qdc", "qdc", data.decode("utf-8"), counts["codes"])
    return {**result.as_dict(), "file": result.path, **counts}


def _natural(label: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", label))


__all__: Iterable[str] = ["codebook_xml", "export_qdc", "export_qdpx", "project_xml", "qdpx_bytes", "zip_bytes"]
