"""noScribe (Whisper + pyannote) TXT export, and the header text shared with its VTT NOTE.

TXT layout: a title line, ``Transcribed with noScribe vers. 0.7``, ``Audio file: ...``, an
options line ``(Language: English (en) | Speaker detection: auto | ...)``, then turns
``S01: [00:00:12] text`` (zero-padded diariser ids, ``[HH:MM:SS]`` after the label). The header
becomes metadata; pauses ``(.)`` ``(..)`` ``(12 seconds pause)`` and overlaps ``//S02: text //``
stay verbatim inside turns (an ``S02:`` inside a line never starts a turn). Text kept in place
(see ``verbatim``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualcode.transcript import ParsedTranscript

from .verbatim import parse_verbatim

_TURN = re.compile(r"^S\d{2,3}: \[\d{2}:\d{2}:\d{2}\]", re.MULTILINE)
_TOOL = re.compile(r"Transcribed with noScribe(?: vers\.?)?[ \t]*([\w.\-]+)?", re.IGNORECASE)
_AUDIO = re.compile(r"Audio file:[ \t]*(.+?)(?=[ \t]*\(Language:|\n|$)")
_OPTIONS = re.compile(r"\(((?:[^()\n]|\([^()\n]*\))*\|(?:[^()\n]|\([^()\n]*\))*)\)")


def looks_like_noscribe(text: str) -> bool:
    head = text[:3000]
    return "Transcribed with noScribe" in head or len(_TURN.findall(head)) >= 1


def header_metadata(text: str) -> dict[str, object]:
    meta: dict[str, object] = {}
    tool = _TOOL.search(text)
    if tool:
        meta["tool"] = "noScribe"
        if tool.group(1):
            meta["tool_version"] = tool.group(1)
    audio = _AUDIO.search(text)
    if audio:
        meta["audio_file"] = audio.group(1).strip()
    options = _OPTIONS.search(text)
    if options:
        parsed = {}
        for item in options.group(1).split("|"):
            key, sep, value = item.partition(":")
            if sep:
                parsed["_".join(key.strip().lower().split())] = value.strip()
        if parsed:
            meta["options"] = parsed
            if "language" in parsed:
                meta["language"] = parsed["language"]
    return meta


def parse(text: str, fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    result = parse_verbatim(text, mapped=mapped)
    metadata = dict(result.metadata)
    metadata.update(header_metadata((result.preamble or text)[:5000]))
    title = metadata.get("title")
    if isinstance(title, str) and title.startswith("Transcribed with noScribe"):
        del metadata["title"]
    return ParsedTranscript(text, result.turns, "noscribe", metadata=metadata, warnings=result.warnings)
