"""The double-coding workflow: assign documents, list disagreements, reconcile, keep rounds.

One core API for the CLI and the TUI's reconciliation screen:

* :func:`assign_sample` -- a reproducible random subset of documents for a second coder,
  recorded in the study (audited).
* :func:`disagreements` -- every place where the coders differ, as :class:`Disagreement` items
  with a stable id, each coder's spans, the text and its context.
* :func:`decide` -- resolve one item (keep A, keep B, union, intersection, drop, or edit to given
  spans) with a rationale: creates codings under the consensus coder and a decision log entry
  (who, when, rationale, round). A coder other than the compared ones may decide: that is an
  adjudication and is flagged so.
* :func:`accept_agreed` -- copy the places where the coders already agree to the consensus coder.
* :func:`save_round` / :func:`rounds` -- keep each round's agreement figures.

Items (clusters)
    For one code in one document, the merged spans of all compared coders that overlap one
    another (directly or through a chain) form one item; its extent runs from the first start to
    the last end. Spans that only touch (one ends where the next begins) share no character and
    form separate items.

Which items are disagreements depends on the unit, as in ``qualcode.agreement.units``:
    ``character``: the coders' spans in the item are not identical (any character coded by
    some coders only). ``segment``: a segment in the item has no match at the threshold in some
    other coder's segments. ``turn``/``sentence``: the item overlaps a unit that some but not all
    coders coded with that code. ``document``: some coder has no coding of that code in the
    document at all.

Ids
    An item's id is the first 10 hex digits of a SHA-1 over the document id, the code id and each
    compared coder's spans in it (coders in name order), so it is the same on every listing, for
    every unit, as long as those codings do not change; any unambiguous prefix is accepted. A
    decided item keeps its id in the log; listings show open items unless asked for all.

Decisions
    ``keep-a``/``keep-b`` take the first/second named coder's spans, ``union`` every coder's,
    ``intersection`` the characters every coder coded (pieces that are only white space are
    skipped), ``drop`` adds nothing, ``edit`` codes the given spans. Consensus codings merge with
    the consensus coder's overlapping codings of the code, like any coder's. A decision is made
    once per item; ``qualcode undo`` reverts it together with its codings. The round of a
    decision is the latest saved agreement round (1 before any is saved).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from qualcode.agreement import units as U
from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.store.changes import default_actor
from qualcode.store.decisions import decisions as _store

if TYPE_CHECKING:
    from qualcode.study import Study

DECISIONS = ("keep-a", "keep-b", "union", "intersection", "drop", "edit")
CONTEXT = 80


@dataclass
class Disagreement:
    id: str
    document_id: int
    document: str
    code_id: int
    code: str
    start: int
    end: int
    spans: dict[str, list[tuple[int, int]]]
    kind: str
    text: str
    before: str
    after: str
    disagreement: bool = True
    status: str = "open"
    decision: dict[str, Any] | None = field(default=None)

    def span_text(self, coder: str) -> list[str]:
        """The text of each of ``coder``'s spans in this item."""
        return [self.text[s - self.start:e - self.start] for s, e in self.spans.get(coder, [])]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spans"] = {k: [list(s) for s in v] for k, v in self.spans.items()}
        d["texts"] = {k: self.span_text(k) for k in self.spans}
        return d


def _item_id(document_id: int, code_id: int, spans: dict[str, list[tuple[int, int]]]) -> str:
    parts = [f"{document_id}|{code_id}"]
    for name in sorted(spans, key=str.casefold):
        parts.append(name.casefold() + ":" + ",".join(f"{s}-{e}" for s, e in spans[name]))
    return hashlib.sha1(";".join(parts).encode()).hexdigest()[:10]


def _clusters(sel: U.Selection) -> list[tuple[int, int, int, int, list[int]]]:
    """(code index, document index, start, end, span rows) of every item, in document order."""
    sp = sel.spans
    if not len(sp):
        return []
    D = max(len(sel.documents), 1)
    cell = sp[:, 1] * D + sp[:, 0]
    order = np.lexsort((sp[:, 3], cell))
    big = int(sp[:, 4].max()) + 1
    s = (cell * big + sp[:, 3])[order]
    e = (cell * big + sp[:, 4])[order]
    running = np.maximum.accumulate(e)
    new = np.ones(len(order), dtype=bool)
    new[1:] = s[1:] >= running[:-1]
    starts = np.flatnonzero(new)
    first = order[starts]
    lo = np.minimum.reduceat(sp[order, 3], starts)
    hi = np.maximum.reduceat(sp[order, 4], starts)
    groups = np.split(order, starts[1:])
    out = [(c, d, a, b, rows.tolist()) for c, d, a, b, rows in
           zip(sp[first, 1].tolist(), sp[first, 0].tolist(), lo.tolist(), hi.tolist(), groups)]
    out.sort(key=lambda c: (sel.documents[c[1]].casefold(), c[2], sel.codes[c[0]].casefold()))
    return out


def _unit_mixed(study: "Study", sel: U.Selection, unit: str, min_overlap: float,
                sentencizer: str):
    ud, us, ue = U.unit_spans(study, sel, unit, sentencizer)
    present = U.unit_presence(sel, ud, us, ue, min_overlap)
    pat = U.unit_patterns(present)
    full = (1 << sel.m) - 1
    mixed = (pat != 0) & (pat != full)
    big = int(max(sel.lengths.max() if len(sel.lengths) else 0,
                  sel.spans[:, 4].max() if len(sel.spans) else 0)) + 1
    return ud * big + us, ud * big + ue, mixed, big


def items(study: "Study", coders: Sequence[str], unit: str = "character", *,
          codes: Sequence[str] | None = None, documents: Sequence[str] | None = None,
          threshold: float = 0.9, overlap: str = "union", min_overlap: float = 0.0,
          sentencizer: str = "regex", all_documents: bool = False) -> list[Disagreement]:
    """Every item (agreeing or not) with ``disagreement`` set for ``unit`` and decisions attached."""
    U._unit(unit)
    if overlap not in U.OVERLAPS:
        raise InvalidInput(f"unknown overlap {overlap!r}: use union or shorter")
    if not (0 < threshold <= 1):
        raise InvalidInput(f"threshold must be a share in (0, 1], e.g. 0.9, not {threshold}")
    if not (0 <= min_overlap <= 1):
        raise InvalidInput(f"min overlap must be a share in [0, 1], not {min_overlap}")
    sel = U.select(study, coders, codes, documents, all_documents)
    if sel.m < 2:
        raise InvalidInput("disagreements need at least two coders, e.g. --coders Amira Ben")
    sp = sel.spans
    clusters = _clusters(sel)
    matched = U.matched_by_all(sel, threshold, overlap) if unit == "segment" else None
    mixed = None
    if unit in ("turn", "sentence", "document"):
        key_s, key_e, mixed, big = _unit_mixed(study, sel, unit, min_overlap, sentencizer)
    texts: dict[int, str] = {}
    out: list[Disagreement] = []
    rows_list = sp[:, 2:].tolist()
    for c, d, start, end, rows in clusters:
        spans: dict[str, list[tuple[int, int]]] = {name: [] for name in sel.coders}
        for r in rows:  # in start order within the item
            coder, s_, e_ = rows_list[r]
            spans[sel.coders[coder]].append((s_, e_))
        missing = [n for n in sel.coders if not spans[n]]
        if unit == "character":
            dis = len({tuple(v) for v in spans.values()}) > 1
        elif unit == "segment":
            dis = not bool(matched[rows].all())
        else:
            lo = np.searchsorted(key_e, d * big + start, side="right")
            hi = np.searchsorted(key_s, d * big + end, side="left")
            dis = bool(mixed[c, lo:hi].any()) if hi > lo else False
        doc_id = sel.document_ids[d]
        if doc_id not in texts:
            texts[doc_id] = study.documents.text(doc_id)
        text = texts[doc_id]
        if missing:
            kind = "only " + ", ".join(n for n in sel.coders if spans[n])
        elif len({tuple(v) for v in spans.values()}) == 1:
            kind = "identical"
        else:
            kind = "spans differ"
        out.append(Disagreement(
            id=_item_id(doc_id, sel.code_ids[c], spans), document_id=doc_id,
            document=sel.documents[d], code_id=sel.code_ids[c], code=sel.codes[c], start=start,
            end=end, spans=spans, kind=kind, text=text[start:end],
            before=text[max(0, start - CONTEXT):start], after=text[end:end + CONTEXT],
            disagreement=dis))
    decided = _store(study).decided([i.id for i in out])
    for item in out:
        if item.id in decided:
            item.status = "decided"
            item.decision = decided[item.id]
    return out


def disagreements(study: "Study", coders: Sequence[str], unit: str = "character", *,
                  include_decided: bool = False, **options: Any) -> list[Disagreement]:
    """The items where the coders disagree at ``unit`` (open ones unless ``include_decided``)."""
    return [i for i in items(study, coders, unit, **options)
            if i.disagreement and (include_decided or i.status == "open")]


def find(study: "Study", coders: Sequence[str], ident: str, **options: Any) -> Disagreement:
    """The item with id (or unambiguous id prefix) ``ident``, agreeing or not."""
    ident = str(ident).strip().lower()
    if not (4 <= len(ident) <= 10) or not all(ch in "0123456789abcdef" for ch in ident):
        raise InvalidInput(f"a disagreement id is 4-10 hex digits as listed by `qualcode "
                           f"disagreements`, not {ident!r}")
    options.pop("unit", None)
    hits = [i for i in items(study, coders, "character", **options) if i.id.startswith(ident)]
    if not hits:
        raise NotFound(f"no disagreement {ident} between {', '.join(coders)} (list them with "
                       "`qualcode disagreements`; an id changes when its codings change)")
    if len(hits) > 1:
        raise InvalidInput(f"id {ident} is ambiguous ({', '.join(h.id for h in hits)}); give more digits")
    return hits[0]


# ---------------------------------------------------------------------------------------------
# Deciding


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def parse_spans(text: str) -> list[tuple[int, int]]:
    """``"120:245, 300:310"`` -> ``[(120, 245), (300, 310)]``: consensus spans typed by a person
    (the TUI's edit dialog; the CLI takes ``--span`` once per span). Commas, semicolons or
    spaces separate spans; the range checks are :func:`decide`'s."""
    parts = [p for p in re.split(r"[\s,;]+", str(text or "").strip()) if p]
    if not parts:
        raise InvalidInput("give the consensus span(s) as START:END, e.g. 120:245, 300:310")
    spans = []
    for part in parts:
        start, sep, end = part.partition(":")
        try:
            if not sep:
                raise ValueError
            spans.append((int(start), int(end)))
        except ValueError:
            raise InvalidInput(f"a span is START:END in characters, e.g. 120:245, not {part!r}") from None
    return spans


def _named(study: "Study", by: str | None) -> str | None:
    """Who acts, by one rule for decisions, saved rounds and assignments: ``by`` (``--by``), then
    the study's actor, then ``$QUALCODE_CODER``; None when none is given."""
    for name in (by, study.actor, os.environ.get("QUALCODE_CODER")):
        if name and str(name).strip():
            return str(name).strip()
    return None


def _decider(study: "Study", by: str | None):
    name = _named(study, by)
    if not name:
        raise InvalidInput("say who decides with --by NAME (a coder, or a third coder adjudicating)")
    rec = study.coders.get(name)
    if rec.kind != "coder":
        raise InvalidInput(f"{rec.name!r} is the consensus coder; decisions are made by a person (--by)")
    return rec


def _result(item: Disagreement, coders: list[str], decision: str,
            spans: Sequence[tuple[int, int]] | None, doc_length: int) -> list[tuple[int, int]]:
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}")
    if decision == "edit":
        if not spans:
            raise InvalidInput("--decision edit needs the consensus span(s): --span START:END")
        for s, e in spans:
            if not (0 <= s < e <= doc_length):
                raise InvalidInput(f"span {s}:{e} is outside the document (0:{doc_length}) or empty")
        return _merge(list(spans))
    if spans:
        raise InvalidInput("--span goes with --decision edit only")
    if decision == "keep-a":
        return list(item.spans[coders[0]])
    if decision == "keep-b":
        return list(item.spans[coders[1]])
    if decision == "union":
        return _merge([s for v in item.spans.values() for s in v])
    if decision == "intersection":
        result = list(item.spans[coders[0]])
        for name in coders[1:]:
            result = _intersect(result, item.spans[name])
        return result
    return []


def decide(study: "Study", coders: Sequence[str], ident: str, decision: str, rationale: str, *,
           spans: Sequence[tuple[int, int]] | None = None, by: str | None = None,
           unit: str = "character", **options: Any) -> dict[str, Any]:
    """Resolve one item: consensus codings + a decision log entry, in one audited change."""
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInput("a decision needs a rationale (--rationale TEXT)")
    U._unit(unit)
    decider = _decider(study, by)
    item = find(study, coders, ident, **options)
    names = list(item.spans)
    if item.status == "decided":
        d = item.decision
        raise Conflict(f"disagreement {item.id} was already decided ({d['decision']} by "
                       f"{d['decided_by']}, decision {d['id']}); `qualcode undo` reverts it")
    doc_length = study.documents.lengths()[item.document_id]
    result = _result(item, names, decision, spans, doc_length)
    text = study.documents.text(item.document_id)
    if decision != "edit":
        result = [(s, e) for s, e in result if text[s:e].strip()]
    store = _store(study)
    summary = f"reconcile {item.id}: {decision} ({item.code} in {item.document})"
    with study.change("reconcile", summary, decider.name) as ch:
        consensus = study.coders.consensus()
        for s, e in result:
            study.codings.add(item.document, item.code, consensus.name, s, e,
                              memo=f"reconciled: {decision}")
        decision_id = store.add_decision(ch, {
            "disagreement": item.id, "round": store.current_round(),
            "document_id": item.document_id, "document": item.document,
            "code_id": item.code_id, "code": item.code, "coders": names, "spans": item.spans,
            "decision": decision, "result": result, "rationale": rationale,
            "decided_by": decider.id,
            "adjudicated": decider.name.casefold() not in {n.casefold() for n in names},
            "unit": unit})
    return store.decision(decision_id)


def accept_agreed(study: "Study", coders: Sequence[str], unit: str = "character", *,
                  by: str | None = None, rationale: str = "the coders agreed",
                  **options: Any) -> dict[str, Any]:
    """Copy every open item the coders agree on (at ``unit``) to the consensus coder.

    The consensus span is the union of the coders' spans (identical at character level). Each item
    gets an ``agreed`` decision, all in one audited change.
    """
    decider = _decider(study, by)
    agreed = [i for i in items(study, coders, unit, **options)
              if not i.disagreement and i.status == "open"]
    if not agreed:
        return {"accepted": 0, "codings": 0}
    store = _store(study)
    round_no = store.current_round()
    n_codings = 0
    with study.change("reconcile agreed", f"accept {len(agreed)} agreed places ({unit})",
                      decider.name) as ch:
        consensus = study.coders.consensus()
        for item in agreed:
            names = list(item.spans)
            result = _merge([s for v in item.spans.values() for s in v])
            for s, e in result:
                study.codings.add(item.document, item.code, consensus.name, s, e,
                                  memo="reconciled: agreed")
                n_codings += 1
            store.add_decision(ch, {
                "disagreement": item.id, "round": round_no, "document_id": item.document_id,
                "document": item.document, "code_id": item.code_id, "code": item.code,
                "coders": names, "spans": item.spans, "decision": "agreed", "result": result,
                "rationale": rationale, "decided_by": decider.id,
                "adjudicated": decider.name.casefold() not in {n.casefold() for n in names},
                "unit": unit})
    return {"accepted": len(agreed), "codings": n_codings}


def decision_log(study: "Study", round_no: int | None = None, document: str | None = None,
                 code: str | None = None) -> list[dict[str, Any]]:
    doc_id = study.documents.get(document).id if document else None
    code_id = study.codes.get(code).id if code else None
    return _store(study).log(round_no, doc_id, code_id)


# ---------------------------------------------------------------------------------------------
# Rounds


def save_round(study: "Study", report: "U.AgreementReport", by: str | None = None) -> dict[str, Any]:
    """Keep this report's figures as the next agreement round (audited).

    ``created_by`` follows the decisions' rule: ``by``, then the study's actor, then
    ``$QUALCODE_CODER``, and only then the operating-system user.
    """
    store = _store(study)
    round_no = store.next_round()
    actor = _named(study, by)
    with study.change("agreement round", f"save agreement round {round_no} ({report.unit})",
                      actor) as ch:
        who = actor or default_actor()
        row_id = store.add_round(ch, round_no, report.coders, report.unit, report.methods,
                                 _clean(report.as_dict(cells=False)), who)
    return {"id": row_id, "round": round_no, "unit": report.unit, "coders": report.coders,
            "headline": report.methods}


def rounds(study: "Study", figures: bool = False) -> list[dict[str, Any]]:
    """Saved rounds, oldest first, each with its headline figure and decision count."""
    out = _store(study).rounds(figures=True)
    for r in out:
        pooled = r["figures"]["pooled"]["stats"]
        key = r["figures"]["headline"]
        r["value"] = pooled.get(key, {}).get("value")
        r["statistic"] = key
        r["alpha"] = pooled.get("alpha", {}).get("value")
        r["percent"] = pooled.get("percent", {}).get("value")
        if not figures:
            del r["figures"]
    return out


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN becomes None."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


# ---------------------------------------------------------------------------------------------
# Assigning documents for double coding


def parse_sample(sample: str, total: int) -> int:
    """'20%' -> ceil(20 % of total) (at least 1); '5' -> 5."""
    text = str(sample).strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not (0 < pct <= 100):
                raise ValueError
            return max(1, math.ceil(pct * total / 100 - 1e-9)) if total else 0
        n = int(text)
        if n < 1:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"--sample is a percentage (20%) or a number of documents (5), "
                           f"not {sample!r}") from None
    if n > total:
        raise InvalidInput(f"--sample {n} is more than the {total} documents to choose from")
    return n


def assign_sample(study: "Study", coder: str, sample: str, seed: int | None = None, *,
                  documents: Sequence[str] | None = None, by: str | None = None) -> dict[str, Any]:
    """Choose a reproducible random subset of documents for ``coder`` and record it.

    The documents are ranked by SHA-256 of ``"{seed}:{document's source SHA-256}"`` and the first
    n taken: the same seed and the same documents give the same sample on any machine, in any
    study, whatever the document names or import order (adding documents can change it).
    Documents already assigned to the coder stay assigned and are reported as such.
    """
    rec = study.coders.get(coder)
    if rec.kind != "coder":
        raise InvalidInput("documents are assigned to a person, not to the consensus coder")
    pool = [study.documents.get(d) for d in documents] if documents else study.documents.list()
    pool = list({d.id: d for d in pool}.values())
    if not pool:
        raise InvalidInput("the study has no documents to assign")
    n = parse_sample(sample, len(pool))
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 1_000_000)
    if not (0 <= int(seed) < 2**63):
        raise InvalidInput("--seed must be a non-negative integer")
    ranked = sorted(pool, key=lambda d: hashlib.sha256(f"{seed}:{d.sha256}".encode()).hexdigest())
    chosen = sorted(ranked[:n], key=lambda d: d.name.casefold())
    store = _store(study)
    already = store.assigned(rec.id)
    new = [d for d in chosen if d.id not in already]
    if new:
        actor = _named(study, by)
        with study.change("assign", f"assign {len(new)} documents to {rec.name} "
                                    f"(sample {sample}, seed {seed})", actor) as ch:
            who = actor or default_actor()
            for d in new:
                store.add_assignment(ch, rec.id, d.id, str(sample), int(seed), who)
    return {"coder": rec.name, "sample": str(sample), "seed": int(seed), "n": n, "of": len(pool),
            "documents": [d.name for d in chosen], "new": [d.name for d in new],
            "already_assigned": [d.name for d in chosen if d.id in already]}


def assignments(study: "Study", coder: str | None = None) -> list[dict[str, Any]]:
    coder_id = study.coders.get(coder).id if coder else None
    return _store(study).assignments(coder_id)


__all__ = ["DECISIONS", "Disagreement", "accept_agreed", "assign_sample", "assignments", "decide",
           "decision_log", "disagreements", "find", "items", "parse_sample", "parse_spans", "rounds",
           "save_round"]
