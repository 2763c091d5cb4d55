"""Word (DOCX) transcripts: generic, Microsoft Teams, Otter.ai and Rev layouts.

The container is checked first (``docx_archive``: encrypted, truncated, zip bomb), then the body is
read in document order, paragraphs AND tables (nested tables too, merged cells once), from the main
part's XML (``docx_body``); page headers and footers are never speech (they are only used to
recognise the vendor: Rev.com footer, Otter footer).
The text is constructed (see ``construct``): one block per turn, continuation paragraphs of one
turn on their own lines.

* ``docx`` (typed in Word, Descript-style): labels as in ``verbatim`` (``Name:`` text,
  ``[00:00:24] Name:``, ``Name (00:03):``, ``Name  0:22``) plus a **bold run** at the start of a
  paragraph (``**Deb Liu** We don't ...``, colon or not); paragraphs without a label continue the
  previous turn; Heading/Title paragraphs are not speech. A table row with a label cell, an
  optional time cell and a text cell is one turn (a ``Speaker | Text`` header row is skipped).
* ``docx-teams`` (2024/25): one paragraph per turn, ``\\nName   0:04\\nsentence\\nsentence``
  (sentences join with a space), recognised on the paragraph text whatever its runs (the break
  and the bold name may share a run or not); ``... started/stopped transcription`` events are not speech;
  the title, date (``October 28, 2025, 10:07AM``) and duration (``50m 58s``) paragraphs go to
  metadata. 2021 layout: ``0:0:0.0 --> 0:0:1.510\\nSome Body\\nOK. Yeah.`` cues, merged into turns.
* ``docx-otter``: only what follows the ``TRANSCRIPT`` heading (summary, keywords and outline are
  AI-written, not speech); the ``https://otter.ai/u/...`` line is skipped; ``Name  00:46``
  paragraphs head each turn. Title, date, duration, keywords and the speaker list go to metadata.
* ``docx-rev``: ``Name (00:03):`` / ``(00:47):`` label paragraphs, text paragraphs, empty
  paragraphs; the exported-on header and Rev.com footer are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qualcode.errors import InvalidInput
from qualcode.transcript import ParsedTranscript

from . import labels
from .captions import Segment, merge, parse_timing
from .construct import Block, assemble, fill_end_times
from .docx_archive import core_title, header_footer_text, main_part_name, open_archive, read_part
from .docx_body import Para, Row, read_body
from .rev import LABEL as REV_LABEL
from .timestamps import CLOCK, STAMP, clock_ms
from .verbatim import metadata_key, parse_verbatim

FLAVOURS = ("docx", "docx-teams", "docx-otter", "docx-rev")

_HEADING_STYLE = re.compile(r"(?:Heading|Title|Subtitle|berschrift|Titre|Titel|Kop)\s*\d*", re.IGNORECASE)
_TEAMS_HEAD = re.compile(rf"(?P<name>\S.*?)(?: {{2,}}|\t+)(?P<t>-?{CLOCK})")
_TEAMS_EVENT = re.compile(r".{1,80}? (?:started|stopped) transcription")
_TEAMS_CUE = re.compile(r"-?\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d{1,3})?\s*-->\s*-?\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d{1,3})?")
_TEAMS_DATE = re.compile(r"[A-Z][a-z]+ \d{1,2}, \d{4}.*|\d{1,2} [A-Z][a-z]+ \d{4}.*")
_TEAMS_DURATION = re.compile(r"(?:\d+h ?)?\d+m ?\d+s|\d+h ?\d+m|\d+m")
_OTTER_URL = re.compile(r"https?://otter\.ai/\S*")
_OTTER_DATELINE = re.compile(r"(?P<date>.+?)\s*•\s*(?P<duration>\d{1,2}:\d{2}(?::\d{2})?)")
_LEAD_STAMP = re.compile(rf"[ \t]*{STAMP}[ \t]*")
_TIME_LABEL_REST = re.compile(rf"[ \t]*(?:{CLOCK}[ \t]*(?:\n|$)|\({CLOCK}\)[ \t]*:)")
_HEADER_CELLS = frozenset(
    "speaker name time timestamp start text transcript utterance speech turn who said".split()
)


@dataclass(slots=True)
class _Item:
    text: str  # paragraph text (w:br -> \n); for a table row, the pseudo-line built from it
    heading: bool = False
    label: str | None = None  # a bold-run label or a table row's label cell
    row: bool = False
    bold_only: bool = False  # the whole paragraph is bold: a heading, or a name on its own line
    meta: tuple[str, str] | None = None  # a "Date | 2024-03-19" table row


# ---------------------------------------------------------------------------- reading

def _bold_label(para: Para) -> tuple[str | None, str]:
    """A leading bold label and the paragraph text rewritten as ``label: rest`` when needed."""
    runs = para.runs
    text = para.text
    prefix = ""
    k = 0
    while k < len(runs) and not runs[k].text.strip():
        prefix += runs[k].text
        k += 1
    if k < len(runs) and not runs[k].bold and _LEAD_STAMP.fullmatch(runs[k].text):
        prefix += runs[k].text
        k += 1
    bold = ""
    while k < len(runs) and runs[k].bold and "\n" not in runs[k].text:
        bold += runs[k].text
        k += 1
    label = bold.strip().rstrip(":").strip()
    if not label or not labels.plausible(label) or ":" in label:
        return None, text
    rest = "".join(run.text for run in runs[k:])
    if _TIME_LABEL_REST.match(rest):
        return None, text  # "Name  00:46" (Otter) or "Name (00:03):" (Rev): a label line already
    if bold.rstrip().endswith(":") or rest.lstrip().startswith(":"):
        return label, text
    return label, f"{prefix}{label}: {rest.lstrip()}"


def _all_bold(para: Para) -> bool:
    runs = [run for run in para.runs if run.text.strip()]
    text = para.text.strip()
    return bool(runs) and all(run.bold for run in runs) and not text.endswith(":") and len(text) <= 200


def _row_item(cells: list[str]) -> _Item | None:
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) < 2:
        return None
    key = metadata_key(filled[0]) if len(filled) == 2 else None
    if key is not None:
        return _Item("", row=True, meta=(key, filled[1]))
    if all(c.lower().rstrip(":") in _HEADER_CELLS for c in filled):
        return _Item("", row=True)  # a header row
    stamp = None
    rest = []
    for c in filled:
        ms = clock_ms(c.strip("[]()"))
        if stamp is None and ms is not None:
            stamp = c.strip("[]()")
        else:
            rest.append(c)
    label = None
    if len(rest) >= 2 and "\n" not in rest[0] and labels.plausible(rest[0].rstrip(":").strip()):
        label = rest[0].rstrip(":").strip()
        rest = rest[1:]
    body = " ".join(rest)
    line = (f"[{stamp}] " if stamp else "") + (f"{label}: " if label else "") + body
    return _Item(line, label=label, row=True)


def _para_item(para: Para) -> _Item:
    if para.outline or (para.style and _HEADING_STYLE.match(para.style)):
        return _Item(para.text, heading=True)
    if _teams_turn_text(para.text):  # "Name   0:04" + speech, however Word split it into runs
        return _Item(para.text)
    if _all_bold(para):
        return _Item(para.text, bold_only=True)
    label, text = _bold_label(para)
    return _Item(text, label=label)


def _items(blocks: list[Para | Row]) -> list[_Item]:
    items: list[_Item] = []
    for block in blocks:
        if isinstance(block, Para):
            items.append(_para_item(block))
            continue
        item = _row_item(["\n".join(p.text for p in cell) for cell in block.cells])
        if item is not None:
            if item.text or item.meta:
                items.append(item)
            continue
        for cell in block.cells:  # a one-cell row, or a layout table: its paragraphs
            items.extend(_para_item(p) for p in cell)
    return items


def _read(data: bytes) -> tuple[list[_Item], str, dict[str, Any]]:
    archive = open_archive(data)
    chrome = header_footer_text(archive)
    blocks = read_body(read_part(archive, main_part_name(archive)))
    meta: dict[str, Any] = {}
    title = core_title(archive)
    if title:
        meta["title"] = title
    return _items(blocks), chrome, meta


# ---------------------------------------------------------------------------- flavours

def _teams_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _teams_turn_text(text: str) -> bool:
    """A Teams turn paragraph, read on its text alone (bold runs and breaks vary by export)."""
    lines = _teams_lines(text)
    return len(lines) >= 2 and _TEAMS_HEAD.fullmatch(lines[0]) is not None


def _is_teams_turn(item: _Item) -> bool:
    return _teams_turn_text(item.text)


def _flavour(items: list[_Item], chrome: str, filename: str) -> str:
    if "Rev.com" in chrome:
        return "docx-rev"
    texts = [item.text.strip() for item in items]
    if "TRANSCRIPT" in texts and (
        "otter" in filename.lower() or "otter.ai" in chrome or any(_OTTER_URL.fullmatch(t) for t in texts)
    ):
        return "docx-otter"
    teams = sum(1 for item in items if _is_teams_turn(item))
    teams += sum(1 for t in texts if _TEAMS_EVENT.fullmatch(t) or _TEAMS_CUE.match(t))
    if teams >= 2:
        return "docx-teams"
    if sum(1 for t in texts if REV_LABEL.fullmatch(t)) >= 2:
        return "docx-rev"
    return "docx"


def _teams(items: list[_Item], meta: dict[str, Any], warnings: list[str]) -> list[Block]:
    """2024/25 paragraphs are turns of their own; 2021 cue paragraphs merge like captions."""
    segments: list[Segment] = []
    extra: list[list[str]] = []  # paragraphs after a turn that carry no header of their own
    events = 0
    for item in items:
        lines = _teams_lines(item.text)
        if not lines:
            continue
        head = _TEAMS_HEAD.fullmatch(lines[0])
        if head and len(lines) >= 2:
            ms = 0 if head.group("t").startswith("-") else clock_ms(head.group("t"))
            segments.append(Segment(" ".join(lines[1:]), head.group("name"), ms, None, alone=True))
            extra.append([])
        elif _TEAMS_CUE.match(lines[0]) and len(lines) >= 2:
            start, end = parse_timing(lines[0], 0)
            speaker = lines[1] if len(lines) >= 3 else None
            body = " ".join(lines[2:] if len(lines) >= 3 else lines[1:])
            segments.append(Segment(body, speaker, max(start, 0), max(end, 0)))
            extra.append([])
        elif len(lines) == 1 and _TEAMS_EVENT.fullmatch(lines[0]):
            events += 1
        elif segments:
            extra[-1].append(" ".join(lines))
        elif _TEAMS_DATE.fullmatch(lines[0]) and "date" not in meta:
            meta["date"] = lines[0]
        elif _TEAMS_DURATION.fullmatch(lines[0]) and "duration" not in meta:
            meta["duration"] = lines[0]
        elif "title" not in meta:
            meta["title"] = lines[0]
    if events:
        meta["transcription_events"] = events
    for seg, more in zip(segments, extra):
        if more:
            seg.text = (seg.text + "\n" if seg.alone else seg.text + " ") + ("\n" if seg.alone else " ").join(more)
    blocks = merge(segments)
    fill_end_times(blocks)
    return blocks


def _otter_front(items: list[_Item], meta: dict[str, Any]) -> list[_Item]:
    """Metadata from Otter's front matter; the items after the TRANSCRIPT heading."""
    for index, item in enumerate(items):
        if item.text.strip() == "TRANSCRIPT":
            break
    else:
        return items
    front = [i.text.strip() for i in items[:index] if i.text.strip()]
    if front:
        meta.setdefault("title", front[0])
    for k, text in enumerate(front):
        m = _OTTER_DATELINE.fullmatch(text)
        if m:
            meta["date"], meta["duration"] = m.group("date"), m.group("duration")
        elif text == "SPEAKERS" and k + 1 < len(front):
            meta["speakers"] = [s.strip() for s in front[k + 1].split(",") if s.strip()]
        elif text == "SUMMARY KEYWORDS" and k + 1 < len(front):
            meta["keywords"] = [s.strip() for s in front[k + 1].split(",") if s.strip()]
    return [i for i in items[index + 1 :] if not _OTTER_URL.fullmatch(i.text.strip())]


def _labelled(items: list[_Item], warnings: list[str], meta: dict[str, Any],
              mapped: Iterable[str] = ()) -> list[Block]:
    """Generic/Rev/Otter Word files: the verbatim label finder over a pseudo-text of the items.

    A whole-bold paragraph is a speaker name on its own line when the same text recurs (and is a
    plausible label), otherwise a heading (a title, "Interview details"): not speech.
    """
    bold_counts: dict[str, int] = {}
    for item in items:
        if item.bold_only:
            key = item.text.strip()
            bold_counts[key] = bold_counts.get(key, 0) + 1
    lines = []
    forced = set()
    for item in items:
        if item.meta is not None:
            meta.setdefault(*item.meta)
            lines.append("")
        elif item.bold_only and bold_counts[item.text.strip()] >= 2 and labels.plausible(item.text):
            forced.add(item.text.strip())
            lines.append(item.text.strip() + ":")
        elif item.heading or item.bold_only:
            lines.append("# " + " ".join(item.text.split()))
        else:
            lines.append(item.text)
            if item.label:
                forced.add(item.label)
    pseudo = "\n".join(lines).replace("\r", "\n")
    result = parse_verbatim(pseudo, markdown=True, forced_labels=forced, mapped=mapped, title_line=False)
    warnings.extend(w for w in result.warnings if not w.startswith("line "))  # pseudo-text lines
    paragraph_of = [k for k, line in enumerate(lines, 1) for _ in range(line.replace("\r", "\n").count("\n") + 1)]
    for line_no, label in result.speech_labels:
        warnings.append(labels.speech_warning(f"paragraph {paragraph_of[line_no]}", label))
    for key, value in result.metadata.items():
        meta.setdefault(key, value)
    blocks = []
    for turn in result.turns:
        body = "\n".join(
            line.strip() for line in pseudo[turn.start : turn.end].split("\n") if line.strip()
        )
        blocks.append(Block(turn.speaker, body, turn.start_ms, turn.end_ms))
    return blocks


def detect(data: bytes, filename: str) -> str:
    items, chrome, _ = _read(data)
    return _flavour(items, chrome, filename)


def parse(data: bytes, filename: str = "", fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    items, chrome, meta = _read(data)
    flavour = fmt if fmt in FLAVOURS else _flavour(items, chrome, filename)
    warnings: list[str] = []
    if flavour == "docx-teams":
        blocks = _teams(items, meta, warnings)
    else:
        if flavour == "docx-otter":
            items = _otter_front(items, meta)
        blocks = _labelled(items, warnings, meta, mapped)
    text, turns = assemble(blocks)
    if not turns:
        raise InvalidInput("the Word document contains no transcript text")
    return ParsedTranscript(text, turns, flavour, "docx", meta, warnings)

