"""Braun & Clarke's phases, the thematic map as a tree, and the methods summary.

- :func:`phase_status` / :func:`set_phase` — the study-level phase tracker: the six phases, what
  the study already holds for each, and a journal prompt for the current phase that depends on
  the approach (reflexive / codebook / coding-reliability change prompts and defaults only).
- :func:`map_tree` — themes -> subthemes -> codes as :class:`MapNode` objects: the one model
  behind every map export (PNG/SVG/PDF, DOT, Mermaid, text) and the TUI's tree;
  :func:`render_text_tree` draws it as plain text.
- :func:`methods_summary` — the countable facts a methods section needs.

The theme store is :mod:`qualcode.store.themes`; evidence and tables are :mod:`qualcode.evidence`.
"""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from qualcode.errors import InvalidInput, QualcodeError
from qualcode.store.participants import natural_key
from qualcode.store.themes import themes_of

if TYPE_CHECKING:
    from qualcode.study import Study

# -- phases ------------------------------------------------------------------------------------

PHASE_ARTEFACTS = {
    1: "familiarisation notes: memos on documents and passages, journal entries",
    2: "codes with definitions; coded extracts",
    3: "candidate themes gathering codes",
    4: "a thematic map (themes -> subthemes -> codes), checked against extracts and the data set",
    5: "each theme's name, definition and central organising concept",
    6: "illustrative extracts chosen (key quotes), quote tables, the write-up",
}

PROMPTS: dict[str, dict[int, str]] = {
    "reflexive": {
        1: "What struck you on first reading, and what in your own position (experience, discipline, "
           "assumptions) made it stand out?",
        2: "Which codes came easily and which felt forced? Where might your expectations be shaping "
           "what you code?",
        3: "What patterns of shared meaning are you starting to see, and what story would each "
           "candidate theme tell? Which codes do not fit yet?",
        4: "Reading the extracts again and the whole data set: does each theme hold together and stay "
           "distinct? What did you merge, split or discard, and why?",
        5: "For each theme, what is its central organising concept, in a sentence? Could someone "
           "else tell its boundaries from its definition?",
        6: "Do the extracts you chose argue your analytic claims rather than just illustrate them? "
           "Whose voices are prominent, and whose are missing?",
    },
    "codebook": {
        1: "What do you already expect to find, and how will your codebook or framework leave room for "
           "the unexpected?",
        2: "Which codebook definitions did you change, add or retire today, and which extracts "
           "prompted the change?",
        3: "Which codes cluster into candidate themes (or framework categories)? Is each theme a domain "
           "summary or a pattern of shared meaning?",
        4: "Charting the framework matrix: are cells comparable across participants, and which cases "
           "do not fit the themes?",
        5: "Are theme definitions consistent with the codebook so that another analyst could apply "
           "them?",
        6: "Which framework cells and quotes support each theme, and does the table cover every group?",
    },
    "coding-reliability": {
        1: "Which parts of the data will be double coded, and how was the sample chosen?",
        2: "Where do the coders' codes differ, and which codebook definitions need sharpening before "
           "the next round of agreement?",
        3: "Which codes group into candidate themes, and is that grouping agreed between coders?",
        4: "After reconciliation, do the themes still match the agreed codes and the extracts?",
        5: "Are theme definitions written so that coders would apply them the same way?",
        6: "Which agreement figures (with their unit) and which extracts will you report?",
    },
}


def _phase_counts(study: "Study") -> dict[int, dict[str, int]]:
    store = themes_of(study)
    all_themes = store.list()
    live = [t for t in all_themes if t.status != "discarded"]
    db = study.db
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        1: {"document memos": one("SELECT count(*) FROM memos WHERE target_type IN ('document', 'passage')"),
            "journal entries": one("SELECT count(*) FROM journal WHERE phase = 1")},
        2: {"codes": one("SELECT count(*) FROM codes"),
            "codes with a definition": one("SELECT count(*) FROM codes WHERE description != ''"),
            "codings": one("SELECT count(*) FROM codings")},
        3: {"candidate themes": sum(1 for t in all_themes if t.status == "candidate"),
            "codes gathered": len({cid for t in live for cid in t.code_ids})},
        4: {"active themes": sum(1 for t in all_themes if t.status == "active" and t.depth == 0),
            "subthemes": sum(1 for t in live if t.depth > 0),
            "discarded": sum(1 for t in all_themes if t.status == "discarded")},
        5: {"themes defined": sum(1 for t in live if t.definition),
            "with a central organising concept": sum(1 for t in live if t.concept),
            "themes": len(live)},
        6: {"key quotes": sum(t.key_quotes for t in live)},
    }


def phase_status(study: "Study") -> dict[str, Any]:
    """The six phases with what the study holds for each; the journal prompt for the current one."""
    from qualcode.study import PHASES

    settings = study.settings()
    current = settings.get("phase") or 1
    approach = settings.get("approach") or "reflexive"
    counts = _phase_counts(study)
    journal = {}
    for e in study.journal.list():
        journal[e.phase] = journal.get(e.phase, 0) + 1
    phases = [{"phase": n, "name": name, "current": n == current, "artefact": PHASE_ARTEFACTS[n],
               "counts": counts[n], "journal_entries": journal.get(n, 0)} for n, name in PHASES.items()]
    return {"phase": current, "name": PHASES[current], "approach": approach, "phases": phases,
            "prompt": PROMPTS.get(approach, PROMPTS["reflexive"])[current],
            "hints": _hints(current, approach, counts, sum(journal.values()))}


def _hints(phase: int, approach: str, counts: dict[int, dict[str, int]], journal: int = 0) -> list[str]:
    hints = []
    if phase >= 3 and not counts[3]["codes gathered"]:
        hints.append("No codes are gathered into themes yet: qualcode themes add STUDY.qc NAME --code CODE")
    if phase >= 5 and counts[5]["themes"] and counts[5]["themes defined"] < counts[5]["themes"]:
        hints.append(f"{counts[5]['themes'] - counts[5]['themes defined']} theme(s) still lack a definition: "
                     "qualcode themes define")
    if phase >= 6 and not counts[6]["key quotes"]:
        hints.append("No key quotes flagged yet: qualcode themes quote STUDY.qc CODING_ID")
    if approach == "reflexive" and not journal:
        hints.append("Reflexive TA: keep the reflexive journal from the start (qualcode journal add).")
    if approach == "coding-reliability" and phase == 2:
        hints.append("Coding reliability: compute agreement with its unit (qualcode agreement) before "
                     "moving on.")
    return hints


def set_phase(study: "Study", phase: int, *, journal: str | None = None,
              coder: str | None = None) -> dict[str, Any]:
    """Move the study to ``phase`` (1-6); with ``journal``, add that journal entry in the same go."""
    study.configure(phase=phase)
    entry = None
    if journal is not None and journal.strip():
        entry = study.journal.add(journal, coder=coder, phase=int(phase))
    status = phase_status(study)
    if entry is not None:
        status["journal_entry"] = entry.as_dict()
    return status


# -- the thematic map as a tree ----------------------------------------------------------------

@dataclass
class MapNode:
    id: str                         # stable: "root", "t<theme id>", "t<theme id>c<code id>"
    kind: str                       # root | theme | subtheme | code
    label: str
    colour: str
    status: str = "active"
    passages: int | None = None     # with counts: distinct passages (qualcode.evidence.UNIT_NOTE)
    participants: int | None = None
    theme_id: int | None = None
    code_id: int | None = None
    children: list["MapNode"] = field(default_factory=list)

    def walk(self, depth: int = 0):
        yield self, depth
        for child in self.children:
            yield from child.walk(depth + 1)

    def counts_text(self) -> str:
        """``3 participants, 12 passages`` for a theme, ``12`` for a code ('' without counts):
        the same words in the figure, the text tree, DOT and Mermaid."""
        if self.kind == "code" and self.passages is not None:
            return f"{self.passages}"
        if self.kind in ("theme", "subtheme") and self.participants is not None:
            people = "participant" if self.participants == 1 else "participants"
            passages = "passage" if self.passages == 1 else "passages"
            return f"{self.participants} {people}, {self.passages} {passages}"
        return ""

    def count_label(self) -> str:
        """The label with its counts, when counts were asked for."""
        counted = self.counts_text()
        return f"{self.label} ({counted})" if counted else self.label

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "colour": self.colour,
                "status": self.status, "passages": self.passages, "participants": self.participants,
                "children": [c.as_dict() for c in self.children]}


def map_tree(study: "Study", *, themes: Sequence[str] | None = None, include_discarded: bool = False,
             counts: bool = False, coder: str | None = None, codes: bool = True,
             title: str | None = None) -> MapNode:
    """Root (the study title) -> themes -> subthemes -> codes, in tree order.

    A code that serves several themes appears under each. With ``counts``, in passages
    (:data:`qualcode.evidence.UNIT_NOTE`, only ``coder``'s codings when given): a code carries its
    passages and participants; a theme its quote-table rows (its own codes' passages plus its
    subthemes') and the distinct participants behind them — the numbers of ``qualcode evidence``,
    ``themes list`` and the quote table.
    """
    from qualcode.evidence import code_counts, theme_counts

    store = themes_of(study)
    every = store.list(include_discarded=include_discarded)
    if themes:
        keep: set[int] = set()
        for ref in themes:
            keep |= {t.id for t in store.descendants(ref)}
        every = [t for t in every if t.id in keep]
    root = MapNode(id="root", kind="root", label=title if title is not None else (study.setting("title") or "Themes"),
                   colour="#333333")
    per_theme: dict = {}
    per_code: dict = {}
    if counts:
        codings = study.codings.list(coder=coder) if coder else study.codings.list()
        per_theme = theme_counts(study, include_discarded=include_discarded, codings=codings)
        per_code = code_counts(study, codings=codings)
    nodes: dict[int, MapNode] = {}
    for t in every:
        parent = nodes.get(t.parent_id) if t.parent_id is not None else root
        if parent is None:       # its parent was filtered out (e.g. discarded): skip the branch
            continue
        colour = t.colour if t.depth == 0 else parent.colour   # one colour per theme branch
        node = MapNode(id=f"t{t.id}", kind="theme" if t.depth == 0 else "subtheme", label=t.name,
                       colour=colour, status=t.status, theme_id=t.id)
        if counts:
            node.passages, node.participants = per_theme[t.id].passages, len(per_theme[t.id].participants)
        nodes[t.id] = node
        parent.children.append(node)
        if codes:
            for cid, path in zip(t.code_ids, t.codes):
                child = MapNode(id=f"t{t.id}c{cid}", kind="code", label=path.rsplit("/", 1)[-1],
                                colour=colour, status=t.status, theme_id=t.id, code_id=cid)
                if counts:
                    n = per_code.get(cid, {})
                    child.passages, child.participants = n.get("passages", 0), n.get("participants", 0)
                node.children.append(child)
    return root


def map_legend(counts: bool = False, coder: str | None = None) -> str:
    """The one line that says what a map's counts count (text tree, figure, DOT, Mermaid)."""
    if not counts:
        return ""
    who = f"{coder}'s codings" if coder else "every coder's codings"
    return (f"Counts: passages = distinct coded passages of {who}, overlapping codings counted once "
            "(the rows of the quote table); a code's (n) = its passages")


def render_text_tree(root: MapNode, counts: bool = False, status: bool = True, coder: str | None = None) -> str:
    """The map as a plain-text tree (box-drawing characters), one node per line; with counts, the
    same numbers as the figure and a last line saying what they count."""
    lines = [root.label]

    def label(n: MapNode) -> str:
        text = n.count_label() if counts else n.label
        if n.kind == "code":
            text = f"code: {text}"
        elif status and n.status != "active":
            text += f" [{n.status}]"
        return text

    def walk(n: MapNode, prefix: str) -> None:
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + label(child))
            walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    if counts:
        lines += ["", map_legend(counts, coder)]
    return "\n".join(lines) + "\n"


def ungathered_codes(study: "Study", *, coder: str | None = None,
                     include_discarded: bool = False) -> list[dict[str, Any]]:
    """The codes no theme gathers yet, in codebook order: what phase 3 still has to place.

    A code gathered only by discarded themes counts as not gathered (unless
    ``include_discarded``). Each row: ``code`` (path), ``id``, ``colour``, ``passages`` (the map's
    unit), ``codings`` and ``participants`` (of one coder with ``coder``, else of every coder).
    """
    from qualcode.evidence import code_counts

    gathered = {cid for t in themes_of(study).list(include_discarded=include_discarded) for cid in t.code_ids}
    counts = code_counts(study, coder=coder)
    out = []
    for code in study.codes.list():
        if code.id in gathered:
            continue
        numbers = counts.get(code.id, {})
        out.append({"code": code.path, "id": code.id, "colour": code.colour,
                    "passages": numbers.get("passages", 0), "codings": numbers.get("codings", 0),
                    "participants": numbers.get("participants", 0)})
    return out


# -- methods summary ---------------------------------------------------------------------------

def _range(values: list[float], unit: str = "") -> dict[str, Any] | None:
    if not values:
        return None
    return {"n": len(values), "mean": round(statistics.fmean(values), 1), "median": statistics.median(values),
            "min": min(values), "max": max(values), "unit": unit}


def _label_span(labels: list[str]) -> str:
    labels = sorted(labels, key=natural_key)
    if len(labels) <= 3:
        return ", ".join(labels)
    return f"{labels[0]}–{labels[-1]}"


def methods_summary(study: "Study", *, agreement: bool | None = None, unit: str = "turn") -> dict[str, Any]:
    """Countable facts for a methods section (COREQ / SRQR items in brackets in ``lines``).

    ``agreement=None`` follows the approach: reported for codebook and coding-reliability
    projects, left out for reflexive ones (always available with ``agreement=True``). Agreement
    needs :mod:`qualcode.agreement.units`; without it (or without double coding) it is skipped
    with a note.
    """
    from qualcode import __version__

    _check_unit(unit)
    settings = study.settings()
    approach = settings.get("approach") or "reflexive"
    docs = study.documents.list()
    words = [d.word_count for d in docs]
    durations = []
    for doc_id, end_ms in study.db.execute(
            "SELECT document_id, max(end_ms) FROM turns WHERE end_ms IS NOT NULL GROUP BY document_id").fetchall():
        if end_ms:
            durations.append(round(end_ms / 60000, 1))
    people = study.participants.list()
    groups: dict[str, list[str]] = {}
    for p in people:
        groups.setdefault(p.group, []).append(p.label)
    coders = [c for c in study.coders.list() if c.kind == "coder"]
    coder_ids = {c.id for c in coders}
    per_doc: dict[int, set[int]] = {}
    for doc_id, coder_id in study.db.execute("SELECT DISTINCT document_id, coder_id FROM codings").fetchall():
        if coder_id in coder_ids:
            per_doc.setdefault(doc_id, set()).add(coder_id)
    double = sorted(d for d, cs in per_doc.items() if len(cs) >= 2)
    double_coders = sorted({c for d in double for c in per_doc[d]})
    codes = study.codes.list()
    store = themes_of(study)
    theme_counts = store.count()
    key_quotes = len(store.key_quotes())
    facts: dict[str, Any] = {
        "title": settings.get("title"), "approach": approach, "phase": settings.get("phase"),
        "transcripts": len(docs), "words": sum(words), "words_per_transcript": _range(words, "words"),
        "duration_minutes": _range(durations, "minutes"),
        "participants": len(people),
        "participants_by_group": {g: {"n": len(v), "labels": _label_span(v)} for g, v in
                                  sorted(groups.items(), key=lambda kv: kv[0].casefold())},
        "coders": [c.name for c in coders],
        "coded_transcripts": len(per_doc),
        "double_coded": {"transcripts": len(double), "of": len(docs),
                         "share": round(len(double) / len(docs), 3) if docs else 0.0,
                         "coders": [c.name for c in coders if c.id in double_coders]},
        "codes": len(codes), "top_level_codes": sum(1 for c in codes if c.parent_id is None),
        "code_depth": max((c.path.count("/") + 1 for c in codes), default=0),
        "codings": study.db.execute("SELECT count(*) FROM codings").fetchone()[0],
        "themes": theme_counts["themes"], "subthemes": theme_counts["subthemes"],
        "candidate_themes": theme_counts["candidate"], "discarded_themes": theme_counts["discarded"],
        "key_quotes": key_quotes,
        "memos": study.db.execute("SELECT count(*) FROM memos").fetchone()[0],
        "journal_entries": study.db.execute("SELECT count(*) FROM journal").fetchone()[0],
        "audit_log_changes": study.db.execute("SELECT count(*) FROM changes").fetchone()[0],
        "software": f"qualcode {__version__} (Python {platform.python_version()})",
        "agreement": None, "notes": [],
    }
    want = agreement if agreement is not None else approach != "reflexive"
    if agreement is None and approach == "reflexive":
        facts["notes"].append("Agreement statistics are not reported by default for reflexive TA "
                              "(ask for them with --agreement).")
    if want:
        facts["agreement"] = _agreement(study, facts["double_coded"]["coders"], unit, facts["notes"])
    facts["lines"] = _methods_lines(facts)
    return facts


def _check_unit(unit: str) -> None:
    """An unknown unit of analysis is the user's mistake (exit 2), never a note in the report."""
    try:
        from qualcode.agreement.units import UNITS
    except ImportError:
        return
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r} for --unit: use one of {', '.join(UNITS)}")


def _agreement(study: "Study", coders: list[str], unit: str, notes: list[str]) -> dict[str, Any] | None:
    if len(coders) < 2:
        notes.append("Agreement: no transcript was coded by two or more coders.")
        return None
    try:
        from qualcode.agreement import units as agreement_units  # built by the agreement issue
    except ImportError:
        notes.append("Agreement: this installation has no agreement module (qualcode.agreement.units).")
        return None
    try:
        report = agreement_units.agreement(study, coders, unit=unit)
    except QualcodeError as exc:
        notes.append(f"Agreement could not be computed: {exc}")
        return None
    pooled = report.pooled
    stats = {}
    for key in getattr(report, "stat_keys", []) or []:
        try:
            value = float(pooled.stats[key])
        except (KeyError, TypeError, ValueError):
            continue
        stats[key] = None if value != value else round(value, 4)
    return {"unit": report.unit, "unit_label": getattr(report, "unit_label", report.unit), "coders": coders,
            "documents": len(report.documents), "headline": report.headline, "statistics": stats,
            "sentence": report.methods}


def _methods_lines(f: dict[str, Any]) -> list[str]:
    lines = [f"Study: {f['title']} (approach: {f['approach']}; Braun & Clarke phase {f['phase']})"]
    w = f["words_per_transcript"]
    t = f"Transcripts: {f['transcripts']} ({f['words']:,} words"
    if w:
        t += f"; {w['min']:,}–{w['max']:,} words each, median {w['median']:,.0f}"
    t += ")"
    lines.append(t)
    d = f["duration_minutes"]
    if d:
        lines.append(f"Recorded length (timed transcripts): {d['n']} transcripts, {d['min']:g}–{d['max']:g} "
                     f"minutes, median {d['median']:g}")
    groups = "; ".join(f"{v['n']} {_plural(g, v['n'])} ({v['labels']})" for g, v in f["participants_by_group"].items())
    lines.append(f"Participants [COREQ 12, 16]: {f['participants']}" + (f" — {groups}" if groups else ""))
    lines.append(f"Coders [COREQ 24; SRQR 14]: {len(f['coders'])}" + (f" ({', '.join(f['coders'])})" if f["coders"] else ""))
    dc = f["double_coded"]
    lines.append(f"Double coded: {dc['transcripts']} of {dc['of']} transcripts ({dc['share']:.0%})".replace("%", " %")
                 + (f" by {', '.join(dc['coders'])}" if dc["coders"] else ""))
    a = f.get("agreement")
    if a:
        stats = ", ".join(f"{k} = {v:.2f}" if v is not None else f"{k} undefined" for k, v in a["statistics"].items())
        lines.append(f"Agreement (unit: {a['unit_label']}): {stats}")
        lines.append(f"  {a['sentence']}")
    lines.append(f"Coding tree [COREQ 25]: {f['codes']} codes ({f['top_level_codes']} top-level, "
                 f"{f['code_depth']} level(s)); {f['codings']:,} codings")
    lines.append(f"Themes [COREQ 26, 31–32]: {f['themes']} themes, {f['subthemes']} subthemes "
                 f"({f['candidate_themes']} candidate, {f['discarded_themes']} discarded); "
                 f"{f['key_quotes']} key quotes")
    lines.append(f"Audit trail [SRQR 15]: {f['audit_log_changes']:,} logged changes, {f['memos']} memos, "
                 f"{f['journal_entries']} journal entries")
    lines.append(f"Software [COREQ 27]: {f['software']}")
    lines.extend(f"Note: {n}" for n in f["notes"])
    return lines


def _plural(group: str, n: int) -> str:
    from qualcode.evidence import plural

    return plural(group, n)


__all__ = ["MapNode", "PHASE_ARTEFACTS", "PROMPTS", "map_legend", "map_tree", "methods_summary", "phase_status",
           "render_text_tree", "set_phase", "ungathered_codes"]
