"""Study-level agreement (qualcode.agreement.units) on hand-built studies.

Character level reproduces NVivo's help example; interval arithmetic equals a naive
per-character computation; every unit's figures equal qualcode.agreement.stats on the
expanded coders x units matrix.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import INTERVIEW, add_interview, parsed_interview
from qualcode.agreement import (cohen_kappa, fleiss_kappa, krippendorff_alpha,
                                percent_agreement)
from qualcode.agreement import stats
from qualcode.agreement.units import (NEITHER, EVERYWHERE, Selection, _order, _unit_resampler,
                                      agreement, binary_stats, character_counts, hit_counts,
                                      merge_spans, pattern_counts, segment_counts,
                                      split_sentences, unit_hits, unit_patterns, unit_presence)
from qualcode.errors import InvalidInput, NotFound
from qualcode.study import Study

# -- helpers ----------------------------------------------------------------------------------


def at(text, needle, nth=1):
    pos = -1
    for _ in range(nth):
        pos = text.index(needle, pos + 1)
    return pos, pos + len(needle)


def code(s, doc, code_, coder, needle, nth=1):
    start, end = at(s.documents.text(s.documents.get(doc).id), needle, nth)
    return s.codings.add(doc, code_, coder, start, end)


def selection(spans, lengths, m, n_codes=1):
    """A Selection without a study: spans (doc, code, coder, start, end), merged like select()."""
    rows = np.asarray(sorted(spans), dtype=np.int64).reshape(-1, 5)
    return Selection(coders=[f"c{i}" for i in range(m)], coder_ids=list(range(m)),
                     document_ids=list(range(len(lengths))),
                     documents=[f"d{i}" for i in range(len(lengths))],
                     lengths=np.asarray(lengths, dtype=np.int64),
                     n_documents_selected=len(lengths), excluded_documents=[],
                     code_ids=list(range(n_codes)), codes=[f"k{i}" for i in range(n_codes)],
                     codes_given=True, spans=merge_spans(rows))


def naive_chars(spans, lengths, m, n_codes):
    """Per code x document, the coders x characters 0/1 matrix, character by character."""
    out = {}
    for c in range(n_codes):
        for d, L in enumerate(lengths):
            mat = np.zeros((m, L), dtype=int)
            for dd, cc, coder, s, e in spans:
                if dd == d and cc == c:
                    mat[coder, s:e] = 1
            out[c, d] = mat
    return out


NVIVO_TEXT = "S: " + "x" * 997  # a 1000-character document (labels are part of the text)


@pytest.fixture
def nvivo_study(tmp_path):
    path = tmp_path / "nvivo.qc"
    s = Study.create(path, coder="A")
    s.coders.add("B")
    add_interview(s, "doc", NVIVO_TEXT)
    s.codes.add("Node")
    s.codes.add("Unused")
    s.codings.add("doc", "Node", "A", 0, 150)      # A: 150 characters
    s.codings.add("doc", "Node", "B", 100, 200)    # B: 100 characters, 50 shared with A
    yield s
    s.close()


# -- character level: NVivo ---------------------------------------------------------------------


def test_character_level_reproduces_nvivo_help_example(nvivo_study):
    # NVivo help "Run a Coding Comparison query": 1000 characters, 50 coded by both, 150 by one
    # coder only, 800 by neither -> percent agreement (800 + 50) / 1000 = 85 %. With the split
    # A-only = 100, B-only = 50, K = (TA - sum EF) / (TU - sum EF) = 0.3181818 (agreement.md §2).
    r = agreement(nvivo_study, ["A", "B"], "character", codes=["Node"])
    cell = r.cells[0]
    assert cell.table == {"both": 50, "a_only": 100, "b_only": 50, "neither": 800}
    assert cell.n_units == 1000
    assert float(cell.stats["percent"]) == pytest.approx(0.85)
    assert float(cell.stats["cohen"]) == pytest.approx(0.3181818, abs=5e-8)
    # NVivo's own expected-frequency form, spelled out
    TU, TA = 1000, 850
    ef1, ef2 = 150 * 100 / TU, 850 * 900 / TU
    assert float(cell.stats["cohen"]) == pytest.approx((TA - ef1 - ef2) / (TU - ef1 - ef2))
    assert r.pooled.table == cell.table and r.unit_label == "characters"
    assert cell.prevalence == pytest.approx((150 + 100) / 2000)
    # same as the stats library on the per-character matrix
    a = [1 if i < 150 else 0 for i in range(1000)]
    b = [1 if 100 <= i < 200 else 0 for i in range(1000)]
    assert float(cell.stats["cohen"]) == pytest.approx(float(cohen_kappa([a, b])))
    assert float(cell.stats["alpha"]) == pytest.approx(float(krippendorff_alpha([a, b], level="nominal")))
    assert float(cell.stats["fleiss"]) == pytest.approx(float(fleiss_kappa([a, b])))


def test_exclude_uncoded_reports_overlap_only(nvivo_study):
    r = agreement(nvivo_study, ["A", "B"], "character", codes=["Node"], exclude_uncoded=True)
    f = r.pooled
    assert f.n_units == 200 and f.table["neither"] == 0
    assert float(f.stats["percent"]) == pytest.approx(50 / 200)
    assert list(f.stats) == ["percent"]
    assert "overlap" in f.stats["percent"].method
    assert "leaving out text no coder coded" in r.methods


def test_no_variation_is_nan_with_reason_unless_nvivo_compat(nvivo_study):
    r = agreement(nvivo_study, ["A", "B"], "character", codes=["Node", "Unused"])
    unused = next(f for f in r.by_code if f.code == "Unused")
    assert math.isnan(unused.stats["cohen"]) and unused.stats["cohen"].reason == NEITHER
    assert float(unused.stats["percent"]) == 1.0
    d = unused.as_dict()["stats"]["cohen"]
    assert d["value"] is None and d["reason"] == NEITHER
    nv = agreement(nvivo_study, ["A", "B"], "character", codes=["Node", "Unused"], nvivo_compat=True)
    unused = next(f for f in nv.by_code if f.code == "Unused")
    assert float(unused.stats["cohen"]) == 1.0 and "NVivo" in unused.stats["cohen"].convention
    assert math.isnan(unused.stats["alpha"])  # only K follows NVivo's convention
    node = next(f for f in nv.by_code if f.code == "Node")
    assert float(node.stats["cohen"]) == pytest.approx(0.3181818, abs=5e-8)


def test_everything_coded_by_everyone_is_no_variation():
    sel = selection([(0, 0, 0, 0, 10), (0, 0, 1, 0, 10)], [10], 2)
    w = character_counts(sel)[0, 0]
    assert w.tolist() == [0, 0, 0, 10]
    assert all(math.isnan(v) for k, v in binary_stats(w, 2).items() if k != "percent")
    from qualcode.agreement.units import _Context
    ctx = _Context("character", ["a", "b"], 1, False, False, 0.9, "union")
    assert ctx.coefficients(w)["cohen"].reason == EVERYWHERE


def test_pooled_figure_is_the_pooled_table_not_a_mean(tmp_path):
    s = Study.create(tmp_path / "p.qc", coder="A")
    s.coders.add("B")
    add_interview(s, "one", "S: " + "a" * 97)
    add_interview(s, "two", "S: " + "b" * 197)
    s.codes.add("K")
    s.codings.add("one", "K", "A", 10, 50)
    s.codings.add("one", "K", "B", 20, 50)
    s.codings.add("two", "K", "A", 0, 100)
    s.codings.add("two", "K", "B", 50, 150)
    r = agreement(s, ["A", "B"], "character")
    pooled = {k: sum(c.table[k] for c in r.cells) for k in r.pooled.table}
    assert r.pooled.table == pooled and r.pooled.n_units == 300
    w = np.array([pooled["neither"], pooled["a_only"], pooled["b_only"], pooled["both"]])
    assert float(r.pooled.stats["cohen"]) == pytest.approx(float(binary_stats(w, 2)["cohen"]))
    assert "pooled 2x2" in " ".join(r.notes)
    assert [f.document for f in r.by_document] == ["one", "two"]
    s.close()


# -- interval arithmetic ------------------------------------------------------------------------

span = st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 2), st.integers(0, 59),
                 st.integers(1, 30))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(span, max_size=25), st.integers(2, 3))
def test_interval_arithmetic_equals_naive_per_character(raw, m):
    lengths = [60, 45]
    spans = []
    for d, c, coder, s, n in raw:
        coder %= m
        s = min(s, lengths[d] - 1)
        spans.append((d, c, coder, s, min(lengths[d], s + n)))
    sel = selection(spans, lengths, m, n_codes=2)
    counts = character_counts(sel)
    naive = naive_chars(spans, lengths, m, 2)
    for (c, d), mat in naive.items():
        patterns = (mat * (1 << np.arange(m))[:, None]).sum(axis=0)
        expected = np.bincount(patterns, minlength=1 << m)
        assert counts[c, d].tolist() == expected.tolist()
        got = binary_stats(counts[c, d], m)
        rows = mat.tolist()
        for key, ref in (("percent", percent_agreement(rows)), ("fleiss", fleiss_kappa(rows)),
                         ("alpha", krippendorff_alpha(rows, level="nominal"))):
            assert (math.isnan(got[key]) and math.isnan(ref)) or got[key] == pytest.approx(float(ref)), key
        if m == 2:
            ref = cohen_kappa(rows)
            assert (math.isnan(got["cohen"]) and math.isnan(ref)) or got["cohen"] == pytest.approx(float(ref))


def test_overlapping_codings_of_one_coder_are_merged_not_double_counted():
    rows = [(0, 0, 0, 0, 10), (0, 0, 0, 5, 20), (0, 0, 0, 20, 25), (0, 0, 0, 30, 40),
            (0, 0, 1, 0, 10), (0, 1, 0, 5, 8)]
    merged = merge_spans(np.array(rows))
    assert merged.tolist() == [[0, 0, 0, 0, 25], [0, 0, 0, 30, 40], [0, 0, 1, 0, 10], [0, 1, 0, 5, 8]]
    sel = selection(rows, [50], 2, n_codes=2)
    w = character_counts(sel)[0, 0]
    assert w.tolist() == [50 - 35, 25, 0, 10]  # coder 0 codes 35 characters, not 45


def test_same_coder_overlaps_in_a_study_count_once(study_path):
    with Study.open(study_path) as s:
        start, end = at(INTERVIEW, "falling off a cliff edge")
        s.codings.add("P1_interview", "Cliff edge", "Amira", start, end - 5)
        s.codings.add("P1_interview", "Cliff edge", "Amira", start + 3, end)
        s.codings.add("P1_interview", "Cliff edge", "Ben", start, end)
        r = agreement(s, ["Amira", "Ben"], "character")
        assert r.pooled.table["both"] == end - start and r.pooled.table["a_only"] == 0
        assert float(r.pooled.stats["cohen"]) == 1.0


def test_overlapping_rows_in_the_store_are_merged_at_agreement_time(study_path):
    """End to end: the coding store merges a coder's overlapping codings whenever it writes, but
    a study can still hold overlapping rows (written by an older qualcode, whose re-import of a
    changed text relocated each coding on its own, or by another tool). Agreement merges them
    again: "never double counted" must hold for whatever rows the study holds."""

    new = "Sarah: I pace myself slowly, every day.\n"
    with Study.open(study_path) as s:
        add_interview(s, "P9_interview", new)
        p9 = s.documents.get("P9_interview").id
        amira = s.coders.get("Amira").id
        pacing = s.codes.get("Pacing").id
        for n, (a, b) in enumerate([at(new, "pace myself"), at(new, "myself slowly")]):
            s.db.execute('INSERT INTO codings (document_id, code_id, coder_id, start, "end", created, guid) '
                         "VALUES (?, ?, ?, ?, ?, '2024-01-01T00:00:00Z', ?)", [p9, pacing, amira, a, b, f"old-{n}"])
        rows = sorted((a, b) for d, _c, k, a, b in s.codings.spans(documents=[p9]) if k == amira)
        # the precondition: two overlapping rows of one coder and one code in the store
        assert rows == [at(new, "pace myself"), at(new, "myself slowly")]
        assert rows[0][1] > rows[1][0]
        union = (rows[0][0], rows[1][1])  # "pace myself slowly": 18 characters, not 11 + 13
        s.codings.add("P9_interview", "Pacing", "Ben", *union)
        # touching codings (one ends where the next begins) stay two rows in the store
        left, right = at(new, "every"), at(new, " day")
        code(s, "P9_interview", "Cliff edge", "Amira", "every")
        s.codings.add("P9_interview", "Cliff edge", "Amira", *right)
        s.codings.add("P9_interview", "Cliff edge", "Ben", left[0], right[1])
        assert len(s.codings.spans(documents=[p9], codes=[s.codes.get("Cliff edge").id])) == 3

        kw = dict(documents=["P9_interview"])
        ch = agreement(s, ["Amira", "Ben"], "character", codes=["Pacing"], **kw)
        assert ch.pooled.table["both"] == union[1] - union[0] == 18
        assert ch.pooled.table["a_only"] == ch.pooled.table["b_only"] == 0
        assert ch.pooled.coded == {"Amira": 18, "Ben": 18}
        assert float(ch.pooled.stats["cohen"]) == 1.0
        # at segment level each coder has one segment per code, matched exactly
        seg = agreement(s, ["Amira", "Ben"], "segment", **kw)
        assert seg.pooled.table == {"a_matched": 2, "a_unmatched": 0, "b_matched": 2,
                                    "b_unmatched": 0}
        assert float(seg.pooled.stats["percent"]) == 1.0
        # the disagreement listing sees no difference either
        from qualcode.agreement.reconcile import disagreements, items

        assert disagreements(s, ["Amira", "Ben"], "character", **kw) == []
        found = items(s, ["Amira", "Ben"], "character", **kw)
        assert [i.spans["Amira"] for i in found] == [[union], [(left[0], right[1])]]


# -- segment level --------------------------------------------------------------------------------


def test_segment_matching_at_thresholds():
    # A [0,100) vs B [5,100): overlap 95 of a union of 100 -> matched at 0.9, not at 0.96
    sel = selection([(0, 0, 0, 0, 100), (0, 0, 1, 5, 100)], [200], 2)
    assert segment_counts(sel, 0.9, "union")[0, 0].tolist() == [1, 0, 1, 0]
    assert segment_counts(sel, 0.96, "union")[0, 0].tolist() == [0, 1, 0, 1]
    # A [0,100) vs B [0,50): union share 0.5, shorter-span share 1.0
    sel = selection([(0, 0, 0, 0, 100), (0, 0, 1, 0, 50), (0, 0, 1, 150, 160)], [200], 2)
    assert segment_counts(sel, 0.9, "union")[0, 0].tolist() == [0, 1, 0, 2]
    assert segment_counts(sel, 0.9, "shorter")[0, 0].tolist() == [1, 0, 1, 1]
    assert segment_counts(sel, 0.5, "union")[0, 0].tolist() == [1, 0, 1, 1]


def naive_segment_counts(merged, n_docs, n_codes, i, j, threshold, overlap):
    """MAXQDA-style checks pair by pair in plain Python: (code, doc) -> [a_m, a_u, b_m, b_u]."""
    out = np.zeros((n_codes, n_docs, 4), dtype=int)
    for me, other, col in ((i, j, 0), (j, i, 2)):
        for d, c, coder, s, e in merged:
            if coder != me:
                continue
            ok = False
            for d2, c2, coder2, s2, e2 in merged:
                if coder2 == other and d2 == d and c2 == c:
                    inter = max(0, min(e, e2) - max(s, s2))
                    denom = (e - s) + (e2 - s2) - inter if overlap == "union" else min(e - s, e2 - s2)
                    ok = ok or (inter > 0 and inter >= threshold * denom - 1e-9 * denom)
            out[c, d, col if ok else col + 1] += 1
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(span, max_size=25), st.integers(2, 3), st.sampled_from([0.3, 0.6, 0.9, 1.0]),
       st.sampled_from(["union", "shorter"]))
def test_segment_counts_equal_a_pairwise_reference(raw, m, threshold, overlap):
    lengths = [60, 45]
    spans = []
    for d, c, coder, s, n in raw:
        s = min(s, lengths[d] - 1)
        spans.append((d, c, coder % m, s, min(lengths[d], s + n)))
    sel = selection(spans, lengths, m, n_codes=2)
    merged = [tuple(r) for r in sel.spans.tolist()]
    expected = sum(naive_segment_counts(merged, 2, 2, i, j, threshold, overlap)
                   for i in range(m) for j in range(i + 1, m))
    assert segment_counts(sel, threshold, overlap).tolist() == expected.tolist()


def test_segment_level_report_pobs_and_brennan_prediger(study_path):
    with Study.open(study_path) as s:
        code(s, "P1_interview", "Cliff edge", "Amira", "falling off a cliff edge")
        code(s, "P1_interview", "Cliff edge", "Ben", "falling off a cliff edge")
        code(s, "P1_interview", "Pacing", "Amira", "Learning to pace myself")
        code(s, "P1_interview", "Pacing", "Ben", "pace myself")        # 11/23 < 90 %: no match
        code(s, "P1_interview", "Pacing", "Ben", "even on bad days")   # Ben only
        r = agreement(s, ["Amira", "Ben"], "segment")
        assert r.codes == ["Programme ending/Cliff edge", "Self-management/Pacing"]
        assert r.pooled.table == {"a_matched": 1, "a_unmatched": 1, "b_matched": 1, "b_unmatched": 2}
        p = 2 / 5
        assert float(r.pooled.stats["percent"]) == pytest.approx(p)
        assert float(r.pooled.stats["bp"]) == pytest.approx((p - 1 / 2) / (1 - 1 / 2))
        assert "MAXQDA-compatible, not Cohen's kappa" in r.pooled.stats["bp"].method
        assert r.pooled.prevalence is None and r.headline == "bp"
        cliff = r.by_code[0]
        assert float(cliff.stats["percent"]) == 1.0 and float(cliff.stats["bp"]) == 1.0
        loose = agreement(s, ["Amira", "Ben"], "segment", threshold=0.4, overlap="union")
        assert loose.pooled.table["a_matched"] == 2
        shorter = agreement(s, ["Amira", "Ben"], "segment", overlap="shorter")
        assert shorter.pooled.table == {"a_matched": 2, "a_unmatched": 0, "b_matched": 2,
                                        "b_unmatched": 1}
        assert "q = 2" in r.methods and "not Cohen's κ" in r.methods
        one = agreement(s, ["Amira", "Ben"], "segment", codes=["Pacing"])
        assert math.isnan(one.pooled.stats["bp"]) and "q = 1" in one.pooled.stats["bp"].reason


# -- turn, sentence and document levels -----------------------------------------------------------


@pytest.fixture
def coded_study(study_path):
    s = Study.open(study_path)
    add_interview(s, "P2_interview", INTERVIEW.replace("Sarah", "Tom").replace("Peter", "Jim"))
    for doc in ("P1_interview", "P2_interview"):
        code(s, doc, "Cliff edge", "Amira", "falling off a cliff edge")
        code(s, doc, "Cliff edge", "Ben", "cliff edge")
        code(s, doc, "Pacing", "Amira", "Learning to pace myself")
    code(s, "P1_interview", "Pacing", "Ben", "I still pace myself every day")
    code(s, "P2_interview", "Pacing", "Ben", "Honestly")
    code(s, "P2_interview", "Self-management", "Ben", "The group was my lifeline")
    yield s
    s.close()


def test_turn_level_equals_stats_library_on_the_derived_matrix(coded_study):
    r = agreement(coded_study, ["Amira", "Ben"], "turn")
    assert r.unit_label == "speaker turns"
    assert r.codes == ["Programme ending/Cliff edge", "Self-management", "Self-management/Pacing"]
    assert r.by_code[0].n_units == 8  # 4 turns x 2 documents
    pacing = r.matrix("Self-management/Pacing")
    # P1: both coders code turn 4; P2: Amira turn 4, Ben turn 2 ("Honestly")
    assert pacing == [[0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0, 1, 0, 1, 0, 0]]
    for fig in [*r.by_code, r.pooled]:
        mat = r.matrix(fig.code)
        for key, ref in (("cohen", cohen_kappa(mat)), ("alpha", krippendorff_alpha(mat, level="nominal")),
                         ("fleiss", fleiss_kappa(mat)), ("percent", percent_agreement(mat))):
            got = fig.stats[key]
            if math.isnan(ref):
                assert math.isnan(got)
            else:
                assert float(got) == pytest.approx(float(ref)), (fig.code, key)
    assert r.pooled.n_units == 3 * 8
    assert r.pooled.prevalence == pytest.approx(sum(map(sum, r.matrix())) / (2 * 24))


def test_min_overlap_rule_for_units(coded_study):
    # "cliff edge" is 10 characters of a long turn: present with any overlap, absent at 50 %
    any_ = agreement(coded_study, ["Amira", "Ben"], "turn", codes=["Cliff edge"])
    assert any_.pooled.table["both"] == 2
    half = agreement(coded_study, ["Amira", "Ben"], "turn", codes=["Cliff edge"], min_overlap=0.5)
    assert half.pooled.table["both"] == 0 and half.pooled.table["neither"] == 8


def test_sentence_splitter():
    text = "Dr. Smith came. He said hello! Did he? Yes… e.g. this one.\nNew line here"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith came.", "He said hello!", "Did he?", "Yes…", "e.g. this one.", "New line here"]
    assert split_sentences("  padded.  Two ", 0) == [(2, 9), (11, 14)]


def test_sentence_level(coded_study):
    r = agreement(coded_study, ["Amira", "Ben"], "sentence")
    assert r.unit_label == "sentences" and r.options["sentencizer"] == "regex"
    n_sent = sum(len(split_sentences(INTERVIEW, t.start, t.end))
                 for t in coded_study.documents.turns(coded_study.documents.get("P1_interview").id))
    assert r.by_code[0].n_units == 2 * n_sent
    mat = r.matrix()
    assert float(r.pooled.stats["cohen"]) == pytest.approx(float(cohen_kappa(mat)))


def test_spacy_sentencizer_is_an_option(coded_study):
    pytest.importorskip("spacy")
    r = agreement(coded_study, ["Amira", "Ben"], "sentence", sentencizer="spacy")
    assert r.options["sentencizer"] == "spacy" and r.by_code[0].n_units > 8
    assert float(r.pooled.stats["cohen"]) == pytest.approx(float(cohen_kappa(r.matrix())))


def test_document_level(coded_study):
    r = agreement(coded_study, ["Amira", "Ben"], "document")
    assert [f.n_units for f in r.by_code] == [2, 2, 2]
    assert r.matrix("Self-management") == [[0, 0], [0, 1]]
    assert r.matrix() == [[1, 1, 0, 0, 1, 1], [1, 1, 0, 1, 1, 1]]
    assert float(r.pooled.stats["percent"]) == pytest.approx(5 / 6)
    assert float(r.pooled.stats["cohen"]) == pytest.approx(float(cohen_kappa(r.matrix())))
    assert r.cell_values("percent")[2].shape == (3, 2)


# -- sparse unit presence against a slow reference ------------------------------------------------


def naive_presence(spans, units, m, n_codes, min_overlap):
    """Coders x codes x units, the slow way: each coder's coded characters of a code as a Python
    set (overlapping codings count once), then per unit the characters it shares with that set."""
    present = np.zeros((m, n_codes, len(units)), dtype=bool)
    chars = {}
    for d, c, coder, s, e in spans:
        chars.setdefault((d, c, coder), set()).update(range(s, e))
    for u, (d, s, e) in enumerate(units):
        need = max(1, math.ceil(min_overlap * (e - s)))
        for c in range(n_codes):
            for coder in range(m):
                covered = chars.get((d, c, coder), set())
                present[coder, c, u] = sum(1 for x in range(s, e) if x in covered) >= need
    return present


def random_units(cuts, lengths):
    """Sorted, disjoint units per document from random cut points (gaps between them stay
    outside every unit, like speaker labels)."""
    units = []
    for d, L in enumerate(lengths):
        points = sorted({min(p, L) for p in cuts[d]} | {0, L})
        for a, b in itertools.pairwise(points):
            if b - a >= 2:
                units.append((d, a + 1, b))  # the first character of each piece is a "label"
    return units


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(span, max_size=25), st.integers(2, 3),
       st.lists(st.lists(st.integers(0, 60), max_size=8), min_size=2, max_size=2),
       st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_sparse_unit_presence_equals_a_per_character_reference(raw, m, cuts, min_overlap):
    lengths = [60, 45]
    spans = []
    for d, c, coder, s, n in raw:
        s = min(s, lengths[d] - 1)
        spans.append((d, c, coder % m, s, min(lengths[d], s + n)))
    units = random_units(cuts, lengths)
    sel = selection(spans, lengths, m, n_codes=2)
    ud, us, ue = (np.asarray([u[i] for u in units], dtype=np.int64) for i in range(3))
    expected = naive_presence(spans, units, m, 2, min_overlap)
    hits = unit_hits(sel, ud, us, ue, min_overlap)
    assert hits.dense().tolist() == expected.tolist()
    assert unit_presence(sel, ud, us, ue, min_overlap).tolist() == expected.tolist()
    dense_patterns = unit_patterns(expected)
    assert dense_patterns.tolist() == (expected * (1 << np.arange(m))[:, None, None]).sum(0).tolist()
    assert hit_counts(hits, ud, 2).tolist() == pattern_counts(dense_patterns, ud, 2, m).tolist()
    # unit-level bootstrap: sparse resampled counts equal one-hot products on the dense patterns
    K = 1 << m
    w = np.random.default_rng(len(units)).integers(0, 3, size=(4, len(units))).astype(float)
    dense = np.stack([w @ (dense_patterns[c][:, None] == np.arange(K)[None, :]) for c in range(2)], 1)
    assert _unit_resampler(hits, K)(w).tolist() == dense.tolist()


def test_turn_level_counts_equal_the_dense_computation_on_a_study(coded_study):
    """The report's unit counts come from sparse hits; the dense cube gives the same table."""
    for unit in ("turn", "sentence", "document"):
        for min_overlap in (0.0, 0.3):
            r = agreement(coded_study, ["Amira", "Ben"], unit, min_overlap=min_overlap)
            mat = np.asarray(r.matrix())
            patterns = mat[0] + 2 * mat[1]
            expected = np.bincount(patterns, minlength=4)
            assert [r.pooled.table[k] for k in ("neither", "a_only", "b_only", "both")] == expected.tolist()


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(-2, 50)), max_size=30))
def test_row_order_is_lexicographic(rows):
    cols = [np.asarray([r[i] for r in rows], dtype=np.int64) for i in range(3)]
    if not rows:
        assert _order(cols).tolist() == []
        return
    expected = np.lexsort((cols[2], cols[1], cols[0]))
    assert _order(cols).tolist() == expected.tolist()


def test_all_documents_with_uncoded_documents_after_the_coded_ones(coded_study):
    # P3 (the newest document, highest id) has no coding at all: it still counts as a document
    # where nobody coded anything, instead of breaking the id lookup
    add_interview(coded_study, "P3_interview", INTERVIEW.replace("Sarah", "Ann").replace("Peter", "Al"))
    r = agreement(coded_study, ["Amira", "Ben"], "turn", all_documents=True)
    assert r.documents == ["P1_interview", "P2_interview", "P3_interview"]
    last = r.by_document[-1]
    assert last.table == {"both": 0, "a_only": 0, "b_only": 0, "neither": last.n_units}
    assert r.by_code[0].n_units == 3 * 4


# -- several coders -------------------------------------------------------------------------------


def test_three_coders_pairwise_matrix_fleiss_and_alpha(coded_study):
    s = coded_study
    s.coders.add("Chloe")
    for doc in ("P1_interview", "P2_interview"):
        code(s, doc, "Cliff edge", "Chloe", "falling off")
    code(s, "P1_interview", "Pacing", "Chloe", "Pacing.")
    r = agreement(s, ["Amira", "Ben", "Chloe"], "turn")
    assert r.headline == "fleiss" and "cohen" not in r.pooled.stats
    mat = r.matrix()
    assert float(r.pooled.stats["fleiss"]) == pytest.approx(float(fleiss_kappa(mat)))
    assert float(r.pooled.stats["alpha"]) == pytest.approx(float(krippendorff_alpha(mat, level="nominal")))
    assert float(r.pooled.stats["percent"]) == pytest.approx(float(percent_agreement(mat)))
    kappa = r.pairwise["kappa"]
    assert r.pairwise["coders"] == ["Amira", "Ben", "Chloe"]
    for i in range(3):
        assert kappa[i][i] == 1.0
        for j in range(3):
            if i != j:
                ref = cohen_kappa([mat[i], mat[j]])
                assert kappa[i][j] == pytest.approx(float(ref), abs=1e-6)
                assert kappa[i][j] == kappa[j][i]
    assert r.pooled.table == {f"coded_by_{k}": sum(1 for u in zip(*mat) if sum(u) == k) for k in range(4)}
    assert r.methods.startswith("Three coders independently coded 2 of 2 transcripts")
    seg = agreement(s, ["Amira", "Ben", "Chloe"], "segment")
    assert len(seg.pairwise["kappa"]) == 3 and "summed over coder pairs" in seg.pooled.stats["bp"].method


# -- bootstrap ------------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed(coded_study):
    # (two documents give only 3 distinct document resamples: units show the seed's effect)
    a = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=300, seed=11, resample="units")
    b = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=300, seed=11, resample="units")
    c = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=300, seed=12, resample="units")
    assert a.pooled.ci == b.pooled.ci and a.by_code[0].ci == b.by_code[0].ci
    assert a.pooled.ci != c.pooled.ci
    lo, hi = a.pooled.ci["cohen"]
    assert lo <= float(a.pooled.stats["cohen"]) <= hi
    assert a.options["seed"] == 11 and a.options["bootstrap"] == 300
    assert "95 % CI" in a.methods
    d = a.pooled.as_dict()["stats"]["cohen"]
    assert d["ci95"] == [round(lo, 6), round(hi, 6)] and d["bootstrap_valid"] <= 300
    ch = agreement(coded_study, ["Amira", "Ben"], "character", bootstrap=200, seed=1)
    assert "resampled unit: whole documents (2 documents" in " ".join(ch.notes)
    unseeded = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=50)
    assert isinstance(unseeded.options["seed"], int)  # reported, so it can be reproduced


def test_bootstrap_honesty_warnings_and_flags(coded_study):
    """Few clusters to resample, rare codes and degenerate intervals are said, not hidden."""
    ch = agreement(coded_study, ["Amira", "Ben"], "character", bootstrap=200, seed=1)
    assert ch.options["bootstrap_clusters"] == 2
    # 2 documents: only C(3, 2) = 3 distinct resamples
    assert ch.warnings[0].startswith("the bootstrap resamples whole documents and there are only "
                                     "2 double-coded documents: at most 3 distinct resamples")
    assert all(f.ci_note for f in [ch.pooled, *ch.by_code])
    assert ch.pooled.as_dict()["ci_note"].startswith("few positive documents")
    assert "percentile bootstrap, 200 resamples of whole transcripts" in ch.methods
    # turns: whole documents by default, as characters (the cluster bootstrap)
    turn = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=200, seed=1)
    assert (turn.options["resample"], turn.options["bootstrap_clusters"]) == ("documents", 2)
    assert "resampled unit: whole documents (2 documents; speaker turns within a document are not " \
           "independent)" in " ".join(turn.notes)
    assert turn.warnings[0].startswith("the bootstrap resamples whole documents and there are only "
                                       "2 double-coded documents: at most 3 distinct resamples")
    assert turn.pooled.ci_note.startswith("few positive documents: 2 documents hold any code")
    assert "percentile bootstrap, 200 resamples of whole transcripts" in turn.methods
    # turns drawn one by one, on request
    turn = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=200, seed=1, resample="units")
    assert turn.options["bootstrap_clusters"] == 8  # the 8 turns of the two documents
    assert "resampled unit: speaker turns (8 speaker turns" in " ".join(turn.notes)
    # every code here holds fewer than 5 turns: flagged with the reason
    cliff = turn.by_code[0]
    assert cliff.ci_note == ("few positive units: 2 speaker turns hold this code (fewer than 5), "
                             "the interval is not reliable")
    assert turn.warnings == ["the bootstrap resamples speaker turns and there are only 8 speaker "
                             "turns: at most 6,435 distinct resamples, so the 95 % intervals are "
                             "rough (fewer than 10 clusters); every interval is marked †"]
    assert turn.as_dict()["warnings"] == turn.warnings
    # a third double-coded document: 12 turns to resample, only the rare codes are flagged
    add_interview(coded_study, "P3_interview", INTERVIEW.replace("Sarah", "Ann"))
    for coder in ("Amira", "Ben"):
        code(coded_study, "P3_interview", "Cliff edge", coder, "falling off a cliff edge")
        code(coded_study, "P3_interview", "Self-management", coder, "How has the pain")
        code(coded_study, "P3_interview", "Self-management", coder, "What helped you most?")
    turn = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=200, seed=1, resample="units")
    assert turn.options["bootstrap_clusters"] == 12 and turn.pooled.ci_note is None
    assert [f.code for f in turn.by_code if f.ci_note] == [f.code for f in turn.by_code]
    assert turn.warnings == ["3 codes have an unreliable bootstrap interval (fewer than 5 positive "
                             "units holding the code, or every resample the same value; marked †): "
                             "Programme ending/Cliff edge, Self-management, "
                             "Self-management/Pacing"]
    # a degenerate interval is flagged even with enough positive units
    from qualcode.agreement.units import _ci_note

    many = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=50, seed=1)
    fig = many.by_code[0]
    fig.ci = {"cohen": (1.0, 1.0)}
    assert _ci_note(fig, 12, "turn") == "degenerate interval: every resample gave the same value"
    fig.ci = {"cohen": (0.4, 0.9)}
    assert _ci_note(fig, 12, "turn") is None
    # no intervals, no notes; a seed without resamples is a warning
    plain = agreement(coded_study, ["Amira", "Ben"], "turn", seed=4)
    assert plain.warnings == ["a seed was given without bootstrap resamples (--bootstrap N): no "
                              "confidence intervals were computed and the seed was not used"]
    assert "ci_note" not in plain.pooled.as_dict() and "95 %" not in plain.methods
    assert agreement(coded_study, ["Amira", "Ben"], "turn").warnings == []


def test_turns_are_resampled_as_whole_documents_so_clustered_agreement_is_not_overstated(study_path):
    """Six transcripts where the coders agree on every turn, six where they agree on none: the
    turns of one transcript rise and fall together. Drawing turns one by one treats 252 turns as
    independent and gives a narrow interval; drawing whole transcripts (the default) gives the
    honest, wide one, equal to resampling the twelve documents' counts by hand."""
    from qualcode.agreement.units import _bootstrap

    text = "\n\n".join(f"Interviewer: Question {k}?\n\nSarah: Answer {k}, with pain." for k in range(10)) + "\n"
    with Study.open(study_path) as s:
        for d in range(12):
            name = f"D{d:02}"
            add_interview(s, name, f"Interviewer: Hello, this is {name}.\n\n" + text)
            for k in range(10):
                code(s, name, "Pacing", "Amira", f"Answer {k},")
                code(s, name, "Pacing", "Ben", f"Answer {k}," if d < 6 else f"Question {k}?")
        kw = dict(documents=[f"D{d:02}" for d in range(12)], codes=["Pacing"], bootstrap=400, seed=7)
        docs = agreement(s, ["Amira", "Ben"], "turn", **kw)
        units = agreement(s, ["Amira", "Ben"], "turn", resample="units", **kw)
    assert docs.options["bootstrap_clusters"] == 12 and units.options["bootstrap_clusters"] == 12 * 21
    lo_d, hi_d = docs.pooled.ci["percent"]
    lo_u, hi_u = units.pooled.ci["percent"]
    # agreed: all 21 turns of the first six, only the greeting (coded by neither) of the others
    assert float(docs.pooled.stats["percent"]) == pytest.approx((6 * 21 + 6 * 1) / (12 * 21))
    assert hi_d - lo_d > 2 * (hi_u - lo_u)
    # by hand: per-document agreed and total turns, the same seeded draws of 12 documents
    agreed = np.array([float(f.stats["percent"]) * f.n_units for f in docs.by_document])
    total = np.array([f.n_units for f in docs.by_document], dtype=float)
    rng, reps = np.random.default_rng(7), []
    chunk = _bootstrap.__defaults__[0]
    for start in range(0, 400, chunk):
        idx = rng.integers(0, 12, size=(min(chunk, 400 - start), 12))
        reps += list(agreed[idx].sum(axis=1) / total[idx].sum(axis=1))
    assert (lo_d, hi_d) == pytest.approx((np.percentile(reps, 2.5), np.percentile(reps, 97.5)))


def test_bootstrap_statistics_match_the_library_on_resampled_matrices():
    rng = np.random.default_rng(5)
    mat = rng.integers(0, 2, size=(2, 40))
    patterns = mat[0] + 2 * mat[1]
    for _ in range(20):
        idx = rng.integers(0, 40, 40)
        w = np.bincount(patterns[idx], minlength=4)
        got = binary_stats(w, 2)
        rows = mat[:, idx].tolist()
        assert got["cohen"] == pytest.approx(float(cohen_kappa(rows)))
        assert got["alpha"] == pytest.approx(float(krippendorff_alpha(rows, level="nominal")))


# -- edge cases -----------------------------------------------------------------------------------


def test_one_coder_only(coded_study):
    r = agreement(coded_study, ["Amira"], "turn")
    assert math.isnan(r.pooled.stats["alpha"]) and r.pooled.stats["alpha"].reason == stats.ONE_CODER
    assert r.as_dict()["pooled"]["stats"]["alpha"]["value"] is None
    assert r.methods == ("Agreement needs at least two coders; only Amira was named, so no "
                         "agreement figure is defined.")
    assert r.warnings == ["only one coder (Amira) was named: agreement needs two or more coders, "
                          "so every figure is undefined"]
    assert r.as_dict()["warnings"] == r.warnings


def test_a_coder_who_coded_nothing(coded_study):
    coded_study.coders.add("Dan")
    r = agreement(coded_study, ["Amira", "Dan"], "turn")
    assert r.documents == [] and len(r.excluded_documents) == 2
    assert r.excluded_documents[0]["not_coded_by"] == ["Dan"]
    assert r.pooled.n_units == 0 and math.isnan(r.pooled.stats["cohen"])
    assert r.pooled.stats["cohen"].reason and "0 of 2" in r.notes[0]
    assert r.methods == ("No transcript was coded by both coders (Amira and Dan), so agreement "
                         "could not be computed.")
    assert r.warnings[0].startswith("no document was coded by both Amira and Dan, so there is "
                                    "nothing to compare: Dan coded none of the 2 documents")
    # counting every document: Dan's silence is "not coded", so kappa is 0 by the formula
    r = agreement(coded_study, ["Amira", "Dan"], "character", all_documents=True)
    assert float(r.pooled.stats["cohen"]) == 0.0
    assert r.pairwise["kappa"][0][1] == 0.0


def test_empty_study_and_no_codings(tmp_path):
    s = Study.create(tmp_path / "e.qc", coder="A")
    s.coders.add("B")
    for unit in ("character", "segment", "turn", "sentence", "document"):
        r = agreement(s, ["A", "B"], unit, bootstrap=20, seed=1)
        assert r.codes == [] and r.documents == [] and r.pooled.n_units == 0
        assert all(math.isnan(c) for c in r.pooled.stats.values())
        r.as_dict()
    s.close()


def test_documents_only_count_when_coded_by_all_coders(coded_study):
    code(coded_study, "P1_interview", "Pacing", "Ben", "Pacing.")
    add_interview(coded_study, "P3_interview", INTERVIEW.replace("Sarah", "Ann").replace("Peter", "Al"))
    code(coded_study, "P3_interview", "Pacing", "Amira", "Pacing.")
    r = agreement(coded_study, ["Amira", "Ben"], "turn")
    assert r.documents == ["P1_interview", "P2_interview"]
    assert r.excluded_documents == [{"document": "P3_interview", "coded_by": ["Amira"],
                                     "not_coded_by": ["Ben"]}]
    assert "2 of 3 transcripts (67 %)" in r.methods
    r = agreement(coded_study, ["Amira", "Ben"], "turn", documents=["P2_interview", "P3_interview"])
    assert r.documents == ["P2_interview"] and r.n_documents_selected == 2
    # the methods sentence counts the study's transcripts, not the selected ones
    assert r.n_documents_study == 3
    assert r.methods.startswith("Two coders independently coded 1 of 3 transcripts (33 %)")


def test_report_text_has_singular_and_plural_right(study_path):
    """1 of 1 transcript, 1 code, 1 double-coded document: never "1 codes"."""
    import re

    from qualcode.agreement.report import text_report

    with Study.open(study_path) as s:
        code(s, "P1_interview", "Pacing", "Amira", "Learning to pace myself")
        code(s, "P1_interview", "Pacing", "Ben", "Learning to pace")
        for unit in ("turn", "character", "segment", "document"):
            r = agreement(s, ["Amira", "Ben"], unit)
            text = text_report(r)
            assert r.methods.startswith("Two coders independently coded 1 of 1 transcript (100 %);")
            assert "(1 double-coded document, 1 code)" in text
            assert not re.search(r"\b1 (transcripts|codes|documents|segments|units|code × \w+ "
                                 r"units)\b", text), (unit, text)
        r = agreement(s, ["Amira", "Ben"], "document")
        assert "pooled over 1 code (1 code × document unit" in r.methods
        seg = agreement(s, ["Amira", "Ben"], "segment", threshold=0.5)
        assert "over 2 segments and 1 code" in seg.methods
        every = agreement(s, ["Amira", "Ben"], "turn", all_documents=True)
        assert every.methods.startswith("Two coders' codings of 1 of 1 transcript (100 %) were "
                                        "compared")


@pytest.mark.parametrize("kwargs, error", [
    (dict(unit="paragraph"), InvalidInput), (dict(coders=["Nobody", "Ben"]), NotFound),
    (dict(coders=["Ben", "ben"]), InvalidInput), (dict(coders=[]), InvalidInput),
    (dict(threshold=1.5, unit="segment"), InvalidInput), (dict(overlap="max"), InvalidInput),
    (dict(exclude_uncoded=True), InvalidInput), (dict(nvivo_compat=True), InvalidInput),
    (dict(codes=["No such code"]), NotFound), (dict(documents=["nope"]), NotFound),
    (dict(min_overlap=2.0), InvalidInput), (dict(bootstrap=-1), InvalidInput),
    (dict(sentencizer="nltk", unit="sentence"), InvalidInput),
])
def test_user_errors(coded_study, kwargs, error):
    kwargs = {"coders": ["Amira", "Ben"], "unit": "turn", **kwargs}
    with pytest.raises(error):
        agreement(coded_study, kwargs.pop("coders"), kwargs.pop("unit"), **kwargs)


def test_report_json_is_complete(coded_study):
    import json

    r = agreement(coded_study, ["Amira", "Ben"], "turn", bootstrap=50, seed=2)
    d = json.loads(json.dumps(r.as_dict()))
    assert d["unit"] == "turn" and d["headline"] == "cohen"
    assert {"pooled", "by_code", "by_document", "cells", "pairwise", "methods", "notes"} <= set(d)
    assert len(d["cells"]) == len(r.codes) * len(r.documents)
    s = d["pooled"]["stats"]["cohen"]
    assert {"value", "method", "reason", "n_units", "ci95"} <= set(s)
