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
    real_insert = changes.Change.insert

    def insert(self, table, row):
        calls["n"] += 1
        if calls["n"] == int(os.environ["KILL_AT"]):
            os.kill(os.getpid(), signal.SIGKILL)   # no cleanup, no rollback: a real crash
        return real_insert(self, table, row)

    changes.Change.insert = insert
    sys.exit(main(sys.argv[1:]))
""")


def run_killed(args, kill_at):
    env = {**os.environ, "KILL_AT": str(kill_at)}
    return subprocess.run([sys.executable, "-c", KILLER, *map(str, args)], env=env, capture_output=True)


def snapshot(path):
    with Study.open(path) as s:
        assert s.integrity_check() == "ok"
        return (s.info()["codes"], s.info()["participants"],
                [c.path for c in s.codes.list()], [p.label for p in s.participants.list()])


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
