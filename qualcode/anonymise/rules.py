"""Pattern rules for direct identifiers other than names (UK Data Service / HIPAA checklists).

Each rule yields ``Hit(start, end, rule, kind, replacement)``. Patterns are bounded (no nested
quantifiers) so hostile input cannot make them backtrack for long, and validators weed out what a
pattern alone cannot (NHS numbers need their mod-11 check digit; a phone number needs the right
number of digits; a date needs a real day and month).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
          r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)(?:\.(?=\s\d))?)")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"

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


_AGE_WORD = r"(?:ninety(?:[\s\-](?:one|two|three|four|five|six|seven|eight|nine))?|a\s+hundred(?:\s+and\s+\w+)?|one\s+hundred(?:\s+and\s+\w+)?)"
_AGE_NUM = r"(?:9\d|1[01]\d)"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    pattern: re.Pattern[str]
    valid: Callable[[re.Match[str]], bool] | None = None
    group: int = 0
    anchor: re.Pattern[str] | None = None  # a cheap pattern every hit contains: search only near it
    reach: int = 320

    def _windows(self, text: str) -> Iterator[tuple[int, int]]:
        if self.anchor is None:
            yield 0, len(text)
            return
        lo = hi = -1
        for m in self.anchor.finditer(text):
            s, e = max(0, m.start() - self.reach), min(len(text), m.end() + self.reach)
            if s <= hi:
                hi = e
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
         anchor=re.compile("@")),
    Rule("url", "url", re.compile(
        r"(?<![\w@])(?:https?://|www\.)[^\s<>\"'()\[\]]{1,300}(?<![.,;:!?])", re.IGNORECASE),
         anchor=re.compile(r"[Hh][Tt][Tt][Pp]|[Ww][Ww][Ww]\."), reach=310),
    Rule("nhs-number", "nhs", re.compile(r"(?<![\w+])\d{3}[ \-]?\d{3}[ \-]?\d{4}(?![\w])"),
         lambda m: nhs_valid(re.sub(r"\D", "", m.group(0)))),
    Rule("uk-phone", "phone", re.compile(
        r"(?<![\w+])(?:\+44[ \-]?(?:\(0\)[ \-]?)?|\(?0)\d{2,4}\)?(?:[ \-]?\d){6,8}(?![\w])"),
         _phone_ok),
    Rule("uk-postcode", "postcode", re.compile(
        r"(?<![\w])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w])")),
    Rule("date", "date", re.compile(
        r"(?<![\w/.\-])(?:"
        rf"(?:{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))"
        r"|(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2}))"
        rf"|(?:{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?)"
        rf"|(?:{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?)"
        rf"|(?:{_MONTH},?\s+{_YEAR})"
        r")(?![\w/])"), _date_ok),
    Rule("age-over-89", "age", re.compile(rf"(?i)\b(?:{_AGE_NUM}|{_AGE_WORD})\b"), None,
         anchor=re.compile(r"9\d|1[01]\d|[Nn][Ii][Nn][Ee][Tt][Yy]|[Hh][Uu][Nn][Dd][Rr][Ee][Dd]"), reach=40),
)

_AGE_BEFORE = re.compile(r"(?i)\b(?:aged?|I'm|I\s+am|she's|he's|she\s+is|he\s+is|turned|turning)\s+$")
_AGE_AFTER = re.compile(r"(?i)[\s\-]+years?[\s\-]+old\b")


def _age_context(text: str, start: int, end: int) -> bool:
    """An age only when the words around it say so: "aged 92", "she's 93", "95 years old"."""
    return bool(_AGE_BEFORE.search(text[max(0, start - 20):start]) or _AGE_AFTER.match(text, end))


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
