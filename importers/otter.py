"""Otter.ai TXT export (also a Teams DOCX pasted into a text file, which has the same shape).

``Name  M:SS`` header lines (two or more spaces, minutes not zero-padded, ``H:MM:SS`` after an
hour, usually two trailing spaces), the turn's text on the following lines, a blank line between
turns, and the footer ``Transcribed by https://otter.ai`` (not speech, excluded). With speaker
names switched off a header is just ``0:15``. A pasted preamble (``# Transcript``, ``## Details``)
before the first header is not a turn. Text kept in place (see ``verbatim``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualcode.transcript import ParsedTranscript

from .verbatim import FOOTER, parse_verbatim

HEADER = re.compile(r"[ \t]*(?:\S[^\n]{0,58}?(?: {2,}|\t+))?\d{1,2}:\d{2}(?::\d{2})?[ \t]*")


def looks_like_otter(text: str) -> bool:
    """Two header lines (or one and the Otter footer)."""
    count = 0
    for line in text.split("\n"):
        if len(line) <= 80 and line.rstrip()[-1:].isdigit() and HEADER.fullmatch(line):
            count += 1
            if count >= 2:
                return True
    return count == 1 and "otter.ai" in text[-500:]


def parse(text: str, fmt: str | None = None, *, markdown: bool = False, mapped: Iterable[str] = ()) -> ParsedTranscript:
    result = parse_verbatim(text, markdown=markdown, mapped=mapped)
    metadata = dict(result.metadata)
    if any(FOOTER.fullmatch(line) for line in text[-300:].split("\n")):
        metadata["source"] = "otter.ai"
    return ParsedTranscript(text, result.turns, "otter", metadata=metadata, warnings=result.warnings)
