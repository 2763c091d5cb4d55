"""Blind double coding holds on every screen that shows other coders' work, and "coding
complete" (CLI ``coders complete``, TUI ``k`` on the documents screen) is what lifts it under
``forbid_unblind``: coding, codebook, memos, agreement & reconciliation, export."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, OptionList, Tree
from tui_helpers import cli, open_doc, settle

from qualcode.agreement import reconcile as rec
from qualcode.agreement.units import agreement
from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.codebook import CodebookScreen
from tui.screens.dialogs import ConfirmScreen
from tui.screens.export import ExportScreen
from tui.screens.memos import MemosScreen
from tui.screens.reconcile import ReconcileScreen

SIZE = (140, 40)


@pytest.fixture
def double(study_path):
    """Amira and Ben coded the interview; Ben wrote a memo; a round was saved; forbid_unblind."""
    with Study.open(study_path) as s:
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Amira", "Learning to pace myself")
        s.codings.add_text("P1_interview", "Programme ending/Cliff edge", "Amira", "cliff edge")
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Pacing")
        s.codings.add_text("P1_interview", "Programme ending/Cliff edge", "Ben", "falling off a cliff edge")
        s.codings.add_text("P1_interview", "Programme ending", "Ben", "The group was my lifeline")  # A did not
        s.memos.add("Ben's private thought", "Ben")
        rec.save_round(s, agreement(s, ["Amira", "Ben"], "turn"), "Ben")
        s.actor = "Ben"
        s.configure(forbid_unblind=True)
    return study_path


async def go(pilot, key: str):
    await pilot.press(key)
    await settle(pilot)
    return pilot.app.screen


def ben_visible(app) -> bool:
    coding = next(s for s in app.screen_stack if hasattr(s, "view"))
    return any(sp.coder == "Ben" for sp in coding.view.index.visible())


async def check_hidden_everywhere(pilot) -> None:
    """Nothing of Ben's on any screen (the current coder being Amira)."""
    app = pilot.app
    # coding: o refused, Ben's codings neither painted nor listed
    await open_doc(pilot, "P1_interview")
    assert not ben_visible(app)
    # codebook: neither Ben's counts nor his extracts
    book = await go(pilot, "3")
    assert isinstance(book, CodebookScreen)
    for node in book.query_one(Tree)._tree_nodes.values():
        assert "Ben" not in str(node.label)
    node = next(n for n in book.query_one(Tree)._tree_nodes.values() if n.data == "Self-management/Pacing")
    book.query_one(Tree).move_cursor(node)
    await pilot.pause()
    extracts = book.query_one("#extracts", OptionList)
    assert all("Ben" not in str(extracts.get_option_at_index(i).prompt) for i in range(extracts.option_count))
    assert "Ben" not in str(book.query_one("#code-def").render())
    # memos: Ben's memo hidden
    memos = await go(pilot, "4")
    assert isinstance(memos, MemosScreen) and [m.coder for m in memos.memos] == []
    # agreement and reconciliation: no figures, no disagreements, no rounds of Ben's
    screen = await go(pilot, "6")
    assert isinstance(screen, ReconcileScreen)
    assert screen.report is None and "Blind coding" in str(screen.query_one("#agr-summary").render())
    await pilot.press("w")
    await settle(pilot)
    assert screen.items == [] and screen.query_one("#dis-table", DataTable).row_count == 0
    assert "Blind coding" in str(screen.query_one("#dis-summary").render())
    await pilot.press("r")
    await settle(pilot)
    assert screen.round_rows == [] and screen.hidden_rounds == 1
    await pilot.press("s")  # saving a round would show the figures: refused
    await settle(pilot)
    with Study.open(app.session.path) as s:
        assert len(rec.rounds(s)) == 1


async def test_forbid_unblind_holds_on_every_screen_until_complete(double):
    app = QualcodeApp(double, coder="Amira")
    app.POLL_SECONDS = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "unblind after complete" in app.screen.status_text()
        assert "forbid_unblind" in str(app.screen.query_one("#home-blind").render())
        assert "set by Ben" in str(app.screen.query_one("#home-blind").render())
        await open_doc(pilot, "P1_interview")
        await pilot.press("o")
        await pilot.pause()
        assert app.errors and "forbids" in app.errors[-1]
        await check_hidden_everywhere(pilot)
        screen = app.screen
        await pilot.press("v")  # the same refusal on the agreement screen
        await settle(pilot)
        assert "forbids" in app.errors[-1] and screen.items == []
        # an export holding Ben's codings is refused too
        export = await go(pilot, "9")
        assert isinstance(export, ExportScreen)
        with pytest.raises(Exception, match="forbid_unblind"):
            export.check_blind("quotes", {"coder": None})
        export.check_blind("quotes", {"coder": "Amira"})  # her own: fine
        with pytest.raises(Exception, match="complete"):
            export.check_blind("agreement", {"coder_a": "Amira", "coder_b": "Ben"})


async def test_marking_complete_lifts_blind_mode_only_for_complete_coders(double):
    app = QualcodeApp(double, coder="Amira")
    app.POLL_SECONDS = 0
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("k")  # home: mark my coding complete
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.session.complete
        assert "complete: Amira" in str(app.screen.query_one("#home-blind").render())
        assert "still coding: Ben" in str(app.screen.query_one("#home-blind").render())
        # Amira may unblind now, but Ben is still coding: his codings stay hidden
        await open_doc(pilot, "P1_interview")
        await pilot.press("o")
        await pilot.pause()
        assert app.session.show_others and not ben_visible(app)
        await pilot.press("o")
        await pilot.pause()
        await check_hidden_everywhere(pilot)
        # Ben marks his coding complete from the CLI; the app notices by itself
        cli("coders", "complete", double, "Ben")
        assert app.check_external_changes()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReconcileScreen)
        await settle(pilot)
        assert screen.report is not None and screen.report.coders == ["Amira", "Ben"]
        assert screen.items and screen.round_rows and screen.hidden_rounds == 0  # no v needed
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert ben_visible(app)
        book = await go(pilot, "3")
        assert any("Ben" in str(n.label) for n in book.query_one(Tree)._tree_nodes.values())
        memos = await go(pilot, "4")
        assert [m.coder for m in memos.memos] == ["Ben"]
        # undo takes Amira's own mark back (her newest change): blind again
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("k")
        await pilot.pause()
        assert "Reopen" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("y")
        await settle(pilot)
        assert not app.session.complete and not app.session.show_others
        screen = await go(pilot, "6")
        assert screen.items == []
    with Study.open(double) as s:
        assert list(s.completion()) == ["Ben"]
        kinds = [h["summary"] for h in s.history(3)]
        assert kinds[0] == "reopen the coding of Amira"


async def test_plain_blind_mode_on_the_agreement_screen(double):
    with Study.open(double) as s:
        s.actor = "Ben"
        s.configure(forbid_unblind=False)
    app = QualcodeApp(double, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "6")
        await settle(pilot)
        # neither coder complete: figures and disagreements hidden until Amira shows others (v)
        assert screen.report is None and screen.items == []
        assert "v" in str(screen.query_one("#agr-summary").render())
        await pilot.press("v")
        await settle(pilot)
        assert screen.report is not None and screen.items
        assert screen.round_rows and screen.log_rows == []
        assert "all coders" in screen.status_text()
        # the codebook and memos follow the same toggle
        book = await go(pilot, "3")
        assert any("Ben" in str(n.label) for n in book.query_one(Tree)._tree_nodes.values())
        memos = await go(pilot, "4")
        assert [m.coder for m in memos.memos] == ["Ben"]
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("v")  # blind again
        await settle(pilot)
        assert screen.report is None and screen.items == []
        # the export screen does not hold plain blind mode (o is allowed; forbid_unblind would)
        export = await go(pilot, "9")
        export.check_blind("quotes", {"coder": None})


async def test_both_complete_shows_the_figures_to_a_third_coder_but_not_the_disagreements(double):
    with Study.open(double) as s:
        s.coders.add("Cy")
        s.mark_complete("Amira")
        s.mark_complete("Ben")
    app = QualcodeApp(double, coder="Cy")
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "6")
        await settle(pilot)
        assert screen.report is not None  # figures: both compared coders are complete
        assert screen.items == [] and "Cy" in str(screen.query_one("#dis-summary").render())
        await pilot.press("v")  # forbid_unblind: Cy is not complete
        await settle(pilot)
        assert screen.items == [] and "forbids" in app.errors[-1]


def test_coders_complete_cli(qc, double):
    r = qc("coders", "complete", double, "Amira", "--json")
    assert r.code == 0 and r.json()["complete"] and r.json()["changed"]
    assert qc("coders", "complete", double, "Amira", "--json").json()["changed"] is False
    rows = {row["name"]: row for row in qc("coders", "list", double, "--json").json()}
    assert rows["Amira"]["complete"] and rows["Ben"]["complete"] is None
    settings = qc("settings", double, "--json").json()
    assert list(settings["coding_complete"]) == ["Amira"]
    assert settings["forbid_unblind_set_by"]["coder"] == "Ben"
    # the blind rules are never changed anonymously: who does it is named and recorded
    r = qc("settings", double, "--allow-unblind")
    assert r.code == 2 and "--coder" in r.err
    r = qc("settings", double, "--allow-unblind", "--coder", "Amira")
    assert r.code == 0 and "Ben" in r.err  # Ben has not finished: said so
    assert qc("settings", double, "--json").json()["forbid_unblind_set_by"]["coder"] == "Amira"
    assert qc("undo", double, "--coder", "Amira").code == 0  # the setting change
    assert qc("undo", double, "--coder", "Amira").code == 0  # the completion mark
    assert qc("settings", double, "--json").json()["coding_complete"] == {}
    assert qc("coders", "complete", double, "Amira", "--reopen", "--json").json()["changed"] is False
    assert qc("coders", "complete", double, "Nobody").code == 2


def test_a_coder_marked_complete_cannot_change_their_codings_until_reopened(qc, double):
    """After "coding complete" a coder may see the others' codings, so theirs stay as they were:
    agreement must measure independent coding. Other coders carry on; reopening lifts it."""
    assert qc("coders", "complete", double, "Amira").code == 0
    before = double.read_bytes()
    for args in (["code", double, "P1_interview", "Pacing", "--coder", "Amira", "--text", "Honestly"],
                 ["uncode", double, "P1_interview", "Pacing", "--coder", "Amira", "--text", "pace myself"]):
        r = qc(*args)
        assert r.code == 2 and "Amira marked their coding complete" in r.err and "--reopen" in r.err
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
        assert double.read_bytes() == before  # nothing written
    with Study.open(double) as s:
        mine = s.codings.list(coder="Amira")
        with pytest.raises(Exception, match="marked their coding complete"):
            s.codings.delete(mine[0].id)
        with pytest.raises(Exception, match="marked their coding complete"):
            s.codings.adjust(mine[0].id, mine[0].start, mine[0].end + 1)
        s.codings.add_text("P1_interview", "Self-management/Pacing", "Ben", "Honestly")  # Ben is open
        assert [c.id for c in s.codings.list(coder="Amira")] == [c.id for c in mine]
    assert qc("coders", "complete", double, "Amira", "--reopen").code == 0
    r = qc("code", double, "P1_interview", "Pacing", "--coder", "Amira", "--text", "Honestly")
    assert r.code == 0, r.err


async def test_the_coding_screen_says_why_a_complete_coder_cannot_code(double):
    with Study.open(double) as s:
        s.mark_complete("Amira")
        before = sorted((c.code, c.start, c.end) for c in s.codings.list(coder="Amira"))
    app = QualcodeApp(double, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_doc(pilot, "P1_interview")
        start = screen.text.index("Honestly")
        screen.view.select_span(start, start + len("Honestly"))
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"Pacing")
        await pilot.press("enter")
        await settle(pilot)
        assert "Amira marked their coding complete" in app.errors[-1]
    with Study.open(double) as s:
        assert sorted((c.code, c.start, c.end) for c in s.codings.list(coder="Amira")) == before
