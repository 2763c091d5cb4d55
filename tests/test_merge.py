"""Merging a second coder's copy of the study: ``qualcode merge BASE.qc OTHER.qc [-o OUT.qc]``.

The sample study is built twice (so every GUID differs between the copies, as when two coders
each build the study); coder Ben codes differently in his copy; the merge must keep every coding
with its coder, report conflicts instead of resolving them, and back the base up first.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

import sample_transcripts
from conftest import parsed_interview
from qualcode.cli.demo import build
from qualcode.store.themes import themes_of
from qualcode.study import Study
from qualcode.transcript import ParsedTranscript


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demos")
    for name in ("one", "two"):
        build(sample_transcripts.FOLDER, folder / f"{name}.qc").close()
    return folder


def copy(demos: Path, name: str, target: Path) -> Path:
    shutil.copy(demos / f"{name}.qc", target)
    return target


def spans(path: Path, coder: str | None = None) -> set[tuple[str, str, str, int, int]]:
    with Study.open(path) as s:
        return {(c.document, c.code, c.coder, c.start, c.end) for c in s.codings.list(coder=coder)}


def drop_coder(path: Path, coder: str) -> None:
    with Study.open(path) as s:
        ids = [c.id for c in s.codings.list(coder=coder)]
        with s.change("test", f"drop {coder}'s codings") as ch:
            for i in ids:
                ch.delete("codings", i)


def ben_recodes(path: Path) -> None:
    """Ben's own copy: he drops ten codings, adds three, writes a memo and a journal entry."""
    with Study.open(path) as s:
        for c in s.codings.list(coder="Ben")[:10]:
            s.codings.delete(c.id)
        s.codings.add_text("P1_interview", "Pacing", "Ben", "sitting's not great for me")
        s.codings.add_text("S1_interview", "Waiting lists", "Ben", "Okay, it says it's recording now")
        c = s.codings.add_text("PTV1_interview", "Giving back", "Ben", "Okay, I think that's working")
        s.memos.add("Ben's note on this coding", coder="Ben", coding=c.id)
        s.journal.add("Second pass done", coder="Ben", entry_date="2024-06-01")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_coders_copies_merge_keeping_every_coding_and_coder(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "amira.qc"), copy(demos, "two", tmp_path / "ben.qc")
    drop_coder(base, "Ben")                      # the lead's study: Amira's codings only
    ben_recodes(other)
    amira, ben = spans(base, "Amira"), spans(other, "Ben")
    assert amira == spans(other, "Amira") and len(ben) == 104 - 10 + 3
    with Study.open(base) as s:
        ben_guid = s.db.execute("SELECT guid FROM coders WHERE name = 'Ben'").fetchone()[0]
        counts = s.info()

    r = qc("merge", base, other, "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["conflicts"] == []
    assert data["added"] == {"codings": 97, "memos": 1, "journal entries": 1}
    assert data["matched"]["documents"] == 9 and data["matched"]["codes"] == 27 and data["matched"]["codings"] == 106

    merged = spans(base)
    assert merged == amira | ben                 # every coding, each with its own coder
    assert spans(base, "Ben") == ben and spans(base, "Amira") == amira
    with Study.open(base) as s:
        info = s.info()
        assert (info["documents"], info["codes"], info["coders"]) == (counts["documents"], counts["codes"], 2)
        assert s.db.execute("SELECT guid FROM coders WHERE name = 'Ben'").fetchone()[0] == ben_guid
        [memo] = s.memos.list(coder="Ben")
        assert memo.target_type == "coding" and s.codings.get(memo.target_id).text == "Okay, I think that's working"
        assert [j.body for j in s.journal.list(coder="Ben")] == ["Second pass done"]
        assert s.history(1)[0]["command"] == "merge"

    backup = Path(data["backup"])
    assert re.fullmatch(r"amira\.qc\.bak-\d{8}-\d{6}", backup.name)
    assert spans(backup) == amira                # the base as it was before the merge

    again = qc("merge", base, other, "--json").json()
    assert again["added"] == {} and again["conflicts"] == []
    assert spans(base) == amira | ben


def test_conflicts_are_reported_never_resolved(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    with Study.open(other) as s:
        s.codes.describe("Cliff edge", description="Something else entirely")
        doc = s.documents.get("P2_interview")
        text = s.documents.text(doc.id).replace("Right, that’s recording.", "Right, that is recording.")
        s.documents.add(ParsedTranscript(text=text), "P2_interview", "P2_interview.txt",
                        hashlib.sha256(text.encode()).hexdigest(), replace=True)
        s.codings.add_text("P2_interview", "Pacing", "Ben", "Right, that is recording.")
        on_p2 = len(s.codings.list(document="P2_interview"))
    before = spans(base)
    with Study.open(base) as s:
        description = s.codes.get("Cliff edge").description

    r = qc("merge", base, other, "--json")
    assert r.code == 1
    conflicts = r.json()["conflicts"]
    assert "code Programme ending/Cliff edge: same code, different definition (description); kept this study's" \
        in conflicts
    assert f"document P2_interview: its text differs in the other study (P2_interview); {on_p2} coding(s) and 2 " \
           "speaker mapping(s) there were not merged" in conflicts
    assert r.json()["skipped"] == {"codings on a document whose text changed": on_p2,
                                   "speaker mappings on a document whose text changed": 2}
    with Study.open(base) as s:
        assert s.codes.get("Cliff edge").description == description
        assert "Right, that’s recording." in s.documents.text(s.documents.get("P2_interview").id)
    assert spans(base) == before                 # everything else was already there

    with Study.open(other) as s:
        s.codes.move("Pacing", "Programme ending")
    r = qc("merge", base, other)
    assert r.code == 1 and "conflict(s) left as BASE has them" in r.err
    assert "conflict: code Self-management/Pacing: named or placed as 'Programme ending/Pacing' in the other " \
           "study; kept this study's" in r.out
    with Study.open(base) as s:
        assert [c.path for c in s.codes.list() if c.name == "Pacing"] == ["Self-management/Pacing"]
    assert "conflict: code Programme ending/Cliff edge" in r.out


def test_theirs_makes_the_other_copy_authoritative_for_a_coder(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    ben_recodes(other)
    amira = spans(base, "Amira")
    assert qc("merge", base, other, "--theirs", "Ben").code == 0
    assert spans(base, "Ben") == spans(other, "Ben")
    assert spans(base, "Amira") == amira


def test_output_file_leaves_base_and_other_untouched(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    drop_coder(base, "Ben")
    ben_recodes(other)
    hashes = digest(base), digest(other)
    r = qc("merge", base, other, "-o", tmp_path / "merged.qc", "--json")
    assert r.code == 0 and r.json()["backup"] is None
    assert (digest(base), digest(other)) == hashes
    assert spans(tmp_path / "merged.qc") == spans(base, "Amira") | spans(other, "Ben")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.qc", "merged.qc", "other.qc"]
    r = qc("merge", base, other, "-o", tmp_path / "merged.qc")
    assert r.code == 2 and "already exists" in r.err


def test_dry_run_writes_nothing(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    drop_coder(base, "Ben")
    before = spans(base)
    r = qc("merge", base, other, "--dry-run", "--json")
    assert r.code == 0 and r.json()["added"]["codings"] == 104
    assert spans(base) == before
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak-" in p.name) == []


def test_undo_reverts_the_whole_merge(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    drop_coder(base, "Ben")
    before = spans(base)
    assert qc("merge", base, other).code == 0
    assert spans(base) != before
    assert qc("undo", base).code == 0
    assert spans(base) == before


def test_new_documents_codes_and_themes_come_across(demos, tmp_path):
    from qualcode.store.merge import merge_files

    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    text = "Interviewer: Anything else?\n\nP9: The pool on Tuesdays keeps me going.\n"
    with Study.open(other) as s:
        s.participants.add("P9", group="patient", attributes={"age": "70"})
        s.documents.add(parsed_interview(text), "P9_interview", "P9_interview.txt",
                        hashlib.sha256(text.encode()).hexdigest())
        assert s.codings.list() and s.documents.turns(s.documents.get("P9_interview").id)[1].participant == "P9"
        s.codes.add("Routines", description="Regular activities")
        s.codings.add_text("P9_interview", "Routines", "Ben", "The pool on Tuesdays")
        themes = themes_of(s)
        themes.add("Keeping going", codes=["Routines", "Pacing"], concept="Routine as survival")
        c = s.codings.list(code="Routines")[0]
        themes.quote(c.id, "Keeping going")
    report = merge_files(base, other)
    assert report.added["documents"] == 1 and report.added["codes"] == 1 and report.added["themes"] == 1
    assert report.added["participants"] == 1 and report.added["key quotes"] == 1
    with Study.open(base) as s:
        [coding] = s.codings.list(document="P9_interview")
        assert (coding.code, coding.coder, coding.text, coding.participant) == (
            "Routines", "Ben", "The pool on Tuesdays", "P9")
        theme = themes_of(s).get("Keeping going")
        assert sorted(theme.codes) == ["Routines", "Self-management/Pacing"] and theme.key_quotes == 1


@pytest.mark.parametrize("case", ["same", "not-a-study", "missing", "unknown-theirs"])
def test_errors_exit_2_and_write_nothing(demos, tmp_path, qc, case):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    (tmp_path / "notes.txt").write_text("not a study")
    args = {"same": (base, base), "not-a-study": (base, tmp_path / "notes.txt"),
            "missing": (base, tmp_path / "nope.qc"), "unknown-theirs": (base, other, "--theirs", "Zed")}[case]
    before = digest(base), sorted(p.name for p in tmp_path.iterdir())
    r = qc("merge", *args)
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert (digest(base), sorted(p.name for p in tmp_path.iterdir())) == before


# -- anonymisation: a document whose text changed, and nothing identifying into an anonymised study
@pytest.fixture(scope="module")
def anonymised(demos, tmp_path_factory) -> tuple[Path, Path]:
    """Copy "one" of the sample study, anonymised (register and rules, no NER); and its key."""
    from qualcode.cli import main

    folder = tmp_path_factory.mktemp("anon")
    study, key = folder / "anon.qc", folder / "anon.qckey"
    shutil.copy(demos / "one.qc", study)
    assert main(["anonymise", "scan", str(study), "--key", str(key), "--no-ner"]) == 0
    assert main(["anonymise", "apply", str(study), "--key", str(key), "--accept-all"]) == 0
    return study, key


def real_names(path: Path) -> list[str]:
    with Study.open(path) as s:
        return [n for (n,) in s.db.execute("SELECT name FROM participants WHERE name IS NOT NULL")]


@pytest.mark.parametrize("original", ["one", "two"])  # same GUIDs as the anonymised copy, or others
def test_an_anonymised_copy_conflicts_and_merges_nothing_into_the_original(demos, anonymised, tmp_path, qc,
                                                                         original):
    base = copy(demos, original, tmp_path / "base.qc")
    before = spans(base)
    with Study.open(base) as s:
        speakers = s.db.execute("SELECT document_id, label, participant_id FROM speakers ORDER BY id").fetchall()
    r = qc("merge", base, anonymised[0], "--json")
    assert r.code == 1
    data = r.json()
    conflicts = [c for c in data["conflicts"] if c.startswith("document ")]
    assert len(conflicts) == 9
    assert "document P1_interview: its text differs in the other study (P1_interview) (the other study was " \
           "anonymised); 71 coding(s) and 2 speaker mapping(s) there were not merged" in conflicts
    assert data["added"] == {}
    assert data["skipped"]["codings on a document whose text changed"] == 210
    assert spans(base) == before                 # no coding at anonymised offsets in the real text
    with Study.open(base) as s:
        assert s.db.execute("SELECT document_id, label, participant_id FROM speakers ORDER BY id").fetchall() \
            == speakers


@pytest.mark.parametrize("original", ["one", "two"])
def test_the_original_merges_nothing_identifying_into_the_anonymised_copy(demos, anonymised, tmp_path, qc,
                                                                        original):
    base = tmp_path / "anon.qc"
    shutil.copy(anonymised[0], base)
    other = copy(demos, original, tmp_path / "original.qc")
    before = spans(base)
    baseline = anonymise_check(qc, base, anonymised[1])
    r = qc("merge", base, other, "--json")
    assert r.code == 1
    data = r.json()
    assert sum(c.startswith("document ") and "(this study was anonymised)" in c for c in data["conflicts"]) == 9
    assert spans(base) == before
    assert real_names(base) == []
    assert_no_new_identifiers(qc, base, anonymised[1], baseline)


def anonymise_check(qc, study: Path, key: Path) -> dict:
    return qc("anonymise", "check", study, "--key", key, "--json").json()


def assert_no_new_identifiers(qc, study: Path, key: Path, baseline: dict) -> None:
    """What ``anonymise check`` finds after the merge is no more than it found before (the 47
    identifiers the unchecked merge brought in were speaker mappings with real names)."""
    after = anonymise_check(qc, study, key)
    assert (after["documents"], after["values"], after["participants_with_names"]) == ([], [], []), after
    assert after["leaks"] <= baseline["leaks"], after
    assert {r["term"] for r in after["raw"]} <= {r["term"] for r in baseline["raw"]}, after


def test_a_second_coders_anonymised_copy_brings_only_clean_work(anonymised, tmp_path, qc):
    base, other = tmp_path / "lead.qc", tmp_path / "second.qc"
    shutil.copy(anonymised[0], base)
    shutil.copy(anonymised[0], other)
    baseline = anonymise_check(qc, base, anonymised[1])
    clean = "Interviewer: Anything else?\n\nP9: The pool on Tuesdays keeps me going.\n"
    named = "Interviewer: Who helped?\n\nP10: Steve Kaminski rang me every week.\n"
    with Study.open(other) as s:
        s.participants.add("P9", group="patient", name="Joan Hartley")
        s.participants.add("P10", group="patient")
        for name, text in (("P9_interview", clean), ("P10_interview", named)):
            s.documents.add(parsed_interview(text), name, f"{name}.txt", hashlib.sha256(text.encode()).hexdigest())
        s.codings.add_text("P9_interview", "Pacing", "Ben", "The pool on Tuesdays")
        s.codings.add_text("P10_interview", "Pacing", "Ben", "rang me every week")
        c = s.codings.add_text("P1_interview", "Pacing", "Ben", "sitting's not great for me")
        s.codings.set_memo(c.id, "Steve Kaminski said the same")
        s.memos.add("Compare with the focus group", coder="Ben")
        s.memos.add("Ask Steve about the leaflet", coder="Ben")
        s.journal.add("Talked it over with Steve Kaminski", coder="Ben", entry_date="2024-06-02")
        s.journal.add("Second pass done", coder="Ben", entry_date="2024-06-01")
        s.speakers.map("Joan Hartley", "P9")      # a speaker label that is a real name, for all documents
    r = qc("merge", base, other, "--json")
    assert r.code == 1
    data = r.json()
    conflicts = data["conflicts"]
    assert any(c.startswith("participant P9: the other study holds their real name") for c in conflicts)
    assert any(c.startswith("document P10_interview: holds") for c in conflicts)
    assert any(c.startswith("journal entry of 2024-06-02: holds") for c in conflicts)
    assert any("a speaker label of the other study (all documents) is a registered name" in c for c in conflicts)
    assert any(c.startswith("memo ") and "holds" in c for c in conflicts)
    assert any(c.startswith("the memo of coding ") and "holds" in c for c in conflicts)
    assert not any("Joan" in c or "Steve" in c or "Kaminski" in c for c in conflicts)
    assert data["added"]["documents"] == 1 and data["added"]["memos"] == 1 and data["added"]["journal entries"] == 1
    with Study.open(base) as s:
        assert [d.name for d in s.documents.list() if d.name.startswith("P9")] == ["P9_interview"]
        assert s.documents.find("P10_interview") is None
        assert [c.text for c in s.codings.list(document="P9_interview")] == ["The pool on Tuesdays"]
        assert s.participants.get("P9").name is None
        assert s.db.execute("SELECT count(*) FROM speakers WHERE label = 'Joan Hartley'").fetchone()[0] == 0
        assert [j.body for j in s.journal.list(coder="Ben")] == ["Second pass done"]
        [coding] = [c for c in s.codings.list(document="P1_interview", coder="Ben")
                    if c.text == "sitting's not great for me"]
        assert not coding.memo                   # the coding came, its memo naming someone did not
    assert real_names(base) == []
    assert_no_new_identifiers(qc, base, anonymised[1], baseline)


def test_a_never_anonymised_copy_adds_no_document_to_an_anonymised_study(demos, anonymised, tmp_path, qc):
    base = tmp_path / "anon.qc"
    shutil.copy(anonymised[0], base)
    other = copy(demos, "two", tmp_path / "two.qc")
    text = "Interviewer: Anything else?\n\nP9: The pool on Tuesdays keeps me going.\n"
    with Study.open(other) as s:
        s.documents.add(parsed_interview(text), "P9_interview", "P9_interview.txt",
                        hashlib.sha256(text.encode()).hexdigest())
    data = qc("merge", base, other, "--json").json()
    assert "document P9_interview: the other study was never anonymised; not added to this anonymised study " \
           "(anonymise it there first, or import and anonymise it here)" in data["conflicts"]
    with Study.open(base) as s:
        assert s.documents.find("P9_interview") is None


def test_merging_an_identical_copy_records_no_change(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "one", tmp_path / "same.qc")
    with Study.open(base) as s:
        history = s.history(100)
    r = qc("merge", base, other, "--json")
    assert r.code == 0 and r.json()["added"] == {} and r.json()["conflicts"] == []
    with Study.open(base) as s:
        assert s.history(100) == history         # nothing for undo to revert
    assert qc("merge", base, copy(demos, "two", tmp_path / "two.qc"), "--json").json()["added"] == {}
    with Study.open(base) as s:
        assert s.history(100) == history


def test_a_document_renamed_in_the_other_copy_is_matched_and_mentioned(demos, tmp_path, qc):
    base, other = copy(demos, "one", tmp_path / "base.qc"), copy(demos, "two", tmp_path / "other.qc")
    with Study.open(other) as s:
        s.documents.rename("P2_interview", "P2 interview (second visit)")
    data = qc("merge", base, other, "--json").json()
    assert data["conflicts"] == [] and data["matched"]["documents"] == 9
    assert "document P2_interview is called 'P2 interview (second visit)' in the other study; kept the name " \
           "'P2_interview'" in data["notes"]
