"""Behaviour of the paths rewritten for speed (issue 9): the same answers as before, at scale.

No timings here (benchmarks/ measures them); these tests pin what the faster code must still do.
"""

from __future__ import annotations

from itertools import pairwise

from qualcode.anonymise import guard
from qualcode.study import Study
from qualcode.transcript import ParsedTranscript


# -- the export guard ------------------------------------------------------------------------
def test_guard_reports_every_occurrence_once_and_counts_each_name(study_path):
    # Many leaks (the guard used to compare each new one with every earlier one).
    lines = [f"Line {i}: Sarah Whitfield said hello to Whitfield." for i in range(3000)]
    content = "\n".join(lines)
    with Study.open(study_path) as s:
        leaks = guard.check(s, content)
        message = guard.describe(leaks)
    assert [lk.text for lk in leaks[:2]] == ["Sarah Whitfield", "Whitfield"]
    assert len(leaks) == 6000
    starts = [lk.start for lk in leaks]
    assert starts == sorted(starts)
    # No two leaks overlap: "Sarah Whitfield" is one leak, not also "Sarah" and "Whitfield".
    assert all(a.end <= b.start for a, b in pairwise(leaks))
    assert all(content[lk.start:lk.end] == lk.text for lk in leaks)
    assert "'Sarah Whitfield' ×3000" in message and "'Whitfield' ×3000" in message
    assert message.count("Whitfield'") == 2  # each identifier named once



def test_guard_hits_from_later_sources_fill_the_gaps_between_earlier_ones(study_path):
    import re

    content = "Call 07700 900123, Sarah. Whitfield Road. Ring 07700 900123 again, Whitfield."
    with Study.open(study_path) as s:
        g = guard.Guard(s)
        # As the key would give them: a phone number and a place replaced at apply.
        g.identifiers = {("phone", "07700900123"): "07700 900123"}
        g.literals = {"Whitfield Road": "place"}
        g._literal_re = re.compile(r"(?<!\w)(?:Whitfield Road)(?!\w)")
        leaks = g.check(content)
    # The participant's names come first; the place overlapping one of them is not reported;
    # the phone numbers found afterwards land before and between them.
    assert [(lk.text, lk.found_by) for lk in leaks] == [
        ("07700 900123", "log"), ("Sarah", "participant"), ("Whitfield", "participant"),
        ("07700 900123", "log"), ("Whitfield", "participant")]

# -- speaker labels -> participants (set-based relink) --------------------------------------
def _participants_of(s, doc):
    return {t.speaker: t.participant for t in s.documents.turns(s.documents.get(doc).id)}


def test_labels_resolve_by_mapping_then_label_then_name_case_insensitively(tmp_path):
    from tests.conftest import INTERVIEW, add_interview

    with Study.create(tmp_path / "s.qc", coder="Amira") as s:
        s.participants.add("P1", name="Sarah Whitfield")
        s.participants.add("P2", name="sarah")  # a recorded name equal to the label "Sarah"
        s.participants.add("SARAH")  # a participant labelled like the speaker, added later
        add_interview(s, "A", INTERVIEW)
        add_interview(s, "B", INTERVIEW.replace("Sarah:", "p1:"))
        # "Sarah" matches P2 by name and SARAH by label: the participant added first wins.
        assert _participants_of(s, "A") == {"Interviewer": None, "Sarah": "P2"}
        assert _participants_of(s, "B") == {"Interviewer": None, "p1": "P1"}  # label, any case
        s.speakers.map("Sarah", "P1")  # study-wide mapping beats label and name
        assert _participants_of(s, "A")["Sarah"] == "P1"
        s.speakers.map("Sarah", "SARAH", document="A")  # the document's own mapping beats both
        assert _participants_of(s, "A")["Sarah"] == "SARAH"
        s.speakers.map("p1", "interviewer", document="B")  # a role: no participant, even by label
        assert _participants_of(s, "B") == {"Interviewer": None, "p1": None}
        s.undo()  # undo relinks the whole study
        assert _participants_of(s, "B")["p1"] == "P1"


def test_adding_a_participant_links_the_turns_already_imported(tmp_path):
    from tests.conftest import INTERVIEW, add_interview

    with Study.create(tmp_path / "s.qc", coder="Amira") as s:
        add_interview(s, "A", INTERVIEW)
        assert s.documents.get("A").participants == ()
        s.participants.add("P7", name="SARAH")
        assert s.documents.get("A").participants == ("P7",)
        turns = s.documents.turns(s.documents.get("A").id)
        assert [t.participant for t in turns] == [None, "P7", None, "P7"]
        assert [t.id for t in turns] == sorted(t.id for t in turns) and [t.seq for t in turns] == [0, 1, 2, 3]
        assert s.search("lifeline")[0] == 1  # the turns are in the full-text index under their ids


# -- reading many documents and codings at once ----------------------------------------------
def test_listing_reads_each_documents_participants_and_each_codings_text(study_path):
    from tests.conftest import INTERVIEW, add_interview

    with Study.open(study_path) as s:
        s.participants.add("P2", name="Ravi")
        add_interview(s, "P2_interview", INTERVIEW.replace("Sarah:", "Ravi:"))
        s.documents.add(ParsedTranscript(text="No speakers here.\n\nJust a paragraph.\n", turns=[],
                                         format="text", encoding="utf-8"), "Notes", "notes.txt", "0" * 64)
        listed = {d.name: d.participants for d in s.documents.list()}
        assert listed == {"Notes": (), "P1_interview": ("P1",), "P2_interview": ("P2",)}
        assert listed == {name: s.documents.get(name).participants for name in listed}
        for doc, needle in (("P1_interview", "cliff edge"), ("P2_interview", "Linda's Tuesday group")):
            s.codings.add_text(doc, "Programme ending/Cliff edge", "Amira", needle)
        codings = s.codings.list(code="Programme ending/Cliff edge")
        assert [(c.document, c.text, c.participant) for c in codings] == [
            ("P1_interview", "cliff edge", "P1"), ("P2_interview", "Linda's Tuesday group", "P2")]
        assert s.documents.texts([2, 1, 99]) == {1: s.documents.text(1), 2: s.documents.text(2)}


# -- migrations: read with plain SQL, applied by sqlite_utils --------------------------------
def test_a_study_records_every_migration_in_order_and_an_older_one_is_upgraded(tmp_path):
    import sqlite3

    import pytest

    from qualcode.store.schema import MigrationSet, migrations

    names = [m.name for m in migrations._migrations]
    path = tmp_path / "s.qc"
    with Study.create(path, coder="Amira") as s:
        assert [m.name for m in migrations.applied(s.db)] == names and migrations.pending(s.db) == []
        s.participants.add("P1", name="Sarah Whitfield")
    # Make it a study written before 0005_indexes.
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_indexes'")
        for index in ("participants_by_name", "speakers_by_label", "documents_overview"):
            conn.execute(f"DROP INDEX {index}")
    conn.close()
    with Study.open(path) as s:
        assert [m.name for m in migrations.applied(s.db)] == names
        indexes = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"participants_by_name", "speakers_by_label", "documents_overview"} <= indexes
        assert s.participants.get("P1").name == "Sarah Whitfield"
        assert s.info()["schema_version"] == names[-1]
    again = MigrationSet("x")
    again(name="a")(lambda db: None)
    with pytest.raises(ValueError):
        again(name="a")(lambda db: None)
