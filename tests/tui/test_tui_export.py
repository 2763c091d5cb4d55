"""The export screen on the demo study: the files equal the CLI's for the same options, the
anonymisation guard refuses (and "Export anyway" is the CLI's --allow-leaks), an existing file is
overwritten only when confirmed, and bad paths give one message, never a traceback."""

from __future__ import annotations

import hashlib
import shutil
import struct
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, OptionList, Select, SelectionList, Static
from tui_helpers import settle

from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.dialogs import ConfirmScreen
from tui.screens.export import KINDS, ExportScreen, LeakScreen

SIZE = (120, 40)
THEME = "Falling off the cliff edge"
TEMPLATE = "[Participant {number}, {role}, {experience_band}]"


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory) -> Path:
    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path_factory.mktemp("demo") / "demo.qc"
    build(sample_transcripts.FOLDER, path).close()
    return path


@pytest.fixture
def demo(built_demo, tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    folder = tmp_path / "study"
    folder.mkdir()
    path = folder / "demo.qc"
    shutil.copy(built_demo, path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zip_members(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def docx_rows(path: Path) -> list[list[str]]:
    import docx

    tables = docx.Document(str(path)).tables
    assert len(tables) == 1
    return [[cell.text for cell in row.cells] for row in tables[0].rows]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def open_export(pilot) -> ExportScreen:
    await settle(pilot)
    await pilot.press("9")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ExportScreen)
    return screen


async def choose(pilot, screen: ExportScreen, kind: str) -> None:
    """Pick a kind in the list as a user would (highlight moves the form)."""
    kinds = screen.query_one("#export-kinds", OptionList)
    kinds.focus()
    kinds.highlighted = [k.id for k in KINDS].index(kind)
    await pilot.pause()
    assert screen.kind == kind


async def set_path(pilot, screen: ExportScreen, path: Path | str) -> None:
    screen.query_one("#export-path", Input).value = str(path)
    await pilot.pause()


async def export(pilot) -> None:
    pilot.app.screen.query_one("#export-kinds", OptionList).focus()
    await pilot.press("ctrl+s")
    await settle(pilot)


def result_text(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-result", Static).render())


# -- the files equal the CLI's --------------------------------------------------------------------


async def test_quote_table_docx_equals_the_cli_export(demo, qc):
    out = demo.parent / "tui-quotes.docx"
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        assert screen.kind == "quotes"
        assert screen.query_one("#export-path", Input).value == str(demo.parent.resolve() / "demo-quotes.docx")
        themes = screen.query_one("#quotes-themes", SelectionList)
        assert THEME in [themes.get_option_at_index(i).value for i in range(themes.option_count)]
        themes.select(THEME)
        screen.query_one("#quotes-key_only", Checkbox).value = True
        screen.query_one("#quotes-template", Input).value = TEMPLATE
        await set_path(pilot, screen, out)
        await export(pilot)
        assert out.exists(), app.errors
        assert screen.last_result.startswith(f"Wrote {out} (docx,")
    cli = demo.parent / "cli-quotes.docx"
    r = qc("export", "quotes", demo, "-o", cli, "--theme", THEME, "--key-only", "--template", TEMPLATE)
    assert r.code == 0, r.err
    rows = docx_rows(out)
    assert rows == docx_rows(cli)
    # the theme as a heading row, then Subtheme | Quote | No. and the 2 + 2 key quotes
    assert rows[0] == [THEME] * 3 and rows[1] == ["Subtheme", "Quote", "No."] and len(rows) == 6
    assert any(r[1].endswith("[Participant 1, Patient Tutor Volunteer, experienced]") for r in rows[2:])
    assert sha(out) == sha(cli)


async def test_export_anyway_after_a_refusal_equals_the_cli_allow_leaks(demo, qc):
    out = demo.parent / "all-quotes.docx"
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        screen.query_one("#quotes-themes", SelectionList).select(THEME)
        await set_path(pilot, screen, out)
        await export(pilot)
        # the demo keeps its participants' names on purpose: the guard refuses, nothing is written
        assert isinstance(app.screen, LeakScreen), app.errors
        message = str(app.screen.query_one("#leak-message", Static).render())
        assert "registered identifier" in message and "'Linda'" in message
        assert not out.exists()
        await pilot.click("#leak-anyway")
        await settle(pilot)
        assert app.screen is screen and out.exists()
        assert screen.last_result.startswith(f"Wrote {out} (docx,")
    cli = demo.parent / "cli-all-quotes.docx"
    r = qc("export", "quotes", demo, "-o", cli, "--theme", THEME)
    assert r.code == 1 and "Linda" in r.err
    r = qc("export", "quotes", demo, "-o", cli, "--theme", THEME, "--allow-leaks")
    assert r.code == 0, r.err
    rows = docx_rows(out)
    assert rows == docx_rows(cli) and len(rows) > 5
    assert sha(out) == sha(cli)


async def test_map_png_is_written_and_equals_the_cli_export(demo, qc):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, "map")
        target = Path(screen.query_one("#export-path", Input).value)
        assert target == demo.parent.resolve() / "demo-map.png"  # the default followed the kind
        assert ".png .svg .pdf" in str(screen.query_one("#export-formats", Static).render())
        screen.query_one("#map-counts", Checkbox).value = True
        await export(pilot)
        assert not isinstance(app.screen, LeakScreen)
        assert target.exists(), app.errors
        assert f"Wrote {target} (png" in result_text(screen)
    width, height = png_size(target.read_bytes())
    assert width > 1500 and height > 300 and target.stat().st_size > 50_000
    cli = demo.parent / "cli-map.png"
    assert qc("export", "map", demo, "-o", cli, "--counts").code == 0
    assert sha(target) == sha(cli)


@pytest.mark.parametrize("kind, name, cli_args", [
    ("matrix", "m.xlsx", ["export", "matrix"]),
    ("participants", "p.md", ["export", "participants"]),
    ("codebook", "c.docx", ["export", "codebook"]),
    ("qdc", "c.qdc", ["export", "qdc"]),
    ("agreement", "a.docx", ["agreement", "compute", "--coders", "Amira", "Ben", "--unit", "sentence"]),
])
async def test_other_exports_equal_the_cli(demo, qc, kind, name, cli_args):
    out = demo.parent / f"tui-{name}"
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, kind)
        if kind == "agreement":  # the first two coders are offered as the pair
            assert screen.query_one("#agreement-coder_a", Select).value == "Amira"
            assert screen.query_one("#agreement-coder_b", Select).value == "Ben"
            screen.query_one("#agreement-unit", Select).value = "sentence"
        await set_path(pilot, screen, out)
        await export(pilot)
        assert out.exists(), app.errors
    cli = demo.parent / f"cli-{name}"
    where = ["--docx", cli] if kind == "agreement" else ["-o", cli]
    r = qc(*cli_args[:2], demo, *cli_args[2:], *where)
    assert r.code == 0, r.err
    if kind == "agreement":  # its DOCX carries the clock in the zip member times: compare the members
        assert zip_members(out) == zip_members(cli)
    else:
        assert sha(out) == sha(cli)


# -- the guard -------------------------------------------------------------------------------


def plant_leak(path: Path, key_path: Path) -> None:
    """Register a place in the key (as `qualcode anonymise register --add` does) and put it in a
    theme's name, so the map would carry it."""
    from qualcode import anonymise

    with Study.open(path) as s:
        key = anonymise.open_key(s, key_path, create=True)
        try:
            with key.transaction():
                key.add_entry("Bramblewood", None, "place", "manual")
            anonymise.guard.sync(s, key)
        finally:
            key.close()
        s.themes.rename("Alone with it", "Alone with it in Bramblewood")


async def test_a_planted_leak_is_refused_and_nothing_is_written(demo, tmp_path):
    target = demo.parent / "map.svg"
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, "map")
        await set_path(pilot, screen, target)
        await export(pilot)
        assert target.exists() and not isinstance(app.screen, LeakScreen)  # clean before the plant
        target.unlink()
        keys = tmp_path / "keys"
        keys.mkdir()
        plant_leak(demo, keys / "demo.key")
        await export(pilot)
        assert isinstance(app.screen, LeakScreen)
        message = str(app.screen.query_one("#leak-message", Static).render())
        assert "'Bramblewood'" in message and "registered identifier" in message
        await pilot.press("enter")  # the focused button is Cancel: never export by accident
        await settle(pilot)
        assert app.screen is screen and not target.exists()
        assert "Not written" in result_text(screen) and "Bramblewood" in result_text(screen)
        assert any("Bramblewood" in e for e in app.errors)


# -- overwriting, bad paths, bad options ---------------------------------------------------------


async def test_an_existing_file_is_overwritten_only_when_confirmed(demo):
    target = demo.parent / "codebook.md"
    target.write_text("my own notes\n", encoding="utf-8")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, "codebook")
        await set_path(pilot, screen, "codebook.md")  # relative: next to the study
        await export(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert target.read_text(encoding="utf-8") == "my own notes\n"
        await export(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert target.read_text(encoding="utf-8").startswith("# Codebook")


@pytest.mark.parametrize("kind, path, says", [
    ("codebook", "missing/folder/codebook.docx", "does not exist"),
    ("codebook", "codebook.pdf", "use .docx, .csv, .md"),
    ("map", "map.jpeg", "use .png, .svg, .pdf"),
    ("codebook", "", "give the file to write"),
    ("codebook", ".", "is a folder"),
    ("agreement", "a.docx", "choose the two coders"),
])
async def test_bad_paths_and_options_give_one_message(demo, kind, path, says):
    before = sorted(p.name for p in demo.parent.iterdir())
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, kind)
        if kind == "agreement":
            screen.query_one("#agreement-coder_b", Select).clear()
        await set_path(pilot, screen, path)
        await export(pilot)
        assert app.screen is screen and not screen.busy
        assert app.errors and says in app.errors[-1], app.errors
        assert says in result_text(screen)
    assert sorted(p.name for p in demo.parent.iterdir()) == before


async def test_a_number_out_of_range_is_refused_before_anything_runs(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, "map")
        screen.query_one("#map-dpi", Input).value = "20"
        await export(pilot)
        assert "between 50 and 1200" in app.errors[-1]
        assert not (demo.parent / "demo-map.png").exists()


# -- keys --------------------------------------------------------------------------------------


async def test_export_key_is_remappable_and_enter_in_the_path_writes(demo, config_dir):
    (config_dir / "keys.toml").write_text('[keys]\n"export.export" = "f6"\n', encoding="utf-8")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        await choose(pilot, screen, "codebook")
        await set_path(pilot, screen, "cb.csv")
        screen.query_one("#export-kinds", OptionList).focus()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not (demo.parent / "cb.csv").exists()  # ctrl+s is no longer the export key
        await pilot.press("f6")
        await settle(pilot)
        assert (demo.parent / "cb.csv").exists()
        await set_path(pilot, screen, "cb.md")
        screen.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert (demo.parent / "cb.md").exists()
