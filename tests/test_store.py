"""The study store through the Python API: the same operations the CLI and TUI use."""

import json
import sqlite3

import pytest

from qualcode.store.schema import migrations

LATEST = migrations._migrations[-1].name  # the newest migration this qualcode knows

from qualcode import Conflict, InvalidInput, NotFound, StudyFileError
from qualcode.study import Study
from qualcode.transcript import ParsedTranscript, ParsedTurn

from conftest import INTERVIEW, add_interview


def test_a_new_study_is_wal_with_foreign_keys_and_an_applied_schema(tmp_path):
    path = tmp_path / "new.qc"
    with Study.create(path, title="T", approach="codebook") as s:
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        info = s.info()
    assert info["approach"] == "codebook" and info["schema_version"] == LATEST
    with Study.open(path) as s:
        assert s.settings()["title"] == "T"


def test_indexes_serve_the_hot_lookups(study_path):
    with Study.open(study_path) as s:
        plans = {
            "codings by document": "SELECT * FROM codings WHERE document_id = 1 AND start < 10",
            "codings by code": "SELECT * FROM codings WHERE code_id = 1",
            "codings by coder": "SELECT * FROM codings WHERE coder_id = 1",
            "turn at offset": "SELECT id FROM turns WHERE document_id = 1 AND start <= 5 ORDER BY start DESC LIMIT 1",
            "participant by name": "SELECT min(id) FROM participants WHERE name = 'x' COLLATE NOCASE",
            "speaker mapping by label": "SELECT participant_id FROM speakers WHERE label = 'x'",
            # the study overview and the document list never read the long text column
            "words of the study": "SELECT sum(word_count) FROM documents",
            "document list": "SELECT id, name, source_name, format, encoding, sha256, char_count, word_count, "
                             "metadata, imported FROM documents ORDER BY name",
        }
        for what, sql in plans.items():
            plan = " ".join(r[-1] for r in s.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
            assert "USING" in plan and "INDEX" in plan, (what, plan)


def test_open_refuses_missing_foreign_and_corrupt_files_without_creating_anything(tmp_path):
    with pytest.raises(StudyFileError, match="does not exist"):
        Study.open(tmp_path / "nope.qc")
    assert not (tmp_path / "nope.qc").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StudyFileError, match="not a qualcode study"):
        Study.open(other)
    text = tmp_path / "notes.qc"
    text.write_text("hello")
    with pytest.raises(StudyFileError, match="not an SQLite database"):
        Study.open(text)


def test_a_document_keeps_canonical_text_and_turns(study_path):
    with Study.open(study_path) as s:
        doc = s.documents.get("P1_interview")
        assert s.documents.text(doc.id) == INTERVIEW
        turns = s.documents.turns(doc.id)
        assert [t.speaker for t in turns] == ["Interviewer", "Sarah", "Interviewer", "Sarah"]
        assert INTERVIEW[turns[1].start:turns[1].end].startswith("Honestly")
        assert turns[1].participant == "P1" and doc.participants == ("P1",)
        assert s.documents.get(str(doc.id)).name == "P1_interview"  # by id too


def test_reimporting_the_same_bytes_is_a_no_op(study_path):
    with Study.open(study_path) as s:
        before = s.info()
        add_interview(s, name="another name")
        assert s.info()["documents"] == before["documents"]


def test_non_canonical_or_overlapping_turns_are_refused(tmp_path):
    with Study.create(tmp_path / "s.qc") as s:
        with pytest.raises(InvalidInput, match="non-canonical"):
            s.documents.add(ParsedTranscript("a\r\nb"), "d", "d.txt", "h1")
        with pytest.raises(InvalidInput, match="overlaps"):
            s.documents.add(ParsedTranscript("abcdef", [ParsedTurn(0, 4), ParsedTurn(2, 6)]), "d", "d.txt", "h2")
        assert s.info()["documents"] == 0


def test_a_text_without_speakers_gets_one_unit_per_paragraph(tmp_path):
    with Study.create(tmp_path / "s.qc") as s:
        doc = s.documents.add(ParsedTranscript("First para.\n\n  Second\npara.  \n"), "d", "d.txt", "h")["document"]
        turns = s.documents.turns(doc.id)
        text = s.documents.text(doc.id)
        assert [text[t.start:t.end] for t in turns] == ["First para.", "Second\npara."]


def test_coding_by_exact_text_and_by_span_lands_on_the_same_words(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Cliff edge", "Amira", "like falling off a cliff edge")
        assert INTERVIEW[c.start:c.end] == "like falling off a cliff edge"
        assert (c.participant, c.speaker, c.coder) == ("P1", "Sarah", "Amira")
        second = s.codings.add_text("P1_interview", "Pacing", "Ben", "pace myself", nth=2)
        assert second.start == INTERVIEW.index("pace myself", INTERVIEW.index("pace myself") + 1)
        emoji = s.codings.add("P1_interview", "Pacing", "Ben", INTERVIEW.index("😀"), INTERVIEW.index("😀") + 1)
        assert emoji.text == "😀"


def test_overlapping_codings_of_one_coder_and_code_merge_but_other_coders_stay(study_path):
    with Study.open(study_path) as s:
        a = s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself", memo="m1")
        b = s.codings.add_text("P1_interview", "Pacing", "Amira", "pace myself, and Linda's Tuesday group", memo="m2")
        s.codings.add_text("P1_interview", "Pacing", "Ben", "Learning to pace myself")
        mine = s.codings.list(code="Pacing", coder="Amira")
        assert len(mine) == 1 and mine[0].id == a.id == b.id
        assert mine[0].text == "Learning to pace myself, and Linda's Tuesday group"
        assert mine[0].memo == "m1\nm2"
        assert len(s.codings.list(code="Pacing")) == 2


def test_uncode_trims_and_splits(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself, and Linda's")
        mid = INTERVIEW.index("pace")
        r = s.codings.remove("P1_interview", "Pacing", "Amira", mid, mid + 4)
        assert r == {"removed": 0, "trimmed": 0, "split": 1}
        texts = sorted(x.text for x in s.codings.list(code="Pacing"))
        assert texts == [" myself, and Linda's", "Learning to "]
        with pytest.raises(NotFound):
            s.codings.remove("P1_interview", "Pacing", "Ben", 0, 5)
        assert c.id in {x.id for x in s.codings.list()}


def test_bad_coding_requests_are_user_errors(study_path):
    with Study.open(study_path) as s:
        with pytest.raises(NotFound, match="unknown document"):
            s.codings.add("nope", "Pacing", "Amira", 0, 5)
        with pytest.raises(NotFound, match="unknown code"):
            s.codings.add("P1_interview", "Nope", "Amira", 0, 5)
        with pytest.raises(NotFound, match="unknown coder"):
            s.codings.add("P1_interview", "Pacing", "Zed", 0, 5)
        with pytest.raises(InvalidInput, match="outside"):
            s.codings.add("P1_interview", "Pacing", "Amira", 5, 10_000)
        with pytest.raises(NotFound, match="does not occur"):
            s.codings.add_text("P1_interview", "Pacing", "Amira", "not in the text")
        with pytest.raises(NotFound, match="ignoring case"):
            s.codings.add_text("P1_interview", "Pacing", "Amira", "PACING")
        with pytest.raises(InvalidInput, match="--coder"):
            s.codings.add("P1_interview", "Pacing", None, 0, 5)  # two coders: must say who
        assert s.info()["codings"] == 0


def test_code_tree_rename_move_merge_delete(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Cliff edge", "Amira", "falling off a cliff edge")
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        assert [c.path for c in s.codes.list()] == [
            "Programme ending", "Programme ending/Cliff edge", "Self-management", "Self-management/Pacing"]
        s.codes.rename("Cliff edge", "Abrupt end")
        s.codes.move("Abrupt end", "Self-management")
        assert s.codes.get("Self-management/Abrupt end").description == "Support stops abruptly"
        with pytest.raises(InvalidInput, match="under itself"):
            s.codes.move("Self-management", "Self-management/Pacing")
        with pytest.raises(Conflict, match="already exists"):
            s.codes.add("pacing", parent="Self-management")
        with pytest.raises(Conflict, match="coding"):
            s.codes.delete("Pacing")
        with pytest.raises(Conflict, match="child"):
            s.codes.delete("Self-management")
        r = s.codes.merge("Abrupt end", "Programme ending")
        assert r["codings_moved"] == 1
        assert [c.code for c in s.codings.list(code="Programme ending")] == ["Programme ending"]
        assert s.codes.delete("Pacing", codings="delete") == {"codings_deleted": 1, "codings_moved": 0}
        assert s.codes.delete("Self-management") == {"codings_deleted": 0, "codings_moved": 0}
        assert [c.path for c in s.codes.list()] == ["Programme ending"]


def test_a_name_used_twice_needs_its_path(study_path):
    with Study.open(study_path) as s:
        s.codes.add("Other", parent="Programme ending")
        s.codes.add("Other", parent="Self-management")
        with pytest.raises(InvalidInput, match="path"):
            s.codes.get("Other")
        assert s.codes.get("Self-management/Other").parent_id == s.codes.get("Self-management").id


def test_participants_are_typed_and_bands_follow_their_source(tmp_path):
    csv_file = tmp_path / "p.csv"
    csv_file.write_text("label,group,name,role,age,years_experience,consented\n"
                        "P1,patient,Sarah W,Patient,52,,yes\n"
                        "S1,staff,Nadia F,Senior Health Connector,41,8,no\n"
                        "PTV3,,Ros A,Patient Tutor Volunteer,49,0.3,yes\n", encoding="utf-8")
    with Study.create(tmp_path / "s.qc") as s:
        assert s.participants.import_csv(csv_file) == {"added": 3, "updated": 0}
        types = {k: v["type"] for k, v in s.participants.variables().items()}
        assert types == {"role": "text", "age": "integer", "years_experience": "float", "consented": "boolean"}
        s.participants.define_band("experience_band", "years_experience", [0.5, 5],
                                   ["new", "experienced", "highly experienced"])
        bands = {p.label: p.attributes.get("experience_band") for p in s.participants.list()}
        assert bands == {"P1": None, "PTV3": "new", "S1": "highly experienced"}
        assert s.participants.get("PTV3").group == "PTV"
        s.participants.set("PTV3", {"years_experience": "2"})
        assert s.participants.get("PTV3").attributes["experience_band"] == "experienced"
        with pytest.raises(InvalidInput, match="age must be an integer"):
            s.participants.set("P1", {"age": "fifty"})
        assert s.participants.import_csv(csv_file) == {"added": 0, "updated": 3}
        assert [p.label for p in s.participants.list()] == ["P1", "PTV3", "S1"]


def test_speaker_mapping_per_document_wins_over_study_wide(study_path):
    with Study.open(study_path) as s:
        s.participants.add("P2", group="patient")
        add_interview(s, "P2_interview", INTERVIEW.replace("Sarah:", "R:"))
        assert [r["speaker"] for r in s.speakers.list(unmapped_only=True)] == ["R"]
        s.speakers.map("R", "P2", document="P2_interview")
        assert s.speakers.list(unmapped_only=True) == []
        assert s.documents.get("P2_interview").participants == ("P2",)
        roles = {(r["document"], r["speaker"]): r["role"] for r in s.speakers.list()}
        assert roles[("P1_interview", "Interviewer")] == "interviewer"  # recognised on import


def test_memos_and_journal(study_path):
    with Study.open(study_path) as s:
        m = s.memos.add("Cliff edge is vivid", "Amira", document="P1_interview", span=(10, 40))
        assert (m.target_type, m.start, m.end) == ("passage", 10, 40)
        s.memos.add("Define carefully", "Ben", code="Cliff edge")
        assert [x.body for x in s.memos.list(code="Cliff edge")] == ["Define carefully"]
        s.memos.edit(m.id, "Edited")
        assert s.memos.get(m.id).body == "Edited"
        e = s.journal.add("Noticing my own assumptions about pacing.", "Amira", "2024-03-14")
        assert (e.entry_date, e.phase) == ("2024-03-14", 1)
        with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
            s.journal.add("x", "Amira", "14/03/2024")
        assert [j.coder for j in s.journal.list(coder="Amira")] == ["Amira"]


def test_undo_reverts_the_last_change_of_a_coder_only(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.codings.add_text("P1_interview", "Pacing", "Ben", "pace myself")
        s.codings.add_text("P1_interview", "Pacing", "Amira", "pace myself, and Linda's")  # merges
        undone = s.undo("Amira")
        assert undone["coder"] == "Amira" and "code" in undone["summary"]
        assert {(c.coder, c.text) for c in s.codings.list()} == {
            ("Amira", "Learning to pace myself"), ("Ben", "pace myself")}
        s.undo("Amira")
        assert [c.coder for c in s.codings.list()] == ["Ben"]
        history = s.history()
        assert history[0]["command"] == "undo" and history[0]["undoes"] is not None


def test_undo_of_a_code_delete_restores_its_codings(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.codes.delete("Pacing", codings="delete")
        s.undo()
        assert [c.text for c in s.codings.list(code="Self-management/Pacing")] == ["Learning to pace myself"]


def test_undo_refuses_when_later_work_depends_on_it(study_path):
    with Study.open(study_path) as s:
        s.actor = "Amira"
        c = s.codes.add("Hope")
        s.actor = None
        s.codings.add_text("P1_interview", "Hope", "Ben", "even on bad days")
        with pytest.raises(Conflict, match="cannot undo"):
            s.undo("Amira")  # Amira's last change added the code Ben has since used
        assert s.codes.get("Hope").id == c.id
        assert len(s.codings.list(code="Hope")) == 1


def test_every_change_is_in_the_audit_log_with_before_and_after(study_path):
    with Study.open(study_path) as s:
        s.codes.describe("Pacing", description="Balancing activity and rest")
        row = s.db.execute("SELECT before, after FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        before, after = json.loads(row[0]), json.loads(row[1])
        assert before["description"] == "" and after["description"] == "Balancing activity and rest"


def test_search_is_safe_and_reports_code_point_positions(study_path):
    with Study.open(study_path) as s:
        total, hits = s.search("pace")
        assert total == 1 and len(hits) == 2
        assert all(INTERVIEW[h.start:h.end].lower() == "pace" for h in hits)
        total, hits = s.search('"cliff edge" OR lifeline')
        assert {h.match for h in hits} == {"cliff edge", "lifeline"}
        assert s.search("pac*")[1][0].match == "Pacing"
        for nasty in ['"', "AND", "(", "NEAR(a b)", "-pain", "a:b", "'; DROP TABLE codings; --", "*"]:
            try:
                s.search(nasty)
            except InvalidInput:
                pass  # "no words to look for" is a fine answer; a crash is not
        assert s.search("NEAR")[0] == 0
        _, hits = s.search("😀 days")
        assert hits and hits[0].participant == "P1"


def test_a_common_word_walks_the_documents_and_finds_the_same_hits_as_the_sort(study_path, monkeypatch):
    """Above a number of matching turns the search walks documents by name instead of sorting
    every hit; both plans must give the same hits in the same order, whatever the limit."""
    from qualcode.store import search as search_module

    with Study.open(study_path) as s:
        # Imported out of name order, so that walking by name is not the same as by id.
        add_interview(s, "Z9_interview", INTERVIEW.replace("Pacing", "Pacing pain"))
        add_interview(s, "A0_interview", INTERVIEW.replace("Honestly", "Pain, honestly"))
        add_interview(s, "M5_interview", INTERVIEW + "\nInterviewer: And the pain now?\n")
        for query in ["pain", "pace OR pain", "pain*", '"cliff edge"', "nothing"]:
            for limit in [1, 2, 3, 50, None]:
                monkeypatch.setattr(search_module, "_WALK_FROM", 10**9)
                sorted_plan = s.search(query, limit=limit)
                monkeypatch.setattr(search_module, "_WALK_FROM", 0)
                walked = s.search(query, limit=limit)
                assert walked == sorted_plan, (query, limit)
        total, hits = s.search("pain", limit=3)
        assert total == 7 and [h.document for h in hits] == ["A0_interview", "A0_interview", "M5_interview"]


def test_settings_validate(study_path):
    with Study.open(study_path) as s:
        assert s.configure(phase=3)["phase"] == 3
        with pytest.raises(InvalidInput):
            s.configure(phase=9)
        with pytest.raises(InvalidInput):
            s.configure(approach="vibes")


def test_a_study_from_a_newer_qualcode_is_refused_untouched(study_path):
    with Study.open(study_path) as s:
        s.db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('qualcode', '9999_future', 'x')")
        s.db.conn.commit()
    before = study_path.read_bytes()
    with pytest.raises(StudyFileError, match="newer qualcode"):
        Study.open(study_path)
    assert study_path.read_bytes() == before


def test_two_connections_share_a_study_waiting_instead_of_failing(study_path):
    import threading
    import time

    first, second = Study.open(study_path), Study.open(study_path)
    holding = threading.Event()

    def hold_a_write():
        with first.change("test", "hold the write lock"):
            first.db.execute("INSERT INTO coders (name, kind, created, guid) VALUES ('Cara', 'coder', 'now', 'g-cara')")
            holding.set()
            time.sleep(0.4)

    worker = threading.Thread(target=hold_a_write)
    worker.start()
    holding.wait(5)
    second.codes.add("Written while the other connection held the lock")  # waits on the busy timeout
    worker.join()
    assert {c.name for c in second.coders.list()} >= {"Amira", "Ben", "Cara"}
    assert second.codes.get("Written while the other connection held the lock")
    first.close()
    second.close()


def test_redo_reapplies_what_undo_reverted_and_can_itself_be_undone(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.codes.describe("Pacing", description="Balancing activity and rest")
        s.undo()
        assert s.codes.get("Pacing").description == ""
        s.redo()
        assert s.codes.get("Pacing").description == "Balancing activity and rest"
        s.undo()  # undoes the redo
        assert s.codes.get("Pacing").description == ""
        s.undo("Amira")
        assert s.codings.list() == []
        s.redo("Amira")
        assert [c.text for c in s.codings.list()] == ["Learning to pace myself"]
        with pytest.raises(NotFound, match="nothing to redo"):
            s.redo("Amira")


def test_several_undos_are_redone_newest_first(study_path):
    with Study.open(study_path) as s:
        s.actor = "Amira"
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.codes.describe("Pacing", description="Balancing activity and rest")
        s.codes.rename("Pacing", "Pacing activity")
        for _ in range(3):
            s.undo("Amira")
        assert s.codings.list() == [] and s.codes.find("Pacing activity") is None
        s.redo("Amira")
        assert [c.text for c in s.codings.list()] == ["Learning to pace myself"]
        assert s.codes.get("Pacing").description == ""
        s.redo("Amira")
        assert s.codes.get("Pacing").description == "Balancing activity and rest"
        s.codes.add("Fatigue")  # new work: the rename can no longer be redone
        with pytest.raises(NotFound, match="redo follows an undo"):
            s.redo("Amira")
        assert s.codes.find("Pacing activity") is None


def test_redo_is_refused_once_something_else_happened(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.undo("Amira")
        s.codings.add_text("P1_interview", "Pacing", "Amira", "pace myself every day")
        with pytest.raises(NotFound, match="redo follows an undo"):
            s.redo("Amira")


def test_coding_progress_counts_participant_turns_per_coder(study_path):
    with Study.open(study_path) as s:
        doc = s.documents.get("P1_interview")
        assert s.documents.progress() == {}
        s.codings.add_text("P1_interview", "Pacing", "Amira", "Learning to pace myself")
        s.codings.add_text("P1_interview", "Cliff edge", "Ben", "cliff edge")
        s.codings.add_text("P1_interview", "Pacing", "Ben", "pace myself every day")
        # two participant turns (Sarah's): Amira coded one of them, Ben both
        assert s.documents.progress() == {doc.id: {"Amira": 0.5, "Ben": 1.0}}
        counts = s.codes.counts()
        pacing = s.codes.get("Pacing").id
        assert counts[pacing]["by_coder"]["Ben"] == {"codings": 1, "documents": 1, "participants": 1}


_PROGRESS_BY_SQL = """
    WITH units AS (
        SELECT t.id, t.document_id, t.start, t."end" FROM turns t
        WHERE t.participant_id IS NOT NULL OR NOT EXISTS (
            SELECT 1 FROM turns u WHERE u.document_id = t.document_id AND u.participant_id IS NOT NULL))
    SELECT u.document_id, k.name, count(DISTINCT u.id) * 1.0
           / (SELECT count(*) FROM units v WHERE v.document_id = u.document_id)
    FROM units u JOIN codings c ON c.document_id = u.document_id AND c.start < u."end" AND c."end" > u.start
    JOIN coders k ON k.id = c.coder_id GROUP BY u.document_id, c.coder_id
"""


def test_coding_progress_equals_the_overlap_join_it_replaced(study_path):
    """The numpy count must equal the plain SQL definition (turns overlapping any coding)."""
    import random

    rng = random.Random(5)
    with Study.open(study_path) as s:
        s.coders.add("Chloe")
        for n in range(6):  # P1_interview has Sarah mapped; these have no participant mapped
            add_interview(s, f"D{n}", INTERVIEW.replace("Pacing", "Pacing " + "word " * n))
        docs = s.documents.list()
        for _ in range(60):
            doc = rng.choice(docs)
            start = rng.randrange(doc.char_count - 1)
            end = min(doc.char_count, start + rng.choice([1, 2, 5, 30]))
            try:
                s.codings.add(doc.name, rng.choice(["Pacing", "Cliff edge"]),
                              rng.choice(["Amira", "Ben", "Chloe"]), start, end)
            except InvalidInput:  # a span of whitespace only
                pass
        # Edges: codings from a participant's turn's end into the gap, and from the gap up to
        # the next participant turn's start, touch no turn; one more character reaches into it.
        s.coders.add("Dev")
        s.coders.add("Eve")
        edge = s.documents.get(add_interview(s, "Edges", INTERVIEW.replace("How", "So how")))
        t0, t1, t2, t3 = s.documents.turns(edge.id)  # Interviewer, Sarah (P1), Interviewer, Sarah
        s.codings.add("Edges", "Pacing", "Dev", t1.end, t2.start)
        s.codings.add("Edges", "Pacing", "Dev", t2.end, t3.start)
        s.codings.add("Edges", "Cliff edge", "Eve", t2.end, t3.start + 1)
        want = {}
        for doc_id, coder, share in s.db.execute(_PROGRESS_BY_SQL):
            want.setdefault(doc_id, {})[coder] = share
        got = s.documents.progress()
        assert got == want
        shares = [v for per_coder in got.values() for v in per_coder.values()]
        assert any(0 < v < 1 for v in shares) and 1.0 in shares
        assert got[edge.id] == {"Eve": 0.5}


def test_a_second_connection_in_the_process_never_costs_the_first_its_locks(study_path):
    # The TUI keeps one connection open while its workers open and close others. Closing a
    # file descriptor of the study drops every POSIX lock the process holds on it, so opening
    # must never read the file with open()/close() of its own: if it did, a CLI command in
    # another process would take itself for the last user, checkpoint and delete the WAL under
    # the TUI, and the TUI's later writes would be lost (or the file corrupted).
    import subprocess
    import sys

    tui = Study.open(study_path)
    tui.actor = "Ben"
    with Study.open(study_path):  # a worker's connection, opened and closed
        pass
    cli = ("import sys\nfrom qualcode.study import Study\n"
           "with Study.open(sys.argv[1]) as s:\n"
           "    s.codes.add('CLI code'); s.codings.add('P1_interview', 'CLI code', 'Amira', 30, 40)\n")
    assert subprocess.run([sys.executable, "-c", cli, str(study_path)], capture_output=True).returncode == 0
    tui.codes.add("TUI code")
    tui.codings.add("P1_interview", "TUI code", "Ben", 10, 20)
    seen = subprocess.run([sys.executable, "-c", "import sys\nfrom qualcode.study import Study\n"
                           "with Study.open(sys.argv[1]) as s: print(sorted(c.code for c in s.codings.list()))",
                           str(study_path)], capture_output=True, text=True)
    assert "TUI code" in seen.stdout and "CLI code" in seen.stdout, seen
    tui.close()
    with Study.open(study_path) as s:
        assert s.integrity_check() == "ok"
        assert {c.code for c in s.codings.list()} >= {"TUI code", "CLI code"}
