"""Every export, in every format, through the CLI: a planted leak is refused, nothing is written,
and ``--allow-leaks`` writes it.

The sample study is anonymised (scan + apply --accept-all, register and rules), each export is
clean; then a registered surname (``Whitfield``, participant P1's) is planted where exports read
it: a code ``Whitfield family`` (coded by both coders) gathered in a theme ``Whitfield worries``,
and an attribute ``carer = Peter Whitfield`` of P1 for the participants table.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

from qualcode.cli import main
from qualcode.study import Study

LEAK = "Whitfield"

EXPORTS = [
    *[("export", "quotes", suffix, ()) for suffix in ("docx", "csv", "md", "xlsx")],
    *[("export", "map", suffix, ()) for suffix in ("png", "svg", "pdf", "dot", "mmd", "txt")],
    *[("export", "matrix", suffix, ("--by", "codes")) for suffix in ("csv", "xlsx", "docx")],
    *[("export", "participants", suffix, ("--attribute", "carer")) for suffix in ("docx", "csv", "md")],
    *[("export", "codebook", suffix, ()) for suffix in ("docx", "csv", "md")],
    ("export", "qdpx", "qdpx", ()),
    ("export", "qdc", "qdc", ()),
]
AGREEMENT = [("--docx", "docx"), ("--csv", "csv"), ("--markdown", "md"), ("--heatmap", "png")]
TEXT_SUFFIXES = ("csv", "md", "svg", "dot", "mmd", "txt", "qdc")


def _run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def leaky(tmp_path_factory) -> Path:
    """The sample study anonymised, then with the planted leak."""
    import sample_transcripts
    from qualcode.cli.demo import build

    folder = tmp_path_factory.mktemp("guard_all")
    path = folder / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()
    key = folder / "keys" / "demo.key"
    key.parent.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QUALCODE_SPACY_MODEL", "none")
        mp.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
        assert _run("anonymise", "scan", path, "--key", key)[0] == 0
        code, _out, err = _run("anonymise", "apply", path, "--key", key, "--accept-all")
        assert code == 0, err
        clean = folder / "clean"
        clean.mkdir()
        for _group, command, suffix, extra in EXPORTS:  # clean after apply: the leak is the plant
            extra = () if command == "participants" else extra  # (no carer attribute yet)
            code, _out, err = _run("export", command, path, "-o", clean / f"{command}.{suffix}", *extra)
            assert code == 0, (command, suffix, err)
    with Study.open(path) as s:
        s.actor = "Amira"
        s.codes.add("Whitfield family")
        doc = s.documents.get("P1_interview")
        for coder in ("Amira", "Ben"):
            s.codings.add(doc.id, "Whitfield family", coder, 300, 400)
    assert _run("themes", "add", path, "Whitfield worries", "--code", "Whitfield family")[0] == 0
    assert _run("participants", "set", path, "P1", "carer=Peter Whitfield")[0] == 0
    return path


def _refused_then_allowed(path: Path, out_dir: Path, args: list, out: Path, allow: bool = True) -> None:
    code, _stdout, err = _run(*args)
    assert code == 1, (args, err)
    assert LEAK in err and "--allow-leaks" in err, err
    assert len(err.strip().splitlines()) == 1, err  # one line, no traceback
    assert list(out_dir.iterdir()) == [], "nothing may be written, not even a temporary file"
    if not allow:
        return
    code, _stdout, err = _run(*args, "--allow-leaks")
    assert code == 0, (args, err)
    assert out.exists() and out.stat().st_size > 0
    if out.suffix.lstrip(".") in TEXT_SUFFIXES:
        assert LEAK in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("group,command,suffix,extra", EXPORTS, ids=[f"{c}-{s}" for _g, c, s, _e in EXPORTS])
def test_every_export_refuses_the_planted_leak(leaky, tmp_path, monkeypatch, group, command, suffix, extra):
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"{command}.{suffix}"
    before = leaky.read_bytes()
    _refused_then_allowed(leaky, out_dir, [group, command, leaky, "-o", out, *extra], out)
    assert leaky.read_bytes() == before  # an export never writes to the study


@pytest.mark.parametrize("option,suffix", AGREEMENT, ids=[s for _o, s in AGREEMENT])
def test_agreement_reports_refuse_the_planted_leak(leaky, tmp_path, monkeypatch, option, suffix):
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"agreement.{suffix}"
    args = ["agreement", "compute", leaky, "--coders", "Amira", "Ben", "--unit", "turn", option, out]
    _refused_then_allowed(leaky, out_dir, args, out, allow=False)
    # The environment variable lifts the guard for agreement reports too.
    monkeypatch.setenv("QUALCODE_ALLOW_LEAKS", "1")
    code, _stdout, err = _run(*args)
    assert code == 0 and out.exists(), err


@pytest.mark.parametrize("option,suffix", AGREEMENT, ids=[s for _o, s in AGREEMENT])
def test_agreement_reports_write_with_allow_leaks(leaky, tmp_path, monkeypatch, option, suffix):
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"agreement.{suffix}"
    args = ["agreement", "compute", leaky, "--coders", "Amira", "Ben", "--unit", "turn", option, out]
    _refused_then_allowed(leaky, out_dir, args, out)


def test_the_leak_is_only_the_plant(leaky, tmp_path, monkeypatch):
    """The same exports of the study without the planted code, theme and attribute are clean."""
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    copy = tmp_path / "copy.qc"
    shutil.copy(leaky, copy)
    assert _run("themes", "delete", copy, "Whitfield worries")[0] == 0
    assert _run("codes", "delete", copy, "Whitfield family", "--codings", "delete")[0] == 0
    assert _run("participants", "set", copy, "P1", "carer=")[0] == 0
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for _group, command, suffix, extra in EXPORTS:
        if command == "participants":
            extra = ()
        code, _out, err = _run("export", command, copy, "-o", out_dir / f"{command}.{suffix}", *extra)
        assert code == 0, (command, suffix, err)
