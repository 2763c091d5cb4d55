"""A seeded generator of synthetic studies for the benchmarks.

``generate(spec, folder)`` writes, deterministically for a given spec (same seed -> same bytes):

* ``transcripts/*.txt`` -- interviews (an interviewer and one participant) and focus groups (a
  moderator and 4-6 participants) as ``[hh:mm:ss] Name: text`` turns separated by blank lines,
  50-400 turns each, with a short title header. Interviewer questions are short, participant
  answers long (both lognormal word counts); focus-group turns are shorter and more numerous.
  Words are drawn from a built-in vocabulary with Zipf-like frequencies (function words, a
  chronic-pain / peer-support domain vocabulary, fillers), set phrases ("pain management
  programme") so phrase searches hit, and first names, surnames and places so that anonymisation
  scans have something to find.
* ``participants.csv`` -- label (P, PTV, S), group, real name, role, age, gender, years of
  experience (staff), interview date, mode.
* ``codebook.csv`` -- about 100 codes in a two-level tree (``Parent/Child``).
* ``codings.csv`` -- two coders' codings as ``document,code,coder,start,end`` (code-point offsets
  into the canonical text, which here is the file text itself). Coder A codes spans of participant
  turns; coder B copies A with controllable disagreement: a share of copies with moved boundaries
  (``jitter``), a share recoded to a sibling code (``swap``), a share left out (``drop``) and extra
  codings of B's own (``extra``).
* ``manifest.json`` -- the spec, counts and a fingerprint of the generator version.

``build_study(folder, study_path)`` loads a generated corpus into a new study through the
product's own code path (``qualcode.cli.documents.import_one`` for transcripts, the stores'
``import_csv`` and ``codings`` operations for the rest).

Only the standard library's ``random`` is used, so corpora do not change with numpy versions.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
import math
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

GENERATOR_VERSION = 1

# ---------------------------------------------------------------------------------------------
# Vocabulary (rank order ~ frequency; weights are Zipf-like over the rank)

FUNCTION_WORDS = """
the and to I a it of that you was in is but like so know we my they just it's not
for have with on what be do at there this about or all he she them if because me
yeah been one had were but then get when out go really would can think more their
as up from no got people well some time things which going right much thing don't
said by did an very because how an your could now other our don't didn't lot who
would've there's quite bit even back where just only also those these sort kind mean
actually probably maybe always never still again something nothing everything anything
""".split()

CONTENT_WORDS = """
pain day days week weeks year years group groups work home family life support help
programme clinic doctor GP nurse physio hospital appointment referral service services
medication tablets dose side effects morning night sleep tired fatigue walk walking exercise
stretch pacing plan goals flare flare-up back knees hips shoulders neck hands feet joints
body mind stress anxiety worry depression mood confidence friends husband wife partner
children daughter son mum dad carer job money benefits manager colleague team staff volunteer
tutor session sessions course leaflet information advice question questions answer answers
people person someone everyone nobody talk talking listen listening understand understood
feel felt feeling feelings better worse different same hard easy difficult good bad
important helpful useful honest open safe alone lonely together community connection
change changed changes start started end ended finish finished stop stopped try tried keep
kept carry carried manage managed managing cope coping deal dealing learn learned learnt
share shared sharing believe believed trust judged seen heard invisible ill sick well
health healthcare waiting list months referral letter phone call video face meeting
cup tea coffee room chair bus car drive driving shop shopping garden house kitchen stairs
holiday weekend Christmas birthday morning afternoon evening today yesterday tomorrow
first last next little big long short whole half few many most every each own
yes okay right sure absolutely definitely exactly obviously basically literally honestly
""".split()

FILLERS = ["erm", "um", "you know", "I mean", "sort of", "kind of", "like", "yeah", "well", "[laughs]",
           "[pause]", "mm", "so"]

PHRASES = [
    "pain management programme", "support group", "flare-up plan", "peer support", "health connector",
    "social prescribing", "the waiting list", "one day at a time", "good days and bad days",
    "nobody understood", "all in your head", "back to work", "the tutor volunteers", "cup of tea",
    "falling off a cliff edge", "pacing myself", "mental health", "side effects",
]

FIRST_NAMES = """
Sarah David Margaret Gareth Linda Nadia Mark Helen Peter Hannah Grace James John Susan Karen
Michael Paul Andrew Emma Claire Rachel Joanne Simon Richard Patricia Barbara Elizabeth Jennifer
Mary Thomas Christopher Daniel Matthew Anthony Steven Kevin Brian George Edward Ronald Kenneth
Amina Fatima Ahmed Mohammed Priya Raj Sunita Arjun Deepak Anjali Wei Li Chen Mei Jun Yusuf
Olu Chinedu Ngozi Kwame Abena Tomasz Agnieszka Piotr Katarzyna Siobhan Ciaran Niamh Aoife Declan
Bronwen Rhys Dylan Carys Morgan Eilidh Fraser Isla Hamish Ross Joyce Maureen Doreen Brenda Trevor
Nigel Colin Derek Keith Pauline Janet Lesley Gillian Wendy Tracey Sharon Lisa Nicola Zoe Chloe
""".split()

SURNAMES = """
Whitfield Okonkwo Lowe Pryce Haddad Farouk Ellison Smith Jones Taylor Brown Williams Wilson
Johnson Davies Robinson Wright Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke
Patel Khan Ahmed Singh Begum Hussain Ali Shah Chowdhury Rahman Chen Wang Li Zhang Liu Nguyen
Kowalski Nowak Murphy Kelly O'Brien Byrne Ryan Walsh McCarthy Doyle Campbell Stewart Anderson
Macdonald Scott Reid Murray Morgan Hughes Lewis Edwards Price Phillips Owen Jenkins Griffiths
Baker Harris Martin Cooper King Lee Turner Hill Moore Ward Morris Mitchell Adams Cook Bell Bailey
""".split()

PLACES = ["Northmoor", "Bramleigh", "Cavendish Street", "the High Street", "Leeds", "Ashworth",
          "Kingsmead", "St Anne's", "the Royal Infirmary", "Millbrook surgery", "Harlow Road",
          "the community centre", "Riverside", "Eastgate"]

RESEARCHERS = ["Amira Haddad", "Tom Brennan", "Ruth Adeyemi", "Jonas Weber"]

GROUPS = {"P": ("patient", "Patient", 0.6), "PTV": ("patient tutor volunteer", "Patient tutor volunteer", 0.2),
          "S": ("staff", "Staff", 0.2)}

QUESTIONS = [
    "Can you tell me a bit about {x}?", "How did that feel?", "What happened next?",
    "And how is {x} now?", "Could you say more about that?", "What helped with {x}?",
    "When you say {x}, what do you mean?", "How did the {x} work for you?", "Right.", "Mm.",
    "And what about {x}?", "Was there anything that made {x} harder?", "Okay, thank you.",
]

# Two-level codebook: parent -> children (about 100 codes in all).
CODEBOOK = {
    "Living with pain": ["Onset and diagnosis", "Flare-ups", "Fatigue", "Sleep", "Medication",
                         "Invisible pain and stigma", "Unpredictability", "Body and movement"],
    "Identity": ["Loss of former self", "Rebuilding identity", "Being believed", "Role in the family",
                 "Work and purpose", "Age and ageing", "Gender expectations"],
    "Emotions": ["Anxiety and worry", "Low mood", "Anger and frustration", "Hope", "Shame",
                 "Relief", "Loneliness", "Fear of the future"],
    "Self-management": ["Pacing", "Goal setting", "Exercise and activity", "Relaxation",
                        "Flare-up plans", "Diet", "Self-monitoring", "Acceptance"],
    "Services": ["Access and waiting", "Relationships with clinicians", "Referral pathways",
                 "Continuity of care", "Information and advice", "Discharge", "Digital and remote care",
                 "Cost and transport"],
    "Programme ending": ["Cliff edge", "Preparing for the end", "Staying in touch", "Relapse after ending",
                         "What came next"],
    "Peer support": ["Shared experience", "Belonging", "Role models", "Practical tips", "Group dynamics",
                     "Online groups", "Friendship"],
    "Volunteering": ["Becoming a tutor", "Training", "Boundaries", "Giving back", "Burden of the role",
                     "Recognition", "Recruitment"],
    "Social prescribing": ["Link workers", "Community activities", "Referral from GP", "Barriers to uptake",
                           "Funding and sustainability", "Partnership working"],
    "Staff perspectives": ["Workload", "Professional roles", "Training needs", "Team working",
                           "Organisational change", "Evaluation and outcomes", "Commissioning"],
    "Family and carers": ["Partner support", "Children", "Caring for others", "Family strain",
                          "Being cared for"],
    "Work and money": ["Sickness absence", "Returning to work", "Benefits", "Retirement",
                       "Employer attitudes", "Financial strain"],
    "Research process": ["Rapport", "Reflexivity", "Consent", "Recruitment of participants",
                         "Interview setting"],
}


def _zipf(n: int, s: float = 1.0, q: float = 2.7) -> list[float]:
    return [1.0 / (r + q) ** s for r in range(n)]


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_WORDS = FUNCTION_WORDS + CONTENT_WORDS
# Function words carry most of the mass, content words a long Zipf tail.
_WEIGHTS = [w * 3 for w in _zipf(len(FUNCTION_WORDS), 0.9)] + _zipf(len(CONTENT_WORDS), 1.05, 8.0)
_CUM = _cumulative(_WEIGHTS)


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What to generate. ``words`` is the mean number of words per transcript."""

    name: str
    documents: int
    words: int
    codings: int                 # both coders together (approximate: B = A x (1 - drop + extra))
    focus_share: float = 0.1     # share of documents that are focus groups
    seed: int = 20240611
    jitter: float = 0.3          # share of B's copies whose start/end move by up to max_shift characters
    max_shift: int = 60
    swap: float = 0.06           # share of B's copies recoded to a sibling code
    drop: float = 0.08           # share of A's codings that B does not code
    extra: float = 0.05          # B's own extra codings, as a share of A's

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "v": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


SIZES = {
    "quick": Spec("quick", documents=20, words=2500, codings=2000),
    "full": Spec("full", documents=1000, words=8000, codings=200_000),
}


@dataclass
class _Turn:
    start: int
    end: int
    speaker: str
    participant: bool


class _Writer:
    """Builds one transcript's text while recording turn spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.turns: list[_Turn] = []

    def raw(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def turn(self, seconds: int, speaker: str, speech: str, participant: bool) -> None:
        h, rem = divmod(seconds, 3600)
        m, s = divmod(rem, 60)
        self.raw(f"[{h:02d}:{m:02d}:{s:02d}] {speaker}: ")
        start = self.pos
        self.raw(speech)
        self.turns.append(_Turn(start, self.pos, speaker, participant))
        self.raw("\n\n")

    def text(self) -> str:
        return "".join(self.parts).rstrip("\n") + "\n"


class _Speech:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sentence(self, n: int) -> str:
        rng = self.rng
        words = rng.choices(_WORDS, cum_weights=_CUM, k=n)
        # sprinkle fillers, set phrases and names
        r = rng.random()
        if r < 0.18:
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
        if rng.random() < 0.12:
            words.insert(rng.randrange(len(words) + 1), rng.choice(PHRASES))
        if rng.random() < 0.03:
            words.insert(rng.randrange(len(words) + 1), rng.choice(FIRST_NAMES))
        if rng.random() < 0.02:
            words.insert(rng.randrange(len(words) + 1), "in " + rng.choice(PLACES))
        first = words[0]
        words[0] = first[:1].upper() + first[1:]
        end = "?" if rng.random() < 0.06 else ("..." if rng.random() < 0.03 else ".")
        return " ".join(words) + end

    def speech(self, n_words: int) -> str:
        rng = self.rng
        out, left = [], n_words
        while left > 0:
            n = max(2, min(left, int(rng.lognormvariate(math.log(11), 0.55))))
            out.append(self.sentence(n))
            left -= n
        # long answers sometimes run over paragraphs within the same turn
        if len(out) > 8 and rng.random() < 0.3:
            cut = rng.randrange(3, len(out) - 2)
            return " ".join(out[:cut]) + "\n\n" + " ".join(out[cut:])
        return " ".join(out)

    def question(self) -> str:
        rng = self.rng
        q = rng.choice(QUESTIONS).format(x=rng.choice(CONTENT_WORDS + PHRASES))
        if rng.random() < 0.5:
            q = self.sentence(max(2, int(rng.lognormvariate(math.log(7), 0.5)))) + " " + q
        return q


def _clamp_turns(n_words: int, mean_pair: float) -> int:
    return max(50, min(400, round(n_words / mean_pair)))


def _interview(rng: random.Random, speech: _Speech, words: int, who: str, researcher: str,
               title: str) -> _Writer:
    w = _Writer()
    w.raw(f"{title}\nDuration: {rng.randint(25, 95)} min\n\n")
    # Participant answers: lognormal, median ~55 words; interviewer: median ~12 words.
    n_turns = _clamp_turns(words, 2 * 40)
    answer_median = max(8.0, (words - n_turns / 2 * 14) / (n_turns / 2) * 0.75)
    seconds = rng.randint(2, 9)
    for i in range(n_turns):
        if i % 2 == 0:
            text = speech.question()
            w.turn(seconds, researcher, text, False)
        else:
            n = max(1, int(rng.lognormvariate(math.log(answer_median), 0.8)))
            text = speech.speech(n)
            w.turn(seconds, who, text, True)
        seconds += max(2, int(len(text.split()) / 2.6) + rng.randint(0, 4))
    return w


def _focus_group(rng: random.Random, speech: _Speech, words: int, members: list[str], moderator: str,
                 title: str) -> _Writer:
    w = _Writer()
    w.raw(f"{title}\nDuration: {rng.randint(60, 120)} min\n\n")
    n_turns = _clamp_turns(words, 25)
    median = max(6.0, words / n_turns * 0.7)
    seconds = rng.randint(2, 9)
    last = None
    for _ in range(n_turns):
        if rng.random() < 0.2 or last is None:
            speaker, text, is_p = moderator, speech.question(), False
        else:
            speaker = rng.choice([m for m in members if m != last] or members)
            text, is_p = speech.speech(max(1, int(rng.lognormvariate(math.log(median), 0.9)))), True
        w.turn(seconds, speaker, text, is_p)
        last = speaker
        seconds += max(2, int(len(text.split()) / 2.6) + rng.randint(0, 3))
    return w


_WORD_EDGE = re.compile(r"\w+")


def _snap(text: str, pos: int, lo: int, hi: int, forward: bool) -> int:
    """Move ``pos`` to a word boundary inside [lo, hi]."""
    pos = max(lo, min(hi, pos))
    if forward:  # end of a word at or after pos
        while pos < hi and (text[pos - 1:pos].isalnum() and text[pos].isalnum()):
            pos += 1
    else:  # start of a word at or before pos
        while pos > lo and text[pos - 1].isalnum() and text[pos:pos + 1].isalnum():
            pos -= 1
    return pos


def _span_in(rng: random.Random, text: str, turn: _Turn) -> tuple[int, int] | None:
    length = turn.end - turn.start
    if length < 8:
        return None
    want = int(rng.lognormvariate(math.log(220), 0.8))
    if want >= length or rng.random() < 0.15:  # the whole turn
        s, e = turn.start, turn.end
    else:
        s = rng.randint(turn.start, turn.end - want)
        s = _snap(text, s, turn.start, turn.end, forward=False)
        e = _snap(text, s + want, s + 1, turn.end, forward=True)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e - s >= 2 else None


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def generate(spec: Spec, folder: Path) -> dict:
    """Write the corpus of ``spec`` into ``folder`` (created); return the manifest."""
    t0 = time.perf_counter()
    rng = random.Random(spec.seed)
    speech = _Speech(rng)
    folder = Path(folder)
    tdir = folder / "transcripts"
    tdir.mkdir(parents=True, exist_ok=True)

    # -- codebook
    code_paths: list[str] = []
    siblings: dict[str, list[str]] = {}
    codebook_rows = []
    for parent, children in CODEBOOK.items():
        codebook_rows.append((parent, f"Everything about {parent.lower()}."))
        code_paths.append(parent)
        kids = [f"{parent}/{c}" for c in children]
        for k in kids:
            siblings[k] = [x for x in kids if x != k]
            codebook_rows.append((k, f"{k.split('/')[1]}: passages about this aspect of {parent.lower()}."))
        code_paths.extend(kids)
    _write_csv(folder / "codebook.csv", ["code", "description"], codebook_rows)
    # A few codes are used a lot, most rarely (child codes far more than parents).
    code_weights = [(0.3 if "/" not in c else 1.0) * w
                    for c, w in zip(code_paths, _shuffled_zipf(rng, len(code_paths)))]
    code_cum = _cumulative(code_weights)

    # -- documents and participants
    names = rng.sample([f"{f} {s}" for f in FIRST_NAMES for s in SURNAMES],
                       k=min(len(FIRST_NAMES) * len(SURNAMES), spec.documents * 7 + 10))
    name_iter = iter(names)
    counters = {g: 0 for g in GROUPS}
    participants: list[tuple] = []

    def new_participant(group: str) -> tuple[str, str]:
        counters[group] += 1
        label = f"{group}{counters[group]}"
        name = next(name_iter)
        grp, role, _ = GROUPS[group]
        age = rng.randint(24, 64) if group == "S" else rng.randint(28, 84)
        years = rng.randint(1, 30) if group == "S" else ""
        participants.append((label, grp, name, role, age, rng.choice("FFFMMX"), years,
                             f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                             rng.choice(["phone", "face-to-face", "video"])))
        return label, name

    group_names = list(GROUPS)
    group_cum = _cumulative([GROUPS[g][2] for g in group_names])
    docs = []  # (name, text, turns)
    n_focus = round(spec.documents * spec.focus_share)
    focus_at = set(rng.sample(range(spec.documents), n_focus)) if n_focus else set()
    fg = 0
    for i in range(spec.documents):
        words = max(400, int(spec.words * rng.uniform(0.6, 1.4)))
        researcher = rng.choice(RESEARCHERS)
        if i in focus_at:
            fg += 1
            members = [new_participant(rng.choice(["P", "P", "PTV"]))[1] for _ in range(rng.randint(4, 6))]
            name = f"FG{fg}_focus_group"
            w = _focus_group(rng, speech, words, members, researcher,
                             f"Focus group {fg} – {rng.choice(PLACES)} – face to face")
        else:
            group = rng.choices(group_names, cum_weights=group_cum)[0]
            label, who = new_participant(group)
            name = f"{label}_interview"
            w = _interview(rng, speech, words, who, researcher,
                           f"Interview {label} – {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024 – "
                           f"{rng.choice(['telephone', 'face to face', 'video'])}")
        text = w.text()
        (tdir / f"{name}.txt").write_text(text, encoding="utf-8", newline="\n")
        docs.append((name, text, w.turns))
    _write_csv(folder / "participants.csv",
               ["label", "group", "name", "role", "age", "gender", "years_experience", "interview_date", "mode"],
               participants)

    # -- codings: A codes participant turns; B copies with disagreement
    n_a = max(1, round(spec.codings / (2 - spec.drop + spec.extra)))
    doc_cum = _cumulative([len(t) for _, t, _ in docs])
    per_doc_turns = [[t for t in turns if t.participant and t.end - t.start >= 8] or turns
                     for _, _, turns in docs]

    def random_coding() -> tuple[int, str, int, int]:
        while True:
            d = rng.choices(range(len(docs)), cum_weights=doc_cum)[0]
            turn = rng.choice(per_doc_turns[d])
            span = _span_in(rng, docs[d][1], turn)
            if span:
                code = rng.choices(code_paths, cum_weights=code_cum)[0]
                return d, code, span[0], span[1]

    a_rows = [random_coding() for _ in range(n_a)]
    b_rows = []
    for d, code, s, e in a_rows:
        if rng.random() < spec.drop:
            continue
        if rng.random() < spec.jitter:
            text = docs[d][1]
            turn = docs[d][2][_turn_index(docs[d][2], s)]
            s2 = _snap(text, s + rng.randint(-spec.max_shift, spec.max_shift), turn.start, turn.end, False)
            e2 = _snap(text, e + rng.randint(-spec.max_shift, spec.max_shift), turn.start, turn.end, True)
            while s2 < e2 and text[s2].isspace():
                s2 += 1
            while e2 > s2 and text[e2 - 1].isspace():
                e2 -= 1
            if e2 - s2 >= 2:
                s, e = s2, e2
        if rng.random() < spec.swap and code in siblings:
            code = rng.choice(siblings[code])
        b_rows.append((d, code, s, e))
    b_rows += [random_coding() for _ in range(round(n_a * spec.extra))]
    rows = sorted([(docs[d][0], c, "A", s, e) for d, c, s, e in a_rows]
                  + [(docs[d][0], c, "B", s, e) for d, c, s, e in b_rows])
    _write_csv(folder / "codings.csv", ["document", "code", "coder", "start", "end"], rows)

    manifest = {
        "spec": asdict(spec), "key": spec.key(), "generator_version": GENERATOR_VERSION,
        "documents": len(docs), "focus_groups": n_focus, "participants": len(participants),
        "codes": len(code_paths), "codings": len(rows), "codings_a": len(a_rows), "codings_b": len(b_rows),
        "turns": sum(len(t) for _, _, t in docs), "characters": sum(len(t) for _, t, _ in docs),
        "words": sum(len(t.split()) for _, t, _ in docs),
        "largest_document": max(docs, key=lambda d: len(d[1]))[0],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _turn_index(turns: list[_Turn], offset: int) -> int:
    return max(0, bisect.bisect_right([t.start for t in turns], offset) - 1)


def _shuffled_zipf(rng: random.Random, n: int) -> list[float]:
    w = _zipf(n, 0.8, 3.0)
    rng.shuffle(w)
    return w


def corpus(spec: Spec, root: Path) -> tuple[Path, dict]:
    """The cached corpus folder of ``spec`` under ``root`` (generated when missing)."""
    folder = Path(root) / f"corpus-{spec.name}-{spec.key()}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        return folder, json.loads(manifest_path.read_text())
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    manifest = generate(spec, tmp)
    tmp.rename(folder)
    return folder, manifest


# ---------------------------------------------------------------------------------------------
# Loading a corpus into a study through the product's code paths


def import_function():
    """The library call behind ``qualcode import`` (``importers.batch.import_file``; older trees
    had ``qualcode.cli.documents.import_one``)."""
    try:
        from importers.batch import import_file

        return import_file
    except ImportError:
        from qualcode.cli.documents import import_one

        return lambda study, path: import_one(study, path, None, False, 50_000_000)


def import_transcripts(study, folder: Path) -> int:
    """Import every transcript the way ``qualcode import`` does (same function)."""
    import_file = import_function()
    n = 0
    for path in sorted((Path(folder) / "transcripts").glob("*.txt")):
        import_file(study, path)
        n += 1
    return n


def read_codings(folder: Path) -> list[tuple[str, str, str, int, int]]:
    with (Path(folder) / "codings.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return [(d, c, k, int(s), int(e)) for d, c, k, s, e in reader]


def load_codings(study, folder: Path, fast: bool = True) -> int:
    """Add the corpus's codings in one transaction.

    ``fast=False`` calls the public ``study.codings.add`` for each coding (what the CLI ``code``
    command does). ``fast=True`` resolves documents, codes and coders once and calls the store's
    per-coding write (``CodingStore._add``: overlap merge + audit row), skipping the per-call
    lookups and the re-read of the stored coding that ``add`` returns.
    """
    rows = read_codings(folder)
    for coder in sorted({r[2] for r in rows}):
        if study.coders.find(coder) is None:
            study.coders.add(coder)
    with study.change("bench", f"load {len(rows)} codings") as ch:
        if not fast:
            for d, c, k, s, e in rows:
                study.codings.add(d, c, k, s, e)
            return len(rows)
        docs = {name: doc_id for doc_id, name in study.db.execute("SELECT id, name FROM documents")}
        codes = {c.path: c.id for c in study.codes.list()}
        coders = {c.name: c.id for c in study.coders.list()}
        for d, c, k, s, e in rows:
            study.codings._add(ch, docs[d], codes[c], coders[k], s, e, "")
    return len(rows)


def build_study(folder: Path, study_path: Path, fast: bool = True) -> dict:
    """A new study from a generated corpus: participants, codebook, transcripts, codings."""
    from qualcode.study import Study

    folder = Path(folder)
    times = {}
    t = time.perf_counter()
    with Study.create(study_path, title=f"Benchmark {folder.name}", coder="A") as study:
        study.participants.import_csv(folder / "participants.csv")
        study.codes.import_csv(folder / "codebook.csv")
        times["setup"] = time.perf_counter() - t
        t = time.perf_counter()
        import_transcripts(study, folder)
        times["import"] = time.perf_counter() - t
        t = time.perf_counter()
        load_codings(study, folder, fast=fast)
        times["codings"] = time.perf_counter() - t
        info = study.info()
    return {"info": info, "seconds": {k: round(v, 2) for k, v in times.items()}}


if __name__ == "__main__":  # python -m benchmarks.corpus quick|full [folder]
    import sys

    spec = SIZES[sys.argv[1] if len(sys.argv) > 1 else "quick"]
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "out"
    folder, manifest = corpus(spec, root)
    print(folder)
    print(json.dumps(manifest, indent=2))
