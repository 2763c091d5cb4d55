"""Agreement of a study's codings at an explicit unit of analysis.

``agreement(study, ["Amira", "Ben"], unit="turn")`` returns an :class:`AgreementReport`: pooled,
per-code, per-document and per code x document figures, each with its unit, the number of units,
the prevalence and labelled statistics, plus the pairwise Cohen kappa matrix and a methods
sentence for the paper. The unit changes the figure, so it is never implicit.

Conventions (also shown in every report's ``notes``)
----------------------------------------------------

Which documents count
    Only documents coded by **every** named coder (at least one coding of any code) count as
    double-coded; the others are listed in ``excluded_documents`` and left out. With
    ``all_documents=True`` every selected document counts and a coder's silence is "not coded".
    Inside a double-coded document every coder rates every unit (not coded = absent), so the
    study-level matrices have no missing ratings.

Which codes
    The codes given, else every code a named coder used in the double-coded documents (tree
    order). A code is compared as itself: codings of its child codes do not count for the parent.

Merging
    One coder's overlapping or touching codings of one code in one document are merged into one
    span first (interval union), so nothing is counted twice.

``character`` (NVivo Coding Comparison)
    Per code per document, the 2x2 table of characters coded by both / A only / B only / neither,
    computed by interval arithmetic (an event sweep over merged spans, never per-character
    arrays). Percent agreement = (both + neither) / characters; kappa = Cohen's kappa on that
    table, i.e. NVivo's K = (TA - sum EF) / (TU - sum EF). Pooled, per-code and per-document
    figures use the **pooled 2x2 table** summed over their code x document cells (a
    length-weighted pool, not a mean of kappas). ``exclude_uncoded=True`` leaves out text that
    no coder coded: only the overlap share both / (both + A only + B only) is reported, chance-
    corrected coefficients are undefined (no "neither" cell). ``nvivo_compat=True`` reports K = 1
    where there is no variation (nobody coded the code there, or everybody coded every character),
    as NVivo does; otherwise such K is NaN with a reason (agreement.md section 5).

``segment`` (MAXQDA-style)
    A merged segment of coder A matches when coder B has a segment of the same code in the same
    document whose overlap with it is at least ``threshold`` (default 0.9). ``overlap="union"``
    (default): |A n B| / |A u B| of the two spans; ``overlap="shorter"``: |A n B| / the shorter
    span. The check runs in both directions and each segment is one check: a = matched segments
    of A plus matched segments of B, b = unmatched segments of A, c = unmatched segments of B.
    P_obs = a / (a + b + c) and the Brennan-Prediger kappa (P_obs - 1/q) / (1 - 1/q) with q = the
    number of codes in the table (MAXQDA's rule). It is labelled "MAXQDA-compatible, not Cohen's
    kappa". There is no "neither" cell, so no prevalence. With more than two coders the checks of
    every coder pair are summed (pairwise figures are in ``pairwise``).

``turn``, ``sentence``, ``document``
    Units are speaker turns (the document's turn spans; paragraphs for text without speakers),
    sentences (turns split by a simple rule-based splitter: after . ! ? or an ellipsis followed by
    white space, not after common abbreviations such as Dr. or e.g., and at line breaks; or spaCy's
    rule-based sentencizer with ``sentencizer="spacy"``), or whole documents. A coder codes a unit
    for a code when the merged codings overlap it by at least ``max(1, ceil(min_overlap x unit
    length))`` characters (default: any overlap). Text outside every unit (speaker labels) is not
    a unit. Per code: present/absent per unit per coder; Cohen's kappa (two coders), Fleiss' kappa,
    Krippendorff's alpha (nominal) and percent agreement. Pooled = over all code x unit pairs.

Statistics
    The binary coefficients are computed from pattern counts (how many units each combination of
    coders coded), which is exact and lets characters be weighted without expanding them; they are
    checked against :mod:`qualcode.agreement.stats` on the expanded matrix in the tests, and
    :meth:`AgreementReport.matrix` gives that matrix for any other coefficient. Fleiss' kappa for
    two coders equals Scott's pi. With more than two coders the headline kappa is Fleiss'; the
    pairwise Cohen matrix is always reported.

Bootstrap
    ``bootstrap=B`` gives seeded 95 % percentile intervals for the pooled and per-code figures.
    Resampled (``resample``): whole documents by default, at every unit (a cluster bootstrap:
    characters, segments, turns and sentences of one transcript are not independent, since one
    person speaks and the same two coders read them together, so resampling them one by one
    gives intervals that are too narrow); ``resample="units"`` resamples turns or sentences
    themselves (the same units for every code), for comparison with tools that do. Replicates where a coefficient is undefined are dropped and counted. The
    resampled unit and the number of clusters are in the notes. Honesty checks, in ``warnings``:
    fewer than ``MIN_CLUSTERS`` (10) clusters to resample (3 documents give only 10 distinct
    resamples), and a seed given without resamples. A figure's interval is flagged (``ci_note``,
    shown with a dagger) when fewer than ``MIN_POSITIVE`` (5) clusters hold the code at all (units
    any coder coded; at character/segment level documents where it was coded) or when every
    resample gave the same value (a degenerate interval such as 1.000 [1.000, 1.000]).

Undefined results are NaN with a ``reason`` (``null`` plus ``reason`` in JSON): one coder only, no
units, no variation. The library computes them and says why; ``warnings`` also says so for the
whole report when only one coder is named or no document was coded by every named coder (the
CLI refuses fewer than two coders). User errors raise :class:`~qualcode.errors.InvalidInput` /
``NotFound``.
"""

from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from qualcode.agreement import stats
from qualcode.agreement.stats import Coefficient
from qualcode.errors import InvalidInput
from qualcode.store import span_cache

if TYPE_CHECKING:
    from qualcode.study import Study

UNITS = ("character", "segment", "turn", "sentence", "document")
UNIT_LABELS = {"character": "characters", "segment": "coded segments", "turn": "speaker turns",
               "sentence": "sentences", "document": "documents"}
OVERLAPS = ("union", "shorter")
SENTENCIZERS = ("regex", "spacy")
MAX_CODERS = 8
RESAMPLES = ("documents", "units")  # what the bootstrap draws: whole transcripts, or the units
MIN_CLUSTERS = 10  # fewer clusters to resample than this: the bootstrap is rough (a warning)
MIN_POSITIVE = 5  # fewer clusters holding a code than this: its interval is flagged

NO_UNITS = "no units: there is nothing to compare here"
NEITHER = "no variation: no coder coded this code here"
EVERYWHERE = "no variation: every coder coded every unit"
EXCLUDED = ("not reported when text no coder coded is left out: without the 'neither' cell "
            "chance agreement is undefined (overlap share only)")
NO_SEGMENTS = "no coded segments to compare"
ONE_Q = "only one code in the table: chance agreement 1/q = 1, so the kappa is 0/0"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "code")`` -> "1 code"; ``plural(3, "code")`` -> "3 codes" (thousands separated)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def join_names(names: Sequence[str], last: str = "and") -> str:
    """["A"] -> "A"; ["A", "B"] -> "A and B"; ["A", "B", "C"] -> "A, B and C"."""
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def stat_keys(unit: str, coders: int, exclude_uncoded: bool = False) -> list[str]:
    """The coefficients reported at ``unit`` for that many coders, the headline first (known
    before any figure is computed, so a command can check its options without reading the study)."""
    if unit == "segment":
        return ["bp", "percent"]
    if exclude_uncoded:
        return ["percent"]
    if coders == 2:
        return ["cohen", "alpha", "fleiss", "percent"]
    return ["fleiss", "alpha", "percent"]


def _unit(unit: str) -> str:
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
    return unit


# ---------------------------------------------------------------------------------------------
# Selecting coders, documents and codes; merging spans


@dataclass
class Selection:
    """The double-coded material: coders, documents and codes in report order, merged spans.

    ``spans`` is an int64 array with columns (document index, code index, coder index, start,
    end), one row per merged span, sorted by those columns.
    """

    coders: list[str]
    coder_ids: list[int]
    document_ids: list[int]
    documents: list[str]
    lengths: np.ndarray
    n_documents_selected: int
    excluded_documents: list[dict[str, Any]]
    code_ids: list[int]
    codes: list[str]
    codes_given: bool
    spans: np.ndarray
    all_documents: bool = False
    n_documents_study: int = 0

    @property
    def m(self) -> int:
        return len(self.coders)


def merge_spans(rows: np.ndarray) -> np.ndarray:
    """Merge overlapping or touching spans per (document, code, coder) group.

    ``rows``: int array (n, 5) sorted by (document, code, coder, start). A segmented running
    maximum of the ends (groups shifted apart by an offset) finds where a new span starts.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 5)
    merged = _merge(rows)
    return merged.copy() if merged is rows else merged


def _merge(rows: np.ndarray) -> np.ndarray:
    """:func:`merge_spans` on an int64 (n, 5) array; ``rows`` itself when nothing merges."""
    if len(rows) < 2:
        return rows
    same = ((rows[1:, 0] == rows[:-1, 0]) & (rows[1:, 1] == rows[:-1, 1])
            & (rows[1:, 2] == rows[:-1, 2]))
    if not (same & (rows[1:, 3] <= rows[:-1, 4])).any():
        # Nothing overlaps or touches its predecessor in the group (the usual case: the coding
        # store merges a coder's overlapping codings when they are made), so nothing to merge.
        return rows
    new_group = np.ones(len(rows), dtype=bool)
    new_group[1:] = ~same
    group = np.cumsum(new_group) - 1
    big = int(rows[:, 4].max()) + 1
    starts = rows[:, 3] + group * big
    ends = rows[:, 4] + group * big
    running = np.maximum.accumulate(ends)
    new = np.ones(len(rows), dtype=bool)
    new[1:] = starts[1:] > running[:-1]
    idx = np.flatnonzero(new)
    out = rows[idx]  # fancy indexing copies
    out[:, 4] = np.maximum.reduceat(rows[:, 4], idx)
    return out


def _lookup(ids: Sequence[int], size: int) -> np.ndarray:
    """An index table: ``lut[id]`` is the position of ``id`` in ``ids``, -1 for any other id."""
    lut = np.full(max(size, max(ids, default=-1) + 1), -1, dtype=np.int64)
    if len(ids):
        lut[np.asarray(ids, dtype=np.int64)] = np.arange(len(ids), dtype=np.int64)
    return lut


def _order(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Row order sorting by ``columns`` (first = most significant), like ``np.lexsort`` reversed.

    When the columns' ranges fit in one int64 they are packed into a single key and sorted once
    (much faster than a four-key lexsort on 200,000 rows); otherwise lexsort is used.
    """
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    spans = [int(c.max()) + 1 for c in columns]
    if all(int(c.min()) >= 0 for c in columns) and math.prod(spans) < 2**62:
        key = columns[0].astype(np.int64, copy=True)
        for col, size in zip(columns[1:], spans[1:]):
            key *= size
            key += col
        return np.argsort(key, kind="stable")
    return np.lexsort(tuple(reversed(columns)))


def select(study: "Study", coders: Sequence[str], codes: Sequence[str] | None = None,
           documents: Sequence[str] | None = None, all_documents: bool = False) -> Selection:
    """Resolve names and load the merged spans of the double-coded documents."""
    names = [str(c).strip() for c in coders or () if str(c).strip()]
    if not names:
        raise InvalidInput("name the coders to compare, e.g. --coders Amira Ben")
    recs = [study.coders.get(n) for n in names]
    if len({r.id for r in recs}) != len(recs):
        raise InvalidInput("a coder is named twice in --coders")
    if len(recs) > MAX_CODERS:
        raise InvalidInput(f"at most {MAX_CODERS} coders can be compared at once")
    coder_ids = [r.id for r in recs]
    m = len(coder_ids)

    lengths_by_id = study.documents.lengths()
    doc_names = dict(_document_names(study))
    if documents:
        chosen = []
        for ref in documents:
            doc = study.documents.get(ref)
            if doc.id not in chosen:
                chosen.append(doc.id)
    else:
        chosen = sorted(doc_names, key=lambda i: doc_names[i].casefold())
    # Without --documents every document is chosen: no need to send 1,000 ids to SQLite.
    given_codes: list[int] = []
    for ref in codes or ():  # resolved before anything is read (or cached): errors write nothing
        c = study.codes.get(ref)
        if c.id not in given_codes:
            given_codes.append(c.id)
    # Every coder's codings, from the packed per-document cache (rows of coders not named are
    # dropped below by the coder lookup); the cache rebuilds what codings changed since.
    raw = span_cache.coding_spans(study.db, chosen if documents else None)
    id_size = max(chosen, default=-1) + 1
    if len(raw):
        id_size = max(id_size, int(raw[:, 0].max()) + 1)
    chosen_pos = _lookup(chosen, id_size)
    coder_pos = _lookup(coder_ids, int(raw[:, 2].max()) + 1 if len(raw) else 0)
    raw_doc = chosen_pos[raw[:, 0]]
    raw_coder = coder_pos[raw[:, 2]]
    # which coders coded each chosen document: a (documents x coders) table of "any coding"
    coded = np.zeros((len(chosen), m), dtype=bool)
    keep = (raw_doc >= 0) & (raw_coder >= 0)
    coded[raw_doc[keep], raw_coder[keep]] = True
    n_coded = coded.sum(axis=1)
    kept, excluded = [], []
    for pos, (d_id, n_pos) in enumerate(zip(chosen, n_coded.tolist())):
        if all_documents or n_pos == m:
            kept.append(d_id)
        elif n_pos:
            who = coded[pos]
            excluded.append({"document": doc_names[d_id],
                             "coded_by": [names[i] for i in range(m) if who[i]],
                             "not_coded_by": [names[i] for i in range(m) if not who[i]]})
    code_list = study.codes.list()
    paths = {c.id: c.path for c in code_list}
    order = {c.id: i for i, c in enumerate(code_list)}
    doc_pos = _lookup(kept, id_size)
    raw_doc = doc_pos[raw[:, 0]]
    raw_kept = raw_doc >= 0
    if codes:
        code_ids = given_codes
    else:
        used = np.flatnonzero(np.bincount(raw[raw_kept, 1])).tolist() if len(raw) else []
        code_ids = sorted(used, key=order.__getitem__)
    if len(raw):
        code_pos = _lookup(code_ids, int(raw[:, 1].max()) + 1)
        mapped = np.empty((len(raw), 5), dtype=np.int64)
        mapped[:, 0], mapped[:, 1], mapped[:, 2] = raw_doc, code_pos[raw[:, 1]], raw_coder
        mapped[:, 3:] = raw[:, 3:5]
        wanted = raw_kept & (mapped[:, 1] >= 0) & (raw_coder >= 0)
        if not wanted.all():
            mapped = mapped[wanted]
        mapped = mapped[_order([mapped[:, 0], mapped[:, 1], mapped[:, 2], mapped[:, 3]])]
        spans = _merge(mapped)
    else:
        spans = np.zeros((0, 5), dtype=np.int64)
    return Selection(
        coders=[r.name for r in recs], coder_ids=coder_ids, document_ids=kept,
        documents=[doc_names[d] for d in kept],
        lengths=np.asarray([lengths_by_id[d] for d in kept], dtype=np.int64),
        n_documents_selected=len(chosen), excluded_documents=excluded,
        code_ids=code_ids, codes=[paths[c] for c in code_ids], codes_given=bool(codes),
        spans=spans, all_documents=all_documents, n_documents_study=len(lengths_by_id))


def _document_names(study: "Study") -> list[tuple[int, str]]:
    return study.documents.names()


# ---------------------------------------------------------------------------------------------
# Pattern counts: how many units (characters) each combination of coders coded


def _popcount(m: int) -> np.ndarray:
    return np.array([bin(p).count("1") for p in range(1 << m)], dtype=np.int64)


def character_counts(sel: Selection) -> np.ndarray:
    """(codes, documents, 2**m) characters by coder pattern (bit i set: coder i coded it).

    Each merged span adds its coder's bit at its start and removes it at its end; sorting the
    events per code x document cell and taking the running sum gives, between consecutive events,
    the pattern of coders covering that stretch (one coder's spans are disjoint after merging).
    """
    m, C, D = sel.m, len(sel.codes), len(sel.documents)
    K = 1 << m
    counts = np.zeros((C, D, K), dtype=np.int64)
    sp = sel.spans
    if len(sp):
        # Events interleaved span by span (start, end, start, end ...) in the spans' own order
        # (document, code, coder, start): each coder's merged spans in a cell are then already
        # an ascending run, and the stable sort (timsort) only merges the coders' runs.
        n = len(sp)
        cell = sp[:, 0] * C + sp[:, 1]
        bits = np.left_shift(1, sp[:, 2])
        pos = np.empty(2 * n, dtype=np.int64)
        pos[0::2], pos[1::2] = sp[:, 3], sp[:, 4]
        delta = np.empty(2 * n, dtype=np.int64)
        delta[0::2], delta[1::2] = bits, -bits
        cells = np.repeat(cell, 2)
        big = int(sp[:, 4].max()) + 1
        order = np.argsort(cells * big + pos, kind="stable")
        pos, delta, cells = pos[order], delta[order], cells[order]
        pattern = np.cumsum(delta)
        width = np.where(cells[1:] == cells[:-1], pos[1:] - pos[:-1], 0)
        target = (cells[:-1] % C) * D + cells[:-1] // C  # (code, document) layout of the result
        flat = np.bincount(target * K + pattern[:-1], weights=width, minlength=C * D * K)
        counts = np.rint(flat).astype(np.int64).reshape(C, D, K)
    counts[:, :, 0] = sel.lengths[None, :] - counts[:, :, 1:].sum(axis=2)
    return counts


_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "eg", "ie",
                  "approx", "no", "nr", "cf", "fig", "jr", "sr", "mt"}
_SENTENCE_END = re.compile(r"(?:[.!?\u2026]+[\"'\u201d\u2019)\]]*)(?=\s)|\n")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]`` (absolute offsets, white space trimmed).

    Rule: a sentence ends after . ! ? or an ellipsis (with closing quotes or brackets) followed by
    white space, unless the word before is a common abbreviation (Dr., e.g. ...); a line break
    always ends one.
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    begin = start
    for m in _SENTENCE_END.finditer(text, start, end):
        if m.group(0) != "\n":
            word = re.search(r"([\w.]+)$", text[max(begin, m.start() - 12):m.start()])
            if m.group(0).startswith(".") and word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
        _push(text, begin, m.end(), out)
        begin = m.end()
    _push(text, begin, end, out)
    return out


def _push(text: str, s: int, e: int, out: list) -> None:
    piece = text[s:e]
    lead = len(piece) - len(piece.lstrip())
    body = piece.strip()
    if body:
        out.append((s + lead, s + lead + len(body)))


def _spacy_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    try:
        import spacy
    except ImportError:  # pragma: no cover - spaCy is a declared dependency
        raise InvalidInput("sentencizer 'spacy' needs spaCy installed; use 'regex'") from None
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    out = []
    for s, e in spans:
        for sent in nlp(text[s:e]).sents:
            _push(text, s + sent.start_char, s + sent.end_char, out)
    return out


def unit_spans(study: "Study", sel: Selection, unit: str, sentencizer: str = "regex"):
    """(document index, start, end) arrays of the units, sorted by document and position."""
    if unit == "document":
        n = len(sel.document_ids)
        return np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), sel.lengths.copy()
    # (document, start, end) of the turns, from the packed per-document cache; documents not
    # selected are dropped by the lookup below
    wanted = sel.document_ids if len(sel.document_ids) <= 500 else None
    arr = span_cache.turn_spans(study.db, wanted).copy()
    lut = _lookup(sel.document_ids, int(arr[:, 0].max()) + 1 if len(arr) else 0)
    arr[:, 0] = lut[arr[:, 0]]
    arr = arr[(arr[:, 0] >= 0) & (arr[:, 2] > arr[:, 1])]  # an empty turn holds no text to code
    if unit == "sentence":
        if sentencizer not in SENTENCIZERS:
            raise InvalidInput(f"unknown sentencizer {sentencizer!r}: use regex or spacy")
        by_doc: dict[int, list[tuple[int, int]]] = {}
        for i, s, e in arr.tolist():
            by_doc.setdefault(i, []).append((s, e))
        rows = []
        for i, doc_turns in by_doc.items():
            text = study.documents.text(sel.document_ids[i])
            if sentencizer == "spacy":
                rows += [(i, s, e) for s, e in _spacy_sentences(text, doc_turns)]
            else:
                rows += [(i, s, e) for ts, te in doc_turns for s, e in split_sentences(text, ts, te)]
        arr = span_cache.int_rows(rows, 3)
    arr = arr[_order([arr[:, 0], arr[:, 1]])]
    return arr[:, 0], arr[:, 1], arr[:, 2]


@dataclass
class UnitHits:
    """Which coder coded which unit with which code, kept sparse.

    ``code``, ``unit``, ``coder`` are parallel arrays, one entry per (code, unit, coder) where the
    coder's merged codings of the code overlap the unit enough (see the module notes), sorted by
    code, unit and coder. A study has codes x units cells but only a few percent are coded, so
    the dense (coders, codes, units) cube is built only when someone asks for the matrix.
    """

    m: int
    n_codes: int
    n_units: int
    code: np.ndarray
    unit: np.ndarray
    coder: np.ndarray

    def dense(self) -> np.ndarray:
        """Boolean (coders, codes, units): coder i coded unit u with code c."""
        present = np.zeros((self.m, self.n_codes, self.n_units), dtype=bool)
        present[self.coder, self.code, self.unit] = True
        return present

    def patterns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(code, unit, pattern) of every coded code x unit pair (pattern bit i: coder i coded it;
        pairs with pattern 0 are left out), sorted by code and unit."""
        if not len(self.code):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        pair = self.code * self.n_units + self.unit
        first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        # one coder appears once per pair, so the sum of the coders' bits is their OR
        pattern = np.add.reduceat(np.left_shift(1, self.coder), first)
        return self.code[first], self.unit[first], pattern


def unit_hits(sel: Selection, ud: np.ndarray, us: np.ndarray, ue: np.ndarray,
              min_overlap: float = 0.0) -> UnitHits:
    """The sparse presence of codes in units (see :class:`UnitHits` and the module notes).

    Every merged span finds the units it overlaps by two binary searches on the units' sorted
    (document, position) keys; each (span, unit) incidence adds its overlap in characters to its
    (code, unit, coder) cell, and a cell is present when the sum reaches the unit's threshold.
    Work and memory grow with the incidences, not with codes x units.
    """
    m, C, U = sel.m, len(sel.codes), len(ud)
    sp = sel.spans
    empty = np.zeros(0, dtype=np.int64)
    if not len(sp) or not U:
        return UnitHits(m, C, U, empty, empty, empty)
    big = int(max(sel.lengths.max(), sp[:, 4].max())) + 1
    key_s, key_e = ud * big + us, ud * big + ue
    lo = np.searchsorted(key_e, sp[:, 0] * big + sp[:, 3], side="right")
    hi = np.searchsorted(key_s, sp[:, 0] * big + sp[:, 4], side="left")
    cnt = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(sp)), cnt)
    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    u = np.repeat(lo, cnt) + offs
    ov = np.minimum(sp[which, 4], ue[u]) - np.maximum(sp[which, 3], us[u])
    key = (sp[which, 1] * U + u) * m + sp[which, 2]
    order = np.argsort(key, kind="stable")
    key, ov = key[order], ov[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else empty
    cells = key[first]
    acc = np.add.reduceat(ov, first) if len(key) else empty
    need = np.maximum(1, np.ceil(min_overlap * (ue - us)))
    cells = cells[acc >= need[(cells // m) % U]]
    return UnitHits(m, C, U, cells // (m * U), (cells // m) % U, cells % m)


def hit_counts(hits: UnitHits, ud: np.ndarray, n_docs: int) -> np.ndarray:
    """(codes, documents, 2**m) units by coder pattern, from the sparse hits."""
    m, C = hits.m, hits.n_codes
    K = 1 << m
    code, unit, pattern = hits.patterns()
    counts = np.bincount((code * n_docs + ud[unit]) * K + pattern,
                         minlength=C * n_docs * K).reshape(C, n_docs, K)
    per_doc = np.bincount(ud, minlength=n_docs)
    counts[:, :, 0] = per_doc[None, :] - counts[:, :, 1:].sum(axis=2)
    return counts


def unit_presence(sel: Selection, ud: np.ndarray, us: np.ndarray, ue: np.ndarray,
                  min_overlap: float = 0.0) -> np.ndarray:
    """Boolean (coders, codes, units): coder i coded unit u with code c (see module notes)."""
    return unit_hits(sel, ud, us, ue, min_overlap).dense()


def unit_patterns(present: np.ndarray) -> np.ndarray:
    """(codes, units) coder patterns from (coders, codes, units) presence.

    Small integers (uint8 up to eight coders): the whole study's codes x units in 1 byte each.
    """
    m = present.shape[0]
    out = np.zeros(present.shape[1:], dtype=np.uint8 if m <= 8 else np.int64)
    for i in range(m):
        out |= present[i].astype(out.dtype) << i
    return out


def pattern_counts(patterns: np.ndarray, ud: np.ndarray, n_docs: int, m: int) -> np.ndarray:
    C, U = patterns.shape
    K = 1 << m
    key = (np.arange(C)[:, None] * n_docs + ud[None, :]) * K + patterns
    return np.bincount(key.ravel(), minlength=C * n_docs * K).reshape(C, n_docs, K)


def segment_matches(sel: Selection, i: int, j: int, threshold: float, overlap: str):
    """Merged segments of coders i and j and whether each found a match in the other's.

    Returns ``(idx_i, matched_i, idx_j, matched_j)``: row indices into ``sel.spans`` and boolean
    flags. Candidate pairs (same code, same document, overlapping) come from binary searches on
    the other coder's sorted, disjoint segments.
    """
    sp = sel.spans
    C = max(len(sel.codes), 1)
    ia_all = np.flatnonzero(sp[:, 2] == i)
    ib_all = np.flatnonzero(sp[:, 2] == j)
    # cells document-major, like the spans' own order: the sorts below find them sorted already
    ia_all = ia_all[_order([sp[ia_all, 0] * C + sp[ia_all, 1], sp[ia_all, 3]])]
    ib_all = ib_all[_order([sp[ib_all, 0] * C + sp[ib_all, 1], sp[ib_all, 3]])]
    a, b = sp[ia_all], sp[ib_all]
    ma = np.zeros(len(a), dtype=bool)
    mb = np.zeros(len(b), dtype=bool)
    if len(a) and len(b):
        big = int(sp[:, 4].max()) + 1
        ca, cb = a[:, 0] * C + a[:, 1], b[:, 0] * C + b[:, 1]
        lo = np.searchsorted(cb * big + b[:, 4], ca * big + a[:, 3], side="right")
        hi = np.searchsorted(cb * big + b[:, 3], ca * big + a[:, 4], side="left")
        cnt = np.maximum(hi - lo, 0)
        ia = np.repeat(np.arange(len(a)), cnt)
        ib = np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        inter = np.minimum(a[ia, 4], b[ib, 4]) - np.maximum(a[ia, 3], b[ib, 3])
        la, lb = a[ia, 4] - a[ia, 3], b[ib, 4] - b[ib, 3]
        denom = la + lb - inter if overlap == "union" else np.minimum(la, lb)
        ok = inter >= threshold * denom - 1e-9 * denom
        ma[ia[ok]] = True
        mb[ib[ok]] = True
    return ia_all, ma, ib_all, mb


def matched_by_all(sel: Selection, threshold: float, overlap: str) -> np.ndarray:
    """Per row of ``sel.spans``: matched by a segment of every other coder."""
    ok = np.ones(len(sel.spans), dtype=bool)
    for i in range(sel.m):
        for j in range(i + 1, sel.m):
            ia, ma, ib, mb = segment_matches(sel, i, j, threshold, overlap)
            ok[ia[~ma]] = False
            ok[ib[~mb]] = False
    return ok


def segment_counts(sel: Selection, threshold: float, overlap: str,
                   pairs: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
    """(codes, documents, 4) checks summed over coder pairs: A matched, A unmatched, B matched,
    B unmatched."""
    C, D = len(sel.codes), len(sel.documents)
    out = np.zeros((C, D, 4), dtype=np.int64)
    if pairs is None:
        pairs = [(i, j) for i in range(sel.m) for j in range(i + 1, sel.m)]
    for i, j in pairs:
        ia, ma, ib, mb = segment_matches(sel, i, j, threshold, overlap)
        for idx, matched, col in ((ia, ma, 0), (ib, mb, 2)):
            rows = sel.spans[idx]
            cell = rows[:, 1] * D + rows[:, 0]
            out[..., col] += np.bincount(cell[matched], minlength=C * D).reshape(C, D)
            out[..., col + 1] += np.bincount(cell[~matched], minlength=C * D).reshape(C, D)
    return out


# ---------------------------------------------------------------------------------------------
# Coefficients from counts (vectorised over any leading axes)


def binary_stats(w: np.ndarray, m: int) -> dict[str, np.ndarray]:
    """Percent agreement, Cohen (m = 2), Fleiss and nominal alpha from pattern counts.

    ``w[..., p]`` is the number (or weight) of units coded by exactly the coders in bit pattern
    p. NaN where undefined (no units, no variation); the reasons are attached by the callers.
    Formulas: agreement.md section 1 (binary alpha: 1 - (n-1) o_01 / (n_0 n_1)).
    """
    w = np.asarray(w, dtype=float)
    K = 1 << m
    k = _popcount(m).astype(float)
    N = w.sum(-1)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        if m < 2:
            nan = np.full(N.shape, np.nan)
            return {"percent": nan, "cohen": nan.copy(), "fleiss": nan.copy(), "alpha": nan.copy()}
        agree = (k * (k - 1) + (m - k) * (m - k - 1)) / (m * (m - 1))
        p_bar = (w * agree).sum(-1) / N
        n1 = (w * k).sum(-1)
        p1 = n1 / (N * m)
        pe = p1**2 + (1 - p1) ** 2
        fleiss = (p_bar - pe) / (1 - pe)
        n = N * m
        o01 = (w * k * (m - k)).sum(-1) / (m - 1)
        alpha = 1 - (n - 1) * o01 / ((n - n1) * n1)
        novar = (N == 0) | (w[..., 0] == N) | (w[..., K - 1] == N)
        if m == 2:
            a, b, c, d = w[..., 3], w[..., 1], w[..., 2], w[..., 0]
            po = (a + d) / N
            pe2 = ((a + b) * (a + c) + (c + d) * (b + d)) / N**2
            cohen = (po - pe2) / (1 - pe2)
        else:
            cohen = np.full(N.shape, np.nan)
        out.update(percent=np.where(N == 0, np.nan, p_bar), cohen=np.where(novar, np.nan, cohen),
                   fleiss=np.where(novar, np.nan, fleiss), alpha=np.where(novar, np.nan, alpha))
    return out


def segment_stats(w: np.ndarray, q: int) -> dict[str, np.ndarray]:
    """P_obs = a/(a+b+c) and Brennan-Prediger kappa from (..., 4) segment checks."""
    w = np.asarray(w, dtype=float)
    total = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (w[..., 0] + w[..., 2]) / total
        bp = (p - 1 / q) / (1 - 1 / q) if q >= 2 else np.full(np.shape(p), np.nan)
    return {"percent": p, "bp": np.where(total == 0, np.nan, bp)}


def pair_counts(w: np.ndarray, i: int, j: int, m: int) -> np.ndarray:
    """Collapse (..., 2**m) pattern counts to the 2x2 patterns of coders i and j."""
    p = np.arange(1 << m)
    target = ((p >> i) & 1) + 2 * ((p >> j) & 1)
    out = np.zeros(w.shape[:-1] + (4,), dtype=w.dtype)
    for t in range(4):
        out[..., t] = w[..., target == t].sum(-1)
    return out


# ---------------------------------------------------------------------------------------------
# Report objects


@contextmanager
def _bulk():
    """Pause the cyclic garbage collector while building many small objects.

    A report's cells are 100,000 figures with four coefficients each on a study of 1,000
    documents and 100 codes; every few hundred allocations the collector would walk all of
    them again (70 % of the time). None of them form reference cycles, so nothing is lost by
    letting the collector resume afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def coefficient_dict(c: Coefficient, ci: tuple[float, float] | None = None,
                     ci_valid: int | None = None) -> dict[str, Any]:
    value = float(c)
    d: dict[str, Any] = {"value": None if math.isnan(value) else round(value, 6),
                         "method": c.method, "reason": c.reason, "n_units": c.n_units}
    if getattr(c, "convention", None):
        d["convention"] = c.convention
    if ci is not None:
        d["ci95"] = [None if math.isnan(x) else round(float(x), 6) for x in ci]
        d["bootstrap_valid"] = ci_valid
    return d


@dataclass
class Figure:
    """One row of an agreement table: pooled, one code, one document or one code x document."""

    scope: str
    code: str | None
    document: str | None
    n_units: int
    prevalence: float | None
    coded: dict[str, int]
    table: dict[str, int]
    stats: dict[str, Coefficient]
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    ci_valid: dict[str, int] = field(default_factory=dict)
    ci_note: str | None = None  # why this figure's bootstrap interval is not to be trusted

    def value(self, key: str) -> float:
        c = self.stats.get(key)
        return math.nan if c is None else float(c)

    def as_dict(self) -> dict[str, Any]:
        d = {
            "scope": self.scope, "code": self.code, "document": self.document,
            "n_units": self.n_units,
            "prevalence": None if self.prevalence is None else round(self.prevalence, 6),
            "coded": self.coded, "table": self.table,
            "stats": {k: coefficient_dict(c, self.ci.get(k), self.ci_valid.get(k))
                      for k, c in self.stats.items()},
        }
        if self.ci:
            d["ci_note"] = self.ci_note
        return d


STAT_SYMBOLS = {"cohen": "κ", "fleiss": "Fleiss' κ", "alpha": "α", "percent": "%", "bp": "κ_BP"}
STAT_NAMES = {"cohen": "Cohen's κ", "fleiss": "Fleiss' κ", "alpha": "Krippendorff's α",
              "percent": "agreement", "bp": "Brennan–Prediger κ"}


@dataclass
class AgreementReport:
    """Agreement of a study's codings at one unit; see the module docstring for conventions."""

    unit: str
    unit_label: str
    coders: list[str]
    documents: list[str]
    n_documents_selected: int
    n_documents_study: int
    excluded_documents: list[dict[str, Any]]
    codes: list[str]
    options: dict[str, Any]
    headline: str
    stat_keys: list[str]
    pooled: Figure
    by_code: list[Figure]
    by_document: list[Figure]
    pairwise: dict[str, Any]
    notes: list[str]
    methods: str = ""
    warnings: list[str] = field(default_factory=list)
    _matrix: Any = field(default=None, repr=False)
    _cell_source: Any = field(default=None, repr=False)
    _cells: list[Figure] | None = field(default=None, repr=False)

    @property
    def cells(self) -> list[Figure]:
        """One figure per code x document (NVivo's per node per source rows), built on demand."""
        if self._cells is None:
            ctx, counts = self._cell_source
            C, D = counts.shape[:2]
            self._cells = ctx.figures("cell", counts.reshape(C * D, counts.shape[2]),
                                      [c for c in self.codes for _ in range(D)],
                                      [d for _ in range(C) for d in self.documents])
        return self._cells

    def matrix(self, code: str | None = None) -> list[list[int]]:
        """The coders x units 0/1 reliability matrix behind a figure (unit levels only).

        ``code=None`` gives the pooled matrix (every code x unit pair); feed it to any function
        of :mod:`qualcode.agreement.stats`.
        """
        if self._matrix is None:
            raise InvalidInput(f"no unit matrix at {self.unit} level (only turn, sentence, document)")
        present = self._matrix.dense() if isinstance(self._matrix, UnitHits) else self._matrix
        if code is None:
            return present.reshape(present.shape[0], -1).astype(int).tolist()
        if code not in self.codes:
            raise InvalidInput(f"code {code!r} is not in this report")
        return present[:, self.codes.index(code), :].astype(int).tolist()

    def cell_values(self, key: str | None = None) -> tuple[list[str], list[str], np.ndarray]:
        """(codes, documents, values) of one statistic per code x document, for a heatmap."""
        key = key or ("percent" if self.unit == "document" else self.headline)
        ctx, counts = self._cell_source
        if key not in ctx.keys():
            raise InvalidInput(f"no statistic {key!r} at {self.unit} level "
                               f"(have: {', '.join(ctx.keys())})")
        values = np.asarray(_batch(ctx, counts)[key], dtype=float)
        if ctx.nvivo_compat and key == "cohen":
            for f in self.cells:
                if f.stats["cohen"].__dict__.get("convention"):
                    values[self.codes.index(f.code), self.documents.index(f.document)] = 1.0
        return self.codes, self.documents, values

    def as_dict(self, cells: bool = True) -> dict[str, Any]:
        with _bulk():
            return self._as_dict(cells)

    def _as_dict(self, cells: bool) -> dict[str, Any]:
        d = {
            "unit": self.unit, "unit_label": self.unit_label, "coders": self.coders,
            "documents": self.documents, "n_documents": len(self.documents),
            "n_documents_selected": self.n_documents_selected,
            "n_documents_study": self.n_documents_study,
            "excluded_documents": self.excluded_documents, "codes": self.codes,
            "options": self.options, "headline": self.headline, "stat_keys": self.stat_keys,
            "pooled": self.pooled.as_dict(),
            "by_code": [f.as_dict() for f in self.by_code],
            "by_document": [f.as_dict() for f in self.by_document],
            "pairwise": self.pairwise, "notes": self.notes, "warnings": self.warnings,
            "methods": self.methods,
        }
        if cells:
            d["cells"] = [f.as_dict() for f in self.cells]
        return d


# ---------------------------------------------------------------------------------------------
# Building figures


class _Context:
    def __init__(self, unit: str, coders: list[str], q: int, exclude_uncoded: bool,
                 nvivo_compat: bool, threshold: float, overlap: str):
        self.unit, self.coders, self.m, self.q = unit, coders, len(coders), q
        self.exclude_uncoded, self.nvivo_compat = exclude_uncoded, nvivo_compat
        self.threshold, self.overlap = threshold, overlap

    # statistics shown at this unit, headline first
    def keys(self) -> list[str]:
        return stat_keys(self.unit, self.m, self.exclude_uncoded)

    def prepare(self, w: np.ndarray) -> np.ndarray:
        if self.exclude_uncoded:
            w = w.copy()
            w[..., 0] = 0
        return w

    def _methods(self) -> dict[str, str]:
        m = self.m
        pct_method = ("percent agreement (overlap: text no coder coded left out)" if self.exclude_uncoded
                      else "percent agreement" + (" (mean pairwise per unit)" if m > 2 else ""))
        return {
            "percent": pct_method,
            "cohen": ("Cohen's kappa (NVivo Coding Comparison K)" if self.unit == "character"
                      else "Cohen's kappa (unweighted)"),
            "fleiss": "Fleiss' kappa" + (" (= Scott's pi for two coders)" if m == 2 else ""),
            "alpha": "Krippendorff's alpha (nominal)",
        }

    def _reasons(self, wp: np.ndarray, N: np.ndarray) -> list[str | None]:
        """Why each row's coefficients may be undefined (None: nothing special), from prepared
        counts ``wp`` (rows x K) and their totals ``N``."""
        K = 1 << self.m
        if self.m < 2:
            return [stats.ONE_CODER] * len(wp)
        choices = [NEITHER if self.exclude_uncoded else NO_UNITS, NEITHER, EVERYWHERE, None]
        which = np.select([N == 0, wp[:, 0] == N, wp[:, K - 1] == N], [0, 1, 2], 3)
        return [choices[i] for i in which.tolist()]

    def coefficients(self, w: np.ndarray, vals: dict[str, float] | None = None
                     ) -> dict[str, Coefficient]:
        """The labelled coefficients of one row of counts (``vals``: precomputed statistics)."""
        w = np.asarray(w)
        batch = None if vals is None else {k: np.asarray([v]) for k, v in vals.items()}
        return self._coefficient_rows(w.reshape(1, -1), batch)[0]

    def _coefficient_rows(self, W: np.ndarray, vals: dict[str, np.ndarray] | None = None
                          ) -> list[dict[str, Coefficient]]:
        """Labelled coefficients for every row of ``W`` (rows x K counts), built in one batch."""
        if self.unit == "segment":
            return self._segment_rows(W, vals)
        m = self.m
        wp = self.prepare(np.asarray(W))
        N = wp.sum(axis=1)
        if vals is None:
            vals = binary_stats(wp, m)
        word = "characters" if self.unit == "character" else UNIT_LABELS[self.unit]
        keys = self.keys()
        # the attributes Coefficient(v, method=..., reason=..., n_units=..., n_coders=m,
        # unit=word) would set, in its order; only reason and n_units change from row to row
        templates = {key: {"method": method, "reason": None, "n_units": 0, "n_coders": m,
                           "categories_used": None, "q": None, "unit": word}
                     for key, method in self._methods().items()}
        columns = [vals[key].tolist() for key in keys]
        nvivo = self.nvivo_compat and m == 2 and not self.exclude_uncoded
        excluded = self.exclude_uncoded
        make = Coefficient.from_attributes
        plan = [(key, templates[key], column, excluded and key != "percent")
                for key, column in zip(keys, columns)]
        out = []
        for row, (n_units, reason) in enumerate(zip(N.tolist(), self._reasons(wp, N))):
            n_units = int(n_units)
            coefficients = {}
            for key, template, column, hidden in plan:
                v = column[row]
                if math.isnan(v):  # undefined: say why
                    r = EXCLUDED if hidden else (reason or "undefined")
                elif hidden:  # chance-corrected figures are not reported without "neither"
                    v, r = math.nan, EXCLUDED
                else:
                    r = None
                attributes = {**template, "reason": r, "n_units": n_units}
                if key == "cohen" and nvivo and reason in (NEITHER, EVERYWHERE):
                    v, attributes["reason"] = 1.0, None
                    attributes["convention"] = f"K = 1 by NVivo's convention ({reason})"
                coefficients[key] = make(v, attributes)
            out.append(coefficients)
        return out

    def _segment_rows(self, W: np.ndarray, vals: dict[str, np.ndarray] | None = None
                      ) -> list[dict[str, Coefficient]]:
        W = np.asarray(W)
        if vals is None:
            vals = segment_stats(W, self.q)
        pairs = "" if self.m == 2 else ", checks summed over coder pairs"
        rule = f"overlap ≥ {self.threshold:g} of the {self.overlap}"
        methods = (("bp", f"Brennan-Prediger kappa (q = {self.q} codes; MAXQDA-compatible, not "
                          f"Cohen's kappa; {rule}{pairs})"),
                   ("percent", f"P_obs = a/(a+b+c) (MAXQDA segment agreement; {rule}{pairs})"))
        columns = {key: np.asarray(vals[key]).reshape(-1).tolist() for key, _ in methods}
        make = Coefficient.from_attributes
        out = []
        for row, total in enumerate(W.sum(axis=1).tolist()):
            total = int(total)
            reason = stats.ONE_CODER if self.m < 2 else (NO_SEGMENTS if total == 0 else None)
            coefficients = {}
            for key, method in methods:
                v = float(columns[key][row]) if self.m >= 2 else math.nan
                r = None if not math.isnan(v) else (reason or (ONE_Q if key == "bp" else "undefined"))
                coefficients[key] = make(v, {"method": method, "reason": r, "n_units": total,
                                             "n_coders": self.m, "categories_used": None,
                                             "q": self.q, "unit": "coded segments"})
            out.append(coefficients)
        return out

    def figures(self, scope: str, W: np.ndarray, codes: Sequence[str | None],
                documents: Sequence[str | None]) -> list[Figure]:
        """One figure per row of ``W`` (rows x K counts), everything computed in one batch.

        A study-level report has a figure per code and per document (and, for ``cells``, per
        code x document), so the tables, prevalences and coefficients are vectorised over the rows
        and only the objects are built in Python.
        """
        W = np.asarray(W)
        W = W.reshape(-1, W.shape[-1])
        if not len(W):
            return []
        with _bulk():
            return self._figures(scope, W, codes, documents)

    def _figures(self, scope: str, W: np.ndarray, codes: Sequence[str | None],
                 documents: Sequence[str | None]) -> list[Figure]:
        coefficients = self._coefficient_rows(W, _batch(self, W))
        m = self.m
        if self.unit == "segment":
            totals = W.sum(axis=1).tolist()
            rows = W.astype(np.int64).tolist()
            out = []
            for r, (a_m, a_u, b_m, b_u) in enumerate(rows):
                table = {"a_matched": a_m, "a_unmatched": a_u, "b_matched": b_m, "b_unmatched": b_u}
                coded = {self.coders[0]: a_m + a_u, self.coders[1]: b_m + b_u} if m == 2 else {}
                out.append(Figure(scope, codes[r], documents[r], int(totals[r]), None, coded, table,
                                  coefficients[r]))
            return out
        wp = self.prepare(W).astype(np.int64)
        K = wp.shape[1]
        p = np.arange(K)
        bits = ((p[:, None] >> np.arange(m)[None, :]) & 1).astype(np.int64)
        coded_rows = (wp @ bits).tolist()
        totals = wp.sum(axis=1).tolist()
        if m == 2:
            tables = [{"both": w3, "a_only": w1, "b_only": w2, "neither": w0}
                      for w0, w1, w2, w3 in wp.tolist()]
        else:
            by_count = (_popcount(m)[:, None] == np.arange(m + 1)[None, :]).astype(np.int64)
            names = [f"coded_by_{j}" for j in range(m + 1)]
            tables = [dict(zip(names, row)) for row in (wp @ by_count).tolist()]
        out = []
        for r, (N, coded_row) in enumerate(zip(totals, coded_rows)):
            coded = dict(zip(self.coders, coded_row))
            prevalence = sum(coded_row) / (m * N) if N and m else None
            out.append(Figure(scope, codes[r], documents[r], N, prevalence, coded, tables[r],
                              coefficients[r]))
        return out

    def figure(self, scope: str, w: np.ndarray, code: str | None = None,
               document: str | None = None) -> Figure:
        w = np.asarray(w)
        return self.figures(scope, w.reshape(1, -1), [code], [document])[0]


def _batch(ctx: _Context, w: np.ndarray) -> dict[str, np.ndarray]:
    if ctx.unit == "segment":
        return segment_stats(w, ctx.q)
    return binary_stats(ctx.prepare(w), ctx.m)


def _bootstrap(ctx: _Context, n: int, C: int, K: int, counts_of, B: int, seed: int,
               chunk: int = 64) -> tuple[dict, list[dict]]:
    """Percentile CIs for the pooled and per-code figures.

    ``n`` clusters (units or documents) are resampled with replacement; ``counts_of(weights)``
    turns a (b, n) matrix of resample weights into (b, codes, K) counts. Weights are drawn in
    fixed chunks from one seeded generator, so a seed always gives the same intervals.
    """
    rng = np.random.default_rng(seed)
    reps = np.empty((B, C, K))
    for start in range(0, B, chunk):
        b = min(chunk, B - start)
        idx = rng.integers(0, n, size=(b, n))
        weights = np.bincount((np.arange(b)[:, None] * n + idx).ravel(),
                              minlength=b * n).reshape(b, n).astype(float)
        reps[start:start + b] = counts_of(weights)

    def summarise(vals: dict[str, np.ndarray]) -> dict:
        out = {}
        for key in ctx.keys():
            if key != "percent" and ctx.exclude_uncoded:
                continue
            v = vals[key]
            ok = v[~np.isnan(v)]
            out[key] = (((float(np.percentile(ok, 2.5)), float(np.percentile(ok, 97.5))), int(ok.size))
                        if ok.size else ((math.nan, math.nan), 0))
        return out

    pooled = summarise(_batch(ctx, reps.sum(axis=1)))
    per_code = [summarise(_batch(ctx, reps[:, c, :])) for c in range(C)]
    return pooled, per_code


def _unit_resampler(hits: UnitHits, K: int):
    """``counts_of(weights)`` for unit-level bootstrap: (b, units) weights -> (b, codes, K) counts.

    Only coded code x unit pairs are summed (grouped by code and pattern); pattern 0 is the rest
    of each replicate's weight. The weights are whole numbers, so the float sums are exact and
    equal to multiplying by a dense one-hot matrix per code.
    """
    code, unit, pattern = hits.patterns()
    C = hits.n_codes
    group = code * K + pattern
    order = np.argsort(group, kind="stable")
    group, unit = group[order], unit[order]
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else group
    cells = group[first]

    def counts_of(w: np.ndarray) -> np.ndarray:
        out = np.zeros((len(w), C * K))
        if len(cells):
            out[:, cells] = np.add.reduceat(w[:, unit], first, axis=1)
        out = out.reshape(len(w), C, K)
        out[:, :, 0] = w.sum(axis=1)[:, None] - out[:, :, 1:].sum(axis=2)
        return out

    return counts_of


def _attach(fig: Figure, cis: dict) -> None:
    for key, (ci, valid) in cis.items():
        fig.ci[key] = ci
        fig.ci_valid[key] = valid


def agreement(study: "Study", coders: Sequence[str], unit: str = "turn", *,
              codes: Sequence[str] | None = None, documents: Sequence[str] | None = None,
              all_documents: bool = False, threshold: float = 0.9, overlap: str = "union",
              min_overlap: float = 0.0, exclude_uncoded: bool = False, nvivo_compat: bool = False,
              sentencizer: str = "regex", bootstrap: int = 0, seed: int | None = None,
              resample: str = "documents") -> AgreementReport:
    """Agreement between ``coders`` at ``unit`` (see the module docstring for every convention)."""
    unit = _unit(unit)
    if overlap not in OVERLAPS:
        raise InvalidInput(f"unknown overlap {overlap!r}: use union or shorter")
    if not (0 < threshold <= 1):
        raise InvalidInput(f"threshold must be a share in (0, 1], e.g. 0.9, not {threshold}")
    if not (0 <= min_overlap <= 1):
        raise InvalidInput(f"min overlap must be a share in [0, 1], not {min_overlap}")
    if exclude_uncoded and unit != "character":
        raise InvalidInput("leaving out uncoded text (--exclude-uncoded) applies to --unit character")
    if nvivo_compat and unit != "character":
        raise InvalidInput("NVivo-compatible mode applies to --unit character")
    if bootstrap < 0 or bootstrap > 100_000:
        raise InvalidInput("bootstrap resamples must be between 0 and 100000")
    if resample not in RESAMPLES:
        raise InvalidInput(f"unknown resample {resample!r}: use documents or units")
    if resample == "units" and unit in ("character", "segment"):
        raise InvalidInput(f"resampling units applies to turn, sentence and document units: {unit}s "
                           "are resampled as whole documents")
    if sentencizer not in SENTENCIZERS:
        raise InvalidInput(f"unknown sentencizer {sentencizer!r}: use regex or spacy")
    sel = select(study, coders, codes, documents, all_documents)
    C, D = len(sel.codes), len(sel.documents)
    ctx = _Context(unit, sel.coders, C, exclude_uncoded, nvivo_compat, threshold, overlap)
    notes = [_rule_note(sel)]
    present = None
    if unit == "character":
        counts = character_counts(sel)
    elif unit == "segment":
        counts = segment_counts(sel, threshold, overlap)
    else:
        ud, us, ue = unit_spans(study, sel, unit, sentencizer)
        present = unit_hits(sel, ud, us, ue, min_overlap)
        counts = hit_counts(present, ud, D)
    notes.append(_unit_note(unit, threshold, overlap, min_overlap, exclude_uncoded, nvivo_compat,
                            sentencizer))
    pooled = ctx.figure("pooled", counts.sum(axis=(0, 1)))
    by_code = ctx.figures("code", counts.sum(axis=1), sel.codes, [None] * C)
    by_document = ctx.figures("document", counts.sum(axis=0), [None] * D, sel.documents)
    options: dict[str, Any] = {"all_documents": all_documents, "codes_given": sel.codes_given}
    if unit == "segment":
        options.update(threshold=threshold, overlap=overlap, q=C)
    if unit in ("turn", "sentence", "document"):
        options["min_overlap"] = min_overlap
    if unit == "sentence":
        options["sentencizer"] = sentencizer
    if unit == "character":
        options.update(exclude_uncoded=exclude_uncoded, nvivo_compat=nvivo_compat)
    warnings = _selection_warnings(sel)
    if seed is not None and not bootstrap:
        warnings.append("a seed was given without bootstrap resamples (--bootstrap N): no "
                        "confidence intervals were computed and the seed was not used")
    if bootstrap:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        by_docs = present is None or resample == "documents"
        options.update(bootstrap=bootstrap, seed=seed, resample="documents" if by_docs else "units")
        K = counts.shape[2]
        positive = counts.sum(axis=2) if unit == "segment" else counts[:, :, 1:].sum(axis=2)
        if by_docs:  # documents are the clusters
            per_doc = counts.transpose(1, 0, 2).reshape(D, C * K).astype(float)
            n, counts_of = D, lambda w: (w @ per_doc).reshape(len(w), C, K)
            code_pos = (positive > 0).sum(axis=1)
            pooled_pos = int((positive.sum(axis=0) > 0).sum())
        else:  # units are the clusters
            n = present.n_units
            counts_of = _unit_resampler(present, K)
            code_pos = positive.sum(axis=1)
            pooled_pos = len(np.unique(present.unit))
        options["bootstrap_clusters"] = n
        if n and C:
            pooled_ci, code_ci = _bootstrap(ctx, n, C, K, counts_of, bootstrap, seed)
            _attach(pooled, pooled_ci)
            for fig, ci in zip(by_code, code_ci):
                _attach(fig, ci)
            pooled.ci_note = _ci_note(pooled, pooled_pos, unit, pooled=True, by_docs=by_docs)
            for fig, k in zip(by_code, code_pos.tolist()):
                fig.ci_note = _ci_note(fig, int(k), unit, by_docs=by_docs)
        notes.append(f"95 % CIs: percentile bootstrap, {plural(bootstrap, 'resample')} "
                     f"(seed {seed}); resampled unit: {_resampled(unit, n, by_docs)}; shown for the "
                     "pooled and per-code figures.")
        warnings += _bootstrap_warnings(unit, n, by_code, pooled, by_docs)
    pairwise = _pairwise(sel, ctx, counts, threshold, overlap)
    report = AgreementReport(
        unit=unit, unit_label=UNIT_LABELS[unit], coders=sel.coders, documents=sel.documents,
        n_documents_selected=sel.n_documents_selected,
        n_documents_study=sel.n_documents_study,
        excluded_documents=sel.excluded_documents, codes=sel.codes, options=options,
        headline=ctx.keys()[0], stat_keys=ctx.keys(), pooled=pooled, by_code=by_code,
        by_document=by_document, pairwise=pairwise, notes=notes, warnings=warnings,
        _matrix=present, _cell_source=(ctx, counts))
    report.methods = methods_sentence(report)
    return report


# ---------------------------------------------------------------------------------------------
# Warnings: what the figures cannot carry


def nothing_compared(sel: Selection) -> str | None:
    """Why nothing can be compared (one coder only, or no document coded by every named coder),
    as one sentence; None when there is something to compare."""
    m = sel.m
    if m < 2:
        return (f"only one coder ({join_names(sel.coders)}) was named: agreement needs two or "
                "more coders, so every figure is undefined")
    if sel.documents:
        return None
    if sel.n_documents_selected == 0:
        return "there are no documents to compare"
    who = join_names(sel.coders) if m == 2 else "all of " + join_names(sel.coders)
    docs = plural(sel.n_documents_selected, "document")
    coded_some = {n for e in sel.excluded_documents for n in e["coded_by"]}
    silent = [n for n in sel.coders if n not in coded_some]
    if silent:
        why = f"{join_names(silent)} coded none of the {docs}"
    else:
        why = f"each of the {docs} that was coded at all was coded by only some of them"
    return (f"no document was coded by {'both ' if m == 2 else ''}{who}, so there is nothing to "
            f"compare: {why} (--all-documents counts a coder's silence as 'not coded')")


def _selection_warnings(sel: Selection) -> list[str]:
    message = nothing_compared(sel)
    if message:
        return [message]
    out = []
    if sel.all_documents:
        coded = set(np.unique(sel.spans[:, 2]).tolist()) if len(sel.spans) else set()
        silent = [n for i, n in enumerate(sel.coders) if i not in coded]
        if silent:
            out.append(f"{join_names(silent)} coded nothing in the compared documents: every "
                       "figure compares the other coders' codings with none")
    return out


_CLUSTER_WORDS = {"character": "document", "segment": "document", "turn": "speaker turn",
                  "sentence": "sentence", "document": "document"}


def _resampled(unit: str, n: int, by_docs: bool) -> str:
    if by_docs and unit == "document":
        return f"documents ({plural(n, 'document')})"
    if by_docs:
        return (f"whole documents ({plural(n, 'document')}; {UNIT_LABELS[unit]} within a document "
                "are not independent)")
    return f"{UNIT_LABELS[unit]} ({plural(n, _CLUSTER_WORDS[unit])}; the same units for every code)"


def _ci_note(fig: Figure, positive: int, unit: str, pooled: bool = False,
             by_docs: bool | None = None) -> str | None:
    """Why a figure's interval is not to be trusted (None: nothing to say)."""
    if not fig.ci:
        return None
    if by_docs is None:
        by_docs = unit in ("character", "segment")
    if positive < MIN_POSITIVE:
        what = plural(positive, "document" if by_docs else _CLUSTER_WORDS[unit])
        holds = "any code" if pooled else "this code"
        if by_docs:
            return (f"few positive documents: {what} {'holds' if positive == 1 else 'hold'} "
                    f"{holds} (fewer than {MIN_POSITIVE}), the interval is not reliable")
        return (f"few positive units: {what} {'holds' if positive == 1 else 'hold'} {holds} "
                f"(fewer than {MIN_POSITIVE}), the interval is not reliable")
    for lo, hi in fig.ci.values():
        if not (math.isnan(lo) or math.isnan(hi)) and hi - lo < 1e-12:
            return "degenerate interval: every resample gave the same value"
    return None


def _bootstrap_warnings(unit: str, n: int, by_code: list[Figure], pooled: Figure,
                        by_docs: bool) -> list[str]:
    out = []
    flagged = [f.code for f in by_code if f.ci_note]
    if 0 < n < MIN_CLUSTERS:
        distinct = math.comb(2 * n - 1, n)
        what = "whole documents" if by_docs else UNIT_LABELS[unit]
        have = plural(n, "double-coded document" if by_docs or unit == "document"
                      else _CLUSTER_WORDS[unit])
        text = (f"the bootstrap resamples {what} and there {'is' if n == 1 else 'are'} only "
                f"{have}: at most {plural(distinct, 'distinct resample')}, so the 95 % "
                f"intervals are rough (fewer than {MIN_CLUSTERS} clusters)")
        if pooled.ci_note and len(flagged) == len(by_code):
            return [text + "; every interval is marked †"]
        out.append(text)
    if flagged:
        shown = ", ".join(flagged[:8]) + (f" and {len(flagged) - 8:,} more" if len(flagged) > 8 else "")
        positive = "documents" if by_docs else "positive units"
        out.append(f"{plural(len(flagged), 'code')} {'has' if len(flagged) == 1 else 'have'} an "
                   f"unreliable bootstrap interval (fewer than {MIN_POSITIVE} {positive} holding "
                   f"the code, or every resample the same value; marked †): {shown}")
    if pooled.ci_note:
        out.append(f"the pooled interval is unreliable: {pooled.ci_note}")
    return out


def _pairwise(sel: Selection, ctx: _Context, counts: np.ndarray, threshold: float,
              overlap: str) -> dict[str, Any]:
    m = sel.m
    key = "bp" if ctx.unit == "segment" else "cohen"
    matrix: list[list[float | None]] = [[None] * m for _ in range(m)]
    agree: list[list[float | None]] = [[None] * m for _ in range(m)]
    reasons = []
    pair_ctx = _Context(ctx.unit, ["a", "b"], ctx.q, ctx.exclude_uncoded, ctx.nvivo_compat,
                        threshold, overlap)
    for i in range(m):
        matrix[i][i] = agree[i][i] = 1.0
        for j in range(i + 1, m):
            if ctx.unit == "segment" and m == 2:  # the only pair: its checks are the counts
                w = counts.sum(axis=(0, 1))
            elif ctx.unit == "segment":
                w = segment_counts(sel, threshold, overlap, [(i, j)]).sum(axis=(0, 1))
            else:
                w = pair_counts(counts.sum(axis=(0, 1)), i, j, m)
            co = pair_ctx.coefficients(w)
            k = co.get(key) if key in co else co["percent"]
            kv = None if math.isnan(k) else round(float(k), 6)
            pv = None if math.isnan(co["percent"]) else round(float(co["percent"]), 6)
            matrix[i][j] = matrix[j][i] = kv
            agree[i][j] = agree[j][i] = pv
            if kv is None:
                reasons.append({"coders": [sel.coders[i], sel.coders[j]], "reason": k.reason})
    label = ("Brennan-Prediger kappa (MAXQDA-compatible)" if ctx.unit == "segment"
             else "Cohen's kappa" if not ctx.exclude_uncoded else "overlap share")
    return {"coders": sel.coders, "statistic": label, "kappa": matrix, "percent": agree,
            "undefined": reasons}


def _rule_note(sel: Selection) -> str:
    if sel.all_documents:
        return ("Every selected document counts, whether or not each coder coded it "
                "(a coder's silence is 'not coded').")
    note = ("Only documents coded by all of the named coders count as double-coded "
            f"({len(sel.documents)} of {sel.n_documents_selected}).")
    if sel.excluded_documents:
        note += " Left out (not coded by every coder): " + ", ".join(
            e["document"] for e in sel.excluded_documents) + "."
    return note


def _unit_note(unit, threshold, overlap, min_overlap, exclude_uncoded, nvivo_compat, sentencizer):
    if unit == "character":
        s = ("Unit: character (NVivo Coding Comparison): per code x document the 2x2 table of "
             "characters coded by both / one / neither coder; pooled, per-code and per-document "
             "figures use the pooled 2x2 table over their cells, not a mean of kappas.")
        if exclude_uncoded:
            s += " Text no coder coded is left out: overlap share only, no kappa."
        if nvivo_compat:
            s += " NVivo-compatible: K = 1 where there is no variation."
        return s
    if unit == "segment":
        return (f"Unit: coded segment (MAXQDA-style): segments match at overlap ≥ {threshold:g} "
                f"(intersection / {'union' if overlap == 'union' else 'shorter span'}), checked "
                "in both directions; P_obs = a/(a+b+c); Brennan-Prediger kappa with P_c = 1/q, "
                "q = number of codes in the table (MAXQDA-compatible, not Cohen's kappa).")
    rule = "any overlap" if not min_overlap else f"an overlap of at least {min_overlap:.0%} of the unit"
    what = {"turn": "speaker turn", "document": "whole document",
            "sentence": f"sentence (inside speaker turns; {sentencizer} splitter)"}[unit]
    return (f"Unit: {what}; a code is present for a coder when a coding has {rule} with the "
            "unit. Pooled figures are over all code x unit pairs.")


# ---------------------------------------------------------------------------------------------
# The methods sentence

_NUMBERS = ["No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]
_UNIT_PHRASE = {"character": "characters (NVivo-style coding comparison)",
                "segment": "coded segments (MAXQDA-style)", "turn": "speaker turns",
                "sentence": "sentences", "document": "whole transcripts (code present or absent)"}


def _num(x: float) -> str:
    return f"{x:.2f}".replace("-", "−")


def _pct(x: float) -> str:
    return f"{x:.1%}".replace("%", " %")


def _with_ci(fig: Figure, key: str, percent: bool = False) -> str:
    c = fig.stats[key]
    if math.isnan(c):
        return "undefined (" + (c.reason or "undefined") + ")"
    fmt = _pct if percent else _num
    text = fmt(float(c))
    ci = fig.ci.get(key)
    if ci and not any(math.isnan(x) for x in ci):
        text += f" (95 % CI {fmt(ci[0])}–{fmt(ci[1])})"
    return text


def methods_sentence(r: AgreementReport) -> str:
    """The sentence for the paper's methods section (plain text, singular and plural right).

    The share is of the study's transcripts (``n_documents_study``), also when ``documents``
    narrowed the selection: "Two coders independently coded 4 of 28 transcripts (14 %)".
    """
    m = len(r.coders)
    if m < 2:
        return (f"Agreement needs at least two coders; only {join_names(r.coders) or 'one'} was "
                "named, so no agreement figure is defined.")
    who = _NUMBERS[m] if m < len(_NUMBERS) else str(m)
    if not r.documents:
        return (f"No transcript was coded by {'both' if m == 2 else 'all ' + str(m)} coders "
                f"({join_names(r.coders)}), so agreement could not be computed.")
    total = r.n_documents_study or r.n_documents_selected
    n_docs = len(r.documents)
    share = f" ({n_docs / total:.0%})".replace("%", " %") if total else ""
    of = f"{n_docs:,} of {plural(total, 'transcript')}" if total else plural(n_docs, "transcript")
    if r.options.get("all_documents"):
        start = (f"{who} coders' codings of {of}{share} were compared (text a coder did not "
                 "code counting as not coded)")
    else:
        start = f"{who} coders independently coded {of}{share}"
    f = r.pooled
    n_codes = len(r.codes)
    codes = plural(n_codes, "code")
    tail = _ci_sentence(r)
    if r.unit == "segment":
        thr = r.options["threshold"]
        body = (f"agreement at the level of {_UNIT_PHRASE['segment']}, with segments matching at "
                f"≥ {thr:.0%} overlap".replace("%", " %")
                + (" of the shorter segment" if r.options.get("overlap") == "shorter" else "")
                + f", was P_obs = {_with_ci(f, 'percent')} over {plural(f.n_units, 'segment')} "
                  f"and {codes}; Brennan–Prediger κ = {_with_ci(f, 'bp')} (q = {n_codes}; "
                  "MAXQDA-compatible, not Cohen's κ).")
        return f"{start}; {body}{tail}"
    unit_words = plural(f.n_units, f"code × {r.unit} unit")
    prev = f", prevalence {f.prevalence:.1%}".replace("%", " %") if f.prevalence is not None else ""
    pooled = f"pooled over {codes} ({unit_words}{prev})"
    if r.options.get("exclude_uncoded"):
        return (f"{start}; at the level of {_UNIT_PHRASE['character']}, leaving out text no coder "
                f"coded, the coders' coded text overlapped by {_with_ci(f, 'percent', True)} "
                f"({pooled}).{tail}")
    kappa = "κ" if r.headline == "cohen" else "Fleiss' κ"
    body = (f"agreement at the level of {_UNIT_PHRASE[r.unit]}, {pooled}, was {kappa} = "
            f"{_with_ci(f, r.headline)}, Krippendorff's α = {_with_ci(f, 'alpha')}")
    if f.stats.get("percent") is not None and not math.isnan(f.stats["percent"]):
        body += f" (percent agreement {float(f.stats['percent']):.1%})".replace("%", " %")
    return f"{start}; {body}.{tail}"


_RESAMPLED_PHRASE = {"character": "whole transcripts", "segment": "whole transcripts",
                     "turn": "speaker turns", "sentence": "sentences", "document": "transcripts"}


def _ci_sentence(r: AgreementReport) -> str:
    """" 95 % confidence intervals: ..." when intervals were computed, else ""."""
    b = r.options.get("bootstrap")
    if not b or not r.pooled.ci:
        return ""
    # a report saved before the option existed resampled documents only at character and segment level
    whole = r.options.get("resample", "documents" if r.unit in ("character", "segment") else "units") == "documents"
    return (f" 95 % confidence intervals: percentile bootstrap, {plural(b, 'resample')} of "
            f"{'whole transcripts' if whole else _RESAMPLED_PHRASE[r.unit]}.")
