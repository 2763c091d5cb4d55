"""Anonymisation building blocks: offset remapping (with hypothesis), rules, the name matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.anonymise import register, rules
from qualcode.anonymise.register import (
    Matcher,
    Term,
    lowercase_vocabulary,
    name_variants,
    resolve_case,
)
from qualcode.anonymise.remap import Edit, EditMap, apply_edits, resolve_overlaps
from qualcode.anonymise.rules import nhs_valid, scan_rules


# -- remapping -------------------------------------------------------------------------------
def test_edit_map_basics():
    text = "Hello Sarah, meet Peter."
    edits = [Edit(6, 11, "[name of P1]"), Edit(18, 23, "[name]")]
    new = apply_edits(text, edits)
    assert new == "Hello [name of P1], meet [name]."
    m = EditMap(edits)
    assert new[slice(*m.span(0, 5))] == "Hello"
    assert new[slice(*m.span(6, 11))] == "[name of P1]"
    assert new[slice(*m.span(0, 24))] == new
    assert new[slice(*m.span(8, 20))] == "[name of P1], meet [name]"  # partial overlaps widen
    assert new[slice(*m.span(11, 18))] == ", meet "  # touching, not covering
    assert m.span(3, 3) == (3, 3)


def test_resolve_overlaps_prefers_priority_then_length():
    pairs = [(2, Edit(0, 5, "a")), (1, Edit(3, 8, "b")), (1, Edit(10, 12, "c")), (1, Edit(9, 14, "d"))]
    kept, dropped = resolve_overlaps(pairs)
    assert kept == [Edit(3, 8, "b"), Edit(9, 14, "d")] and dropped == [0, 2]


@st.composite
def text_and_edits(draw):
    text = draw(st.text(alphabet=st.sampled_from("ab \n’é😀"), min_size=0, max_size=80))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12, unique=True)))
    edits = []
    for s, e in zip(cuts[::2], cuts[1::2]):
        if s < e:
            edits.append(Edit(s, e, draw(st.text(alphabet="[]xyz P1", min_size=1, max_size=15))))
    return text, edits


@settings(max_examples=300, deadline=None)
@given(text_and_edits(), st.data())
def test_remapped_spans_slice_the_replaced_text(te, data):
    text, edits = te
    new = apply_edits(text, edits)
    m = EditMap(edits)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    ns, ne = m.span(start, end)
    assert 0 <= ns <= ne <= len(new)
    ws, we = m.widen(start, end)
    inside = [Edit(e.start - ws, e.end - ws, e.replacement) for e in m.inside(ws, we)]
    if start < end:
        assert new[ns:ne] == apply_edits(text[ws:we], inside)
    # text outside every edit keeps its characters at the mapped place
    for pos in range(len(text)):
        if not any(e.start <= pos < e.end for e in edits):
            assert new[m.start(pos)] == text[pos]


# -- rules -----------------------------------------------------------------------------------
def found(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h in scan_rules(text):
        out.setdefault(h.kind, []).append(text[h.start:h.end])
    return out


def test_nhs_checksum():
    assert nhs_valid("9434765919")
    assert not nhs_valid("9434765918") and not nhs_valid("1111111111")
    assert found("NHS no. 943 476 5919, not 943 476 5918")["nhs"] == ["943 476 5919"]


_FIND_CASES = [
    ("ring 07700 900123 today", "phone", "07700 900123"),
    ("on +44 7700 900123.", "phone", "+44 7700 900123"),
    ("(01632) 960412", "phone", "(01632) 960412"),
    ("it's 01632 960 481, I know", "phone", "01632 960 481"),
    ("mail linda.b@example.org.", "email", "linda.b@example.org"),
    ("go to https://otter.ai.", "url", "https://otter.ai"),
    ("see www.example.org/page?x=1 now", "url", "www.example.org/page?x=1"),
    ("postcode NM4 7QT for the satnav", "postcode", "NM4 7QT"),
    ("SW1A 1AA", "postcode", "SW1A 1AA"),
    ("on 12/03/2024 we", "date", "12/03/2024"),
    ("2024-03-12", "date", "2024-03-12"),
    ("The 3rd of February 2021, I", "date", "3rd of February 2021"),
    ("on the 14th March 2023", "date", "14th March 2023"),
    ("March 3rd, 2020", "date", "March 3rd, 2020"),
    ("in February 2021 it", "date", "February 2021"),
    ("she's 93 now", "age", "93"),
    ("aged ninety-two", "age", "ninety-two"),
    ("a 101 year old man", "age", "101"),
    ("my mum is 93 now", "age", "93"),
    ("He was 90.", "age", "90"),
    ("my gran's 96", "age", "96"),
    ("she is nearly 91", "age", "91"),
    ("postcode b33 8th.", "postcode", "b33 8th"),
    ("we're in ls6 2ab now", "postcode", "ls6 2ab"),
]
_LEAVE_CASES = [
    "I think it was 2014, or 2017", "in May I may go", "I'm 45 and he's 89", "at 11:28 and 10.30",
    "ring 12345", "we met on the 31/13/2024", "March on, march", "number 14 bus", "a 6 week wait",
    "He was 90 minutes late", "she's 95 percent sure", "the score was 92", "it was 90 years ago",
    "he was 91 kg", "qx9 9zz is made up",
]


@pytest.mark.parametrize("text,kind,expected", _FIND_CASES)
def test_rules_find(text, kind, expected):
    assert expected in found(text).get(kind, []), found(text)


@pytest.mark.parametrize("text", _LEAVE_CASES)
def test_rules_leave_alone(text):
    assert found(text) == {}, found(text)


# The plain forms of the whole-text rule patterns (rules.py writes them first-character-first
# for speed): both must find exactly the same spans.
_PLAIN = {
    "nhs-number": r"(?<![\w+])\d{3}[ \-]?\d{3}[ \-]?\d{4}(?![\w])",
    "uk-phone": r"(?<![\w+])(?:\+44[ \-]?(?:\(0\)[ \-]?)?|\(?0)\d{2,4}\)?(?:[ \-]?\d){6,8}(?![\w])",
    "uk-postcode": r"(?<![\w])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w])",
    "date": (r"(?<![\w/.\-])(?:"
             rf"(?:{rules._YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))"
             r"|(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2}))"
             rf"|(?:{rules._DAY}(?:\s+of)?\s+{rules._MONTH}(?:,?\s+{rules._YEAR})?)"
             rf"|(?:{rules._MONTH}\s+(?:the\s+)?{rules._DAY}(?:,?\s+{rules._YEAR})?)"
             rf"|(?:{rules._MONTH},?\s+{rules._YEAR})"
             r")(?![\w/])"),
}
# Small pools, so that day-separator-month and the like come up often.
_RULE_POOLS = [
    ["3", "31", "30", "03", "12", "1st", "21st", "0", "9", "19"],
    ["May", "Jan", "Jan.", "March", "Sept", "Sep", "December", "may"],
    ["2024", "1999", "24", "20", "1899"],
    ["07700", "900123", "01632", "960", "412", "4567", "943", "476", "5919", "+44", "(0)", "(", ")", "44"],
    ["NM4", "7QT", "SW1A", "1AA", "GIR", "0AA", "W1", "QT"],
]
_RULE_SEPARATORS = [" ", "  ", "\n", "/", "-", ".", ",", ", ", " of ", " the ", "", "x", "_", "+", "’", "é"]


@st.composite
def rule_texts(draw):
    """token (separator token)* with tokens from the pools above."""
    token = st.one_of(*(st.sampled_from(pool) for pool in _RULE_POOLS))
    parts = [draw(st.sampled_from(["", " ", "x", "/", ".", "a."]))]
    for _ in range(draw(st.integers(1, 12))):
        parts += [draw(token), draw(st.sampled_from(_RULE_SEPARATORS))]
    return "".join(parts)


@settings(max_examples=500, deadline=None)
@given(rule_texts())
def test_fast_rule_patterns_find_what_the_plain_ones_find(text):
    import re

    for rule in rules.RULES:
        if rule.name in _PLAIN and rule.anchor is None:  # (the anchored lower-case postcodes aside)
            plain = [m.span() for m in re.finditer(_PLAIN[rule.name], text)]
            assert [m.span() for m in rule.pattern.finditer(text)] == plain, (rule.name, text)


def test_fast_rule_patterns_on_the_examples():
    import re

    more = ["NHS no. 943 476 5919", "+943 476 5919", "31 May 2024", "30th of Sept. 3", "GIR 0AA", "+44 (0) 1632 960412", "x01632 960412"]
    text = " ".join([t for t, *_ in _FIND_CASES] + _LEAVE_CASES + more)
    for rule in rules.RULES:
        if rule.name in _PLAIN and rule.anchor is None:
            plain = [m.span() for m in re.finditer(_PLAIN[rule.name], text)]
            assert plain and [m.span() for m in rule.pattern.finditer(text)] == plain, rule.name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["http", "HTTP", "www.", "WWW.", "://", "x.org", "ninety", "NINETY", "Ninety-two",
                                 "hundred", "aged", "she's", "93", "101", "1", "9", " ", "a", "@", "x", "İ",
                                 " years old"]), max_size=25))
def test_anchored_rules_find_what_a_whole_text_search_finds(pieces):
    """Searching near the anchors (found with str.find in the lower-cased text) misses nothing."""
    text = "".join(pieces)
    for rule in rules.RULES:
        if rule.anchor is not None:
            whole = [(m.span(rule.group)) for m in rule.pattern.finditer(text) if rule.valid is None or rule.valid(m)]
            assert [(h.start, h.end) for h in rule.hits(text)] == whole, (rule.name, text)


# -- matcher ---------------------------------------------------------------------------------
def make(*terms: tuple[str, str]) -> Matcher:
    return Matcher([Term(t, i, r, "person", resolve_case(t, None), True) for i, (t, r) in enumerate(terms)])


def test_matcher_case_possessive_whole_words_and_fuzzy():
    m = make(("Sarah Whitfield", "[name of P1]"), ("Sarah", "[name of P1]"), ("Whitfield", "[name of P1]"))
    text = "SARAH said Sarah's mum, sarah, Sara and Srah met Sarah  Whitfield; Sarahville and saraband no."
    got = [(text[x.start:x.end], x.how) for x in m.find(text)]
    assert got == [("SARAH", "exact"), ("Sarah", "exact"), ("sarah", "exact"), ("Sara", "fuzzy"),
                   ("Srah", "fuzzy"), ("Sarah  Whitfield", "exact")]


def test_names_that_are_words_need_a_capital():
    m = make(("Mark", "[name of S2]"), ("Grace", "[name]"))
    text = "Mark said to mark it up; GRACE and Grace, with grace."
    assert [text[x.start:x.end] for x in m.find(text)] == ["Mark", "GRACE", "Grace"]


def test_study_vocabulary_never_makes_a_name_case_sensitive():
    # A study writing a name in lower case somewhere ("and sarah rang me") does not make the
    # name case-sensitive: it is matched in any case. Only names that are ordinary English words
    # (Rose, Mark) are Capitalised-only, and their lower-case forms are still found for review.
    vocab = lowercase_vocabulary(["the hope was to rose early. Then Rose came, and sarah rang me."])
    assert "sarah" in vocab
    assert resolve_case("Sarah", vocab) == "ci" and resolve_case("Hannah", vocab) == "ci"
    assert resolve_case("Rose", vocab) == "cs"
    m = make(("Sarah", "[name of P1]"), ("Rose", "[name of P2]"))
    text = "and sarah rang me; Rose rose early"
    assert [text[x.start:x.end] for x in m.find(text)] == ["sarah", "Rose"]
    lower = m.lowercase(text, [(x.start, x.end) for x in m.find(text)])
    assert [(text[x.start:x.end], x.how, x.score) for x in lower] == [("rose", "lowercase", register.LOWERCASE_SCORE)]


def test_terms_ignore_case_modes_an_old_scan_stored():
    from qualcode.anonymise.keyfile import Entry, Variant

    entry = Entry(1, "Sarah Whitfield", None, "person", "g1", "participant",
                  (Variant(10, 1, "Sarah", "first", True, "auto"), Variant(11, 1, "Mark", "nickname", True, "auto")))
    terms, modes = register.terms_from_entries([entry], {"g1": "P1"}, {"sarah"}, {10: "cs", 11: "ci"})
    assert modes == {10: "ci", 11: "cs"} and {t.text: t.replacement for t in terms}["Sarah"] == "[name of P1]"


def test_a_fuzzy_match_on_another_name_is_generic():
    m = make(("Amira", "[interviewer]"), ("Sarah", "[name of P1]"), ("Gareth", "[name of P4]"))
    text = "Amara is six. Sara came, Srah too. Garath waved."
    got = {text[x.start:x.end]: x.generic for x in m.find(text)}
    # substituted letters: more likely someone else (still found, proposed as [name])
    assert got == {"Amara": True, "Sara": False, "Srah": False, "Garath": True}
    assert register.another_name("lindy", "linda")  # a known first name in its own right


def test_speaker_labels_that_name_people():
    from qualcode.anonymise.scan import person_label

    for label in ("Amira Haddad", "Amira", "Amira Haddad (Northmoor Uni)", "Dr Okafor", "Mark Ellison"):
        assert person_label(label), label
    for label in ("I", "Interviewer", "Interviewer 2", "Unknown Speaker", "Speaker 1", "P9", "R", "Respondent",
                  "Both", "dr"):
        assert not person_label(label), label


def test_fuzzy_leaves_common_and_short_words():
    m = make(("Linda", "[name]"), ("Nadia", "[name]"))
    text = "Lindy? Lands. Media, Nadja, India"
    got = {text[x.start:x.end] for x in m.find(text)}
    assert "Nadja" in got and "Media" not in got and "India" not in got and "Lands" not in got


def test_name_variants():
    terms = {t for t, *_ in name_variants("Dr Stephen Kaminski")}
    assert {"Stephen", "Kaminski", "Steve", "Steven"} <= terms
    assert {t for t, *_ in name_variants("Linda")} == {"Lindy"}


def test_matching_a_million_words_is_fast_enough_to_run():
    # No wall-clock assertion (benchmarks measure that): it must simply cope with a large text.
    m = make(("Sarah", "[name]"), ("Whitfield", "[name]"))
    text = ("and then Sarah went to the shop with Peter and Srah said hello. " * 10_000)
    assert len(m.find(text)) == 20_000


# The matcher's fast paths (lower-cased text, capitals first) against the plain patterns.
_NAME_PIECES = ["Sarah", "SARAH", "sarah", "Sarah's", "Mark", "MARK", "mark", "Grace", "grace", "O'Neil", "O’Neil",
                "Ann-Marie", "Whitfield", "Sarah Whitfield", "Sarah  Whitfield", "St Aldhelm's", "İ", "ß", "x",
                " ", "  ", "\n", ".", "@", "-", "'", "’", "e.", "Sarahs", "K"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_NAME_PIECES), max_size=25))
def test_fast_exact_matching_finds_what_the_plain_patterns_find(pieces):
    import re

    terms = ["Sarah Whitfield", "Sarah", "Whitfield", "Mark", "Grace", "O'Neil", "Ann-Marie", "St Aldhelm's", "Kelvin"]
    m = make(*[(t, "[x]") for t in terms])
    text = "".join(pieces)
    want = []
    ci = register._compile(m._ci_terms, re.IGNORECASE)
    want += [(x.start(), x.end()) for x in ci.finditer(text)] if ci else []
    cs = register._compile(sorted(m._cs_forms), 0)
    want += [(x.start(), x.end()) for x in cs.finditer(text)
             if " ".join(x.group(0).replace("\u2019", "'").split()) in m._cs_forms]
    got = [(x.start, x.end) for x in m.exact(text)]
    # exact() keeps the longest of overlapping matches
    want.sort(key=lambda se: (se[0], -(se[1] - se[0])))
    kept, last = [], -1
    for s_, e_ in want:
        if s_ >= last:
            kept.append((s_, e_))
            last = e_
    assert got == kept, text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["The", "the", "rose", "Rose", "don't", "it's", "x1", "abc1", "ABC", "naïve", "Élan",
                                 "well-known", "a.b", "’s", "_x", " ", "\n", "\t", "\u2028", ",", "İ"]), max_size=40))
def test_vocabulary_from_tokens_equals_the_whole_text_search(pieces):
    import re

    text = "".join(pieces)
    vocab, counts = register.vocabulary_and_words([text])
    assert counts == [len(text.split())]
    sample = text[:register.CASE_SAMPLE]
    if sum(map(str.isupper, sample)) / (sum(map(str.isalpha, sample)) or 1) >= 0.005:
        assert vocab == set(re.findall(r"(?<![\w'\u2019])[a-z]+(?![\w])", text))
    else:
        assert vocab == set()


def test_unmapped_speakers_are_registered_then_follow_their_role(tmp_path):
    from tests.conftest import add_interview

    from qualcode.anonymise.scan import open_key, scan, unmapped_person_labels
    from qualcode.study import Study

    s = Study.create(tmp_path / "s.qc", coder="Ben")
    s.participants.add("P1", group="patient")
    add_interview(s, "P1_interview", "Ruth Adeyemi: Hello.\n\nP1: Hi Ruth.\n\nRuth: Bye.\n")
    s.speakers.map("P1", "P1")
    assert unmapped_person_labels(s.db) == ["Ruth", "Ruth Adeyemi"]
    with open_key(s, tmp_path / "k.key", create=True) as key:
        result = scan(s, key, use_ner=False)
        assert any("2 speaker label(s)" in n for n in result.notes)
        (entry,) = [e for e in key.entries() if e.source == "speaker"]
        assert entry.name == "Ruth Adeyemi" and entry.replacement == "[name]"
        assert {v.term for v in entry.variants} >= {"Ruth", "Adeyemi"}
        assert [c.original for c in key.candidates() if c.rule == "register"] == ["Ruth Adeyemi", "Ruth", "Ruth"]
        s.speakers.map("Ruth Adeyemi", "interviewer")
        s.speakers.map("Ruth", "interviewer")
        scan(s, key, use_ner=False)
        assert key.entry(entry.id).replacement == "[interviewer]"
        # The labels become Interviewer at apply: their candidates are stale now, the name in speech is not.
        assert [(c.original, c.stale) for c in key.candidates(status="open")] == [
            ("Ruth Adeyemi", True), ("Ruth", False), ("Ruth", True)]
    s.close()


def test_a_first_name_two_participants_share_is_nobody_in_particular(tmp_path):
    from tests.conftest import add_interview

    from qualcode.anonymise.scan import open_key, scan
    from qualcode.study import Study

    s = Study.create(tmp_path / "s.qc", coder="Ben")
    s.participants.add("P1", group="patient", name="Sarah Whitfield")
    s.participants.add("P2", group="patient", name="Sarah Quinn")
    add_interview(s, "P1_interview", "Interviewer: Who?\n\nP1: Sarah Quinn, and Sarah, and Srah, and Whitfield.\n")
    with open_key(s, tmp_path / "k.key", create=True) as key:
        scan(s, key, use_ner=False)
        got = [(c.original, c.replacement) for c in key.candidates()]
    assert got == [("Sarah Quinn", "[name of P2]"), ("Sarah", "[name]"), ("Srah", "[name]"),
                   ("Whitfield", "[name of P1]")]
    s.close()
