"""Inter-coder agreement coefficients on a reliability matrix, usable without a study.

Every function takes the matrix as coder rows (coders x units): lists, tuples or a numpy array,
with ``None`` or NaN for a missing rating. Categories may be any hashable values for nominal use;
numbers where distances matter. Formulas, published examples and the edge-case conventions are in
``shared/reference/agreement.md``; the choices made here, in one place:

* Results are :class:`Coefficient` floats. Undefined results are NaN with a ``reason`` instead of an
  exception, because a study-level report computes hundreds of them and one constant code must not
  stop the rest: one coder only, no pairable unit, and no variation (every rating the coefficient
  uses is the same single category: alpha looks at pairable values, the Gwet family also at units
  rated once). That includes Brennan-Prediger and AC1, where a declared q would otherwise turn a
  sample that cannot show discrimination into a perfect 1.0. Malformed input raises
  :class:`~qualcode.errors.InvalidInput`.
* Percent agreement with more than two coders is the mean over pairable units of the share of
  agreeing coder pairs in the unit (Fleiss' P-bar, Gwet's p_a): it uses units with missing ratings
  and reduces to the plain share of identical pairs for two coders.
* Cohen's kappa and Scott's pi are two-coder statistics: units missing either rating are dropped
  (listwise) and the count is reported as ``n_units`` / ``n_dropped``.
* Fleiss' kappa, Gwet's AC1 and Brennan-Prediger use Gwet's (2014) formulas, which are Fleiss (1971)
  on complete data: p_a over units with >= 2 ratings, category shares over units with >= 1.
* Weighted kappa puts its weights on category *values* by default (declared scores), because that
  is what the scale means; ``weight_on="ranks"`` reproduces R irr / sklearn / statsmodels.
* Krippendorff's alpha needs an explicit level; its sums are taken pair by pair so the q x q
  coincidence matrix never has to exist (continuous interval data with many values stays cheap).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from qualcode.errors import InvalidInput

__all__ = [
    "Coefficient",
    "brennan_prediger",
    "cohen_kappa",
    "confusion_matrix",
    "fleiss_kappa",
    "from_units",
    "gwet_ac1",
    "krippendorff_alpha",
    "percent_agreement",
    "scott_pi",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS = (None, "linear", "quadratic")

ONE_CODER = "only one coder: agreement needs ratings from at least two coders"
NO_CODER = "no coders: the matrix has no rows"
NO_PAIRABLE = "no pairable unit: no unit was rated by two or more coders"
NO_PAIRABLE_2 = "no pairable unit: no unit was rated by both coders"
NO_VARIATION = "no variation: every coder used the same single category"


class Coefficient(float):
    """A float that remembers how it was obtained, so a report can say what the number means.

    It prints, compares and computes like a float. ``reason`` is None when the value is defined
    and a short sentence when it is NaN. Other attributes: ``method``, ``n_units`` (units used),
    ``n_coders``, ``categories_used``, ``q`` and, where they apply, ``q_source``, ``p_o``/``p_e``
    (observed and chance agreement), ``d_o``/``d_e``/``n_values`` (alpha's disagreements and
    pairable values) and ``n_dropped`` (two-coder statistics: units only one coder rated).
    """

    def __new__(cls, value: float, *, method: str, reason: str | None = None, n_units: int = 0,
                n_coders: int = 0, categories_used: list | None = None, q: int | None = None,
                **extra: Any) -> Coefficient:
        self = super().__new__(cls, value)
        self.__dict__.update(method=method, reason=reason, n_units=int(n_units),
                             n_coders=int(n_coders), categories_used=categories_used, q=q, **extra)
        return self

    @classmethod
    def from_attributes(cls, value: float, attributes: dict[str, Any]) -> Coefficient:
        """A coefficient whose metadata is ``attributes`` (every key ``__new__`` sets, in its
        order), without the keyword processing: a study report builds hundreds of thousands of
        them (four per code x document cell), and this is four times faster. The dict becomes
        the coefficient's own: pass a new one each time."""
        self = float.__new__(cls, value)
        self.__dict__ = attributes  # the caller hands over a fresh dict
        return self

    @property
    def defined(self) -> bool:
        return not math.isnan(self)

    def describe(self) -> str:
        """One line for a methods section or a log, with the unit count that qualifies it."""
        if not self.defined:
            return f"{self.method}: undefined ({self.reason})"
        return f"{self.method} = {float(self):.3f} ({self.n_units} units, {self.n_coders} coders)"

    def __reduce__(self):
        # float's default pickling would call __new__ without the keyword-only metadata.
        return _restore, (float(self), dict(self.__dict__))


def _restore(value: float, state: dict) -> Coefficient:
    c = Coefficient(value, method=state["method"])
    c.__dict__.update(state)
    return c


def _few_coders(m: int) -> str:
    return ONE_CODER if m == 1 else NO_CODER


def _undefined(reason: str, method: str, **kw: Any) -> Coefficient:
    return Coefficient(math.nan, method=method, reason=reason, **kw)


# ---------------------------------------------------------------------------------------------
# Input: coder rows -> integer codes (coders x units, -1 = missing) + the category list


class _Ratings:
    __slots__ = ("codes", "cats", "declared")

    def __init__(self, codes: np.ndarray, cats: list, declared: bool):
        self.codes, self.cats, self.declared = codes, cats, declared

    @property
    def m(self) -> int:
        return self.codes.shape[0]

    @property
    def present(self) -> np.ndarray:
        return self.codes >= 0

    def scores(self, what: str) -> np.ndarray:
        """Numeric value of each category, or InvalidInput: distances need numbers."""
        if not all(isinstance(c, numbers.Real) for c in self.cats):
            bad = next(c for c in self.cats if not isinstance(c, numbers.Real))
            raise InvalidInput(f"{what} needs numeric ratings, got {bad!r}")
        s = np.asarray(self.cats, dtype=float)
        if not np.isfinite(s).all():
            raise InvalidInput(f"{what} needs finite numeric ratings")
        return s


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and v != v)


def _rows(data: Any) -> list | np.ndarray:
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise InvalidInput(f"expected a coders x units matrix (2-D), got {data.ndim}-D array")
        return data
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise InvalidInput("expected a sequence of coder rows (coders x units)")
    rows = []
    for i, row in enumerate(data):
        if isinstance(row, (str, bytes, Mapping)) or not isinstance(row, Iterable):
            raise InvalidInput(f"coder row {i + 1} is not a sequence of ratings: {row!r:.40}")
        rows.append(row if isinstance(row, (list, tuple, np.ndarray)) else list(row))
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise InvalidInput("ragged rows: coders have different numbers of units "
                           f"({', '.join(str(len(r)) for r in rows)})")
    return rows


def _factorize_numeric(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and codes; small integer codes skip the sort (the common case)."""
    if vals.size and np.all(vals == np.floor(vals)):
        lo, hi = vals.min(), vals.max()
        if hi - lo <= 4 * vals.size + 1024:
            shifted = (vals - lo).astype(np.int64)
            used = np.bincount(shifted).astype(bool)
            remap = np.cumsum(used) - 1
            return np.flatnonzero(used) + lo, remap[shifted]
    uniq, inv = np.unique(vals, return_inverse=True)
    return uniq, inv.reshape(-1)


def _encode(data: Any, categories: Sequence | None = None) -> _Ratings:
    rows = _rows(data)
    m = len(rows)
    n = len(rows[0]) if m else 0
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "biuf":
        flat = rows.astype(float, copy=False).reshape(-1)
        integral = rows.dtype.kind in "biu"
    else:
        flat = [v for row in rows for v in row]
        types = set(map(type, flat)) - {type(None)}
        integral = all(issubclass(t, numbers.Integral) for t in types)
        if all(issubclass(t, numbers.Real) for t in types):
            flat = np.array([math.nan if v is None else v for v in flat], dtype=float)
    if isinstance(flat, np.ndarray):
        present = ~np.isnan(flat)
        vals = flat[present]
        integral = integral or bool(np.all(vals == np.floor(vals)))
        uniq, inv = _factorize_numeric(vals)
        cats = uniq.tolist()
    else:
        present = np.fromiter((not _is_missing(v) for v in flat), bool, len(flat))
        vals = [v for v, p in zip(flat, present) if p]
        try:
            cats = sorted(set(vals))
        except TypeError:  # mixed, unorderable types: keep first appearance
            cats = list(dict.fromkeys(vals))
        index = {c: i for i, c in enumerate(cats)}
        inv = np.fromiter((index[v] for v in vals), np.int64, len(vals))
    if integral:
        cats = [int(c) for c in cats]
    if categories is not None:
        declared = list(categories)
        index = {c: i for i, c in enumerate(declared)}
        if len(index) != len(declared):
            raise InvalidInput("declared categories contain duplicates")
        unknown = [c for c in cats if c not in index]
        if unknown:
            raise InvalidInput(f"rating {unknown[0]!r} is not one of the declared categories")
        inv = np.asarray([index[c] for c in cats], dtype=np.int64)[inv] if cats else inv
        cats = declared
    codes = np.full(m * n, -1, dtype=np.int64)
    codes[present] = inv
    return _Ratings(codes.reshape(m, n), cats, categories is not None)


def _pair_sums(x: np.ndarray, ok: np.ndarray, fn) -> np.ndarray:
    """Per unit, the sum of fn over coder pairs i < j who both rated it.

    Pairs instead of a units x categories table keep memory at O(units) whatever the number of
    distinct values; a study has few coders, so the m(m-1)/2 passes are cheap.
    """
    out = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        for j in range(i + 1, x.shape[0]):
            both = ok[i] & ok[j]
            out += np.where(both, fn(x[i], x[j]), 0.0)
    return out


def _used(codes: np.ndarray, q: int, where: np.ndarray | None = None) -> np.ndarray:
    c = codes[codes >= 0] if where is None else codes[where & (codes >= 0)]
    return np.bincount(c, minlength=q)


# ---------------------------------------------------------------------------------------------
# Percent agreement and the Gwet family (Fleiss, AC1, Brennan-Prediger)


def _gwet_parts(r: _Ratings):
    """p_a (units with >= 2 ratings) and category shares pi_k (units with >= 1): Gwet 2014."""
    ok = r.present
    n_r = ok.sum(axis=0)
    pairable = n_r >= 2
    agree = _pair_sums(r.codes, ok, np.equal)
    p_u = 2 * agree[pairable] / (n_r[pairable] * (n_r[pairable] - 1))
    rated = n_r >= 1
    w = np.broadcast_to(1.0 / np.maximum(n_r, 1), r.codes.shape)[ok]
    pi = np.bincount(r.codes[ok], weights=w, minlength=len(r.cats)) / max(rated.sum(), 1)
    return p_u, pi, n_r


def _gwet_checks(r: _Ratings, method: str, n_r: np.ndarray, q: int | None = None, **kw):
    """The shared NaN cases, or None when the coefficient is defined."""
    used = _used(r.codes, len(r.cats))
    cats_used = [c for c, u in zip(r.cats, used) if u]
    base = dict(method=method, n_coders=r.m, categories_used=cats_used,
                q=q if q is not None else len(cats_used), **kw)
    if r.m < 2:
        return _undefined(_few_coders(r.m), n_units=0, **base), base
    pairable = int((n_r >= 2).sum())
    if not pairable:
        return _undefined(NO_PAIRABLE, n_units=0, **base), base
    if len(cats_used) == 1:
        return _undefined(NO_VARIATION, n_units=pairable, **base), base
    return None, base


def percent_agreement(data: Any) -> Coefficient:
    """Share of agreeing coder pairs, averaged over pairable units (see module notes).

    Not chance-corrected, so it stays defined (1.0) when everyone used one category; report it
    next to a coefficient, never instead of one.
    """
    r = _encode(data)
    p_u, _, n_r = _gwet_parts(r)
    method = "percent agreement" + (" (mean pairwise per unit)" if r.m > 2 else "")
    used = _used(r.codes, len(r.cats))
    base = dict(method=method, n_coders=r.m, q=int((used > 0).sum()),
                categories_used=[c for c, u in zip(r.cats, used) if u])
    if r.m < 2:
        return _undefined(_few_coders(r.m), **base)
    if not p_u.size:
        return _undefined(NO_PAIRABLE, **base)
    return Coefficient(p_u.mean(), n_units=p_u.size, p_o=float(p_u.mean()), **base)


def _chance_corrected(p_o: float, p_e: float, base: dict, n_units: int) -> Coefficient:
    if 1 - p_e <= 1e-12:
        return _undefined("chance agreement is 1, so the coefficient is 0/0", n_units=n_units,
                          p_o=p_o, p_e=p_e, **base)
    return Coefficient((p_o - p_e) / (1 - p_e), n_units=n_units, p_o=p_o, p_e=p_e, **base)


def _complete(n_r: np.ndarray) -> bool:
    rated = n_r[n_r > 0]
    return rated.size > 0 and bool((rated == rated[0]).all())


def fleiss_kappa(data: Any) -> Coefficient:
    """Fleiss' (1971) kappa; Gwet's (2014) generalisation when coders skipped units.

    With missing ratings, units rated once still inform the category shares (chance) but not the
    observed agreement, so this differs from Krippendorff's alpha on the same matrix (.761 vs .743
    on Krippendorff 2011 example C): two estimators, not a bug.
    """
    r = _encode(data)
    p_u, pi, n_r = _gwet_parts(r)
    method = ("Fleiss' kappa" if _complete(n_r)
              else "Fleiss' kappa (Gwet's generalisation for missing ratings)")
    nan, base = _gwet_checks(r, method, n_r)
    if nan is not None:
        return nan
    return _chance_corrected(float(p_u.mean()), float((pi**2).sum()), base, p_u.size)


def _q(r: _Ratings, used_q: int) -> tuple[int, str]:
    return (len(r.cats), "declared") if r.declared else (used_q, "observed")


def gwet_ac1(data: Any, categories: Sequence | None = None) -> Coefficient:
    """Gwet's AC1, whose chance term depends on q: pass the codebook's categories when known.

    Without ``categories`` q is the number of categories observed, as irrCAC and nltk do; the
    result's ``q_source`` says which was used.
    """
    r = _encode(data, categories)
    p_u, pi, n_r = _gwet_parts(r)
    q, src = _q(r, int((_used(r.codes, len(r.cats)) > 0).sum()))
    nan, base = _gwet_checks(r, f"Gwet's AC1 (q = {q}, {src})", n_r, q=q, q_source=src)
    if nan is not None:
        return nan
    p_e = float((pi * (1 - pi)).sum() / (q - 1))
    return _chance_corrected(float(p_u.mean()), p_e, base, p_u.size)


def brennan_prediger(data: Any, categories: Sequence | None = None) -> Coefficient:
    """Brennan-Prediger (Bennett's S, Randolph's free-marginal kappa): chance = 1/q.

    MAXQDA's kappa is this statistic; q is the only thing chance depends on, so it is reported
    (``q``, ``q_source``): the same table gives .600 with q = 2 and .733 with q = 4.
    """
    r = _encode(data, categories)
    p_u, _, n_r = _gwet_parts(r)
    q, src = _q(r, int((_used(r.codes, len(r.cats)) > 0).sum()))
    nan, base = _gwet_checks(r, f"Brennan-Prediger kappa (q = {q}, {src})", n_r, q=q,
                             q_source=src)
    if nan is not None:
        return nan
    return _chance_corrected(float(p_u.mean()), 1.0 / q, base, p_u.size)


# ---------------------------------------------------------------------------------------------
# Two-coder statistics


def _two(r: _Ratings, method: str):
    """Listwise deletion for the two-coder statistics, or the NaN that replaces them."""
    if r.m > 2:
        raise InvalidInput(f"{method.split(' (')[0]} is for exactly 2 coders, got {r.m}; "
                           "use fleiss_kappa or krippendorff_alpha for more")
    base = dict(method=method, n_coders=r.m)
    if r.m < 2:
        return None, _undefined(_few_coders(r.m), categories_used=[], q=0, **base)
    both = r.present.all(axis=0)
    a, b = r.codes[0, both], r.codes[1, both]
    q = len(r.cats)
    table = np.bincount(a * q + b, minlength=q * q).reshape(q, q)
    used = table.sum(0) + table.sum(1) > 0
    base.update(categories_used=[c for c, u in zip(r.cats, used) if u], q=int(used.sum()),
                n_dropped=int((r.present.any(axis=0) & ~both).sum()))
    if not both.any():
        return None, _undefined(NO_PAIRABLE_2, **base)
    if used.sum() == 1:
        return None, _undefined(NO_VARIATION, n_units=int(both.sum()), **base)
    return (table, used, base), None


def cohen_kappa(data: Any, weights: str | None = None, categories: Sequence | None = None,
                weight_on: str = "values") -> Coefficient:
    """Cohen's kappa for two coders, optionally weighted (linear or quadratic agreement weights).

    Weights sit on category values by default -- the numbers themselves, or positions in the
    declared ``categories`` when these are labels -- so a category nobody used still keeps its
    place on the scale. ``weight_on="ranks"`` uses the ranks of the observed categories instead,
    which is what R irr, sklearn and statsmodels do (irr's anxiety data: .146 on ranks, .126 on
    the 1..6 scale, linear).
    """
    if weights not in WEIGHTS:
        raise InvalidInput(f"unknown weights {weights!r}: use None, 'linear' or 'quadratic'")
    if weight_on not in ("values", "ranks"):
        raise InvalidInput(f"unknown weight_on {weight_on!r}: use 'values' or 'ranks'")
    r = _encode(data, categories)
    label = "unweighted" if weights is None else f"{weights} weights on {weight_on}"
    parts, nan = _two(r, f"Cohen's kappa ({label})")
    if nan is not None:
        return nan
    table, used, base = parts
    p = table / table.sum()
    if weights is None:
        w = np.eye(len(p))
    else:
        labels = not all(isinstance(c, numbers.Real) for c in r.cats)
        if labels and not r.declared:
            raise InvalidInput("weighted kappa on labels needs their order: pass "
                               "categories=[...] in scale order")
        if weight_on == "ranks":
            p = p[np.ix_(used, used)]
            s = np.arange(len(p), dtype=float)
        else:
            s = np.arange(len(p), dtype=float) if labels else r.scores("weighted kappa")
        d = np.abs(s[:, None] - s[None, :])
        d /= d.max()  # the scale's span; kappa itself does not depend on it
        w = 1 - (d if weights == "linear" else d**2)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(p.sum(1), p.sum(0))).sum())
    return _chance_corrected(p_o, p_e, base, int(table.sum()))


def scott_pi(data: Any) -> Coefficient:
    """Scott's pi for two coders: chance from the pooled category shares, as if coders were
    interchangeable (Fleiss' kappa for two coders). Units missing a rating are dropped."""
    r = _encode(data)
    parts, nan = _two(r, "Scott's pi")
    if nan is not None:
        return nan
    table, _, base = parts
    p = table / table.sum()
    pooled = (p.sum(0) + p.sum(1)) / 2
    return _chance_corrected(float(np.trace(p)), float((pooled**2).sum()), base,
                             int(table.sum()))


def confusion_matrix(a: Sequence, b: Sequence, categories: Sequence | None = None):
    """Two coders' cross-table (rows: a, columns: b) on the units both rated.

    Returns ``(table, categories)``; categories are the declared ones, else every value either
    coder used, so rows and columns line up with the caller's labels.
    """
    r = _encode([list(a), list(b)], categories)
    both = r.present.all(axis=0)
    q = len(r.cats)
    table = np.bincount(r.codes[0, both] * q + r.codes[1, both], minlength=q * q).reshape(q, q)
    return table, list(r.cats)


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha


def krippendorff_alpha(data: Any, *, level: str, categories: Sequence | None = None) -> Coefficient:
    """Krippendorff's alpha (Krippendorff 2011) at an explicit level of measurement.

    ``level`` has no default: the ``krippendorff`` package defaults to interval, which silently
    gives a wrong number on nominal codes. ``categories`` declares the order of labels for the
    ordinal level (numbers are ordered by value); values nobody used change nothing, as in
    Krippendorff's frequency-based ordinal metric.

    alpha = 1 - (n - 1) * sum_ck o_ck d2_ck / sum_ck n_c n_k d2_ck, with the observed sum taken
    over coder pairs within units (each weighted 1/(m_u - 1)) -- the coincidence-matrix sum
    without building the matrix -- and the expected sum from the pairable-value marginals.
    """
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    r = _encode(data, categories)
    method = f"Krippendorff's alpha ({level})"
    ok = r.present
    n_r = ok.sum(axis=0)
    pairable = n_r >= 2
    if level == "ordinal" and not r.declared and not all(
            isinstance(c, numbers.Real) for c in r.cats):
        raise InvalidInput("ordinal alpha on labels needs their order: pass categories=[...]")
    if level in ("interval", "ratio"):
        scores = r.scores(f"{level} alpha")
        if level == "ratio" and (scores < 0).any():
            raise InvalidInput("ratio alpha needs non-negative ratings (a true zero)")
    n_c = _used(r.codes, len(r.cats), np.broadcast_to(pairable, r.codes.shape)).astype(float)
    base = dict(method=method, n_coders=r.m, q=int((n_c > 0).sum()),
                categories_used=[c for c, u in zip(r.cats, n_c) if u])
    if r.m < 2:
        return _undefined(_few_coders(r.m), **base)
    if not pairable.any():
        return _undefined(NO_PAIRABLE, **base)
    n_units = int(pairable.sum())
    if base["q"] == 1:
        return _undefined(NO_VARIATION, n_units=n_units, **base)
    n = n_c.sum()
    if level == "nominal":
        obs = _pair_sums(r.codes, ok, np.not_equal)
        expected = n * n - (n_c**2).sum()
    elif level == "ratio":
        x = np.where(ok, scores[r.codes], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            obs = _pair_sums(x, ok, lambda u, v: np.nan_to_num(((u - v) / (u + v)) ** 2))
        expected = _ratio_expected(scores, n_c)
    else:  # interval, and ordinal as interval on the cumulative mid-frequencies
        if level == "ordinal":
            scores = np.cumsum(n_c) - n_c / 2
        x = np.where(ok, scores[r.codes], np.nan)
        obs = _pair_sums(x, ok, lambda u, v: (u - v) ** 2)
        mean = (n_c * scores).sum() / n
        expected = 2 * n * (n_c * (scores - mean) ** 2).sum()
    observed = (2 * obs[pairable] / (n_r[pairable] - 1)).sum()
    d_o, d_e = observed / n, expected / (n * (n - 1))
    return Coefficient(1 - d_o / d_e, n_units=n_units, d_o=float(d_o), d_e=float(d_e),
                       n_values=int(n), **base)


def _ratio_expected(s: np.ndarray, n_c: np.ndarray, block: int = 2048) -> float:
    """sum_ck n_c n_k ((c-k)/(c+k))^2 in row blocks: the ratio metric has no shortcut."""
    keep = n_c > 0
    s, n_c = s[keep], n_c[keep]
    total = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(0, s.size, block):
            a = s[i:i + block, None]
            d2 = np.nan_to_num(((a - s) / (a + s)) ** 2)
            total += float((n_c[i:i + block, None] * n_c * d2).sum())
    return total


# ---------------------------------------------------------------------------------------------


def from_units(units: Iterable[Mapping] | Mapping[Any, Mapping],
               coders: Sequence | None = None) -> tuple[list[list], list]:
    """Per-unit ratings ``{coder: value}`` -> ``(matrix, coders)`` in this module's layout.

    Study code naturally produces one mapping per unit; a coder absent from a unit's mapping is a
    missing rating. Coders default to their order of first appearance.
    """
    per_unit = list(units.values() if isinstance(units, Mapping) else units)
    if coders is None:
        coders = list(dict.fromkeys(c for u in per_unit for c in u))
    return [[u.get(c) for u in per_unit] for c in coders], list(coders)
