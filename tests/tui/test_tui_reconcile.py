"""Agreement and reconciliation screen on the demo study (Amira and Ben double-coded P1, PTV1, S1).

Figures on screen are compared with the library's own report for every unit; decisions made with
keys are checked through the core API (consensus codings, decision log) in a fresh connection.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Select, TabbedContent
from tui_helpers import fill, settle

from qualcode.agreement import agreement
from qualcode.agreement import reconcile as rec
from qualcode.agreement.report import figure_cells, stat_header
from qualcode.agreement.units import UNITS
from qualcode.errors import InvalidInput
from qualcode.study import Study
from tui.app import QualcodeApp
from tui.screens.dialogs import PromptScreen
from tui.screens.reconcile import ReconcileScreen

SIZE = (140, 40)
PAIR = ["Amira", "Ben"]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    from qualcode.cli import main

    folder = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--headless", "--dir", str(folder)]) == 0
    with Study.open(folder / "demo.qc") as s:  # double coding done: blind coding has done its work
        for name in PAIR:
            s.mark_complete(name)
    return folder / "demo.qc"


@pytest.fixture
def demo(demo_file, tmp_path) -> Path:
    """A fresh copy of the demo study for each test (tests write decisions)."""
    path = tmp_path / "demo.qc"
    shutil.copy(demo_file, path)
    return path


async def open_screen(pilot) -> ReconcileScreen:
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReconcileScreen)
    return screen


async def choose(pilot, screen: ReconcileScreen, ident: str, value) -> None:
    screen.query_one(ident, Select).value = value
    await settle(pilot)


async def to_walker(pilot, screen: ReconcileScreen) -> None:
    await pilot.press("w")
    await settle(pilot)
    assert screen.query_one(TabbedContent).active == "walker"


async def go_to(pilot, screen: ReconcileScreen, item_id: str) -> None:
    row = next(k for k, i in enumerate(screen.listed) if i.id == item_id)
    screen.query_one("#dis-table", DataTable).move_cursor(row=row)
    await pilot.pause()
    assert screen.current_item().id == item_id


async def decide_with_keys(pilot, key: str, rationale: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, PromptScreen)
    await fill(pilot, rationale)
    await pilot.press("enter")
    await settle(pilot)


def consensus_spans(path: Path, document: str, code: str) -> list[tuple[int, int]]:
    with Study.open(path) as s:
        if s.coders.find("consensus") is None:
            return []
        return sorted((c.start, c.end) for c in s.codings.list(document=document, code=code,
                                                               coder=s.coders.consensus().name))


def log(path: Path) -> list[dict]:
    with Study.open(path) as s:
        return rec.decision_log(s)


def merged(spans):
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [tuple(x) for x in out]


def overlap(a, b):
    """Characters in both span lists, computed character by character (independent of the core)."""
    chars = {i for s, e in a for i in range(s, e)} & {i for s, e in b for i in range(s, e)}
    return merged([(i, i + 1) for i in chars])


# ---------------------------------------------------------------------------------------------
# Agreement figures


async def test_figures_shown_are_the_librarys_for_every_unit(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        assert screen.chosen() == (PAIR, "turn")
        with Study.open(demo) as s:
            for unit in UNITS:
                await choose(pilot, screen, "#unit", unit)
                expected = agreement(s, PAIR, unit)
                shown = screen.report
                assert shown is not None and shown.unit == unit
                assert shown.as_dict(cells=False) == expected.as_dict(cells=False)
                table = screen.query_one("#agr-table", DataTable)
                headers = [str(c.label) for c in table.columns.values()]
                assert headers[2] == ("segments" if unit == "segment" else "N units")
                if unit != "segment":
                    assert headers[3] == "prevalence"
                assert screen.figure_row("pooled", "pooled") == figure_cells(expected, expected.pooled)
                for fig in expected.by_code:
                    assert screen.figure_row("code", fig.code) == figure_cells(expected, fig)
                for fig in expected.by_document:
                    assert screen.figure_row("document", fig.document) == figure_cells(expected, fig)
                # the headline statistic, read off the screen, is the library's value to 3 places
                head = expected.headline
                key_col = headers.index(stat_header(expected, head))
                cell = str(table.get_row("pooled:pooled")[key_col]).rstrip("*")
                assert float(cell) == pytest.approx(expected.pooled.value(head), abs=5e-4)
                n_units = str(table.get_row("pooled:pooled")[2]).replace(",", "")
                assert int(n_units) == expected.pooled.n_units
                assert expected.methods in str(screen.query_one("#agr-notes").render())
        assert not app.errors


async def test_three_coders_show_the_pairwise_matrix(demo):
    with Study.open(demo) as s:
        s.coders.add("Cy")
        for c in s.codings.list(document="P1_interview", coder="Ben")[:5]:
            s.codings.add(c.document, c.code, "Cy", c.start, c.end)
        s.mark_complete("Cy")
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await choose(pilot, screen, "#coder-c", "Cy")
        with Study.open(demo) as s:
            expected = agreement(s, ["Amira", "Ben", "Cy"], "turn")
        assert screen.report.coders == ["Amira", "Ben", "Cy"]
        assert screen.figure_row("pooled", "pooled") == figure_cells(expected, expected.pooled)
        notes = str(screen.query_one("#agr-notes").render())
        assert f"Pairwise {expected.pairwise['statistic']}" in notes
        assert [len(i.spans) for i in screen.items[:1]] == [3]


# ---------------------------------------------------------------------------------------------
# Walking and deciding


async def test_keep_a_creates_a_consensus_coding_with_as_offsets_and_a_logged_rationale(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await choose(pilot, screen, "#unit", "character")
        await to_walker(pilot, screen)
        with Study.open(demo) as s:
            expected = rec.disagreements(s, PAIR, "character", include_decided=True)
        assert [i.id for i in screen.items] == [i.id for i in expected]
        item = next(i for i in screen.listed if i.kind == "spans differ")
        await go_to(pilot, screen, item.id)
        index = screen.listed.index(screen.current_item())
        side_a = str(screen.query_one("#side-0").render())
        words = " ".join(item.span_text("Amira")[0].split()[:4])
        assert "Amira" in side_a and words in " ".join(side_a.split())
        await decide_with_keys(pilot, "a", "Amira's span holds the whole story")
        assert consensus_spans(demo, item.document, item.code) == item.spans["Amira"]
        [entry] = log(demo)
        assert entry["disagreement"] == item.id and entry["decision"] == "keep-a"
        assert entry["rationale"] == "Amira's span holds the whole story"
        assert entry["decided_by"] == "Amira" and not entry["adjudicated"]
        assert entry["result"] == item.spans["Amira"]
        # shown as decided, cursor on the next undecided one
        decided = next(i for i in screen.listed if i.id == item.id)
        assert decided.status == "decided"
        table = screen.query_one("#dis-table", DataTable)
        assert str(table.get_row(item.id)[0]).startswith("✓ keep-a")
        now = screen.current_item()
        assert now.status == "open" and screen.listed.index(now) == index + 1
        assert "1 decided" in str(screen.query_one("#dis-summary").render())
        # the walker's round tab shows the log
        assert screen.query_one("#log-table", DataTable).row_count == 1
        # pressing a on a decided item does not decide again
        await go_to(pilot, screen, item.id)
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert len(log(demo)) == 1


async def test_union_and_intersection_offsets(demo):
    app = QualcodeApp(demo, coder="Ben")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await choose(pilot, screen, "#unit", "character")
        await to_walker(pilot, screen)
        differ = [i for i in screen.listed if i.kind == "spans differ"]
        first, second = differ[0], differ[1]
        await go_to(pilot, screen, first.id)
        await decide_with_keys(pilot, "u", "both spans are needed")
        await go_to(pilot, screen, second.id)
        await decide_with_keys(pilot, "i", "only the shared core")
    union = merged(first.spans["Amira"] + first.spans["Ben"])
    assert consensus_spans(demo, first.document, first.code) == union
    assert union == [(first.start, first.end)]
    core = overlap(second.spans["Amira"], second.spans["Ben"])
    assert core and consensus_spans(demo, second.document, second.code) == core
    assert [(d["decision"], d["result"]) for d in log(demo)] == [("union", union), ("intersection", core)]


async def test_drop_and_edit(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await choose(pilot, screen, "#unit", "character")
        await to_walker(pilot, screen)
        only = next(i for i in screen.listed if i.kind.startswith("only"))
        await go_to(pilot, screen, only.id)
        await decide_with_keys(pilot, "x", "does not fit the definition")
        differ = next(i for i in screen.listed if i.kind == "spans differ")
        await go_to(pilot, screen, differ.id)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one("Input").value == f"{differ.start}:{differ.end}"
        await fill(pilot, "12:nonsense")
        await pilot.press("enter")
        await settle(pilot)
        assert app.errors and "START:END" in app.errors[-1]
        assert not isinstance(app.screen, PromptScreen)
        wanted = (differ.start + 3, differ.end - 3)
        await pilot.press("e")
        await pilot.pause()
        await fill(pilot, f"{wanted[0]}:{wanted[1]}")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)  # now the rationale
        await fill(pilot, "trimmed to the sentence")
        await pilot.press("enter")
        await settle(pilot)
    assert consensus_spans(demo, only.document, only.code) == []
    assert consensus_spans(demo, differ.document, differ.code) == [wanted]
    assert [(d["decision"], d["result"]) for d in log(demo)] == [("drop", []), ("edit", [wanted])]


async def test_undo_reverts_a_decision_and_redo_makes_it_again(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await to_walker(pilot, screen)
        item = screen.current_item()
        assert item.status == "open"
        await decide_with_keys(pilot, "b", "Ben caught it")
        assert len(log(demo)) == 1
        assert consensus_spans(demo, item.document, item.code) == item.spans["Ben"]
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert log(demo) == []
        assert consensus_spans(demo, item.document, item.code) == []
        again = next(i for i in screen.items if i.id == item.id)
        assert again.status == "open"
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert [d["disagreement"] for d in log(demo)] == [item.id]
        assert next(i for i in screen.items if i.id == item.id).status == "decided"


async def test_a_third_coder_adjudicates(demo):
    with Study.open(demo) as s:
        s.coders.add("Cy")
    app = QualcodeApp(demo, coder="Cy")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        # Cy codes nothing and is not complete: blind until Cy shows other coders' codings (v)
        assert screen.items == [] and "v shows other coders" in str(screen.query_one("#dis-summary").render())
        await pilot.press("v")
        await settle(pilot)
        await to_walker(pilot, screen)
        assert "Cy, adjudicating" in str(screen.query_one("#dis-decision").render())
        item = screen.current_item()
        await decide_with_keys(pilot, "a", "adjudicated for A")
    [entry] = log(demo)
    assert entry["disagreement"] == item.id
    assert entry["decided_by"] == "Cy" and entry["adjudicated"]


async def test_next_undecided_and_hiding_decided(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await to_walker(pilot, screen)
        first = screen.current_item()
        await decide_with_keys(pilot, "a", "fine")
        total = len(screen.listed)
        await pilot.press("h")
        await pilot.pause()
        assert len(screen.listed) == total - 1
        assert all(i.status == "open" for i in screen.listed)
        await pilot.press("h")
        await pilot.press("n")
        await pilot.pause()
        assert screen.current_item().status == "open" and screen.current_item().id != first.id


# ---------------------------------------------------------------------------------------------
# Errors


async def test_same_coder_twice_and_an_empty_rationale_are_notifications(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await choose(pilot, screen, "#coder-b", "Amira")
        assert app.errors and "named twice" in app.errors[-1]
        assert screen.report is None and screen.items == []
        assert isinstance(app.screen, ReconcileScreen)  # still running, no traceback
        await choose(pilot, screen, "#coder-b", "Ben")
        assert screen.report is not None and screen.items
        await to_walker(pilot, screen)
        await decide_with_keys(pilot, "a", "   ")
        assert "rationale" in app.errors[-1]
        assert log(demo) == []


# ---------------------------------------------------------------------------------------------
# Rounds


async def test_rounds_are_recorded_and_kept(demo):
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await pilot.press("s")
        await settle(pilot)
        await to_walker(pilot, screen)
        await decide_with_keys(pilot, "a", "first decision")
        await choose(pilot, screen, "#unit", "document")
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        table = screen.query_one("#rounds-table", DataTable)
        assert table.row_count == 2
        with Study.open(demo) as s:
            saved = rec.rounds(s)
            turn = agreement(s, PAIR, "turn")
            document = agreement(s, PAIR, "document")
        assert [(r["round"], r["unit"], r["coders"]) for r in saved] == [
            (1, "turn", PAIR), (2, "document", PAIR)]
        assert saved[0]["value"] == pytest.approx(turn.pooled.value(turn.headline), abs=1e-6)
        assert saved[1]["value"] == pytest.approx(document.pooled.value(document.headline), abs=1e-6)
        assert saved[0]["decisions"] == 1  # the decision belongs to round 1
        assert [str(c) for c in table.get_row_at(0)[:3]][::2] == ["1", "turn"]
        assert document.methods in str(screen.query_one("#round-detail").render())


# ---------------------------------------------------------------------------------------------
# Keys


async def test_keys_are_remappable_and_in_the_palette(demo, config_dir):
    (config_dir / "keys.toml").write_text('keep_a = "k"\n"reconcile.drop" = "z"\n')
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        known = app.all_bindings()
        for name in ("keep_a", "keep_b", "union", "intersection", "drop", "edit", "save_round",
                     "recompute", "next_open"):
            assert f"reconcile.{name}" in known
        titles = {c.title for c in app.get_system_commands(screen)}
        assert {"Keep A", "Keep B", "Union", "Intersection", "Drop", "Edit span",
                "Record a new round"} <= titles
        await to_walker(pilot, screen)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen) and "Keep A" in str(
            app.screen.query_one(".dialog-title").render())


async def test_accepting_the_agreed_places_copies_them_to_the_consensus_coder(demo):
    with Study.open(demo) as s:
        agreed = [i for i in rec.items(s, PAIR, "turn") if not i.disagreement]
    assert agreed
    app = QualcodeApp(demo, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        open_before = [i.id for i in screen.items]
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert [i.id for i in screen.items] == open_before  # disagreements stay open
    entries = log(demo)
    assert sorted(d["disagreement"] for d in entries) == sorted(i.id for i in agreed)
    assert {d["decision"] for d in entries} == {"agreed"}
    for item in agreed:  # every agreed place is covered by a consensus coding of its code
        held = consensus_spans(demo, item.document, item.code)
        for s, e in merged(item.spans["Amira"] + item.spans["Ben"]):
            assert any(hs <= s and e <= he for hs, he in held), (item.code, s, e, held)


async def test_a_study_without_double_coding_shows_undefined_figures_not_a_crash(study_path):
    with Study.open(study_path) as s:
        for name in PAIR:
            s.mark_complete(name)
    app = QualcodeApp(study_path, coder="Amira")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        assert screen.report is not None and screen.report.pooled.n_units == 0
        assert screen.figure_row("pooled", "pooled")[0] == "0"
        assert "n/a" in screen.figure_row("pooled", "pooled")
        assert screen.items == [] and screen.current_item() is None
        await to_walker(pilot, screen)
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press("s")  # a round of undefined figures is still a record
        await settle(pilot)
        assert not app.errors
    with Study.open(study_path) as s:
        [saved] = rec.rounds(s)
    assert saved["value"] is None


def test_typed_consensus_spans():
    assert rec.parse_spans("10:20, 30:40;50:60  70:80") == [(10, 20), (30, 40), (50, 60), (70, 80)]
    for bad in ("", "10-20", "a:b", "10:"):
        with pytest.raises(InvalidInput):
            rec.parse_spans(bad)
