"""The sample study's transcripts import with the expected format and speakers, and every coded
quotation of ``codings.csv`` is found in the imported canonical text."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import importers
from importer_helpers import check_invariants

SAMPLES = Path(__file__).resolve().parents[2] / "sample_transcripts"

EXPECTED = {
    "P1_interview.txt": ("text", "utf-8", {"Amira Haddad", "Sarah Whitfield"}),
    "P2_interview.txt": ("text", "utf-8-sig", {"I", "R"}),
    "PTV1_interview.txt": ("text", "utf-8", {"Interviewer", "Linda"}),
    "S1_interview.txt": ("text", "utf-8", {"Amira", "Nadia Farouk"}),
    "P3_interview.docx": ("docx", "docx", {"Interviewer", "Margaret"}),
    "P4_interview.transcript.vtt": ("vtt-zoom", "utf-8", {"Amira Haddad", "Gareth Pryce"}),
    "PTV2_interview_teams.vtt": ("vtt-teams", "utf-8", {"Amira Haddad (Northmoor Uni)", "Steve Kaminski"}),
    "S2_interview_otter_ai.txt": ("otter", "utf-8", {"Amira Haddad", "Mark Ellison", "Unknown Speaker"}),
    "focus_group_1.srt": ("srt", "utf-8-sig", {"Amira", "Priya", "Colin", "Janet", "Rosalind"}),
}


def _import(name: str):
    path = SAMPLES / name
    assert path.exists(), f"sample transcript {name} is missing"
    result = importers.parse(path.read_bytes(), name)
    check_invariants(result)
    return result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_transcript_imports(name):
    fmt, encoding, speakers = EXPECTED[name]
    result = _import(name)
    assert result.format == fmt
    assert result.encoding == encoding
    assert {t.speaker for t in result.turns} - {None} == speakers
    assert importers.detect((SAMPLES / name).read_bytes(), name) == fmt


def test_speaker_map_covers_every_imported_label():
    with open(SAMPLES / "speakers.csv", encoding="utf-8") as handle:
        mapped = {(row["document"], row["speaker"]) for row in csv.DictReader(handle)}
    for name in EXPECTED:
        document = name.rsplit(".", 1)[0]
        labels = {t.speaker for t in _import(name).turns} - {None}
        assert {(document, label) for label in labels} <= mapped, name


def test_coded_quotations_are_in_the_canonical_text():
    with open(SAMPLES / "codings.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    texts: dict[str, str] = {}
    for row in rows:
        document = row["document"]
        if document not in texts:
            (name,) = [n for n in EXPECTED if n.rsplit(".", 1)[0] == document]
            texts[document] = _import(name).text
        assert texts[document].count(row["text"]) >= int(row["nth"] or 1), (document, row["text"][:60])


def test_teams_sample_keeps_its_cue_without_voice_as_unknown():
    result = _import("PTV2_interview_teams.vtt")
    unknown = [t for t in result.turns if t.speaker is None]
    assert len(unknown) == 1
    assert any("without a <v> speaker tag" in w for w in result.warnings)
