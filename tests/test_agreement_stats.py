"""qualcode.agreement.stats against published examples, documented edge cases and the
``krippendorff`` package. Every published value names its source; tolerances are half a unit of
the printed precision (agreement.md pitfalls 9 and 11: printed values are rounded)."""

import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.agreement import (
    Coefficient,
    brennan_prediger,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    from_units,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
)
from qualcode.errors import InvalidInput

_ = None


def printed(value, digits):
    """Tolerance for a value printed with ``digits`` decimals."""
    return pytest.approx(value, abs=0.5 * 10**-digits + 1e-12)


def expand(table, cats):
    """A two-coder contingency table (rows: coder 1) -> the reliability matrix it summarises."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, k in enumerate(row):
            a += [cats[i]] * k
            b += [cats[j]] * k
    return [a, b]


def from_distribution(rows, cats):
    """Fleiss-style counts (units x categories) -> coder rows; coder identity is irrelevant to
    the statistics that are published in this form, and units with fewer raters get None."""
    units = [[c for c, k in zip(cats, row) for _ in range(k)] for row in rows]
    m = max(map(len, units))
    return [[u[i] if i < len(u) else None for u in units] for i in range(m)]


# --- Published data sets --------------------------------------------------------------------

# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", example C: 4 observers x 12
# units with missing values. The same matrix (transposed) is irrCAC's cac.raw4raters (Gwet 2014,
# Handbook of Inter-Rater Reliability, 4th ed., p. 120).
KRIPP_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]

# Krippendorff (2011) example B, Ben and Gerry, nominal, as printed (unit 10: both "d").
BEN = "a a b b d c c c e d d a".split()
GERRY = "b a b b b c c c e d d d".split()

# Fleiss (1971) Table 1 as raw ratings (6 psychiatrists per patient, 30 patients, 5 diagnoses),
# the R irr data set `diagnoses` as transcribed in statsmodels' test_inter_rater.py.
FLEISS_1971 = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]).T

# R irr `anxiety` (20 subjects, ratings 1..6 by 3 raters), as transcribed in statsmodels.
ANXIETY = np.array([
    [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
    [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
    [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
])

# irrCAC cont3x3abstractors (Gwet 2014): 100 pregnancies classified by two abstractors.
ABSTRACTORS = expand([[13, 0, 0], [0, 20, 7], [0, 4, 56]], ["Ectopic", "AIU", "NIU"])


# --- Krippendorff's alpha -------------------------------------------------------------------

@pytest.mark.parametrize("level, published", [
    ("nominal", .743), ("ordinal", .815), ("interval", .849), ("ratio", .797)])
def test_alpha_krippendorff_2011_example_c(level, published):
    a = krippendorff_alpha(KRIPP_C, level=level)
    assert a == printed(published, 3)
    assert (a.n_units, a.n_coders, a.n_values) == (11, 4, 40)  # unit 12 has one value only
    assert a.reason is None and a.method == f"Krippendorff's alpha ({level})"


def test_alpha_ordinal_ignores_unused_values_krippendorff_2011():
    """agreement.md §1: adding unused values 6 and 7 to the domain leaves ordinal .815."""
    wide = krippendorff_alpha(KRIPP_C, level="ordinal", categories=[1, 2, 3, 4, 5, 6, 7])
    assert wide == pytest.approx(krippendorff_alpha(KRIPP_C, level="ordinal"), abs=1e-12)
    assert wide == printed(.815, 3)


def test_alpha_ordinal_on_labels_uses_declared_order_krippendorff_2011():
    names = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    labelled = [[names.get(v) for v in row] for row in KRIPP_C]
    a = krippendorff_alpha(labelled, level="ordinal", categories=list(names.values()))
    assert a == printed(.815, 3)
    with pytest.raises(InvalidInput, match="order"):
        krippendorff_alpha(labelled, level="ordinal")


def test_alpha_ben_gerry_as_printed_in_krippendorff_2011_example_b():
    assert krippendorff_alpha([BEN, GERRY], level="nominal") == printed(.692, 3)


def test_alpha_ben_gerry_irrcac_copy_differs_agreement_md_pitfall_8():
    """irrCAC's cac.ben.gerry leaves Gerry's unit 10 blank: .6649, not the published .692."""
    gerry = list(GERRY)
    gerry[9] = None
    assert krippendorff_alpha([BEN, gerry], level="nominal") == printed(.6649, 4)


def test_atlas_ti_manual_binary_example():
    """ATLAS.ti 9 manual, "Methods for testing ICA" (after Krippendorff 2004 pp. 224-226):
    PA = 60 %, expected agreement 56 % = (9.6 + 1.6)/20, alpha = .095."""
    data = [[int(c) for c in "1100000000"], [int(c) for c in "0110010100"]]
    assert percent_agreement(data) == pytest.approx(.60)
    a = krippendorff_alpha(data, level="nominal")
    assert a == printed(.095, 3)
    assert 1 - a.d_e == pytest.approx(212 / 380)  # the manual's 56 %
    # binary form of agreement.md §1: alpha = 1 - (n-1) o_01 / (n_0 n_1), n = 20, o_01 = 4
    assert a == pytest.approx(1 - 19 * 4 / (14 * 6))


def test_alpha_and_scott_pi_relation_cont3x3abstractors():
    """irrCAC README (Gwet 2014 data): pi = .7962397, alpha = .7972585, and for 2 coders with
    no missing data alpha = 1 - (2N-1)/(2N) (1 - pi) (agreement.md §1)."""
    pi = scott_pi(ABSTRACTORS)
    a = krippendorff_alpha(ABSTRACTORS, level="nominal")
    assert pi == printed(.7962397, 7)
    assert a == printed(.7972585, 7)
    assert a == pytest.approx(1 - (2 * 100 - 1) / (2 * 100) * (1 - pi))


def test_alpha_gwet_dist_6raters_irrcac_readme():
    """irrCAC README, distrib.6raters (15 patients x 6 psychiatrists): alpha = .4204384."""
    assert krippendorff_alpha(from_distribution(DIST_6RATERS, "DPSNO"), level="nominal") == \
        printed(.4204384, 7)


# --- Cohen, Scott, weighted kappa -----------------------------------------------------------

def test_cohen_kappa_wikipedia_2x2_example():
    """Wikipedia "Cohen's kappa", simple example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no:
    p_o = .7, p_e = .5, kappa = .4."""
    k = cohen_kappa(expand([[20, 5], [10, 15]], ["yes", "no"]))
    assert k == pytest.approx(.4)
    assert (k.p_o, k.p_e) == (pytest.approx(.7), pytest.approx(.5))
    assert k.method == "Cohen's kappa (unweighted)" and k.n_units == 50


def test_cohen_1960_worked_example():
    """Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
    Psychological Measurement 20(1), 37-46: the worked example of two judges sorting N = 200
    units into three categories, as a matrix of proportions (judge A rows, judge B columns)

        .44 .07 .09 | .60
        .05 .20 .05 | .30
        .01 .03 .06 | .10
        .50 .30 .20

    p_o = .44 + .20 + .06 = .70, p_c = .60 x .50 + .30 x .30 + .10 x .20 = .41 and
    kappa = (.70 - .41) / (1 - .41) = .4915. The proportions are used as counts out of 200."""
    counts = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]
    data = expand(counts, [1, 2, 3])
    k = cohen_kappa(data)
    assert k.p_o == pytest.approx(.70) and k.p_e == pytest.approx(.41)
    assert k == printed(.4915, 4)
    assert k == pytest.approx(.29 / .59)
    assert k.n_units == 200 and percent_agreement(data) == pytest.approx(.70)
    # the same value from the contingency table itself
    table, cats = confusion_matrix(*data)
    assert table.tolist() == counts and cats == [1, 2, 3]


def test_cohen_kappa_sas_3x3_example_unweighted_and_linear():
    """SAS PROC FREQ printout quoted in statsmodels' test_inter_rater.py for the table
    [[0,4,1],[0,8,0],[0,1,5]]: simple kappa .4842, weighted kappa (Cicchetti-Allison, scores
    0,1,2) .4701."""
    data = expand([[0, 4, 1], [0, 8, 0], [0, 1, 5]], [0, 1, 2])
    assert cohen_kappa(data) == printed(.4842, 4)
    assert cohen_kappa(data, weights="linear") == printed(.4701, 4)


def test_cohen_kappa_r_irr_three_category_tutorial():
    """R irr kappa2 on the V/N/P table [[53,5,2],[11,14,5],[1,6,3]] (RExRepos 'Inter-rater
    reliability'): %-agree 70, kappa .429."""
    data = expand([[53, 5, 2], [11, 14, 5], [1, 6, 3]], "VNP")
    assert percent_agreement(data) == pytest.approx(.70)
    assert cohen_kappa(data) == printed(.429, 3)


def test_cohen_kappa_cont3x3abstractors_irrcac_readme():
    assert cohen_kappa(ABSTRACTORS) == printed(.7964094, 7)
    assert percent_agreement(ABSTRACTORS) == pytest.approx(.89)


@pytest.mark.parametrize("weights, on, published", [
    (None, "values", -.006289308),
    ("linear", "ranks", .1459075), ("quadratic", "ranks", .2520325),
    ("linear", "values", .1262136), ("quadratic", "values", .2297980)])
def test_weighted_kappa_r_irr_anxiety(weights, on, published):
    """R irr kappa2(anxiety[, 2:3]) (values quoted in statsmodels' tests; agreement.md
    pitfall 5). The printed irr values are for raters 2 and 3, whose observed levels are
    1,2,3,4,6: rank weights give .1459075/.2520325, the 1..6 value scale .1262136/.2297980."""
    k = cohen_kappa(ANXIETY[1:], weights=weights, weight_on=on)
    assert k == printed(published, 7)


def test_weighted_kappa_default_is_values_and_declared_scale_matches():
    values = cohen_kappa(ANXIETY[1:], weights="linear")
    assert "on values" in values.method
    assert values == cohen_kappa(ANXIETY[1:], weights="linear", categories=range(1, 7))
    # labels in declared order behave like their positions 0..q-1 on the scale
    labels = [[f"L{v}" for v in row] for row in ANXIETY[1:]]
    declared = [f"L{v}" for v in range(1, 7)]
    assert cohen_kappa(labels, weights="quadratic", categories=declared) == printed(.2297980, 7)
    assert cohen_kappa(labels, weights="quadratic", categories=declared,
                       weight_on="ranks") == printed(.2520325, 7)


def test_nvivo_help_style_character_table():
    """agreement.md §2: NVivo's K on a 1000-character source, 50 coded by both, A-only 100,
    B-only 50, neither 800: percent agreement .85 and K = .3181818 (Cohen on the 2x2 table)."""
    data = expand([[50, 100], [50, 800]], [1, 0])
    assert percent_agreement(data) == pytest.approx(.85)
    assert cohen_kappa(data) == printed(.3181818, 7)


# --- Fleiss and the Gwet family -------------------------------------------------------------

def test_fleiss_1971_psychiatric_diagnoses():
    """Fleiss (1971): kappa = .430; R irr kappam.fleiss(diagnoses) = .4302445."""
    k = fleiss_kappa(FLEISS_1971)
    assert k == printed(.4302445, 7)
    assert k.method == "Fleiss' kappa" and (k.n_units, k.n_coders, k.q) == (30, 6, 5)


def test_fleiss_kappa_wikipedia_worked_example():
    """Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories: .210."""
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
              [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
              [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(from_distribution(counts, range(1, 6))) == printed(.210, 3)


def test_gwet_generalisation_on_krippendorff_c_irrcac_readme():
    """irrCAC README on cac.raw4raters (= Krippendorff 2011 C): pa .8181818, Fleiss .76117,
    AC1 .77544, Brennan-Prediger .77273 (5 decimals, agreement.md pitfall 9)."""
    assert percent_agreement(KRIPP_C) == printed(.8181818, 7)
    f = fleiss_kappa(KRIPP_C)
    assert f == printed(.76117, 5)
    assert f.p_e == printed(.2387153, 7)
    assert "Gwet" in f.method and f.n_units == 11
    ac1 = gwet_ac1(KRIPP_C)
    assert ac1 == printed(.77544, 5) and ac1.p_e == printed(.1903212, 7)
    bp = brennan_prediger(KRIPP_C)
    assert bp == printed(.77273, 5) and (bp.q, bp.q_source) == (5, "observed")


DIST_6RATERS = [[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6],
                [0, 3, 0, 3, 0], [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0],
                [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
                [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1]]


def test_gwet_family_distrib_6raters_irrcac_readme():
    """irrCAC README, distrib.6raters: AC1 .4448007, Fleiss .4139265, BP .4388889,
    pa .5511111."""
    data = from_distribution(DIST_6RATERS, "DPSNO")
    assert gwet_ac1(data) == printed(.4448007, 7)
    assert fleiss_kappa(data) == printed(.4139265, 7)
    assert brennan_prediger(data) == printed(.4388889, 7)
    assert percent_agreement(data) == printed(.5511111, 7)


def test_gwet_ac1_dist4cat_irrcac_readme():
    """irrCAC README: gwet.ac1.dist(cac.dist4cat[, 2:4]) = .3518903 (4 raters, 15 units)."""
    a = [3, 2, 2, 2, 3, 3, 0, 0, 0, 3, 0, 0, 0, 0, 3]
    b = [0, 1, 1, 0, 1, 1, 4, 3, 0, 1, 4, 3, 2, 0, 1]
    c = [1, 1, 1, 2, 0, 0, 0, 1, 4, 0, 0, 1, 2, 4, 0]
    assert gwet_ac1(from_distribution(list(zip(a, b, c)), "abc")) == printed(.3518903, 7)


def test_two_rater_coefficients_cont3x3abstractors_irrcac_readme():
    """irrCAC README: AC1 .8493305 and Brennan-Prediger .835 on cont3x3abstractors."""
    assert gwet_ac1(ABSTRACTORS) == printed(.8493305, 7)
    assert brennan_prediger(ABSTRACTORS) == printed(.835, 3)


def test_brennan_prediger_q_observed_vs_declared_agreement_md_pitfall_4():
    """A 2x2 table (p_o = .8) gives BP .600 with q = 2 observed, .733 on a 4-code codebook."""
    data = expand([[40, 10], [10, 40]], ["A", "B"])
    observed = brennan_prediger(data)
    declared = brennan_prediger(data, categories=["A", "B", "C", "D"])
    assert observed == printed(.600, 3) and (observed.q, observed.q_source) == (2, "observed")
    assert declared == printed(.733, 3) and (declared.q, declared.q_source) == (4, "declared")
    assert "q = 4, declared" in declared.method
    assert gwet_ac1(data, categories="ABCD").q_source == "declared"


def test_fleiss_equals_scott_for_two_complete_coders():
    assert fleiss_kappa(ABSTRACTORS) == pytest.approx(scott_pi(ABSTRACTORS))


# --- Edge cases (agreement.md §4-5) ---------------------------------------------------------

CHANCE_CORRECTED = [
    cohen_kappa, scott_pi, fleiss_kappa, gwet_ac1, brennan_prediger,
    lambda d: gwet_ac1(d, categories=[1, 2, 3]),
    lambda d: brennan_prediger(d, categories=[1, 2, 3]),
] + [lambda d, lv=lv: krippendorff_alpha(d, level=lv) for lv in ("nominal", "ordinal",
                                                                  "interval", "ratio")]


@pytest.mark.parametrize("coefficient", CHANCE_CORRECTED)
def test_no_variation_is_nan_with_reason(coefficient):
    """agreement.md §5: D_e = 0 is undefined, not 1.0 -- for BP and AC1 too, even when a
    declared q would make them 1."""
    c = coefficient([[2, 2, 2, None], [2, 2, None, 2]])
    assert math.isnan(c) and not c.defined
    assert c.reason == "no variation: every coder used the same single category"
    assert "undefined" in c.describe()


def test_alpha_no_variation_among_pairable_values():
    """alpha only sees pairable values: a lone 5 in a single-rated unit adds no variation."""
    c = krippendorff_alpha([[2, 2, 2, 5], [2, 2, 2, None]], level="interval")
    assert math.isnan(c) and c.reason.startswith("no variation") and c.n_units == 3


def test_no_variation_percent_agreement_is_one():
    assert percent_agreement([["a"] * 3, ["a"] * 3]) == 1.0


def test_constant_on_different_categories_agreement_md_section_4():
    """Two coders each constant on a different category: kappa = 0 is defined; pi = AC1 = -1,
    alpha = -0.75 (N = 4)."""
    data = [["a"] * 4, ["b"] * 4]
    assert cohen_kappa(data) == 0 and cohen_kappa(data).reason is None
    assert scott_pi(data) == pytest.approx(-1)
    assert gwet_ac1(data) == pytest.approx(-1)
    assert krippendorff_alpha(data, level="nominal") == pytest.approx(-0.75)


def test_single_rater_constant_kappa_ac1_paradox_agreement_md_section_4():
    """One coder constant: kappa = 0, pi = -0.143, alpha = 0, AC1 = 0.68 (N = 4)."""
    data = [list("aaaa"), list("aaab")]
    assert cohen_kappa(data) == pytest.approx(0, abs=1e-12)
    assert scott_pi(data) == printed(-.143, 3)
    assert krippendorff_alpha(data, level="nominal") == pytest.approx(0, abs=1e-12)
    assert gwet_ac1(data) == pytest.approx(.68)


ALL = [percent_agreement, cohen_kappa, scott_pi, fleiss_kappa, gwet_ac1, brennan_prediger,
       lambda d: krippendorff_alpha(d, level="nominal")]


@pytest.mark.parametrize("coefficient", ALL)
def test_one_coder_only_is_nan_with_reason(coefficient):
    c = coefficient([[1, 2, 1, 3]])
    assert math.isnan(c) and c.reason.startswith("only one coder") and c.n_coders == 1


@pytest.mark.parametrize("coefficient", ALL)
def test_no_coders_is_nan_with_reason(coefficient):
    assert coefficient([]).reason.startswith("no coders")


@pytest.mark.parametrize("coefficient", ALL)
def test_no_pairable_unit_is_nan_with_reason(coefficient):
    c = coefficient([[1, None, 2], [None, 2, None]])
    assert math.isnan(c) and c.reason.startswith("no pairable unit") and c.n_units == 0


def test_missing_ratings_cohen_listwise_and_alpha_pairable():
    data = [[1, 2, None, 1, 2, 2], [1, 2, 2, None, 1, 2]]
    k = cohen_kappa(data)
    assert (k.n_units, k.n_dropped) == (4, 2)
    assert k == cohen_kappa([[1, 2, 2, 2], [1, 2, 1, 2]])
    assert krippendorff_alpha(data, level="nominal") == \
        krippendorff_alpha([[1, 2, 2, 2], [1, 2, 1, 2]], level="nominal")
    # NaN is missing too, in lists and float arrays alike
    nan = float("nan")
    assert cohen_kappa(np.array([[1, 2, nan, 1, 2, 2], [1, 2, 2, nan, 1, 2]])) == k


def test_single_rated_units_count_in_gwet_chance_but_not_in_alpha():
    """agreement.md §1: units with one rating inform pi_k (Gwet) but are dropped by alpha."""
    with_single = [[1, 1, 2, 2, 3], [1, 1, 2, 1, None]]
    without = [[1, 1, 2, 2], [1, 1, 2, 1]]
    assert krippendorff_alpha(with_single, level="nominal") == \
        krippendorff_alpha(without, level="nominal")
    assert fleiss_kappa(with_single) != pytest.approx(fleiss_kappa(without))
    assert percent_agreement(with_single) == percent_agreement(without) == .75


# --- Malformed input ------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: percent_agreement([[1, 2, 3], [1, 2]]), "ragged"),
    (lambda: cohen_kappa([[1, 2], [1, 2], [2, 2]]), "exactly 2 coders"),
    (lambda: scott_pi([[1, 2], [1, 2], [2, 2]]), "exactly 2 coders"),
    (lambda: krippendorff_alpha([[1, 2]], level="metric"), "unknown level"),
    (lambda: cohen_kappa([[1, 2], [1, 2]], weights="cubic"), "unknown weights"),
    (lambda: cohen_kappa([[1, 2], [1, 2]], weights="linear", weight_on="x"), "weight_on"),
    (lambda: krippendorff_alpha([["a", "b"], ["a", "a"]], level="interval"), "numeric"),
    (lambda: krippendorff_alpha([[1, -2], [1, 1]], level="ratio"), "non-negative"),
    (lambda: cohen_kappa([["lo", "hi"], ["hi", "hi"]], weights="linear"), "order"),
    (lambda: gwet_ac1([["a", "z"], ["a", "a"]], categories="abc"), "not one of the declared"),
    (lambda: gwet_ac1([["a", "b"], ["a", "a"]], categories="aab"), "duplicates"),
    (lambda: percent_agreement(["1100", "0110"]), "not a sequence"),
    (lambda: percent_agreement(np.array([1, 2, 3])), "2-D"),
    (lambda: percent_agreement(5), "sequence of coder rows"),
])
def test_malformed_input_raises_invalid_input(call, match):
    with pytest.raises(InvalidInput, match=match):
        call()


def test_alpha_level_is_required():
    with pytest.raises(TypeError):
        krippendorff_alpha(KRIPP_C)  # no silent interval default (agreement.md pitfall 7)


# --- Coefficient, helpers, packaging --------------------------------------------------------

def test_coefficient_behaves_like_a_float():
    a = krippendorff_alpha(KRIPP_C, level="nominal")
    assert isinstance(a, float) and isinstance(a, Coefficient)
    assert str(a) == str(float(a)) and repr(a) == repr(float(a))
    assert a + 1 == float(a) + 1 and round(a, 3) == .743 and a < 1
    back = pickle.loads(pickle.dumps(a))
    assert back == a and back.method == a.method and back.n_units == 11
    assert a.categories_used == [1, 2, 3, 4, 5]
    assert a.describe() == "Krippendorff's alpha (nominal) = 0.743 (11 units, 4 coders)"


def test_inputs_lists_tuples_arrays_agree():
    as_array = np.array([[np.nan if v is None else v for v in row] for row in KRIPP_C])
    values = {float(krippendorff_alpha(d, level="interval")) for d in
              (KRIPP_C, tuple(map(tuple, KRIPP_C)), as_array, (r for r in KRIPP_C))}
    assert len(values) == 1


def test_confusion_matrix_and_from_units():
    table, cats = confusion_matrix(["a", "b", "b", None], ["a", "a", "b", "b"],
                                   categories="abc")
    assert cats == ["a", "b", "c"]
    assert table.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    units = {"t1": {"A": 1, "B": 1}, "t2": {"B": 0}, "t3": {"A": 0, "B": 1}}
    matrix, coders = from_units(units)
    assert coders == ["A", "B"] and matrix == [[1, None, 0], [1, 0, 1]]
    assert from_units(units.values(), coders=["B", "A"])[0] == [[1, 0, 1], [1, None, 0]]


def test_agreement_does_not_import_front_ends():
    code = ("import sys, qualcode.agreement; "
            "bad = [m for m in ('textual', 'tui', 'importers', 'exporters') if m in sys.modules];"
            "sys.exit(bool(bad))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# --- Properties -----------------------------------------------------------------------------

@st.composite
def reliability_matrices(draw, max_value=6, p_missing=.3):
    m = draw(st.integers(2, 5))
    n = draw(st.integers(1, 25))
    cell = st.one_of(st.none(), st.integers(0, max_value)) if p_missing else \
        st.integers(0, max_value)
    return [[draw(cell) for _ in range(n)] for _ in range(m)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reliability_matrices(), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_alpha_matches_krippendorff_package(data, level):
    krippendorff = pytest.importorskip("krippendorff")
    ours = krippendorff_alpha(data, level=level)
    arr = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    domain = np.unique(arr[~np.isnan(arr)])
    pairable = (~np.isnan(arr)).sum(0) >= 2
    if len(domain) < 2 or not pairable.any():
        assert math.isnan(ours) and ours.reason
        return
    with np.errstate(all="ignore"):
        theirs = krippendorff.alpha(arr, level_of_measurement=level, value_domain=domain)
    if math.isnan(theirs):  # variation only outside pairable units: D_e = 0
        assert math.isnan(ours) and ours.reason.startswith("no variation")
    else:
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_cohen_kappa_matches_direct_2x2_formula(pairs):
    a = [int(x) for x, _ in pairs]
    b = [int(y) for _, y in pairs]
    n11 = sum(x and y for x, y in zip(a, b))
    n10 = sum(x and not y for x, y in zip(a, b))
    n01 = sum(y and not x for x, y in zip(a, b))
    n00 = len(a) - n11 - n10 - n01
    denominator = (n11 + n10) * (n10 + n00) + (n11 + n01) * (n01 + n00)
    k = cohen_kappa([a, b])
    if len(set(a) | set(b)) == 1:
        assert math.isnan(k)
    else:
        assert k == pytest.approx(2 * (n11 * n00 - n10 * n01) / denominator, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(reliability_matrices(max_value=3, p_missing=0), st.randoms(use_true_random=False))
def test_invariances_and_two_coder_identities(data, rnd):
    """Coder order, unit order and (for nominal statistics) category names do not matter; for
    two complete coders alpha = 1 - (2N-1)/(2N)(1 - pi) and Fleiss = Scott."""
    alpha = krippendorff_alpha(data, level="nominal")
    fleiss = fleiss_kappa(data)
    coders = data[::-1]
    order = list(range(len(data[0])))
    rnd.shuffle(order)
    units = [[row[i] for i in order] for row in data]
    renamed = [[f"code {v}" for v in row] for row in data]
    for other in (coders, units, renamed):
        a2 = krippendorff_alpha(other, level="nominal")
        assert (math.isnan(a2) and math.isnan(alpha)) or a2 == pytest.approx(alpha)
        f2 = fleiss_kappa(other)
        assert (math.isnan(f2) and math.isnan(fleiss)) or f2 == pytest.approx(fleiss)
    two = data[:2]
    pi = scott_pi(two)
    if not math.isnan(pi):
        n = len(two[0])
        assert krippendorff_alpha(two, level="nominal") == \
            pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))
        assert fleiss_kappa(two) == pytest.approx(pi)
        assert percent_agreement(two) == pytest.approx(
            sum(x == y for x, y in zip(*two)) / n)
