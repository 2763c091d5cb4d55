"""Themes as data (store, undo, audit), evidence views, the phase tracker, the methods summary, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import INTERVIEW, add_interview
from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.evidence import Attribution, evidence, overview, plural, quote_rows
from qualcode.store.themes import ThemeStore, themes_of
from qualcode.study import Study
from qualcode.themes import map_tree, methods_summary, phase_status, render_text_tree, set_phase

STAFF = (
    "Interviewer: What does your role involve?\n\n"
    "Nadia: I ring people after the programme ends. A warm handover, not a leaflet. "
    "Peer support groups are where people finally feel understood.\n\n"
    "Interviewer: And the groups?\n\n"
    "Nadia: The groups keep people going. Pacing sticks when someone else is pacing too.\n"
)
PATIENT2 = (
    "Interviewer: Tell me about the end of the programme.\n\n"
    "David: It stopped dead. Like a cliff edge, honestly.\n\n"
    "Interviewer: And now?\n\n"
    "David: =SUM(A1) is how I count my good days, a spreadsheet in my head.\n"
)
UNCODED = (
    "Interviewer: Anything else?\n\n"
    "Margaret: No, I think that's everything really.\n"
)


def build_study(path: Path) -> Path:
    """A small hand-built study: 4 participants (3 patients, 1 staff), 4 transcripts, 2 coders."""
    s = Study.create(path, title="Pain study", coder="Amira")
    s.coders.add("Ben")
    s.participants.add("P1", group="patient", name="Sarah Whitfield",
                       attributes={"age": "52", "gender": "F", "role": "Patient"})
    s.participants.add("P2", group="patient", name="David Okonkwo",
                       attributes={"age": "61", "gender": "M", "role": "Patient"})
    s.participants.add("P3", group="patient", name="Margaret Lowe",
                       attributes={"age": "67", "gender": "F", "role": "Patient"})
    s.participants.add("S1", group="staff", name="Nadia Farouk",
                       attributes={"age": "41", "gender": "F", "role": "Senior Health Connector",
                                   "years_experience": "8"})
    s.participants.define_band("experience_band", "years_experience", [0.5, 5],
                               ["new", "experienced", "highly experienced"])
    add_interview(s, "P1_interview", INTERVIEW)
    add_interview(s, "P2_interview", PATIENT2)
    add_interview(s, "P3_interview", UNCODED)
    add_interview(s, "S1_interview", STAFF)
    for speaker, label in (("Sarah", "P1"), ("David", "P2"), ("Margaret", "P3"), ("Nadia", "S1")):
        s.speakers.map(speaker, label)
    s.codes.add("Programme ending", description="What happens when the programme ends")
    s.codes.add("Programme ending/Cliff edge", description="Support stops abruptly",
                include_when="Feeling dropped", example="It's like walking off a cliff.")
    s.codes.add("Self-management")
    s.codes.add("Self-management/Pacing", description="Activity pacing")
    s.codes.add("Peer support", description="Peer groups")
    s.codes.add("Counting", description="Numbers and tallies")
    code = s.codings.add_text
    code("P1_interview", "Cliff edge", "Amira", "it was like falling off a cliff edge")
    code("P1_interview", "Cliff edge", "Ben", "falling off a cliff edge. The group was my lifeline")
    code("P1_interview", "Pacing", "Amira", "Pacing. Learning to pace myself", memo="pacing as a skill")
    code("P1_interview", "Peer support", "Amira", "Linda's Tuesday group")
    code("P2_interview", "Cliff edge", "Amira", "It stopped dead. Like a cliff edge, honestly.")
    code("P2_interview", "Counting", "Amira", "=SUM(A1) is how I count my good days")
    code("S1_interview", "Peer support", "Amira", "Peer support groups are where people finally feel understood.")
    code("S1_interview", "Pacing", "Ben", "Pacing sticks when someone else is pacing too.")
    code("S1_interview", "Cliff edge", "Ben", "A warm handover, not a leaflet.")
    s.close()
    return path


def build_themes(path: Path) -> Path:
    with Study.open(path) as s:
        t = themes_of(s)
        t.add("Falling off a cliff edge", concept="The programme's end feels like abandonment",
              definition="Accounts of support stopping abruptly.", status="active",
              codes=["Programme ending/Cliff edge"])
        t.add("Keeping going", parent="Falling off a cliff edge", codes=["Self-management/Pacing"])
        t.add("Being understood", codes=["Peer support"])
        t.add("Numbers", codes=["Counting"], status="discarded")
        cliff = s.codings.list(code="Cliff edge", coder="Amira")[0]
        t.quote(cliff.id)
    return path


@pytest.fixture
def study(tmp_path):
    return build_study(tmp_path / "themes.qc")


@pytest.fixture
def themed(study):
    return build_themes(study)


# -- store -------------------------------------------------------------------------------------

def test_add_list_and_tree_order(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        listed = t.list()
        assert [x.path for x in listed] == ["Falling off a cliff edge", "Falling off a cliff edge/Keeping going",
                                           "Being understood", "Numbers"]
        top, sub = listed[0], listed[1]
        assert (top.kind, top.depth, top.status) == ("theme", 0, "active")
        assert (sub.kind, sub.depth, sub.status, sub.parent) == ("subtheme", 1, "candidate", top.path)
        assert sub.colour == top.colour and listed[2].colour != top.colour
        assert top.concept.startswith("The programme") and top.definition.startswith("Accounts")
        assert top.codes == ("Programme ending/Cliff edge",) and top.children == (sub.path,)
        assert top.key_quotes == 1
        assert [x.name for x in t.list(include_discarded=False)] == ["Falling off a cliff edge", "Keeping going",
                                                                     "Being understood"]
        assert [x.name for x in t.list(status="candidate")] == ["Keeping going", "Being understood"]
        assert t.get("keeping going").id == sub.id and t.get(f"#{sub.id}").id == sub.id
        assert t.get("Falling off a cliff edge/Keeping going").id == sub.id
        assert t.count() == {"themes": 2, "subthemes": 1, "candidate": 2, "active": 1, "discarded": 1}


def test_a_code_may_serve_several_themes(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        result = t.assign("Being understood", ["Pacing", "Peer support"])
        assert result == {"theme": "Being understood", "assigned": ["Self-management/Pacing"],
                          "already": ["Peer support"]}
        # codes already there: a no-op that records no change (nothing to undo)
        changes = s.db.execute("SELECT count(*) FROM changes").fetchone()[0]
        assert t.assign("Being understood", ["Peer support", "Pacing"]) == {
            "theme": "Being understood", "assigned": [], "already": ["Peer support", "Self-management/Pacing"]}
        assert s.db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes
        assert {x.path for x in t.themes_of_code("Pacing")} == {"Falling off a cliff edge/Keeping going",
                                                                "Being understood"}
        assert [p for _, p in t.codes_of("Falling off a cliff edge")] == ["Programme ending/Cliff edge",
                                                                          "Self-management/Pacing"]


def test_names_are_checked(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        with pytest.raises(Conflict):
            t.add("being understood")
        with pytest.raises(InvalidInput):
            t.add("   ")
        with pytest.raises(InvalidInput):
            t.rename("Numbers", "A/B")
        with pytest.raises(NotFound):
            t.get("Nope")
        with pytest.raises(NotFound):
            t.assign("Numbers", ["No such code"])
        with pytest.raises(InvalidInput):
            t.set_status("Numbers", "maybe")
        with pytest.raises(InvalidInput):
            t.move("Falling off a cliff edge", "Falling off a cliff edge/Keeping going")
        with pytest.raises(Conflict):
            t.delete("Falling off a cliff edge")
        # the same name is fine under another parent, and a path picks it out
        t.add("Keeping going", parent="Being understood")
        with pytest.raises(InvalidInput, match="more than once"):
            t.get("Keeping going")
        assert t.get("Being understood/Keeping going").parent == "Being understood"


def test_rename_define_status_move_and_position(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        t.rename("Keeping going", "Keeping it going")
        t.define("Being understood", concept="Only peers get it", definition="Shared understanding",
                 colour="#123")
        t.set_status("Being understood", "active")
        b = t.get("Being understood")
        assert (b.concept, b.definition, b.colour, b.status) == ("Only peers get it", "Shared understanding",
                                                                 "#112233", "active")
        t.move("Keeping it going", None)                       # to the top level, last
        assert [x.name for x in t.list() if x.depth == 0][-1] == "Keeping it going"
        t.move("Keeping it going", None, position=1)           # reorder: first
        assert [x.name for x in t.list() if x.depth == 0][0] == "Keeping it going"
        last = s.history(1)[0]
        assert last["command"] == "themes reorder" and "position 4 -> 1" in last["summary"]
        changes = s.db.execute("SELECT count(*) FROM changes").fetchone()[0]
        t.move("Keeping it going", None, position=1)           # already there: no change recorded
        t.move("Keeping it going", None)
        assert s.db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes
        t.move("Numbers", "Being understood")
        assert t.get("Numbers").path == "Being understood/Numbers"


def test_key_quotes_flag_unflag_and_checks(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        cliff = s.codings.list(code="Cliff edge", coder="Amira")[0]
        assert [q.coding_id for q in t.key_quotes("Falling off a cliff edge")] == [cliff.id]
        pacing = s.codings.list(code="Pacing", coder="Amira")[0]
        assert t.quote(pacing.id, note="vivid")["theme"] == "Falling off a cliff edge/Keeping going"
        # a key quote must illustrate its theme
        counting = s.codings.list(code="Counting")[0]
        with pytest.raises(InvalidInput, match="does not gather"):
            t.quote(counting.id, theme="Being understood")
        # the parent theme may hold a subtheme's extract as its key quote
        t.quote(pacing.id, theme="Falling off a cliff edge")
        assert len(t.key_quotes("Falling off a cliff edge")) == 2
        t.quote(pacing.id, theme="Falling off a cliff edge", unflag=True)
        assert len(t.key_quotes("Falling off a cliff edge")) == 1
        with pytest.raises(NotFound):
            t.quote(pacing.id, theme="Falling off a cliff edge", unflag=True)
        # ambiguous without --theme when the code serves two themes
        t.assign("Being understood", ["Pacing"])
        with pytest.raises(InvalidInput, match="several themes"):
            t.quote(s.codings.list(code="Pacing", coder="Ben")[0].id)


def test_unassign_drops_unsupported_key_quotes(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        result = t.unassign("Falling off a cliff edge", ["Cliff edge"])
        assert result["key_quotes_dropped"] == 1 and t.get("Falling off a cliff edge").key_quotes == 0
        with pytest.raises(NotFound):
            t.unassign("Falling off a cliff edge", ["Cliff edge"])


def test_move_codes_carries_key_quotes_in_one_undoable_change(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        cliff = s.codings.list(code="Cliff edge", coder="Amira")[0]
        result = t.move_codes(["Cliff edge"], "Falling off a cliff edge", "Being understood")
        assert result == {"source": "Falling off a cliff edge", "target": "Being understood",
                          "codes": ["Programme ending/Cliff edge"], "key_quotes_moved": 1}
        cliff_code = s.codes.get("Cliff edge").id
        assert cliff_code in t.get("Being understood").code_ids
        assert cliff_code not in t.get("Falling off a cliff edge").code_ids
        assert [q.coding_id for q in t.key_quotes("Being understood")] == [cliff.id]
        assert t.key_quotes("Falling off a cliff edge") == []
        assert s.history(1)[0]["command"] == "themes move codes"
        s.undo()  # one change: everything comes back
        assert cliff_code in t.get("Falling off a cliff edge").code_ids
        assert cliff_code not in t.get("Being understood").code_ids
        assert [q.coding_id for q in t.key_quotes("Falling off a cliff edge")] == [cliff.id]
        with pytest.raises(NotFound, match="does not gather"):
            t.move_codes(["Counting"], "Being understood", "Numbers")
        with pytest.raises(InvalidInput, match="already in theme"):
            t.move_codes(["Peer support"], "Being understood", "Being understood")


def test_a_removed_coding_hides_its_key_quote_and_undo_brings_it_back(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        cliff = s.codings.list(code="Cliff edge", coder="Amira")[0]
        s.codings.delete(cliff.id)
        assert t.key_quotes("Falling off a cliff edge") == []
        assert [q.present for q in t.key_quotes("Falling off a cliff edge", include_missing=True)] == [False]
        s.undo()
        assert [q.coding_id for q in t.key_quotes("Falling off a cliff edge")] == [cliff.id]


def test_merging_a_code_elsewhere_is_never_blocked_by_a_theme(themed):
    with Study.open(themed) as s:
        s.codes.merge("Counting", "Peer support")        # Counting is gathered by 'Numbers'
        assert themes_of(s).get("Numbers").codes == ()
        s.undo()
        assert themes_of(s).get("Numbers").codes == ("Counting",)


def test_merge_moves_codes_quotes_subthemes_and_memos_and_undo_restores(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        before = t.snapshot()
        t.memo("Falling off a cliff edge", "Check against P2's account", coder="Amira")
        snapshot = t.snapshot()
        result = t.merge("Falling off a cliff edge", "Being understood")
        assert result == {"source": "Falling off a cliff edge", "target": "Being understood", "codes": 1,
                          "key_quotes": 1, "subthemes": 1, "memos": 1}
        b = t.get("Being understood")
        assert b.codes == ("Peer support", "Programme ending/Cliff edge")
        assert b.children == ("Being understood/Keeping going",) and b.key_quotes == 1
        memos = t.memos("Being understood")
        assert any(m.title == "Merged from Falling off a cliff edge" and "abandonment" in m.body for m in memos)
        assert t.find("Falling off a cliff edge") is None
        history = [h["command"] for h in t.history("Being understood")]
        assert history[0] == "themes merge"
        s.undo()
        assert t.snapshot() == snapshot
        s.undo()
        assert t.snapshot() == before
        with pytest.raises(InvalidInput):
            t.merge("Being understood", "Being understood")
        with pytest.raises(InvalidInput):
            t.merge("Falling off a cliff edge", "Falling off a cliff edge/Keeping going")


def test_split_and_undo(themed):
    with Study.open(themed) as s:
        t = themes_of(s)
        t.assign("Falling off a cliff edge", ["Peer support"])
        before = t.snapshot()
        result = t.split("Falling off a cliff edge", "Lost support", ["Cliff edge"])
        assert result == {"source": "Falling off a cliff edge", "new": "Lost support",
                          "codes": ["Programme ending/Cliff edge"], "key_quotes_moved": 1}
        new = t.get("Lost support")
        assert (new.status, new.depth, new.codes, new.key_quotes) == ("candidate", 0, ("Programme ending/Cliff edge",), 1)
        assert t.get("Falling off a cliff edge").codes == ("Peer support",)
        s.undo()
        assert t.snapshot() == before
        sub = t.split("Falling off a cliff edge", "Dropped", ["Cliff edge"], as_subtheme=True)
        assert sub["new"] == "Falling off a cliff edge/Dropped"
        with pytest.raises(NotFound):
            t.split("Being understood", "X", ["Cliff edge"])


def test_every_theme_change_is_audited_and_undoable(study):
    with Study.open(study) as s:
        t = themes_of(s)
        steps = [
            lambda: t.add("A", codes=["Cliff edge"]),
            lambda: t.add("B"),
            lambda: t.add("C", parent="A"),
            lambda: t.assign("B", ["Pacing", "Peer support"]),
            lambda: t.rename("B", "Bee"),
            lambda: t.define("Bee", concept="x", definition="y"),
            lambda: t.set_status("Bee", "active"),
            lambda: t.move("C", "Bee"),
            lambda: t.quote(s.codings.list(code="Pacing", coder="Amira")[0].id),
            lambda: t.memo("A", "a memo", coder="Amira"),
            lambda: t.split("Bee", "D", ["Peer support"]),
            lambda: t.merge("D", "A"),
            lambda: t.unassign("A", ["Peer support"]),
            lambda: t.delete("C"),
        ]
        snapshots = [t.snapshot()]
        for step in steps:
            changes = s.db.execute("SELECT count(*) FROM changes").fetchone()[0]
            step()
            assert s.db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes + 1
            snapshots.append(t.snapshot())
        assert s.history(1)[0]["command"] == "themes delete"
        for expected in reversed(snapshots[:-1]):
            s.undo()
            assert t.snapshot() == expected
        assert t.list() == []


def test_themes_of_prefers_a_wired_store(study):
    with Study.open(study) as s:
        assert isinstance(themes_of(s), ThemeStore)
        s.themes = wired = ThemeStore(s)
        assert themes_of(s) is wired


# -- evidence ----------------------------------------------------------------------------------

def test_evidence_for_a_theme(themed):
    with Study.open(themed) as s:
        ev = evidence(s, theme="Falling off a cliff edge")
        assert ev.kind == "theme" and ev.codes == ["Programme ending/Cliff edge", "Self-management/Pacing"]
        # cliff edge: P1 (Amira, Ben), P2, S1 (Ben); pacing: P1, S1 (Ben)
        assert len(ev.extracts) == 6
        assert [(g.group, g.n, g.of, g.labels) for g in ev.groups] == [
            ("patient", 2, 3, ("P1", "P2")), ("staff", 1, 1, ("S1",))]
        assert ev.summary == "2 of 3 patients: P1, P2; 1 of 1 staff: S1"
        assert [e.participant for e in ev.extracts] == ["P1", "P1", "P1", "P2", "S1", "S1"]
        assert sum(e.key for e in ev.extracts) == 1
        density = {d.document: d for d in ev.density}
        assert set(density) == {"P1_interview", "P2_interview", "P3_interview", "S1_interview"}
        assert density["P3_interview"].passages == 0 and density["P3_interview"].share == 0
        # counts are passages: P1's two coders' cliff-edge codings are one (5 = 3 + 2 quote-table rows)
        assert ev.passages == 5 and ev.by_coder == {"Amira": 3, "Ben": 3} and ev.unit == "passages"
        # P1's two cliff-edge codings overlap: the coded characters are their union
        text = INTERVIEW
        a = text.index("it was like falling off a cliff edge")
        b_end = text.index("falling off a cliff edge. The group was my lifeline") + len(
            "falling off a cliff edge. The group was my lifeline")
        pacing = len("Pacing. Learning to pace myself")
        assert density["P1_interview"].coded_characters == (b_end - a) + pacing
        assert (density["P1_interview"].passages, density["P1_interview"].codings) == (2, 3)
        people = {p.participant: p for p in ev.participants}
        assert (people["P1"].passages, people["P1"].codings, people["P1"].key_quotes,
                people["P1"].quoted_overall) == (2, 3, 1, 1)
        assert (people["S1"].passages, people["S1"].key_quotes) == (2, 0)
        assert [x["theme"] for x in ev.subthemes] == ["Falling off a cliff edge/Keeping going"]
        assert ev.subthemes[0]["coverage"] == "1 of 3 patients: P1; 1 of 1 staff: S1"
        assert ev.subthemes[0]["passages"] == 2
        json.dumps(ev.as_dict())


def test_evidence_for_a_code_and_per_coder(themed):
    with Study.open(themed) as s:
        ev = evidence(s, code="Cliff edge", coder="Ben")
        assert [e.participant for e in ev.extracts] == ["P1", "S1"]
        assert ev.summary == "1 of 3 patients: P1; 1 of 1 staff: S1"
        parent = evidence(s, code="Programme ending", include_code_children=True)
        assert len(parent.extracts) == 4
        with pytest.raises(InvalidInput):
            evidence(s)
        with pytest.raises(InvalidInput):
            evidence(s, theme="Numbers", code="Counting")


def test_overview_and_plurals(themed):
    with Study.open(themed) as s:
        o = overview(s)
        rows = {r["theme"]: r for r in o["themes"]}
        assert "Numbers" not in rows
        assert rows["Falling off a cliff edge"]["participants"] == 3
        assert rows["Being understood"]["coverage"] == "1 of 3 patients: P1; 1 of 1 staff: S1"
        quoted = {p["participant"]: p["quoted"] for p in o["participants"]}
        assert quoted == {"P1": 1, "P2": 0, "P3": 0, "S1": 0}
    assert plural("patient") == "patients" and plural("patient tutor volunteer") == "patient tutor volunteers"
    assert plural("staff") == "staff" and plural("follow-on group member") == "follow-on group members"
    assert plural("patient", 1) == "patient" and plural("family") == "family" and plural("body") == "bodies"


def test_all_of_a_group():
    from qualcode.evidence import _group_coverage
    from qualcode.records import Participant

    people = {k.casefold(): Participant(i, k, "patient", None, {}) for i, k in enumerate(["P1", "P2", "P10"])}
    assert _group_coverage(["P10", "P2", "P1"], people)[0].text == "all 3 patients: P1, P2, P10"


# -- attribution templates ---------------------------------------------------------------------

def test_attribution_templates(themed):
    with Study.open(themed) as s:
        p1, s1 = s.participants.get("P1"), s.participants.get("S1")
        assert Attribution("({label})", s)(p1) == "(P1)"
        full = Attribution("[Participant {number}, {role}, {experience_band}]", s)
        assert full(s1) == "[Participant 1, Senior Health Connector, highly experienced]"
        assert full(p1) == "[Participant 1, Patient]"            # no band: its separator goes too
        assert Attribution("{group} {label}, aged {age}", s)(p1) == "patient P1, aged 52"
        assert Attribution("({label})", s)(None) == "(unattributed)"
        with pytest.raises(InvalidInput, match=r"unknown field \{rank\}.*known fields:.*\{experience_band\}"):
            Attribution("({rank})", s)
        with pytest.raises(InvalidInput, match="real names"):
            Attribution("({name})", s)
        with pytest.raises(InvalidInput):
            Attribution("({label", s)
        with pytest.raises(InvalidInput):
            Attribution("({label!r})", s)


def test_quote_rows_group_passages_and_order_key_quotes_first(themed):
    with Study.open(themed) as s:
        rows = quote_rows(s)
        assert [(r.theme, r.subtheme) for r in rows] == [
            ("Falling off a cliff edge", "")] * 3 + [("Falling off a cliff edge", "Keeping going")] * 2 + [
            ("Being understood", "")] * 2
        first = rows[0]
        # Amira's and Ben's overlapping cliff-edge codings of P1 are one passage, the key quote
        assert first.key and first.participant == "P1" and first.coder == "Amira; Ben"
        assert first.quote == "it was like falling off a cliff edge. The group was my lifeline"
        assert [r.participant for r in rows[:3]] == ["P1", "P2", "S1"]
        key = quote_rows(s, key_only=True)
        assert [(r.participant, r.key) for r in key] == [("P1", True)]
        assert key[0].quote == "it was like falling off a cliff edge"
        assert [r.theme for r in quote_rows(s, ["Being understood"])] == ["Being understood"] * 2
        assert quote_rows(s, ["Numbers"]) == []                   # discarded: left out by default
        assert len(quote_rows(s, ["Numbers"], include_discarded=True)) == 1
        assert {r.coder for r in quote_rows(s, coder="Ben")} == {"Ben"}


# -- phase tracker, map tree, methods --------------------------------------------------------------

def test_phase_tracker_prompts_depend_on_the_approach(themed):
    with Study.open(themed) as s:
        status = phase_status(s)
        assert status["phase"] == 1 and status["approach"] == "reflexive"
        assert [p["phase"] for p in status["phases"]] == [1, 2, 3, 4, 5, 6]
        assert status["phases"][2]["counts"] == {"candidate themes": 2, "codes gathered": 3}
        assert status["phases"][5]["counts"] == {"key quotes": 1}
        assert status["phases"][0]["counts"]["journal entries"] == 0
        reflexive = set_phase(s, 3, journal="Cliff edge feels central; am I over-reading it?", coder="Amira")
        phases = phase_status(s)["phases"]         # a phase-3 entry is no phase-1 familiarisation note
        assert phases[0]["counts"]["journal entries"] == 0 and phases[2]["journal_entries"] == 1
        assert not any("journal" in h for h in phase_status(s)["hints"])
        assert reflexive["phase"] == 3 and reflexive["journal_entry"]["phase"] == 3
        assert s.journal.list()[0].body.startswith("Cliff edge")
        s.configure(approach="coding-reliability")
        reliability = phase_status(s)
        assert reliability["prompt"] != reflexive["prompt"] and "coders" in reliability["prompt"]
        s.configure(approach="codebook")
        assert phase_status(s)["prompt"] not in (reliability["prompt"], reflexive["prompt"])
        with pytest.raises(InvalidInput):
            set_phase(s, 7)


def test_map_tree_and_text_tree(themed):
    with Study.open(themed) as s:
        root = map_tree(s, counts=True)
        assert [c.label for c in root.children] == ["Falling off a cliff edge", "Being understood"]
        cliff = root.children[0]
        assert [c.kind for c in cliff.children] == ["code", "subtheme"]
        # passages: P1's two coders' overlapping cliff-edge codings count once (4 codings, 3 passages)
        assert cliff.children[0].passages == 3 and cliff.participants == 3 and cliff.passages == 5
        assert cliff.count_label() == "Falling off a cliff edge (3 participants, 5 passages)"
        assert cliff.children[0].count_label() == "Cliff edge (3)"
        assert map_tree(s, counts=True, coder="Ben").children[0].children[0].passages == 2
        assert render_text_tree(map_tree(s, include_discarded=True)).splitlines() == [
            "Pain study",
            "├── Falling off a cliff edge",
            "│   ├── code: Cliff edge",
            "│   └── Keeping going [candidate]",
            "│       └── code: Pacing",
            "├── Being understood [candidate]",
            "│   └── code: Peer support",
            "└── Numbers [discarded]",
            "    └── code: Counting",
        ]
        only = map_tree(s, themes=["Being understood"], codes=False, counts=True)
        assert [c.label for c in only.children] == ["Being understood"] and not only.children[0].children
        assert only.children[0].participants == 2


def test_methods_summary(themed):
    with Study.open(themed) as s:
        facts = methods_summary(s)
        assert facts["transcripts"] == 4 and facts["participants"] == 4
        assert facts["participants_by_group"] == {"patient": {"n": 3, "labels": "P1, P2, P3"},
                                                  "staff": {"n": 1, "labels": "S1"}}
        assert facts["coders"] == ["Amira", "Ben"]
        assert facts["double_coded"] == {"transcripts": 2, "of": 4, "share": 0.5, "coders": ["Amira", "Ben"]}
        assert (facts["codes"], facts["themes"], facts["subthemes"], facts["key_quotes"]) == (6, 2, 1, 1)
        assert facts["agreement"] is None and "reflexive" in facts["notes"][0]
        assert facts["software"].startswith("qualcode ")
        with_agreement = methods_summary(s, agreement=True, unit="document")
        agreement = with_agreement["agreement"]
        if agreement is not None:          # the agreement module is present in this installation
            assert agreement["unit"] == "document" and agreement["sentence"]
        text = "\n".join(with_agreement["lines"])
        assert "Double coded: 2 of 4 transcripts (50 %)" in text and "Software [COREQ 27]" in text


def test_methods_summary_without_the_agreement_module(themed, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "qualcode.agreement" and args and args[2] and "units" in args[2]:
            raise ImportError("no agreement module")
        if name == "qualcode.agreement.units":
            raise ImportError("no agreement module")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with Study.open(themed) as s:
        facts = methods_summary(s, agreement=True)
    assert facts["agreement"] is None and any("no agreement module" in n for n in facts["notes"])


# -- CLI ---------------------------------------------------------------------------------------

def test_cli_theme_workflow(study, qc):
    p = str(study)
    r = qc("themes", "add", p, "Falling off a cliff edge", "--code", "Cliff edge", "--concept", "Abandonment")
    assert r.code == 0 and "Added theme Falling off a cliff edge" in r.out
    assert qc("themes", "add", p, "Falling off a cliff edge/Keeping going", "--code", "Pacing").code == 0
    assert qc("themes", "add", p, "Being understood", "--json").json()["status"] == "candidate"
    r = qc("themes", "assign", p, "Being understood", "Peer support", "Pacing", "--json")
    assert r.json()["assigned"] == ["Peer support", "Self-management/Pacing"]
    assert qc("themes", "unassign", p, "Being understood", "Pacing").code == 0
    assert qc("themes", "define", p, "Being understood", "--definition", "Peers get it").code == 0
    assert qc("themes", "status", p, "Being understood", "active").code == 0
    assert qc("themes", "rename", p, "Being understood", "Understood").code == 0
    listed = qc("themes", "list", p, "--json").json()
    assert [t["path"] for t in listed] == ["Falling off a cliff edge", "Falling off a cliff edge/Keeping going",
                                           "Understood"]
    assert listed[0]["participants"] == 3 and "2 of 3 patients" in listed[0]["coverage"]
    text = qc("themes", "list", p).out
    assert "  Keeping going" in text and "candidate" in text
    coding = qc("evidence", p, "--code", "Cliff edge", "--coder", "Amira", "--json").json()["extracts"][0]["coding_id"]
    r = qc("themes", "quote", p, str(coding), "--note", "vivid")
    assert r.code == 0 and "now a key quote of Falling off a cliff edge" in r.out
    shown = qc("themes", "show", p, "Falling off a cliff edge")
    assert "Central organising concept: Abandonment" in shown.out and f"#{coding}" in shown.out and "vivid" in shown.out
    assert "History:" in shown.out
    data = qc("themes", "show", p, "Falling off a cliff edge", "--json").json()
    assert data["key_quote_list"][0]["participant"] == "P1"
    assert qc("themes", "memo", p, "Understood", "Compare with S1", "--coder", "Amira").code == 0
    assert qc("themes", "move", p, "Keeping going", "--top").code == 0
    assert qc("themes", "move", p, "Keeping going", "--position", "1").code == 0
    assert qc("themes", "list", p, "--json").json()[0]["name"] == "Keeping going"
    r = qc("themes", "split", p, "Falling off a cliff edge", "Dropped", "--code", "Cliff edge", "--subtheme")
    assert r.code == 0 and "Falling off a cliff edge/Dropped" in r.out
    r = qc("themes", "merge", p, "Keeping going", "Understood")
    assert r.code == 0 and "Merged Keeping going into Understood" in r.out
    assert qc("undo", p).code == 0
    # a subtheme split off keeps the key quote on the parent theme, which still gathers it
    assert qc("themes", "quote", p, str(coding), "--unflag", "--theme", "Falling off a cliff edge").code == 0
    assert qc("themes", "delete", p, "Keeping going").code == 0


def test_cli_errors_are_one_line_exit_2(study, qc):
    p = str(study)
    before = study.read_bytes()
    for args in (("themes", "show", p, "Nope"), ("themes", "assign", p, "Nope", "Pacing"),
                 ("themes", "add", p, "A", "--code", "No such code"), ("themes", "move", p, "X"),
                 ("evidence", p, "--theme", "Nope"), ("evidence", p, "--theme", "A", "--code", "B"),
                 ("themes", "quote", p, "9999"), ("themes", "status", p, "X", "maybe")):
        r = qc(*args)
        assert r.code == 2, args
        assert "Traceback" not in r.err and "rror" in r.err, (args, r.err)
    assert study.read_bytes() == before


def test_cli_phase_and_evidence(themed, qc):
    p = str(themed)
    r = qc("phase", p)
    assert r.code == 0 and "Phase 1 of 6: Familiarising with the data" in r.out and "Journal prompt:" in r.out
    r = qc("phase", p, "4", "--journal", "Reviewing against the whole data set", "--coder", "Amira", "--json")
    data = r.json()
    assert data["phase"] == 4 and data["journal_entry"]["body"].startswith("Reviewing")
    assert qc("settings", p, "--json").json()["phase"] == 4
    r = qc("evidence", p, "--theme", "Falling off a cliff edge")
    assert r.code == 0 and "Participants: 2 of 3 patients: P1, P2; 1 of 1 staff: S1" in r.out
    assert "P3_interview" in r.out and "per 1000 words" in r.out
    r = qc("evidence", p)
    assert r.code == 0 and "Themes:" in r.out and "Falling off a cliff edge" in r.out
    assert qc("evidence", p, "--json").json()["themes"][0]["participants"] == 3
