"""Is this a speaker label? Shared by the verbatim, caption and DOCX importers.

A colon does not make a speaker: ``Here's the thing: ...`` must stay speech. A document's label
set is chosen as a whole (``choose``): a candidate is kept when it is *plausible* (short, no
sentence punctuation) and either *frequent* (two or more occurrences), a *known* role or
diariser pattern (``I``, ``R2``, ``P12``, ``S01``, ``SPEAKER_00``, ``Speaker 3``,
``Interviewer``, ``Unknown Speaker`` ...), or forced by the caller (a bold run in Word).
A candidate seen once may still be a name (``Multiple Students``) when the document already has
a label set and it looks like a name (capitalised words, not a common lead-in word).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MAX_LABEL_CHARS = 60
MAX_LABEL_WORDS = 6

_FORBIDDEN = re.compile(r"[?!;\"“”„«»\[\]{}<>=|\\,…]|https?:|www\.|^\d+$|\.$|^[-–—*#>/]")
_KNOWN = re.compile(
    r"(?:[IRBQAPSMT]\d{0,3}|P(?:TV)?\d{1,3}|S\d{1,3}|SPEAKER_\d+|Speaker\s*\d+"
    r"|(?:Unknown|Other)\s+Speaker|[A-Z]{1,4}\d{1,3}"
    r"|(?:Interviewer|Interviewee|Interviewerin|Participant|Respondent|Moderator|Facilitator"
    r"|Researcher|Patient|Nurse|Doctor|Staff|Teacher|Student|Host|Guest|Caller|Chair"
    r"|Befragte[rn]?|Befragter|Proband(?:in)?|Audience|Multiple\s+Students)"
    r"(?:\s*\d{1,3})?(?:\s*\([^()]{1,30}\))?)",
    re.IGNORECASE,
)
# Words that open a sentence followed by a colon far more often than they name a speaker.
_LEAD_INS = frozenset(
    """note notes example examples question answer update yes no ok okay well so also and but
    because then now ps re subject date time location place title duration length interview
    transcript summary warning important remember tip fact quote edit edited correction the a an
    this that here there what why how when who which first second third finally result results
    reason problem answer step day week mode setting project study file recording language""".split()
)
_PARTICLES = frozenset("de da di du del della van von der den ten ter le la bin al el y e".split())


def plausible(label: str) -> bool:
    """Short, no sentence punctuation, no URL, not a bare number."""
    label = label.strip()
    if not label or len(label) > MAX_LABEL_CHARS:
        return False
    if len(label.split()) > MAX_LABEL_WORDS:
        return False
    return _FORBIDDEN.search(label) is None


def known(label: str) -> bool:
    """A role or diariser id that needs no second occurrence to be believed."""
    return _KNOWN.fullmatch(label.strip()) is not None


def name_like(label: str) -> bool:
    """``Dr. Melissa Ko``, ``Multiple Students``, ``kadowaki-tch`` (a handle); not ``Note``."""
    words = label.split()
    if not words or len(words) > 4 or words[0].lower().strip(".") in _LEAD_INS:
        return False
    if len(words) == 1 and re.fullmatch(r"[a-z0-9]+(?:[-_.][a-z0-9]+)+", words[0]):
        return True  # user handle
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in words)


def single_names(counts: Counter[str]) -> set[str]:
    """Candidates seen once that still look like a speaker's name."""
    return {label for label, n in counts.items() if n == 1 and plausible(label) and name_like(label)}


def choose(
    counts: Counter[str],
    forced: Iterable[str] = (),
    *,
    allow_single_names: bool = True,
) -> set[str]:
    """The document's label set from candidate counts (see module docstring)."""
    forced = {f.strip() for f in forced}
    accepted = {
        label
        for label, n in counts.items()
        if plausible(label) and (n >= 2 or known(label) or label in forced)
    }
    if accepted and allow_single_names:
        accepted |= single_names(counts)
    return accepted
