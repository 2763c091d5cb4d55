"""``qualcode demo``: build the sample study and open it.

The demo is the tour of the product: it runs the same operations a researcher would, in order
(create, participants, codebook, import every transcript, map speakers, load two coders'
independent codings), so it doubles as an end-to-end check of the sample material.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from qualcode.cli.common import JSON, STUDY, emit, opened, say
from qualcode.csvfile import read_rows
from qualcode.errors import InvalidInput
from qualcode.study import Study

TITLE = "Living well with persistent pain: peer support after a pain management programme"
CODERS = ("Amira", "Ben")


def build(folder: Path, target: Path) -> Study:
    """Create the demo study at ``target`` from the sample files in ``folder``."""
    from importers.batch import collect, import_file

    study = Study.create(target, title=TITLE, approach="reflexive")
    for name in CODERS:
        study.coders.add(name)
    study.participants.import_csv(folder / "participants.csv")
    study.participants.define_band("experience_band", "years_experience", [0.5, 5],
                                   ["new", "experienced", "highly experienced"])
    study.codes.import_csv(folder / "codebook.csv")
    for path in collect((folder,)):
        import_file(study, path)
    study.speakers.import_mapping(read_rows(folder / "speakers.csv", lower_headers=True))
    rows = read_rows(folder / "codings.csv", lower_headers=True)
    with study.change("demo codings", f"load {len(rows)} sample codings"):
        for row in rows:
            study.codings.add_text(row["document"], row["code"], row["coder"], row["text"],
                                   int(row.get("nth") or 1), row.get("memo") or "")
    _load_themes(study, folder)
    study.configure(phase=4)
    return study


def _load_themes(study: Study, folder: Path) -> None:
    """Candidate themes and key quotes, as a team might have them by phase 4."""
    with study.change("demo themes", "load sample themes and key quotes"):
        for row in read_rows(folder / "themes.csv", lower_headers=True):
            study.themes.add(row["theme"], parent=row["parent"] or None, concept=row["concept"],
                             definition=row["definition"], status=row["status"],
                             codes=[c for c in row["codes"].split(";") if c])
        for row in read_rows(folder / "key_quotes.csv", lower_headers=True):
            coding = next(c for c in study.codings.list(document=row["document"], code=row["code"],
                                                        coder=row["coder"]) if row["text"] in c.text)
            study.themes.quote(coding.id, row["theme"])


@click.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("qualcode-demo"),
              show_default=True, help="Where to write demo.qc (rebuilt if it exists).")
@click.option("--headless", is_flag=True, help="Build the study and print a summary; do not open the TUI.")
@click.option("--coder", default="Amira", show_default=True, help="Open the TUI as this coder.")
@JSON
def demo(folder, headless, coder, as_json):
    """Build the sample study (9 transcripts, 2 coders, candidate themes) and open it."""
    import sample_transcripts

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "demo.qc"
    partial = folder / "demo.qc.building"
    for p in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        p.unlink(missing_ok=True)
    study = build(sample_transcripts.FOLDER, partial)
    info = study.info()
    study.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    study.close()
    for p in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        p.unlink(missing_ok=True)
    os.replace(partial, target)
    info["path"] = str(target)
    emit(info, as_json, lambda i: (
        f"Built {target}: {i['documents']} documents ({i['words']:,} words), {i['participants']} participants, "
        f"{i['codes']} codes, {i['codings']} codings by {len(CODERS)} coders.\n"
        f"Try: qualcode documents list {target}\n     qualcode codings {target} --coder Ben --limit 10\n"
        f"     qualcode search {target} \"cliff edge\""))
    if headless:
        return
    try:
        from tui.app import run_app
    except ImportError:
        say("The terminal UI is not built yet; the study is ready for the CLI (see above).")
        return
    run_app(target, coder=coder)


@click.command()
@STUDY
@click.option("--coder", metavar="NAME", help="Code as NAME (asked for, then remembered per study, if not given).")
def tui(study, coder):
    """Open STUDY.qc in the terminal coding workbench."""
    with opened(study) as s:  # fail here, as a CLI error, if the file is not a usable study
        if coder:
            s.coders.get(coder)
    try:
        from tui.app import run_app
    except ImportError:
        raise InvalidInput("the terminal UI is not available in this installation") from None
    run_app(study, coder=coder)


COMMANDS = [demo, tui]
