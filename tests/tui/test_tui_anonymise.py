"""The anonymisation review screen on the sample study: the same candidates, decisions and applied
text as the library (``qualcode.anonymise``) gives, and one-line notifications for a missing key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_helpers import fill, settle

from qualcode import anonymise
from qualcode.anonymise.keyfile import KeyFile
from qualcode.study import Study
from tui import config
from tui.app import QualcodeApp
from tui.screens.anonymise import AnonymiseScreen, ApplyConfirmScreen, DiffScreen
from tui.screens.dialogs import ChoiceScreen, ConfirmScreen, PromptScreen

SIZE = (140, 40)
REGISTER = Path(__file__).parent.parent / "fixtures" / "anonymise" / "register.csv"


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory) -> Path:
    import sample_transcripts
    from qualcode.cli.demo import build

    path = tmp_path_factory.mktemp("sample") / "demo.qc"
    study = build(sample_transcripts.FOLDER, path)
    study.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    study.close()
    return path


def copy_with_key(template: Path, folder: Path, scan: bool = False) -> tuple[Path, Path]:
    """A copy of the sample study and a key (in a folder of its own) holding the sample register."""
    (folder / "study").mkdir(parents=True)
    (folder / "keys").mkdir()
    path, key_path = folder / "study" / "demo.qc", folder / "keys" / "demo.key"
    shutil.copy(template, path)
    with Study.open(path) as s, anonymise.open_key(s, key_path, create=True) as key:
        anonymise.register_csv(s, key, REGISTER)
        if scan:
            anonymise.scan(s, key, use_ner=False)
    return path, key_path


def candidates(key_path: Path) -> list[tuple]:
    with KeyFile.open(key_path) as key:
        return [(c.id, c.document, c.start, c.end, c.original, c.replacement, c.rule, c.status, c.edited, c.reviewer)
                for c in key.candidates()]


def remember(path: Path, key_path: Path | str) -> None:
    config.save_study_state(path, anonymise_key=str(key_path))


async def open_screen(pilot) -> AnonymiseScreen:
    await settle(pilot)
    await pilot.press("8")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AnonymiseScreen)
    return screen


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_scan_from_the_screen_finds_what_the_library_finds(sample_template, tmp_path):
    path, key_path = copy_with_key(sample_template, tmp_path / "tui")
    lib_path, lib_key = copy_with_key(sample_template, tmp_path / "lib")
    with Study.open(lib_path) as s, anonymise.open_key(s, lib_key) as key:
        anonymise.scan(s, key, use_ner=False)
    remember(path, key_path)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        assert screen.rows == [] and "not scanned yet" in str(screen.query_one("#anon-header").render())
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # register and rules
        await settle(pilot)
        assert app.screen is screen and not app.errors, app.errors
        found = candidates(key_path)
        assert found == candidates(lib_key) and len(found) > 100
        assert screen.rows == [c[0] for c in found if c[7] == "open"]
        assert screen.query_one("#anon-table", DataTable).row_count == len(found)
        originals = {c[4] for c in found}
        assert {"Peter", "Bramleigh", "St Aldhelm's", "Sarah"} <= originals
        assert any("Scanned 9 document(s)" in m for m in messages(app))
    assert json.loads((config.config_dir() / "state.json").read_text())["studies"][str(path.resolve())][
        "anonymise_key"] == str(key_path)


async def test_review_keys_change_the_key_file_exactly(sample_template, tmp_path):
    path, key_path = copy_with_key(sample_template, tmp_path, scan=True)
    before = {c[0]: c for c in candidates(key_path)}
    with KeyFile.open(key_path) as key:
        entries_before = len(key.entries())
    remember(path, key_path)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        order = list(screen.rows)
        assert order == [i for i, c in before.items() if c[7] == "open"]
        first, second, third = order[:3]
        await pilot.press("a")
        await pilot.press("r")
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        await fill(pilot, "[a neighbour]")
        await pilot.press("enter")
        await settle(pilot)
        # The next open candidate: accept every candidate with the same text.
        fourth = screen.current().id
        same = {i for i, c in before.items() if c[4].lower() == before[fourth][4].lower()}
        await pilot.press("A")
        # A rule's candidate (an e-mail address) goes into the register.
        email = next(i for i in screen.rows if before[i][6] == "email")
        screen.query_one("#anon-table", DataTable).move_cursor(row=screen.rows.index(email))
        await pilot.press("g")
        await settle(pilot)
        assert not app.errors, app.errors
        after = {c[0]: c for c in candidates(key_path)}
        expected = dict(before)
        expected[first] = before[first][:7] + ("accepted", False, "Amira")
        expected[second] = before[second][:7] + ("rejected", False, "Amira")
        expected[third] = before[third][:5] + ("[a neighbour]", before[third][6], "accepted", True, "Amira")
        for i in same:
            expected[i] = before[i][:7] + ("accepted", False, "Amira")
        assert after == expected
        assert len(same) > 1 and first != second != third
        with KeyFile.open(key_path) as key:
            entries = key.entries()
        assert len(entries) == entries_before + 1 and entries[-1].name == before[email][4]
        assert any("scan again" in m for m in messages(app))
        # The table shows what is still open; f walks the other decisions.
        assert screen.rows == [i for i, c in after.items() if c[7] == "open"]
        await pilot.press("f")
        assert screen.filter == "accepted" and screen.rows == [i for i, c in after.items() if c[7] == "accepted"]
        await pilot.press("f")
        assert screen.rows == [second]
        await pilot.press("u")  # reopen the rejected one
        assert screen.rows == [] and candidates(key_path)[list(after).index(second)][7] == "open"


async def test_apply_after_confirmation_rewrites_like_the_library(sample_template, tmp_path):
    path, key_path = copy_with_key(sample_template, tmp_path / "tui", scan=True)
    lib_path, lib_key = copy_with_key(sample_template, tmp_path / "lib", scan=True)
    assert candidates(key_path) == candidates(lib_key)
    with Study.open(path) as s:
        codings_before = {c.id: c.text for c in s.codings.list()}
    remember(path, key_path)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        rejected = screen.current().id
        await pilot.press("r")
        await pilot.press("ctrl+a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert screen.rows == []
        # p: a dry run, then the counts; d shows the diff; n leaves the study as it was.
        untouched = path.read_bytes()
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ApplyConfirmScreen), app.errors
        summary = str(app.screen.query_one("#anon-confirm-summary").render())
        dry = app.screen.result
        assert f"{dry.replacements} replacement(s)" in summary and dry.replacements > 100
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.query_one(DataTable).row_count == len(dry.diff)
        await pilot.press("escape")
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is screen and path.read_bytes() == untouched
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen and not app.errors, app.errors
        assert any(m.startswith(f"Rewrote 9 document(s): {dry.replacements} replacement(s)") for m in messages(app))
    with Study.open(lib_path) as s, anonymise.open_key(s, lib_key) as key:
        anonymise.review.reject(key, [rejected], "Amira")
        anonymise.review.accept(key, anonymise.review.select(key, all_open=True), "Amira")
        anonymise.apply(s, key, reviewer="Amira")

    def state(p: Path) -> tuple[dict, dict]:
        with Study.open(p) as s:
            return ({d.name: s.documents.text(d.id) for d in s.documents.list()},
                    {c.id: (c.document_id, c.start, c.end, c.text) for c in s.codings.list()})

    texts, codings = state(path)
    assert (texts, codings) == state(lib_path)
    assert set(codings) == set(codings_before)
    assert sum(1 for i, c in codings.items() if c[3] != codings_before[i]) > 10  # names inside codings replaced
    assert not any("Bramleigh" in t or "Peter " in t for t in texts.values())
    assert [c[7] for c in candidates(key_path) if c[0] == rejected] == ["rejected"]


async def test_a_missing_key_file_is_a_notification(sample_template, tmp_path):
    path, _key = copy_with_key(sample_template, tmp_path)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        for k in ("s", "a", "p", "A", "e", "g"):  # no key chosen yet
            await pilot.press(k)
            await settle(pilot)
        assert app.screen is screen and not app.errors
        assert any("press k to choose one" in m for m in messages(app))
    gone = tmp_path / "unplugged" / "demo.key"
    remember(path, gone)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        assert app.errors and "does not exist" in app.errors[-1] and str(gone) in app.errors[-1]
        assert "cannot be opened" in str(screen.query_one("#anon-header").render())
        await pilot.press("a", "f", "p")
        await settle(pilot)
        assert app.screen is screen
        assert len([e for e in app.errors if "does not exist" in e]) == 2  # once on opening, once for p
        # k: a path in a folder that does not exist either: one line, nothing created.
        await pilot.press("k")
        await fill(pilot, str(gone))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert "folder" in app.errors[-1] and not gone.parent.exists()
        # The study itself is refused as a key.
        await pilot.press("k")
        await fill(pilot, str(path))
        await pilot.press("enter")
        await settle(pilot)
        assert "cannot be the study" in app.errors[-1] or "is a qualcode study" in app.errors[-1]
        assert screen.key_path == gone


async def test_a_long_list_fills_the_table_as_the_cursor_moves(sample_template, tmp_path, monkeypatch):
    import tui.screens.anonymise as screen_module

    monkeypatch.setattr(screen_module, "TABLE_CHUNK", 20)
    path, key_path = copy_with_key(sample_template, tmp_path, scan=True)
    remember(path, key_path)
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        table = screen.query_one("#anon-table", DataTable)
        open_ids = [c[0] for c in candidates(key_path) if c[7] == "open"]
        assert screen.rows == open_ids[:20] and table.row_count == 20
        # Accepting every "Sarah" also decides candidates not in the table yet: they never show up.
        table.move_cursor(row=screen.rows.index(next(i for i in screen.rows if screen.cands[i].original == "Sarah")))
        await pilot.press("A")
        for _ in range(40):
            await pilot.press("pagedown")
        await settle(pilot)
        still_open = [c[0] for c in candidates(key_path) if c[7] == "open"]
        assert len(still_open) < len(open_ids) and screen.rows == still_open and table.row_count == len(still_open)
