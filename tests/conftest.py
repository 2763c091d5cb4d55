"""Shared fixtures: small studies in tmp_path and an in-process CLI runner."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from qualcode.cli import main
from qualcode.study import Study
from qualcode.transcript import ParsedTranscript, ParsedTurn

INTERVIEW = (
    "Interviewer: How has the pain been since the programme ended?\n\n"
    "Sarah: Honestly, it was like falling off a cliff edge. The group was my lifeline, "
    "and then nothing. Peter tried to help but he doesn't get it.\n\n"
    "Interviewer: What helped you most?\n\n"
    "Sarah: Pacing. Learning to pace myself, and Linda's Tuesday group. "
    "I still pace myself every day 😀 even on bad days.\n"
)


def parsed_interview(text: str = INTERVIEW) -> ParsedTranscript:
    """The interview above as an importer would hand it over (turn spans after the labels)."""
    turns, pos = [], 0
    for block in text.split("\n\n"):
        label, _, speech = block.partition(": ")
        start = pos + len(label) + 2
        turns.append(ParsedTurn(start, start + len(speech.rstrip("\n")), label))
        pos += len(block) + 2
    return ParsedTranscript(text=text, turns=turns, format="text", encoding="utf-8")


def add_interview(study: Study, name: str = "P1_interview", text: str = INTERVIEW) -> int:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return study.documents.add(parsed_interview(text), name, f"{name}.txt", digest)["document"].id


@pytest.fixture
def study_path(tmp_path: Path) -> Path:
    path = tmp_path / "study.qc"
    s = Study.create(path, title="Pain study", coder="Amira")
    s.coders.add("Ben")
    s.participants.add("P1", group="patient", name="Sarah Whitfield", attributes={"age": "52"})
    add_interview(s)
    s.speakers.map("Sarah", "P1")
    s.codes.add("Programme ending")
    s.codes.add("Programme ending/Cliff edge", description="Support stops abruptly")
    s.codes.add("Self-management")
    s.codes.add("Self-management/Pacing")
    s.close()
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def qc(capsys):
    """Run the CLI in-process: qc("info", path, "--json") -> Result(code, out, err)."""
    def run(*args) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


def file_state(path: Path) -> bytes:
    return path.read_bytes()
