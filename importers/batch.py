"""Importing files into a study: the library call behind ``qualcode import`` (and the TUI).

``import_file(study, path)`` reads the bytes once, hashes them (re-importing the same bytes is a
no-op), parses them with the format's importer and hands the result to the store. Errors are
``InvalidInput`` with a reason; the caller names the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from qualcode.errors import InvalidInput

from . import DEFAULT_MAX_BYTES, parse

MB = 1024 * 1024
TRANSCRIPT_SUFFIXES = (".docx", ".txt", ".vtt", ".srt", ".md", ".text")


def collect(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, plus transcript-looking files inside named folders (sorted, recursive;
    hidden files and README files inside folders are skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TRANSCRIPT_SUFFIXES
                            and not f.stem.lower().startswith("readme")
                            and not any(part.startswith(".") for part in f.relative_to(p).parts))
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
    mapped = study.speakers.known_labels() | set(speakers or {})
    parsed = parse(data, path.name, format, max_bytes=max_bytes, mapped=mapped)
    digest = hashlib.sha256(data).hexdigest()
    same = study.documents.find_by_hash(digest)
    if same is not None:  # the same bytes again: nothing to write
        return _summary(study, path, "unchanged", same, {}, parsed.warnings)
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
    return _summary(study, path, result["status"], doc, result["codings"], parsed.warnings)


def _summary(study, path: Path, status: str, doc, codings: dict, warnings: list[str]) -> dict[str, Any]:
    counts = study.documents.speaker_counts(doc.id)
    return {"file": str(path), "status": status, "document": doc.name, "format": doc.format,
            "encoding": doc.encoding, "turns": sum(counts.values()), "speakers": sorted(k for k in counts if k),
            "participants": list(doc.participants),
            "words": doc.word_count, "codings": codings, "warnings": warnings}
