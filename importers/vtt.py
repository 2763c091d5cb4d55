"""WebVTT: Zoom transcripts, Microsoft Teams, noScribe, Whisper and plain caption tracks.

* Header ``WEBVTT[ text]``: the text goes to ``metadata["title"]``; header lines such as
  ``Kind: captions`` go to metadata too. ``NOTE`` blocks are skipped (their text is kept in
  ``metadata["notes"]``, with a warning); ``STYLE`` / ``REGION`` blocks are skipped.
* Times ``hh:mm:ss.ttt``, hour-less ``mm:ss.ttt`` (Whisper) and Teams' non-padded
  ``0:0:5.320``; negative Teams times are set to 0 with a warning.
* Speakers from voice spans ``<v Name>`` with or without ``</v>`` (Teams, noScribe; several
  voices in one cue become several segments; noScribe's stray ``<v //S02>`` reads as ``S02``);
  a cue without ``<v>`` in a file that has them gets an unknown speaker and a warning. Teams'
  Graph ``metadataContent`` JSON payloads (``speakerName`` / ``spokenText``) are read too.
  Files without voice spans: Zoom's ``Name: text`` payloads are split when the prefix belongs to
  the document's label set (see ``captions``); otherwise the speaker is unknown (Zoom ``.cc.vtt``,
  Whisper).
* noScribe's inline overlaps ``//S02: text //`` stay verbatim inside the turn.

Flavour (the ``format`` name): ``vtt-noscribe`` when a NOTE or the header names noScribe (or all
voices are ``S00``-style ids without ``</v>``), ``vtt-teams`` for voice spans or Graph JSON,
``vtt-zoom`` when at least half of the cues carry an accepted ``Name:`` prefix, else ``vtt``.
The text is constructed (see ``construct``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from qualcode.errors import InvalidInput
from qualcode.transcript import ParsedTranscript

from . import noscribe
from .captions import (
    Cue,
    Segment,
    clamp_negative,
    is_timing,
    join_lines,
    merge,
    read_cues,
    speaker_segments,
)
from .construct import assemble

FLAVOURS = ("vtt", "vtt-zoom", "vtt-teams", "vtt-noscribe")

_HEADER = re.compile(r"WEBVTT(?:[ \t]+(.*))?")
_HEADER_FIELD = re.compile(r"([A-Za-z][\w-]{0,30})[ \t]*:[ \t]*(.+)")
_VOICE = re.compile(r"<v(?:\.[^\s<>]{0,100})?(?:[ \t]+([^<>\n]{0,200}))?>")
_TEAMS_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}/\d+-\d+")
_DIARISER = re.compile(r"S\d{2,3}")


def looks_like_vtt(text: str) -> bool:
    return text.startswith("WEBVTT") and (len(text) == 6 or text[6] in " \t\n")


def _voice_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = " ".join(raw.split()).lstrip("/").strip()
    return name or None


def _json_segment(cue: Cue, raw: str) -> Segment | None:
    body = raw.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("spokenText"), str):
        return None
    speaker = data.get("speakerName")
    return Segment(
        join_lines(data["spokenText"].split("\n")),
        _voice_name(speaker) if isinstance(speaker, str) else None,
        cue.start_ms,
        cue.end_ms,
    )


def _voice_segments(cues: list[Cue], warnings: list[str]) -> list[Segment]:
    segments: list[Segment] = []
    missing: list[int] = []
    for cue in cues:
        raw = "\n".join(cue.lines)
        seg = _json_segment(cue, raw)
        if seg is not None:
            segments.append(seg)
            continue
        voices = list(_VOICE.finditer(raw))
        if not voices:
            text = join_lines(cue.lines)
            if text:
                missing.append(cue.line_no)
            segments.append(Segment(text, None, cue.start_ms, cue.end_ms, new_speaker=True))
            continue
        head = raw[: voices[0].start()]
        for k, voice in enumerate(voices):
            stop = voices[k + 1].start() if k + 1 < len(voices) else len(raw)
            body = raw[voice.end() : stop]
            if k == 0 and head.strip():
                body = head + " " + body
            text = join_lines(body.split("\n"))
            segments.append(Segment(text, _voice_name(voice.group(1)), cue.start_ms, cue.end_ms))
    if missing:
        warnings.append(
            f"{len(missing)} cue(s) without a <v> speaker tag (first at line {missing[0]}): "
            "speaker left unknown"
        )
    return segments


def parse(text: str, fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    lines = text.split("\n")
    header = _HEADER.fullmatch(lines[0].rstrip())
    metadata: dict[str, object] = {}
    warnings: list[str] = []
    if header is None:
        if not any(is_timing(line) for line in lines[:200]):
            raise InvalidInput("not a WebVTT file: the first line must be 'WEBVTT'")
        warnings.append("no WEBVTT header line; read as WebVTT anyway")
        i = 0
    else:
        if header.group(1) and header.group(1).strip():
            metadata["title"] = header.group(1).strip()
        i = 1
    while i < len(lines) and lines[i].strip() and "-->" not in lines[i]:
        m = _HEADER_FIELD.fullmatch(lines[i].strip())
        if m:
            metadata.setdefault(m.group(1).lower(), m.group(2).strip())
        i += 1
    cue_file = read_cues(lines, i, vtt=True)
    warnings.extend(cue_file.warnings)
    cues = cue_file.cues
    if not cues:
        raise InvalidInput("no cues found in the WebVTT file")

    is_noscribe = any("noscribe" in note.lower() for note in cue_file.notes) or "noscribe" in str(
        metadata.get("title", "")
    ).lower()
    if cue_file.notes:
        metadata["notes"] = cue_file.notes
        if is_noscribe:
            metadata.update(noscribe.header_metadata("\n".join(cue_file.notes)))
        warnings.append(f"skipped {len(cue_file.notes)} NOTE block(s) (kept in metadata)")

    voiced = any(_VOICE.search(line) for cue in cues for line in cue.lines) or any(
        cue.lines and cue.lines[0].lstrip().startswith('{"') for cue in cues
    )
    if voiced:
        segments = _voice_segments(cues, warnings)
        if is_noscribe:
            flavour = "vtt-noscribe"
        elif all(
            seg.speaker is None or _DIARISER.fullmatch(seg.speaker) for seg in segments
        ) and not any("</v>" in line for cue in cues for line in cue.lines):
            flavour = "vtt-noscribe"
        else:
            flavour = "vtt-teams"
    else:
        segments, finder = speaker_segments(cues, mapped=mapped, warnings=warnings)
        flavour = "vtt-zoom" if finder.labelled * 2 >= len(cues) and finder.accepted else "vtt"
    if any(cue.ident and _TEAMS_ID.fullmatch(cue.ident) for cue in cues[:50]):
        flavour = "vtt-teams"

    clamp_negative(segments, warnings)
    text_out, turns = assemble(merge(segments))
    if not turns:
        raise InvalidInput("the WebVTT file has cues but no text")
    metadata["cues"] = len(cues)
    return ParsedTranscript(
        text=text_out,
        turns=turns,
        format=fmt if fmt in FLAVOURS else flavour,
        metadata=metadata,
        warnings=warnings,
    )
