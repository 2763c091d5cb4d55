"""`qualcode import`: files and folders, per-file summary, idempotence, bad files skipped, --replace."""

import json
from pathlib import Path

from qualcode.study import Study

TRANSCRIPT = (
    "Interview P7 – 02/04/2024\n\n"
    "[00:00:04] Interviewer: Could you tell me about the group?\n\n"
    "[00:00:09] Janet: It was a lifeline, honestly. I'd go every Tuesday.\n\n"
    "[00:00:20] Interviewer: And after it ended?\n\n"
    "[00:00:24] Janet: Nothing. Like a cliff edge.\n"
)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_import_files_and_folders_with_a_summary(qc, study_path, tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    write(folder / "P7_interview.txt", TRANSCRIPT)
    write(folder / "P8_interview.txt", TRANSCRIPT.replace("Janet", "Ruth"), "cp1252")
    write(folder / ".hidden.txt", TRANSCRIPT)
    write(folder / "notes.pdf", "not a transcript")
    write(folder / "README.md", "how these files were made")
    r = qc("import", study_path, folder, "--json")
    assert r.code == 1, r.err  # the PDF was skipped, with its reason
    assert r.json()["failed"] == [{"file": str(folder / "notes.pdf"),
                                   "error": "not imported: a PDF; export the transcript as .docx or .txt"}]
    assert "notes.pdf: not imported: a PDF" in r.err
    imported = {x["document"]: x for x in r.json()["imported"]}
    assert set(imported) == {"P7_interview", "P8_interview"}
    p7 = imported["P7_interview"]
    assert (p7["status"], p7["format"], p7["turns"], p7["speakers"]) == ("added", "text", 4, ["Interviewer", "Janet"])
    with Study.open(study_path) as s:
        doc = s.documents.get("P7_interview")
        turns = s.documents.turns(doc.id)
        text = s.documents.text(doc.id)
        assert text == TRANSCRIPT
        assert text[turns[1].start:turns[1].end] == "It was a lifeline, honestly. I'd go every Tuesday."
        assert turns[1].start_ms == 9000
    table = qc("import", study_path, folder / "P7_interview.txt")
    assert table.code == 0 and "unchanged" in table.out  # same bytes: a no-op


def test_crlf_bom_utf16_and_cp1252_files_become_the_same_canonical_text(qc, study_path, tmp_path):
    variants = {
        "crlf.txt": TRANSCRIPT.replace("\n", "\r\n").encode("utf-8"),
        "bom.txt": b"\xef\xbb\xbf" + TRANSCRIPT.replace("I'd", "I’d").encode("utf-8"),
        "utf16.txt": TRANSCRIPT.replace("I'd", "I’d").encode("utf-16"),
        "win.txt": TRANSCRIPT.replace("I'd", "I’d").encode("cp1252"),
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
    r = qc("import", study_path, *[tmp_path / n for n in variants], "--json")
    assert r.code == 0, r.err
    encodings = {x["document"]: x["encoding"] for x in r.json()["imported"]}
    assert encodings["win"] == "cp1252" and encodings["crlf"] == "utf-8"
    with Study.open(study_path) as s:
        texts = {n: s.documents.text(s.documents.get(n).id) for n in ("bom", "utf16", "win")}
        assert set(texts.values()) == {TRANSCRIPT.replace("I'd", "I’d")}
        assert s.documents.text(s.documents.get("crlf").id) == TRANSCRIPT


def test_a_bad_file_is_reported_and_skipped_and_the_others_import(qc, study_path, tmp_path):
    good = write(tmp_path / "good.txt", TRANSCRIPT)
    empty = write(tmp_path / "empty.txt", "")
    binary = tmp_path / "random.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    r = qc("import", study_path, good, empty, binary, tmp_path / "missing.txt", "--json")
    assert r.code == 1
    data = json.loads(r.out)
    assert [x["document"] for x in data["imported"]] == ["good"]
    failed = {x["file"].rsplit("/", 1)[-1]: x["error"] for x in data["failed"]}
    assert set(failed) == {"empty.txt", "random.txt", "missing.txt"}
    assert "empty" in failed["empty.txt"]
    assert all(line.startswith("qualcode: error: ") for line in r.err.strip().splitlines())
    assert "Traceback" not in r.err


def test_nothing_importable_exits_2_and_leaves_the_study_untouched(qc, study_path, tmp_path):
    before = study_path.read_bytes()
    r = qc("import", study_path, write(tmp_path / "empty.txt", ""))
    assert r.code == 2 and study_path.read_bytes() == before
    r = qc("import", study_path, tmp_path / "x.txt", "--format", "nonsense")
    assert r.code == 2 and "unknown format" in r.err and study_path.read_bytes() == before
    big = write(tmp_path / "big.txt", "Interviewer: " + "word " * 3000)
    r = qc("import", study_path, big, "--max-size", "0.01")
    assert r.code == 2 and "import limit" in r.err and study_path.read_bytes() == before


def test_replace_keeps_codings_on_the_same_words_and_reports_what_happened(qc, study_path, tmp_path):
    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    assert qc("import", study_path, path).code == 0
    assert qc("code", study_path, "P7_interview", "Pacing", "--coder", "Amira", "--text", "every Tuesday").code == 0
    assert qc("code", study_path, "P7_interview", "Cliff edge", "--coder", "Amira", "--text", "Nothing.").code == 0
    write(path, TRANSCRIPT.replace("Interview P7", "Interview P7 (corrected)").replace("Nothing.", "Nothing at all."))
    r = qc("import", study_path, path, "--replace", "--json")
    assert r.code == 0, r.err
    result = r.json()["imported"][0]
    assert result["status"] == "replaced"
    assert result["codings"] == {"kept": 0, "moved": 1, "dropped": 1, "merged": 0}
    assert result["dropped_codings"] == [{"document": "P7_interview", "code": "Programme ending/Cliff edge", "coder": "Amira",
                                          "start": TRANSCRIPT.index("Nothing."),
                                          "end": TRANSCRIPT.index("Nothing.") + 8, "text": "Nothing."}]
    texts = [c["text"] for c in qc("codings", study_path, "--document", "P7_interview", "--json").json()]
    assert texts == ["every Tuesday"]
    corrected = path.read_text(encoding="utf-8")
    write(path, corrected.replace("every Tuesday", "on Tuesdays"))
    r = qc("import", study_path, path, "--replace")
    assert r.code == 0, r.err
    start = corrected.index("every Tuesday")
    assert f"dropped: P7_interview {start}:{start + 13} Self-management/Pacing (Amira) 'every Tuesday'" in r.out


def test_replace_merges_codings_that_move_onto_the_same_words(qc, study_path, tmp_path):
    """Two codings of one code by one coder that now land on the same words (or overlap) are
    merged, as every coding write does, so nothing is counted twice; the report says so."""
    text = TRANSCRIPT.replace("Nothing. Like a cliff edge.", "Nothing. Like a lifeline gone.")
    path = write(tmp_path / "P7_interview.txt", text)
    assert qc("import", study_path, path).code == 0
    for nth in ("1", "2"):
        r = qc("code", study_path, "P7_interview", "Cliff edge", "--coder", "Amira", "--text", "lifeline",
               "--nth", nth, "--memo", f"memo {nth}")
        assert r.code == 0, r.err
    assert qc("code", study_path, "P7_interview", "Cliff edge", "--coder", "Ben", "--text", "lifeline").code == 0
    # the corrected transcript says "lifeline" once, earlier than both codings were
    write(path, "Interview P7\n\n[00:00:02] Interviewer: A lifeline?\n\n" + text.split("\n\n", 1)[1]
          .replace("It was a lifeline, honestly.", "It was, honestly.").replace("a lifeline gone", "all gone"))
    r = qc("import", study_path, path, "--replace", "--json")
    assert r.code == 0, r.err
    result = r.json()["imported"][0]
    assert result["codings"] == {"kept": 0, "moved": 3, "dropped": 0, "merged": 1}
    assert "dropped_codings" not in result
    listed = qc("codings", study_path, "--document", "P7_interview", "--json").json()
    assert sorted((c["coder"], c["text"], c["memo"]) for c in listed) == [
        ("Amira", "lifeline", "memo 1\nmemo 2"), ("Ben", "lifeline", "")]
    assert qc("undo", study_path).code == 0  # back to both of Amira's codings, then the text report
    assert len(qc("codings", study_path, "--document", "P7_interview", "--json").json()) == 3
    r = qc("import", study_path, path, "--replace")
    assert r.code == 0, r.err
    assert "merged with the same coder's coding they now overlap 1" in r.out
    assert qc("info", study_path, "--check").code == 0


def test_speaker_labels_map_at_import_and_from_a_toml_file(qc, study_path, tmp_path):
    path = write(tmp_path / "P2_interview.txt", TRANSCRIPT.replace("Janet", "R").replace("Interviewer:", "I:"))
    assert qc("participants", "add", study_path, "P2", "--group", "patient").code == 0
    r = qc("import", study_path, path, "--speaker", "R=P2", "--json")
    assert r.code == 0, r.err
    assert r.json()["imported"][0]["participants"] == ["P2"]
    other = write(tmp_path / "P3_interview.txt", TRANSCRIPT.replace("Janet", "Margaret Lowe"))
    assert qc("participants", "add", study_path, "P3").code == 0
    assert qc("import", study_path, other).code == 0
    mapping = tmp_path / "speakers.toml"
    mapping.write_text('[speakers]\n"Margaret Lowe" = "P3"\n\n[documents.P2_interview]\nI = "interviewer"\n',
                       encoding="utf-8")
    assert qc("speakers", "import", study_path, mapping).code == 0
    assert qc("speakers", study_path, "--unmapped", "--json").json() == []
    bad = tmp_path / "bad.toml"
    bad.write_text('[people]\nx = "P1"\n', encoding="utf-8")
    before = study_path.read_bytes()
    r = qc("speakers", "import", study_path, bad)
    assert r.code == 2 and "unknown table" in r.err and study_path.read_bytes() == before


def test_reimporting_the_same_bytes_writes_nothing(qc, study_path, tmp_path):
    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    assert qc("import", study_path, path).code == 0
    history = qc("history", study_path, "--json").json()
    assert qc("import", study_path, path, "--json").json()["imported"][0]["status"] == "unchanged"
    assert qc("history", study_path, "--json").json() == history


def test_the_python_api_imports_the_same_way(tmp_path):
    import qualcode
    from importers.batch import import_file

    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    with qualcode.Study.create(tmp_path / "lib.qc", coder="Amira") as study:
        summary = import_file(study, path)
        assert (summary["status"], summary["format"], summary["turns"]) == ("added", "text", 4)
        coding = study.codings.add_text("P7_interview", study.codes.add("Lifeline").name, None, "a lifeline")
        assert coding.speaker == "Janet"


def _state(s, name):
    """Everything a replace changes, as the user would see it."""
    doc = s.documents.get(name)
    turns = [(t.speaker, t.participant, t.start, t.end, t.start_ms) for t in s.documents.turns(doc.id)]
    codings = sorted((c.code, c.start, c.end, c.text) for c in s.codings.list() if c.document_id == doc.id)
    found = {q: [(h.start, h.end, h.match) for h in s.search(q, document=name)[1]] for q in ("lifeline", "cliff", "well")}
    return doc.sha256, s.documents.text(doc.id), turns, codings, found


def test_undo_and_redo_of_a_replace_restore_text_turns_search_and_codings(qc, study_path, tmp_path):
    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    assert qc("import", study_path, path).code == 0
    assert qc("code", study_path, "P7_interview", "Pacing", "--coder", "Amira", "--text", "every Tuesday").code == 0
    assert qc("code", study_path, "P7_interview", "Cliff edge", "--coder", "Amira", "--text", "a cliff edge").code == 0
    with Study.open(study_path) as s:
        original = _state(s, "P7_interview")
    write(path, "Interview P7 (corrected)\n\n" + TRANSCRIPT.replace("Like a cliff edge.", "Gone.")
          .replace("Janet: It was", "Janet: Well. It was"))
    assert qc("import", study_path, path, "--replace").code == 0
    with Study.open(study_path) as s:
        replaced = _state(s, "P7_interview")
    assert replaced != original and replaced[4]["cliff"] == [] and replaced[4]["well"]

    assert qc("undo", study_path).code == 0
    with Study.open(study_path) as s:
        assert _state(s, "P7_interview") == original
        assert [c.text for c in s.codings.list()] == ["every Tuesday", "a cliff edge"]
    assert qc("redo", study_path).code == 0
    with Study.open(study_path) as s:
        assert _state(s, "P7_interview") == replaced
    assert qc("undo", study_path).code == 0  # undoes the redo
    with Study.open(study_path) as s:
        assert _state(s, "P7_interview") == original
    # the FTS index holds nothing of the replaced version
    with Study.open(study_path) as s:
        assert s.search("well", document="P7_interview")[0] == 0


def test_undo_refuses_a_replace_once_the_text_was_rewritten_since(qc, study_path, tmp_path):
    from qualcode.errors import Conflict
    import pytest

    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    assert qc("import", study_path, path).code == 0
    write(path, TRANSCRIPT.replace("Nothing.", "Nothing at all."))
    assert qc("import", study_path, path, "--replace").code == 0
    with Study.open(study_path) as s:  # as an anonymisation apply does: text rewritten in place
        doc = s.documents.get("P7_interview")
        s.db.execute("UPDATE documents SET text = replace(text, 'Janet', 'P7xxx') WHERE id = ?", [doc.id])
        with pytest.raises(Conflict, match="rewritten since"):
            s.undo()


def test_undo_refuses_a_replace_recorded_without_the_earlier_text(study_path):
    """Studies written before versions were logged: a documents update whose SHA-256 changed."""
    import pytest

    from qualcode.errors import Conflict

    with Study.open(study_path) as s:
        doc = s.documents.get("P1_interview")
        with s.change("import --replace", "replace P1_interview with P1.txt") as ch:
            ch.update("documents", doc.id, {"sha256": "0" * 64, "text": "Interviewer: new"})
        with pytest.raises(Conflict, match="older qualcode"):
            s.undo()


def test_a_malformed_timing_line_fails_the_file_naming_file_and_line(qc, study_path, tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "transcripts" / "broken_arrow.srt"
    before = study_path.read_bytes()
    r = qc("import", study_path, fixture)
    assert r.code == 2 and study_path.read_bytes() == before
    assert r.err.strip().endswith("broken_arrow.srt: line 6: malformed timing line "
                                  "'00:00:05,000 -> 00:00:06,000' (expected 'start --> end')")


def test_a_changed_file_without_replace_is_added_beside_with_a_note(qc, study_path, tmp_path):
    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    assert qc("import", study_path, path).code == 0
    write(path, TRANSCRIPT.replace("Nothing.", "Nothing at all."))
    r = qc("import", study_path, path, "--json")
    assert r.code == 0, r.err
    result = r.json()["imported"][0]
    assert (result["status"], result["document"]) == ("added", "P7_interview (2)")
    assert len(result["notes"]) == 1 and "'P7_interview'" in result["notes"][0] and "--replace" in result["notes"][0]
    write(path, TRANSCRIPT.replace("Nothing.", "Nothing, really."))
    r = qc("import", study_path, path)
    assert "note: P7_interview.txt: a document from a file named 'P7_interview.txt' already exists" in r.out
    assert "'P7_interview', 'P7_interview (2)'" in r.out


def test_unused_speaker_labels_are_warned_about_but_allowed(qc, study_path, tmp_path):
    path = write(tmp_path / "P7_interview.txt", TRANSCRIPT)
    r = qc("import", study_path, path, "--speaker", "Nobody=P1", "--speaker", "Janet=P1", "--json")
    assert r.code == 0, r.err
    assert r.json()["unused_speaker_labels"] == ["Nobody"]
    assert r.json()["imported"][0]["participants"] == ["P1"]
    r = qc("speakers", "map", study_path, "Nobody", "P1")
    assert r.code == 0
    assert "warning: speaker label 'Nobody' does not occur in any document; the mapping is kept" in r.err
    assert qc("speakers", "map", study_path, "Janet", "P1").err == ""
    r = qc("speakers", "map", study_path, "Nobody", "P1", "--json")
    assert "does not occur" in r.json()["warning"]


def test_a_speaker_mapping_csv_with_wrong_columns_names_the_file(qc, study_path, tmp_path):
    bad = tmp_path / "map.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    before = study_path.read_bytes()
    r = qc("speakers", "import", study_path, bad)
    assert r.code == 2 and study_path.read_bytes() == before
    assert r.err.strip() == (f"qualcode: error: {bad}: needs columns 'speaker' and 'participant' "
                             "(and optionally 'document'); found: bar, foo")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("speaker,participant\nSarah,P99\n", encoding="utf-8")
    r = qc("speakers", "import", study_path, unknown)
    assert r.code == 2 and f"{unknown}: row 2: " in r.err


def test_a_folder_of_only_unsupported_files_fails_with_the_reasons(qc, study_path, tmp_path):
    folder = tmp_path / "word"
    folder.mkdir()
    for name in ("a.doc", "b.docm", "c.rtf", "d.odt"):
        write(folder / name, "x")
    before = study_path.read_bytes()
    r = qc("import", study_path, folder, "--json")
    assert r.code == 2 and study_path.read_bytes() == before
    reasons = {Path(f["file"]).name: f["error"] for f in r.json()["failed"]}
    assert set(reasons) == {"a.doc", "b.docm", "c.rtf", "d.odt"}
    assert reasons["a.doc"] == "not imported: an old binary Word file; save it as .docx"


def test_search_points_at_the_word_when_diacritics_differ(tmp_path):
    import qualcode
    from importers.batch import import_file

    text = ("Interviewer: I love the café on Main St, the CAFE\u0301 too.\n\n"
            "Janet: The cafe is nice. Naïve of me, 😀 maybe; Ærø café.\n\n"
            "Interviewer: Ok.\n\nJanet: Yes.\n")
    path = write(tmp_path / "accents.txt", text)
    with qualcode.Study.create(tmp_path / "s.qc", coder="Amira") as study:
        import_file(study, path)
        for query in ("cafe", "café", "CAFÉ"):
            total, hits = study.search(query)
            assert total == 2
            assert [text[h.start:h.end] for h in hits] == ["café", "CAFE\u0301", "cafe", "café"], query
            assert all(h.match == text[h.start:h.end] for h in hits)
        hits = study.search("naive")[1]
        assert [(h.start, text[h.start:h.end]) for h in hits] == [(text.index("Naïve"), "Naïve")]


def test_a_damaged_study_is_refused_before_any_transcript_is_written(qc, study_path, tmp_path):
    # SQLite meets a damaged page only when a write reaches it, and a batch commits each file
    # on its own: without a check first, some files would import and the command then fail.
    import sqlite3

    with Study.open(study_path) as s:
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn = sqlite3.connect(study_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'turns_fts_idx'").fetchone()[0]
    conn.close()
    data = bytearray(study_path.read_bytes())
    data[(root - 1) * page_size:(root - 1) * page_size + 64] = b"\xff" * 64   # the search index's b-tree page
    study_path.write_bytes(bytes(data))
    before = study_path.read_bytes()
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"T{i}.txt").write_text(f"Interviewer: question {i}\n\nR: answer {i}\n", encoding="utf-8")
    r = qc("import", study_path, folder)
    assert study_path.read_bytes() == before
    assert r.code == 2 and "damaged" in r.err and len(r.err.strip().splitlines()) == 1, r.err
