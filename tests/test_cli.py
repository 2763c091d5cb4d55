"""The CLI end to end (in-process): every command, its --json, and its error paths."""

import json
import os
import subprocess
import sys

import pytest

from qualcode.store.schema import migrations

LATEST = migrations._migrations[-1].name  # the newest migration this qualcode knows

from conftest import INTERVIEW


def test_help_lists_every_command_and_each_command_has_help(qc):
    r = qc("--help")
    assert r.code == 0
    for command in ("init", "info", "participants", "import", "documents", "codes", "code", "uncode",
                    "codings", "memo", "journal", "search", "undo", "demo", "speakers", "settings"):
        assert f"  {command} " in r.out
        assert qc(command, "--help").code == 0


def test_init_info_and_settings(qc, tmp_path):
    path = tmp_path / "pain.qc"
    r = qc("init", path, "--title", "Pain", "--approach", "codebook", "--coder", "Amira", "--json")
    assert r.code == 0 and r.json()["approach"] == "codebook" and r.json()["coders"] == 1
    info = qc("info", path, "--json").json()
    assert info["title"] == "Pain" and info["schema_version"] == LATEST
    assert "phase: 1" in qc("info", path).out
    assert qc("settings", path, "--phase", "2", "--json").json()["phase"] == 2
    assert qc("info", path, "--check", "--json").json()["integrity"] == "ok"


def test_codes_commands(qc, study_path):
    r = qc("codes", "add", study_path, "Peer support/Feeling understood", "--description", "Being believed")
    assert r.code == 2 and "parent code 'Peer support' does not exist" in r.err
    assert qc("codes", "add", study_path, "Peer support").code == 0
    assert qc("codes", "add", study_path, "Feeling understood").code == 0
    assert qc("codes", "move", study_path, "Feeling understood", "--parent", "Peer support").code == 0
    rows = qc("codes", "list", study_path, "--json").json()
    assert "Peer support/Feeling understood" in [c["path"] for c in rows]
    assert qc("codes", "rename", study_path, "Peer support", "Peers").code == 0
    d = qc("codes", "describe", study_path, "Pacing", "--include", "Talk of balancing activity", "--json").json()
    assert d["include_when"] == "Talk of balancing activity"
    assert "include when: Talk of balancing activity" in qc("codes", "describe", study_path, "Pacing").out
    assert qc("code", study_path, "P1_interview", "Pacing", "--coder", "Ben", "--text", "pace myself").code == 0
    r = qc("codes", "delete", study_path, "Pacing")
    assert r.code == 2 and "1 coding" in r.err
    assert qc("codes", "merge", study_path, "Pacing", "Self-management", "--json").json()["codings_moved"] == 1
    tree = qc("codes", "list", study_path).out
    assert "  Cliff edge" in tree  # indented under its parent
    r = qc("codes", "delete", study_path, "Programme ending")
    assert r.code == 2 and "child codes" in r.err
    assert qc("codes", "delete", study_path, "Self-management", "--codings", "delete").code == 0
    assert qc("codes", "delete", study_path, "Cliff edge").code == 0


def test_codebook_import(qc, study_path, tmp_path):
    f = tmp_path / "codebook.csv"
    f.write_text("code,colour,description\nHope,#123456,Looking forward\nHope/Small wins,,Tiny gains\n"
                 "Pacing,,Updated definition\n", encoding="utf-8")
    r = qc("codes", "import", study_path, f, "--json")
    assert r.json() == {"added": 2, "updated": 1}
    codes = {c["path"]: c for c in qc("codes", "list", study_path, "--json").json()}
    assert codes["Hope"]["colour"] == "#123456" and "Hope/Small wins" in codes
    assert codes["Self-management/Pacing"]["description"] == "Updated definition"


def test_code_codings_uncode_and_undo(qc, study_path):
    start = INTERVIEW.index("cliff edge")
    r = qc("code", study_path, "P1_interview", "Cliff edge", "--coder", "Amira", "--span", f"{start}:{start + 10}", "--json")
    assert r.code == 0 and r.json()["text"] == "cliff edge"
    r = qc("code", study_path, "P1_interview", "Pacing", "--coder", "Ben", "--text", "pace myself", "--nth", "2")
    assert r.code == 0 and "“pace myself”" in r.out
    rows = qc("codings", study_path, "--json").json()
    assert [(c["coder"], c["text"], c["participant"], c["speaker"]) for c in rows] == [
        ("Amira", "cliff edge", "P1", "Sarah"), ("Ben", "pace myself", "P1", "Sarah")]
    assert len(qc("codings", study_path, "--coder", "Ben", "--json").json()) == 1
    assert len(qc("codings", study_path, "--code", "Programme ending", "--children", "--json").json()) == 1
    assert "cliff edge" in qc("codings", study_path, "--document", "P1_interview").out
    r = qc("uncode", study_path, "P1_interview", "Cliff edge", "--coder", "Amira", "--text", "edge", "--json")
    assert r.json() == {"removed": 0, "trimmed": 1, "split": 0}
    assert qc("undo", study_path, "--coder", "Amira", "--json").json()["command"] == "uncode"
    ids = [c["id"] for c in qc("codings", study_path, "--coder", "Amira", "--json").json()]
    assert qc("uncode", study_path, "--id", ids[0]).code == 0
    assert qc("codings", study_path, "--coder", "Amira", "--json").json() == []
    assert "uncode" in qc("history", study_path).out


def test_participants_commands(qc, study_path, tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("label,group,role,age,years_experience\nS1,staff,Senior Health Connector,41,8\n"
                 "PTV1,patient tutor volunteer,Patient Tutor Volunteer,63,4\n", encoding="utf-8")
    assert qc("participants", "import", study_path, f, "--json").json() == {"added": 2, "updated": 0}
    assert qc("participants", "add", study_path, "P2", "--group", "patient", "age=61").code == 0
    assert qc("participants", "set", study_path, "P2", "gender=M").code == 0
    r = qc("participants", "band", study_path, "experience_band", "--from", "years_experience",
           "--edges", "0.5,5", "--labels", "new,experienced,highly experienced")
    assert r.code == 0, r.err
    people = {p["label"]: p for p in qc("participants", "list", study_path, "--json").json()}
    assert people["S1"]["attributes"]["experience_band"] == "highly experienced"
    assert people["P2"]["attributes"] == {"age": 61, "gender": "M"}
    assert "Sarah Whitfield" in qc("participants", "list", study_path, "--names").out
    assert "Sarah Whitfield" not in qc("participants", "list", study_path).out


def test_speakers_commands(qc, study_path):
    r = qc("speakers", study_path, "--json")  # default subcommand: list
    assert {(x["speaker"], x["participant"] or x["role"]) for x in r.json()} == {
        ("Interviewer", "interviewer"), ("Sarah", "P1")}
    assert qc("speakers", "list", study_path, "--unmapped").out.strip() == "All speaker labels are mapped."
    assert qc("speakers", "map", study_path, "Sarah", "unknown").code == 0
    assert qc("documents", "list", study_path, "--json").json()[0]["participants"] == []


def test_memo_journal_and_search(qc, study_path):
    assert qc("memo", "add", study_path, "Vivid image", "--coder", "Amira", "--document", "P1_interview",
              "--span", "10:40").code == 0
    assert qc("memo", "add", study_path, "Whole study thought", "--coder", "Ben").code == 0
    memos = qc("memo", "list", study_path, "--json").json()
    assert [(m["target_type"], m["coder"]) for m in memos] == [("passage", "Amira"), ("study", "Ben")]
    assert qc("memo", "edit", study_path, memos[0]["id"], "Changed").code == 0
    assert qc("memo", "delete", study_path, memos[1]["id"]).code == 0
    assert [m["body"] for m in qc("memo", "list", study_path, "--json").json()] == ["Changed"]
    assert qc("journal", "add", study_path, "I notice I side with patients.", "--coder", "Amira",
              "--date", "2024-03-14").code == 0
    entries = qc("journal", "list", study_path, "--json").json()
    assert entries[0]["entry_date"] == "2024-03-14" and entries[0]["phase"] == 1
    r = qc("search", study_path, "cliff")
    assert r.code == 0 and "[cliff]" in r.out and "P1_interview [P1]" in r.out
    hits = qc("search", study_path, '"cliff edge"', "--json").json()
    assert hits["turns"] == 1 and hits["hits"][0]["match"] == "cliff edge"
    assert qc("search", study_path, 'NEAR("x" AND (').code == 0


def test_documents_list_and_show(qc, study_path):
    docs = qc("documents", "list", study_path, "--json").json()
    assert docs[0]["name"] == "P1_interview" and docs[0]["participants"] == ["P1"]
    assert qc("documents", "show", study_path, "P1_interview").out == INTERVIEW + "\n"
    shown = qc("documents", "show", study_path, "1", "--json").json()
    assert [t["speaker"] for t in shown["turns"]][:2] == ["Interviewer", "Sarah"]
    assert "Honestly" in qc("documents", "show", study_path, "P1_interview", "--turns").out
    assert qc("documents", "rename", study_path, "P1_interview", "P1 interview").code == 0


BIG = "99999999999999999999"  # beyond SQLite's 64-bit integers
BAD_COMMANDS = [
    (["info", "{missing}"], "does not exist"),
    (["info", "{textfile}"], "not an SQLite database"),
    (["info", "{corrupt}"], ""),
    (["init", "{study}"], "already exists"),
    (["code", "{study}", "nope", "Pacing", "--coder", "Amira", "--span", "0:5"], "unknown document"),
    (["code", "{study}", "P1_interview", "Nope", "--coder", "Amira", "--span", "0:5"], "unknown code"),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Zed", "--span", "0:5"], "unknown coder"),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Amira", "--span", "0:99999"], "outside"),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Amira", "--span", "ab"], "START:END"),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Amira", "--text", "absent words"], "does not occur"),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Amira"], "either --span"),
    (["code", "{study}", "P1_interview", "Pacing", "--span", "0:5"], "--coder"),
    (["codes", "add", "{study}", "Pacing", "--parent", "Self-management"], "already exists"),
    (["codes", "add", "{study}", "X", "--colour", "red"], "#RRGGBB"),
    (["codes", "rename", "{study}", "Nope", "X"], "unknown code"),
    (["codes", "move", "{study}", "Pacing"], "--parent CODE or --top"),
    (["codes", "merge", "{study}", "Pacing", "Pacing"], "itself"),
    (["participants", "add", "{study}", "P1"], "already exists"),
    (["participants", "add", "{study}", "1 bad label"], "must start with a letter"),
    (["participants", "set", "{study}", "P1", "age=old"], "integer"),
    (["participants", "import", "{study}", "{missing}"], "does not exist"),
    (["participants", "band", "{study}", "b", "--from", "age", "--edges", "x", "--labels", "a,b"], "--edges"),
    (["speakers", "map", "{study}", "Sarah", "P99"], "unknown participant"),
    (["memo", "add", "{study}", "  ", "--coder", "Amira"], "needs some text"),
    (["memo", "edit", "{study}", "99", "x"], "does not exist"),
    (["journal", "add", "{study}", "x", "--coder", "Amira", "--date", "yesterday"], "YYYY-MM-DD"),
    (["search", "{study}", "!!!"], "no words"),
    (["documents", "show", "{study}", "nope"], "unknown document"),
    (["uncode", "{study}", "P1_interview", "Pacing", "--coder", "Amira", "--span", "0:5"], "no coding"),
    (["undo", "{study}", "--coder", "Ben"], "nothing to undo"),
    (["settings", "{study}", "--phase", "9"], ""),
    (["codes", "list"], "Missing argument"),
    (["init", "{other}", "--approach", "nope"], "--approach"),
    (["info", "{folder}"], "directory"),
    (["codings", "{study}", "--limit", "0"], "--limit"),
    (["import", "{study}"], "Missing argument"),
    # numbers beyond SQLite's integers name nothing: one line, not an OverflowError traceback
    (["uncode", "{study}", "--id", BIG], "--id"),
    (["memo", "edit", "{study}", BIG, "x"], "ID"),
    (["memo", "delete", "{study}", BIG], "ID"),
    (["memo", "add", "{study}", "x", "--coder", "Amira", "--coding", BIG], "--coding"),
    (["documents", "show", "{study}", BIG], "too large"),
    (["codings", "{study}", "--document", BIG], "too large"),
    (["codings", "{study}", "--limit", BIG], "--limit"),
    (["journal", "list", "{study}", "--phase", BIG], "--phase"),
    (["history", "{study}", "--limit", BIG], "--limit"),
    (["search", "{study}", "pain", "--limit", BIG], ""),
    (["code", "{study}", "P1_interview", "Pacing", "--coder", "Amira", "--text", "pace", "--nth", BIG], "--nth"),
    (["coders", "add", "{study}", "consensus"], "reserved"),
    (["codes", "add", "{study}", "two\nlines"], "line breaks"),
    (["codes", "rename", "{study}", "Pacing", "a\tb"], "tabs"),
    (["participants", "band", "{study}", "b", "--from", "age", "--edges", "nan", "--labels", "a,b"], "finite"),
    (["participants", "import", "{study}", "{extra_field_csv}"], "line 2 has 3 fields"),
    (["participants", "import", "{study}", "{twice_header_csv}"], "appears twice"),
    (["participants", "import", "{study}", "{twice_label_csv}"], "row 3"),
]


@pytest.mark.parametrize("args,message", BAD_COMMANDS, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(BAD_COMMANDS)])
def test_bad_input_is_one_line_exit_2_and_leaves_the_study_untouched(qc, study_path, tmp_path, args, message):
    (tmp_path / "notes.txt").write_text("not a study")
    corrupt = tmp_path / "corrupt.qc"
    corrupt.write_bytes(study_path.read_bytes()[:4096] + b"\x00garbage" * 500)
    (tmp_path / "folder.qc").mkdir()
    (tmp_path / "extra.csv").write_text("label,age\nP30,3,extra\n", encoding="utf-8")
    (tmp_path / "twice_header.csv").write_text("label,label\nP30,P31\n", encoding="utf-8")
    (tmp_path / "twice_label.csv").write_text("label,age\nP30,3\np30,4\n", encoding="utf-8")
    names = {"study": study_path, "missing": tmp_path / "missing.qc", "textfile": tmp_path / "notes.txt",
             "corrupt": corrupt, "folder": tmp_path / "folder.qc", "other": tmp_path / "missing.qc",
             "extra_field_csv": tmp_path / "extra.csv", "twice_header_csv": tmp_path / "twice_header.csv",
             "twice_label_csv": tmp_path / "twice_label.csv"}
    before = study_path.read_bytes()
    r = qc(*[a.format(**names) for a in args])
    assert r.code == 2, (r.out, r.err)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qualcode: error:"), r.err
    assert message in r.err
    assert study_path.read_bytes() == before
    assert not (tmp_path / "missing.qc").exists()


def test_the_console_script_runs_and_fails_cleanly(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "qualcode")
    ok = subprocess.run([exe, "init", str(tmp_path / "s.qc")], capture_output=True, text=True)
    assert ok.returncode == 0
    bad = subprocess.run([exe, "info", str(tmp_path / "nope.qc")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert json.loads(subprocess.run([exe, "info", str(tmp_path / "s.qc"), "--json"], capture_output=True,
                                     text=True).stdout)["documents"] == 0


def _all_commands(group, prefix=()):
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_the_lazy_command_table_names_every_command_of_every_module():
    import importlib

    from qualcode.cli import LAZY_COMMANDS, cli

    defined = {}
    for module in set(LAZY_COMMANDS.values()):
        for command in importlib.import_module(f"qualcode.cli.{module}").COMMANDS:
            defined[command.name] = module
    assert defined == LAZY_COMMANDS
    import click

    names = cli.list_commands(click.Context(cli))
    assert set(names) == set(LAZY_COMMANDS)
    export = cli.get_command(click.Context(cli), "export")
    assert {"qdpx", "qdc"} <= set(export.list_commands(click.Context(export)))


def test_a_query_command_imports_only_what_it_needs(study_path):
    # Start-up is most of a CLI call's time: `info`, `codings`, `search` must not import numpy
    # (through sqlite_utils or the agreement code), the exporters, the importers or the TUI.
    probe = (
        "import sys\n"
        "from qualcode.cli import main\n"
        "for args in (['info', sys.argv[1]], ['codings', sys.argv[1]], ['search', sys.argv[1], 'pain']):\n"
        "    assert main(args) == 0, args\n"
        "heavy = [m for m in ('numpy', 'pandas', 'qualcode.agreement', 'qualcode.cli.agreement', "
        "'qualcode.cli.themes', 'exporters', 'importers', 'textual', 'tui') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(study_path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout[-500:]


def test_every_command_and_option_is_documented():
    import click

    from qualcode.cli import cli

    for path, command in _all_commands(cli):
        assert (command.help or "").strip(), f"qualcode {' '.join(path)} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert (param.help or "").strip(), f"qualcode {' '.join(path)} {param.opts[0]} has no help"


def test_documents_set_records_date_duration_mode_and_any_field(qc, study_path):
    r = qc("documents", "set", study_path, "P1_interview", "--date", "2024-03-12", "--duration", "37 min",
           "--mode", "telephone", "interviewer=Amira", "--json")
    assert r.code == 0, r.err
    assert r.json()["metadata"] == {"date": "2024-03-12", "duration": "37 min", "mode": "telephone",
                                    "interviewer": "Amira"}
    r = qc("documents", "set", study_path, "P1_interview", "interviewer=", "--json")
    assert "interviewer" not in r.json()["metadata"] and r.json()["metadata"]["mode"] == "telephone"
    before = study_path.read_bytes()
    bad = qc("documents", "set", study_path, "P1_interview", "--date", "12/03/2024")
    assert bad.code == 2 and bad.err.count("\n") == 1 and study_path.read_bytes() == before
