"""The demo builds the sample study end to end: every format imports, every sample coding lands."""

import csv
import json

import pytest

import sample_transcripts
from qualcode.study import Study

FOLDER = sample_transcripts.FOLDER
EXPECTED_FORMATS = {
    "P1_interview": "text", "P2_interview": "text", "PTV1_interview": "text", "S1_interview": "text",
    "P3_interview": "docx", "P4_interview.transcript": "vtt-zoom", "PTV2_interview_teams": "vtt-teams",
    "S2_interview_otter_ai": "otter", "focus_group_1": "srt",
}


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory):
    from qualcode.cli import main

    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--headless", "--dir", str(folder)]) == 0
    path = folder / "demo.qc"
    assert path.exists() and not (folder / "demo.qc.building").exists()
    return path


def test_every_sample_transcript_imports_with_its_format(demo_study):
    with Study.open(demo_study) as s:
        assert {d.name: d.format for d in s.documents.list()} == EXPECTED_FORMATS
        for d in s.documents.list():
            assert 1500 <= d.word_count <= 6500, (d.name, d.word_count)


def test_the_sample_study_has_interviews_a_focus_group_and_several_groups(demo_study):
    with Study.open(demo_study) as s:
        groups = {p.group for p in s.participants.list()}
        assert {"patient", "patient tutor volunteer", "staff"} <= groups
        focus = s.documents.get("focus_group_1")
        assert len(focus.participants) >= 4
        assert all(len(d.participants) == 1 for d in s.documents.list() if d.name != "focus_group_1")
        bands = {p.label: p.attributes.get("experience_band") for p in s.participants.list()}
        assert bands["PTV3"] == "new" and bands["S1"] == "highly experienced"


def test_every_speaker_label_is_mapped(demo_study):
    with Study.open(demo_study) as s:
        assert s.speakers.list(unmapped_only=True) == []


def test_every_sample_coding_lands_on_its_quoted_words(demo_study):
    with (FOLDER / "codings.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected = {(r["document"], r["code"], r["coder"], r["text"]) for r in rows}
    with Study.open(demo_study) as s:
        got = {(c.document, c.code, c.coder, c.text) for c in s.codings.list()}
        # a coder's overlapping codings of one code merge, so compare quote containment
        for doc, code, coder, quote in expected:
            assert any(d == doc and k == code and who == coder and quote in text
                       for d, k, who, text in got), (doc, code, coder, quote)
        coders = {c.coder for c in s.codings.list()}
        assert coders == {"Amira", "Ben"}
        double = {c.document for c in s.codings.list(coder="Ben")} & {c.document for c in s.codings.list(coder="Amira")}
        assert double == {"P1_interview", "PTV1_interview", "S1_interview"}


def test_the_demo_is_searchable_and_rebuilds_in_place(demo_study, qc):
    hits = qc("search", demo_study, "Tuesday group", "--json").json()
    assert hits["turns"] > 0
    r = qc("demo", "--headless", "--dir", demo_study.parent, "--json")
    assert r.code == 0 and r.json()["documents"] == 9


def test_the_demo_has_candidate_themes_with_key_quotes_and_exports_a_map(demo_study, qc, tmp_path):
    with Study.open(demo_study) as s:
        themes = s.themes.list()
        assert {t.status for t in themes} == {"active", "candidate"}
        assert any(t.parent_id for t in themes)  # subthemes
        assert len(s.themes.key_quotes()) >= 10
        assert s.settings()["phase"] == 4
    r = qc("export", "map", demo_study, "-o", tmp_path / "map.svg")
    assert r.code == 0, r.err
    svg = (tmp_path / "map.svg").read_text(encoding="utf-8")
    assert "Falling off the cliff edge" in svg and "Holding on to what was" in svg  # labels wrap
