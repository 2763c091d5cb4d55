"""The register and the name matcher.

The register lists real names and other identifiers with their replacements. Participants feed it
automatically: ``Sarah Whitfield`` (P1) gives the terms ``Sarah Whitfield``, ``Sarah``,
``Whitfield``, speaker labels mapped to P1 that are names (``Sarah``), and common nicknames of the
first name (``Steve`` for ``Stephen``), all replaced by ``[name of P1]``.

Matching (``Matcher``) is built for a million words in a few seconds:

- **exact**: one regular expression per case mode, built as a character trie of every term (so
  the engine tests one branch per starting letter, not hundreds of alternatives), whole words
  only; spaces in a term match any run of whitespace. Possessives need nothing special: in
  ``Sarah's`` the name is a whole word. Terms match in any case (``SARAH``, ``sarah``), also
  when the study writes the same word in lower case elsewhere (a name written ``sarah`` is still
  a name). Names that are also ordinary English words (``Mark``, ``Grace``, ``Will``, ``Rose``
  ...: ``NAME_WORDS``) match confidently only when Capitalised or UPPER case;
- **lower case** (``lowercase``): those ordinary-word names written in lower case (``rang
  mark``, ``mark it up``) are found too, as low-confidence matches that a reviewer must decide
  (the scan proposes them as ``register-lowercase`` candidates, ``--accept-all`` leaves them to
  the reviewer, and ``anonymise check`` reports them until they are accepted or rejected);
- **fuzzy**: misspellings (``Sara``, ``Srah``) — only capitalised tokens not matched exactly and
  not ordinary words are compared, each distinct token once, with ``rapidfuzz`` against the
  single-word terms of four or more letters (``fuzz.ratio`` >= threshold, default 80). A token
  that differs from the term by substituted letters only (``Amara`` for ``Amira``), or that is a
  known first name itself, is more likely another person than a misspelling: it is still
  matched, but marked ``generic`` so that the scan proposes ``[name]``, never the registered
  person's label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from qualcode.anonymise.keyfile import Entry

DEFAULT_THRESHOLD = 80.0
MIN_FUZZY_LENGTH = 4

KIND_REPLACEMENTS = {
    "person": "[name]", "name": "[name]", "place": "[place]", "organisation": "[organisation]",
    "hospital": "[hospital]", "school": "[school]", "workplace": "[workplace]", "other": "[redacted]",
}

# Common English nicknames, both ways (first names only; four letters or more so they are
# unlikely to be ordinary words or another person's initials).
_NICK_GROUPS = [
    "stephen steven steve stevie", "david dave davey", "margaret maggie peggy meg mags", "gareth gaz",
    "elizabeth liz lizzie beth betty eliza", "robert rob bob bobby robbie", "william will bill billy liam",
    "james jim jimmy jamie", "michael mike mick mikey", "patricia trish tricia patsy", "anthony tony",
    "katherine catherine kate katie kathy cath", "jennifer jenny jen", "christopher chris",
    "nicholas nick nicky", "thomas tom tommy", "daniel dan danny", "samuel sam sammy",
    "samantha sam sammy", "benjamin ben benny", "alexander alex sandy", "andrew andy drew",
    "matthew matt", "peter pete", "joseph joe joey", "rosalind rosie ros roz", "linda lindy",
    "colin col", "janet jan", "priya pri", "nadia nads", "susan sue susie", "richard rick dick richie",
    "edward eddie ted teddy", "charles charlie chas", "deborah debbie deb", "rebecca becky becca",
    "jonathan jon jonny", "timothy tim timmy", "kenneth ken kenny", "gerald gerry", "victoria vicky",
    "christine chris chrissie", "barbara barb babs", "frances fran", "francis frank", "raymond ray",
    "ronald ron ronnie", "donald don donnie", "douglas doug", "gregory greg", "lawrence larry laurie",
    "philip phil pip", "stuart stu", "terence terry", "vincent vince", "abigail abby abbie",
    "alison ali", "amanda mandy", "caroline carol carrie", "dorothy dot dotty", "eleanor ellie nell",
    "helen nell", "josephine jo josie", "judith judy jude", "kimberley kim", "louise lou",
    "natalie nat", "pamela pam", "penelope penny", "sandra sandy", "teresa tess tessa terri",
    "valerie val", "wendy wend", "yvonne vonnie", "zachary zach zack",
]
NICKNAMES: dict[str, set[str]] = {}
for _group in _NICK_GROUPS:
    _names = _group.split()
    for _n in _names:
        NICKNAMES.setdefault(_n, set()).update(x for x in _names if x != _n and len(x) >= 4)

# First names that are also ordinary English words: matched only when Capitalised or UPPER.
NAME_WORDS = frozenset("""
mark will bill frank grace hope joy rose may june april august dawn faith victor carol rich
sunny summer autumn iris holly ivy daisy lily heather amber ruby pearl jasmine crystal violet
hazel olive ginger sandy rusty drew gene guy jack jay jean jim ken lee max miles nick pat
ray rob sky sue tim tom ted don dean earl glen hunter mason miller baker cook carter
chase clay cliff dale dell ford grant hill lane long park price rock shaw stone wade ward
west white young brown green black gray grey king hall wood bell moss marsh rice
bishop love page penny tony jewel charity patience prudence constance chance cash
""".split())

# Capitalised words that start sentences or name things everyone names; never fuzzy-matched.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which while
who whom why with would you your yours yourself yourselves yes yeah okay ok oh well right sorry
erm um er mm hmm mhm like really actually just thanks thank please because anyway alright
also even still though maybe perhaps sure good great lovely fine nice yep nope aye
monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december christmas easter
nhs gp covid zoom teams whatsapp facebook google interviewer interview participant
mum dad mother father husband wife son daughter brother sister nan gran grandad doctor nurse
""".split())

_QUOTE = "['\u2019]"
_UNSEEN = object()


@dataclass(frozen=True)
class Term:
    text: str
    entry_id: int
    replacement: str
    kind: str
    case_mode: str  # ci or cs (resolved)
    fuzzy: bool


@dataclass(frozen=True)
class NameMatch:
    start: int
    end: int
    term: Term
    how: str  # exact, lowercase or fuzzy
    score: float
    generic: bool = False  # fuzzy, but more likely another person: propose [name]


LOWERCASE_SCORE = 50.0
# First names known to be names in their own right: a fuzzy match on one of them is another
# person, not a misspelling (Lindy is not Linda).
KNOWN_FIRST_NAMES = frozenset(n for group in _NICK_GROUPS for n in group.split()) | NAME_WORDS


def replacement_for(entry: Entry, labels: dict[str, str]) -> str:
    """An entry's replacement: as registered, ``[name of LABEL]`` for a participant, else by kind."""
    if entry.replacement:
        return entry.replacement
    if entry.participant and entry.participant in labels:
        return f"[name of {labels[entry.participant]}]"
    return KIND_REPLACEMENTS.get(entry.kind, "[redacted]")


def name_variants(full_name: str) -> list[tuple[str, str, bool, str]]:
    """Terms a person's name gives: first name, surname, nicknames of the first name."""
    parts = [p for p in re.split(r"\s+", re.sub(r"\(.*?\)", " ", full_name).strip()) if p]
    parts = [p.strip(",.") for p in parts if p.strip(",.")]
    titles = {"dr", "mr", "mrs", "ms", "miss", "prof", "professor", "sir", "dame", "rev"}
    parts = [p for p in parts if p.lower().rstrip(".") not in titles]
    out: list[tuple[str, str, bool, str]] = []
    if len(parts) >= 2:
        out.append((parts[0], "first", True, "auto"))
        out.append((parts[-1], "last", True, "auto"))
    if parts:
        for nick in sorted(NICKNAMES.get(parts[0].lower(), ())):
            out.append((nick.capitalize(), "nickname", False, "auto"))
    return out


def resolve_case(term: str, lower_vocab: set[str] | None = None) -> str:
    """``cs`` for names that are also ordinary English words (``Mark``, ``Grace``), else ``ci``.

    ``lower_vocab`` is accepted for old callers and ignored: that a study writes a word in lower
    case somewhere says nothing about whether it is a name there (``and sarah rang me``), so the
    study's own text never makes a registered name case-sensitive."""
    low = term.lower()
    if " " in low:
        return "ci"
    if low in NAME_WORDS or low in STOPWORDS:
        return "cs"
    return "ci"


CASE_SAMPLE = 10_000  # characters read to tell whether a text is nearly all lower case
_LOWER_WORD = re.compile(r"(?<![\w'\u2019])[a-z]+(?![\w])")


def vocabulary_and_words(texts: Iterable[str]) -> tuple[set[str], list[int]]:
    """Words the texts use in lower case (a name is almost never written that way), unless a text
    is nearly all lower case (some automatic transcripts), which tells nothing; and each text's
    number of words (runs of non-space), which the same pass gives for free.

    The lower-case words are read from each text's distinct whitespace-separated tokens: a
    token's edges are whitespace or the text's ends, where the pattern's look-arounds answer as
    they would in the whole text, so the result is the same, found in a fraction of the time."""
    vocab: set[str] = set()
    counts: list[int] = []
    for text in texts:
        tokens = text.split()
        counts.append(len(tokens))
        sample = text[:CASE_SAMPLE]
        letters = sum(map(str.isalpha, sample)) or 1
        upper = sum(map(str.isupper, sample))
        if upper / letters < 0.005:
            continue
        for token in set(tokens):
            if token.isalpha() and token.islower() and token.isascii():
                vocab.add(token)  # the common case, no pattern needed
            else:
                vocab.update(_LOWER_WORD.findall(token))
    return vocab, counts


def lowercase_vocabulary(texts: Iterable[str]) -> set[str]:
    """The lower-case words of ``texts`` (see ``vocabulary_and_words``)."""
    return vocabulary_and_words(texts)[0]


def _trie_regex(terms: Iterable[str]) -> str:
    """A regex matching any of ``terms`` (lower case, spaces meaning any whitespace), built as a
    trie so that alternatives sharing a prefix share it in the pattern; longest match preferred."""
    trie: dict = {}
    for term in terms:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        end = "" in node
        branches = []
        for ch in sorted(k for k in node if k):
            if ch == " ":
                piece = r"\s+"
            elif ch in "'\u2019":
                piece = _QUOTE
            elif ch in "-\u2010\u2011":
                piece = r"[\-\u2010\u2011]"
            else:
                piece = re.escape(ch)
            branches.append(piece + build(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


_BOUNDARY_BEFORE = r"(?<![\w@])(?<!\w\.)"
_BOUNDARY_AFTER = r"(?![\w@]|\.\w)"


def _compile(terms: Sequence[str], flags: int) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile(_BOUNDARY_BEFORE + "(?:" + _trie_regex(terms) + ")" + _BOUNDARY_AFTER, flags)


def _compile_first_char(forms: Sequence[str]) -> re.Pattern[str] | None:
    """The same as ``_compile(forms, 0)``, written so that the regex engine skips straight to the
    characters a form starts with (capitals, for the case-sensitive forms): the first character is
    consumed first, the boundary before it checked with look-behinds one character wider, and
    each branch names its first character with a look-behind (``M(?<=M)ark`` in effect)."""
    if not forms:
        return None
    if any(f[:1] in " '\u2019-\u2010\u2011" for f in forms):
        return _compile(forms, 0)
    by_first: dict[str, list[str]] = {}
    for f in forms:
        by_first.setdefault(f[0], []).append(f[1:])
    branches = []
    for first, rests in sorted(by_first.items()):
        body = _trie_regex([r for r in rests if r])
        if body and "" in rests:
            body = f"(?:{body})?"
        branches.append(f"(?<={re.escape(first)}){body}")
    chars = "".join(re.escape(c) for c in sorted(by_first))
    return re.compile(f"[{chars}]" + r"(?<![\w@].)(?<!\w\..)" + "(?:" + "|".join(branches) + ")" + _BOUNDARY_AFTER)


def _normal(term: str) -> str:
    term = term.replace("\u2019", "'").replace("\u2010", "-").replace("\u2011", "-")
    return " ".join(term.split()).lower()


# A capitalised word; the capital first, then the look-behinds (one character wider), so that the
# regex engine skips straight from capital to capital (see _compile_first_char).
_CAP_TOKEN = re.compile(r"[A-Z\u00C0-\u00DE](?<![\w'\u2019@\-].)(?<!\w\..)[^\W\d_]{2,}(?![\w@]|['\u2019\-]\w{2})")


class Matcher:
    """Finds register terms in text. Build once, use on many texts."""

    def __init__(self, terms: Sequence[Term], threshold: float | None = DEFAULT_THRESHOLD) -> None:
        self.terms = list(terms)
        self.threshold = threshold
        self._by_key: dict[tuple[str, str], Term] = {}
        # Terms that two entries share with different replacements (two participants called
        # Sarah): a match cannot say whose name it is.
        replacements: dict[str, set[str]] = {}
        for t in self.terms:
            replacements.setdefault(_normal(t.text), set()).add(t.replacement)
        self.ambiguous = {k for k, r in replacements.items() if len(r) > 1}
        ci, cs = [], []
        for t in sorted(self.terms, key=lambda t: (t.entry_id, t.text)):
            key = _normal(t.text)
            if (t.case_mode, key) in self._by_key:
                continue
            self._by_key[(t.case_mode, key)] = t
            (cs if t.case_mode == "cs" else ci).append(key)
        # Any-case terms: matched in the lower-cased text (much faster than re.IGNORECASE), or with
        # re.IGNORECASE in a text where lower-casing changes the length (offsets would move).
        self._ci_terms = ci
        self._ci = _compile(ci, 0)
        self._ci_any_case: re.Pattern[str] | None = None
        # Case-sensitive terms: Capitalised and UPPER forms of each.
        forms = {}
        for key in cs:
            for form in {" ".join(w[:1].upper() + w[1:] for w in key.split(" ")), key.upper()}:
                forms[form] = key
        self._cs_forms = forms
        self._cs = _compile_first_char(sorted(forms))
        # The same names written in lower case: low-confidence matches for a reviewer.
        self._cs_keys = cs
        self._lower = _compile(cs, 0)
        self._fuzzy_terms: dict[str, Term] = {}
        for t in self.terms:
            key = _normal(t.text)
            if t.fuzzy and " " not in key and len(key) >= MIN_FUZZY_LENGTH and key not in NAME_WORDS:
                self._fuzzy_terms.setdefault(key, t)
        self._fuzzy_keys = list(self._fuzzy_terms)
        self._known = {k for (_mode, k) in self._by_key}
        self._closest: dict[str, tuple[str, str, float] | None] = {}  # see _closest_key

    def __bool__(self) -> bool:
        return bool(self.terms)

    def exact(self, text: str, lowered: str | None = None) -> list[NameMatch]:
        """Whole-word matches of the register's terms, longest first where they overlap.
        ``lowered`` is ``text.lower()`` when the caller has it already."""
        found: list[NameMatch] = []
        if self._ci is not None:
            lowered = text.lower() if lowered is None else lowered
            if len(lowered) == len(text):
                pattern, haystack = self._ci, lowered
            else:
                if self._ci_any_case is None:
                    self._ci_any_case = _compile(self._ci_terms, re.IGNORECASE)
                pattern, haystack = self._ci_any_case, text
            for m in pattern.finditer(haystack):
                term = self._by_key[("ci", _normal(m.group(0)))]
                found.append(NameMatch(m.start(), m.end(), term, "exact", 100.0))
        if self._cs is not None:
            for m in self._cs.finditer(text):
                key = self._cs_forms.get(" ".join(m.group(0).replace("\u2019", "'").split()))
                if key is None:
                    continue
                found.append(NameMatch(m.start(), m.end(), self._by_key[("cs", key)], "exact", 100.0))
        return _longest_first(found)

    def lowercase(self, text: str, taken: Sequence[tuple[int, int]] = ()) -> list[NameMatch]:
        """Names that are also ordinary words (``mark``) written in lower case, outside ``taken``:
        low-confidence matches (score ``LOWERCASE_SCORE``) that a reviewer must decide."""
        if self._lower is None:
            return []
        spans = sorted(taken)
        out = []
        for m in self._lower.finditer(text):
            if not _overlaps(spans, m.start(), m.end()):
                out.append(NameMatch(m.start(), m.end(), self._by_key[("cs", _normal(m.group(0)))], "lowercase",
                                     LOWERCASE_SCORE))
        return out

    def fuzzy(self, text: str, taken: Sequence[tuple[int, int]] = (), lower_vocab: set[str] | None = None
              ) -> list[NameMatch]:
        if not self._fuzzy_keys or self.threshold is None:
            return []
        positions: dict[str, list[tuple[int, int]]] = {}
        for m in _CAP_TOKEN.finditer(text):
            positions.setdefault(m.group(0), []).append(m.span())
        spans = sorted(taken)
        out: list[NameMatch] = []
        closest = self._closest
        for token, where in positions.items():
            found = closest.get(token, _UNSEEN)
            if found is _UNSEEN:
                found = closest[token] = self._closest_key(token)
            if found is None:
                continue
            low, key, score = found
            if lower_vocab is not None and low in lower_vocab:
                continue
            term = self._fuzzy_terms[key]
            generic = another_name(low, key)
            for s, e in where:
                if not _overlaps(spans, s, e):
                    out.append(NameMatch(s, e, term, "fuzzy", round(float(score), 1), generic))
        return sorted(out, key=lambda m: m.start)

    def _closest_key(self, token: str) -> tuple[str, str, float] | None:
        """(lower-case token, nearest fuzzy key, score), or None when the token is never a
        misspelt name; remembered per token (``_closest``), since tokens recur text after text."""
        low = token.lower()
        if low in self._known or low in STOPWORDS or low in NAME_WORDS or len(low) < MIN_FUZZY_LENGTH - 1:
            return None
        from rapidfuzz import fuzz, process

        found = process.extractOne(low, self._fuzzy_keys, scorer=fuzz.ratio, score_cutoff=self.threshold)
        # A shorter token must still share the first letter (Srah, Sara, not Tara for Sarah).
        if found is None or low[0] != found[0][0]:
            return None
        return low, found[0], found[1]

    def is_ambiguous(self, match: NameMatch, text: str) -> bool:
        """Does the matched text (or, for a misspelling, the term it is close to) belong to two
        register entries with different replacements?"""
        if not self.ambiguous:
            return False
        return _normal(text[match.start:match.end]) in self.ambiguous or _normal(match.term.text) in self.ambiguous

    def find(self, text: str, lower_vocab: set[str] | None = None) -> list[NameMatch]:
        exact = self.exact(text)
        fuzzy = self.fuzzy(text, [(m.start, m.end) for m in exact], lower_vocab)
        return merge_adjacent(sorted(exact + fuzzy, key=lambda m: m.start), text)


def another_name(token: str, key: str) -> bool:
    """Is the lower-case ``token``, close to the register's ``key``, more likely another person's
    name than a misspelling? Yes when it is a known first name, or when it has as many letters
    as the key but different ones (``amara`` / ``amira``: substituted, not dropped, doubled or
    swapped letters, which is how names are misspelt: ``sara``, ``srah``, ``whitfeild``)."""
    return token in KNOWN_FIRST_NAMES or (len(token) == len(key) and sorted(token) != sorted(key))


def _overlaps(spans: Sequence[tuple[int, int]], s: int, e: int) -> bool:
    from bisect import bisect_left

    i = bisect_left(spans, (s, e))
    return (i > 0 and spans[i - 1][1] > s) or (i < len(spans) and spans[i][0] < e)


def _longest_first(found: list[NameMatch]) -> list[NameMatch]:
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    out: list[NameMatch] = []
    last_end = -1
    for m in found:
        if m.start >= last_end:
            out.append(m)
            last_end = m.end
    return out


def merge_adjacent(matches: list[NameMatch], text: str) -> list[NameMatch]:
    """``Sarah`` + ``Whitfeld`` of one entry, separated by spaces only, become one match."""
    out: list[NameMatch] = []
    for m in matches:
        if out:
            prev = out[-1]
            gap = text[prev.end:m.start]
            if (prev.term.entry_id == m.term.entry_id and gap and gap.isspace() and "\n" not in gap
                    and len(gap) <= 2):
                how = "exact" if prev.how == m.how == "exact" else "fuzzy"
                out[-1] = NameMatch(prev.start, m.end, prev.term, how, min(prev.score, m.score),
                                    prev.generic and m.generic)
                continue
        out.append(m)
    return out


def terms_from_entries(entries: Sequence[Entry], labels: dict[str, str],
                       lower_vocab: set[str] | None = None,
                       resolved: dict[int, str] | None = None) -> tuple[list[Term], dict[int, str]]:
    """Register entries -> matcher terms; returns the terms and how 'auto' case modes resolved.

    'auto' resolves by the term alone (``resolve_case``); ``lower_vocab`` and ``resolved`` (the
    modes an older scan stored in the key, which could make a name case-sensitive because the
    study wrote it in lower case somewhere) are accepted and ignored."""
    terms: list[Term] = []
    modes: dict[int, str] = {}
    for entry in entries:
        replacement = replacement_for(entry, labels)
        for v in entry.variants:
            if v.case_mode in ("ci", "cs"):
                mode = v.case_mode
            else:
                mode = resolve_case(v.term)
            modes[v.id] = mode
            terms.append(Term(v.term, entry.id, replacement, entry.kind, mode, v.fuzzy))
    return terms, modes


def import_csv(key, path, participants: dict[str, str]) -> dict[str, int]:
    """Add register entries from CSV: ``name`` and ``replacement`` columns, optional ``kind``
    (person, place, organisation, hospital ...), ``variants`` (separated by ``;`` or ``|``) and
    ``participant`` (a label: the entry then belongs to that participant). ``participants`` maps
    labels (lower case) to guids."""
    from pathlib import Path

    from qualcode.csvfile import read_rows
    from qualcode.errors import InvalidInput

    path = Path(path)
    rows = read_rows(path, lower_headers=True)
    if not rows:
        raise InvalidInput(f"{path}: no register rows under the header")
    if "name" not in rows[0]:
        raise InvalidInput(f"{path}: needs a 'name' column (and usually 'replacement')")
    added = variants = 0
    with key.transaction():
        for n, row in enumerate(rows, start=2):
            name = (row.get("name") or "").strip()
            if not name:
                raise InvalidInput(f"{path} row {n}: empty name")
            kind = (row.get("kind") or "person").strip().lower() or "person"
            label = (row.get("participant") or "").strip()
            guid = None
            if label:
                guid = participants.get(label.lower())
                if guid is None:
                    raise InvalidInput(f"{path} row {n}: unknown participant {label!r}")
            replacement = (row.get("replacement") or "").strip() or None
            extra = [v.strip() for v in re.split(r"[;|]", row.get("variants") or "") if v.strip()]
            specs = [(v, "csv", True, "auto") for v in extra]
            if kind in ("person", "name"):
                specs = name_variants(name) + specs
            before = key.register_version()
            key.add_entry(name, replacement, kind, "csv", participant=guid, variants=specs)
            if key.register_version() != before:
                added += 1
            variants += len(specs)
    return {"rows": len(rows), "changed": added}
