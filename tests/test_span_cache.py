"""The packed span / turn caches behind agreement (qualcode.store.span_cache, migration 0006).

A cached row must always equal what the source tables say: after every kind of change the
cache is rebuilt, and an agreement report is the same with the cache, after invalidating it and
without the cache tables at all (a study file that cannot be written to).
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import stat

import numpy as np
import pytest

from conftest import INTERVIEW, add_interview, parsed_interview
from qualcode.agreement.units import agreement
from qualcode.store import span_cache
from qualcode.study import Study


def truth_codings(s: Study) -> list[tuple]:
    return sorted(s.db.execute('SELECT document_id, code_id, coder_id, start, "end" FROM codings').fetchall())


def truth_turns(s: Study) -> list[tuple]:
    return sorted(s.db.execute('SELECT document_id, start, "end" FROM turns').fetchall())


def cached_codings(s: Study) -> list[tuple]:
    return sorted(map(tuple, span_cache.coding_spans(s.db).tolist()))


def cached_turns(s: Study) -> list[tuple]:
    return sorted(map(tuple, span_cache.turn_spans(s.db).tolist()))


def n_cached(s: Study, table: str = "span_cache") -> int:
    return s.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def check(s: Study) -> None:
    assert cached_codings(s) == truth_codings(s)
    assert cached_turns(s) == truth_turns(s)
    # read again: now every row comes from the cache
    assert cached_codings(s) == truth_codings(s)
    assert cached_turns(s) == truth_turns(s)


def reports(s: Study, unit: str) -> dict:
    return agreement(s, ["Amira", "Ben"], unit=unit).as_dict()


@pytest.fixture
def study(tmp_path):
    s = Study.create(tmp_path / "s.qc", title="Cache", coder="Amira")
    s.coders.add("Ben")
    for name in ("Pain", "Pacing", "Support"):
        s.codes.add(name)
    for k in range(3):
        text = INTERVIEW.replace("Sarah", f"Sarah{k}")
        add_interview(s, f"P{k}_interview", text)
    yield s
    s.close()


def random_codings(s: Study, rng: random.Random, n: int, coders=("Amira", "Ben")) -> None:
    docs = [d for d, _ in s.documents.names()]
    names = dict(s.documents.names())
    for _ in range(n):
        d = rng.choice(docs)
        text = s.documents.text(d)
        a = rng.randrange(0, len(text) - 2)
        b = rng.randrange(a + 1, min(len(text), a + 80) + 1)
        if not text[a:b].strip():
            continue
        s.codings.add(names[d], rng.choice(["Pain", "Pacing", "Support"]), rng.choice(list(coders)), a, b)


def test_the_cache_follows_add_adjust_delete_and_undo(study):
    s = study
    rng = random.Random(1)
    random_codings(s, rng, 30)
    check(s)
    assert n_cached(s) == 3 and n_cached(s, "turn_cache") == 3
    c = s.codings.list()[0]
    s.codings.adjust(c.id, c.start, c.start + 3)
    assert n_cached(s) == 2  # only the touched document's row went
    check(s)
    s.codings.delete(s.codings.list()[1].id)
    check(s)
    s.undo()
    check(s)
    s.redo()
    check(s)
    random_codings(s, rng, 5)
    check(s)


def test_a_direct_update_of_document_or_coder_invalidates_both_documents(study):
    s = study
    random_codings(s, random.Random(2), 20)
    check(s)
    coder_b = s.coders.get("Ben").id
    with s.db.atomic():
        s.db.execute("UPDATE codings SET coder_id = ? WHERE id = (SELECT min(id) FROM codings)", [coder_b])
    check(s)
    with s.db.atomic():
        s.db.execute('UPDATE turns SET "end" = "end" - 1 WHERE id = (SELECT min(id) FROM turns)')
    check(s)


def test_replacing_a_document_and_a_new_document_with_a_reused_id(study):
    s = study
    random_codings(s, random.Random(3), 20)
    check(s)
    text = INTERVIEW.replace("Sarah", "Sarah0").replace("Pacing", "Pacing slowly")
    parsed = parsed_interview(text)
    s.documents.add(parsed, "P0_interview", "P0_interview.txt",
                    hashlib.sha256(text.encode()).hexdigest(), replace=True)
    check(s)
    # a document row deleted and its id reused by a new document without codings
    last = max(d for d, _ in s.documents.names())
    s.db.execute("DELETE FROM codings WHERE document_id = ?", [last])
    check(s)
    with s.db.atomic():
        s.db.execute("DELETE FROM turns WHERE document_id = ?", [last])
        s.db.execute("DELETE FROM documents WHERE id = ?", [last])
    check(s)
    new = add_interview(s, "P9_interview", INTERVIEW.replace("Sarah", "Sarah9"))
    assert new == last
    check(s)


@pytest.mark.parametrize("unit", ["character", "turn", "segment", "sentence", "document"])
def test_reports_equal_with_cache_after_invalidation_and_without_cache_tables(study, unit):
    s = study
    random_codings(s, random.Random(4), 60)
    warm = (reports(s, unit), reports(s, unit))
    span_cache.invalidate(s.db)
    assert n_cached(s) == 0
    cold = reports(s, unit)
    assert warm[0] == warm[1] == cold
    with s.db.atomic():  # as if the cache did not exist (the uncached path)
        s.db.execute("DROP TABLE span_cache")
        s.db.execute("DROP TABLE turn_cache")
    assert reports(s, unit) == cold


def test_random_spans_property_cache_equals_source(study):
    s = study
    rng = random.Random(5)
    for round_ in range(6):
        random_codings(s, rng, rng.randrange(1, 15))
        ids = [c.id for c in s.codings.list()]
        for cid in rng.sample(ids, k=min(3, len(ids))):
            s.codings.delete(cid)
        check(s)
        docs = [d for d, _ in s.documents.names()]
        subset = rng.sample(docs, k=2)
        got = sorted(map(tuple, span_cache.coding_spans(s.db, subset).tolist()))
        assert got == [r for r in truth_codings(s) if r[0] in subset]


def test_documents_filter_and_other_options_unchanged(study):
    s = study
    random_codings(s, random.Random(6), 40)
    kw = [dict(unit="character", exclude_uncoded=True), dict(unit="character", nvivo_compat=True),
          dict(unit="turn", min_overlap=0.5), dict(unit="turn", codes=["Pain"]),
          dict(unit="character", documents=["P1_interview"]), dict(unit="turn", all_documents=True)]
    for k in kw:
        warm = agreement(s, ["Amira", "Ben"], **k).as_dict()
        span_cache.invalidate(s.db)
        assert agreement(s, ["Amira", "Ben"], **k).as_dict() == warm, k


def test_a_read_only_study_is_read_without_writing_the_cache(study, tmp_path):
    s = study
    random_codings(s, random.Random(7), 30)
    expected = reports(s, "character"), reports(s, "turn")
    span_cache.invalidate(s.db)
    path = s.path if hasattr(s, "path") else tmp_path / "s.qc"
    s.close()
    # open read-only at the SQLite level (as another tool would), then the file itself read-only
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    from qualcode.store.database import StudyDatabase
    db = StudyDatabase(conn)
    rows = span_cache.coding_spans(db)
    assert sorted(map(tuple, rows.tolist())) == sorted(conn.execute(
        'SELECT document_id, code_id, coder_id, start, "end" FROM codings').fetchall())
    assert conn.execute("SELECT count(*) FROM span_cache").fetchone()[0] == 0
    conn.close()
    mode = os.stat(path).st_mode
    try:
        os.chmod(path, stat.S_IRUSR)
        if os.access(path, os.W_OK):  # running as root: permissions do not stop writes
            pytest.skip("file permissions do not make the file read-only for this user")
        with Study.open(path) as s2:
            assert (reports(s2, "character"), reports(s2, "turn")) == expected
    finally:
        os.chmod(path, mode)


def test_an_old_study_is_upgraded_and_the_cache_filled_on_first_read(tmp_path):
    path = tmp_path / "old.qc"
    with Study.create(path, coder="Amira") as s:
        s.coders.add("Ben")
        s.codes.add("Pain")
        add_interview(s)
        s.codings.add("P1_interview", "Pain", "Amira", 70, 90)
        s.codings.add("P1_interview", "Pain", "Ben", 75, 95)
        expected = reports(s, "character")
    conn = sqlite3.connect(path)
    with conn:  # a study written before 0006_span_cache
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_span_cache'")
        for name in [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_cache_%'")]:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE span_cache")
        conn.execute("DROP TABLE turn_cache")
    conn.close()
    with Study.open(path) as s:
        assert reports(s, "character") == expected
        assert n_cached(s) == 1
        s.codings.add("P1_interview", "Pain", "Ben", 100, 110)
        assert n_cached(s) == 0
        assert cached_codings(s) == truth_codings(s)


def test_an_agreement_inside_an_open_transaction_does_not_commit_it(study):
    s = study
    random_codings(s, random.Random(8), 10)
    span_cache.invalidate(s.db)
    with s.db.atomic():
        before = reports(s, "character")
        assert s.db.conn.in_transaction
    assert reports(s, "character") == before
    assert isinstance(span_cache.coding_spans(s.db), np.ndarray)


def test_merging_a_study_into_another_and_merging_codes(tmp_path):
    from qualcode.store.merge import merge_files

    paths = []
    for k, who in enumerate(("Amira", "Ben")):
        path = tmp_path / f"{who}.qc"
        with Study.create(path, coder=who) as s:
            for name in ("Pain", "Pacing", "Support"):
                s.codes.add(name)
            add_interview(s)
            random_codings(s, random.Random(10 + k), 12, coders=(who,))
            check(s)  # the base study's cache is full before the merge
        paths.append(path)
    merge_files(paths[0], paths[1])
    with Study.open(paths[0]) as s:
        check(s)
        s.codes.merge("Pacing", "Pain")
        check(s)


def test_a_refi_round_trip_study_reads_the_same(study, tmp_path):
    exporters = pytest.importorskip("exporters.refi_qda")
    importers = pytest.importorskip("importers.refi_qda")
    s = study
    random_codings(s, random.Random(12), 25)
    exporters.export_qdpx(s, tmp_path / "x.qdpx")
    importers.import_qdpx(tmp_path / "x.qdpx", tmp_path / "back.qc")
    with Study.open(tmp_path / "back.qc") as b:
        check(b)
        assert len(truth_codings(b)) == len(truth_codings(s))
