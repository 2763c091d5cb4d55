"""A kill -9 in the middle of a multi-row command leaves the study as before, never between."""

import os
import signal
import subprocess
import sys
import textwrap

from qualcode.study import Study

KILLER = textwrap.dedent("""
    import os, signal, sys
    from qualcode.store import changes
    from qualcode.cli import main

    calls = {"n": 0}
    real_log = changes.Change._log

    def log(self, *args):   # every audited row operation (insert, update, delete) passes here
        calls["n"] += 1
        if calls["n"] == int(os.environ["KILL_AT"]):
            os.kill(os.getpid(), signal.SIGKILL)   # no cleanup, no rollback: a real crash
        return real_log(self, *args)

    changes.Change._log = log
    sys.exit(main(sys.argv[1:]))
""")


def run_killed(args, kill_at):
    env = {**os.environ, "KILL_AT": str(kill_at)}
    return subprocess.run([sys.executable, "-c", KILLER, *map(str, args)], env=env, capture_output=True)


def snapshot(path):
    with Study.open(path) as s:
        assert s.integrity_check() == "ok"
        return (s.info()["codes"], s.info()["participants"],
                [c.path for c in s.codes.list()], [p.label for p in s.participants.list()],
                sorted((c.code, c.coder, c.start, c.end) for c in s.codings.list()))


def many_codings(path, n=300):
    """``n`` one-word codings of "Pacing" by Amira, none overlapping, so none merge."""
    with Study.open(path) as s:
        doc = s.documents.list()[0]
        text = s.documents.text(doc.id)
        starts = [i for i in range(len(text) - 3) if text[i].isalpha() and (i == 0 or not text[i - 1].isalnum())]
        for start in starts[:n]:
            s.codings.add(doc.name, "Self-management/Pacing", "Amira", start, start + 1)
        return min(n, len(starts))


def test_kill_during_a_codebook_import_leaves_the_study_as_before(study_path, tmp_path):
    codebook = tmp_path / "big.csv"
    codebook.write_text("code,description\n" + "".join(f"Code {i},d{i}\n" for i in range(500)), encoding="utf-8")
    before = snapshot(study_path)
    r = run_killed(["codes", "import", study_path, codebook], kill_at=250)
    assert r.returncode == -signal.SIGKILL
    assert snapshot(study_path) == before


def test_kill_during_a_participant_import_leaves_the_study_as_before(study_path, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("label,age\n" + "".join(f"P{i},{20 + i % 50}\n" for i in range(2, 800)), encoding="utf-8")
    before = snapshot(study_path)
    r = run_killed(["participants", "import", study_path, people], kill_at=400)
    assert r.returncode == -signal.SIGKILL
    assert snapshot(study_path) == before
    # and the same command, not killed, completes: the study was left usable
    r = run_killed(["participants", "import", study_path, people], kill_at=10**9)
    assert r.returncode == 0, r.stderr
    assert snapshot(study_path)[1] == before[1] + 798


def test_kill_during_a_code_merge_leaves_the_study_as_before(study_path):
    n = many_codings(study_path, 60)
    before = snapshot(study_path)
    r = run_killed(["codes", "merge", study_path, "Self-management/Pacing", "Programme ending/Cliff edge"],
                   kill_at=n // 2)
    assert r.returncode == -signal.SIGKILL
    assert snapshot(study_path) == before


def test_kill_while_deleting_a_code_with_its_codings_leaves_the_study_as_before(study_path):
    n = many_codings(study_path, 60)
    before = snapshot(study_path)
    r = run_killed(["codes", "delete", study_path, "Self-management/Pacing", "--codings", "delete"], kill_at=n // 2)
    assert r.returncode == -signal.SIGKILL
    assert snapshot(study_path) == before


def test_kill_during_a_batch_import_keeps_each_transcript_whole(tmp_path):
    # A batch import commits each transcript on its own (a bad file is skipped, the rest
    # import), so a crash keeps the transcripts done so far: each one complete, never half.
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        (folder / f"T{i}.txt").write_text(
            "".join(f"Interviewer: question {i}.{k} here\n\nR: answer number {k} of doc{i}\n\n" for k in range(40)),
            encoding="utf-8")
    clean = tmp_path / "clean.qc"
    Study.create(clean).close()
    assert run_killed(["import", clean, folder], kill_at=10**9).returncode == 0
    with Study.open(clean) as s:
        want = {d.name: len(s.documents.turns(d.id)) for d in s.documents.list()}
    path = tmp_path / "k.qc"
    Study.create(path).close()
    r = run_killed(["import", path, folder], kill_at=4)   # a few transcripts in
    assert r.returncode == -signal.SIGKILL
    with Study.open(path) as s:
        assert s.integrity_check() == "ok"
        docs = s.documents.list()
        assert 0 < len(docs) < 6
        for d in docs:
            assert len(s.documents.turns(d.id)) == want[d.name]
            number = d.name[1:]
            assert s.search(f"doc{number}")[0] == 40   # its search index is whole too (total hits)
    assert run_killed(["import", path, folder], kill_at=10**9).returncode == 0   # the rest import
    with Study.open(path) as s:
        assert {d.name for d in s.documents.list()} == set(want)
