"""The hand-off between importers and the store: a parsed transcript.

Importers (``importers/``) turn a file's bytes into a ``ParsedTranscript``; the store keeps it.
Nothing here knows about files or formats, so the core stays free of adapters.

Offsets are Python ``str`` indices (code points) into ``text``, which must already be canonical
(see ``qualcode.text.canonicalise``): the store refuses text that is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedTurn:
    """One speaker turn: ``text[start:end]`` is what was said (the label is outside the span)."""

    start: int
    end: int
    speaker: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass
class ParsedTranscript:
    """A document ready to store.

    ``format`` names the detected source format (``text``, ``docx``, ``vtt-zoom`` ...),
    ``encoding`` the decoding used for the source bytes (``utf-8``, ``utf-8-sig``, ``utf-16-le``,
    ``cp1252``; ``docx`` for Word files). ``metadata`` carries what the source states
    (date, duration, mode, title ...). ``warnings`` are shown to the user after import.
    """

    text: str
    turns: list[ParsedTurn] = field(default_factory=list)
    format: str = "text"
    encoding: str = "utf-8"
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
