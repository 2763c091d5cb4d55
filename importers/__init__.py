"""Transcript importers: a file's bytes -> ``qualcode.transcript.ParsedTranscript``.

Public API::

    FORMATS            format name -> one-line description
    DEFAULT_MAX_BYTES  50 MB
    detect(data, filename) -> format name   (content first, the file name only as a hint)
    parse(data, filename, format=None, *, max_bytes=DEFAULT_MAX_BYTES, mapped=()) -> ParsedTranscript

``mapped``: speaker labels the study already maps (speaker mappings, participant labels and
names); a label seen once in a file is believed when it is one of them (see ``labels``). A
``labels.MappedLabels`` built from a callable reads them only if a file asks.

Every problem with the bytes raises ``qualcode.errors.InvalidInput`` with a one-line reason (the
CLI prefixes the file name): empty file, over the size limit, binary or undecodable bytes,
encrypted / truncated / zip-bomb DOCX (sizes are checked as decompressed, not as claimed),
malformed caption timestamps (``line 12: malformed timestamp '00:0x:01,000'``) or timing lines
(``line 6: malformed timing line '00:00:05,000 -> 00:00:06,000' ...``), an unknown format name, a
file without any transcript text.

Canonical text and offsets
--------------------------
``text`` is canonical (``qualcode.text``): BOM stripped, every line ending ``\\n``, nothing else
changed (NBSP, smart quotes, emoji kept). Offsets are code-point indices; ``text[t.start:t.end]``
is exactly what the speaker said (label and time stamp outside the span, no whitespace at its
edges); turns are in order and never overlap. Two ways to get there:

* **Kept in place** — ``text``, ``markdown``, ``otter``, ``rev``, ``noscribe``: the canonical text
  is the decoded file; turns are found where they are (``verbatim``). Title/date header lines,
  noScribe options, headings and the ``Transcribed by https://otter.ai`` footer are not turns;
  other text before the first label is, without a speaker; a one-off ``Honestly:`` is speech
  (``labels``); non-speech marks (``[inaudible 00:12:03]``, ``{Applause}``, ``(12 seconds pause)``) stay
  inside turns. ``end_ms`` is the next turn's start where both are stamped. A file without any
  speaker label gives one turn per paragraph with speaker ``None``.
* **Constructed** — ``vtt*``, ``srt``, ``whisper``, ``docx*``: the source's structure is rebuilt
  as one block per turn, ``"{speaker}: {utterance}"`` (``"{utterance}"`` when the speaker is
  unknown), blocks separated by ``"\\n\\n"``, no trailing newline; the span covers the utterance
  only (``construct``). Caption cues are merged into turns: consecutive cues of the same (or
  carried-forward) speaker join with one space, keeping the first cue's ``start_ms`` and the last
  cue's ``end_ms``; speakerless cues start a new paragraph-turn after a pause of two seconds or
  more (``captions.PAUSE_MS``). Word continuation paragraphs stay on their own lines in the block.

Detection order (first match wins, after the §11 heuristics of the format reference)
-------------------------------------------------------------------------------------
1. Zip or OLE bytes (or a ``.docx``/``.doc`` name) -> Word: ``docx-rev`` (``Rev.com`` in a
   header/footer, or Rev label paragraphs), ``docx-otter`` (``TRANSCRIPT`` paragraph and an Otter
   hint), ``docx-teams`` (``Name   0:04`` + text paragraphs, transcription events, ``0:0:0.0 -->``
   cues), else ``docx``.
2. Decoded text starting ``WEBVTT`` -> ``vtt-noscribe`` / ``vtt-teams`` / ``vtt-zoom`` / ``vtt``.
3. ``[00:43.810 --> 00:47.850]`` first line -> ``whisper``.
4. A cue (index optional) or comma-decimal timing lines -> ``srt`` (``vtt`` if named ``.vtt``).
5. Two ``Name  M:SS`` header lines -> ``otter``.
6. Two ``Name (MM:SS):`` label lines -> ``rev``.
7. ``Transcribed with noScribe`` or ``S01: [00:00:12]`` -> ``noscribe``.
8. ``**Name:**`` labels or a ``.md`` name -> ``markdown``; otherwise ``text``.

Modules: ``decoding`` (bytes -> text), ``timestamps``, ``labels`` (is it a speaker?),
``construct`` (constructed text), ``verbatim`` (in-place turns), ``otter``, ``rev``,
``noscribe``, ``captions`` (cue blocks, markup, merging), ``vtt``, ``srt``, ``whisper``,
``docx_archive`` (zip safety, parts), ``docx_body`` (Word XML -> paragraphs and table rows),
``docx_reader`` (Word layouts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from qualcode.errors import InvalidInput
from qualcode.transcript import ParsedTranscript

from . import labels, noscribe, otter, rev, srt, vtt, whisper
from .decoding import check_size, decode
from .docx_archive import OLE_MAGIC
from .verbatim import parse_verbatim

__all__ = ["DEFAULT_MAX_BYTES", "FORMATS", "detect", "parse"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

FORMATS: dict[str, str] = {
    "text": "plain-text verbatim transcript (Name: / I: / P1: labels, [hh:mm:ss] stamps)",
    "markdown": "Markdown transcript (**Name:** labels, headings not speech)",
    "docx": "Word document typed by hand or by a tool (Name: text, bold speaker runs, tables)",
    "docx-teams": "Microsoft Teams transcript downloaded as .docx",
    "docx-otter": "Otter.ai export as .docx (only the part after the TRANSCRIPT heading)",
    "docx-rev": "Rev.com transcript as .docx",
    "vtt": "WebVTT captions without speaker names (Zoom .cc.vtt, Whisper)",
    "vtt-zoom": "Zoom cloud-recording transcript (.transcript.vtt, Name: text cues)",
    "vtt-teams": "Microsoft Teams transcript (.vtt with <v Name> voice tags)",
    "vtt-noscribe": "noScribe WebVTT export (<v S01> voices, NOTE header)",
    "srt": "SubRip subtitles (Whisper, Otter, WhisperX, dialogue dashes)",
    "otter": "Otter.ai text export (Name  0:00 header lines)",
    "rev": "Rev.com text export (Name (00:03): label lines)",
    "whisper": "Whisper CLI .txt ([00:43.810 --> 00:47.850] text)",
    "noscribe": "noScribe text export (S01: [00:00:12] text)",
}

_WORD_SUFFIXES = (".docx", ".doc", ".docm", ".dotx")
_MARKDOWN_SUFFIXES = (".md", ".markdown")


def _suffix(filename: str) -> str:
    return os.path.splitext(filename or "")[1].lower()


def _is_word(data: bytes, filename: str) -> bool:
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06") or data.startswith(OLE_MAGIC[:4]):
        return True
    return _suffix(filename) in _WORD_SUFFIXES and data.startswith(b"PK")


_MD_LABEL = re.compile(r"^[ \t]*\*\*[^*\n:]{1,60}(?::\*\*|\*\*:)", re.MULTILINE)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)


def _markdown_labels(text: str) -> bool:
    """Two ``**Name:**`` labels, or three headings, in the first 200,000 characters."""
    head = text[:200000]
    # (the cheap substring tests first: most transcripts have neither, and the scans are not free)
    return (("**" in head and len(_MD_LABEL.findall(head)) >= 2)
            or ("#" in head and len(_MD_HEADING.findall(head)) >= 3))


def _detect_text(text: str, filename: str) -> str:
    suffix = _suffix(filename)
    if vtt.looks_like_vtt(text):
        try:
            return vtt.parse(text).format
        except InvalidInput:
            return "vtt"
    if whisper.looks_like_whisper(text):
        return "whisper"
    if srt.looks_like_srt(text):
        return "vtt" if suffix == ".vtt" else "srt"
    if otter.looks_like_otter(text):
        return "otter"
    if rev.looks_like_rev(text):
        return "rev"
    if noscribe.looks_like_noscribe(text):
        return "noscribe"
    if suffix in _MARKDOWN_SUFFIXES or _markdown_labels(text):
        return "markdown"
    return "text"


def detect(data: bytes, filename: str) -> str:
    """The format name of ``data`` (see the module docstring for the order of checks)."""
    if not data:
        raise InvalidInput("file is empty")
    if _is_word(data, filename):
        from . import docx_reader

        return docx_reader.detect(data, filename)
    text, _ = decode(data)
    return _detect_text(text, filename)


def parse(
    data: bytes,
    filename: str,
    format: str | None = None,  # noqa: A002 - the public name asked for
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    mapped: Iterable[str] | labels.MappedLabels = (),
) -> ParsedTranscript:
    """Parse ``data`` (auto-detected unless ``format`` is given) into a ``ParsedTranscript``."""
    mapped = labels.mapped_labels(mapped)
    if format is not None and format not in FORMATS:
        raise InvalidInput(f"unknown format {format!r}; known formats: {', '.join(FORMATS)}")
    check_size(data, max_bytes)
    if (format or "").startswith("docx") or (format is None and _is_word(data, filename)):
        from . import docx_reader

        return docx_reader.parse(data, filename, format, mapped=mapped)
    text, encoding = decode(data)
    suffix = _suffix(filename)
    if format is None and vtt.looks_like_vtt(text):
        result = vtt.parse(text, mapped=mapped)
    else:
        chosen = format or _detect_text(text, filename)
        markdown = chosen == "markdown" or suffix in _MARKDOWN_SUFFIXES
        if chosen.startswith("vtt"):
            result = vtt.parse(text, chosen, mapped=mapped)
        elif chosen == "srt":
            result = srt.parse(text, mapped=mapped)
        elif chosen == "whisper":
            result = whisper.parse(text, mapped=mapped)
        elif chosen == "otter":
            result = otter.parse(text, markdown=markdown, mapped=mapped)
        elif chosen == "rev":
            result = rev.parse(text, mapped=mapped)
        elif chosen == "noscribe":
            result = noscribe.parse(text, mapped=mapped)
        else:
            found = parse_verbatim(text, markdown=markdown, mapped=mapped)
            result = ParsedTranscript(text, found.turns, chosen, metadata=found.metadata, warnings=found.warnings)
    if not result.turns:
        raise InvalidInput("no transcript text found")
    result.encoding = encoding
    return result
