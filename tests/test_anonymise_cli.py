"""``qualcode anonymise ...`` end to end, and its error paths (one line, exit 2, study unchanged)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from qualcode.study import Study


@pytest.fixture
def key(tmp_path) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    return folder / "study.key"


def test_register_scan_review_apply_check(study_path, key, tmp_path, qc, monkeypatch):
    monkeypatch.setenv("QUALCODE_SPACY_MODEL", "none")
    reg = tmp_path / "register.csv"
    reg.write_text("name,replacement,kind,variants\nPeter,[name of P1's husband],person,\n"
                   "Linda,[name of PTV1],person,Lin\n", encoding="utf-8")
    r = qc("anonymise", "check", study_path)
    assert r.code == 1 and "P1" in r.out
    r = qc("anonymise", "register", study_path, "--key", key, "--from", reg, "--json")
    assert r.code == 0, r.err
    names = {e["name"]: e for e in r.json()}
    assert names["Sarah Whitfield"]["replacement"] == "[name of P1]" and "Sarah" in names["Sarah Whitfield"]["variants"]
    assert names["Peter"]["replacement"] == "[name of P1's husband]"

    r = qc("anonymise", "scan", study_path, "--key", key, "--json", "--csv", tmp_path / "c.csv")
    assert r.code == 0, r.err
    assert r.err.count("NER is off") == 1
    data = r.json()
    originals = {c["original"]: c for c in data["candidates"]}
    assert {"Peter", "Linda"} <= set(originals)
    rows = list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8")))
    assert len(rows) == len(data["candidates"])

    peter, linda = originals["Peter"]["id"], originals["Linda"]["id"]
    assert qc("anonymise", "reject", study_path, "--key", key, str(linda), "--reviewer", "Ben").code == 0
    r = qc("anonymise", "edit", study_path, "--key", key, str(peter), "[husband]")
    assert r.code == 0 and "[husband]" in r.out
    r = qc("anonymise", "list", study_path, "--key", key, "--status", "accepted", "--json")
    assert [c["replacement"] for c in r.json()] == ["[husband]"]
    r = qc("anonymise", "list", study_path, "--key", key, "--summary")
    assert r.code == 0 and "register" in r.out

    before = study_path.read_bytes()
    r = qc("anonymise", "apply", study_path, "--key", key, "--dry-run")
    assert r.code == 0 and "Would rewrite" in r.out and "Sarah -> P1" in r.out
    assert study_path.read_bytes() == before

    r = qc("anonymise", "apply", study_path, "--key", key, "--json")
    assert r.code == 0, r.err
    result = r.json()
    assert result["replacements"] == 1 and result["labels"] == 2 and result["participants_moved"] == 1
    with Study.open(study_path) as s:
        text = s.documents.text(s.documents.list()[0].id)
    assert "[husband] tried to help" in text and "Linda's Tuesday group" in text and "\n\nP1: Pacing" in text
    r = qc("anonymise", "check", study_path, "--key", key)
    assert r.code == 0, r.out  # Linda was rejected: decided not identifying here
    r = qc("anonymise", "log", study_path, "--key", key, "--json")
    assert {row["original"] for row in r.json()} == {"Peter", "Sarah"}


def test_accept_by_range_rule_and_all(study_path, key, qc):
    assert qc("anonymise", "register", study_path, "--key", key, "--add", "Peter", "--add", "Peter").code == 0
    qc("anonymise", "register", study_path, "--key", key, "--add", "Tuesday", "--kind", "other")
    r = qc("anonymise", "scan", study_path, "--key", key, "--no-ner", "--json")
    ids = sorted(c["id"] for c in r.json()["candidates"])
    assert len(ids) == 2
    r = qc("anonymise", "accept", study_path, "--key", key, f"{ids[0]}-{ids[1]}", "--json")
    assert r.json()["accepted"] == 2
    r = qc("anonymise", "reject", study_path, "--key", key, "--all-rule", "register")
    assert r.code == 2 and "no candidates chosen" in r.err  # none open any more
    r = qc("anonymise", "accept", study_path, "--key", key, "9999")
    assert r.code == 2 and r.err.count("\n") == 1 and "9999" in r.err


def test_labels_command(study_path, qc):
    r = qc("anonymise", "labels", study_path, "--json")
    assert r.code == 0
    row = r.json()["labels"][0]
    assert row["label"] == "P1" and row["new_label"] == "P1" and "Sarah" in row["speakers"]
    r = qc("anonymise", "labels", study_path, "--scheme", "patient=PT", "--apply")
    assert r.code == 0 and "Renamed 1" in r.out
    r = qc("anonymise", "labels", study_path, "--scheme", "nonsense")
    assert r.code == 2


@pytest.mark.parametrize("case", ["study itself", "wal", "text file", "study as key", "missing key", "no option"])
def test_bad_keys_are_refused_in_one_line(study_path, tmp_path, qc, case):
    before = study_path.read_bytes()
    other = tmp_path / "other.qc"
    if case == "study as key":
        Study.create(other).close()
    (tmp_path / "notes.txt").write_text("not a key\n", encoding="utf-8")
    key = {"study itself": study_path, "wal": Path(f"{study_path}-wal"), "text file": tmp_path / "notes.txt",
           "study as key": other, "missing key": tmp_path / "none.key", "no option": None}[case]
    args = ["anonymise", "list", study_path] + (["--key", key] if key is not None else [])
    r = qc(*args)
    assert r.code == 2, (r.out, r.err)
    if key is None:
        assert "Missing option '--key'" in r.err  # click's usage error
    else:
        assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("qualcode: error:"), r.err
    assert study_path.read_bytes() == before
    assert not (tmp_path / "none.key").exists()
    # scan would create a missing key, but never one at a forbidden place
    if case in ("study itself", "wal", "text file", "study as key"):
        r = qc("anonymise", "scan", study_path, "--key", key)
        assert r.code == 2 and "Traceback" not in r.err
        assert study_path.read_bytes() == before


def test_key_inside_a_folder_named_like_the_study_is_refused(tmp_path, qc):
    folder = tmp_path / "odd.qc"
    folder.mkdir()
    r = qc("anonymise", "scan", folder, "--key", folder / "k.key")
    assert r.code == 2


def test_every_anonymise_command_has_help(qc):
    for cmd in ("register", "scan", "list", "accept", "reject", "edit", "review", "apply", "labels", "check", "log"):
        r = qc("anonymise", cmd, "--help")
        assert r.code == 0 and "Usage" in r.out


def test_exports_refuse_a_planted_leak(study_path, key, tmp_path, qc, monkeypatch):
    monkeypatch.setenv("QUALCODE_SPACY_MODEL", "none")
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    assert qc("anonymise", "scan", study_path, "--key", key).code == 0
    r = qc("anonymise", "apply", study_path, "--key", key, "--accept-all")
    assert r.code == 0, r.err
    out = tmp_path / "codebook.md"
    assert qc("export", "codebook", study_path, "-o", out).code == 0  # clean after apply
    assert qc("codes", "add", study_path, "Whitfield family worries").code == 0  # the planted leak
    out.unlink()
    r = qc("export", "codebook", study_path, "-o", out)
    assert r.code == 1 and "Whitfield" in r.err and "--allow-leaks" in r.err and not out.exists()
    monkeypatch.setenv("QUALCODE_ALLOW_LEAKS", "1")
    assert qc("export", "codebook", study_path, "-o", out).code == 0 and out.exists()


def test_an_empty_key_file_is_named_as_such(study_path, tmp_path, qc):
    empty = tmp_path / "empty.key"
    empty.write_bytes(b"")
    r = qc("anonymise", "list", study_path, "--key", empty)
    assert r.code == 2 and "is empty (0 bytes), not a qualcode key file" in r.err and "does not exist" not in r.err
    assert empty.read_bytes() == b""


@pytest.mark.parametrize("content", ["name,replacement\n,[x]\n", "who,replacement\nPeter,[x]\n",
                                     "name,participant\nPeter,P99\n", None])
def test_a_failed_register_leaves_no_key_behind(study_path, key, tmp_path, qc, content):
    bad = tmp_path / "bad.csv"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    before = study_path.read_bytes()
    r = qc("anonymise", "register", study_path, "--key", key, "--from", bad)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert not key.exists() and list(key.parent.iterdir()) == []
    assert study_path.read_bytes() == before
    # An existing key keeps what it had.
    assert qc("anonymise", "register", study_path, "--key", key, "--add", "Peter").code == 0
    saved = key.read_bytes()
    assert qc("anonymise", "register", study_path, "--key", key, "--from", bad).code == 2
    assert key.exists() and key.read_bytes() == saved


def test_a_failed_scan_leaves_no_key_behind(study_path, key, qc):
    r = qc("anonymise", "scan", study_path, "--key", key, "--no-ner", "--document", "nope")
    assert r.code == 2 and "nope" in r.err
    assert not key.exists()


def test_scan_says_what_it_kept_and_check_names_columns(study_path, key, qc, monkeypatch):
    monkeypatch.setenv("QUALCODE_SPACY_MODEL", "none")
    qc("anonymise", "register", study_path, "--key", key, "--add", "Tuesday", "--kind", "other")
    r = qc("anonymise", "scan", study_path, "--key", key, "--json")
    tuesday = next(c["id"] for c in r.json()["candidates"] if c["original"] == "Tuesday")
    assert qc("anonymise", "reject", study_path, "--key", key, str(tuesday)).code == 0
    entry = next(e["id"] for e in qc("anonymise", "register", study_path, "--key", key, "--json").json()
                 if e["name"] == "Tuesday")
    assert qc("anonymise", "register", study_path, "--key", key, "--remove", str(entry)).code == 0
    r = qc("anonymise", "scan", study_path, "--key", key)
    assert "1 reviewed ones not found this time kept with their decision" in r.out, r.out
    assert qc("anonymise", "apply", study_path, "--key", key, "--accept-all").code == 0
    with Study.open(study_path) as s:
        s.db.execute("UPDATE codes SET description = 'Whitfield said so' WHERE name = 'Self-management'")
    r = qc("anonymise", "check", study_path, "--key", key)
    assert r.code == 1 and "codes.description row" in r.out and "Whitfield" in r.out
    r = qc("anonymise", "check", study_path)
    assert r.code == 1 and "codes.description" in r.out and "checked without the key" in r.err
