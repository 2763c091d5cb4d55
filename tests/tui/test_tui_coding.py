"""The coding screen, end to end: select (keys, mouse), code, and find the coding in the study
with exactly the right code-point offsets — with emoji, CJK and long lines too."""

from __future__ import annotations

import pytest
from tui_helpers import (
    add_parsed,
    fill,
    fresh_codings,
    open_doc,
    set_cursor,
    settle,
    transcript,
)

from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.dialogs import ChoiceScreen, CodePicker, TextEditScreen

SIZE = (120, 40)


async def code_with_picker(pilot, query: str, type_it: bool = False) -> None:
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CodePicker)
    if type_it:
        await pilot.press(*query)
    else:
        await fill(pilot, query)
    await pilot.press("enter")
    await settle(pilot)


async def test_keyboard_selection_then_picker_stores_exact_offsets(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        start = screen.text.index("cliff edge")
        set_cursor(view, start)
        await pilot.press(*["shift+right"] * len("cliff edge"))
        assert view.selection_span == (start, start + 10)
        await code_with_picker(pilot, "cli", type_it=True)
        assert app.screen is screen
        # painted at once: the row of the coding has a segment of the new coding
        row, col = view.omap.to_location(start)
        assert any(c0 <= col < c1 for c0, c1, _ids in view.index.segments(row))
    codings = fresh_codings(study_path)
    assert [(c.code, c.coder, c.start, c.end, c.text) for c in codings] == [
        ("Programme ending/Cliff edge", "Amira", start, start + 10, "cliff edge")]


async def test_emoji_and_cjk_offsets_are_code_points(tmp_path):
    path = tmp_path / "u.qc"
    parsed = transcript([
        ("Interviewer", "今日はどうでしたか？", 0),
        ("P1", "I still pace myself every day 😀 even on bad days 👍🏽 really.", 5_000),
        ("P2", "我们的小组是我的生命线，然后什么都没有了。", 65_000),
    ])
    with Study.create(path, coder="Amira") as s:
        add_parsed(s, parsed, "unicode")
        s.codes.add("Pacing")
        s.codes.add("Loss")
    text = parsed.text
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "unicode")
        view = screen.view
        # across an emoji: "y 😀 e" is 5 code points
        start = text.index("y 😀")
        set_cursor(view, start)
        await pilot.press(*["shift+right"] * 5)
        assert text[slice(*view.selection_span)] == "y 😀 e"
        assert view.selected_text == "y 😀 e"
        await code_with_picker(pilot, "pac")
        # an emoji with a skin-tone modifier is two code points but one character: one press
        start2 = text.index("👍🏽")
        set_cursor(view, start2 - 2)
        await pilot.press(*["shift+right"] * 3)
        assert text[slice(*view.selection_span)] == "s 👍🏽"
        await code_with_picker(pilot, "pac")
        # CJK: two characters, two presses
        start3 = text.index("小组")
        set_cursor(view, start3)
        await pilot.press("shift+right", "shift+right")
        await code_with_picker(pilot, "los")
    got = sorted((c.start, c.end, c.text) for c in fresh_codings(path))
    assert got == sorted([(start, start + 5, "y 😀 e"), (start2 - 2, start2 + 2, "s 👍🏽"),
                          (start3, start3 + 2, "小组")])


async def test_mouse_drag_selects_exact_span_with_wide_characters(tmp_path):
    path = tmp_path / "m.qc"
    parsed = transcript([("P2", "我们的小组 is my lifeline", None), ("P1", "plain words here", None)])
    with Study.create(path, coder="Amira") as s:
        add_parsed(s, parsed, "mouse")
        s.codes.add("Lifeline")
    text = parsed.text
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "mouse")
        view = screen.view
        gutter = view.gutter_width
        # "P2: " is 4 cells, each CJK character 2 cells: "小" starts at cell 4 + 3*2 = 10
        await pilot.mouse_down(view, offset=(gutter + 10, 0))
        await pilot.hover(view, offset=(gutter + 14, 0))
        await pilot.mouse_up(view, offset=(gutter + 14, 0))
        assert text[slice(*view.selection_span)] == "小组"
        await code_with_picker(pilot, "life")
        # a double click selects the word under the mouse ("plain" on row 2)
        await pilot.double_click(view, offset=(gutter + 6, 2))
        assert text[slice(*view.selection_span)] == "plain"
    (coding,) = fresh_codings(path)
    assert (coding.start, coding.end, coding.text) == (text.index("小组"), text.index("小组") + 2, "小组")


async def test_long_line_wrapped_selection_matches_stored_text(tmp_path):
    path = tmp_path / "long.qc"
    words = " ".join(f"w{i}" for i in range(2500))  # one ~14,000-character line, many wrapped rows
    parsed = transcript([("P1", words, 0), ("Interviewer", "Thanks 😀.", 99_000)])
    with Study.create(path, coder="Amira") as s:
        add_parsed(s, parsed, "long")
        s.codes.add("Everything")
    text = parsed.text
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_doc(pilot, "long")
        view = screen.view
        start = text.index("w1700 ")
        set_cursor(view, start)
        await pilot.press("shift+down", "shift+down", "shift+down", "ctrl+shift+right", "ctrl+shift+right")
        s, e = view.selection_span
        assert s == start and e > start + 100
        selected = view.selected_text
        assert text[s:e] == selected
        await code_with_picker(pilot, "every")
    (coding,) = fresh_codings(path)
    assert (coding.start, coding.end) == (s, e)
    assert coding.text == selected


async def test_select_word_sentence_turn_keys(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text
        set_cursor(view, text.index("Learning") + 3)
        await pilot.press("w")
        assert text[slice(*view.selection_span)] == "Learning"
        await pilot.press("w")
        assert text[slice(*view.selection_span)] == "Learning to"
        set_cursor(view, text.index("Learning") + 3)
        await pilot.press("s")
        assert text[slice(*view.selection_span)] == "Learning to pace myself, and Linda's Tuesday group."
        await pilot.press("s")
        assert text[slice(*view.selection_span)].endswith("even on bad days.")
        set_cursor(view, text.index("Honestly") + 2)
        await pilot.press("t")
        turn = [t for t in screen.turns if t.start <= text.index("Honestly") < t.end][0]
        assert view.selection_span == (turn.start, turn.end)
        assert text[turn.start:turn.end].startswith("Honestly, it was like")


async def test_in_vivo_and_new_code_from_picker(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text
        s1 = text.index("my lifeline")
        view.select_span(s1, s1 + len("my lifeline,") )
        await pilot.press("v")
        await settle(pilot)
        s2 = text.index("he doesn't get it")
        view.select_span(s2, s2 + len("he doesn't get it"))
        await code_with_picker(pilot, "Unheard")
    with Study.open(study_path) as study:
        assert study.codes.get("my lifeline").path == "my lifeline"
        assert study.codes.get("Unheard")
        got = {(c.code, c.start, c.end) for c in study.codings.list()}
    assert got == {("my lifeline", s1, s1 + len("my lifeline,")),
                   ("Unheard", s2, s2 + len("he doesn't get it"))}


async def test_picker_ranks_recent_codes_first_and_fuzzy(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text
        view.select_span(text.index("Pacing"), text.index("Pacing") + 6)
        await code_with_picker(pilot, "pac")
        view.select_span(text.index("Honestly"), text.index("Honestly") + 8)
        await pilot.press("c")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, CodePicker)
        assert picker.results[0] == ("code", "Self-management/Pacing")  # most recent first
        await pilot.press(*"progr")
        assert picker.results[0] == ("code", "Programme ending")
        await pilot.press("escape")
    assert len(fresh_codings(study_path)) == 1


async def test_remove_adjust_and_navigate_codings(study_path):
    with Study.open(study_path) as s:
        text = s.documents.text(s.documents.get("P1_interview").id)
        a = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
        b = s.codings.add_text("P1_interview", "Programme ending/Cliff edge", "Amira", "falling off a cliff edge")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        set_cursor(view, 0)
        await pilot.press("n")
        assert view.selection_span == (b.start, b.end)
        await pilot.press("n")
        assert view.selection_span == (a.start, a.end)
        await pilot.press("N")
        assert view.selection_span == (b.start, b.end)
        # adjust the cliff-edge coding: extend it by " The"
        await pilot.press(*["shift+right"] * 5)
        await pilot.press("a")
        await settle(pilot)
        # uncode the middle of the pacing coding: it splits in two
        mid = text.index("pace")
        view.select_span(mid, mid + 4)
        await pilot.press("x")
        await settle(pilot)
    got = sorted((c.code, c.start, c.end) for c in fresh_codings(study_path))
    assert got == sorted([
        ("Programme ending/Cliff edge", b.start, b.end + 5),
        ("Self-management/Pacing", a.start, mid),
        ("Self-management/Pacing", mid + 4, a.end),
    ])


async def test_delete_whole_coding_at_cursor(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Learning to pace")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        set_cursor(screen.view, c.start + 3)
        await pilot.press("x")
        await settle(pilot)
    assert [(x.coder, x.text) for x in fresh_codings(study_path)] == [("Ben", "Learning to pace")]


async def test_next_and_previous_uncoded_turn(study_path):
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Honestly")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text
        sarah = [t for t in screen.turns if t.participant == "P1"]
        assert len(sarah) == 2
        set_cursor(view, 0)
        await pilot.press("u")  # the first of Sarah's turns is coded: lands on her second
        assert view.cursor_offset == sarah[1].start
        set_cursor(view, len(text))
        await pilot.press("U")
        assert view.cursor_offset == sarah[1].start


async def test_memo_on_coding_passage_and_document(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text

        async def memo(choice_index: int, body: str) -> None:
            await pilot.press("m")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceScreen)
            await pilot.press(*["down"] * choice_index, "enter")
            await pilot.pause()
            assert isinstance(app.screen, TextEditScreen)
            await fill(pilot, body, "#body")
            await pilot.press("ctrl+s")
            await settle(pilot)

        view.select_span(c.start, c.end)
        await memo(0, "calm")  # 0: the coding, 1: the passage, 2: the document
        s2 = text.index("falling")
        view.select_span(s2, s2 + 7)
        await memo(0, "vivid")  # no coding here: 0 is the passage
        set_cursor(view, 0)
        await memo(0, "short")  # nothing selected, no coding: only the document is offered
    with Study.open(study_path) as study:
        assert study.codings.get(c.id).memo == "calm"
        memos = {(m.target_type, m.start, m.end, m.body, m.coder) for m in study.memos.list()}
    assert memos == {("passage", s2, s2 + 7, "vivid", "Amira"),
                     ("document", None, None, "short", "Amira")}


async def test_nothing_selected_warns_and_writes_nothing(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await open_doc(pilot, "P1_interview")
        await pilot.press("c", "v", "a")
        await pilot.pause()
        assert not isinstance(app.screen, CodePicker)
    assert fresh_codings(study_path) == []


@pytest.mark.parametrize("forbid", [False, True])
async def test_blind_coding_hides_other_coders(study_path, forbid):
    with Study.open(study_path) as s:
        ben = s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Learning to pace myself")
        mine = s.codings.add_text("P1_interview", "Programme ending/Cliff edge", "Amira", "cliff edge")
        if forbid:
            s.configure(forbid_unblind=True)
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        assert [s.id for s in view.index.visible()] == [mine.id]
        row, col = view.omap.to_location(ben.start)
        assert not any(c0 <= col < c1 for c0, c1, _ in view.index.segments(row))  # not painted
        set_cursor(view, ben.start + 2)
        await pilot.pause()
        assert screen._here() == []  # not listed at the cursor either
        await pilot.press("o")
        await pilot.pause()
        if forbid:  # refused: still blind
            assert [s.id for s in view.index.visible()] == [mine.id]
            assert app.session.show_others is False
        else:
            assert {s.id for s in view.index.visible()} == {mine.id, ben.id}
            assert any(c0 <= col < c1 for c0, c1, _ in view.index.segments(row))
            assert [s.coder for s in screen._here()] == ["Ben"]
            await pilot.press("x")  # others' codings cannot be removed here
            await settle(pilot)
            await pilot.press("o")
            assert [s.id for s in view.index.visible()] == [mine.id]
    assert len(fresh_codings(study_path)) == 2


async def test_undo_and_redo_coding(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view, text = screen.view, screen.text
        start = text.index("Pacing.")
        view.select_span(start, start + 6)
        await code_with_picker(pilot, "pac")
        assert len(fresh_codings(study_path)) == 1
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert fresh_codings(study_path) == []
        assert view.index.visible() == []
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert [(c.start, c.end) for c in fresh_codings(study_path)] == [(start, start + 6)]
        assert [(s.start, s.end) for s in view.index.visible()] == [(start, start + 6)]
        await pilot.press("ctrl+z")
        await settle(pilot)
    assert fresh_codings(study_path) == []
    with Study.open(study_path) as s:  # the same audit log the CLI's undo uses
        assert [h["command"] for h in s.history(3)] == ["undo", "redo", "undo"]


async def test_undo_of_new_code_and_coding_is_one_step(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        start = screen.text.index("lifeline")
        screen.view.select_span(start, start + 8)
        await code_with_picker(pilot, "Lifeline")
        with Study.open(study_path) as s:
            assert s.codes.find("Lifeline") is not None
        await pilot.press("ctrl+z")
        await settle(pilot)
    with Study.open(study_path) as s:
        assert s.codes.find("Lifeline") is None
        assert s.codings.list() == []


async def test_long_document_with_many_codings(tmp_path):
    from tui_corpus import add_long, random_codings

    path = tmp_path / "big.qc"
    with Study.create(path, coder="Amira") as s:
        s.coders.add("Ben")
        add_long(s, "big", words=50_000)
        for name in ("A", "B", "C"):
            s.codes.add(name)
        random_codings(s, "big", ["A", "B", "C"], ["Amira", "Ben"], n=800)  # 2,000: timing script
        before = len(s.codings.list(document="big"))
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "big")
        view = screen.view
        assert len(view.index.spans) == before
        text = screen.text
        start = len(text) - 2000
        start = text.index(" ", start) + 1
        set_cursor(view, start)
        await pilot.press("w", "w", "w")
        s, e = view.selection_span
        assert text[s:e] == view.selected_text and len(text[s:e].split()) == 3
        await code_with_picker(pilot, "C")
    mine = [c for c in fresh_codings(path, coder="Amira") if c.start <= s < c.end]
    assert any(c.code == "C" and c.start <= s and c.end >= e for c in mine)


async def test_turn_key_on_a_label_selects_the_turn_it_introduces(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        set_cursor(view, 2)  # inside "Interviewer:" of the very first turn
        await pilot.press("t")
        first = screen.turns[0]
        assert view.selection_span == (first.start, first.end)
        await pilot.press("t")  # again: extends over the next turn
        assert view.selection_span == (first.start, screen.turns[1].end)


async def test_triple_click_selects_the_turn(study_path):
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        turn = screen.turns[1]  # Sarah's first turn, on row 2
        row, col = view.omap.to_location(turn.start + 12)
        await pilot.triple_click(view, offset=(view.gutter_width + col, row))
        await pilot.pause()
        assert view.selection_span == (turn.start, turn.end)
        assert screen.text[turn.start:turn.end].startswith("Honestly, it was like")
        status = str(screen.query_one("#status").render())
        assert f"{turn.start}:{turn.end}" in status and "“Honestly, it was like" in status


async def test_status_bar_shows_the_selected_text_on_one_line(tmp_path):
    path = tmp_path / "s.qc"
    parsed = transcript([("P1", "A [laughs] moment\nover two lines 👍🏽 " + "and more words " * 5, None)])
    with Study.create(path, coder="Amira") as s:
        add_parsed(s, parsed, "status")
    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await open_doc(pilot, "status")
        start = parsed.text.index("A [laughs]")
        screen.view.select_span(start, start + 80)
        await pilot.pause()
        shown = str(screen.query_one("#status").render())
        assert "“A [laughs] moment over two lines 👍🏽 and" in shown  # one line, markup kept as text
        assert "…”" in shown and "\n" not in shown
    from tui.screens.coding import quote_excerpt

    assert quote_excerpt("ab 👍🏽", limit=4) == "“ab…”"  # never half a character
    assert quote_excerpt("short") == "“short”"


async def test_removing_a_whole_coding_says_deleted_and_a_part_says_uncoded(study_path):
    with Study.open(study_path) as s:
        c = s.codings.add_text("P1_interview", "Programme ending/Cliff edge", "Amira", "falling off a cliff edge")
    notes: list[str] = []
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), original(message, **kw))[1]
        screen = await open_doc(pilot, "P1_interview")
        screen.view.select_span(c.start, c.start + 7)  # "falling": a part
        await pilot.press("x")
        await settle(pilot)
        assert notes[-1] == f"Uncoded {c.start}:{c.start + 7} of Programme ending/Cliff edge {c.start}:{c.end}"
        [rest] = fresh_codings(study_path)
        set_cursor(screen.view, rest.start + 2)
        await pilot.press("x")
        await settle(pilot)
        assert notes[-1] == f"Deleted coding Programme ending/Cliff edge {rest.start}:{rest.end}"
    assert fresh_codings(study_path) == []


async def test_status_and_side_panel_follow_the_selection_in_the_same_frame(study_path):
    """A cursor move updates the status bar and the 'on this line' panel as the selection
    changes (a watcher), not when a message is handled after the transcript's repaint: one
    frame per key, and the panel's new text needs no layout of the screen."""
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Pacing")
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_doc(pilot, "P1_interview")
        view = screen.view
        status = screen.query_one("#status")
        on_line = screen.query_one("#on-line")
        coded = screen.text.index("Pacing")
        set_cursor(view, 0)
        await settle(pilot)
        assert "at 0" in status._shown and "Pacing" not in str(on_line.render())
        set_cursor(view, coded + 2)  # no pause: nothing has been handled since
        assert f"at {coded + 2}" in status._shown
        assert "Pacing" in str(on_line.render())
