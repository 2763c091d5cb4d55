"""Reconciliation: decisions create consensus codings and a log; rounds keep their figures."""

import pytest

from conftest import INTERVIEW, add_interview, file_state
from qualcode.agreement import agreement
from qualcode.agreement import reconcile as R
from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.study import Study

AB = ["Amira", "Ben"]


def span(needle, text=INTERVIEW):
    start = text.index(needle)
    return start, start + len(needle)


@pytest.fixture
def study(study_path):
    s = Study.open(study_path)
    s.coders.add("Chloe")
    s.codings.add("P1_interview", "Cliff edge", "Amira", *span("falling off a cliff edge"))
    s.codings.add("P1_interview", "Cliff edge", "Ben", *span("a cliff edge. The group"))
    s.codings.add("P1_interview", "Pacing", "Amira", *span("Learning to pace myself"))
    s.codings.add("P1_interview", "Pacing", "Ben", *span("I still pace myself every day"))
    s.codings.add("P1_interview", "Self-management", "Amira", *span("Pacing."))
    s.codings.add("P1_interview", "Self-management", "Ben", *span("Pacing."))
    yield s
    s.close()


def consensus_spans(s, code):
    return [(c.start, c.end) for c in s.codings.list(code=code) if c.coder == "consensus"]


def by_code(items, code):
    return [i for i in items if i.code.endswith(code)]


def test_disagreement_items_have_stable_ids_spans_text_and_context(study):
    items = R.disagreements(study, AB)
    assert [i.code for i in items] == ["Programme ending/Cliff edge", "Self-management/Pacing",
                                       "Self-management/Pacing"]
    cliff = items[0]
    assert cliff.spans == {"Amira": [span("falling off a cliff edge")],
                           "Ben": [span("a cliff edge. The group")]}
    assert cliff.text == "falling off a cliff edge. The group"
    assert cliff.before.endswith("like ") and cliff.after.startswith(" was my lifeline")
    assert cliff.kind == "spans differ"
    assert [i.kind for i in items[1:]] == ["only Amira", "only Ben"]
    assert [i.id for i in R.disagreements(study, ["Ben", "Amira"])] == [i.id for i in items]
    everything = R.items(study, AB)
    agreed = [i for i in everything if not i.disagreement]
    assert [i.code for i in agreed] == ["Self-management"] and agreed[0].kind == "identical"
    assert R.find(study, AB, cliff.id[:5]).id == cliff.id


@pytest.mark.parametrize("decision, expected", [
    ("keep-a", [span("falling off a cliff edge")]),
    ("keep-b", [span("a cliff edge. The group")]),
    ("union", [span("falling off a cliff edge. The group")]),
    ("intersection", [span("a cliff edge")]),
    ("drop", []),
])
def test_each_decision_creates_the_consensus_codings(study, decision, expected):
    cliff = R.disagreements(study, AB)[0]
    d = R.decide(study, AB, cliff.id, decision, "we discussed it", by="Amira")
    assert d["decision"] == decision and d["result"] == expected
    assert consensus_spans(study, "Cliff edge") == expected
    assert d["rationale"] == "we discussed it" and d["decided_by"] == "Amira"
    assert d["round"] == 1 and not d["adjudicated"] and d["coders"] == AB
    assert d["spans"] == cliff.spans and d["created"]
    for c in study.codings.list(coder="consensus"):
        assert c.memo == f"reconciled: {decision}"
    assert study.coders.find("consensus").kind == "consensus"


def test_edit_decision_and_adjudication_by_a_third_coder(study):
    item = by_code(R.disagreements(study, AB), "Pacing")[0]
    edit = span("Learning to pace myself, and Linda's Tuesday group")
    d = R.decide(study, AB, item.id, "edit", "the whole strategy", spans=[edit], by="Chloe")
    assert d["adjudicated"] and d["decided_by"] == "Chloe" and d["result"] == [edit]
    assert consensus_spans(study, "Pacing") == [edit]
    with pytest.raises(InvalidInput, match="--span"):
        R.decide(study, AB, by_code(R.disagreements(study, AB), "Pacing")[0].id, "edit", "x", by="Ben")
    with pytest.raises(InvalidInput, match="outside"):
        R.decide(study, AB, by_code(R.disagreements(study, AB), "Pacing")[0].id, "edit", "x",
                 spans=[(0, 10**6)], by="Ben")


def test_decided_items_leave_the_open_list_and_cannot_be_decided_twice(study):
    items = R.disagreements(study, AB)
    R.decide(study, AB, items[0].id, "union", "agreed on the wider span", by="Ben")
    open_ = R.disagreements(study, AB)
    assert [i.id for i in open_] == [i.id for i in items[1:]]
    all_ = R.disagreements(study, AB, include_decided=True)
    assert all_[0].status == "decided" and all_[0].decision["decision"] == "union"
    with pytest.raises(Conflict, match="already decided"):
        R.decide(study, AB, items[0].id, "drop", "changed my mind", by="Ben")


def test_undo_reverts_a_decision_with_its_codings(study):
    item = R.disagreements(study, AB)[0]
    R.decide(study, AB, item.id, "union", "wider", by="Amira")
    assert consensus_spans(study, "Cliff edge")
    study.undo()
    assert consensus_spans(study, "Cliff edge") == []
    assert R.decision_log(study) == []
    assert R.disagreements(study, AB)[0].status == "open"


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(ident="zzzz"), InvalidInput, "hex digits"),
    (dict(ident="abcdef0123"), NotFound, "no disagreement"),
    (dict(decision="maybe"), InvalidInput, "unknown decision"),
    (dict(rationale="  "), InvalidInput, "rationale"),
    (dict(by=None), InvalidInput, "--by"),
    (dict(by="consensus"), InvalidInput, "consensus"),
    (dict(by="Nobody"), NotFound, "unknown coder"),
])
def test_decision_errors_change_nothing(study, kwargs, error, message):
    study.coders.consensus()
    item = R.disagreements(study, AB)[0]
    args = {"ident": item.id, "decision": "union", "rationale": "why", "by": "Amira", **kwargs}
    before = study.history(1)
    with pytest.raises(error, match=message):
        R.decide(study, AB, args.pop("ident"), args.pop("decision"), args.pop("rationale"), **args)
    assert study.history(1) == before


def test_accept_agreed_copies_agreement_to_consensus(study):
    r = R.accept_agreed(study, AB, by="Amira")
    assert r == {"accepted": 1, "codings": 1}
    assert consensus_spans(study, "Self-management") == [span("Pacing.")]
    assert R.decision_log(study)[0]["decision"] == "agreed"
    assert R.accept_agreed(study, AB, by="Amira") == {"accepted": 0, "codings": 0}
    # at turn level both coders coded Cliff edge in turn 2 and Pacing in turn 4: agreed places,
    # whose consensus span is the union of the coders' spans
    r = R.accept_agreed(study, AB, "turn", by="Amira")
    assert r["accepted"] == 3
    assert consensus_spans(study, "Pacing") == [span("Learning to pace myself"),
                                               span("I still pace myself every day")]
    assert consensus_spans(study, "Cliff edge") == [span("falling off a cliff edge. The group")]


def test_rounds_keep_their_figures_and_decisions_belong_to_rounds(study):
    first = agreement(study, AB, "character")
    saved = R.save_round(study, first, by="Amira")
    assert saved["round"] == 1
    item = R.disagreements(study, AB)[0]
    d = R.decide(study, AB, item.id, "union", "wider", by="Amira")
    assert d["round"] == 1
    # the coders revise; agreement is recomputed as round 2 and round 1 is kept
    study.codings.add("P1_interview", "Cliff edge", "Ben", *span("falling off a cliff edge"))
    second = agreement(study, AB, "character")
    assert float(second.pooled.stats["cohen"]) > float(first.pooled.stats["cohen"])
    assert R.save_round(study, second, by="Ben")["round"] == 2
    rounds = R.rounds(study)
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[0]["value"] == pytest.approx(float(first.pooled.stats["cohen"]), abs=1e-6)
    assert rounds[1]["value"] == pytest.approx(float(second.pooled.stats["cohen"]), abs=1e-6)
    assert rounds[0]["decisions"] == 1 and rounds[1]["decisions"] == 0
    assert rounds[0]["headline"] == first.methods and rounds[0]["created_by"] == "Amira"
    later = R.disagreements(study, AB)[0]
    assert R.decide(study, AB, later.id, "drop", "not a cliff edge", by="Ben")["round"] == 2
    full = R.rounds(study, figures=True)[0]["figures"]
    assert full["unit"] == "character" and "cells" not in full


# -- CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def path(study_path):
    with Study.open(study_path) as s:
        s.coders.add("Chloe")
        s.codings.add("P1_interview", "Cliff edge", "Amira", *span("falling off a cliff edge"))
        s.codings.add("P1_interview", "Cliff edge", "Ben", *span("a cliff edge. The group"))
        s.codings.add("P1_interview", "Pacing", "Amira", *span("Learning to pace myself"))
    return study_path


def test_reconcile_cli_round_trip(qc, path):
    items = qc("disagreements", path, "--coders", "Amira", "Ben", "--json").json()
    assert len(items) == 2
    r = qc("reconcile", path, "--coders", "Amira", "Ben", "--id", items[0]["id"][:6],
           "--decision", "intersection", "--rationale", "core words only", "--by", "Chloe", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["adjudicated"] and d["result"] == [list(span("a cliff edge"))]
    assert d["decided_by"] == "Chloe"
    r = qc("reconcile", path, "--coders", "Amira", "Ben", "--id", items[1]["id"],
           "--decision", "edit", "--span", "{}:{}".format(*span("Learning to pace")),
           "--rationale", "trimmed", "--by", "Amira")
    assert r.code == 0 and "edit for Self-management/Pacing" in r.out
    log = qc("decisions", path, "--json").json()
    assert [x["decision"] for x in log] == ["intersection", "edit"]
    assert "core words only" in qc("decisions", path).out
    codings = qc("codings", path, "--coder", "consensus", "--json").json()
    assert [c["text"] for c in codings] == ["a cliff edge", "Learning to pace"]
    assert qc("disagreements", path, "--coders", "Amira", "Ben", "--json").json() == []
    assert len(qc("disagreements", path, "--coders", "Amira", "Ben", "--all", "--json").json()) == 2
    # agreement of each coder with the consensus is available like any other coder
    assert qc("agreement", path, "--coders", "Amira", "consensus", "--json").code == 0


def test_rounds_cli(qc, path):
    assert "No agreement rounds" in qc("agreement", "rounds", path).out
    r = qc("agreement", path, "--coders", "Amira", "Ben", "--unit", "character", "--save-round",
           "--by", "Amira", "--json")
    assert r.json()["saved_round"]["round"] == 1
    assert qc("reconcile", path, "--coders", "Amira", "Ben", "--accept-agreed", "--by", "Amira").code == 0
    qc("agreement", path, "--coders", "Amira", "Ben", "--save-round")
    rounds = qc("agreement", "rounds", path, "--json").json()
    assert [(x["round"], x["unit"]) for x in rounds] == [(1, "character"), (2, "turn")]
    assert "Two coders" in qc("agreement", "rounds", path, "--round", "1").out
    assert "Saved as agreement round 2" not in qc("agreement", path, "--coders", "Amira", "Ben").err


@pytest.mark.parametrize("args, message", [
    (["--id", "abcd", "--decision", "union", "--rationale", "x", "--by", "Amira"], "no disagreement"),
    (["--decision", "union", "--rationale", "x", "--by", "Amira"], "--id"),
    (["--id", "abcd", "--decision", "wild", "--rationale", "x"], "wild"),
    (["--id", "{id}", "--decision", "union", "--by", "Amira"], "rationale"),
    (["--id", "{id}", "--decision", "union", "--rationale", "x"], "--by"),
    (["--id", "{id}", "--decision", "union", "--rationale", "x", "--by", "Amira", "--span", "1:2"], "--span"),
    (["--id", "{id}", "--decision", "edit", "--rationale", "x", "--by", "Amira", "--span", "9"], "START:END"),
    (["--accept-agreed", "--id", "{id}"], "--accept-agreed"),
])
def test_reconcile_cli_errors(qc, path, args, message, monkeypatch):
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    ident = qc("disagreements", path, "--coders", "Amira", "Ben", "--json").json()[0]["id"]
    before = file_state(path)
    r = qc("reconcile", path, "--coders", "Amira", "Ben", *[a.replace("{id}", ident) for a in args])
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
    if not r.err.startswith("Usage"):  # click's own usage errors show the usage line too
        assert len(r.err.strip().splitlines()) == 1
    assert file_state(path) == before


def test_three_coder_disagreements(study):
    study.codings.add("P1_interview", "Cliff edge", "Chloe", *span("falling off a cliff edge"))
    items = R.disagreements(study, ["Amira", "Ben", "Chloe"])
    cliff = items[0]
    assert set(cliff.spans) == {"Amira", "Ben", "Chloe"}
    d = R.decide(study, ["Amira", "Ben", "Chloe"], cliff.id, "intersection", "common core", by="Chloe")
    assert d["result"] == [span("a cliff edge")] and not d["adjudicated"]


def test_other_document_is_untouched(study):
    add_interview(study, "P2_interview", INTERVIEW.replace("Sarah", "Tom").replace("Peter", "Jim"))
    items = R.disagreements(study, AB)
    assert {i.document for i in items} == {"P1_interview"}  # P2 is not double-coded


def test_saved_rounds_and_assignments_record_the_coder_like_decisions(qc, path, monkeypatch):
    """created_by follows the decisions' rule: --by, then QUALCODE_CODER, then the OS user."""
    import getpass

    monkeypatch.setenv("QUALCODE_CODER", "Ben")
    assert qc("agreement", path, "--coders", "Amira", "Ben", "--save-round").code == 0
    assert qc("agreement", path, "--coders", "Amira", "Ben", "--save-round", "--by", "Amira").code == 0
    assert qc("assign", path, "--coder", "Ben", "--sample", "1", "--seed", "3").code == 0
    monkeypatch.delenv("QUALCODE_CODER")
    assert qc("agreement", path, "--coders", "Amira", "Ben", "--save-round").code == 0
    rounds = qc("agreement", "rounds", path, "--json").json()
    assert [r["created_by"] for r in rounds] == ["Ben", "Amira", getpass.getuser()]
    assert [a["created_by"] for a in qc("assign", path, "--list", "--json").json()] == ["Ben"]
    history = {h["summary"]: h["coder"] for h in qc("history", path, "--json").json()}
    assert history["save agreement round 1 (turn)"] == "Ben"
    assert history["save agreement round 2 (turn)"] == "Amira"
