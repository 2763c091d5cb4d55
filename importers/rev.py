"""Rev (rev.com) TXT export.

``Name (MM:SS):`` label lines (``(HH:MM:SS)`` for recordings over an hour), the text on the next
line, a blank line between turns; a continuation paragraph of the same speaker has a nameless
label ``(MM:SS):`` and becomes a new turn of that speaker with its own start time. Inline tags
with their own clock (``[inaudible 00:05:14]``, ``[crosstalk 00:13:22]``) stay in the text and
never start a turn. CRLF is normalised. Text kept in place (see ``verbatim``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualcode.transcript import ParsedTranscript

from .verbatim import parse_verbatim

LABEL = re.compile(r"[ \t]*(?:[^\s(][^\n()]{0,59}?[ \t]*)?\((?:\d{1,2}:)?\d{1,2}:\d{2}\)[ \t]*:[ \t]*")


def looks_like_rev(text: str) -> bool:
    """Two label lines ``Name (MM:SS):`` / ``(MM:SS):``."""
    if "):" not in text:  # every label line ends so: most files are told apart without a line loop
        return False
    count = 0
    for line in text.split("\n"):
        if len(line) <= 90 and line.rstrip().endswith("):") and LABEL.fullmatch(line):
            count += 1
            if count >= 2:
                return True
    return False


def parse(text: str, fmt: str | None = None, *, mapped: Iterable[str] = ()) -> ParsedTranscript:
    result = parse_verbatim(text, mapped=mapped)
    return ParsedTranscript(text, result.turns, "rev", metadata=result.metadata, warnings=result.warnings)
