"""The TUI and the CLI on one study at once: nothing is lost, and the CLI's work reaches the open
screens (r reloads; a PRAGMA data_version poll reloads by itself), keeping the reader's place."""

from __future__ import annotations

import sqlite3

from textual.widgets import DataTable, OptionList, Tree
from tui_helpers import add_parsed, cli, fresh_codings, open_doc, set_cursor, settle, transcript

from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.codebook import CodebookScreen
from tui.screens.dialogs import CodePicker
from tui.screens.home import HomeScreen
from tui.screens.memos import MemosScreen

SIZE = (120, 40)


async def code_selection(pilot, code: str) -> None:
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CodePicker)
    pilot.app.screen.query_one("Input").value = code
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def test_tui_and_cli_writing_one_study_lose_nothing(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")  # the load ran in a worker: a second connection
        view = screen.view
        start = screen.text.index("cliff edge")
        set_cursor(view, start)
        await pilot.press(*["shift+right"] * len("cliff edge"))
        await code_selection(pilot, "Programme ending/Cliff edge")
        # the CLI writes while the app is open (its own process, its own connection)
        cli("code", study_path, "P1_interview", "Self-management/Pacing", "--coder", "Ben",
            "--text", "Learning to pace myself")
        cli("codes", "add", study_path, "From the CLI")
        await pilot.press("2")  # any key: the app is alive
        start2 = screen.text.index("lifeline")
        set_cursor(view, start2)
        await pilot.press(*["shift+right"] * len("lifeline"))
        await code_selection(pilot, "Self-management/Pacing")
        assert app.check_external_changes() in (True, False)  # the poll itself never fails
    got = sorted((c.code, c.coder, c.text) for c in fresh_codings(study_path))
    assert got == [("Programme ending/Cliff edge", "Amira", "cliff edge"),
                   ("Self-management/Pacing", "Amira", "lifeline"),
                   ("Self-management/Pacing", "Ben", "Learning to pace myself")]
    with Study.open(study_path) as s:
        assert s.integrity_check() == "ok"
        assert s.codes.find("From the CLI") is not None
    with sqlite3.connect(study_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_cli_codings_reach_the_coding_screen_keeping_the_place(study_path):
    with Study.open(study_path) as s:
        text = s.documents.text(s.documents.get("P1_interview").id)
    app = QualcodeApp(study_path, coder="Amira")
    app.POLL_SECONDS = 0  # the test polls by hand
    async with app.run_test(size=(60, 12)) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        s0 = text.index("Pacing. Learning")
        set_cursor(view, s0)
        await pilot.press(*["shift+right"] * 6)
        view.scroll_to(y=3, animate=False)
        await pilot.pause()
        selection, scroll = view.selection, view.scroll_offset
        assert screen.view.index.visible() == []
        cli("code", study_path, "P1_interview", "Self-management/Pacing", "--coder", "Amira",
            "--text", "pace myself")
        await pilot.press("r")  # reload by hand
        await settle(pilot)
        [span] = view.index.visible()
        assert text[span.start:span.end] == "pace myself"
        assert view.selection == selection and view.scroll_offset == scroll
        # the poll finds the next CLI change by itself
        cli("code", study_path, "P1_interview", "Programme ending/Cliff edge", "--coder", "Amira",
            "--text", "cliff edge")
        assert app.check_external_changes() is True
        await settle(pilot)
        assert sorted(text[s.start:s.end] for s in view.index.visible()) == ["cliff edge", "pace myself"]
        assert view.selection == selection
        assert app.check_external_changes() is False  # nothing new: nothing reloads
        # the CLI undoes: the coding disappears from the screen too
        cli("undo", study_path, "--coder", "Amira")
        assert app.check_external_changes() is True
        await settle(pilot)
        assert [text[s.start:s.end] for s in view.index.visible()] == ["pace myself"]


async def test_a_rewritten_text_is_loaded_again_with_the_selection_kept(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    app.POLL_SECONDS = 0
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        set_cursor(screen.view, 10)
        await pilot.press("shift+right", "shift+right")
        with Study.open(study_path) as s:  # as `qualcode speakers map` would: the record changes
            s.participants.add("P9", group="patient")
            s.speakers.map("Sarah", "P9")
        assert app.check_external_changes()
        await settle(pilot)
        assert screen.turns[1].participant == "P9"  # the turns changed: the text was loaded again
        assert "P9" in screen.document.participants
        assert screen.view.selection_span == (10, 12)


async def test_home_codebook_and_memos_reload_keeping_the_highlighted_row(study_path):
    with Study.open(study_path) as s:
        add_parsed(s, transcript([("Interviewer", "And you?", None), ("Sarah", "Much the same.", None)]),
                   "P2_interview")
        for k in range(3):
            s.memos.add(f"memo {k}", "Amira")
    app = QualcodeApp(study_path, coder="Amira")
    app.POLL_SECONDS = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        table = home.query_one(DataTable)
        table.move_cursor(row=1)
        before = table.get_row_at(1)[0]
        await pilot.press("r")
        await settle(pilot)
        assert table.cursor_row == 1 and table.get_row_at(table.cursor_row)[0] == before
        cli("code", study_path, "P1_interview", "Self-management/Pacing", "--coder", "Amira",
            "--text", "pace myself")
        assert app.check_external_changes()
        await settle(pilot)
        assert table.get_row_at(table.cursor_row)[0] == before
        assert "2 codings" not in str(home.query_one("#home-title").render())
        assert "1 codings" in str(home.query_one("#home-title").render())
        # codebook: the highlighted code stays, its new extract appears
        await pilot.press("3")
        await settle(pilot)
        book = app.screen
        assert isinstance(book, CodebookScreen)
        tree = book.query_one(Tree)
        node = next(n for n in tree._tree_nodes.values() if n.data == "Self-management/Pacing")
        tree.move_cursor(node)
        await pilot.pause()
        assert book.query_one("#extracts", OptionList).option_count == 1
        cli("code", study_path, "P1_interview", "Self-management/Pacing", "--coder", "Amira",
            "--text", "Pacing.")
        await pilot.press("r")
        await settle(pilot)
        assert book.current().path == "Self-management/Pacing"
        assert book.query_one("#extracts", OptionList).option_count == 2
        # memos: the highlighted memo stays highlighted when the CLI adds one
        await pilot.press("4")
        await settle(pilot)
        memos = app.screen
        assert isinstance(memos, MemosScreen)
        memo_table = memos.query_one("#memo-table", DataTable)
        memo_table.move_cursor(row=2)
        chosen = memos._current_memo().id
        cli("memo", "add", study_path, "from the CLI", "--coder", "Amira")
        assert app.check_external_changes()
        await settle(pilot)
        assert len(memos.memos) == 4 and memos._current_memo().id == chosen


def test_reload_is_one_key_everywhere_in_help_and_palette():
    from tui.app import QualcodeApp

    bindings = QualcodeApp.all_bindings(QualcodeApp)
    for scope in ("home", "coding", "codebook", "memos"):
        b = bindings[f"{scope}.reload"]
        assert b.key == "r" and b.action == "reload"
