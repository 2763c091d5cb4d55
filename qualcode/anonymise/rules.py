r"""Pattern rules for direct identifiers other than names (UK Data Service / HIPAA checklists).

Each rule yields ``Hit(start, end, rule, kind, replacement)``. Patterns are bounded (no nested
quantifiers) so hostile input cannot make them backtrack for long, and validators weed out what a
pattern alone cannot (NHS numbers need their mod-11 check digit; a phone number needs the right
number of digits; a date needs a real day and month).

Speed (a million words in a fraction of a second): e-mails, URLs and ages are searched only near
an anchor every hit contains (``@``, ``http``, ``ninety`` ...). The other patterns run over the
whole text, and Python's regex engine skips quickly to the characters a pattern can *start* with
only when the pattern begins with a literal or a character set; one that begins with a
look-behind (``(?<![\w+])\d{3}...``) is tried at every position. So these patterns consume their
first character first and check the character before it afterwards with a look-behind one
character wider (``\d(?<![\w+]\d)\d{2}...``); where alternatives start differently, the first
character is a set and each alternative names its own first character with a look-behind
(``(?<=J)anuary``). The plain form of each of these patterns, which reads more easily, is kept in
``tests/test_anonymise_units.py``, which checks that both find exactly the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
_MONTH_SHORT = ("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept?", "Oct", "Nov", "Dec")


def _after_first(words: tuple[str, ...]) -> list[str]:
    """``March`` -> ``(?<=M)arch``: the word's first character is already consumed."""
    return [f"(?<={w[0]}){w[1:]}" for w in words]


_MONTH = rf"(?:{'|'.join(_MONTH_NAMES)}|(?:{'|'.join(_MONTH_SHORT)})(?:\.(?=\s\d))?)"
_MONTH_REST = rf"(?:{'|'.join(_after_first(_MONTH_NAMES))}|(?:{'|'.join(_after_first(_MONTH_SHORT))})(?:\.(?=\s\d))?)"
_MONTH_FIRST = "".join(sorted({w[0] for w in _MONTH_NAMES}))
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DAY_REST = r"(?:(?<=[12])\d|(?<=3)[01]|(?<=0)[1-9]|(?<=[1-9]))(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_YEAR_REST = r"(?:(?<=1)9|(?<=2)0)\d\d"

REPLACEMENTS = {
    "phone": "[phone]", "email": "[email]", "nhs": "[NHS number]", "postcode": "[postcode]",
    "date": "[date]", "url": "[URL]", "age": "[age 90 or over]",
}


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    rule: str
    kind: str
    replacement: str


def nhs_valid(digits: str) -> bool:
    """The NHS number mod-11 check: weights 10..2 on nine digits; 11 -> 0; 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _phone_ok(m: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", m.group(0))
    if digits.startswith("44"):
        digits = "0" + digits[2:].lstrip("0")
    return digits.startswith("0") and len(digits) in (10, 11) and digits[1] in "12357889"


def _date_ok(m: re.Match[str]) -> bool:
    text = m.group(0)
    nums = re.findall(r"\d+", text)
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        y, mo, d = map(int, nums)
    elif re.fullmatch(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}", text):
        d, mo, y = map(int, nums)
        if mo > 12 and d <= 12:  # US order, month first
            d, mo = mo, d
    else:
        return True  # textual dates: the pattern already names a month
    return 1 <= mo <= 12 and 1 <= d <= 31


# UK postcode areas: a lower-case postcode must start with one of them (upper case ones need not:
# made-up areas in synthetic studies, such as NM, should still be caught).
POSTCODE_AREAS = frozenset("""
AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH
EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M
ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST
SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
""".split())
_POSTCODE_WORD = re.compile(r"(?i)post\s*code\W{0,12}$")


def _lower_postcode_ok(m: re.Match[str]) -> bool:
    text = m.group(0)
    if text == text.upper():
        return False  # the upper-case rule finds it
    area = re.match(r"[A-Za-z]+", text).group(0).upper()
    return area in POSTCODE_AREAS or bool(_POSTCODE_WORD.search(m.string[max(0, m.start() - 30):m.start()]))


_AGE_WORD = r"(?:ninety(?:[\s\-](?:one|two|three|four|five|six|seven|eight|nine))?|a\s+hundred(?:\s+and\s+\w+)?|one\s+hundred(?:\s+and\s+\w+)?)"
_AGE_NUM = r"(?:9\d|1[01]\d)"


@dataclass(frozen=True)
class Anchor:
    """Something every hit of a rule contains, cheap to find: search only near it.

    ``words`` are found in any case with ``str.find`` on the lower-cased text, which stays fast
    where a pattern's first letter is common (``h`` of ``http``); ``pattern`` finds the rest."""

    pattern: re.Pattern[str] | None = None
    words: tuple[str, ...] = ()

    def spans(self, text: str) -> list[tuple[int, int]]:
        out = [m.span() for m in self.pattern.finditer(text)] if self.pattern is not None else []
        if self.words:
            lowered = text.lower()
            if len(lowered) != len(text):  # a letter whose lower case is longer: use a pattern
                words = re.compile("|".join(map(re.escape, self.words)), re.IGNORECASE)
                out += [m.span() for m in words.finditer(text)]
            else:
                for word in self.words:
                    pos = lowered.find(word)
                    while pos != -1:
                        out.append((pos, pos + len(word)))
                        pos = lowered.find(word, pos + 1)
            out.sort()
        return out


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[re.Match[str]], bool] | None = None
    group: int = 0
    anchor: Anchor | None = None  # every hit contains it: search only near it
    reach: int = 320

    def _windows(self, text: str) -> Iterator[tuple[int, int]]:
        if self.anchor is None:
            yield 0, len(text)
            return
        lo = hi = -1
        for a_start, a_end in self.anchor.spans(text):
            s, e = max(0, a_start - self.reach), min(len(text), a_end + self.reach)
            if s <= hi:
                hi = max(hi, e)
                continue
            if hi >= 0:
                yield lo, hi
            lo, hi = s, e
        if hi >= 0:
            yield lo, hi

    def hits(self, text: str) -> Iterator[Hit]:
        last_end = -1
        for lo, hi in self._windows(text):
            for h in self._hits(text, lo, hi):
                if hi < len(text) and h.end >= hi:
                    continue  # cut by the window's end: never a whole match
                if h.start >= last_end:
                    last_end = h.end
                    yield h

    def _hits(self, text: str, lo: int, hi: int) -> Iterator[Hit]:
        for m in self.pattern.finditer(text, lo, hi):
            if self.valid is not None and not self.valid(m):
                continue
            s, e = m.span(self.group)
            yield Hit(s, e, self.name, self.kind, REPLACEMENTS[self.kind])


RULES: tuple[Rule, ...] = (
    Rule("email", "email", re.compile(
        r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){1,5}[A-Za-z]{2,24}(?![\w-])"),
         anchor=Anchor(re.compile("@"))),
    Rule("url", "url", re.compile(
        r"(?<![\w@])(?:https?://|www\.)[^\s<>\"'()\[\]]{1,300}(?<![.,;:!?])", re.IGNORECASE),
         anchor=Anchor(words=("http", "www.")), reach=310),
    Rule("nhs-number", "nhs", re.compile(r"\d(?<![\w+]\d)\d{2}[ \-]?\d{3}[ \-]?\d{4}(?![\w])"),
         lambda m: nhs_valid(re.sub(r"\D", "", m.group(0)))),
    Rule("uk-phone", "phone", re.compile(
        r"(?:\+(?<![\w+].)44[ \-]?(?:\(0\)[ \-]?)?|\((?<![\w+].)0|0(?<![\w+].))\d{2,4}\)?(?:[ \-]?\d){6,8}(?![\w])"),
         _phone_ok),
    Rule("uk-postcode", "postcode", re.compile(
        r"[A-PR-UWYZ](?<![\w].)(?:(?<=G)IR ?0AA|[A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w])")),
    # Postcodes written in lower or mixed case ("b33 8th"): anchored on the inward code's digit
    # and letters; only a real UK postcode area, or the word "postcode" just before, counts.
    Rule("uk-postcode", "postcode", re.compile(
        r"(?i)(?<![\w])(?:[a-pr-uwyz][a-hk-y]?\d[a-z\d]? ?\d[abd-hjlnp-uw-z]{2})(?![\w])"),
         lambda m: _lower_postcode_ok(m), anchor=Anchor(re.compile(r"\d[A-Za-z]{2}(?![A-Za-z])")), reach=12),
    Rule("date", "date", re.compile(
        rf"[\d{_MONTH_FIRST}](?<![\w/.\-].)(?:"
        rf"(?:{_YEAR_REST}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))"
        r"|(?:(?<=\d)\d?[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2}))"
        rf"|(?:{_DAY_REST}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?)"
        rf"|(?:{_MONTH_REST}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?)"
        rf"|(?:{_MONTH_REST},?\s+{_YEAR})"
        r")(?![\w/])"), _date_ok),
    Rule("age-over-89", "age", re.compile(rf"(?i)\b(?:{_AGE_NUM}|{_AGE_WORD})\b"), None,
         anchor=Anchor(re.compile(r"9\d|1[01]\d"), ("ninety", "hundred")), reach=40),
)

# Who is (was, turned) a number: a person — a pronoun or a relative ("my mum is 93", "He was 90").
_AGE_PERSON = (r"(?:I|he|she|mum|mom|mam|mother|dad|father|nan|nana|gran|granny|grandma|grandmother|grandad|"
               r"granddad|grandpa|grandfather|husband|wife|partner|aunt|auntie|aunty|uncle|brother|sister|son|"
               r"daughter|friend|neighbour|neighbor|patient|lady|gentleman|man|woman)")
_AGE_BEFORE = re.compile(
    r"(?i)(?:\b(?:aged?|I'm|I\s+am|she's|he's|she\s+is|he\s+is|turned|turning|turns)"
    rf"|\b{_AGE_PERSON}(?:['\u2019]s|\s+(?:is|was|turned|turns|turning|will\s+be|would\s+be|must\s+be)))"
    r"(?:\s+(?:now|nearly|almost|about|over|just|only|still|already|coming\s+up\s+to))?\s+$")
_AGE_AFTER = re.compile(r"(?i)[\s\-]+years?[\s\-]+old\b")
# "He was 90 minutes late", "she's 95 percent sure": a number of something, not an age.
_NOT_AGE_AFTER = re.compile(
    r"(?i)\s*(?:%|[\s\-]*(?:minutes?|mins?|seconds?|secs?|hours?|hrs?|days?|weeks?|months?|years?(?![\s\-]+old)|"
    r"percent|per\s*cent|pounds?|quid|pence|p\b|mg|kg|kilos?|g\b|lbs?|stone|miles?|mph|km|metres?|meters?|feet|"
    r"foot|yards?|degrees?|times|pages?|people|points?|mm|cm|ml|calls?|steps?|quid|on\b|off\b|bus|[x×])\b)")


def _age_context(text: str, start: int, end: int) -> bool:
    """An age only when the words around it say so: "aged 92", "she's 93", "my mum is 93",
    "He was 90", "95 years old" — never a number of minutes, percent, pounds ..."""
    if _AGE_AFTER.match(text, end):
        return True
    if _NOT_AGE_AFTER.match(text, end):
        return False
    return bool(_AGE_BEFORE.search(text[max(0, start - 40):start]))


# Month names that are also ordinary words need a day or year next to them; the date pattern
# already requires one, so a bare "May" or "March" is never flagged.


def scan_rules(text: str, rules: tuple[Rule, ...] = RULES) -> list[Hit]:
    """Every rule hit in ``text``; where hits overlap the earlier rule in ``RULES`` (then the
    longer hit) wins, so an e-mail address is not also a URL and an NHS number not a phone."""
    hits: list[tuple[int, Hit]] = []
    for rank, rule in enumerate(rules):
        for h in rule.hits(text):
            if rule.kind == "age" and not _age_context(text, h.start, h.end):
                continue
            hits.append((rank, h))
    hits.sort(key=lambda p: (p[0], -(p[1].end - p[1].start), p[1].start))
    kept: list[Hit] = []
    taken: list[tuple[int, int]] = []
    for _rank, h in hits:
        if any(s < h.end and h.start < e for s, e in taken):
            continue
        taken.append((h.start, h.end))
        kept.append(h)
    return sorted(kept, key=lambda h: h.start)
