"""Build the canonical text of a *constructed* transcript (captions, Word, Whisper).

One block per turn, ``"{speaker}: {utterance}"`` (just ``"{utterance}"`` when the speaker is
unknown), blocks separated by a blank line, no trailing newline. The turn's span covers only the
utterance. Paragraphs inside one turn (Word continuation paragraphs) stay on their own lines,
separated by a single ``\\n``; blank lines inside a turn are dropped so that ``\\n\\n`` only ever
separates turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualcode.text import canonicalise
from qualcode.transcript import ParsedTurn

_SPACE_RUN = re.compile(r"\s+")


@dataclass
class Block:
    speaker: str | None
    utterance: str
    start_ms: int | None = None
    end_ms: int | None = None


def clean_speaker(speaker: str | None) -> str | None:
    if speaker is None:
        return None
    speaker = _SPACE_RUN.sub(" ", speaker).strip()
    return speaker or None


def assemble(blocks: list[Block]) -> tuple[str, list[ParsedTurn]]:
    """Join blocks into canonical text and return it with one turn per non-empty block."""
    pieces: list[str] = []
    turns: list[ParsedTurn] = []
    pos = 0
    for block in blocks:
        utterance = canonicalise(block.utterance)
        if "\n" in utterance:  # no blank line inside a turn: "\n\n" separates turns only
            utterance = "\n".join(line for line in utterance.split("\n") if line.strip())
        utterance = utterance.strip()
        if not utterance:
            continue
        speaker = clean_speaker(block.speaker)
        if pieces:
            pieces.append("\n\n")
            pos += 2
        if speaker is not None:
            prefix = speaker + ": "
            pieces.append(prefix)
            pos += len(prefix)
        pieces.append(utterance)
        turns.append(ParsedTurn(pos, pos + len(utterance), speaker, block.start_ms, block.end_ms))
        pos += len(utterance)
    return "".join(pieces), turns


def fill_end_times(blocks: list[Block]) -> None:
    """Where a block has no end time, use the next block's start (sources that only stamp starts)."""
    for block, following in zip(blocks, blocks[1:]):
        if block.end_ms is None and block.start_ms is not None and following.start_ms is not None:
            if following.start_ms >= block.start_ms:
                block.end_ms = following.start_ms
