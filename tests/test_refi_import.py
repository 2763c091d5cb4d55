"""REFI-QDA import: every vendor quirk in tests/fixtures/refi, the round trip, and hostile files.

Fixtures are folders (the unzipped .qdpx, written by fixtures/refi/make_fixtures.py the way each
producer writes them); ``qdpx()`` zips one. Every coding must land on the words its selection quotes.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importers.refi_qda import (Counting, Limits, Mapper, choose_counting, import_qdc, import_qdpx, parse_xml,
                                read_qdc)
from qualcode.errors import InvalidInput
from qualcode.store.themes import themes_of
from qualcode.study import Study
from qualcode.text import canonicalise
from test_refi_export import rich_study

FIXTURES = Path(__file__).parent / "fixtures" / "refi"


@pytest.fixture(autouse=True)
def allow_leaks(monkeypatch):
    """Round trips export studies that still hold registered names (see test_refi_export)."""
    monkeypatch.setenv("QUALCODE_ALLOW_LEAKS", "1")


def qdpx(name: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{name}.qdpx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((FIXTURES / name).rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(FIXTURES / name).as_posix())
    return out


def imported(name: str, tmp_path: Path):
    report = import_qdpx(qdpx(name, tmp_path), tmp_path / f"{name}.qc")
    return report, Study.open(tmp_path / f"{name}.qc")


def codings(study: Study) -> list[tuple[str, str, str]]:
    return sorted((c.coder, c.code, c.text) for c in study.codings.list())


# -- vendor quirks -----------------------------------------------------------------------------
def test_nvivo_windows_sources_folder_bom_crlf_utf16(tmp_path):
    report, s = imported("nvivo_windows", tmp_path)
    with s:
        assert codings(s) == [
            ("Amira Haddad", "Peer support/Lifeline", "the group was my lifeline"),
            ("Amira Haddad", "Programme ending/Cliff edge", "falling off a cliff edge 😀😀"),
            ("Ben Ortiz", "Peer support", "the group was my lifeline"),
        ]
        [pos] = report.positions
        assert pos["counting"] == "UTF-16 units, CRLF counted as 2"
        assert pos["decided_by"] == "by the selected text" and pos["matched"] == pos["checked"] == 4
        doc = s.documents.list()[0]
        assert doc.name == "Interview Sarah" and doc.encoding == "utf-8-sig"
        assert "\r" not in s.documents.text(doc.id) and not s.documents.text(doc.id).startswith("\ufeff")
        [memo] = s.memos.list()  # NVivo attaches the annotation Note with a Link to the selection
        assert memo.target_type == "passage" and memo.coder == "Ben Ortiz"
        assert s.documents.text(doc.id)[memo.start:memo.end] == "and then nothing at all"
        assert memo.body == "The silence after the group ended."
        [p] = s.participants.list()
        assert p.label == "Sarah" and p.attributes == {"Age": 52, "Gender": "Female"}
        assert s.participants.variables()["Age"]["type"] == "integer"
        codes = {c.path: c for c in s.codes.list()}
        assert codes["Peer support"].description == "Support from others who live with pain"
        guid = s.db.execute("SELECT guid FROM codes WHERE name = 'Cliff edge'").fetchone()[0]
        assert guid == "a1000000-0000-4000-8000-000000000004"
    assert report.skipped == {}


def test_atlas_named_qde_upper_case_guids_crlf_as_one_and_sets(tmp_path):
    report, s = imported("atlas", tmp_path)
    with s:
        assert codings(s) == [
            ("Amira", "Being understood", "The tutors knew what it was like."),
            ("Amira", "Being understood", "We laughed a lot."),
            ("Amira", "Humour", "We laughed a lot."),
            ("Amira", "New routines", "Now I go to the pool on Tuesdays"),
        ]
        assert report.positions[0]["counting"] == "code points, line endings counted as 1"
        assert any("Pain study.qde" in w for w in report.warnings)
        guids = dict(s.db.execute("SELECT name, guid FROM codes").fetchall())
        assert guids["Humour"] == "0d7c6e1a-0000-4000-8000-00000000c0de"
        assert s.db.execute("SELECT guid FROM coders").fetchone()[0] == "7a3c9f00-1b2c-4d5e-8f90-a1b2c3d4e5f6"
        colours = {c.name: c.colour for c in s.codes.list()}
        assert colours["Humour"] == "#FF0000" and colours["New routines"] == "#00AA00"
        [memo] = s.memos.list()  # an ATLAS.ti comment: the selection's Description
        assert memo.target_type == "passage" and memo.body.startswith("Humour as a way in")
        doc = s.documents.list()[0]
        assert doc.metadata == {"gender": "female", "groups": "gender: female"}
        [theme] = themes_of(s).list()
        assert theme.name == "Group life" and theme.status == "candidate"
        assert sorted(theme.codes) == ["Being understood", "Humour"]
        assert theme.definition == "Codes about what the group gave"


def test_qualcoder_bom_lf_utf16_categories_and_notes(tmp_path):
    report, s = imported("qualcoder", tmp_path)
    with s:
        assert codings(s) == [
            ("default", "Limits of self-management", "Some days nothing helps."),
            ("default", "Self-management/Flare-up plan", "I use my flare-up plan 📋"),
            ("default", "Self-management/Pacing", "Slow and steady."),
        ]
        assert report.positions[0]["counting"] == "UTF-16 units, line endings counted as 1"
        codes = {c.path: c for c in s.codes.list()}
        assert codes["Self-management"].description == "Category for strategies"
        assert codes["Self-management/Flare-up plan"].colour == "#F28E2B"
        memos = {m.title: m for m in s.memos.list()}
        assert memos["Annotation"].target_type == "document" and memos["Annotation"].body == "Mo laughs here"
        assert memos["Journal: first impressions"].body == "Coding felt easier after the second read."
        [p] = s.participants.list()
        assert p.attributes == {"role": "Patient"}  # its SourceRef dangles (QualCoder's bug): ignored
    assert any("non-codable" in w for w in report.warnings)
    assert report.skipped == {"selections inside notes": 1}


def test_maxqda_crlf_as_two_comments_and_document_variables(tmp_path):
    report, s = imported("maxqda", tmp_path)
    with s:
        assert codings(s) == [("MAXQDA user", "Waiting lists", "Fourteen months. Fourteen!")]
        assert report.positions[0]["counting"] == "code points, CRLF counted as 2"
        [memo] = s.memos.list()
        doc = s.documents.list()[0]
        assert s.documents.text(doc.id)[memo.start:memo.end] == "Then it was quick."
        assert doc.metadata == {"Interview mode": "phone", "Minutes": 41}


def test_qc_bare_paths_and_ids_that_are_not_guids(tmp_path, qc):
    path = qdpx("qc_bare_paths", tmp_path)
    r = qc("import-qdpx", path, "-o", tmp_path / "board.qc")
    assert r.code == 0, r.err
    assert "ids that are not GUIDs" in r.out and "without internal://" in r.out
    assert "skipped 1: sets without members" in r.out
    with Study.open(tmp_path / "board.qc") as s:
        assert codings(s) == [("chris", "funding", "fund the peer tutors")]
        guid = s.db.execute("SELECT guid FROM codes").fetchone()[0]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", guid)


def test_cli_reports_positions_and_writes_json(tmp_path, qc):
    r = qc("import-qdpx", qdpx("nvivo_windows", tmp_path), "-o", tmp_path / "n.qc", "--json")
    assert r.code == 0
    data = r.json()
    assert data["imported"]["codings"] == 3 and data["study"] == str(tmp_path / "n.qc")
    r = qc("import-qdpx", qdpx("atlas", tmp_path), "-o", tmp_path / "a.qc")
    assert "positions in Interview 2: code points, line endings counted as 1 — by the selected text; " \
           "3/3 selections quote their text" in r.out


# -- codebooks ---------------------------------------------------------------------------------
def test_taguette_flat_codebook_with_empty_sets(study_path, qc):
    r = qc("import-qdc", study_path, FIXTURES / "taguette.qdc", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["imported"] == {"codes added": 3}
    assert any("empty Sets" in w for w in data["warnings"])
    with Study.open(study_path) as s:
        names = {c.name for c in s.codes.list()}
        assert {"interesting", "people.family", "people\u2215friends"} <= names
        guid = s.db.execute("SELECT guid FROM codes WHERE name = 'interesting'").fetchone()[0]
        assert guid == "5b2e0c8e-96b5-5c43-9f4f-6b7a6c0e9d01"


def test_atlas_codebook_namespace_0_4_sets_and_conflicts(study_path, qc):
    r = qc("import-qdc", study_path, FIXTURES / "atlas_codebook.qdc", "--json")
    assert r.code == 0, r.err
    assert any("codebook:0:4" in w for w in r.json()["warnings"])
    with Study.open(study_path) as s:
        codes = {c.name: c for c in s.codes.list()}
        assert codes["Humour"].description == "Laughter and jokes about pain" and codes["Humour"].colour == "#FF0000"
        [theme] = [t for t in themes_of(s).list() if t.name == "Group life"]
        assert theme.codes == ("Humour",)
        s.codes.describe("Humour", description="Jokes")
    # Importing again: nothing duplicated; the changed definition is a conflict, not overwritten.
    r = qc("import-qdc", study_path, FIXTURES / "atlas_codebook.qdc", "--json")
    assert r.code == 1
    assert r.json()["conflicts"] == ["code Humour: the file's definition differs (description); kept the study's "
                                     "(--update takes the file's)"]
    with Study.open(study_path) as s:
        assert [c.name for c in s.codes.list()].count("Humour") == 1
        assert s.codes.get("Humour").description == "Jokes"
        assert len(themes_of(s).list()) == 1
    assert qc("import-qdc", study_path, FIXTURES / "atlas_codebook.qdc", "--update").code == 0
    with Study.open(study_path) as s:
        assert s.codes.get("Humour").description == "Laughter and jokes about pain"
        s.undo()
        assert s.codes.get("Humour").description == "Jokes"


def test_a_codebook_that_changes_nothing_records_no_change(study_path, qc):
    assert qc("import-qdc", study_path, FIXTURES / "atlas_codebook.qdc").code == 0
    with Study.open(study_path) as s:
        history = s.history(100)
        codes = [(c.path, c.description) for c in s.codes.list()]
    r = qc("import-qdc", study_path, FIXTURES / "atlas_codebook.qdc", "--json")
    assert r.code == 0 and "codes added" not in r.json()["imported"]
    with Study.open(study_path) as s:
        assert s.history(100) == history             # undo would not revert a no-op
        s.undo()                                     # ... it reverts the first import
        assert [(c.path, c.description) for c in s.codes.list()] != codes
        assert not any(c.path == "Humour" for c in s.codes.list())


def test_nvivo_codebook_unwraps_nodes_root_and_reads_argb(study_path):
    with Study.open(study_path) as s:
        report = import_qdc(s, FIXTURES / "nvivo_codebook.qdc")
        codes = {c.path: c for c in s.codes.list()}
    assert "Nodes" not in codes and codes["Stigma/At work"]
    assert codes["Stigma"].colour == "#8E2C48"
    assert any("unwrapped" in w for w in report.warnings)


def test_codebook_of_a_project_file_and_not_a_codebook(tmp_path, study_path):
    codes, _, _ = read_qdc(FIXTURES / "maxqda" / "project.qde")
    assert [c.name for c in codes] == ["Waiting lists"]
    (tmp_path / "x.qdc").write_text("<html><body/></html>")
    with pytest.raises(InvalidInput, match="not a REFI-QDA <CodeBook>"):
        read_qdc(tmp_path / "x.qdc")


# -- positions ---------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab é😀🐢", min_size=1, max_size=12), min_size=2, max_size=6),
    crlf=st.booleans(), bom=st.booleans(),
    counting=st.sampled_from([Counting("codepoint", "file"), Counting("utf16", "file"),
                              Counting("codepoint", "lf"), Counting("utf16", "lf")]),
    picks=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 8)), min_size=1, max_size=5),
)
def test_positions_are_recovered_whatever_the_producer_counted(lines, crlf, bom, counting, picks):
    raw = ("\r\n" if crlf else "\n").join(lines)
    canonical = canonicalise(raw)
    basis = raw if counting.basis == "file" else canonical
    unit = (lambda s: len(s.encode("utf-16-le")) // 2) if counting.unit == "utf16" else len
    selections, quotes = [], []
    for start, length in picks:
        start = start % len(basis)
        end = min(len(basis), start + length)
        quote = basis[start:end]
        if not quote.strip() or "\r" in quote[-1:] or (basis[start - 1:start] == "\r" if start else False):
            continue
        selections.append((unit(basis[:start]), unit(basis[:end]), quote))
        quotes.append(canonicalise(quote))
    mapper, info = choose_counting(raw, canonical, selections, "", bom)
    for (a, b, _), quote in zip(selections, quotes):
        assert canonical[mapper(a):mapper(b)] == quote


UNKNOWN_QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Fixture" origin="SomeTool 1.0">
  <Users><User guid="0f8fad5b-d9cb-469f-a165-70867728950e" name="Supervisor"/></Users>
  <CodeBook><Codes><Code guid="6ba7b811-9dad-11d1-80b4-00c04fd430c8" name="Pacing" isCodable="true"/></Codes></CodeBook>
  <Sources><TextSource guid="a8098c1a-f86e-11da-bd1a-00112444be1e" name="P1 interview.txt"
      plainTextPath="internal://a8098c1a-f86e-11da-bd1a-00112444be1e.txt">
    <PlainTextSelection guid="b0000002-0000-0000-0000-000000000000" startPosition="{start}" endPosition="{end}"{name}>
      <Coding guid="c0000002-0000-0000-0000-000000000000" creatingUser="0f8fad5b-d9cb-469f-a165-70867728950e">
        <CodeRef targetGUID="6ba7b811-9dad-11d1-80b4-00c04fd430c8"/></Coding>
    </PlainTextSelection>
  </TextSource></Sources>
</Project>
"""
UNKNOWN_TEXT = "Interviewer: How do you manage?\r\n\r\nP1: I pace myself now, slowly.\r\n"


@pytest.mark.parametrize("named", [False, True])
def test_unverifiable_positions_are_a_warning(tmp_path, qc, named):
    start = UNKNOWN_TEXT.index("I pace myself")
    qde = UNKNOWN_QDE.format(start=start, end=start + 13, name=' name="I pace myself"' if named else "")
    archive = make_zip(tmp_path / "unknown.qdpx", {"project.qde": qde.encode(),
                                                   "sources/a8098c1a-f86e-11da-bd1a-00112444be1e.txt":
                                                   UNKNOWN_TEXT.encode()})
    r = qc("import-qdpx", archive, "-o", tmp_path / "u.qc", "--json")
    assert r.code == 0, r.err
    data = r.json()
    [pos] = data["positions"]
    assert pos["verified"] is named
    unverified = [w for w in data["warnings"] if "positions could not be verified" in w]
    if named:
        assert unverified == [] and pos["decided_by"] == "by the selected text"
    else:
        assert unverified == ["P1 interview: positions could not be verified (its selections do not carry the text "
                              "they select, and the producer 'SomeTool 1.0' is not one whose counting is known); "
                              "read as code points, CRLF counted as 2. Check that a few codings sit on the right "
                              "words"]
        text = qc("import-qdpx", archive, "-o", tmp_path / "u2.qc").out
        assert "warning: P1 interview: positions could not be verified" in text


def test_mapper_refuses_positions_inside_a_surrogate_pair():
    mapper = Mapper("a😀b", "a😀b", Counting("utf16", "file"))
    assert [mapper(p) for p in range(5)] == [0, 1, None, 2, 3]


# -- round trip --------------------------------------------------------------------------------
def study_facts(path: Path) -> dict:
    with Study.open(path) as s:
        coding_guid = dict(s.db.execute("SELECT id, guid FROM codings").fetchall())
        return {
            "codings": sorted((c.document, c.code, c.coder, c.start, c.end, c.text, c.memo, c.created)
                              for c in s.codings.list()),
            "coders": sorted(c.name for c in s.coders.list()),
            "codes": sorted((c.path, c.colour, c.description, c.include_when, c.exclude_when, c.example, c.status)
                            for c in s.codes.list()),
            "participants": sorted((p.label, p.group, tuple(sorted(p.attributes.items())))
                                   for p in s.participants.list()),
            "variables": s.participants.variables(),
            "memos": sorted((m.target_type, m.target if m.target_type != "coding" else coding_guid[m.target_id],
                             m.coder, m.title, m.body, m.start, m.end) for m in s.memos.list()),
            "journal": sorted((j.coder, j.entry_date, j.phase, j.body) for j in s.journal.list()),
            "documents": sorted((d.name, s.documents.text(d.id), tuple(sorted(d.metadata.items())), d.participants)
                                for d in s.documents.list()),
            "themes": sorted((t.path, t.status, t.concept, t.definition, t.colour, t.codes, t.memos)
                             for t in themes_of(s).list()),
            "guids": {t: sorted(r[0] for r in s.db.execute(f"SELECT guid FROM {t}"))
                      for t in ("coders", "codes", "codings", "participants", "documents", "memos", "themes")},
        }


def test_round_trip_export_import_export(tmp_path, qc):
    rich = rich_study(tmp_path / "rich.qc")
    assert qc("export", "qdpx", rich, "-o", tmp_path / "one.qdpx").code == 0
    r = qc("import-qdpx", tmp_path / "one.qdpx", "-o", tmp_path / "back.qc", "--json")
    assert r.code == 0, r.err
    assert r.json()["skipped"] == [] and r.json()["warnings"] == []
    assert qc("export", "qdpx", tmp_path / "back.qc", "-o", tmp_path / "two.qdpx").code == 0
    assert study_facts(rich) == study_facts(tmp_path / "back.qc")
    assert (tmp_path / "one.qdpx").read_bytes() == (tmp_path / "two.qdpx").read_bytes()


def test_a_user_memo_titled_coding_memo_stays_a_memo(tmp_path, qc):
    rich = rich_study(tmp_path / "rich.qc")
    with Study.open(rich) as s:
        [coding] = s.codings.list(coder="Amira", code="Programme ending/Cliff edge")
        assert coding.memo == "in vivo"
        s.memos.add("My own note on this coding", coder="Amira", coding=coding.id, title="Coding memo")
        memos = sorted(s.db.execute("SELECT guid, title, body, created, target_type FROM memos").fetchall())
    assert qc("export", "qdpx", rich, "-o", tmp_path / "one.qdpx").code == 0
    assert qc("import-qdpx", tmp_path / "one.qdpx", "-o", tmp_path / "back.qc").code == 0
    with Study.open(tmp_path / "back.qc") as s:
        assert sorted(s.db.execute("SELECT guid, title, body, created, target_type FROM memos").fetchall()) == memos
        [back] = s.codings.list(coder="Amira", code="Programme ending/Cliff edge")
        assert back.memo == "in vivo"                # the coding's own memo field, not folded with the note
    assert study_facts(rich) == study_facts(tmp_path / "back.qc")


def test_round_trip_of_the_demo_study(tmp_path):
    import sample_transcripts
    from exporters.refi_qda import export_qdpx
    from qualcode.cli.demo import build

    with build(sample_transcripts.FOLDER, tmp_path / "demo.qc") as s:
        export_qdpx(s, tmp_path / "one.qdpx")
    import_qdpx(tmp_path / "one.qdpx", tmp_path / "back.qc")
    with Study.open(tmp_path / "back.qc") as s:
        export_qdpx(s, tmp_path / "two.qdpx")
    assert (tmp_path / "one.qdpx").read_bytes() == (tmp_path / "two.qdpx").read_bytes()
    assert study_facts(tmp_path / "demo.qc") == study_facts(tmp_path / "back.qc")
    # Every speaker turn comes back with its caption times, participant and the source format
    # (a Teams VTT document had 75 turns instead of 76 and no times when they were re-derived).
    before, after = turn_facts(tmp_path / "demo.qc"), turn_facts(tmp_path / "back.qc")
    assert after == before
    assert len(before["PTV2_interview_teams"][1]) == 76 and before["PTV2_interview_teams"][0] == "vtt-teams"
    assert all(t[3] is not None for t in before["PTV2_interview_teams"][1])


def turn_facts(path: Path) -> dict:
    with Study.open(path) as s:
        return {d.name: (d.format, [(t.start, t.end, t.speaker, t.start_ms, t.end_ms, t.participant)
                                    for t in s.documents.turns(d.id)]) for d in s.documents.list()}


def test_turns_file_that_no_longer_fits_the_text_is_not_used(tmp_path):
    import sample_transcripts
    from exporters.refi_qda import export_qdpx
    from qualcode.cli.demo import build

    with build(sample_transcripts.FOLDER, tmp_path / "demo.qc") as s:
        export_qdpx(s, tmp_path / "one.qdpx")
        guid = s.db.execute("SELECT guid FROM documents WHERE name = 'PTV2_interview_teams'").fetchone()[0]
    with zipfile.ZipFile(tmp_path / "one.qdpx") as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    assert f"qualcode/turns/{guid}.json" in entries
    entries[f"sources/{guid}.txt"] = entries[f"sources/{guid}.txt"].replace(b"\n\n", b"\n\n\n", 1)
    report = import_qdpx(make_zip(tmp_path / "edited.qdpx", entries), tmp_path / "edited.qc")
    assert "PTV2_interview_teams: its qualcode turns file belongs to another version of the text (edited " \
           "elsewhere?); speaker turns found again from the text, caption times lost" in report.warnings
    entries[f"sources/{guid}.txt"] = zipfile.ZipFile(tmp_path / "one.qdpx").read(f"sources/{guid}.txt")
    sha = hashlib.sha256(entries[f"sources/{guid}.txt"]).hexdigest()
    entries[f"qualcode/turns/{guid}.json"] = ('{"format": "qualcode-turns-1", "text_sha256": "%s", '
                                              '"turns": [[5, 2, null, null, null]]}' % sha).encode()
    report = import_qdpx(make_zip(tmp_path / "bad.qdpx", entries), tmp_path / "bad.qc")
    assert "PTV2_interview_teams: qualcode turns file unusable (turn [5, 2, None, None, None] does not fit the " \
           "text); turns found again from the text" in report.warnings
    with Study.open(tmp_path / "bad.qc") as s:
        assert len(s.documents.turns(s.documents.get("PTV2_interview_teams").id)) > 70


def rewrite_qde(archive: Path, out: Path, change) -> Path:
    with zipfile.ZipFile(archive) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    entries["project.qde"] = change(entries["project.qde"].decode("utf-8")).encode("utf-8")
    return make_zip(out, entries)


def test_repeated_top_level_elements_are_all_read(tmp_path, qc):
    """<Sources/> before the real <Sources>, Notes and Sets split in two: nothing is lost."""
    rich = rich_study(tmp_path / "rich.qc")
    assert qc("export", "qdpx", rich, "-o", tmp_path / "one.qdpx").code == 0

    def split(xml: str) -> str:
        xml = xml.replace("<Sources>", "<Sources/><Sources>", 1)
        xml = xml.replace("<Sets>", "<Sets/><Sets>", 1)
        first = xml.index("<Note ", xml.index("<Notes>"))
        second = xml.index("<Note ", xml.index("</Note>", first))
        return xml[:second] + "</Notes><Notes>" + xml[second:]

    archive = rewrite_qde(tmp_path / "one.qdpx", tmp_path / "split.qdpx", split)
    r = qc("import-qdpx", archive, "-o", tmp_path / "back.qc", "--json")
    assert r.code == 0, r.err
    warnings = r.json()["warnings"]
    assert "schema: <Sources> appears 2 times in <Project>, 1 of them empty (the schema allows one; all were read)" \
        in warnings
    assert "schema: <Notes> appears 2 times in <Project> (the schema allows one; all were read)" in warnings
    assert any(w.startswith("schema: <Sets> appears 2 times") for w in warnings)
    assert study_facts(rich) == study_facts(tmp_path / "back.qc")


def test_repeated_codes_in_a_codebook_are_all_read(tmp_path, study_path):
    qdc = tmp_path / "twice.qdc"
    qdc.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/><Codes>'
                   '<Code guid="a1000000-0000-4000-8000-000000000001" name="Waiting" isCodable="true"/></Codes>'
                   '<Codes><Code guid="a1000000-0000-4000-8000-000000000002" name="Pacing" isCodable="true"/>'
                   '</Codes></CodeBook>')
    codes, _, report = read_qdc(qdc)
    assert [c.name for c in codes] == ["Waiting", "Pacing"]
    assert any("<Codes> appears 3 times in <CodeBook>, 1 of them empty" in w for w in report.warnings)


# -- hostile files -----------------------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"/>
"""


def xxe(secret: Path) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
            '<Project xmlns="urn:QDA-XML:project:1.0" name="&xxe;"/>\n').encode()


def make_zip(path: Path, entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def assert_refused(qc, tmp_path: Path, archive: Path, message: str) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    r = qc("import-qdpx", archive, "-o", tmp_path / "out.qc")
    assert r.code == 2, r.out
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert re.search(message, r.err), r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no study, no temporary file


def test_billion_laughs_is_refused(tmp_path, qc):
    archive = make_zip(tmp_path / "lol.qdpx", {"project.qde": BILLION_LAUGHS})
    assert_refused(qc, tmp_path, archive, "DOCTYPE")


def test_external_entities_are_never_read(tmp_path, qc, study_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    archive = make_zip(tmp_path / "xxe.qdpx", {"project.qde": xxe(secret)})
    assert_refused(qc, tmp_path, archive, "DOCTYPE")
    qdc = tmp_path / "xxe.qdc"
    qdc.write_bytes(xxe(secret).replace(b"Project", b"CodeBook"))
    before = study_path.read_bytes()
    r = qc("import-qdc", study_path, qdc)
    assert r.code == 2 and "TOP-SECRET" not in r.err + r.out
    assert study_path.read_bytes() == before


def test_xml_parser_refuses_any_dtd_and_undefined_entities():
    with pytest.raises(InvalidInput, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE a><a/>', "x")
    with pytest.raises(InvalidInput, match="malformed XML \\(undefined entity"):
        parse_xml(b'<a>&xxe;</a>', "x")
    with pytest.raises(InvalidInput, match="nested more than"):
        parse_xml(b"<a>" * 300 + b"</a>" * 300, "x")
    root, ns = parse_xml("\ufeff<a xmlns='urn:x'><b c='1'/></a>".encode("utf-8"), "x")
    assert (root.tag, ns, root[0].get("c")) == ("a", "urn:x", "1")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "sources/../../x.txt", "C:/Windows/x.txt",
                                  "..\\..\\evil.txt"])
def test_zip_slip_entries_are_refused(tmp_path, qc, name):
    archive = make_zip(tmp_path / "slip.qdpx", {"project.qde": (FIXTURES / "maxqda" / "project.qde").read_bytes(),
                                                 name: b"x"})
    assert_refused(qc, tmp_path, archive, "unsafe path in the archive")


def test_zip_bomb_by_ratio_is_refused(tmp_path, qc):
    archive = make_zip(tmp_path / "bomb.qdpx", {"project.qde": b"<Project name='x'/>",
                                                 "sources/a.txt": b"\0" * (24 * 1024 * 1024)})
    assert archive.stat().st_size < 200_000
    assert_refused(qc, tmp_path, archive, "zip bomb")


def test_zip_bomb_by_total_size_is_refused(tmp_path):
    archive = make_zip(tmp_path / "big.qdpx", {"project.qde": b"<Project name='x'/>",
                                                "sources/a.txt": os.urandom(60_000),
                                                "sources/b.txt": os.urandom(60_000)}, zipfile.ZIP_STORED)
    with pytest.raises(InvalidInput, match="over the limit of 100,000 \\(zip bomb\\?\\)"):
        import_qdpx(archive, tmp_path / "out.qc", limits=Limits(max_total=100_000))
    assert not (tmp_path / "out.qc").exists()


def test_truncated_zip_and_malformed_xml(tmp_path, qc):
    whole = qdpx("nvivo_windows", tmp_path).read_bytes()
    truncated = tmp_path / "cut.qdpx"
    truncated.write_bytes(whole[: len(whole) // 2])
    assert_refused(qc, tmp_path, truncated, "damaged or truncated")
    bad = make_zip(tmp_path / "bad.qdpx", {"project.qde": b"<Project name='x'><Users></Project>"})
    assert_refused(qc, tmp_path, bad, "malformed XML")
    empty = make_zip(tmp_path / "noqde.qdpx", {"sources/a.txt": b"hello"})
    assert_refused(qc, tmp_path, empty, "no project.qde")


def test_corrupt_entry_is_damaged_not_a_traceback(tmp_path, qc):
    good = qdpx("maxqda", tmp_path).read_bytes()
    # Flip bytes inside the compressed data of the first entry (the CRC check catches it).
    at = good.index(b"project.qde") + len(b"project.qde") + 40
    broken = tmp_path / "crc.qdpx"
    broken.write_bytes(good[:at] + bytes(b ^ 0xFF for b in good[at:at + 16]) + good[at + 16:])
    assert_refused(qc, tmp_path, broken, "damaged|malformed")


def lying_zip(path: Path, name: str, megabytes: int, declared: int, qde: bytes) -> Path:
    """A .qdpx whose entry ``name`` inflates to ``megabytes`` MiB of zeros (written in steps, never
    held in memory) while its local header and central directory declare ``declared`` bytes."""
    import struct

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if name != "project.qde":
            zf.writestr("project.qde", qde)
        with zf.open(name, "w") as fh:
            if name == "project.qde":
                fh.write(qde[:-len(b"</Project>\n")])
            for _ in range(megabytes):
                fh.write(b" " * (1024 * 1024) if name == "project.qde" else bytes(1024 * 1024))
            if name == "project.qde":
                fh.write(b"</Project>\n")
    data = bytearray(path.read_bytes())
    raw = name.encode()
    for signature, name_len_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)):
        i = data.find(signature)
        while i >= 0:
            n = struct.unpack_from("<H", data, i + name_len_at)[0]
            if data[i + name_at:i + name_at + n] == raw:
                struct.pack_into("<I", data, i + size_at, declared)
            i = data.find(signature, i + 4)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("entry", ["project.qde", "sources/{guid}.txt"])
def test_headers_that_understate_the_data_cannot_exhaust_memory(tmp_path, qc, entry):
    import tracemalloc

    qde = (FIXTURES / "maxqda" / "project.qde").read_bytes()
    guid = re.search(rb'plainTextPath="(?:internal://)?([^"]+)\.txt"', qde).group(1).decode()
    archive = lying_zip(tmp_path / "liar.qdpx", entry.format(guid=guid), 300, 2000, qde)
    assert archive.stat().st_size < 2_000_000     # 300 MiB of data behind headers that say 2,000 bytes
    with zipfile.ZipFile(archive) as zf:
        assert max(i.file_size for i in zf.infolist()) <= max(2000, len(qde))
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="damaged or truncated|larger than it declares|zip bomb"):
            import_qdpx(archive, tmp_path / "out.qc")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
    assert_refused(qc, tmp_path, archive, "damaged or truncated|larger than it declares|zip bomb")


def test_running_caps_hold_whatever_the_zip_library_returns(tmp_path, monkeypatch):
    """Even a zip reader that ignored the declared size would be stopped by the running caps."""
    import importers.refi_qda as refi_qda

    archive = make_zip(tmp_path / "ok.qdpx", {"project.qde": (FIXTURES / "maxqda" / "project.qde").read_bytes()})
    arc = refi_qda.Archive(archive, Limits())
    info = arc.entries["project.qde"]

    class Endless:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n=-1):
            return bytes(n if n > 0 else 1024)

    monkeypatch.setattr(arc.zf, "open", lambda *a, **k: Endless())
    try:
        with pytest.raises(InvalidInput, match="larger than it declares"):
            arc.read(info)
        info.file_size = 64 * 1024 * 1024
        arc.limits = Limits(max_total=512 * 1024)
        with pytest.raises(InvalidInput, match="more than 524,288 bytes in all"):
            arc.read(info)
        arc.limits = Limits()
        with pytest.raises(InvalidInput, match="compressed more than 200 to 1"):
            arc.read(info)
    finally:
        arc.close()


def test_existing_output_is_never_overwritten(tmp_path, qc, study_path):
    before = study_path.read_bytes()
    r = qc("import-qdpx", qdpx("maxqda", tmp_path), "-o", study_path)
    assert r.code == 2 and "already exists" in r.err
    assert study_path.read_bytes() == before


def test_failure_while_writing_leaves_no_study(tmp_path, monkeypatch):
    import qualcode.store.refi as refi

    def boom(*args, **kwargs):
        raise InvalidInput("simulated failure half way")

    monkeypatch.setattr(refi, "_map_speakers", boom)
    with pytest.raises(InvalidInput, match="half way"):
        import_qdpx(qdpx("nvivo_windows", tmp_path), tmp_path / "out.qc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nvivo_windows.qdpx"]


def test_sources_outside_the_archive_are_never_read(tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("not for you")
    xml = (f'<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Sources>'
           f'<TextSource guid="00000000-0000-4000-8000-000000000001" name="a" '
           f'plainTextPath="absolute:///{secret}"/></Sources></Project>').encode()
    report = import_qdpx(make_zip(tmp_path / "abs.qdpx", {"project.qde": xml}), tmp_path / "abs.qc")
    assert report.skipped == {"sources stored outside the archive (absolute paths are never read)": 1}
    with Study.open(tmp_path / "abs.qc") as s:
        assert s.documents.list() == []


def test_expat_has_no_dtd_loading_and_we_refuse_dtds_anyway():
    from xml.parsers import expat

    # pyexpat never fetches external DTDs by itself; billion-laughs protection exists from 2.4.
    # Both are moot here: a DOCTYPE is refused before any entity is declared.
    assert expat.version_info >= (2, 0, 0)
    with pytest.raises(InvalidInput):
        parse_xml(BILLION_LAUGHS, "lol")


def test_pdf_representation_and_audio_transcript_are_read_as_text(tmp_path):
    code = '<CodeBook><Codes><Code guid="00000000-0000-4000-8000-0000000000c1" name="c" isCodable="true"/></Codes></CodeBook>'
    coding = '<Coding guid="{g}"><CodeRef targetGUID="00000000-0000-4000-8000-0000000000c1"/></Coding>'
    xml = (
        '<Project xmlns="urn:QDA-XML:project:1.0" name="x">' + code + '<Sources>'
        '<PDFSource guid="00000000-0000-4000-8000-000000000001" name="Leaflet.pdf" path="internal://l.pdf">'
        '<PDFSelection guid="00000000-0000-4000-8000-0000000000f1" page="1" firstX="1" firstY="1" secondX="9" secondY="9"/>'
        '<Representation guid="00000000-0000-4000-8000-000000000001">'
        '<PlainTextContent>Peer support saves lives.</PlainTextContent>'
        '<PlainTextSelection guid="00000000-0000-4000-8000-0000000000a1" name="saves lives" startPosition="13" '
        'endPosition="24">' + coding.format(g="00000000-0000-4000-8000-0000000000b1") + '</PlainTextSelection>'
        '</Representation></PDFSource>'
        '<AudioSource guid="00000000-0000-4000-8000-000000000002" name="Call.m4a" path="internal://c.m4a">'
        '<Transcript guid="00000000-0000-4000-8000-000000000003" name="Call transcript">'
        '<PlainTextContent>I: Hello.\nR: The pool helps.</PlainTextContent>'
        '<SyncPoint guid="00000000-0000-4000-8000-0000000000d1" timeStamp="1000" position="13"/>'
        '<SyncPoint guid="00000000-0000-4000-8000-0000000000d2" timeStamp="2000" position="27"/>'
        '<TranscriptSelection guid="00000000-0000-4000-8000-0000000000e1" name="The pool helps" '
        'fromSyncPoint="00000000-0000-4000-8000-0000000000d1" toSyncPoint="00000000-0000-4000-8000-0000000000d2">'
        + coding.format(g="00000000-0000-4000-8000-0000000000b2") + '</TranscriptSelection></Transcript>'
        '<AudioSelection guid="00000000-0000-4000-8000-0000000000e2" begin="0" end="500"/></AudioSource>'
        '<PictureSource guid="00000000-0000-4000-8000-000000000004" name="Photo" path="internal://p.png"/>'
        '</Sources></Project>').encode()
    report = import_qdpx(make_zip(tmp_path / "media.qdpx", {"project.qde": xml}), tmp_path / "media.qc")
    with Study.open(tmp_path / "media.qc") as s:
        assert sorted((c.document, c.text) for c in s.codings.list()) == [
            ("Call transcript", "The pool helps"), ("Leaflet", "saves lives")]
    assert set(report.skipped) == {"PDF region selections (the text representation was imported)",
                                   "audio/video time selections (the transcript was imported)",
                                   "picture sources (qualcode codes text)"}


def test_same_text_twice_goes_to_one_document(tmp_path):
    text = "One line of text to code.\n"
    xml = ('<Project xmlns="urn:QDA-XML:project:1.0" name="x"><CodeBook><Codes>'
           '<Code guid="00000000-0000-4000-8000-0000000000c1" name="c" isCodable="true"/></Codes></CodeBook><Sources>'
           + "".join(f'<TextSource guid="00000000-0000-4000-8000-00000000000{i}" name="doc{i}">'
                     f'<PlainTextContent>{text}</PlainTextContent>'
                     f'<PlainTextSelection guid="00000000-0000-4000-8000-0000000000a{i}" startPosition="0" endPosition="3">'
                     f'<Coding guid="00000000-0000-4000-8000-0000000000b{i}"><CodeRef '
                     f'targetGUID="00000000-0000-4000-8000-0000000000c1"/></Coding></PlainTextSelection></TextSource>'
                     for i in (1, 2)) + "</Sources></Project>").encode()
    report = import_qdpx(make_zip(tmp_path / "dup.qdpx", {"project.qde": xml}), tmp_path / "dup.qc")
    assert any("same text" in w for w in report.warnings)
    with Study.open(tmp_path / "dup.qc") as s:
        assert len(s.documents.list()) == 1
        assert [c.text for c in s.codings.list()] == ["One"]
        assert s.coders.list()[0].name == "imported user"
        assert hashlib.sha256(text.encode()).hexdigest() == s.documents.list()[0].sha256
