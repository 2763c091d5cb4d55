"""Whisper CLI ``.txt``: one segment per line, ``[00:43.810 --> 00:47.850]  text``.

Hours appear only after the first hour (``[01:02:03.000 --> ...]``). Segments have no speaker
unless a WhisperX-style ``[SPEAKER_00]: `` / ``Name: `` prefix is present; they are merged like
caption cues (a pause of two seconds or more starts a new paragraph-turn, see ``captions``).
A line without a time range continues the previous segment; a line that is a time range with
a misspelt or missing arrow (``[00:05.000 -> 00:07.000]``) is refused, naming the line, as in
SRT and WebVTT files, rather than read as speech. The text is constructed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualcode.errors import InvalidInput
from qualcode.transcript import ParsedTranscript

from .captions import _CUE_TIME_TOKEN, Cue, clamp_negative, merge, parse_timing, speaker_segments
from .construct import assemble

LINE = re.compile(r"[ \t]*\[([^\]\s]+)[ \t]*-->[ \t]*([^\]\s]*)\][ \t]*(.*)")
_BROKEN = re.compile(
    rf"[ \t]*\[[ \t]*{_CUE_TIME_TOKEN}[ \t]*(?:[-=–—~>→]{{1,4}}|to)?[ \t]*{_CUE_TIME_TOKEN}?[ \t]*\].*"
)
_FIRST = re.compile(r"\s*\[\d{1,2}:\d{2}(?::\d{2})?\.\d{3}[ \t]*-->[ \t]*\d{1,2}:\d{2}(?::\d{2})?\.\d{3}\]")


def looks_like_whisper(text: str) -> bool:
    return _FIRST.match(text) is not None


def parse(text: str, fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    cues: list[Cue] = []
    warnings: list[str] = []
    for no, line in enumerate(text.split("\n"), 1):
        m = LINE.fullmatch(line)
        if m:
            start, end = parse_timing(f"{m.group(1)} --> {m.group(2)}", no)
            cues.append(Cue(start, end, no, None, [m.group(3)]))
        elif line.strip():
            if "-->" not in line and _BROKEN.fullmatch(line):
                stamp = line.strip().split("]", 1)[0] + "]"
                raise InvalidInput(f"line {no}: malformed time range {stamp!r} (expected '[start --> end]')")
            if not cues:
                warnings.append(f"line {no}: text before the first segment skipped")
            else:
                cues[-1].lines.append(line)
    if not cues:
        raise InvalidInput("no Whisper segments found (expected '[mm:ss.mmm --> mm:ss.mmm] text' lines)")
    segments, _ = speaker_segments(cues, dashes=False, mapped=mapped, warnings=warnings)
    clamp_negative(segments, warnings)
    text_out, turns = assemble(merge(segments))
    if not turns:
        raise InvalidInput("the Whisper transcript has segments but no text")
    return ParsedTranscript(
        text=text_out, turns=turns, format="whisper", metadata={"segments": len(cues)}, warnings=warnings
    )
