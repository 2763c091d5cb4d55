"""The themes screen on the demo study: the map as a tree, building themes with keys, key quotes,
participant coverage, undo — every write checked in a fresh connection to the study file."""

from __future__ import annotations

import shutil

import pytest
from textual.widgets import OptionList, Static, Tree
from tui_helpers import fill, settle

from qualcode.evidence import evidence
from qualcode.study import Study
from qualcode.themes import ungathered_codes
from tui.app import QualcodeApp
from tui.screens.dialogs import ChoiceScreen, CodePicker, PromptScreen, TextEditScreen
from tui.screens.themes import Pick, ThemeDefinitionScreen, ThemesScreen

SIZE = (140, 44)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    from qualcode.cli import main

    folder = tmp_path_factory.mktemp("themes-demo")
    assert main(["demo", "--headless", "--dir", str(folder)]) == 0
    return folder / "demo.qc"


@pytest.fixture
def demo(demo_file, tmp_path):
    """A private copy of the demo study (7 themes, 14 key quotes) for one test."""
    path = tmp_path / "demo.qc"
    shutil.copy(demo_file, path)
    return path


def themes_of(path):
    """path -> (status, codes, concept, definition, parent) as a new process sees them."""
    with Study.open(path) as s:
        return {t.path: (t.status, t.codes, t.concept, t.definition, t.parent) for t in s.themes.list()}


def key_quotes(path, theme):
    with Study.open(path) as s:
        return {q.coding_id for q in s.themes.key_quotes(theme)}


async def open_themes(pilot) -> ThemesScreen:
    await settle(pilot)
    await pilot.press("7")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ThemesScreen)
    return screen


def nodes(screen: ThemesScreen):
    out = []

    def walk(node):
        for child in node.children:
            out.append(child)
            walk(child)

    walk(screen.query_one(Tree).root)
    return out


async def highlight(pilot, screen: ThemesScreen, pick: Pick) -> None:
    node = next(n for n in nodes(screen) if n.data == pick)
    screen.query_one(Tree).move_cursor(node)
    await settle(pilot)
    assert screen.current_pick() == pick
    assert screen.detail is None or screen.detail.pick == pick or pick.kind == "free-root"


def theme_id(path, name) -> int:
    with Study.open(path) as s:
        return s.themes.get(name).id


async def choose(pilot, value) -> None:
    """Pick the choice whose value is ``value`` in the open ChoiceScreen, with the keyboard."""
    dialog = pilot.app.screen
    assert isinstance(dialog, ChoiceScreen), dialog
    index = [v for _label, v in dialog.choices].index(value)
    await pilot.press(*["down"] * index, "enter")
    await settle(pilot)


def info_text(screen: ThemesScreen) -> str:
    return str(screen.query_one("#theme-info", Static).render())


# -- the map --------------------------------------------------------------------------------------

async def test_the_tree_shows_every_theme_its_codes_and_the_codes_in_no_theme(demo):
    with Study.open(demo) as s:
        themes = s.themes.list()
        every_code = [c.path for c in s.codes.list()]
        amira = s.codings.list(coder="Amira")
    gathered = {code for t in themes for code in t.codes}
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        tree_nodes = nodes(screen)
        shown_themes = [n.data.theme for n in tree_nodes if n.data.kind == "theme"]
        assert shown_themes == [t.id for t in themes] and len(themes) == 7
        for t in themes:
            node = next(n for n in tree_nodes if n.data == Pick("theme", t.id))
            assert [c.data.code for c in node.children if c.data.kind == "code"] == list(t.codes)
            assert [c.data.theme for c in node.children if c.data.kind == "theme"] == [
                u.id for u in themes if u.parent_id == t.id]
            assert t.status in str(node.label)
        free = [n.data.code for n in tree_nodes if n.data.kind == "free"]
        assert free == [c for c in every_code if c not in gathered] and len(free) == 10
        # the counts are Amira's (blind mode), e.g. a code's codings
        pacing = next(n for n in tree_nodes if n.data.code == "Services/Waiting lists")
        assert f"({sum(1 for c in amira if c.code == 'Services/Waiting lists')})" in str(pacing.label)
        title = str(screen.query_one("#themes-title", Static).render())
        assert "Phase 4 of 6: Developing and reviewing themes" in title
        assert f"{len(gathered)} of {len(every_code)} codes gathered" in title
        assert "Phase 4" in str(screen.query_one("#status", Static).render())


def test_ungathered_codes_count_codes_of_discarded_themes_as_not_gathered(demo):
    with Study.open(demo) as s:
        before = [r["code"] for r in ungathered_codes(s)]
        s.themes.set_status("Alone with it", "discarded")
        after = [r["code"] for r in ungathered_codes(s)]
        assert set(after) - set(before) == {"Relationships/Loneliness and isolation",
                                            "Relationships/Carers and family"}
        assert [r["code"] for r in ungathered_codes(s, include_discarded=True)] == before
        row = next(r for r in ungathered_codes(s, coder="Ben") if r["code"] == "Peer support")
        assert row["codings"] == len(s.codings.list(code="Peer support", coder="Ben"))


# -- building themes --------------------------------------------------------------------------------

async def test_assigning_a_code_changes_exactly_that_theme_and_undo_reverts(demo):
    before = themes_of(demo)
    believed = theme_id(demo, "Being believed")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await highlight(pilot, screen, Pick("free", None, "Living with pain/Flare-ups"))
        await pilot.press("t")
        await pilot.pause()
        await choose(pilot, "Being believed")
        after = themes_of(demo)
        expected = dict(before)
        status, codes, *rest = before["Being believed"]
        expected["Being believed"] = (status, codes + ("Living with pain/Flare-ups",), *rest)
        assert after == expected
        assert screen.current_pick() == Pick("code", believed, "Living with pain/Flare-ups")
        assert "Living with pain/Flare-ups" not in [n.data.code for n in nodes(screen) if n.data.kind == "free"]
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert themes_of(demo) == before
        assert "Living with pain/Flare-ups" in [n.data.code for n in nodes(screen) if n.data.kind == "free"]
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert themes_of(demo) == expected


async def test_a_theme_gathers_a_code_picked_by_name(demo):
    alone = theme_id(demo, "Alone with it")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await highlight(pilot, screen, Pick("theme", alone))
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, CodePicker)
        await fill(pilot, "medication")
        await pilot.press("enter")
        await settle(pilot)
    assert themes_of(demo)["Alone with it"][1] == ("Relationships/Loneliness and isolation",
                                                   "Relationships/Carers and family", "Living with pain/Medication")


async def test_moving_a_code_takes_its_key_quotes_along_in_one_undoable_step(demo):
    before = themes_of(demo)
    alone, connectors = theme_id(demo, "Alone with it"), theme_id(demo, "Connectors and gatekeepers")
    quotes_alone = key_quotes(demo, "Alone with it")
    assert len(quotes_alone) == 2  # both on Carers and family
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await highlight(pilot, screen, Pick("code", alone, "Relationships/Carers and family"))
        await pilot.press("m")
        await pilot.pause()
        await choose(pilot, "Connectors and gatekeepers")
        after = themes_of(demo)
        assert after["Alone with it"][1] == ("Relationships/Loneliness and isolation",)
        assert after["Connectors and gatekeepers"][1] == before["Connectors and gatekeepers"][1] + (
            "Relationships/Carers and family",)
        assert key_quotes(demo, "Alone with it") == set()
        assert quotes_alone <= key_quotes(demo, "Connectors and gatekeepers")
        assert screen.current_pick() == Pick("code", connectors, "Relationships/Carers and family")
        await pilot.press("ctrl+z")
        await settle(pilot)
    assert themes_of(demo) == before
    assert key_quotes(demo, "Alone with it") == quotes_alone


async def test_add_rename_status_define_and_memo(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await fill(pilot, "Pain as a teacher")
        await pilot.press("enter")
        await settle(pilot)
        new = theme_id(demo, "Pain as a teacher")
        assert screen.current_pick() == Pick("theme", new)
        assert themes_of(demo)["Pain as a teacher"] == ("candidate", (), "", "", None)
        await pilot.press("r")
        await pilot.pause()
        await fill(pilot, "Learning from pain")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        await choose(pilot, "active")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ThemeDefinitionScreen)
        app.screen.query_one("#field-concept").value = "Pain that teaches limits"
        app.screen.query_one("#field-definition").value = "What people learned from their pain."
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("A")
        await pilot.pause()
        await fill(pilot, "Limits")
        await pilot.press("enter")
        await settle(pilot)
        await highlight(pilot, screen, Pick("theme", new))
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TextEditScreen)
        await fill(pilot, "Came out of P2's account.", "TextArea")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Pain that teaches limits" in info_text(screen)
    themes = themes_of(demo)
    assert "Pain as a teacher" not in themes
    assert themes["Learning from pain"] == ("active", (), "Pain that teaches limits",
                                            "What people learned from their pain.", None)
    assert themes["Learning from pain/Limits"][0] == "candidate"
    with Study.open(demo) as s:
        assert [m.body for m in s.themes.memos("Learning from pain")] == ["Came out of P2's account."]


async def test_bad_actions_give_a_notification_and_change_nothing(demo):
    before = themes_of(demo)
    believed = theme_id(demo, "Being believed")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")  # an empty name
        await settle(pilot)
        assert app.errors[-1] == "a theme needs a name"
        await highlight(pilot, screen, Pick("theme", believed))
        await pilot.press("r")
        await pilot.pause()
        await fill(pilot, "Being / believed")
        await pilot.press("enter")
        await settle(pilot)
        assert "cannot contain '/'" in app.errors[-1]
        await pilot.press("r")
        await pilot.pause()
        await fill(pilot, "From patient to tutor")  # a sibling's name
        await pilot.press("enter")
        await settle(pilot)
        assert "already exists" in app.errors[-1]
        # a key quote for a code that no theme gathers
        await highlight(pilot, screen, Pick("free", None, "Peer support"))
        screen.query_one("#theme-extracts", OptionList).focus()
        await pilot.press("k")
        await settle(pilot)
        assert "no theme gathers code 'Peer support'" in app.errors[-1]
        # unassign on a theme (not a code) only warns
        await highlight(pilot, screen, Pick("theme", believed))
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ThemesScreen)
    assert themes_of(demo) == before


async def test_split_marked_codes_off_then_merge_them_back(demo):
    before = themes_of(demo)
    tutor = theme_id(demo, "From patient to tutor")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        for code in ("Identity/Hope and rebuilding", "Identity/Loss of former self"):
            await highlight(pilot, screen, Pick("code", tutor, code))
            await pilot.press("x")
        await pilot.pause()
        assert screen.marked == {"Identity/Hope and rebuilding", "Identity/Loss of former self"}
        assert str(next(n for n in nodes(screen) if n.data.code == "Identity/Loss of former self").label).startswith("✓")
        await highlight(pilot, screen, Pick("theme", tutor))
        await pilot.press("p")
        await pilot.pause()
        await fill(pilot, "Becoming someone again")
        await pilot.press("enter")
        await pilot.pause()
        await choose(pilot, True)  # as a subtheme
        themes = themes_of(demo)
        assert themes["From patient to tutor"][1] == ("Peer support/Giving back",
                                                      "Peer support/Volunteer role and boundaries")
        assert themes["From patient to tutor/Becoming someone again"][:2] == (
            "candidate", ("Identity/Hope and rebuilding", "Identity/Loss of former self"))
        assert screen.marked == set()
        await pilot.press("g")
        await pilot.pause()
        await choose(pilot, "From patient to tutor")
        themes = themes_of(demo)
        assert "From patient to tutor/Becoming someone again" not in themes
        assert set(themes["From patient to tutor"][1]) == set(before["From patient to tutor"][1])


# -- evidence ------------------------------------------------------------------------------------------

async def test_coverage_is_the_evidence_figure_for_the_coders_in_view(demo):
    theme = "Falling off the cliff edge"
    with Study.open(demo) as s:
        own = evidence(s, theme=theme, coder="Amira")
        every = evidence(s, theme=theme)
        codes = {cid for t in s.themes.descendants(theme) for cid in t.code_ids}
        people = {c.participant for c in s.codings.list(coder="Amira") if c.code_id in codes and c.participant}
    assert {label for g in own.groups for label in g.labels} == people
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await highlight(pilot, screen, Pick("theme", theme_id(demo, theme)))
        text = info_text(screen)
        for g in own.groups:
            assert g.text in text
        assert f"{own.passages} passages ({len(own.extracts)} codings" in text
        assert screen.query_one("#theme-extracts", OptionList).option_count == len(own.extracts)
        await pilot.press("o")  # every coder's codings
        await settle(pilot)
        text = info_text(screen)
        for g in every.groups:
            assert g.text in text
        assert f"{every.passages} passages ({len(every.extracts)} codings" in text
        assert every.passages < len(every.extracts)     # two coders' overlapping codings: one passage
        assert screen.query_one("#theme-extracts", OptionList).option_count == len(every.extracts)


async def test_marking_and_unmarking_a_key_quote(demo):
    theme = "Connectors and gatekeepers"
    tid = theme_id(demo, theme)
    flagged = key_quotes(demo, theme)
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        await highlight(pilot, screen, Pick("theme", tid))
        await pilot.press("tab")
        extracts = screen.query_one("#theme-extracts", OptionList)
        assert extracts.has_focus
        index = next(i for i, e in enumerate(screen._extracts) if e.coding_id not in flagged)
        coding = screen._extracts[index].coding_id
        extracts.highlighted = index
        await pilot.press("k")
        await settle(pilot)
        assert key_quotes(demo, theme) == flagged | {coding}
        assert str(extracts.get_option_at_index(index).prompt).startswith("★")
        assert screen._highlighted_coding() == coding
        await pilot.press("k")
        await settle(pilot)
        assert key_quotes(demo, theme) == flagged
        assert not str(extracts.get_option_at_index(index).prompt).startswith("★")
        await pilot.press("k", "ctrl+z")  # flag, then undo it
        await settle(pilot)
        assert key_quotes(demo, theme) == flagged


async def test_keys_are_in_help_and_palette_and_loading_shows(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        titles = {c.title for c in app.get_system_commands(screen)}
        for binding in ThemesScreen.BINDINGS:
            assert binding.id.startswith("themes.") and binding.description in titles
        assert set(b.id for b in ThemesScreen.BINDINGS) <= set(app.all_bindings())
        screen.refresh_data()
        assert screen.query_one(Tree).loading is True
        await settle(pilot)
        assert screen.query_one(Tree).loading is False


async def test_a_theme_added_from_the_cli_appears_keeping_the_place_and_open_themes(demo):
    """The data_version poll reloads the map by itself: the highlighted code stays highlighted
    and a theme the reader closed stays closed."""
    from tui_helpers import cli

    app = QualcodeApp(demo, coder="Amira")
    app.POLL_SECONDS = 0
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_themes(pilot)
        themes = [n for n in screen.query_one(Tree).root.children if n.data.kind == "theme" and n.children]
        closed, other = themes[0], themes[1]
        closed.collapse()
        await settle(pilot)  # the tree renumbers its lines when it next renders
        code = next(c for c in other.children if c.data.kind == "code")
        await highlight(pilot, screen, code.data)
        cli("themes", "add", demo, "Made in the CLI", "--coder", "Amira")
        assert app.check_external_changes()
        await settle(pilot)
        assert any("Made in the CLI" in str(n.label) for n in nodes(screen))
        assert screen.current_pick() == code.data
        reloaded = {n.data: n for n in nodes(screen)}
        assert not reloaded[closed.data].is_expanded and reloaded[other.data].is_expanded
