"""Synthetic long transcripts for the TUI tests and the timing script (deterministic)."""

from __future__ import annotations

import hashlib
import random

from qualcode.transcript import ParsedTranscript, ParsedTurn

WORDS = ["pain", "group", "support", "cliff", "edge", "pacing", "tuesday", "hospital", "nurse", "family", "work", "sleep", "walk", "honestly", "really", "think", "felt", "feel", "like", "know", "worse", "better", "because", "after", "before", "then", "programme", "together", "understood", "alone", "doctor", "medication", "exercise", "garden", "dog", "morning"]


def long_transcript(words: int = 50_000, seed: int = 7, with_times: bool = True) -> ParsedTranscript:
    rng = random.Random(seed)
    parts: list[str] = []
    turns: list[ParsedTurn] = []
    pos = 0
    n = 0
    ms = 0
    while n < words:
        speaker = "Interviewer" if len(turns) % 2 == 0 else "P1"
        size = rng.randint(8, 30) if speaker == "Interviewer" else rng.randint(40, 160)
        sentence, body = [], []
        for i in range(size):
            sentence.append(rng.choice(WORDS))
            if len(sentence) > rng.randint(6, 14) or i == size - 1:
                body.append(" ".join(sentence).capitalize() + rng.choice(".?!."))
                sentence = []
        speech = " ".join(body)
        label = f"{speaker}: "
        start = pos + len(label)
        turns.append(ParsedTurn(start, start + len(speech), speaker, ms if with_times else None,
                                ms + 1000 if with_times else None))
        block = label + speech + "\n\n"
        parts.append(block)
        pos += len(block)
        n += size
        ms += size * 400
    return ParsedTranscript(text="".join(parts), turns=turns, format="text")


def add_long(study, name: str = "long", words: int = 50_000, seed: int = 7) -> int:
    parsed = long_transcript(words, seed)
    digest = hashlib.sha256(parsed.text.encode()).hexdigest()
    return study.documents.add(parsed, name, f"{name}.txt", digest)["document"].id


def random_codings(study, document: str, codes: list[str], coders: list[str], n: int = 2000, seed: int = 3) -> None:
    """n codings spread over the document (one change, like an import)."""
    rng = random.Random(seed)
    doc = study.documents.get(document)
    turns = study.documents.turns(doc.id)
    with study.change("test codings", f"{n} codings"):
        for _ in range(n):
            t = rng.choice(turns)
            if t.end - t.start < 4:
                continue
            s = rng.randint(t.start, t.end - 2)
            e = min(t.end, s + rng.randint(2, 400))
            study.codings.add(doc.name, rng.choice(codes), rng.choice(coders), s, e)
