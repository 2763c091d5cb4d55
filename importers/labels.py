"""Is this a speaker label? Shared by the verbatim, caption and DOCX importers.

A colon does not make a speaker: ``Here's the thing: ...`` must stay speech. A document's label
set is chosen as a whole (``choose``): a candidate is kept when it is *plausible* (short, no
sentence punctuation) and either *frequent* (two or more occurrences), a *known* role or
diariser pattern (``I``, ``R2``, ``P12``, ``S01``, ``SPEAKER_00``, ``Speaker 3``,
``Interviewer``, ``Unknown Speaker`` ...), in the study's speaker/participant mapping
(``mapped``: the caller passes those labels), or forced by the caller (a bold run in Word).

A candidate seen only once is the doubtful case: ``Honestly: I don't know``, ``Monday: physio``
and a Zoom cue ``Basically: you'll live with it.`` are speech, ``Sarah:`` in a focus group is a
speaker who spoke once. Such a one-off is believed only when the document already has a label
set (recurring labels) and the candidate *looks like a label* (``single_names``): it is mapped,
or it is name-shaped (capitalised words, all caps, a digit, a handle, a role word, a short code)
and it is not a common English word (``COMMON_WORDS``: discourse words and sentence adverbs,
lead-ins such as ``Note`` or ``Update``, days, months and other time words, pronouns). One-offs
rejected only because of that word list are reported (``speech_like``) so that the importer can
warn, naming the line; a one-off capitalised word outside the list is still taken for a name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

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
# Words that open speech followed by a colon far more often than they name a speaker.
_LEAD_INS = frozenset(
    """note notes nb ps fyi re subject example examples question questions answer answers update
    updates warning important remember reminder tip tips fact facts quote edit edited correction
    summary conclusion lesson moral point points thing things issue issues problem problems reason
    reasons result results outcome step steps rule goal plan idea option verdict diagnosis advice
    yes yeah yep no nope ok okay oh ah um uh er erm hmm wow well so also and but or because then
    now plus anyway anyways anyhow however therefore thus hence besides otherwise meanwhile instead
    still again sure right look listen see wait sorry thanks please fine true great good bad
    honestly basically actually frankly seriously obviously clearly literally personally apparently
    unfortunately fortunately luckily sadly hopefully ideally essentially generally ultimately
    eventually finally firstly secondly thirdly lastly first second third fourth next last later
    earlier afterwards before after once twice overall altogether similarly likewise conversely
    alternatively additionally furthermore moreover nevertheless nonetheless regardless admittedly
    interestingly surprisingly naturally certainly definitely absolutely exactly totally really
    truly simply mostly usually normally sometimes often always never recently currently
    originally initially previously whatever
    the a an this that these those here there what why how when where who which whose every each
    some all most both other another such my your his her its our their me you he she it we they
    us them everyone everybody someone somebody nobody anyone anybody everything something nothing
    anything people
    date time location place title duration length interview transcript mode setting project study
    file recording language""".split()
)
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri
    sat sun weekday weekdays weekend weekends
    january february march april may june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec
    today tonight tomorrow yesterday morning mornings afternoon afternoons evening evenings night
    nights day days week weeks month months year years lunchtime midday noon midnight breakfast
    lunch dinner christmas easter""".split()
)
COMMON_WORDS = _LEAD_INS | _CALENDAR
_PARTICLES = frozenset("de da di du del della van von der den ten ter le la bin al el y e".split())
_EDGE = ".'’\"()"


def _norm(label: str) -> str:
    return " ".join(label.split()).casefold()


class MappedLabels:
    """The study's mapped labels, compared as ``_norm`` does (case and spacing ignored).

    Built from an iterable of labels, or from a zero-argument callable returning one, which is
    called (and its labels normalised) only when a membership test needs them: most documents
    never ask, because only a candidate seen once is checked against the mapping. A study has a
    label and a name per participant, so normalising them for every file and every call (four
    per document) cost more than parsing the file did.
    """

    __slots__ = ("_source", "_normed")

    def __init__(self, source: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        self._source = source
        self._normed: frozenset[str] | None = None

    def _labels(self) -> frozenset[str]:
        if self._normed is None:
            source = self._source() if callable(self._source) else self._source
            self._normed = frozenset(_norm(m) for m in source)
            self._source = ()
        return self._normed

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and _norm(label) in self._labels()


def mapped_labels(mapped: Iterable[str] | MappedLabels = ()) -> MappedLabels:
    """``mapped`` as a ``MappedLabels`` (normalised once however often it is consulted)."""
    return mapped if isinstance(mapped, MappedLabels) else MappedLabels(mapped)


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


def common_word(label: str) -> bool:
    """``Honestly``, ``Monday``, ``Last Tuesday``, ``Note``: every word is a common English word."""
    words = [w.strip(_EDGE).casefold() for w in label.split()]
    return bool(words) and all(w in COMMON_WORDS for w in words)


def name_like(label: str) -> bool:
    """``Dr. Melissa Ko``, ``Multiple Students``, ``kadowaki-tch`` (a handle), ``Sarah``;
    not ``Note``, ``Honestly``, ``Monday`` (see ``common_word``)."""
    words = label.split()
    if not words or len(words) > 4 or words[0].lower().strip(_EDGE) in _LEAD_INS or common_word(label):
        return False
    if len(words) == 1 and re.fullmatch(r"[a-z0-9]+(?:[-_.][a-z0-9]+)+", words[0]):
        return True  # user handle
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in words)


def _shaped(label: str) -> bool:
    """Name-shaped whatever the words: capitalised, all caps, with a digit, or a handle."""
    words = label.split()
    if not words or len(words) > 4:
        return False
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _PARTICLES for w in words)


def single_names(counts: Counter[str], mapped: Iterable[str] = ()) -> set[str]:
    """Candidates seen once that still look like a speaker label (see module docstring)."""
    mapped = mapped_labels(mapped)
    return {
        label for label, n in counts.items()
        if n == 1 and plausible(label) and (known(label) or name_like(label) or label in mapped)
    }


def speech_like(counts: Counter[str], mapped: Iterable[str] = ()) -> set[str]:
    """One-off candidates shaped like a label but refused as common words (worth a warning)."""
    taken = single_names(counts, mapped)
    return {
        label for label, n in counts.items()
        if n == 1 and label not in taken and plausible(label) and _shaped(label)
        and (common_word(label) or label.split()[0].lower().strip(_EDGE) in _LEAD_INS)
    }


def speech_warning(where: str, label: str) -> str:
    """The one wording of that warning (``where``: ``line 12``, ``paragraph 4``)."""
    return (f"{where}: {label + ':'!r} read as speech of the previous turn, not a speaker label "
            "(a common word, used once); map it as a speaker to make it one")


def choose(
    counts: Counter[str],
    forced: Iterable[str] = (),
    *,
    allow_single_names: bool = True,
    mapped: Iterable[str] = (),
) -> set[str]:
    """The document's label set from candidate counts (see module docstring)."""
    forced = {f.strip() for f in forced}
    mapped = mapped_labels(mapped)
    accepted = {
        label
        for label, n in counts.items()
        if plausible(label) and (n >= 2 or known(label) or label in forced or label in mapped)
    }
    if accepted and allow_single_names:
        accepted |= single_names(counts, mapped)
    return accepted
