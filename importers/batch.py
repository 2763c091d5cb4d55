"""Importing files into a study: the library call behind ``qualcode import`` (and the TUI).

``import_file(study, path)`` reads the bytes once, hashes them (re-importing the same bytes is a
no-op), parses them with the format's importer and hands the result to the store. Errors are
``InvalidInput`` with a reason; the caller names the file.

The summary's ``notes`` say what the researcher may not expect: a file whose name matches an
existing document's source file but whose bytes differ is added beside it as ``name (2)`` (a
second interview may share a file name), and ``--replace`` is the way to update the first;
``--speaker`` labels that the file does not use map nothing. ``collect`` reports the files in a
folder that look like transcripts in a format qualcode cannot read (``UNSUPPORTED``), so they
are skipped with a reason instead of silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from qualcode.errors import InvalidInput

from . import DEFAULT_MAX_BYTES, parse
from .labels import MappedLabels

MB = 1024 * 1024
TRANSCRIPT_SUFFIXES = (".docx", ".txt", ".vtt", ".srt", ".md", ".text")
# Documents a transcript often comes as, that qualcode does not read: why, and what to do.
UNSUPPORTED = {
    ".doc": "an old binary Word file; save it as .docx",
    ".docm": "a macro-enabled Word file; save it as .docx",
    ".dotx": "a Word template; save it as .docx",
    ".rtf": "an RTF file; save it as .docx or .txt",
    ".odt": "an OpenDocument text; save it as .docx",
    ".pdf": "a PDF; export the transcript as .docx or .txt",
}


def collect(paths: Iterable[str | Path], skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Files named, plus transcript-looking files inside named folders (sorted, recursive;
    hidden files and README files inside folders are left out). Files in the folders with an
    ``UNSUPPORTED`` suffix are appended to ``skipped`` as ``(path, reason)``."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file() or f.stem.lower().startswith("readme") or any(
                        part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                suffix = f.suffix.lower()
                if suffix in TRANSCRIPT_SUFFIXES:
                    found.append(f)
                elif suffix in UNSUPPORTED and skipped is not None:
                    skipped.append((f, f"not imported: {UNSUPPORTED[suffix]}"))
        else:
            found.append(p)
    return found


def document_name(filename: str) -> str:
    """``P1_interview.txt`` -> ``P1_interview`` (a Zoom ``x.transcript.vtt`` keeps ``.transcript``)."""
    for suffix in TRANSCRIPT_SUFFIXES:
        if filename.lower().endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def import_file(study, path: str | Path, format: str | None = None, replace: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES, speakers: dict[str, str] | None = None) -> dict[str, Any]:
    """Import one transcript; returns a summary (status added/unchanged/replaced, format, turns ...).

    ``speakers`` maps raw speaker labels to participant labels (or ``interviewer``/``unknown``)
    for this document only.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput("file not found") from None
    if path.is_dir():
        raise InvalidInput("is a folder")
    if size > max_bytes:
        raise InvalidInput(f"file is {size / MB:.1f} MB, over the {max_bytes / MB:g} MB import limit")
    data = path.read_bytes()
    # read from the study only if the file has a one-off label to check (most files do not)
    mapped = MappedLabels(lambda: study.speakers.known_labels() | set(speakers or {}))
    parsed = parse(data, path.name, format, max_bytes=max_bytes, mapped=mapped)
    digest = hashlib.sha256(data).hexdigest()
    same = study.documents.find_by_hash(digest)
    if same is not None:  # the same bytes again: nothing to write
        return _summary(study, path, "unchanged", same, {}, parsed.warnings, _unused(study, same, speakers))
    earlier = [] if replace else study.documents.from_source(path.name)
    with study.change("import", f"import {path.name}"):
        result = study.documents.add(parsed, name=document_name(path.name), source_name=path.name,
                                     sha256=digest, replace=replace)
        doc = result["document"]
        mapped = False
        if speakers:
            labels = study.documents.speaker_counts(doc.id)
            for label, target in speakers.items():
                if label in labels:
                    study.speakers.map(label, target, document=doc.name)
                    mapped = True
        if mapped:  # the participants changed since ``add`` read the document
            doc = study.documents.get(doc.id)
    notes = []
    if earlier:
        names = ", ".join(repr(d.name) for d in earlier)
        notes.append(f"a document from a file named {path.name!r} already exists ({names}) with other "
                     f"content; this file was added as {doc.name!r}. If it is a new version of that "
                     "transcript, undo and import it with --replace to update the document instead")
    summary = _summary(study, path, result["status"], doc, result["codings"], parsed.warnings,
                       _unused(study, doc, speakers), notes)
    if result.get("dropped"):
        summary["dropped_codings"] = result["dropped"]
    return summary


def _unused(study, doc, speakers: dict[str, str] | None) -> list[str]:
    """``--speaker`` labels that do not occur in the document (they map nothing)."""
    if not speakers:
        return []
    labels = study.documents.speaker_counts(doc.id)
    return [label for label in speakers if label not in labels]


def _summary(study, path: Path, status: str, doc, codings: dict, warnings: list[str],
             unused_speakers: list[str], notes: list[str] | None = None) -> dict[str, Any]:
    counts = study.documents.speaker_counts(doc.id)
    return {"file": str(path), "status": status, "document": doc.name, "format": doc.format,
            "encoding": doc.encoding, "turns": sum(counts.values()), "speakers": sorted(k for k in counts if k),
            "participants": list(doc.participants),
            "words": doc.word_count, "codings": codings, "warnings": warnings, "notes": notes or [],
            "unused_speakers": unused_speakers}
