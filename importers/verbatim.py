"""Verbatim transcripts whose text is kept as it is: plain text, Markdown, Otter/Rev/noScribe TXT.

The canonical text IS the decoded file; turns are found in place, line by line:

* ``Name: text``, ``I:`` / ``R:`` / ``P1:``, ``Interviewer1 : text``, ``Teacher 4:<TAB>text``,
  ``Teacher 4-<TAB>text``, `` Interviewee: No.`` (leading space), ``>> ALICE: text``;
* a stamp before or after the label: ``[00:00:24] Lenny: text``, ``S01: [00:00:12] text``,
  ``Name: (03:31)`` with the text on the next line; stamps in ``[..]``, ``{..}``, ``#..#`` or
  ``(..)`` (see ``timestamps.STAMP``);
* Markdown ``**Name:** text`` / ``**Name**: text``;
* Rev label lines ``Name (mm:ss):`` / ``Name (hh:mm:ss):`` and the nameless ``(mm:ss):`` of a
  continuation paragraph (same speaker, new turn with its own time);
* Otter header lines ``Name  M:SS`` (two or more spaces; a Teams DOCX pasted as text,
  ``Name   0:04``, has the same shape) and, with names switched off, bare ``0:15`` lines;
* in documents whose labels carry a leading stamp, a paragraph that starts with a stamp but no
  name (``[00:00:58] We also talk ...``) continues the previous speaker as a new turn.

Which colon prefixes are labels is decided for the whole document (``labels.choose``): frequent,
known role/diariser ids, mapped in the study (``mapped``), or name-like once the document has a
label set. A one-off ``Honestly:`` / ``Monday:`` (a common word, see ``labels``) is speech: the
line stays in the previous turn and a warning names it (``speech_labels``). Lines before the first
label are the preamble: a first block made only of ``Date: ...`` / ``Mode: ...`` lines goes to
``metadata``, and so does a title (a first paragraph of one short line, or a heading); tool lines
(``Transcribed with noScribe``, ``Audio file: ...``), bracketed marks (``(12 seconds pause)``)
and Markdown headings are not speech. Every other preamble paragraph ("So I was saying before you
switched it on ...") is a turn without a speaker, so that it can be searched and coded
(``_preamble_turns``; Word passes ``title_line=False``: its titles are styled, not guessed). A turn's span starts at the first
character of speech after the label (and after a stamp that follows it) and runs to the end of
its last continuation paragraph, trailing whitespace excluded; ``Transcribed by https://otter.ai``
footers (and, in Markdown, headings and rules) end a turn without being part of it. Non-speech
marks (``[inaudible 00:12:03]``, ``{Applause}``, ``(12 seconds pause)``) and noScribe overlaps
(``//S02: text //``) stay inside the turn. ``start_ms`` comes from the label's stamp;
``end_ms`` is the next turn's start when both are known. With no labels at all, every paragraph
(or every line, if the file has no blank lines) is a turn with an unknown speaker.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from qualcode.transcript import ParsedTurn

from . import labels
from .timestamps import CLOCK, STAMP, clock_ms, stamp_ms

_LABEL_START = r"[^\s:：\[\]{}()#*<>\"“”/\-]"
COLON_LINE = re.compile(
    rf"[ \t]*(?:(?:(?P<pre>{STAMP})|(?P<bare>\d{{1,2}}:\d{{2}}:\d{{2}})(?=\t))[ \t]*)?(?:>>[ \t]*)?"
    rf"(?P<label>{_LABEL_START}[^:：\n\t]{{0,59}}?)[ \t]*(?::(?=[ \t]|$)|：|-(?=\t))[ \t]*"
    rf"(?:(?P<post>{STAMP})[ \t]*)?"
)
MD_LINE = re.compile(
    rf"[ \t]*(?:(?P<pre>{STAMP})[ \t]*)?\*\*[ \t]*(?P<label>[^*\n:]{{1,60}}?)[ \t]*"
    rf"(?::[ \t]*\*\*|\*\*[ \t]*:)[ \t]*(?:(?P<post>{STAMP})[ \t]*)?"
)
REV_LINE = re.compile(
    rf"[ \t]*(?P<label>[^\s():\[\]][^\n():]{{0,59}}?)?[ \t]*\((?P<t>{CLOCK})\)[ \t]*:[ \t]*"
)
OTTER_LINE = re.compile(
    r"[ \t]*(?:(?P<label>\S[^\n]{0,58}?)(?: {2,}|\t+))?(?P<t>\d{1,2}:\d{2}(?::\d{2})?)[ \t]*"
)
STAMP_LINE = re.compile(rf"[ \t]*(?P<pre>{STAMP})[ \t]+(?=\S)")

_PRE = COLON_LINE.groupindex["pre"] + 1
_POST = COLON_LINE.groupindex["post"] + 1
_MD_PRE = MD_LINE.groupindex["pre"] + 1
_MD_POST = MD_LINE.groupindex["post"] + 1
_SL_PRE = STAMP_LINE.groupindex["pre"] + 1

FOOTER = re.compile(r"[ \t]*Transcribed by https?://\S+[ \t]*")
_MD_HEADING = re.compile(r"[ \t]*(?P<hashes>#{1,6})[ \t]+(?P<label>[^#\n]*?)[ \t]*#*[ \t]*")
_MD_BREAK = re.compile(r"[ \t]*(?:#{1,6}(?:[ \t].*)?|(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})")
_NONSPACE = re.compile(r"\S")

_META_NAMES = (
    r"Date|Time|Duration|Length|Location|Place|Setting|Mode|Title|Project|Study|Transcriber"
    r"|Transcribed by|Recording|Audio file|File|Language|Site|Session|Interview date|Interviewer"
    r"|Interviewee|Participant|Participants|Respondent|Moderator|Age|Gender|Role|ID|Pseudonym"
    r"|Group|Format|Type"
)
_META_NAME = re.compile(rf"(?:{_META_NAMES})", re.IGNORECASE)
_META_KEY = re.compile(
    rf"[ \t]*(?:[#*_]+[ \t]*)?(?P<key>{_META_NAMES})[ \t]*(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?"
    r"[ \t]*(?P<value>\S.*?)[ \t]*",
    re.IGNORECASE,
)


def metadata_key(name: str) -> str | None:
    """``"Interview date"`` -> ``"interview_date"`` for the header keys we recognise, else None."""
    name = name.strip().rstrip(":").strip()
    if _META_NAME.fullmatch(name):
        return "_".join(name.lower().split())
    return None


_PURE_META = frozenset(
    "date time duration length location place setting mode title project study transcriber "
    "transcribed_by recording audio_file file language site session interview_date format type "
    "age gender role id pseudonym group".split()
)


@dataclass(slots=True)
class _Cand:
    kind: str  # colon | md | rev | otter | stamp | heading
    label: str | None
    ms: int | None
    line_no: int
    line_start: int
    speech: int
    pre_stamp: bool = False
    level: int = 0  # Markdown heading level


@dataclass
class VerbatimResult:
    turns: list[ParsedTurn]
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    preamble: str = ""
    speech_labels: list[tuple[int, str]] = field(default_factory=list)  # (0-based line, label) kept as speech


def _scan_line(line: str, no: int, start: int) -> _Cand | None:
    stripped = line.rstrip()
    if not stripped:
        return None
    if "**" in line:
        m = MD_LINE.match(line)
        if m:
            ms = stamp_ms(m, _MD_PRE) if m.group("pre") else None
            if m.group("post"):
                ms = stamp_ms(m, _MD_POST)
            return _Cand("md", m.group("label").strip(), ms, no, start, start + m.end(), bool(m.group("pre")))
    if "):" in line or ") :" in line:
        m = REV_LINE.match(line)
        if m:
            label = m.group("label")
            return _Cand("rev", label.strip() if label else None, clock_ms(m.group("t")), no, start, start + m.end())
    if stripped[-1].isdigit() and ":" in stripped:
        m = OTTER_LINE.fullmatch(line)
        if m and ":" not in (m.group("label") or ""):  # "R: we met at  10:30" is a colon label
            label = m.group("label")
            return _Cand("otter", label.strip() if label else None, clock_ms(m.group("t")), no, start, start + m.end())
    if ":" in line or "：" in line or "-\t" in line:
        m = COLON_LINE.match(line)
        if m:
            ms = stamp_ms(m, _PRE) if m.group("pre") else None
            if m.group("bare"):
                ms = clock_ms(m.group("bare"))
            if m.group("post"):
                ms = stamp_ms(m, _POST)
            pre = bool(m.group("pre") or m.group("bare"))
            return _Cand("colon", m.group("label").strip(), ms, no, start, start + m.end(), pre)
    if stripped.lstrip()[:1] in ("[", "{", "(", "#"):
        m = STAMP_LINE.match(line)
        if m:
            return _Cand("stamp", None, stamp_ms(m, _SL_PRE), no, start, start + m.end(), True)
    return None


def _header_block(lines: list[str]) -> tuple[int, dict[str, str]]:
    """Lines of a leading ``Key: value`` block (plus an optional title line) and their metadata."""
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    end = first
    while end < len(lines) and lines[end].strip():
        end += 1
    if end >= len(lines) or not any(line.strip() for line in lines[end:]):
        return 0, {}
    meta: dict[str, str] = {}
    for i in range(first, end):
        m = _META_KEY.fullmatch(lines[i])
        if m:
            key = "_".join(m.group("key").lower().split())
            meta.setdefault(key, m.group("value").strip("* "))
        elif i == first and ":" not in lines[i]:
            meta["title"] = lines[i].strip().lstrip("#").strip().strip("*").strip()
        else:
            return 0, {}
    if not any(key in _PURE_META for key in meta if key != "title"):
        return 0, {}
    return end, meta


def _accept(cands: list[_Cand], forced: set[str], mapped: Iterable[str] = ()) -> tuple[list[_Cand], set[str], list[_Cand]]:
    """The candidates that really start turns (see module docstring), the label set, and the
    one-off common-word candidates kept as speech."""
    per_kind = Counter(c.kind for c in cands)
    colon_counts: Counter[str] = Counter(c.label for c in cands if c.kind == "colon" and c.label)
    strong = labels.choose(colon_counts, forced, allow_single_names=False, mapped=mapped)
    weak = labels.single_names(colon_counts, mapped) if strong else set()
    doubtful = labels.speech_like(colon_counts, mapped) if strong else set()
    as_speech: list[_Cand] = []
    structural = {kind for kind in ("md", "rev", "otter") if per_kind[kind] >= 2}
    heading_counts = Counter((c.label, c.level) for c in cands if c.kind == "heading")
    heading_ok = {
        key for key, n in heading_counts.items()
        if key[0] and (n >= 2 or key[0] in forced) and labels.plausible(key[0])
    }
    speaker_levels = {level for _, level in heading_ok}
    heading_ok |= {  # a speaker heard once, at the level of the other speaker headings
        key for key, n in heading_counts.items()
        if n == 1 and key[1] in speaker_levels and labels.plausible(key[0]) and labels.name_like(key[0])
    }
    pre_stamped = any(c.pre_stamp and c.kind in ("colon", "md") and c.label in strong for c in cands)
    has_labels = bool(strong) or bool(structural)
    stamp_ok = pre_stamped or (not has_labels and per_kind["stamp"] >= 2)

    accepted: list[_Cand] = []
    started = False
    for c in cands:
        if c.kind == "colon":
            ok = c.label in strong or (started and c.label in weak)
            if not ok and started and c.label in doubtful:
                as_speech.append(c)
        elif c.kind in structural:
            ok = (c.label is None and started) or (c.label is not None and labels.plausible(c.label))
            if c.label is None and c.kind == "otter" and not started:
                ok = True  # Otter with speaker names switched off: every header is a bare time
        elif c.kind in ("md", "rev", "otter"):
            ok = c.label is not None and c.label in strong  # a lone variant of a known speaker
        elif c.kind == "heading":
            ok = (c.label, c.level) in heading_ok
        elif c.kind == "stamp":
            ok = stamp_ok and (started or not has_labels)
        else:
            ok = False
        if ok:
            accepted.append(c)
            started = True
    return accepted, strong | weak, as_speech


def _paragraph_turns(lines: list[str], first_line: int, stop_lines: set[int]) -> list[ParsedTurn]:
    """One turn per paragraph (per line when the file has no blank lines), speaker unknown."""
    filled = [no for no in range(first_line, len(lines)) if lines[no].strip()]
    by_line = bool(filled) and len(filled) == filled[-1] - filled[0] + 1
    turns: list[ParsedTurn] = []
    pos = sum(len(line) + 1 for line in lines[:first_line])
    start = end = -1
    for no in range(first_line, len(lines)):
        line = lines[no]
        body = line.strip()
        if not body or no in stop_lines:
            if start >= 0:
                turns.append(ParsedTurn(start, end))
                start = -1
        else:
            line_start = pos + len(line) - len(line.lstrip())
            line_end = pos + len(line.rstrip())
            if by_line:
                turns.append(ParsedTurn(line_start, line_end))
            else:
                if start < 0:
                    start = line_start
                end = line_end
        pos += len(line) + 1
    if start >= 0:
        turns.append(ParsedTurn(start, end))
    return turns


_TOOL_LINE = re.compile(r"[ \t]*(?:Transcribed (?:with|by) .*|\(.*\)|\[.*\]|\{.*\})[ \t]*")
_TITLE_WORDS = 12


def _not_speech(paragraph: list[str]) -> bool:
    """Preamble lines that are header, not speech: ``Key: value``, tool lines, bracketed marks."""
    return all(_META_KEY.fullmatch(line) or _TOOL_LINE.fullmatch(line) for line in paragraph)


def _preamble_turns(text: str, lines: list[str], first: int, stop: int, stop_lines: set[int],
                    title_line: bool, by_line: bool) -> tuple[list[ParsedTurn], str | None]:
    """Speakerless turns for the speech before the first label, and the title if one was seen.

    Paragraphs are blank-line separated (single lines when ``by_line``); headings and rules
    (``stop_lines``) separate them too and are never turns."""
    paragraphs: list[list[int]] = []
    current: list[int] = []
    for no in range(first, stop):
        if not lines[no].strip() or no in stop_lines:
            if current:
                paragraphs.append(current)
            current = []
            if no in stop_lines and not paragraphs and title_line:
                title_line = False  # a heading came first: that is the title
            continue
        current.append(no)
        if by_line:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    offsets = [0]
    for line in lines[:stop]:
        offsets.append(offsets[-1] + len(line) + 1)
    turns: list[ParsedTurn] = []
    title = None
    for k, para in enumerate(paragraphs):
        body = [lines[no] for no in para]
        if _not_speech(body):
            continue
        if k == 0 and title_line and len(para) == 1 and len(body[0].split()) <= _TITLE_WORDS:
            title = body[0].strip()
            continue
        start = offsets[para[0]] + len(body[0]) - len(body[0].lstrip())
        end = offsets[para[-1]] + len(body[-1].rstrip())
        turns.append(ParsedTurn(start, end))
    return turns, title


def parse_verbatim(
    text: str, *, markdown: bool = False, forced_labels: Iterable[str] = (), mapped: Iterable[str] = (),
    title_line: bool = True,
) -> VerbatimResult:
    """Find the turns of canonical ``text`` in place (``mapped``: labels the study maps;
    ``title_line``: a first short preamble line is a title, not speech)."""
    lines = text.split("\n")
    header_end, meta = _header_block(lines)
    cands: list[_Cand] = []
    stops: list[int] = []  # offsets of lines that end a turn without being speech
    stop_lines: set[int] = set()
    pos = 0
    for no, line in enumerate(lines):
        if not line:  # a blank line: never a label, a footer or a break (half the lines of most files)
            pos += 1
            continue
        if no >= header_end:
            if FOOTER.fullmatch(line) or (markdown and _MD_BREAK.fullmatch(line)):
                stops.append(pos)
                stop_lines.add(no)
                heading = _MD_HEADING.fullmatch(line) if markdown else None
                if heading and heading.group("label"):  # "### Interviewer" on its own line
                    level = len(heading.group("hashes"))
                    cands.append(_Cand("heading", heading.group("label"), None, no, pos, pos + len(line), level=level))
            else:
                cand = _scan_line(line, no, pos)
                if cand is not None:
                    cands.append(cand)
        pos += len(line) + 1

    result = VerbatimResult([], dict(meta))
    header_offset = sum(len(line) + 1 for line in lines[:header_end])
    accepted, _, as_speech = _accept(cands, set(forced_labels), mapped)
    if not accepted:
        result.turns = _paragraph_turns(lines, header_end, stop_lines)
        if result.turns:
            result.warnings.append("no speaker labels found: one turn per paragraph, speaker unknown")
        return result

    result.preamble = text[header_offset : accepted[0].line_start]
    for cand in as_speech:
        result.speech_labels.append((cand.line_no, cand.label))
        result.warnings.append(labels.speech_warning(f"line {cand.line_no + 1}", cand.label))
    filled = [no for no, line in enumerate(lines) if line.strip()]
    by_line = not title_line or (bool(filled) and len(filled) == filled[-1] - filled[0] + 1)
    turns, _ = _preamble_turns(
        text, lines, header_end, accepted[0].line_no, stop_lines, title_line and header_end == 0, by_line)
    lead = _NONSPACE.search(text, header_offset)
    speech_first = bool(turns) and lead is not None and turns[0].start == lead.start()
    speaker: str | None = None
    for i, cand in enumerate(accepted):
        limit = accepted[i + 1].line_start if i + 1 < len(accepted) else len(text)
        k = bisect_left(stops, cand.line_start + 1)
        if k < len(stops) and stops[k] < limit:
            limit = stops[k]
        if cand.label is not None:
            speaker = cand.label
        first = _NONSPACE.search(text, cand.speech, limit)
        if first is None:
            result.warnings.append(
                f"line {cand.line_no + 1}: speaker label {speaker!r} without speech, skipped"
            )
            continue
        start = first.start()
        end = start + len(text[start:limit].rstrip())
        turns.append(ParsedTurn(start, end, speaker, cand.ms))
    for turn, following in zip(turns, turns[1:]):
        if turn.start_ms is not None and following.start_ms is not None:
            if following.start_ms >= turn.start_ms:
                turn.end_ms = following.start_ms
    result.turns = turns
    title = None if speech_first else _first_line(result.preamble)
    if title and "title" not in result.metadata:
        result.metadata["title"] = title
    return result


def _first_line(preamble: str) -> str | None:
    for line in preamble.split("\n"):
        line = line.strip().lstrip("#").strip().strip("*").strip()
        if line:
            return line if len(line) <= 200 else None
    return None
