"""The export guard: does this content name anyone the study has registered?

``check(study, content, key=None)`` returns the leaks (empty when the content is clean);
``refuse(...)`` raises ``CheckFailed`` listing them unless ``allow_leaks``. Every export calls
it through ``qualcode.export``.

**With the key** the guard matches the register itself (every name, variant and nickname, as the
scan matches them) and the identifiers replaced at apply (names, places, phone numbers, e-mail
addresses, postcodes, NHS numbers from the anonymisation log).

**Without the key** — the usual case for an export, since the key stays locked away — it uses
what the study itself keeps:

- participants' real names while they are still in the study (before apply);
- ``anonymisation_terms``: for every registered term and every replaced identifier, a keyed
  hash (BLAKE2b with the study's random 16-byte salt, 64 bits) of its normalised form — word
  tokens lower-cased, identifiers reduced to digits (phones, NHS numbers) or lower case (e-mail)
  or upper case without spaces (postcodes). The guard hashes every run of one to
  ``terms_max_words`` words of the content (and every identifier the rules find) and looks it
  up. Names that are also ordinary words (``Mark``) only count when capitalised, as in the scan.

Coders' names are not leaks in an export (``Guard(coders_exempt=True)``, the default): the
research team is named by consent, and reports name the coders. ``anonymise check`` still
reports a coder's name found in a transcript or a memo.

The hashes are written at apply (and by ``anonymise register``). They let the study answer "is
this word a registered name?" without listing the names; they do not stop someone who already
has a list of candidate names and the study file from testing them (a salt cannot, for short
names), so the key remains the thing to protect. Misspellings are not caught without the key.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import re
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from qualcode.anonymise.register import Matcher, Term, name_variants, resolve_case
from qualcode.anonymise.rules import RULES
from qualcode.errors import CheckFailed
from qualcode.store import anonymise as store
from qualcode.text import context

_TOKEN = re.compile(r"[^\W_]+")
NAME_KINDS = ("name", "person", "place", "organisation", "hospital", "school", "workplace")
ID_KINDS = ("phone", "email", "nhs", "postcode")
_ID_RULES = tuple(r for r in RULES if r.kind in ID_KINDS)
MAX_LISTED = 10


@dataclass(frozen=True)
class Leak:
    start: int
    end: int
    text: str
    kind: str
    found_by: str  # register, participant, log, hashed
    left: str = ""
    right: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return f"{self.text!r} at {self.start} ({self.kind}, {self.found_by}): …{self.left}[{self.text}]{self.right}…"


# -- normalisation and hashing ---------------------------------------------------------------
def normalise_identifier(kind: str, text: str) -> str:
    if kind in ("phone", "nhs"):
        digits = re.sub(r"\D", "", text)
        if kind == "phone" and digits.startswith("44"):
            digits = "0" + digits[2:].lstrip("0")
        return digits
    if kind == "email":
        return text.strip().lower()
    if kind == "postcode":
        return re.sub(r"\s", "", text).upper()
    return text


def _hasher(salt: str):
    key = bytes.fromhex(salt)
    cache: dict[str, str] = {}

    def h(value: str) -> str:
        found = cache.get(value)
        if found is None:
            found = hashlib.blake2b(value.encode("utf-8"), key=key, digest_size=8).hexdigest()
            cache[value] = found
        return found

    return h


def term_hashes(salt: str, terms: Iterable[tuple[str, str]], identifiers: Iterable[tuple[str, str]]
                ) -> tuple[list[tuple[str, str]], int]:
    """Hash rows for ``anonymisation_terms`` from (term, ci|cs) and (kind, identifier) pairs;
    returns the rows and the longest term in words."""
    h = _hasher(salt)
    rows: dict[str, str] = {}
    longest = 1
    for term, mode in terms:
        tokens = [t.lower() for t in _TOKEN.findall(term)]
        if not tokens or (len(tokens) == 1 and len(tokens[0]) < 2):
            continue
        longest = max(longest, len(tokens))
        rows[h(f"{mode}:{' '.join(tokens)}")] = mode
    for kind, value in identifiers:
        norm = normalise_identifier(kind, value)
        if norm:
            rows[h(f"id:{kind}:{norm}")] = "id"
    return sorted(rows.items()), longest


# -- the guard -------------------------------------------------------------------------------
def coder_words(db) -> set[str]:
    """Coders' names, whole and word by word (lower case): what an export may name freely."""
    out: set[str] = set()
    for name in store.coder_names(db):
        tokens = [t.lower() for t in _TOKEN.findall(name)]
        if tokens:
            out.add(" ".join(tokens))
            out.update(t for t in tokens if len(t) >= 2)
    return out


class Guard:
    """Built once per study (and key), then ``check`` any number of texts.

    ``coders_exempt`` (the default, for exports and merges): coders' names are not leaks. An
    agreement report or a codebook names the coders, who are the research team and named by
    consent, even when one of them is also a registered interviewer. ``anonymise check`` builds
    its guard with ``coders_exempt=False``: in a transcript a coder's name is still a name."""

    def __init__(self, study, key=None, coders_exempt: bool = True) -> None:
        self.study = study
        db = study.db
        exempt = coder_words(db) if coders_exempt else set()
        terms: list[Term] = []
        for p in store.participants(db):
            if p["name"]:
                replacement = f"[name of {p['label']}]"
                for term in [p["name"], *(v[0] for v in name_variants(p["name"]))]:
                    terms.append(Term(term, -p["id"], replacement, "participant", resolve_case(term, None), False))
        self.literals: dict[str, str] = {}
        self.identifiers: dict[tuple[str, str], str] = {}
        if key is not None:
            from qualcode.anonymise.register import terms_from_entries

            labels = {p["guid"]: p["label"] for p in store.participants(db)}
            key_terms, _ = terms_from_entries(key.entries(), labels, None, key.resolved_case())
            terms += key_terms
            for r in key.conn.execute("SELECT DISTINCT original, kind FROM log"):
                original, kind = r
                if kind in ID_KINDS:
                    self.identifiers[(kind, normalise_identifier(kind, original))] = original
                elif kind in NAME_KINDS and len(original.strip()) >= 3 and \
                        " ".join(t.lower() for t in _TOKEN.findall(original)) not in exempt:
                    self.literals[original] = kind
        if exempt:
            terms = [t for t in terms if " ".join(x.lower() for x in _TOKEN.findall(t.text)) not in exempt]
        self.matcher = Matcher(terms, threshold=None)
        self._literal_re = (re.compile(r"(?<!\w)(?:" + "|".join(
            re.escape(k) for k in sorted(self.literals, key=len, reverse=True)) + r")(?!\w)")
            if self.literals else None)
        self.hashes = store.guard_terms(db) if key is None else set()
        self.max_words = int(store.get(db, "terms_max_words", 1) or 1)
        salt = store.salt(db)
        self._hash = _hasher(salt) if salt else None
        if exempt and self.hashes and self._hash:
            self.hashes -= {self._hash(f"{mode}:{w}") for w in exempt for mode in ("ci", "cs")}

    def check(self, content: str) -> list[Leak]:
        leaks: list[Leak] = []
        # The spans reported so far, disjoint and sorted: a later hit overlapping one of them is
        # not reported again, and only its two neighbours need comparing (a non-anonymised
        # study's export holds ~100,000 real names; comparing each new hit with every earlier
        # one took more than five minutes). Hits mostly arrive in text order, so the lists grow
        # by appending.
        starts: list[int] = []
        ends: list[int] = []

        def add(s: int, e: int, kind: str, how: str) -> None:
            i = bisect_right(starts, s)
            if s >= e or (i and ends[i - 1] > s) or (i < len(starts) and starts[i] < e):
                return
            starts.insert(i, s)
            ends.insert(i, e)
            left, text, right = context(content, s, e, 30)
            leaks.append(Leak(s, e, content[s:e], kind, how, left, right))

        for m in self.matcher.exact(content):
            add(m.start, m.end, m.term.kind if m.term.entry_id >= 0 else "participant",
                "participant" if m.term.entry_id < 0 else "register")
        if self._literal_re is not None:
            for m in self._literal_re.finditer(content):
                add(m.start(), m.end(), self.literals[m.group(0)], "log")
        if self.identifiers or self.hashes:
            for rule in _ID_RULES:
                for hit in rule.hits(content):
                    norm = normalise_identifier(rule.kind, content[hit.start:hit.end])
                    if (rule.kind, norm) in self.identifiers:
                        add(hit.start, hit.end, rule.kind, "log")
                    elif self.hashes and self._hash and self._hash(f"id:{rule.kind}:{norm}") in self.hashes:
                        add(hit.start, hit.end, rule.kind, "hashed")
        if self.hashes and self._hash:
            tokens = list(_TOKEN.finditer(content))
            h = self._hash
            for i, tok in enumerate(tokens):
                words: list[str] = []
                for j in range(i, min(len(tokens), i + self.max_words)):
                    if j > i and not content[tokens[j - 1].end():tokens[j].start()].strip(" \t'\u2019-") == "":
                        break
                    words.append(tokens[j].group(0).lower())
                    key = " ".join(words)
                    s, e = tok.start(), tokens[j].end()
                    if h(f"ci:{key}") in self.hashes:
                        add(s, e, "name", "hashed")
                    elif tok.group(0)[:1].isupper() and h(f"cs:{key}") in self.hashes:
                        add(s, e, "name", "hashed")
        return sorted(leaks, key=lambda lk: lk.start)

    def check_value(self, value: str) -> list[Leak]:
        """Check one stored value; JSON is checked leaf by leaf, skipping typed and internal keys
        (participants' attributes, times, ids) exactly as scrubbing skips them."""
        stripped = value.lstrip()
        if stripped[:1] in "{[":
            try:
                data = json.loads(value)
            except ValueError:
                data = None
            if isinstance(data, (dict, list)):
                out: list[Leak] = []
                self._walk(data, out)
                return out
        return self.check(value)

    def _walk(self, data: Any, out: list[Leak]) -> None:
        if isinstance(data, dict):
            for k, v in data.items():
                if k not in store.KEEP_COLUMNS:
                    self._walk(v, out)
        elif isinstance(data, list):
            for v in data:
                self._walk(v, out)
        elif isinstance(data, str) and data:
            out.extend(self.check_value(data))


def _text_of(content: Any) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    if isinstance(content, str):
        return content
    if isinstance(content, Path):
        return content.read_bytes().decode("utf-8", errors="replace")
    return "\n".join(_text_of(c) for c in content)


def check(study, content: Any, key: Any = None) -> list[Leak]:
    """Leaks of registered identifiers in ``content`` (str, bytes, a path, or an iterable of
    them). ``key`` is an open ``KeyFile`` or a key path (optional; see the module docstring)."""
    opened = None
    if key is not None and not hasattr(key, "entries"):
        from qualcode.anonymise.scan import open_key

        key = opened = open_key(study, Path(key))
    try:
        return Guard(study, key).check(_text_of(content))
    finally:
        if opened is not None:
            opened.close()


def describe(leaks: list[Leak], what: str = "the export") -> str:
    """One readable line: each leaked identifier once, most frequent first, with a count."""
    from collections import Counter

    counts = Counter(lk.text for lk in leaks)
    top = counts.most_common(MAX_LISTED)
    shown = ", ".join(f"{text!r}" + (f" ×{n}" if n > 1 else "") for text, n in top)
    more = f" and {len(counts) - len(top)} more" if len(counts) > len(top) else ""
    return (f"{what} contains {len(leaks)} registered identifier(s): {shown}{more}. "
            f"Anonymise first (`qualcode anonymise apply`), or export anyway with --allow-leaks "
            f"(or {ALLOW_ENV}=1)")


def refuse(study, content: Any, key: Any = None, allow_leaks: bool = False, what: str = "the export") -> list[Leak]:
    """Raise ``CheckFailed`` listing the leaks, unless there are none or ``allow_leaks``."""
    leaks = check(study, content, key)
    if leaks and not allow_leaks:
        raise CheckFailed(describe(leaks, what))
    return leaks


def guard_rows(study, key, extra_terms: Iterable[tuple[str, str]] = (),
               extra_identifiers: Iterable[tuple[str, str]] = ()) -> tuple[list[tuple[str, str]], int]:
    """The hashed register the study keeps for the guard: register terms, participants' names,
    and the names and identifiers replaced so far (from the key's log)."""
    from qualcode.anonymise.register import terms_from_entries

    db = study.db
    labels = {p["guid"]: p["label"] for p in store.participants(db)}
    terms, _ = terms_from_entries(key.entries(), labels, None, key.resolved_case())
    pairs = [(t.text, t.case_mode) for t in terms]
    pairs += [(p["name"], "ci") for p in store.participants(db) if p["name"]]
    identifiers = list(extra_identifiers)
    for kind, value in key.conn.execute("SELECT kind, original FROM log"):
        if kind in ID_KINDS:
            identifiers.append((kind, value))
        elif kind in NAME_KINDS and len(value) >= 3:
            pairs.append((value, "cs"))
    pairs += list(extra_terms)
    # Coders' names are hashed too (a keyless `anonymise check` finds an interviewer's name in a
    # transcript even when the interviewer codes); the export guard drops them (``coders_exempt``).
    return term_hashes(store.salt(db), pairs, identifiers)


def sync(study, key) -> int:
    """Write the hashed register into the study (one transaction, nothing readable stored)."""
    rows, longest = guard_rows(study, key)
    with study.db.atomic():
        store.write_guard_terms(study.db, rows)
        store.put(study.db, "terms_max_words", longest)
    return len(rows)


# -- the export door's hook ------------------------------------------------------------------
_ALLOW: "contextvars.ContextVar[bool]" = contextvars.ContextVar("qualcode_allow_leaks", default=False)
_KEY: "contextvars.ContextVar[Any]" = contextvars.ContextVar("qualcode_guard_key", default=None)
ALLOW_ENV = "QUALCODE_ALLOW_LEAKS"


@contextmanager
def allowing_leaks(allow: bool = True) -> Iterator[None]:
    """Within this block exports are written even when they hold registered identifiers
    (what an export command's ``--allow-leaks`` does)."""
    token = _ALLOW.set(bool(allow))
    try:
        yield
    finally:
        _ALLOW.reset(token)


@contextmanager
def using_key(key: Any) -> Iterator[None]:
    """Within this block the export guard also matches the whole register of ``key`` (an open
    ``KeyFile``), not only what the study keeps."""
    token = _KEY.set(key)
    try:
        yield
    finally:
        _KEY.reset(token)


def leaks_allowed() -> bool:
    return _ALLOW.get() or os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes")


def export_hook(content: str | bytes, *, study=None, kind: str = "", fmt: str = "", path=None,
                text: str | None = None) -> str | bytes:
    """What ``qualcode.export.guard`` runs for every export: refuse (``CheckFailed``, exit 1)
    listing the leaks, unless leaks are allowed. ``text`` is the readable text of a binary
    export (DOCX, XLSX, images); text content is checked as it is."""
    if study is None:
        return content
    pieces = []
    if text:
        pieces.append(text)
    if isinstance(content, str):
        pieces.append(content)
    elif isinstance(content, (bytes, bytearray)):
        try:
            pieces.append(bytes(content).decode("utf-8"))
        except UnicodeDecodeError:
            if not text:
                pieces.append(bytes(content).decode("latin-1"))
    if not pieces:
        return content
    leaks = Guard(study, _KEY.get()).check("\n".join(pieces))
    if leaks and not leaks_allowed():
        what = f"the {kind} export" if kind else "the export"
        if path is not None:
            what += f" to {Path(path).name}"
        raise CheckFailed(describe(leaks, what))
    return content
