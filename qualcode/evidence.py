"""Evidence for themes and codes, and the tables that exports are made of.

Everything here reads the study and returns plain records or rows; the exporters only format
them (DOCX, CSV, XLSX, Markdown), so the CLI, the TUI and notebooks see the same numbers.

- :func:`evidence` — for a theme (with its subthemes) or a code: every extract with its
  participant, which participants (by group) it draws on ("8 of 16 patients: P3, P10, ..."),
  coding density per transcript (every transcript, also those it does not touch) and how often
  each participant is quoted.
- :func:`overview` — the same coverage figures for every theme at once.
- :func:`quote_rows` and :class:`Attribution` — the quote table: theme | subtheme | quote |
  attribution, from an attribution template over participant fields.
- :func:`framework_matrix` — participants x themes (or codes), cells of memo summaries and quote
  references (Gale et al.'s framework method).
- :func:`participant_table` — participant characteristics by group with small-cell suppression.
- :func:`codebook_rows` — the code tree with definitions, counts and the themes each code serves.

Counting — one unit everywhere: **passages** (:data:`UNIT_NOTE`). Codings that overlap in one
document — two coders' versions of a passage, or two codes of one theme node — are one passage,
exactly as they are one row of the quote table; with ``coder=`` only that coder's codings count.
A theme's passages are its quote-table rows: its own codes' passages plus its subthemes'
(discarded subthemes left out unless asked for, as in the map). Evidence still lists every
coding (what a key quote flags) and reports the codings per coder beside the passages.

Quotes are numbered once per study (Q1, Q2, ... :class:`QuoteRefs`): the quote table shows the
number and the framework matrix refers to quotes by it.

Participants are the speakers' participants (the turn a coding starts in); a passage's
participant is its oldest coding's. Ordering is always deterministic: themes in tree order,
participants in natural label order (P2 < P10), documents by name, then position.
"""

from __future__ import annotations

import bisect
import re
import statistics
import string
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from qualcode.errors import InvalidInput
from qualcode.records import Coding, Participant, Record
from qualcode.store.participants import natural_key
from qualcode.store.themes import Theme, themes_of

if TYPE_CHECKING:
    from qualcode.study import Study

# -- small helpers -----------------------------------------------------------------------------

_UNCOUNTABLE = {"staff", "personnel", "people", "family", "police", "clergy", "faculty", "crew"}


def plural(word: str, n: int = 2) -> str:
    """``patient`` -> ``patients``, ``patient tutor volunteer`` -> ``... volunteers``, ``staff`` stays."""
    if n == 1 or not word:
        return word
    head, _, last = word.rpartition(" ")
    low = last.lower()
    if low in _UNCOUNTABLE or low.endswith("s") and not low.endswith("ss"):
        new = last
    elif re.search(r"[^aeiou]y$", low):
        new = last[:-1] + "ies"
    elif re.search(r"(ss|x|z|ch|sh)$", low):
        new = last + "es"
    else:
        new = last + "s"
    return f"{head} {new}" if head else new


def flatten(text: str) -> str:
    """A quote on one line: runs of white space (line breaks too) become one space."""
    return " ".join(text.split())


def shorten(text: str, width: int) -> str:
    text = flatten(text)
    if width <= 0 or len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(" ,;:.") + "…"


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else str(int(value))
    return str(value)


def _participants(study: "Study") -> dict[str, Participant]:
    return {p.label.casefold(): p for p in study.participants.list()}


def _spans_union(spans: Iterable[tuple[int, int]]) -> int:
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


# -- passages: the one counting unit -----------------------------------------------------------

UNIT = "passages"
UNIT_NOTE = ("passages = distinct coded passages: overlapping codings of one document (by any coder, "
             "of any of a theme's codes) count once, as rows of the quote table")


def unit_note(coder: str | None = None) -> str:
    """What the counts count, for footnotes and legends."""
    who = f" (only {coder}'s codings)" if coder else ""
    return UNIT_NOTE + who


def group_passages(codings: Iterable[Coding]) -> list[list[Coding]]:
    """Codings grouped into passages: overlapping spans in one document (any coder, any code),
    in document order. Spans that only touch stay two passages."""
    groups: list[list[Coding]] = []
    end = -1
    for c in sorted(codings, key=lambda c: (c.document_id, c.start, c.end, c.id)):
        if groups and groups[-1][0].document_id == c.document_id and c.start < end:
            groups[-1].append(c)
            end = max(end, c.end)
        else:
            groups.append([c])
            end = c.end
    return groups


def _first(group: Sequence[Coding]) -> Coding:
    """The coding that speaks for a passage (its id, participant and document): the oldest."""
    return min(group, key=lambda c: c.id)


def _person(c: Coding, people: dict[str, Participant]) -> Participant | None:
    return people.get(c.participant.casefold()) if c.participant else None


def _by_code(codings: Iterable[Coding]) -> dict[int, list[Coding]]:
    out: dict[int, list[Coding]] = {}
    for c in codings:
        out.setdefault(c.code_id, []).append(c)
    return out


def _node_codings(t: Theme, by_code: dict[int, list[Coding]]) -> list[Coding]:
    return [c for cid in t.code_ids for c in by_code.get(cid, ())]


def counted_nodes(themes: Sequence[Theme], root: Theme, include_discarded: bool = False) -> list[Theme]:
    """``root`` and the subthemes whose passages count towards it (tree order): a discarded
    subtheme (and what lies under it) is left out unless ``include_discarded`` or ``root`` is
    itself discarded — as in the map, which leaves discarded themes out by default."""
    by_id = {t.id: t for t in themes}
    keep_all = include_discarded or root.status == "discarded"
    prefix = root.path.casefold() + "/"
    out = []
    for t in themes:
        if t.id != root.id and not t.path.casefold().startswith(prefix):
            continue
        if not keep_all:
            cur, hidden = t, False
            while cur.id != root.id:
                if cur.status == "discarded":
                    hidden = True
                    break
                cur = by_id[cur.parent_id]
            if hidden:
                continue
        out.append(t)
    return out


@dataclass(frozen=True)
class ThemeCount(Record):
    theme_id: int
    theme: str                      # path
    status: str
    passages: int                   # its own codes' passages plus its counted subthemes' passages
    own_passages: int               # its own codes' passages (its own rows of the quote table)
    codings: int                    # distinct codings behind them (every coder counted separately)
    participants: tuple[str, ...]   # distinct participants (natural order)
    unattributed: int               # passages whose speaker is no participant
    key_quotes: int                 # distinct key-quote spans flagged for a counted node
    codes: int
    coverage: str


def theme_counts(study: "Study", coder: str | None = None, include_discarded: bool = False,
                 codings: Sequence[Coding] | None = None) -> dict[int, ThemeCount]:
    """Counts for every theme node (discarded ones too, over their own subtree), in the one unit
    every export uses: passages (see :data:`UNIT_NOTE`). A theme's passages are the rows it has
    in the quote table: its own codes' passages plus those of its subthemes (discarded
    subthemes left out unless ``include_discarded``)."""
    store = themes_of(study)
    people = _participants(study)
    every = store.list()
    if codings is None:
        codings = study.codings.list(coder=coder) if coder else study.codings.list()
    by_code = _by_code(codings)
    key_ids = store.key_coding_ids()
    own = {t.id: group_passages(_node_codings(t, by_code)) for t in every}
    out = {}
    for t in every:
        nodes = counted_nodes(every, t, include_discarded)
        tids = {n.id for n in nodes}
        groups = [g for n in nodes for g in own[n.id]]
        ids, labels, keys = set(), set(), set()
        for g in groups:
            for c in g:
                ids.add(c.id)
                p = _person(c, people)
                if p:
                    labels.add(p.label)
                if key_ids.get(c.id, set()) & tids:
                    keys.add((c.document_id, c.start, c.end))
        out[t.id] = ThemeCount(
            theme_id=t.id, theme=t.path, status=t.status, passages=len(groups), own_passages=len(own[t.id]),
            codings=len(ids), participants=tuple(sorted(labels, key=natural_key)),
            unattributed=sum(1 for g in groups if _person(_first(g), people) is None),
            key_quotes=len(keys), codes=len(t.codes), coverage=coverage_text(_group_coverage(labels, people)))
    return out


def code_counts(study: "Study", coder: str | None = None,
                codings: Sequence[Coding] | None = None) -> dict[int, dict[str, int]]:
    """Code id -> ``passages`` (distinct passages, coders merged), ``codings`` (every coder's
    counted separately), ``participants`` and ``documents``."""
    if codings is None:
        codings = study.codings.list(coder=coder) if coder else study.codings.list()
    people = _participants(study)
    out = {}
    for cid, found in _by_code(codings).items():
        out[cid] = {"passages": len(group_passages(found)), "codings": len(found),
                    "participants": len({p.label for c in found if (p := _person(c, people))}),
                    "documents": len({c.document_id for c in found})}
    return out


# -- evidence ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Extract(Record):
    coding_id: int
    document: str
    document_id: int
    start: int
    end: int
    code: str
    code_id: int
    coder: str
    participant: str | None
    group: str | None
    speaker: str | None
    text: str
    memo: str
    key: bool = False
    themes: tuple[str, ...] = ()    # the theme nodes (paths) this extract supports


@dataclass(frozen=True)
class GroupCoverage(Record):
    group: str
    n: int                          # participants of the group drawn on
    of: int                         # participants of the group in the study
    labels: tuple[str, ...]
    text: str                       # "8 of 16 patients: P3, P10, ..."


@dataclass(frozen=True)
class ParticipantCoverage(Record):
    participant: str
    group: str
    passages: int                   # passages of this theme/code attributed to the participant
    codings: int                    # their codings here (every coder counted separately)
    key_quotes: int                 # key quotes of this theme
    quoted_overall: int             # key quotes across every theme
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentDensity(Record):
    document: str
    participants: tuple[str, ...]
    words: int
    characters: int
    passages: int
    codings: int                    # every coder counted separately
    coded_characters: int           # union of the extracts' spans (nothing counted twice)
    share: float                    # coded characters / characters
    per_1000_words: float           # passages per 1,000 words


@dataclass
class Evidence(Record):
    kind: str                       # "theme" or "code"
    name: str
    codes: list[str]
    coders: list[str]
    extracts: list[Extract]         # every coding (one per coder): what a key quote flags
    groups: list[GroupCoverage]
    participants: list[ParticipantCoverage]
    density: list[DocumentDensity]
    summary: str
    passages: int = 0               # the count (see UNIT_NOTE): what the map and the quote table show
    unattributed: int = 0           # passages whose speaker is no participant
    by_coder: dict[str, int] = field(default_factory=dict)   # coder -> codings
    unit: str = UNIT
    theme: dict[str, Any] | None = None
    subthemes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def participant_labels(self) -> list[str]:
        return [p.participant for p in self.participants]


def coverage_text(groups: Sequence[GroupCoverage]) -> str:
    return "; ".join(g.text for g in groups) if groups else "no participants"


def _group_coverage(labels: Iterable[str], people: dict[str, Participant]) -> list[GroupCoverage]:
    by_group: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    for p in people.values():
        totals[p.group] = totals.get(p.group, 0) + 1
    for label in labels:
        p = people.get(label.casefold())
        if p is not None:
            by_group.setdefault(p.group, []).append(p.label)
    out = []
    for group in sorted(by_group, key=lambda g: (-len(set(by_group[g])), g.casefold())):
        found = sorted(set(by_group[group]), key=natural_key)
        n, of = len(found), totals[group]
        lead = f"all {of}" if n == of and of > 1 else f"{n} of {of}"
        out.append(GroupCoverage(group=group, n=n, of=of, labels=tuple(found),
                                 text=f"{lead} {plural(group, of)}: {', '.join(found)}"))
    return out


def _make_extracts(codings: Iterable[Coding], people: dict[str, Participant],
                   key_ids: dict[int, set[int]], node_of_code: dict[int, list[Theme]] | None,
                   key_theme_ids: set[int] | None = None) -> list[Extract]:
    out = []
    for c in codings:
        p = _person(c, people)
        nodes = tuple(t.path for t in (node_of_code or {}).get(c.code_id, ()))
        flagged = key_ids.get(c.id, set())
        key = bool(flagged & key_theme_ids) if key_theme_ids is not None else bool(flagged)
        out.append(Extract(
            coding_id=c.id, document=c.document, document_id=c.document_id, start=c.start, end=c.end,
            code=c.code, code_id=c.code_id, coder=c.coder, participant=p.label if p else None,
            group=p.group if p else None, speaker=c.speaker, text=c.text, memo=c.memo, key=key,
            themes=nodes))
    return out


def _order_extracts(extracts: list[Extract]) -> list[Extract]:
    return sorted(extracts, key=lambda e: (e.document.casefold(), e.start, e.end, e.code.casefold(),
                                           e.coder.casefold(), e.coding_id))


def _density(study: "Study", extracts: Sequence[Extract], groups: Sequence[Sequence[Coding]]) -> list[DocumentDensity]:
    spans: dict[int, list[tuple[int, int]]] = {}
    codings: dict[int, int] = {}
    for e in extracts:
        spans.setdefault(e.document_id, []).append((e.start, e.end))
        codings[e.document_id] = codings.get(e.document_id, 0) + 1
    passages: dict[int, int] = {}
    for g in groups:
        passages[g[0].document_id] = passages.get(g[0].document_id, 0) + 1
    out = []
    for d in study.documents.list():
        coded = _spans_union(spans.get(d.id, []))
        n = passages.get(d.id, 0)
        out.append(DocumentDensity(
            document=d.name, participants=d.participants, words=d.word_count, characters=d.char_count,
            passages=n, codings=codings.get(d.id, 0), coded_characters=coded,
            share=round(coded / d.char_count, 4) if d.char_count else 0.0,
            per_1000_words=round(n * 1000 / d.word_count, 2) if d.word_count else 0.0))
    return out


def _participant_coverage(extracts: Sequence[Extract], groups: Sequence[Sequence[Coding]],
                          people: dict[str, Participant], quoted_overall: dict[str, int]) -> list[ParticipantCoverage]:
    per: dict[str, dict[str, Any]] = {}

    def entry(label: str) -> dict[str, Any]:
        return per.setdefault(label, {"passages": 0, "codings": 0, "key": set(), "docs": set()})

    for e in extracts:
        if e.participant is None:
            continue
        v = entry(e.participant)
        v["codings"] += 1
        v["docs"].add(e.document)
        if e.key:
            v["key"].add((e.document_id, e.start, e.end))
    for g in groups:
        p = _person(_first(g), people)
        if p is not None:
            entry(p.label)["passages"] += 1
    return [ParticipantCoverage(
        participant=label, group=people[label.casefold()].group, passages=v["passages"], codings=v["codings"],
        key_quotes=len(v["key"]), quoted_overall=quoted_overall.get(label, 0),
        documents=tuple(sorted(v["docs"], key=str.casefold)))
        for label, v in sorted(per.items(), key=lambda kv: natural_key(kv[0]))]


def quoted_counts(study: "Study") -> dict[str, int]:
    """Participant label -> number of key quotes (distinct passages) across every theme."""
    store = themes_of(study)
    key_ids = store.key_coding_ids()
    if not key_ids:
        return {}
    people = _participants(study)
    seen: dict[str, set] = {}
    for c in study.codings.list():
        if c.id in key_ids and c.participant:
            p = people.get(c.participant.casefold())
            if p:
                seen.setdefault(p.label, set()).add((c.document_id, c.start, c.end))
    return {label: len(v) for label, v in seen.items()}


def evidence(study: "Study", theme: str | None = None, code: str | None = None, *,
             coder: str | None = None, include_code_children: bool = False,
             include_discarded: bool = False) -> Evidence:
    """Evidence for a theme (with its subthemes) or for a code: see the module docstring.

    Counts are passages (:data:`UNIT_NOTE`), as in the map and the quote table; ``extracts``
    lists every coding (each coder's), which is what a key quote flags. A theme's discarded
    subthemes are left out (as in the map) unless ``include_discarded``.
    """
    if (theme is None) == (code is None):
        raise InvalidInput("give a theme or a code (one of them)")
    store = themes_of(study)
    people = _participants(study)
    codings = study.codings.list(coder=coder) if coder else study.codings.list()
    key_ids = store.key_coding_ids()
    theme_info, subthemes = None, []
    if theme is not None:
        root = store.get(theme)
        every = store.list()
        nodes = counted_nodes(every, root, include_discarded)
        by_code = _by_code(codings)
        node_groups = {t.id: group_passages(_node_codings(t, by_code)) for t in nodes}
        groups = [g for t in nodes for g in node_groups[t.id]]
        node_of_code: dict[int, list[Theme]] = {}
        for t in nodes:
            for cid in t.code_ids:
                node_of_code.setdefault(cid, []).append(t)
        chosen = [c for c in codings if c.code_id in node_of_code]
        extracts = _make_extracts(chosen, people, key_ids, node_of_code, {t.id for t in nodes})
        seen_codes: dict[int, str] = {}
        for t in nodes:
            for cid, path in zip(t.code_ids, t.codes):
                seen_codes.setdefault(cid, path)
        codes = list(seen_codes.values())
        kind, name = "theme", root.path
        theme_info = {k: v for k, v in root.as_dict().items() if k not in ("code_ids",)}
        for t in nodes[1:]:
            sub_nodes = [n for n in nodes if n.id == t.id or n.path.casefold().startswith(t.path.casefold() + "/")]
            sub_groups = [g for n in sub_nodes for g in node_groups[n.id]]
            labels = {p.label for g in sub_groups for c in g if (p := _person(c, people))}
            subthemes.append({"theme": t.path, "status": t.status, "passages": len(sub_groups),
                              "codings": len({c.id for g in sub_groups for c in g}),
                              "coverage": coverage_text(_group_coverage(labels, people))})
    else:
        target = study.codes.get(code)
        ids = {target.id}
        if include_code_children:
            ids |= {c.id for c in study.codes.list() if c.path.casefold().startswith(target.path.casefold() + "/")}
        chosen = [c for c in codings if c.code_id in ids]
        groups = group_passages(chosen)
        extracts = _make_extracts(chosen, people, key_ids, None)
        codes = sorted({c.code for c in chosen} | {target.path}, key=str.casefold)
        kind, name = "code", target.path
    extracts = _order_extracts(extracts)
    cover = _group_coverage({e.participant for e in extracts if e.participant}, people)
    by_coder: dict[str, int] = {}
    for e in extracts:
        by_coder[e.coder] = by_coder.get(e.coder, 0) + 1
    return Evidence(
        kind=kind, name=name, codes=codes, coders=sorted(by_coder, key=str.casefold),
        extracts=extracts, groups=cover,
        participants=_participant_coverage(extracts, groups, people, quoted_counts(study)),
        density=_density(study, extracts, groups), summary=coverage_text(cover),
        passages=len(groups), unattributed=sum(1 for g in groups if _person(_first(g), people) is None),
        by_coder=dict(sorted(by_coder.items(), key=lambda kv: kv[0].casefold())),
        theme=theme_info, subthemes=subthemes)


def overview(study: "Study", coder: str | None = None, include_discarded: bool = False) -> dict[str, Any]:
    """Coverage of every theme, density of theme-coded text per transcript, quotes per participant.

    Counts are passages (:data:`UNIT_NOTE`). Per transcript and per participant, a passage
    coded for several themes counts once (the passages of every counted theme's codes, merged).
    """
    store = themes_of(study)
    people = _participants(study)
    codings = study.codings.list(coder=coder) if coder else study.codings.list()
    counts = theme_counts(study, include_discarded=include_discarded, codings=codings)
    listed = store.list(include_discarded=include_discarded)
    rows = []
    for t in listed:
        n = counts[t.id]
        rows.append({"theme": t.path, "kind": t.kind, "status": t.status, "codes": len(t.codes),
                     "passages": n.passages, "codings": n.codings, "participants": len(n.participants),
                     "key_quotes": n.key_quotes, "coverage": n.coverage})
    gathered = {cid for t in listed for cid in t.code_ids}
    chosen = [c for c in codings if c.code_id in gathered]
    groups = group_passages(chosen)
    extracts = _make_extracts(chosen, people, {}, None)
    quoted = quoted_counts(study)
    per_person: dict[str, int] = {}
    for g in groups:
        p = _person(_first(g), people)
        if p is not None:
            per_person[p.label] = per_person.get(p.label, 0) + 1
    return {
        "unit": UNIT, "unit_note": unit_note(coder),
        "themes": rows,
        "density": [d.as_dict() for d in _density(study, extracts, groups)],
        "participants": [{"participant": p.label, "group": p.group, "quoted": quoted.get(p.label, 0),
                          "passages": per_person.get(p.label, 0)}
                         for p in people.values()],
    }


# -- attribution templates ---------------------------------------------------------------------

BASE_FIELDS = ("label", "group", "number")
FORBIDDEN_FIELDS = {"name": "real names never go into exports; use {label} or an attribute"}
UNATTRIBUTED = "(unattributed)"
_EMPTY = "\x00"


class Attribution:
    """An attribution template over participant fields, checked once against the study.

    Fields: ``{label}`` (P2), ``{group}``, ``{number}`` (the digits of the label: PTV3 -> 3) and
    any participant attribute, derived bands included (``{role}``, ``{experience_band}``). An
    empty value drops its neighbouring separator, so ``[Participant {number}, {role}]`` never
    shows ``, ]``. An unknown field is an :class:`InvalidInput` that lists the known ones. An
    extract with no participant gets :attr:`unattributed` (``(unattributed)``, in the template's
    brackets).
    """

    def __init__(self, template: str, study: "Study") -> None:
        self.template = template
        known = set(BASE_FIELDS) | set(study.participants.variables())
        for p in study.participants.list():
            known |= set(p.attributes)
        self.known = sorted(known, key=str.casefold)
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise InvalidInput(f"attribution template {template!r}: {exc} (write {{{{ and }}}} for braces)") from None
        self.fields: list[str] = []
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if name in FORBIDDEN_FIELDS:
                raise InvalidInput(f"attribution template field {{{name}}}: {FORBIDDEN_FIELDS[name]}")
            if not name or not re.fullmatch(r"[\w\- ]+", name):
                raise InvalidInput(f"attribution template field {{{name}}} is not a field name "
                                   f"(fields: {', '.join('{' + k + '}' for k in self.known)})")
            if name not in known:
                raise InvalidInput(f"unknown field {{{name}}} in attribution template {template!r}; "
                                   f"known fields: {', '.join('{' + k + '}' for k in self.known)}")
            if conversion or spec:
                raise InvalidInput(f"attribution template field {{{name}}}: no !conversion or :format, please")
            self.fields.append(name)

    def values(self, p: Participant) -> dict[str, str]:
        digits = "".join(re.findall(r"\d+", p.label))
        out = {"label": p.label, "group": p.group, "number": digits}
        for key in self.fields:
            if key not in out:
                out[key] = format_value(p.attributes.get(key))
        return out

    @property
    def unattributed(self) -> str:
        """The attribution of an extract whose speaker is no participant (an interviewer turn, an
        unmapped speaker): ``unattributed`` in the template's own outer brackets — ``({label})``
        gives ``(unattributed)``, ``[Participant {number}, {role}]`` gives ``[unattributed]`` —
        and ``(unattributed)`` for a template without brackets around it."""
        parsed = list(string.Formatter().parse(self.template))
        lead = parsed[0][0].lstrip() if parsed else ""
        tail = (parsed[-1][0] if parsed and parsed[-1][1] is None else "").rstrip()
        for opening, closing in (("(", ")"), ("[", "]")):
            if lead.startswith(opening) and tail.endswith(closing):
                return f"{opening}unattributed{closing}"
        return UNATTRIBUTED

    def __call__(self, p: Participant | None) -> str:
        if p is None:
            return self.unattributed
        values = {k: (v if v != "" else _EMPTY) for k, v in self.values(p).items()}
        text = string.Formatter().vformat(self.template, (), values)
        if _EMPTY in text:
            text = re.sub(r"[ \t]*[,;|/–—-][ \t]*" + _EMPTY, "", text)
            text = re.sub(_EMPTY + r"[ \t]*[,;|/–—-][ \t]*", "", text)
            text = text.replace(_EMPTY, "")
            text = re.sub(r"([(\[])\s+", r"\1", text)
            text = re.sub(r"\s+([)\]])", r"\1", text)
        return text


# -- quote tables ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteRow(Record):
    theme: str                      # the top-level theme's name
    subtheme: str                   # the subtheme's name ("" for the theme's own codes; "A / B" deeper)
    quote: str                      # the extract on one line
    attribution: str
    participant: str | None
    group: str | None
    code: str
    document: str
    start: int
    end: int
    coding_id: int
    coder: str
    key: bool
    theme_path: str
    ref: str = ""                   # the quote number (Q12), the same in every export of the study


def _top_and_sub(t: Theme) -> tuple[str, str]:
    parts = t.path.split("/")
    return parts[0], " / ".join(parts[1:])


def _hidden_ids(themes: Sequence[Theme]) -> set[int]:
    """Ids of discarded themes and of everything under them."""
    hidden: set[int] = set()
    for t in themes:   # tree order: a parent comes before its subthemes
        if t.status == "discarded" or t.parent_id in hidden:
            hidden.add(t.id)
    return hidden


def _ancestors(themes: Sequence[Theme]) -> dict[int, set[int]]:
    """Theme id -> its id and its ancestors' (a key quote of a theme also marks its subthemes' rows)."""
    by_id = {t.id: t for t in themes}
    out: dict[int, set[int]] = {}
    for t in themes:
        chain, cur = {t.id}, t
        while cur.parent_id is not None and cur.parent_id in by_id:
            cur = by_id[cur.parent_id]
            chain.add(cur.id)
        out[t.id] = chain
    return out


def _row_order(group: Sequence[Coding], people: dict[str, Participant], key: bool):
    """The order of a node's rows: key quotes first, then participants in natural order
    (unattributed passages last), document, position."""
    first = _first(group)
    p = _person(first, people)
    return (not key, p is None, natural_key(p.label) if p else (), first.document.casefold(),
            min(c.start for c in group), max(c.end for c in group), first.id)


class QuoteRefs:
    """Quote numbers: every passage of every theme node numbered once (Q1, Q2, ...), so that the
    quote table and the framework matrix refer to the same quote by the same number.

    Numbered in the order of the full quote table — every coder, every quote, themes in tree
    order (discarded ones after the rest), within a node key quotes first, then participants in
    natural order, document and position — so the full table reads Q1, Q2, Q3 ... and a table
    cut down by theme, coder or to key quotes keeps the numbers: a passage of a cut-down table
    lies inside one numbered passage and takes its number. (Flagging a key quote, coding or
    gathering codes renumbers: export the table and the matrix from the same state.)
    """

    def __init__(self, study: "Study", codings: Sequence[Coding] | None = None) -> None:
        store = themes_of(study)
        people = _participants(study)
        every = store.list()
        hidden = _hidden_ids(every)
        ancestors = _ancestors(every)
        key_ids = store.key_coding_ids()
        by_code = _by_code(codings if codings is not None else study.codings.list())
        self.spans: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
        n = 0
        for t in [t for t in every if t.id not in hidden] + [t for t in every if t.id in hidden]:
            chain = ancestors[t.id]
            groups = sorted(group_passages(_node_codings(t, by_code)), key=lambda g: _row_order(
                g, people, any(key_ids.get(c.id, set()) & chain for c in g)))
            for g in groups:
                n += 1
                self.spans.setdefault((t.id, g[0].document_id), []).append(
                    (min(c.start for c in g), max(c.end for c in g), f"Q{n}"))
        self.starts = {}
        for k, v in self.spans.items():
            v.sort()
            self.starts[k] = [s for s, _e, _r in v]
        self.count = n

    def find(self, theme_id: int, document_id: int, start: int, end: int) -> tuple[str, int, int] | None:
        """(ref, start, end) of the numbered passage of theme node ``theme_id`` holding the span."""
        starts = self.starts.get((theme_id, document_id))
        if not starts:
            return None
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0:
            s, e, ref = self.spans[(theme_id, document_id)][i]
            if end <= e:
                return ref, s, e
        return None


def _unique_refs(refs: list[str]) -> list[str]:
    """Two rows in one numbered passage (a cut-down table can split one): Q12a, Q12b."""
    seen: dict[str, int] = {}
    for r in refs:
        seen[r] = seen.get(r, 0) + 1
    nth: dict[str, int] = {}
    out = []
    for r in refs:
        if r and seen[r] > 1:
            nth[r] = nth.get(r, 0) + 1
            out.append(f"{r}{string.ascii_lowercase[(nth[r] - 1) % 26]}")
        else:
            out.append(r)
    return out


def quote_rows(study: "Study", themes: Sequence[str] | None = None, *, key_only: bool = False,
               template: str = "({label})", coder: str | None = None,
               include_discarded: bool = False) -> list[QuoteRow]:
    """The quote table: one row per passage per theme node, grouped by theme, then subtheme.

    ``themes`` limits the table to those themes (each with its subthemes). Within a node, key
    quotes come first, then participants in natural order (unattributed passages last). Codings
    of the node's codes that overlap in one document (two coders' versions of a passage, or two
    codes of one theme) are one passage: the union of their spans, its first coding's id and
    participant. ``key_only`` keeps flagged key quotes only (then only key codings make up the
    passages). Each row carries its quote number (:class:`QuoteRefs`).
    """
    store = themes_of(study)
    attribution = Attribution(template, study)
    people = _participants(study)
    every = store.list(include_discarded=include_discarded)
    if themes:
        chosen_ids: set[int] = set()
        for ref in themes:
            chosen_ids |= {t.id for t in store.descendants(ref)}
        every = [t for t in every if t.id in chosen_ids]
    ancestors = _ancestors(store.list())
    everyone = study.codings.list()
    codings = study.codings.list(coder=coder) if coder else everyone
    refs = QuoteRefs(study, everyone)
    by_code = _by_code(codings)
    key_ids = store.key_coding_ids()
    texts: dict[int, str] = {}
    rows: list[QuoteRow] = []
    for t in every:
        top, sub = _top_and_sub(t)
        found: dict[int, Coding] = {}
        keys: dict[int, bool] = {}
        for c in _node_codings(t, by_code):
            is_key = bool(key_ids.get(c.id, set()) & ancestors[t.id])
            if key_only and not is_key:
                continue
            found[c.id] = c
            keys[c.id] = is_key
        node_rows = []
        for group in group_passages(found.values()):
            first = _first(group)
            start, end = min(c.start for c in group), max(c.end for c in group)
            if len(group) == 1:
                text = first.text
            else:
                if first.document_id not in texts:
                    texts[first.document_id] = study.documents.text(first.document_id)
                text = texts[first.document_id][start:end]
            p = _person(first, people)
            hit = refs.find(t.id, first.document_id, start, end)
            node_rows.append(QuoteRow(
                theme=top, subtheme=sub, quote=flatten(text), attribution=attribution(p),
                participant=p.label if p else None, group=p.group if p else None,
                code="; ".join(sorted({c.code for c in group}, key=str.casefold)),
                document=first.document, start=start, end=end, coding_id=first.id,
                coder="; ".join(sorted({c.coder for c in group}, key=str.casefold)),
                key=any(keys[c.id] for c in group), theme_path=t.path, ref=hit[0] if hit else ""))
        # unattributed passages (interviewer turns, unmapped speakers) go after every participant
        node_rows.sort(key=lambda r: (not r.key, r.participant is None, natural_key(r.participant or ""),
                                      r.document.casefold(), r.start, r.end, r.coding_id))
        rows.extend(node_rows)
    if rows:
        unique = _unique_refs([r.ref for r in rows])
        rows = [r if r.ref == u else replace(r, ref=u) for r, u in zip(rows, unique)]
    return rows


# -- framework matrix --------------------------------------------------------------------------

@dataclass(frozen=True)
class MatrixCell(Record):
    passages: int                   # distinct quotes referred to
    memos: tuple[str, ...]
    refs: tuple[str, ...]           # quote numbers of the quote table ("Q12", "Q12*" for a key quote)
    excerpts: tuple[str, ...]
    text: str                       # the cell as written in the table


@dataclass(frozen=True)
class MatrixRow(Record):
    participant: str
    group: str
    attributes: dict[str, str]
    section: str                    # the group-by value(s) this row falls under
    cells: tuple[MatrixCell, ...]


@dataclass
class Matrix(Record):
    by: str
    columns: list[str]
    attributes: list[str]
    group_by: list[str]
    rows: list[MatrixRow]


def _attr(p: Participant, name: str) -> str:
    if name == "group":
        return p.group
    if name == "label":
        return p.label
    return format_value(p.attributes.get(name))


def _sort_value(p: Participant, name: str):
    if name == "label":
        return (0, natural_key(p.label))
    v = p.group if name == "group" else p.attributes.get(name)
    if v is None:
        return (2, "")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, float(v))
    return (1, str(v).casefold())


def _check_attributes(study: "Study", names: Sequence[str]) -> None:
    known = {"group", "label"} | set(study.participants.variables())
    for p in study.participants.list():
        known |= set(p.attributes)
    for n in names:
        if n == "name":
            raise InvalidInput(FORBIDDEN_FIELDS["name"])
        if n not in known:
            raise InvalidInput(f"unknown participant attribute {n!r}; known: {', '.join(sorted(known, key=str.casefold))}")


def framework_matrix(study: "Study", by: str = "themes", *, group_by: Sequence[str] = ("group",),
                     sort_by: Sequence[str] = (), attributes: Sequence[str] = (), coder: str | None = None,
                     excerpts: int = 0, include_discarded: bool = False) -> Matrix:
    """Participants x themes (``by='themes'``: top-level themes with their subthemes), every theme
    node (``'subthemes'``) or codes (``'codes'``: every code with codings).

    A cell lists the memos of its extracts (coding memos and memos on those codings), then the
    quote references — the quote numbers of the quote table (``Q12``, :class:`QuoteRefs`; ``*``
    for key quotes); a passage of a code no theme gathers is referred to by document and span
    (``P1_interview 120:340``) — and with ``excerpts=N`` each quote shortened to N characters.
    Rows: every participant, grouped by ``group_by`` and sorted by ``sort_by`` then label.
    """
    if by not in ("themes", "subthemes", "codes"):
        raise InvalidInput("the matrix is by themes, subthemes or codes")
    _check_attributes(study, [*group_by, *sort_by, *attributes])
    store = themes_of(study)
    everyone = study.codings.list()
    codings = study.codings.list(coder=coder) if coder else everyone
    every = store.list(include_discarded=include_discarded)
    every_all = store.list()
    refs_of = QuoteRefs(study, everyone)
    # (title, code ids, theme nodes in tree order that give the quote numbers, theme ids for key flags)
    columns: list[tuple[str, set[int], list[Theme], set[int]]] = []
    if by == "codes":
        used = {c.code_id for c in codings}
        for code in study.codes.list():
            if code.id in used:
                columns.append((code.path, {code.id}, [t for t in every if code.id in t.code_ids], set()))
    else:
        for t in every:
            if by == "themes" and t.depth:
                continue
            nodes = counted_nodes(every_all, t, include_discarded) if by == "themes" else [t]
            columns.append((t.path, {cid for n in nodes for cid in n.code_ids}, nodes, {n.id for n in nodes}))
    key_ids = store.key_coding_ids()
    memo_map: dict[int, list[str]] = {}
    for m in study.memos.list(target_type="coding"):
        memo_map.setdefault(m.target_id, []).append(flatten(m.body))
    people = study.participants.list()
    per: dict[tuple[str, int], list[Coding]] = {}
    for c in codings:
        if c.participant:
            for i, (_title, ids, _nodes, _tids) in enumerate(columns):
                if c.code_id in ids:
                    per.setdefault((c.participant.casefold(), i), []).append(c)
    texts: dict[int, str] = {}

    def quote_of(c: Coding, nodes: list[Theme]) -> tuple[str, tuple[int, int]]:
        for n in nodes:
            if c.code_id in n.code_ids:
                hit = refs_of.find(n.id, c.document_id, c.start, c.end)
                if hit:
                    return hit[0], (hit[1], hit[2])
        return f"{c.document} {c.start}:{c.end}", (c.start, c.end)

    rows = []
    ordered = sorted(people, key=lambda p: (tuple(_sort_value(p, g) for g in group_by),
                                            tuple(_sort_value(p, s) for s in sort_by), natural_key(p.label)))
    for p in ordered:
        cells = []
        for i, (_title, _ids, nodes, tids) in enumerate(columns):
            found = sorted(per.get((p.label.casefold(), i), []), key=lambda c: (c.document.casefold(), c.start, c.id))
            memos = list(dict.fromkeys(m for c in found for m in ([flatten(c.memo)] if c.memo else [])
                                       + memo_map.get(c.id, [])))
            quotes: dict[str, dict[str, Any]] = {}
            for c in found:
                ref, span = quote_of(c, nodes)
                q = quotes.setdefault(ref, {"key": False, "coding": c, "span": span})
                q["key"] |= bool(key_ids.get(c.id, set()) & tids if tids else key_ids.get(c.id))
            refs, shown = [], []
            for ref, q in quotes.items():
                refs.append(ref + ("*" if q["key"] else ""))
                if excerpts:
                    c, (start, end) = q["coding"], q["span"]
                    if (start, end) == (c.start, c.end):
                        text = c.text
                    else:
                        if c.document_id not in texts:
                            texts[c.document_id] = study.documents.text(c.document_id)
                        text = texts[c.document_id][start:end]
                    shown.append(f"\u201c{shorten(text, excerpts)}\u201d ({ref})")
            lines = [f"– {m}" for m in memos] + shown
            if refs:
                lines.append("Quotes: " + ", ".join(refs))
            cells.append(MatrixCell(passages=len(refs), memos=tuple(memos), refs=tuple(refs),
                                    excerpts=tuple(shown), text="\n".join(lines)))
        rows.append(MatrixRow(
            participant=p.label, group=p.group, attributes={a: _attr(p, a) for a in attributes},
            section=", ".join(_attr(p, g) or "not recorded" for g in group_by), cells=tuple(cells)))
    return Matrix(by=by, columns=[c[0] for c in columns], attributes=list(attributes),
                  group_by=list(group_by), rows=rows)


# -- participant characteristics ---------------------------------------------------------------

@dataclass
class CharacteristicsTable(Record):
    headers: list[str]
    rows: list[list[str]]
    kinds: list[str]                # per row: "count", "heading", "value", "summary"
    notes: list[str]
    suppress_below: int


def _default_attributes(study: "Study") -> list[str]:
    names = list(study.participants.variables())
    out = []
    for wanted in ("age", "gender", "sex"):
        out += [n for n in names if n.casefold() == wanted and n not in out]
    return out


def _num(x: float) -> str:
    return f"{x:.1f}" if x != int(x) else f"{int(x)}"


SECONDARY = "*"    # a count suppressed so that a small one cannot be worked out by subtraction


def _complementary(lines: Sequence[Sequence[tuple[int, int]]], values: dict[tuple[int, int], int],
                   suppressed: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Secondary suppression: while a line (a row across the groups and the total, or a column of
    one characteristic whose total is shown) holds exactly one suppressed count — which its total
    minus the others would give away — suppress its smallest other count too. Returns the cells
    suppressed this way."""
    added: set[tuple[int, int]] = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [c for c in line if c in suppressed]
            if len(hidden) != 1:
                continue
            others = [c for c in line if c not in suppressed]
            if not others:
                continue
            pick = min(others, key=lambda c: (values[c], c[1], c[0]))
            suppressed.add(pick)
            added.add(pick)
            changed = True
    return added


def participant_table(study: "Study", attributes: Sequence[str] | None = None, *,
                      suppress_below: int = 5, groups: Sequence[str] | None = None) -> CharacteristicsTable:
    """COREQ item 16: participants by group (columns) and in total.

    Numeric attributes (integer, float) give mean, median and range; others give n (%) per value,
    plus "not recorded". Group sizes are always shown (COREQ item 12). Small-cell suppression
    with threshold ``k = suppress_below`` (``0`` shows every number):

    - a count from 1 to k - 1 is shown as ``<k`` (without a percentage);
    - complementary suppression: a row (groups and total) or a characteristic's column (whose
      total, the group size, is shown) with exactly one suppressed count would give it away by
      subtraction, so its next smallest count is suppressed too (shown as ``*``), repeated until
      no row or column holds a single suppressed count;
    - mean, median and range of fewer than k values are suppressed (``–``); and while the groups
      suppressed so hold fewer than k values between them, the next smallest group's summaries
      (finally the total's) are suppressed too, so that neither subtraction from the total's mean
      nor the total's range gives away a small group's values.

    The table's note says which of these rules were applied.
    """
    if suppress_below < 0:
        raise InvalidInput("the suppression threshold must be 0 (off) or more")
    k = suppress_below
    attributes = list(attributes) if attributes is not None else _default_attributes(study)
    _check_attributes(study, attributes)
    variables = study.participants.variables()
    people = study.participants.list()
    names = sorted({p.group for p in people}, key=str.casefold)
    if groups:
        lower = {g.casefold(): g for g in names}
        missing = [g for g in groups if g.casefold() not in lower]
        if missing:
            raise InvalidInput(f"unknown group(s) {', '.join(missing)}; groups: {', '.join(names)}")
        names = [lower[g.casefold()] for g in groups]
    columns = [[p for p in people if p.group == g] for g in names] + [people]
    total_col = len(columns) - 1
    headers = ["Characteristic"] + [f"{plural(g).capitalize()} (n = {len(c)})" for g, c in zip(names, columns)] \
        + [f"Total (n = {len(people)})"]
    rows: list[list[str]] = [["Participants, n"] + [str(len(c)) for c in columns]]
    kinds = ["count"]
    counts: dict[tuple[int, int], int] = {}          # (row, column) -> count, for the count cells
    lines: list[list[tuple[int, int]]] = []          # rows and characteristic columns that add up
    summaries: list[tuple[int, list[list[float]]]] = []   # (first summary row, values per column)

    def count_row(label: str, per_column: list[int]) -> int:
        i = len(rows)
        rows.append([label] + [""] * len(columns))
        kinds.append("value")
        for j, n in enumerate(per_column):
            counts[(i, j)] = n
        lines.append([(i, j) for j in range(len(columns))])
        return i

    for attr in attributes:
        type_ = variables.get(attr, {}).get("type", "text")
        label = attr.replace("_", " ").capitalize()
        values = [[p.attributes.get(attr) for p in col] for col in columns]
        if type_ in ("integer", "float"):
            rows.append([f"{label}"] + [""] * len(columns))
            kinds.append("heading")
            nums = [[float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
                    for vals in values]
            summaries.append((len(rows), nums))
            for stat in ("mean", "median", "range"):
                rows.append([f"  {stat}"] + [""] * len(columns))
                kinds.append("summary")
            missing = [sum(1 for v in vals if v is None) for vals in values]
            if any(missing):
                count_row("  not recorded, n (%)", missing)
        else:
            rows.append([f"{label}, n (%)"] + [""] * len(columns))
            kinds.append("heading")
            seen = sorted({format_value(v) for vals in values for v in vals if v is not None}, key=str.casefold)
            block = []
            for value in seen:
                block.append(count_row(f"  {value}", [sum(1 for v in vals if v is not None and format_value(v) == value)
                                                      for vals in values]))
            missing = [sum(1 for v in vals if v is None) for vals in values]
            if any(missing):
                block.append(count_row("  not recorded", missing))
            for j in range(len(columns)):      # the group size (shown) is the column's total
                lines.append([(i, j) for i in block])
    primary = {c for c, n in counts.items() if k and 0 < n < k}
    suppressed = set(primary)
    secondary = _complementary(lines, counts, suppressed) if k else set()
    for (i, j), n in counts.items():
        total = len(columns[j])
        if (i, j) in primary:
            rows[i][j + 1] = f"<{k}"
        elif (i, j) in secondary:
            rows[i][j + 1] = SECONDARY
        else:
            rows[i][j + 1] = f"{n} ({100 * n / total:.0f} %)" if total and n else str(n)
    summary_suppressed = secondary_summaries = False
    for first, nums in summaries:
        hidden = {j for j, v in enumerate(nums) if k and 0 < len(v) < k}
        summary_suppressed |= bool(hidden)
        if k:
            while 0 < sum(len(nums[j]) for j in hidden if j != total_col) < k:
                rest = [j for j in range(total_col) if j not in hidden and nums[j]]
                pick = min(rest, key=lambda j: (len(nums[j]), j)) if rest else total_col
                if pick in hidden:
                    break
                hidden.add(pick)
                secondary_summaries = True
        for s, stat in enumerate(("mean", "median", "range")):
            row = rows[first + s]
            for j, v in enumerate(nums):
                if not v:
                    row[j + 1] = ""
                elif j in hidden:
                    row[j + 1] = "–"
                elif stat == "mean":
                    row[j + 1] = f"{statistics.fmean(v):.1f}"
                elif stat == "median":
                    row[j + 1] = _num(statistics.median(v))
                else:
                    row[j + 1] = f"{_num(min(v))}–{_num(max(v))}"
    notes = []
    if k and (primary or summary_suppressed):
        note = f"Small cells are suppressed so that no individual can be recognised: counts from 1 to {k - 1} are shown as <{k}"
        if secondary:
            note += (f"; so that such a count cannot be worked out from a total by subtraction, one more count "
                     f"({SECONDARY}) is suppressed in any row or column that would otherwise hold a single "
                     "suppressed count")
        if summary_suppressed:
            note += f"; means, medians and ranges of fewer than {k} values are not shown (–)"
            if secondary_summaries:
                note += (f", nor those of the next smallest group (or the total) while the groups not shown "
                         f"hold fewer than {k} values between them")
        notes.append(note + ".")
    return CharacteristicsTable(headers=headers, rows=rows, kinds=kinds, notes=notes, suppress_below=k)


# -- codebook ----------------------------------------------------------------------------------

def codebook_rows(study: "Study") -> list[dict[str, Any]]:
    """The code tree (tree order) with definitions, counts and the themes each code serves.

    ``passages`` is the count the map and the quote table use (:data:`UNIT_NOTE`);
    ``codings`` counts every coder's codings separately."""
    counts = code_counts(study)
    served: dict[int, list[str]] = {}
    for t in themes_of(study).list(include_discarded=False):
        for cid in t.code_ids:
            served.setdefault(cid, []).append(t.path)
    out = []
    for c in study.codes.list():
        n = counts.get(c.id, {})
        out.append({
            "path": c.path, "name": c.name, "depth": c.path.count("/"), "parent": c.path.rpartition("/")[0],
            "colour": c.colour, "status": c.status, "description": c.description,
            "include_when": c.include_when, "exclude_when": c.exclude_when, "example": c.example,
            "passages": n.get("passages", 0), "codings": n.get("codings", 0), "documents": n.get("documents", 0),
            "participants": n.get("participants", 0), "themes": served.get(c.id, []),
        })
    return out
