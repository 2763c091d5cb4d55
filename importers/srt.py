"""SubRip (SRT): Whisper, Otter, WhisperX, subtitle files.

Blocks of an index line (may start at 0, may be missing), a timing line
``hh:mm:ss,mmm --> hh:mm:ss,mmm`` (``.`` accepted too; trailing ``X1:`` coordinates ignored) and
text lines. Markup ``<b> <i> <u> <font ...>`` and ASS ``{\\an8}`` are removed; zero-length cues
keep their text. Speakers (see ``captions``): ``Name:`` only on the first cue of a turn (carried
forward), dialogue dashes ``- Colin: Yeah.`` (one turn per dash line), WhisperX
``[SPEAKER_00]: text`` and caption-style ``>> ALICE: text``. The text is constructed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualcode.errors import InvalidInput
from qualcode.transcript import ParsedTranscript

from .captions import clamp_negative, merge, read_cues, speaker_segments
from .construct import assemble

SRT_START = re.compile(r"\s*(?:\d+[ \t]*\n)?[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")
_COMMA_TIMING = re.compile(r"^[ \t]*\d{1,2}:\d{2}:\d{2},\d{1,3}[ \t]*-->", re.MULTILINE)


def looks_like_srt(text: str) -> bool:
    """An SRT starts with a cue (index optional) or has comma-decimal timing lines."""
    return SRT_START.match(text) is not None or _COMMA_TIMING.search(text[:20000]) is not None


def parse(text: str, fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    cue_file = read_cues(text.split("\n"))
    if not cue_file.cues:
        raise InvalidInput("no subtitle cues found (expected 'hh:mm:ss,mmm --> hh:mm:ss,mmm' lines)")
    warnings = list(cue_file.warnings)
    segments, _ = speaker_segments(cue_file.cues, mapped=mapped, warnings=warnings)
    clamp_negative(segments, warnings)
    text_out, turns = assemble(merge(segments))
    if not turns:
        raise InvalidInput("the subtitle file has cues but no text")
    return ParsedTranscript(
        text=text_out,
        turns=turns,
        format="srt",
        metadata={"cues": len(cue_file.cues)},
        warnings=warnings,
    )
