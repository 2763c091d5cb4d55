"""REFI-QDA import: .qdpx projects into a new study, .qdc codebooks into an existing one.

Tolerant of what real exports contain (../shared/reference/refi-qda.md): ``Sources/`` or
``sources/``, ``<Name>.qde`` instead of ``project.qde``, text files with a BOM or CRLF, positions
counted in UTF-16 units (NVivo, QualCoder) or code points, CRLF counted as one or two, GUIDs in
upper case or braces (or not GUIDs at all), codebook namespaces other than 1.0 (or none), missing
``internal://``, one selection per coding or several codings per selection, Sets used as groups.
Schema problems become warnings; what cannot be used is skipped and counted with its reason.

Positions are decided per source: every plausible counting (code points or UTF-16 units; line
endings as in the file or counted as one; a BOM counted or not) is tried and the one that lands
most selections on the text their ``name`` quotes wins; ties go to the producer's known habit
(``origin``). The choice is reported for each source.

Hostile files are refused before anything is written: DOCTYPEs (so entity expansion and external
entities) never reach the parser's expansion, archive entries with ``..`` or absolute paths,
encrypted entries, archives whose declared sizes or compression ratios look like a zip bomb, entries
whose data inflates past what they declare (read in 1 MiB steps under running caps, so memory stays
bounded whatever the headers say), and truncated archives or malformed XML (one clear error). A new study is built under a temporary
name and renamed only when the import succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree as ET
from xml.parsers import expat

from qualcode.errors import InvalidInput, QualcodeError
from qualcode.store.refi import (JOURNAL_SET, THEME_PREFIX, TURNS_FOLDER, TURNS_FORMAT, Exchange, Report, XCase, XCode, XCoding, XJournal,
                                 XNote, XSource, XTheme, XUser, XVariable, checkpoint, coding_memo_guid,
                                 derived_guid, load, merge_codebook, normalise_guid, split_description,
                                 split_theme_description)
from qualcode.text import canonicalise
from qualcode.transcript import ParsedTurn

from . import parse as parse_transcript

__all__ = ["Limits", "import_qdc", "import_qdpx", "parse_xml", "read_qdc", "read_qdpx"]

MIB = 1024 * 1024
TYPES = {"text": "text", "integer": "integer", "float": "float", "boolean": "boolean", "date": "date",
         "datetime": "text"}
_HEX = re.compile(r"#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
_RGB = re.compile(r"^(?:rgba?\()?\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*[\d.]+\s*)?\)?$", re.I)
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
_SUFFIXES = (".txt", ".docx", ".doc", ".rtf", ".pdf", ".odt", ".text")
_SPEAKER_LINE = re.compile(r"^Speaker (.+): (.+)$")
_LABEL_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,31}$")


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile archive from exhausting memory or disk."""

    max_entries: int = 20_000
    max_total: int = 1024 * MIB        # uncompressed bytes declared by all entries
    max_entry: int = 512 * MIB         # one entry, uncompressed
    max_ratio: int = 200               # uncompressed / compressed, for entries over 1 MiB
    max_depth: int = 256               # XML element nesting
    max_qdc: int = 64 * MIB            # a codebook file


# -- safe XML ----------------------------------------------------------------------------------
class _Refused(Exception):
    pass


def parse_xml(data: bytes, what: str, max_depth: int = Limits.max_depth) -> tuple[ET.Element, str]:
    """Parse XML with expat, refusing any DOCTYPE, entity declaration or external entity.

    Returns the root (tags and attribute names without namespaces) and the root's namespace.
    Raises ``InvalidInput`` with one line for malformed or refused XML.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0
    namespace: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise _Refused(f"elements are nested more than {max_depth} deep")
        ns, _, local = name.rpartition(" ")
        if not namespace:
            namespace.append(ns)
        builder.start(local, {k.rpartition(" ")[2]: v for k, v in attrs.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(name.rpartition(" ")[2])

    def refuse_doctype(*_: Any) -> None:
        raise _Refused("it declares a DOCTYPE (refused: no DTDs, entity expansion or external entities)")

    def refuse_entity(*_: Any) -> None:
        raise _Refused("it declares entities (refused)")

    def refuse_external(*_: Any) -> int:
        raise _Refused("it refers to an external entity (refused: no file or network reads)")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        root = builder.close()
    except _Refused as exc:
        raise InvalidInput(f"{what}: unsafe XML, {exc}") from None
    except expat.ExpatError as exc:
        raise InvalidInput(f"{what}: malformed XML ({expat.errors.messages[exc.code]}, "
                           f"line {exc.lineno} column {exc.offset})") from None
    except (AssertionError, IndexError):  # TreeBuilder: mismatched or missing root
        raise InvalidInput(f"{what}: malformed XML (no root element)") from None
    return root, namespace[0] if namespace else ""


# -- the archive -------------------------------------------------------------------------------
class Archive:
    """A .qdpx opened for reading only what it needs, after checking every entry's name and size."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        try:
            self.zf = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise InvalidInput(f"{path}: file not found") from None
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise InvalidInput(f"{path.name} is not a readable .qdpx archive (damaged or truncated zip: {exc})") from None
        infos = self.zf.infolist()
        if len(infos) > limits.max_entries:
            raise InvalidInput(f"{path.name}: {len(infos)} archive entries, over the limit of {limits.max_entries}")
        total = packed = 0
        self.inflated = 0   # bytes actually inflated so far (``read``), against ``max_total``
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            norm = name.replace("\\", "/")
            parts = norm.split("/")
            if "\x00" in name or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in parts:
                raise InvalidInput(f"{path.name}: unsafe path in the archive {name!r} (refused)")
            if info.flag_bits & 0x1:
                raise InvalidInput(f"{path.name}: encrypted entry {name!r} (refused)")
            if info.file_size > limits.max_entry:
                raise InvalidInput(f"{path.name}: entry {name!r} unpacks to {info.file_size:,} bytes, "
                                   f"over the limit of {limits.max_entry:,} (zip bomb?)")
            if info.file_size > MIB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise InvalidInput(f"{path.name}: entry {name!r} is compressed {info.file_size // max(info.compress_size, 1):,}"
                                   f" to 1, over the limit of {limits.max_ratio} (zip bomb?)")
            total += info.file_size
            packed += info.compress_size
            if not norm.endswith("/"):
                self.entries.setdefault(norm.lower(), info)
        self.by_basename: dict[str, zipfile.ZipInfo] = {}
        for key in sorted(self.entries):
            self.by_basename.setdefault(key.rsplit("/", 1)[-1], self.entries[key])
        if total > limits.max_total:
            raise InvalidInput(f"{path.name}: entries unpack to {total:,} bytes in all, over the limit of "
                               f"{limits.max_total:,} (zip bomb?)")
        if total > 16 * MIB and total > limits.max_ratio * max(packed, 1):
            raise InvalidInput(f"{path.name}: the archive is compressed {total // max(packed, 1):,} to 1 (zip bomb?)")

    def close(self) -> None:
        self.zf.close()

    def project_entry(self, report: Report) -> zipfile.ZipInfo:
        qdes = sorted(n for n in self.entries if n.endswith(".qde"))
        if not qdes:
            raise InvalidInput(f"{self.path.name}: no project.qde inside; is this a REFI-QDA .qdpx?")
        top = [n for n in qdes if "/" not in n]
        chosen = "project.qde" if "project.qde" in top else (top or qdes)[0]
        if chosen != "project.qde":
            report.warn(f"project XML is {self.entries[chosen].filename!r}, not project.qde (read it anyway)")
        if len(qdes) > 1:
            report.warn(f"{len(qdes)} .qde files in the archive; read {self.entries[chosen].filename!r}")
        return self.entries[chosen]

    def find(self, reference: str) -> zipfile.ZipInfo | None:
        """An internal file by the name a path gives, case-insensitively, in sources/ or anywhere."""
        ref = reference.replace("\\", "/").lstrip("/")
        if not ref or ".." in ref.split("/"):
            return None
        for candidate in (ref, unquote(ref)):
            low = candidate.lower()
            for key in (f"sources/{low}", low):
                if key in self.entries:
                    return self.entries[key]
            found = self.by_basename.get(low.rsplit("/", 1)[-1])
            if found is not None:
                return found
        return None

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """An entry's bytes, inflated in 1 MiB steps under running caps: its declared size (a
        zip whose headers understate what its data inflates to is refused, whatever the zip
        library does), the per-entry and whole-archive limits, and the compression ratio."""
        name, limits = info.filename, self.limits
        cap = min(info.file_size, limits.max_entry)
        budget = limits.max_total - self.inflated
        chunks: list[bytes] = []
        size = 0
        try:
            with self.zf.open(info) as fh:
                while True:
                    chunk = fh.read(MIB)
                    if not chunk:
                        break
                    size += len(chunk)
                    chunks.append(chunk)
                    if size > cap:
                        raise InvalidInput(f"{self.path.name}: entry {name!r} is larger than it declares "
                                           f"({info.file_size:,} bytes; refused, zip bomb?)")
                    if size > budget:
                        raise InvalidInput(f"{self.path.name}: entries unpack to more than {limits.max_total:,} "
                                           "bytes in all (zip bomb?)")
                    if size > MIB and size > limits.max_ratio * max(info.compress_size, 1):
                        raise InvalidInput(f"{self.path.name}: entry {name!r} is compressed more than "
                                           f"{limits.max_ratio} to 1 (zip bomb?)")
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:
            raise InvalidInput(f"{self.path.name}: entry {name!r} is damaged or truncated ({exc})") from None
        self.inflated += size
        return b"".join(chunks)


# -- text and positions ------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str, bool, list[str]]:
    """Bytes of a plain-text source -> (text without BOM, line endings kept; encoding; had BOM; warnings)."""
    if data.startswith(b"\xef\xbb\xbf"):
        body, encoding, bom = data[3:], "utf-8-sig", True
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        try:
            return data[2:].decode(encoding), encoding, True, []
        except UnicodeDecodeError:
            return data[2:].decode(encoding, errors="replace"), encoding, True, ["undecodable bytes replaced"]
    else:
        body, encoding, bom = data, "utf-8", False
    try:
        return body.decode("utf-8"), encoding, bom, []
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace"), "cp1252", bom, ["not UTF-8; read as Windows-1252"]


@dataclass(frozen=True)
class Counting:
    unit: str      # "codepoint" | "utf16"
    basis: str     # "file" (line endings as written: CRLF = 2) | "lf" (every line ending counts 1)
    bom: bool = False

    @property
    def label(self) -> str:
        unit = "code points" if self.unit == "codepoint" else "UTF-16 units"
        endings = "CRLF counted as 2" if self.basis == "file" else "line endings counted as 1"
        return f"{unit}, {endings}" + (", BOM counted" if self.bom else "")


ALL_COUNTINGS = [Counting("codepoint", "file"), Counting("utf16", "file"), Counting("codepoint", "lf"),
                 Counting("utf16", "lf")]


def known_producer(origin: str) -> bool:
    """A producer whose counting habit is known (refi-qda.md §4)."""
    o = origin.casefold()
    return any(k in o for k in ("nvivo", "qualcoder", "atlas")) or bool(re.match(r"qualcode\b", o))


def origin_habit(origin: str) -> Counting:
    """What each producer is known to write (refi-qda.md §4); code points of the file otherwise."""
    o = origin.casefold()
    if "nvivo" in o:
        return Counting("utf16", "file")
    if "qualcoder" in o:
        return Counting("utf16", "lf")
    if "atlas" in o or re.match(r"qualcode\b", o):
        return Counting("codepoint", "lf")
    return Counting("codepoint", "file")


class Mapper:
    """Positions in one counting -> code point offsets into the canonical text (None if impossible)."""

    def __init__(self, raw: str, canonical: str, counting: Counting) -> None:
        self.counting = counting
        basis = raw if counting.basis == "file" else canonical
        self.length = len(basis)
        astral = [m.start() for m in _ASTRAL.finditer(basis)] if counting.unit == "utf16" else []
        self.u16_starts = [a + k for k, a in enumerate(astral)]
        self.units = self.length + len(astral)
        self.crlf_ends = [m.end() for m in re.finditer("\r\n", raw)] if counting.basis == "file" else []

    def __call__(self, position: int) -> int | None:
        p = position - 1 if self.counting.bom else position
        if p < 0 or p > self.units:
            return None
        if self.u16_starts:
            j = bisect_right(self.u16_starts, p) - 1
            if j >= 0 and p == self.u16_starts[j] + 1:
                return None  # inside a surrogate pair
            p -= bisect_right(self.u16_starts, p - 2)
        if self.crlf_ends:
            p -= bisect_right(self.crlf_ends, p)
        return p


def text_fit(name: str | None, span: str) -> int:
    """2: ``span`` is the quoted text; 1: the same apart from spacing or a cut-off ending; 0: not."""
    if not name:
        return 0
    n = canonicalise(name)
    if n == span:
        return 2
    flat_n, flat_s = " ".join(n.split()), " ".join(span.split())
    if flat_n and flat_n == flat_s:
        return 1
    for ellipsis in ("…", "..."):
        if flat_n.endswith(ellipsis) and len(flat_n) > 8 and flat_s.startswith(flat_n[: -len(ellipsis)].rstrip()):
            return 1
    return 0


def same_text(name: str | None, span: str) -> bool:
    return text_fit(name, span) > 0


def choose_counting(raw: str, canonical: str, selections: list[tuple[int, int, str | None]], origin: str,
                    had_bom: bool) -> tuple[Mapper, dict[str, Any]]:
    """Pick the counting that lands the most selections on their quoted text; report why."""
    habit = origin_habit(origin)
    candidates = [habit] + [c for c in ALL_COUNTINGS if c != habit]
    if had_bom:
        candidates += [Counting(c.unit, c.basis, True) for c in candidates]
    # Drop countings that cannot differ for this text.
    if raw == canonical:
        candidates = [c for c in candidates if c.basis == habit.basis]
    if not _ASTRAL.search(raw):
        candidates = [c for c in candidates if c.unit == habit.unit]
    seen: list[Counting] = []
    for c in candidates:
        if c not in seen:
            seen.append(c)
    named = [(s, e, n) for s, e, n in selections if n and n.strip()]
    scores: dict[Counting, int] = {}
    exact: dict[Counting, int] = {}
    mappers: dict[Counting, Mapper] = {}
    for c in seen:
        mapper = mappers[c] = Mapper(raw, canonical, c)
        fits = [text_fit(n, canonical[a:b]) if (a := mapper(s)) is not None and (b := mapper(e)) is not None
                and a <= b else 0 for s, e, n in named]
        scores[c] = sum(1 for f in fits if f)
        exact[c] = sum(1 for f in fits if f == 2)
    best = max(seen, key=lambda c: (exact[c], scores[c], -seen.index(c)))
    tied = [c for c in seen if (exact[c], scores[c]) == (exact[best], scores[best])]
    verified = True
    if len(seen) == 1:
        decided = "every counting agrees for this text"
    elif not named or scores[best] == 0:
        decided = f"by origin ({origin or 'unknown producer'}): no selection quotes its text"
        best = seen[0]
        verified = False
    elif len(tied) > 1:
        decided = "the selected text fits several countings; chose " + (
            "the producer's habit" if best == habit else "the first that fits")
    else:
        decided = "by the selected text"
    info = {"counting": best.label, "decided_by": decided, "checked": len(named), "matched": scores[best],
            "verified": verified, "alternatives": {c.label: scores[c] for c in seen if c != best}}
    return mappers[best], info


def _snap(canonical: str, start: int, end: int, name: str) -> tuple[int, int] | None:
    """Find the quoted text near where the positions point (a producer's off-by-some)."""
    needle = canonicalise(name)
    if len(needle.strip()) < 3:
        return None
    window = max(200, 2 * len(needle))
    lo, hi = max(0, start - window), min(len(canonical), end + window)
    best = None
    pos = canonical.find(needle, lo, hi)
    while pos != -1:
        if best is None or abs(pos - start) < abs(best - start):
            best = pos
        pos = canonical.find(needle, pos + 1, hi)
    return (best, best + len(needle)) if best is not None else None


# -- small value helpers -----------------------------------------------------------------------
def parse_colour(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    m = _HEX.match(v)
    if m and (v.startswith("#") or len(m.group(1)) == 6):
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        elif len(h) == 8:
            h = h[2:]  # #AARRGGBB (.NET)
        return "#" + h.upper()
    m = _RGB.match(v)
    if m and all(0 <= int(x) <= 255 for x in m.groups()):
        return "#" + "".join(f"{int(x):02X}" for x in m.groups())
    return None


def parse_datetime(value: str | None) -> str | None:
    """Any xsd:dateTime -> ``YYYY-MM-DDTHH:MM:SSZ`` (UTC); None if absent or unreadable."""
    if not value:
        return None
    v = value.strip().replace("z", "Z")
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", v)
        if not m:
            return None
        dt = datetime.fromisoformat(m.group(1))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _document_name(name: str) -> str:
    name = name.strip()
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _unique(name: str, taken: set[str], sep: str = " ") -> str:
    candidate, n = name, 2
    while candidate.casefold() in taken:
        candidate = f"{name}{sep}({n})" if sep == " " else f"{name}{sep}{n}"
        n += 1
    taken.add(candidate.casefold())
    return candidate


def _label(name: str, taken: set[str]) -> str:
    label = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_.-")
    if not label or not label[0].isalpha():
        label = "C" + label
    label = label[:28]
    return _unique(label, taken, "_")


# -- reading QDA-XML -> Exchange ---------------------------------------------------------------
class _Reader:
    def __init__(self, root: ET.Element, namespace: str, report: Report, archive: Archive | None = None,
                 what: str = "project") -> None:
        self.root = root
        self.report = report
        self.archive = archive
        self.problems: Counter[str] = Counter()
        self.guids_seen: set[str] = set()
        self.foreign_sets = 0
        self.missing = 0
        self.code_notes: list[tuple[str, str | None]] = []   # (code GUID, note GUID) from a Code's NoteRef
        self.origin = root.get("origin") or ""
        report.origin = self.origin
        expected = f"urn:QDA-XML:{what}:1.0"
        if namespace != expected:
            report.warn(f"namespace {namespace or '(none)'!r}, not {expected!r}: read as QDA-XML 1.0")

    # GUIDs: normalised; non-GUIDs get a stable derived GUID; duplicates get a fresh one.
    def guid(self, element: ET.Element, attr: str = "guid", kind: str = "", unique: bool = False) -> str | None:
        raw = element.get(attr)
        if raw is None or not raw.strip():
            if unique:
                self.problems[f"{element.tag} without the required {attr}"] += 1
                self.missing += 1
                return derived_guid("missing", kind, self.missing)
            return None
        guid = normalise_guid(raw)
        if guid is None:
            self.problems["ids that are not GUIDs (kept as stable derived GUIDs)"] += 1
            guid = derived_guid("foreign-id", raw.strip())
        if unique:
            if (kind, guid) in self.guids_seen:
                self.problems[f"{element.tag} GUID used twice (the second got a new one)"] += 1
                guid = derived_guid("duplicate", kind, guid, len(self.guids_seen))
            self.guids_seen.add((kind, guid))  # type: ignore[arg-type]
        return guid

    def ref(self, element: ET.Element, attr: str = "targetGUID") -> str | None:
        raw = element.get(attr)
        if raw is None:
            return None
        return normalise_guid(raw) or derived_guid("foreign-id", raw.strip())

    def holder(self, parent: ET.Element | None, tag: str) -> ET.Element | None:
        """The one ``<tag>`` child the schema allows, or every occurrence of it read as one: a
        file with an empty ``<Sources/>`` before the real one loses nothing (a schema warning)."""
        if parent is None:
            return None
        found = parent.findall(tag)
        if len(found) <= 1:
            return found[0] if found else None
        empty = sum(1 for f in found if len(f) == 0 and not (f.text or "").strip())
        self.problems[f"<{tag}> appears {len(found)} times in <{parent.tag}>"
                      + (f", {empty} of them empty" if empty else "")
                      + " (the schema allows one; all were read)"] += 1
        merged = ET.Element(tag, dict(found[0].attrib))
        for f in found:
            merged.extend(list(f))
        texts = [f.text.strip() for f in found if f.text and f.text.strip()]
        merged.text = "\n".join(texts) if texts else None
        return merged

    def finish(self) -> None:
        for problem, n in sorted(self.problems.items()):
            self.report.warn(f"schema: {problem}" + (f" (x{n})" if n > 1 else ""))

    # -- codebook ------------------------------------------------------------------------------
    def codes(self, holder: ET.Element | None) -> list[XCode]:
        if holder is None:
            return []
        out: list[XCode] = []
        taken: dict[str | None, set[str]] = {}
        stack: list[tuple[ET.Element, str | None]] = [(c, None) for c in reversed(holder.findall("Code"))]
        slash = 0
        while stack:
            el, parent = stack.pop()
            guid = self.guid(el, kind="code", unique=True)
            name = (el.get("name") or "").strip()
            if not name:
                self.problems["Code without a name"] += 1
                name = "Unnamed code"
            if "/" in name:
                slash += 1
                name = name.replace("/", "\u2215")
            original = name
            name = _unique(name, taken.setdefault(parent, set()))
            if name != original:
                self.report.warn(f"code {original!r} appears twice under one parent; the second is {name!r}")
            codable = (el.get("isCodable") or "true").strip().lower()
            if el.get("isCodable") is None:
                self.problems["Code without isCodable"] += 1
            elif codable not in ("true", "false", "1", "0"):
                self.problems["isCodable that is not a boolean"] += 1
            colour = parse_colour(el.get("color"))
            if el.get("color") and colour is None:
                self.problems["colours that are not #RRGGBB (a palette colour was used)"] += 1
            desc = el.find("Description")
            fields = split_description(desc.text if desc is not None else "")
            code = XCode(guid=guid, name=name, parent=parent, colour=colour,
                         description=fields["description"], include_when=fields["include_when"],
                         exclude_when=fields["exclude_when"], example=fields["example"],
                         status=fields["status"] or "active", codable=codable not in ("false", "0"))
            out.append(code)
            self.code_notes.extend((guid, self.ref(n)) for n in el.findall("NoteRef"))
            stack.extend((c, guid) for c in reversed(el.findall("Code")))
        if slash:
            self.report.warn(f"{slash} code name(s) contained '/', which qualcode uses for paths: written as '\u2215'")
        # OpenQDA's habit: unwrap a lone non-codable "Nodes"/"Codes" root (NVivo codebooks).
        tops = [c for c in out if c.parent is None]
        if len(tops) == 1 and not tops[0].codable and tops[0].name.casefold() in ("nodes", "codes", "codebook") \
                and any(c.parent == tops[0].guid for c in out):
            root = tops[0]
            out = [c for c in out if c is not root]
            for c in out:
                if c.parent == root.guid:
                    c.parent = None
            self.report.warn(f"unwrapped the non-codable root code {root.name!r}")
        folders = sum(1 for c in out if not c.codable)
        if folders:
            self.report.warn(f"{folders} non-codable (folder) code(s) imported as ordinary parent codes")
        return out

    def theme(self, s: ET.Element, codes: list[str]) -> XTheme:
        """A Set of codes: a theme (qualcode's own ``Theme: A/B`` Sets) or a candidate theme."""
        name = (s.get("name") or "").strip() or "Code set"
        if name.startswith(THEME_PREFIX):
            path = name[len(THEME_PREFIX):].strip()
        else:
            path = name.replace("/", "\u2215")
            self.foreign_sets += 1
        desc = s.find("Description")
        fields = split_theme_description(desc.text if desc is not None else "")
        return XTheme(guid=self.guid(s, kind="set", unique=True), name=path.rsplit("/", 1)[-1], path=path,
                      status=fields["status"] or "candidate", concept=fields["concept"],
                      definition=fields["definition"], colour=parse_colour(fields["colour"]), codes=codes)

    def link_themes(self, themes: list[XTheme]) -> None:
        by_path = {t.path.casefold(): t for t in themes}
        for t in themes:
            head, sep, _ = t.path.rpartition("/")
            if sep:
                parent = by_path.get(head.casefold())
                if parent is None:
                    self.report.warn(f"theme {t.path!r}: no set for its parent {head!r}; imported at the top level")
                    t.name = t.path.replace("/", "\u2215")
                else:
                    t.parent = parent.guid
        if self.foreign_sets:
            self.report.warn(f"{self.foreign_sets} set(s) of codes imported as candidate themes")
            self.foreign_sets = 0

    def code_sets(self, holder: ET.Element | None, member_attr: str) -> list[XTheme]:
        themes: list[XTheme] = []
        if holder is None:
            return themes
        if len(holder) == 0:
            self.problems["empty Sets element (invalid against the schema; ignored)"] += 1
        for s in holder.findall("Set"):
            codes = [g for g in (self.ref(m, member_attr) for m in s.findall("MemberCode")) if g]
            if codes:
                themes.append(self.theme(s, codes))
            else:
                self.report.skip("sets without member codes", s.get("name") or "")
        self.link_themes(themes)
        return themes


class _ProjectReader(_Reader):
    def __init__(self, root: ET.Element, namespace: str, report: Report, archive: Archive | None) -> None:
        super().__init__(root, namespace, report, archive, "project")
        self.ex = Exchange(title=(root.get("name") or "").strip() or "Imported study",
                           created=parse_datetime(root.get("creationDateTime")), origin=self.origin)
        self.notes_by_guid: dict[str, ET.Element] = {}
        self.note_targets: list[tuple[str, XNote]] = []  # (note GUID, template with the target)
        self.kind_of: dict[str, tuple[str, Any]] = {}     # GUID -> (kind, detail) for Links
        self.coding_by_guid: dict[str, XCoding] = {}
        self.default_user: str | None = None
        self.speaker_lines: list[tuple[str, str, str]] = []
        self.bare_selections: dict[str, str] = {}   # selections with nothing on them (yet: Links may add notes)
        self.journal_notes: set[str] = set()

    def read(self) -> Exchange:
        root, ex = self.root, self.ex
        if root.tag != "Project":
            raise InvalidInput(f"the project XML's root is <{root.tag}>, not <Project>")
        self.users(self.holder(root, "Users"))
        ex.codes = self.codes(self.holder(self.holder(root, "CodeBook"), "Codes"))
        code_guids = {c.guid for c in ex.codes}
        for c in ex.codes:
            self.kind_of[c.guid] = ("code", c.guid)
        for guid, note in self.code_notes:
            if note:
                self.note_targets.append((note, XNote(guid="", body="", target_type="code", target=guid)))
        notes = self.holder(root, "Notes")
        for n in (notes if notes is not None else []):
            if n.tag == "Note":
                guid = self.guid(n, kind="note", unique=True)
                self.notes_by_guid[guid] = n
                self.kind_of[guid] = ("note", guid)
        variables = self.variables(self.holder(root, "Variables"))
        self.sources(self.holder(root, "Sources"), variables, code_guids)
        self.cases(self.holder(root, "Cases"), variables)
        ex.variables = [v for v in variables.values() if v.scope == "case"]
        self.links(self.holder(root, "Links"))
        self.sets(self.holder(root, "Sets"))
        for n in root.findall("NoteRef"):
            if self.ref(n):
                self.note_targets.append((self.ref(n), XNote(guid="", body="", target_type="study")))
        desc = self.holder(root, "Description")
        if desc is not None and desc.text and re.match(r"qualcode\b", self.origin, re.I):
            m = re.search(r"Approach: ([\w-]+)", desc.text)
            ex.approach = m.group(1) if m else None
            m = re.search(r"Braun & Clarke phase: (\d)", desc.text)
            ex.phase = int(m.group(1)) if m else None
        self.notes()
        for name in self.bare_selections.values():
            self.report.skip("selections without codings or notes", name)
        graphs = self.holder(root, "Graphs")
        if graphs is not None:
            self.report.skip("graphs (network views) are not imported", f"{len(graphs)} graph(s)")
        self.finish()
        return ex

    # -- users ---------------------------------------------------------------------------------
    def users(self, holder: ET.Element | None) -> None:
        taken: set[str] = set()
        self.user_guids: set[str] = set()
        for u in (holder.findall("User") if holder is not None else []):
            guid = self.guid(u, kind="user", unique=True)
            name = (u.get("name") or u.get("id") or "").strip() or f"user-{guid[:8]}"
            self.ex.users.append(XUser(guid=guid, name=_unique(name, taken)))
            self.user_guids.add(guid)
        self.user_names = taken
        creator = self.ref(self.root, "creatingUserGUID")
        if len(self.ex.users) == 1:
            self.default_user = self.ex.users[0].guid
        elif creator in self.user_guids:
            self.default_user = creator

    def user(self, *elements: ET.Element) -> str:
        for el in elements:
            g = self.ref(el, "creatingUser")
            if g is not None:
                if g not in self.user_guids:
                    self.problems["creatingUser that is not among the Users (added as a coder)"] += 1
                    self.ex.users.append(XUser(guid=g, name=_unique(f"user-{g[:8]}", self.user_names)))
                    self.user_guids.add(g)
                return g
        if self.default_user is None:
            software = self.origin.split()[0] if self.origin.split() else "imported"
            guid = derived_guid("default-user", self.origin)
            self.ex.users.append(XUser(guid=guid, name=_unique(f"{software} user", self.user_names)))
            self.user_guids.add(guid)
            self.default_user = guid
            self.report.warn(f"codings or notes without a user were given to coder {self.ex.users[-1].name!r}")
        return self.default_user

    # -- variables and cases -------------------------------------------------------------------
    def variables(self, holder: ET.Element | None) -> dict[str, XVariable]:
        out: dict[str, XVariable] = {}
        for v in (holder.findall("Variable") if holder is not None else []):
            guid = self.guid(v, kind="variable", unique=True)
            raw_type = (v.get("typeOfVariable") or "Text").strip().lower()
            type_ = TYPES.get(raw_type, "text")
            if raw_type not in TYPES:
                self.problems["unknown typeOfVariable (read as Text)"] += 1
            desc = v.find("Description")
            text = (desc.text or "").strip() if desc is not None else ""
            var = XVariable(guid=guid, name=(v.get("name") or f"variable-{guid[:8]}").strip(), type=type_,
                            scope="", description=text)
            m = re.match(r"qualcode band of (.+?): (\{.*\})$", text, re.S)
            if m:
                try:
                    var.derived_from, var.bands = m.group(1), json.loads(m.group(2))
                except ValueError:
                    pass
            out[guid] = var
        return out

    def value(self, vv: ET.Element, variables: dict[str, XVariable]) -> tuple[XVariable | None, Any]:
        ref = vv.find("VariableRef")
        var = variables.get(self.ref(ref)) if ref is not None else None
        if var is None:
            self.problems["VariableValue of an unknown Variable (skipped)"] += 1
            return None, None
        for child in vv:
            if child.tag == "VariableRef":
                continue
            text = (child.text or "").strip()
            if text == "":
                return var, None
            try:
                if child.tag == "IntegerValue":
                    return var, int(text)
                if child.tag == "FloatValue":
                    return var, float(text)
                if child.tag == "BooleanValue":
                    return var, text.lower() in ("true", "1")
                if child.tag == "DateValue":
                    return var, text[:10]
            except ValueError:
                self.problems[f"{child.tag} that does not parse (kept as text)"] += 1
            return var, text
        return var, None

    def cases(self, holder: ET.Element | None, variables: dict[str, XVariable]) -> None:
        taken: set[str] = set()
        renamed = []
        for i, c in enumerate(holder.findall("Case") if holder is not None else [], start=1):
            guid = self.guid(c, kind="case", unique=True)
            name = (c.get("name") or "").strip() or f"Case{i}"
            label = name if _LABEL_OK.match(name) and name.casefold() not in taken else _label(name, taken)
            taken.add(label.casefold())
            if label != name:
                renamed.append(f"{name!r} -> {label}")
            case = XCase(guid=guid, label=label, group=None if re.search(r"\d", label) else "case")
            for vv in c.findall("VariableValue"):
                var, value = self.value(vv, variables)
                if var is None or value is None:
                    continue
                if var.name.casefold() == "group" and var.type == "text":
                    case.group = str(value)
                    continue
                var.scope = "case"  # a variable of cases is a participant attribute, whatever sources do
                name_ = var.name if var.name.casefold() not in ("label", "name", "group") else f"{var.name}_var"
                if name_ != var.name:
                    self.report.warn(f"variable {var.name!r} is a reserved participant field; imported as {name_!r}")
                    var.name = name_
                case.attributes[var.name] = value
            case.sources = [g for g in (self.ref(s) for s in c.findall("SourceRef")) if g in self.source_guids]
            if c.findall("CodeRef") or c.findall("SelectionRef"):
                self.report.skip("case references to codes or selections", name)
            self.ex.cases.append(case)
            self.kind_of[guid] = ("participant", guid)
        if renamed:
            self.report.warn("case names made into participant labels: " + ", ".join(renamed[:10])
                             + (" ..." if len(renamed) > 10 else ""))

    # -- sources -------------------------------------------------------------------------------
    def sources(self, holder: ET.Element | None, variables: dict[str, XVariable], code_guids: set[str]) -> None:
        self.source_guids: set[str] = set()
        self.source_sets: dict[str, list[str]] = {}
        if holder is None:
            return
        for el in holder:
            if el.tag == "TextSource":
                self.text_source(el, el, variables, code_guids)
            elif el.tag == "PDFSource":
                rep = el.find("Representation")
                if rep is not None:
                    self.text_source(rep, el, variables, code_guids)
                    if el.findall("PDFSelection"):
                        self.report.skip("PDF region selections (the text representation was imported)",
                                         el.get("name") or "")
                else:
                    self.report.skip("PDF sources without a plain-text representation", el.get("name") or "")
            elif el.tag in ("AudioSource", "VideoSource"):
                transcripts = el.findall("Transcript")
                for t in transcripts:
                    self.text_source(t, el, variables, code_guids, transcript=True)
                if not transcripts:
                    self.report.skip("audio/video sources without a transcript", el.get("name") or "")
                elif el.findall("AudioSelection") or el.findall("VideoSelection"):
                    self.report.skip("audio/video time selections (the transcript was imported)",
                                     el.get("name") or "")
            elif el.tag == "PictureSource":
                self.report.skip("picture sources (qualcode codes text)", el.get("name") or "")
            else:
                self.problems[f"unknown source element <{el.tag}>"] += 1

    def _source_bytes(self, el: ET.Element, name: str) -> tuple[bytes | None, str]:
        path = el.get("plainTextPath")
        if path:
            scheme, sep, rest = path.partition("://")
            if not sep:
                self.problems["plainTextPath without internal:// (read from the archive)"] += 1
                rest = path
            elif scheme.lower() == "absolute":
                self.report.skip("sources stored outside the archive (absolute paths are never read)", name)
                return None, path
            elif scheme.lower() == "relative":
                rest = rest.lstrip("/")
            info = self.archive.find(rest) if self.archive is not None else None
            if info is not None:
                return self.archive.read(info), info.filename
            if el.find("PlainTextContent") is None:
                self.report.skip("sources whose text file is not in the archive", f"{name} ({path})")
                return None, path
        content = el.find("PlainTextContent")
        if content is not None:
            return (content.text or "").encode("utf-8"), ""
        if el.get("richTextPath"):
            self.report.skip("rich-text-only sources (no plain text to anchor positions)", name)
        else:
            self.report.skip("sources without text", name)
        return None, ""

    def text_source(self, el: ET.Element, outer: ET.Element, variables: dict[str, XVariable],
                    code_guids: set[str], transcript: bool = False) -> None:
        guid = self.guid(outer if outer is not el and not transcript else el, kind="source", unique=True)
        first, second = (el, outer) if transcript else (outer, el)
        raw_name = (first.get("name") or second.get("name") or "").strip()
        data, internal = self._source_bytes(el, raw_name or guid)
        if data is None:
            return
        raw, encoding, had_bom, problems = decode_text(data)
        for p in problems:
            self.report.warn(f"{raw_name or internal}: {p}")
        canonical = canonicalise(raw)
        if not canonical.strip():
            self.report.skip("sources with empty text", raw_name or internal)
            return
        name = _document_name(raw_name or Path(internal).stem or "document")
        source = XSource(guid=guid, name=name, text=canonical, source_name=raw_name or Path(internal).name,
                         sha256=hashlib.sha256(data).hexdigest(), encoding=encoding,
                         created=parse_datetime(outer.get("creationDateTime")))
        carried = self.carried_turns(guid, canonical, name)
        if carried is not None:
            source.turns, fmt = carried
            if fmt:
                source.format = fmt
        else:
            source.turns = _turns(canonical, name)
        self.source_guids.add(guid)
        self.kind_of[guid] = ("document", guid)
        desc = outer.find("Description")
        if desc is not None and desc.text:
            other = []
            for line in desc.text.strip().splitlines():
                m = _SPEAKER_LINE.match(line.strip())
                if m:
                    self.speaker_lines.append((guid, m.group(1), m.group(2).strip()))
                else:
                    other.append(line)
            if "\n".join(other).strip():
                source.metadata["description"] = "\n".join(other).strip()
        for vv in outer.findall("VariableValue"):
            var, value = self.value(vv, variables)
            if var is not None and value is not None:
                var.scope = var.scope or "source"
                source.metadata[var.name] = value

        # Selections: positions decided for this source, then codings and notes on them.
        if transcript:
            points = {self.ref(p, "guid"): p.get("position") for p in el.findall("SyncPoint")}
            selections = []
            for t in el.findall("TranscriptSelection"):
                a, b = points.get(self.ref(t, "fromSyncPoint")), points.get(self.ref(t, "toSyncPoint"))
                if a is None or b is None:
                    self.report.skip("transcript selections without sync point positions", t.get("name") or "")
                    continue
                t.set("startPosition", a)
                t.set("endPosition", b)
                selections.append(t)
        else:
            selections = el.findall("PlainTextSelection")
        parsed = []
        for s in selections:
            try:
                parsed.append((s, int(s.get("startPosition", "")), int(s.get("endPosition", ""))))
            except ValueError:
                self.report.skip("selections without numeric positions", s.get("name") or "")
        mapper, info = choose_counting(raw, canonical, [(a, b, s.get("name")) for s, a, b in parsed],
                                       self.origin, had_bom)
        info = {"source": name, **info}
        if not info["verified"] and parsed:
            if not info["checked"]:
                why = "its selections do not carry the text they select"
            else:
                why = f"none of its {info['checked']} selection(s) quotes the text at its position in any counting"
            if not known_producer(self.origin) or info["checked"]:
                self.report.warn(f"{name}: positions could not be verified ({why}, and "
                                 + (f"the producer {self.origin!r} is not one whose counting is known"
                                    if not known_producer(self.origin) else f"the habit of {self.origin!r} was assumed")
                                 + f"); read as {info['counting']}. Check that a few codings sit on the "
                                 "right words")
        snapped = mismatched = 0
        for s, a, b in parsed:
            start, end = mapper(a), mapper(b)
            if start is None or end is None or not (0 <= start < end <= len(canonical)):
                self.report.skip("selections outside the text or empty", f"{name} {a}:{b}")
                continue
            quoted = s.get("name")
            if quoted and quoted.strip() and not same_text(quoted, canonical[start:end]):
                moved = _snap(canonical, start, end, quoted)
                if moved:
                    start, end = moved
                    snapped += 1
                elif len(canonicalise(quoted).strip()) >= 3 and canonicalise(quoted) in canonical:
                    mismatched += 1
            if not canonical[start:end].strip():
                self.report.skip("selections holding only whitespace", f"{name} {a}:{b}")
                continue
            self.selection(s, guid, start, end, code_guids)
        if snapped:
            info["re_anchored"] = snapped
            self.report.warn(f"{name}: {snapped} selection(s) moved onto the text they quote, found nearby")
        if mismatched:
            info["mismatched"] = mismatched
            self.report.warn(f"{name}: {mismatched} selection(s) do not cover the text they quote")
        self.report.positions.append(info)
        # Codings on the whole source.
        for c in outer.findall("Coding") + ([] if outer is el else el.findall("Coding")):
            first, last = len(canonical) - len(canonical.lstrip()), len(canonical.rstrip())
            self.coding(c, guid, first, last, code_guids, outer)
            self.report.count("whole-document codings")
        for n in outer.findall("NoteRef") + ([] if outer is el else el.findall("NoteRef")):
            if self.ref(n):
                self.note_targets.append((self.ref(n), XNote(guid="", body="", target_type="document", target=guid)))
        self.ex.sources.append(source)

    def carried_turns(self, guid: str, text: str, name: str) -> tuple[list[ParsedTurn], str | None] | None:
        """The turns (and source format) qualcode wrote beside the source, if they fit its text."""
        if self.archive is None:
            return None
        info = self.archive.entries.get(f"{TURNS_FOLDER}{guid}.json")
        if info is None:
            return None
        try:
            data = json.loads(self.archive.read(info).decode("utf-8"))
            if not isinstance(data, dict) or data.get("format") != TURNS_FORMAT:
                raise ValueError("not a qualcode turns file")
            if data.get("text_sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
                self.report.warn(f"{name}: its qualcode turns file belongs to another version of the text "
                                 "(edited elsewhere?); speaker turns found again from the text, caption times lost")
                return None
            turns, last = [], 0
            for row in data["turns"]:
                start, end, speaker, start_ms, end_ms = row
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) \
                        or not last <= start <= end <= len(text) \
                        or not (speaker is None or isinstance(speaker, str)) \
                        or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                                   for v in (start_ms, end_ms)):
                    raise ValueError(f"turn {row!r} does not fit the text")
                turns.append(ParsedTurn(start, end, speaker.strip() or None if speaker else None, start_ms, end_ms))
                last = end
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            self.report.warn(f"{name}: qualcode turns file unusable ({str(exc)[:80]}); turns found again from the text")
            return None
        fmt = data.get("source_format")
        return turns, fmt if isinstance(fmt, str) and re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,31}", fmt) else None

    def selection(self, s: ET.Element, source: str, start: int, end: int, code_guids: set[str]) -> None:
        guid = self.guid(s, kind="selection")
        codings = s.findall("Coding")
        notes = [self.ref(n) for n in s.findall("NoteRef") if self.ref(n)]
        desc = s.find("Description")
        comment = (desc.text or "").strip() if desc is not None else ""
        if guid:
            self.kind_of.setdefault(guid, ("passage", (source, start, end)))
        for c in codings:
            self.coding(c, source, start, end, code_guids, s)
        for n in notes:
            self.note_targets.append((n, XNote(guid="", body="", target_type="passage", target=source,
                                               start=start, end=end)))
        if comment:
            self.ex.notes.append(XNote(guid=derived_guid("selection-comment", source, start, end, comment[:40]),
                                       body=comment, user=self.user(s),
                                       created=parse_datetime(s.get("creationDateTime")), target_type="passage",
                                       target=source, start=start, end=end))
        if not codings and not notes and not comment:
            self.bare_selections[guid or f"{source}:{start}:{end}"] = s.get("name") or f"{start}:{end}"

    def coding(self, c: ET.Element, source: str, start: int, end: int, code_guids: set[str],
               holder: ET.Element) -> None:
        ref = c.find("CodeRef")
        code = self.ref(ref) if ref is not None else None
        if code not in code_guids:
            self.report.skip("codings of a code that is not in the codebook", code or "")
            return
        guid = self.guid(c, kind="coding", unique=True)
        coding = XCoding(guid=guid, source=source, code=code, user=self.user(c, holder), start=start, end=end,
                         created=parse_datetime(c.get("creationDateTime") or holder.get("creationDateTime")))
        self.ex.codings.append(coding)
        self.coding_by_guid[guid] = coding
        self.kind_of[guid] = ("coding", guid)
        for n in c.findall("NoteRef"):
            if self.ref(n):
                self.note_targets.append((self.ref(n), XNote(guid="", body="", target_type="coding", target=guid)))

    # -- links, sets, notes --------------------------------------------------------------------
    def links(self, holder: ET.Element | None) -> None:
        for link in (holder.findall("Link") if holder is not None else []):
            a, b = self.ref(link, "originGUID"), self.ref(link, "targetGUID")
            kinds = [self.kind_of.get(a or ""), self.kind_of.get(b or "")]
            if kinds[0] and kinds[0][0] == "note" and kinds[1] and kinds[1][0] != "note":
                note, other = a, kinds[1]
            elif kinds[1] and kinds[1][0] == "note" and kinds[0] and kinds[0][0] != "note":
                note, other = b, kinds[0]
            else:
                self.report.skip("links between objects other than a note and what it is about",
                                 link.get("name") or "")
                continue
            kind, detail = other
            self.bare_selections.pop(b if note == a else a or "", None)
            if kind == "passage":
                src, s, e = detail
                template = XNote(guid="", body="", target_type="passage", target=src, start=s, end=e)
            else:
                template = XNote(guid="", body="", target_type=kind, target=detail)
            self.note_targets.append((note, template))

    def sets(self, holder: ET.Element | None) -> None:
        if holder is None:
            return
        if len(holder) == 0:
            self.problems["empty Sets element (invalid against the schema; ignored)"] += 1
        for s in holder.findall("Set"):
            name = (s.get("name") or "").strip()
            notes = [g for g in (self.ref(m) for m in s.findall("MemberNote")) if g]
            if name == JOURNAL_SET:
                for g in notes:
                    self.journal_notes.add(g)
                continue
            codes = [g for g in (self.ref(m) for m in s.findall("MemberCode")) if g]
            sources = [g for g in (self.ref(m) for m in s.findall("MemberSource")) if g in self.source_guids]
            if codes:
                theme = self.theme(s, codes)
                self.ex.themes.append(theme)
                for g in notes:
                    self.note_targets.append((g, XNote(guid="", body="", target_type="theme", target=theme.guid)))
            elif sources:
                for g in sources:
                    self.source_sets.setdefault(g, []).append(name)
            elif notes:
                for g in notes:
                    self.note_targets.append((g, XNote(guid="", body="", target_type="study")))
            else:
                self.report.skip("sets without members", name)
        self.link_themes(self.ex.themes)
        by_guid = {s.guid: s for s in self.ex.sources}
        for g, names in self.source_sets.items():
            meta = by_guid[g].metadata
            meta["groups"] = "; ".join(names)
            for n in names:
                key, sep, value = n.partition(":")
                if sep and key.strip() and value.strip() and key.strip() not in meta:
                    meta[key.strip()] = value.strip()
            self.report.count("documents grouped by sets")

    def notes(self) -> None:
        used: set[str] = set()
        for guid, template in self.note_targets:
            el = self.notes_by_guid.get(guid)
            if el is None:
                self.problems["NoteRef to a note that does not exist"] += 1
                continue
            body, title = self.note_body(el)
            if not body:
                self.report.skip("empty notes", title)
                used.add(guid)
                continue
            if template.target_type == "coding" and template.target in self.coding_by_guid \
                    and guid == coding_memo_guid(template.target):  # the exporter's own, not a user's memo
                coding = self.coding_by_guid[template.target]
                coding.memo = "\n".join(m for m in (coding.memo, body) if m)
                used.add(guid)
                continue
            self.ex.notes.append(XNote(guid=guid, body=body, title=title, user=self.user(el),
                                       created=parse_datetime(el.get("creationDateTime")),
                                       updated=parse_datetime(el.get("modifiedDateTime")),
                                       target_type=template.target_type, target=template.target,
                                       start=template.start, end=template.end))
            used.add(guid)
        for guid, el in self.notes_by_guid.items():
            if guid in used:
                continue
            body, title = self.note_body(el)
            if not body:
                self.report.skip("empty notes", title)
                continue
            created = parse_datetime(el.get("creationDateTime"))
            if guid in self.journal_notes:
                m = re.search(r"(\d{4}-\d\d-\d\d)", title)
                desc = el.find("Description")
                phase = re.search(r"Phase (\d)", desc.text or "") if desc is not None else None
                day = m.group(1) if m else (created or datetime.now(timezone.utc).isoformat())[:10]
                self.ex.journal.append(XJournal(guid=guid, user=self.user(el), entry_date=day, body=body,
                                                phase=int(phase.group(1)) if phase else None, created=created))
                continue
            self.ex.notes.append(XNote(guid=guid, body=body, title=title, user=self.user(el), created=created,
                                       updated=parse_datetime(el.get("modifiedDateTime"))))
        for el in self.notes_by_guid.values():
            if el.findall("PlainTextSelection"):
                self.report.skip("selections inside notes", el.get("name") or "")

    def note_body(self, el: ET.Element) -> tuple[str, str]:
        title = (el.get("name") or "").strip()
        content = el.find("PlainTextContent")
        body = (content.text or "") if content is not None else ""
        if not body.strip() and el.get("plainTextPath") and self.archive is not None:
            _, _, rest = el.get("plainTextPath", "").partition("://")
            info = self.archive.find(rest or el.get("plainTextPath", ""))
            if info is not None:
                body = decode_text(self.archive.read(info))[0]
        if not body.strip():
            desc = el.find("Description")
            body = (desc.text or "") if desc is not None else ""
        return canonicalise(body).strip(), title


def _turns(text: str, name: str):
    """Speaker turns found by the transcript importers, when they read the text as it is."""
    try:
        parsed = parse_transcript(text.encode("utf-8"), f"{name}.txt")
    except (QualcodeError, ValueError):
        return None
    return parsed.turns if parsed.text == text else None


def _speakers(reader: _ProjectReader) -> None:
    label_to_case = {c.label.casefold(): c.guid for c in reader.ex.cases}
    for source, label, target in reader.speaker_lines:
        t = target.strip()
        if t.lower() in ("interviewer", "unknown", "other"):
            reader.ex.speakers.append((source, label, t.lower(), None))
        elif t.casefold() in label_to_case:
            reader.ex.speakers.append((source, label, "participant", label_to_case[t.casefold()]))


# -- entry points ------------------------------------------------------------------------------
def read_qdpx(path: str | Path, limits: Limits = Limits()) -> tuple[Exchange, Report]:
    """Read a .qdpx into an ``Exchange`` (nothing is written); the report says what and how."""
    path = Path(path)
    report = Report(file=path.name)
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a .qdpx file")
    archive = Archive(path, limits)
    try:
        entry = archive.project_entry(report)
        root, namespace = parse_xml(archive.read(entry), entry.filename, limits.max_depth)
        reader = _ProjectReader(root, namespace, report, archive)
        ex = reader.read()
        _speakers(reader)
    finally:
        archive.close()
    return ex, report


def import_qdpx(path: str | Path, out: str | Path, title: str | None = None,
                limits: Limits = Limits()) -> Report:
    """Import a .qdpx into the new study ``out``, created only if everything succeeds."""
    out = Path(out)
    if out.exists():
        raise InvalidInput(f"{out} already exists; import into a new study file")
    if not out.parent.exists():
        raise InvalidInput(f"folder {out.parent} does not exist")
    ex, report = read_qdpx(path, limits)
    if title:
        ex.title = title
    from qualcode.study import Study

    tmp = out.parent / f".{out.name}.importing-{os.getpid()}"
    parts = [tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")]
    for p in parts:
        p.unlink(missing_ok=True)
    try:
        study = Study.create(tmp, title=ex.title)
        try:
            load(study, ex, report, summary=f"import {Path(path).name}")
            checkpoint(study)
        finally:
            study.close()
        if out.exists():
            raise InvalidInput(f"{out} appeared while importing; nothing was written")
        os.replace(tmp, out)
    finally:
        for p in parts:
            p.unlink(missing_ok=True)
    return report


def read_qdc(path: str | Path, limits: Limits = Limits()) -> tuple[list[XCode], list[XTheme], Report]:
    """A .qdc codebook (or a project's codebook) -> codes and code sets; nothing is written."""
    path = Path(path)
    report = Report(file=path.name)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput(f"{path}: file not found") from None
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a .qdc file")
    if size > limits.max_qdc:
        raise InvalidInput(f"{path.name} is {size:,} bytes, over the codebook limit of {limits.max_qdc:,}")
    data = path.read_bytes()
    if data[:2] == b"PK":
        raise InvalidInput(f"{path.name} is a zip archive; import a .qdpx project with `qualcode import-qdpx`")
    root, namespace = parse_xml(data, path.name, limits.max_depth)
    if root.tag == "CodeBook":
        reader = _Reader(root, namespace, report, what="codebook")
        codes_el, member_attr = reader.holder(root, "Codes"), "guid"
    elif root.tag == "Project":
        reader = _Reader(root, namespace, report, what="project")
        codes_el, member_attr = reader.holder(reader.holder(root, "CodeBook"), "Codes"), "targetGUID"
    else:
        raise InvalidInput(f"{path.name}: root element <{root.tag}> is not a REFI-QDA <CodeBook>")
    if codes_el is None or not codes_el.findall("Code"):
        raise InvalidInput(f"{path.name}: the codebook has no codes")
    codes = reader.codes(codes_el)
    themes = reader.code_sets(reader.holder(root, "Sets"), member_attr)
    reader.finish()
    return codes, themes, report


def import_qdc(study, path: str | Path, update: bool = False, limits: Limits = Limits()) -> Report:
    """Add a codebook's codes to ``study`` (matched by GUID, then by path); one change."""
    codes, themes, report = read_qdc(path, limits)
    merge_codebook(study, codes, themes, report, update=update)
    return report

