"""What VTT, SRT and Whisper TXT share: reading cue blocks, cleaning markup, finding speaker
prefixes and merging cues into turns.

Cue blocks (``read_cues``): an optional id line (a number, a Teams ``GUID/13-0``, anything), a
timing line ``start --> end [settings]``, payload lines, a blank line. Missing blank lines between
cues are tolerated (a timing line always starts a new cue; a bare number just before it is taken
as its id); text outside any cue is appended to the previous cue with a warning. A timing line
whose times cannot be read is an error naming the line: ``line 12: malformed timestamp '00:0x:01,000'``;
so is a line made of two cue times without a proper ``-->`` between them (``00:00:05,000 ->
00:00:06,000``, ``00:00:05.000 00:00:06.000``): ``line 6: malformed timing line ...``; read as
speech, it would put the times into a turn and the cue's words into the previous speaker's
mouth. A cue that ends before it starts is a warning, not an error (the words are sound, only the
clock is not): its end is set to its start.

Markup (``clean``): ``<v>``, ``<c.x>``, ``<i>``, ``<b>``, ``<u>``, ``<font ...>``, ``<lang>``,
``<ruby>``/``<rt>``, karaoke time tags ``<00:00:01.000>`` and ASS ``{\\an8}`` are removed;
``&amp; &lt; &gt; &quot; &apos; &nbsp; &lrm; &rlm;`` and numeric references are decoded
(``&nbsp;`` -> U+00A0). Lines of one cue join with a single space.

Speakers in the payload (``PrefixFinder``): ``Name: text`` (split on the first ``": "`` only when
the document's label set accepts the prefix, see ``labels.choose``; a one-off common word such as
``Basically: you'll live with it.`` stays speech of the carried speaker, with a warning), WhisperX
``[SPEAKER_00]: text`` and caption-style ``>> ALICE: text`` (``>>`` alone = a new, unnamed
speaker). A cue without a prefix carries the previous speaker forward.

Merging (``merge``): consecutive segments with the same speaker join with a single space into
one turn keeping the first start and the last end. Segments with an unknown speaker also merge,
except across a pause of ``PAUSE_MS`` or more (a speakerless caption file would otherwise be one
huge turn): each pause starts a new paragraph-turn. A segment flagged ``alone`` (an SRT dialogue
dash line ``- Colin: Yeah.``) is always a turn of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from qualcode.errors import InvalidInput

from . import labels
from .construct import Block
from .timestamps import TIMING_LINE, cue_fields_ms, parse_cue_time

PAUSE_MS = 2000

_TAGS = re.compile(
    r"</?[a-zA-Z][a-zA-Z0-9]{0,20}(?:[ .\t][^<>\n]{0,300})?>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{3}>|\{\\[^{}\n]{0,100}\}"
)
_ENTITY = re.compile(r"&(amp|lt|gt|nbsp|lrm|rlm|quot|apos);|&#(\d{1,7});|&#[xX]([0-9a-fA-F]{1,6});")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "nbsp": "\u00a0", "lrm": "\u200e", "rlm": "\u200f",
          "quot": '"', "apos": "'"}


def _entity(m: re.Match[str]) -> str:
    if m.group(1):
        return _NAMED[m.group(1)]
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code == 0:
        return m.group(0)
    char = chr(code)
    if code < 0x20 or char in "\x7f\x85\u2028\u2029":
        return " "
    return char


def clean(line: str) -> str:
    """Markup removed, character references decoded, outer whitespace stripped."""
    if "<" in line or "{" in line:
        line = _TAGS.sub("", line)
    if "&" in line:
        line = _ENTITY.sub(_entity, line)
    return line.strip()


def join_lines(lines: list[str]) -> str:
    return " ".join(piece for piece in (clean(line) for line in lines) if piece)


# ---------------------------------------------------------------------------- cue blocks

@dataclass(slots=True)
class Cue:
    start_ms: int
    end_ms: int
    line_no: int  # 1-based number of the timing line
    ident: str | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class CueFile:
    cues: list[Cue]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_timing(line: str) -> bool:
    """A line meant as a timing line: one token with a digit, then ``-->`` (not "A --> B" speech)."""
    if "-->" not in line:
        return False
    left = line.split("-->", 1)[0].strip()
    return 0 < len(left) <= 40 and left.isprintable() and " " not in left and "\t" not in left and any(
        ch.isdigit() for ch in left
    )


def _fast_timing(line: str) -> tuple[int, int] | None:
    m = TIMING_LINE.fullmatch(line)
    if m is None:
        return None
    groups = m.groups()
    start, end = cue_fields_ms(*groups[:5]), cue_fields_ms(*groups[5:])
    if start is None or end is None:
        return None
    return start, end


def parse_timing(line: str, line_no: int) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of a timing line, or ``InvalidInput`` naming the bad timestamp."""
    times = _fast_timing(line)
    if times is not None:
        return times
    left, right = line.split("-->", 1)
    tokens = right.split()
    for token in (left.strip(), tokens[0] if tokens else ""):
        if parse_cue_time(token) is None:
            raise InvalidInput(f"line {line_no}: malformed timestamp {token!r}")
    return parse_cue_time(left.strip()), parse_cue_time(tokens[0])  # type: ignore[return-value]


_BLOCK_KEYWORD = re.compile(r"(NOTE|STYLE|REGION)(?:[ \t].*)?")
# Two cue times (with their fraction, as caption files always write them) around something that
# is not "-->": a timing line with a broken arrow, never speech.
_CUE_TIME_TOKEN = r"-?\d{1,3}(?::\d{1,2}){1,2}[.,]\d{1,3}"
_BROKEN_TIMING = re.compile(
    rf"[ \t]*{_CUE_TIME_TOKEN}[ \t]*(?:[-=–—~>]{{1,4}}|to)?[ \t]*{_CUE_TIME_TOKEN}(?:[ \t].*)?"
)


def broken_timing(line: str, line_no: int) -> None:
    """Refuse a timing line whose arrow is missing or misspelt (see module docstring)."""
    if "-->" not in line and _BROKEN_TIMING.fullmatch(line):
        raise InvalidInput(
            f"line {line_no}: malformed timing line {line.strip()!r} (expected 'start --> end')"
        )


def read_cues(lines: list[str], first: int = 0, *, vtt: bool = False) -> CueFile:
    out = CueFile([])
    cur: Cue | None = None
    pending_id: str | None = None
    orphaned = 0
    backwards: list[int] = []
    i, n = first, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            cur = None
            i += 1
            continue
        times = _fast_timing(line) if "-->" in line else None
        if times is None and "-->" in line and is_timing(line):
            times = parse_timing(line, i + 1)  # raises: line N: malformed timestamp '...'
        if times is None and line[:1] in "0123456789- \t":
            broken_timing(line, i + 1)
        if times is not None:
            start, end = times
            if end < start:
                backwards.append(i + 1)
                end = start
            ident = pending_id
            if cur is not None and cur.lines and re.fullmatch(r"\s*\d+\s*", cur.lines[-1]):
                ident = cur.lines.pop().strip()  # missing blank line before this cue
            cur = Cue(start, end, i + 1, ident)
            out.cues.append(cur)
            pending_id = None
            i += 1
            continue
        if cur is not None:
            cur.lines.append(line)
            i += 1
            continue
        keyword = _BLOCK_KEYWORD.fullmatch(line.rstrip()) if vtt else None
        if keyword:
            block = [line]
            i += 1
            while i < n and lines[i].strip() and not is_timing(lines[i]):
                block.append(lines[i])
                i += 1
            if keyword.group(1) == "NOTE":
                note = " ".join(part.strip() for part in block)[4:].strip()
                out.notes.append(note)
            continue
        if i + 1 < n and "-->" in lines[i + 1] and (_fast_timing(lines[i + 1]) or is_timing(lines[i + 1])):
            pending_id = line.strip()
            i += 1
            continue
        # text outside any cue: keep the words, attached to the previous cue
        if out.cues:
            out.cues[-1].lines.append(line)
            cur = out.cues[-1]
            orphaned += 1
        else:
            out.warnings.append(f"line {i + 1}: text before the first cue skipped: {line.strip()[:60]!r}")
        i += 1
    if backwards:
        out.warnings.append(
            f"{len(backwards)} cue(s) end before they start (first at line {backwards[0]}); "
            "their end was set to their start"
        )
    if orphaned:
        out.warnings.append(
            f"{orphaned} line(s) outside a cue block (a blank line inside a cue?) "
            "were added to the preceding cue"
        )
    return out


# ---------------------------------------------------------------------------- speakers

@dataclass(slots=True)
class Segment:
    text: str
    speaker: str | None
    start_ms: int | None
    end_ms: int | None
    alone: bool = False  # a turn of its own (dialogue dash line)
    new_speaker: bool = False  # an explicit speaker change without a name (">>")


_PREFIX = re.compile(
    r"(?:\[(?P<b>[^\]\n]{1,40})\][ \t]*:"
    r"|>>[ \t]*(?:(?P<g>[^:\n]{1,40}?)[ \t]*:)?"
    r"|(?P<n>[^:\n]{1,60}?)[ \t]?:)(?:[ \t]+|$)"
)


@dataclass(slots=True)
class Prefix:
    label: str | None
    end: int
    strong: bool  # bracketed or ">>" form
    marker: bool = False  # ">>" without a name


def find_prefix(text: str) -> Prefix | None:
    m = _PREFIX.match(text)
    if m is None:
        return None
    if m.group("b") is not None:
        return Prefix(m.group("b").strip(), m.end(), True)
    if text.startswith(">>"):
        name = m.group("g")
        return Prefix(name.strip() if name else None, m.end(), True, marker=name is None)
    return Prefix(m.group("n").strip(), m.end(), False)


class PrefixFinder:
    """Decide once per document which payload prefixes are speakers, then split payloads."""

    def __init__(self, texts: list[str], *, enabled: bool = True, dashed: list[bool] | None = None,
                 mapped: Iterable[str] = ()) -> None:
        counts: Counter[str] = Counter()
        forced: set[str] = set()
        self.prefixes = [find_prefix(t) if enabled else None for t in texts]
        for k, p in enumerate(self.prefixes):
            if p is not None and p.label is not None:
                counts[p.label] += 1
                if p.strong or (dashed and dashed[k] and labels.name_like(p.label)):
                    forced.add(p.label)  # "- Colin: Yeah." names its speaker
        self.accepted = labels.choose(counts, forced, mapped=mapped) if enabled else set()
        self.speech_like = labels.speech_like(counts, mapped) if self.accepted else set()
        self.labelled = sum(
            1 for p in self.prefixes if p is not None and (p.marker or p.label in self.accepted)
        )

    def split(self, index: int, text: str) -> tuple[str | None, str, bool]:
        """``(label or None, remaining text, explicit_change)`` for the ``index``-th payload."""
        p = self.prefixes[index]
        if p is None:
            return None, text, False
        if p.marker:
            return None, text[p.end :].strip(), True
        if p.label in self.accepted:
            return p.label, text[p.end :].strip(), True
        return None, text, False


_DASH = re.compile(r"[-–][ \t]*(?=[^\s\-–])")


def dialogue_lines(cleaned: list[str]) -> list[str] | None:
    """Cleaned cue lines split at dialogue dashes (``- Are you coming?`` / ``- Yes.``), else None."""
    if not cleaned or not any(_DASH.match(c) for c in cleaned):
        return None
    out: list[str] = []
    for c in cleaned:
        m = _DASH.match(c)
        if m or not out:
            out.append(c[m.end() :] if m else c)
        else:
            out[-1] += " " + c  # a wrapped line continues the dash line above it
    return out


# ---------------------------------------------------------------------------- merging

def merge(segments: list[Segment]) -> list[Block]:
    """Blocks of consecutive same-speaker segments (texts gathered in lists, joined once)."""
    blocks: list[Block] = []
    parts: list[list[str]] = []
    cur: Block | None = None
    cur_alone = False
    for seg in segments:
        if not seg.text:
            continue
        joinable = (
            cur is not None
            and not seg.alone
            and not cur_alone
            and not (seg.new_speaker and seg.speaker is None)
            and seg.speaker == cur.speaker
        )
        if joinable and seg.speaker is None:
            gap_from = cur.end_ms  # type: ignore[union-attr]
            if gap_from is not None and seg.start_ms is not None and seg.start_ms - gap_from >= PAUSE_MS:
                joinable = False
        if joinable:
            parts[-1].append(seg.text)
            if seg.end_ms is not None:
                cur.end_ms = seg.end_ms if cur.end_ms is None else max(cur.end_ms, seg.end_ms)  # type: ignore[union-attr]
        else:
            cur = Block(seg.speaker, "", seg.start_ms, seg.end_ms)
            blocks.append(cur)
            parts.append([seg.text])
        cur_alone = seg.alone
    for block, texts in zip(blocks, parts):
        block.utterance = " ".join(texts)
    return blocks


def clamp_negative(segments: list[Segment], warnings: list[str]) -> None:
    negative = 0
    for seg in segments:
        if seg.start_ms is not None and seg.start_ms < 0:
            seg.start_ms = 0
            negative += 1
        if seg.end_ms is not None and seg.end_ms < 0:
            seg.end_ms = 0
    if negative:
        warnings.append(
            f"{negative} cue(s) have negative times (transcription began mid-conversation); "
            "their start was set to 0"
        )


def speaker_segments(
    cues: list[Cue], *, prefixes: bool = True, dashes: bool = True, mapped: Iterable[str] = (),
    warnings: list[str] | None = None,
) -> tuple[list[Segment], PrefixFinder]:
    """Segments of cues whose speaker, if any, is written in the payload (SRT, Zoom, Whisper).

    A dialogue-dash cue gives one segment per dash line, each a turn of its own; otherwise the
    cue's lines join into one segment whose unlabelled text carries the previous speaker.
    A one-off common-word prefix kept as speech is reported in ``warnings`` with its cue's line.
    """
    units: list[tuple[Cue, str, bool]] = []
    for cue in cues:
        cleaned = [c for c in (clean(line) for line in cue.lines) if c]
        parts = dialogue_lines(cleaned) if dashes else None
        if parts:
            units.extend((cue, part, True) for part in parts)
        else:
            units.append((cue, " ".join(cleaned), False))
    finder = PrefixFinder(
        [text for _, text, _ in units], enabled=prefixes, dashed=[alone for _, _, alone in units], mapped=mapped
    )
    segments: list[Segment] = []
    speaker: str | None = None
    for i, (cue, text, alone) in enumerate(units):
        label, body, explicit = finder.split(i, text)
        prefix = finder.prefixes[i]
        if warnings is not None and not explicit and prefix is not None and prefix.label in finder.speech_like:
            warnings.append(labels.speech_warning(f"line {cue.line_no + 1}", prefix.label))
        if explicit:
            speaker = label
        elif alone:
            speaker = None  # an unnamed dash line: who speaks next is unknown
        who = label if alone else speaker
        segments.append(Segment(body, who, cue.start_ms, cue.end_ms, alone=alone, new_speaker=explicit))
    return segments, finder
