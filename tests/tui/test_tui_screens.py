"""Home, coder choice, codebook, memos & journal, search, help, command palette, key remapping."""

from __future__ import annotations

import json
from datetime import date

from textual.widgets import DataTable, OptionList, Tree
from tui_helpers import fill, fresh_codings, open_doc, set_cursor, settle

from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.codebook import CodebookScreen
from tui.screens.coder import CoderScreen
from tui.screens.coding import CodingScreen
from tui.screens.dialogs import (
    ChoiceScreen,
    CodePicker,
    ConfirmScreen,
    DefinitionScreen,
    PromptScreen,
)
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.memos import MemosScreen
from tui.screens.search import SearchScreen

SIZE = (110, 34)


async def test_home_shows_names_as_written_in_columns_that_fit(study_path, tmp_path):
    """Cells are plain text, never Rich markup: a file called ``Focus group [pilot]`` keeps its
    brackets, and the fixed-width columns (see tui/widgets/cells.py) fit the longest value."""
    from importers.batch import import_file

    source = tmp_path / "Focus group [pilot] with a long name.txt"
    source.write_text("Interviewer: How is it?\n\nP9: [laughs] Better, [b]honestly[/b].\n", encoding="utf-8")
    with Study.open(study_path) as s:
        import_file(s, source)
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=(160, 34)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "Focus group [pilot] with a long name" in names
        first = table.ordered_columns[0]
        assert first.get_render_width(table) >= len("Focus group [pilot] with a long name")
        rendered = "\n".join(strip.text for strip in table.render_lines(table.region.reset_offset))
        assert "Focus group [pilot] with a long name" in rendered


async def test_coder_is_asked_for_then_remembered_per_study(study_path, config_dir):
    app = QualcodeApp(study_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CoderScreen)
        await pilot.press("down", "enter")  # Amira, Ben -> Ben
        await settle(pilot)
        assert app.session.coder == "Ben"
        assert isinstance(app.screen, HomeScreen)
    state = json.loads((config_dir / "state.json").read_text())
    assert state["studies"][str(study_path.resolve())]["coder"] == "Ben"
    again = QualcodeApp(study_path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.session.coder == "Ben"
        assert not isinstance(again.screen, CoderScreen)


async def test_a_new_coder_name_is_added_to_the_study(study_path):
    app = QualcodeApp(study_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#coder-new").focus()
        await pilot.press(*"Cy", "enter")
        await settle(pilot)
        assert app.session.coder == "Cy"
    with Study.open(study_path) as s:
        assert [c.name for c in s.coders.list()] == ["Amira", "Ben", "Cy"]


async def test_home_lists_documents_and_opens_with_enter_and_click(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        table = home.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "Document", "Participants", "Group", "Format", "Words", "Amira (you)", "Ben"]
        assert table.get_row_at(0) == ["P1_interview", "P1", "patient", "text", "62", "50%", "0%"]
        assert "Phase 1: Familiarising with the data" in str(home.query_one("#home-title").render())
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CodingScreen) and app.screen.document.name == "P1_interview"
        await pilot.press("1")
        await settle(pilot)
        assert app.screen is home
        await pilot.click(DataTable, offset=(3, 1))  # the first data row
        await settle(pilot)
        assert isinstance(app.screen, CodingScreen)


async def test_phase_is_set_from_home(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
    with Study.open(study_path) as s:
        assert s.settings()["phase"] == 3


async def go(pilot, mode: str):
    await pilot.press({"home": "1", "coding": "2", "codebook": "3", "memos": "4", "search": "5"}[mode])
    await settle(pilot)
    return pilot.app.screen


def highlight(screen: CodebookScreen, path: str) -> None:
    tree = screen.query_one(Tree)

    def walk(node):
        for child in node.children:
            if child.data == path:
                return child
            found = walk(child)
            if found:
                return found

    tree.move_cursor(walk(tree.root))


async def test_codebook_add_rename_move_merge(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "codebook")
        assert isinstance(screen, CodebookScreen)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await fill(pilot, "Loss")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.current().path == "Loss"
        await pilot.press("n")  # rename (r reloads)
        await pilot.pause()
        app.screen.query_one("Input").value = "Grief"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.current().path == "Grief"
        await pilot.press("v")  # move under Programme ending
        await pilot.pause()
        assert isinstance(app.screen, CodePicker)
        await fill(pilot, "ending")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.current().path == "Programme ending/Grief"
        highlight(screen, "Self-management/Pacing")
        await pilot.press("g")  # merge Pacing into Self-management
        await pilot.pause()
        await fill(pilot, "self-man")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.current().path == "Self-management"
    with Study.open(study_path) as s:
        assert [c.path for c in s.codes.list()] == [
            "Programme ending", "Programme ending/Cliff edge", "Programme ending/Grief", "Self-management"]
        assert [c.code for c in s.codings.list()] == ["Self-management"]


async def test_codebook_recolour_define_delete_and_undo(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "codebook")
        highlight(screen, "Programme ending/Cliff edge")
        await pilot.press("k")
        await pilot.pause()
        await pilot.press("down", "enter")  # the palette's second colour
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, DefinitionScreen)
        app.screen.query_one("#field-include_when").value = "support ends suddenly"
        await pilot.press("ctrl+s")
        await settle(pilot)
        with Study.open(study_path) as s:
            code = s.codes.get("Programme ending/Cliff edge")
            assert (code.colour, code.include_when) == ("#F28E2B", "support ends suddenly")
        await pilot.press("ctrl+z")  # undo the definition
        await settle(pilot)
        with Study.open(study_path) as s:
            assert s.codes.get("Programme ending/Cliff edge").include_when == ""
        highlight(screen, "Self-management/Pacing")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        # a failing operation is shown, not raised: renaming onto an existing sibling
        highlight(screen, "Self-management")
        await pilot.press("n")  # rename (r reloads)
        await pilot.pause()
        app.screen.query_one("Input").value = "Programme ending"
        await pilot.press("enter")
        await settle(pilot)
        assert "already exists" in app.errors[-1]
    with Study.open(study_path) as s:
        assert s.codes.find("Self-management/Pacing") is None
        assert s.codes.find("Self-management") is not None


async def test_codebook_counts_and_extracts_respect_blind_mode(study_path):
    with Study.open(study_path) as s:
        mine = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "codebook")
        highlight(screen, "Self-management/Pacing")
        await pilot.pause()
        label = str(screen.query_one(Tree).cursor_node.label)
        assert "Amira: 1c/1d/1p" in label and "Ben" not in label
        extracts = screen.query_one("#extracts", OptionList)
        assert extracts.option_count == 1
        assert "P1" in str(extracts.get_option_at_index(0).prompt)
        extracts.focus()
        extracts.highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        coding = app.screen
        assert isinstance(coding, CodingScreen)
        assert coding.view.selection_span == (mine.start, mine.end)
        await pilot.press("o")  # show others: the codebook shows Ben's work too
        await settle(pilot)
        screen = await go(pilot, "codebook")
        screen.refresh_data()
        await settle(pilot)
        highlight(screen, "Self-management/Pacing")
        await pilot.pause()
        assert "Ben: 1c/1d/1p" in str(screen.query_one(Tree).cursor_node.label)
        assert screen.query_one("#extracts", OptionList).option_count == 2


async def test_memos_and_journal(study_path):
    with Study.open(study_path) as s:
        s.memos.add("Ben's private thought", "Ben")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "memos")
        assert isinstance(screen, MemosScreen)
        assert screen.memos == []  # blind: Ben's memo is not shown
        await pilot.press("n")
        await pilot.pause()
        await fill(pilot, "Idea", "#body")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [m.body for m in screen.memos] == ["Idea"]
        await pilot.press("j")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await fill(pilot, "Felt", "#body")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [j.body for j in screen.entries] == ["Felt"]
    with Study.open(study_path) as s:
        assert [(m.target_type, m.coder, m.body) for m in s.memos.list(coder="Amira")] == [("study", "Amira", "Idea")]
        (entry,) = s.journal.list(coder="Amira")
        assert (entry.body, entry.entry_date, entry.phase) == ("Felt", date.today().isoformat(), 1)


async def test_search_shows_hits_in_context_and_jumps(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "search")
        assert isinstance(screen, SearchScreen)
        await pilot.press(*"cliff", "enter")
        await settle(pilot)
        assert len(screen.hits) == 1
        hit = screen.hits[0]
        assert "falling off a cliff edge." in str(screen.query_one("#hits", OptionList).get_option_at_index(0).prompt)
        await pilot.press("enter")
        await settle(pilot)
        coding = app.screen
        assert isinstance(coding, CodingScreen)
        assert coding.view.selection_span == (hit.start, hit.end)
        assert coding.text[hit.start:hit.end] == "cliff"
        # a bad query is reported, not raised
        screen = await go(pilot, "search")
        screen.query_one("#search-input").value = '"'
        screen.search('"')
        await settle(pilot)
        assert "no words" in str(screen.query_one("#search-summary").render())


async def test_remapped_keys_from_keys_toml(study_path, config_dir):
    (config_dir / "keys.toml").write_text(
        '[keys]\napply_code = "k"\n"app.undo" = "ctrl+u"\nno_such_action = "z"\n', encoding="utf-8")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        start = screen.text.index("Pacing")
        screen.view.select_span(start, start + 6)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, CodePicker)  # c is no longer apply-code
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, CodePicker)
        await pilot.press(*"pac", "enter")
        await settle(pilot)
        assert len(fresh_codings(study_path)) == 1
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert fresh_codings(study_path) == []
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.keymap["coding.apply_code"] == "k"


async def test_help_and_command_palette_list_every_action(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        titles = {c.title for c in app.get_system_commands(screen)}
        for binding in CodingScreen.BINDINGS + [b for b in CodingScreen.__mro__[1].BINDINGS]:
            assert binding.description in titles
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        # run an action from the palette
        set_cursor(screen.view, 0)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Show/hide other")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert app.session.show_others is True


def test_help_has_a_section_for_every_screens_keys():
    from tui.keymap import bindings_of
    from tui.screens.help import SCOPES

    scopes = {ident.split(".", 1)[0] for ident in bindings_of(QualcodeApp.SCREENS_WITH_KEYS)}
    assert {"reconcile", "themes", "anonymise", "export"} <= scopes
    assert scopes <= set(SCOPES)


async def test_opening_shows_a_loading_indicator_until_the_worker_is_done(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        coding = await go(pilot, "coding")
        coding.open_document("P1_interview")
        assert coding.view.loading is True
        await settle(pilot)
        assert coding.view.loading is False and coding.document.name == "P1_interview"


async def test_codebook_changes_reach_the_open_document(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        coding = await open_doc(pilot, "P1_interview")
        assert coding.view.colours[c.code_id] != "#123456"
        book = await go(pilot, "codebook")
        highlight(book, "Self-management/Pacing")
        await pilot.press("n")  # rename (r reloads)
        await pilot.pause()
        app.screen.query_one("Input").value = "Pacing oneself"
        await pilot.press("enter")
        await settle(pilot)
        app.attempt(app.session.perform, "recolour", app.session.study.codes.describe,
                    "Self-management/Pacing oneself", colour="#123456")
        await go(pilot, "coding")
        assert coding.view.colours[c.code_id] == "#123456"
        assert coding.view.index.spans[c.id].code == "Self-management/Pacing oneself"


async def test_gutter_shows_times_and_participant_labels(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        coding = await open_doc(pilot, "P1_interview")
        view = coding.view
        sarah_row = view.omap.to_location(coding.text.index("Honestly"))[0]
        strip = view.render_line(sarah_row - view.scroll_offset.y)
        assert strip.text.startswith("P1")  # no times in this interview; Sarah is mapped to P1


async def test_switching_coder_changes_what_the_coding_screen_shows(study_path):
    with Study.open(study_path) as s:
        ben = s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        coding = await open_doc(pilot, "P1_interview")
        assert coding.view.index.visible() == []
        await go(pilot, "home")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        await pilot.press("down", "enter")
        await settle(pilot)
        await go(pilot, "coding")
        assert app.session.coder == "Ben"
        assert [s.id for s in coding.view.index.visible()] == [ben.id]


# -- the mouse on the codebook, memos and search screens ------------------------------------------


async def test_codebook_with_the_mouse(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "codebook")
        tree = screen.query_one(Tree)
        line = next(n for n in tree._tree_nodes.values() if n.data == "Self-management/Pacing").line
        await pilot.click(Tree, offset=(6, line))  # a click on a code highlights it
        await pilot.pause()
        assert screen.current().path == "Self-management/Pacing"
        assert "Pacing" in str(screen.query_one("#code-def").render())
        extracts = screen.query_one("#extracts", OptionList)
        assert extracts.option_count == 1
        await pilot.click("#extracts", offset=(4, 0))  # a click on an extract opens it
        await settle(pilot)
        assert isinstance(app.screen, CodingScreen)
        assert app.screen.view.selection_span == (c.start, c.end)


async def test_memos_with_the_mouse(study_path):
    with Study.open(study_path) as s:
        s.memos.add("On the study", "Amira")
        text = s.documents.text(s.documents.get("P1_interview").id)
        start = text.index("cliff edge")
        s.memos.add("Abrupt end", "Amira", document="P1_interview", span=(start, start + 10))
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "memos")
        table = screen.query_one("#memo-table", DataTable)
        row = next(k for k, m in enumerate(screen.memos) if m.body == "Abrupt end")
        await pilot.click("#memo-table", offset=(3, row + 1))  # the header is row 0
        await pilot.pause()
        assert table.cursor_row == row and "Abrupt end" in str(screen.query_one("#memo-body").render())
        await pilot.click("#memo-table", offset=(3, row + 1))  # a click on the highlighted row opens it
        await settle(pilot)
        assert isinstance(app.screen, CodingScreen)
        assert app.screen.view.selection_span == (start, start + 10)
        # the tabs answer the mouse too
        screen = await go(pilot, "memos")
        await pilot.click("Tab#--content-tab-journal")
        await pilot.pause()
        assert screen._tab() == "journal"


async def test_search_with_the_mouse(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await go(pilot, "search")
        await pilot.click("#search-input")
        await pilot.press(*"pace", "enter")
        await settle(pilot)
        assert len(screen.hits) == 2
        second = screen.hits[1]
        await pilot.click("#hits", offset=(4, 1))  # each hit is one line
        await settle(pilot)
        assert isinstance(app.screen, CodingScreen)
        assert app.screen.view.selection_span == (second.start, second.end)
