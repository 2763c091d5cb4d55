"""Property tests: generated transcripts in every layout round-trip to exact turns.

For each generated conversation (speakers, utterances with Unicode, emoji, NBSP, smart quotes,
non-speech marks and colons inside speech) we render a file in one format, import it, and check
that every turn's span slices the canonical text exactly to the utterance, with the right speaker
and time, that turns never overlap and that the text is canonical.

Speech that opens with a common word and a colon (``Honestly: ...``, ``Monday: ...``; see
``importers.labels``) is generated at the start of paragraphs, after a label, and at the start of
unlabelled caption cues: it must stay speech of the current speaker. Known, documented limit kept
out of the generator: an arbitrary capitalised word and a colon within the first six words of a
paragraph can make a label (a one-off name such as ``Sarah:`` is a speaker).
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import importers
from importers.timestamps import format_ms
from importer_helpers import check_invariants

SPEAKERS = ["Interviewer", "P1", "P12", "Dr. Ana Ruiz", "Speaker 2", "S01", "Unknown Speaker", "José Núñez", "Moderator"]
CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßçøåñ采访者你好医院😊🏥’‘“”…"
# Common words opening speech with a colon; each is used at most once per document (a common word
# used as a label again and again is taken for a speaker).
OPENERS = ["Honestly:", "Monday:", "Basically:", "Actually:", "Anyway:", "Note:", "Tuesday:", "Yesterday:",
           "Well:", "Look:", "Update:", "March:", "Frankly:", "Last Friday:", "Obviously:"]
MARKS = ["[inaudible 00:12:03]", "{Applause}", "[crosstalk]", "(laughs)", "(12 seconds pause)", "[laughter]"]

word = st.text(alphabet=CHARS, min_size=1, max_size=7)
nbsp_word = st.builds(lambda a, b: f"{a}\u00a0{b}", word, word)
token = st.one_of(word, word, word, word.map(lambda w: w + ","), word.map(lambda w: w + "."), nbsp_word, st.sampled_from(MARKS))


@st.composite
def sentence(draw, colons: bool = True) -> str:
    words = draw(st.lists(token, min_size=1, max_size=14))
    if colons and len(words) > 8 and draw(st.booleans()):
        k = draw(st.integers(7, len(words) - 1))
        words[k - 1] = words[k - 1].rstrip(",.") + ":"  # a colon in speech, never label-like
    return " ".join(words)


@st.composite
def conversation(draw, paragraphs: bool = True, colons: bool = True):
    speakers = draw(st.lists(st.sampled_from(SPEAKERS), min_size=2, max_size=3, unique=True))
    n = draw(st.integers(2 * len(speakers), 2 * len(speakers) + 4))
    turns = []
    ms = draw(st.integers(0, 5)) * 1000  # whole seconds: text formats stamp seconds only
    for i in range(n):
        count = draw(st.integers(1, 3)) if paragraphs else 1
        paras = [draw(sentence(colons)) for _ in range(count)]
        turns.append((speakers[i % len(speakers)], paras, ms))
        ms += draw(st.integers(1, 600)) * 1000
    places = [(i, j) for i, (_, paras, _) in enumerate(turns) for j in range(len(paras))]
    openers = draw(st.lists(st.sampled_from(OPENERS), unique=True, max_size=3))
    chosen = draw(st.lists(st.sampled_from(places), unique=True, min_size=len(openers), max_size=len(openers)))
    for opener, (i, j) in zip(openers, chosen):
        turns[i][1][j] = f"{opener} {turns[i][1][j]}"
    return turns


@st.composite
def caption_openers(draw, turns) -> list[str | None]:
    """Per turn: a common-word opener for an extra, unlabelled cue at the turn's end, or None."""
    used = {w for _, paras, _ in turns for p in paras for w in OPENERS if p.startswith(w)}
    free = [w for w in OPENERS if w not in used]
    picked = draw(st.lists(st.sampled_from(free), unique=True, max_size=min(3, len(turns))))
    slots = draw(st.lists(st.sampled_from(range(len(turns))), unique=True, min_size=len(picked), max_size=len(picked)))
    out: list[str | None] = [None] * len(turns)
    for opener, k in zip(picked, slots):
        out[k] = opener
    return out


def _check(result, expected):
    check_invariants(result)
    got = [(t.speaker, result.text[t.start : t.end], t.start_ms) for t in result.turns]
    assert got == expected


def _hms(ms: int) -> str:
    secs = ms // 1000
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------ in place

@SETTINGS
@given(conversation(), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_plain_text_round_trip(turns, newline, stamped, encoding):
    blocks, expected = [], []
    for speaker, paras, ms in turns:
        stamp = f"[{_hms(ms)}] " if stamped else ""
        blocks.append(f"{stamp}{speaker}: " + "\n\n".join(paras))
        expected.append((speaker, "\n\n".join(paras), ms // 1000 * 1000 if stamped else None))
    text = "\n\n".join(blocks) + "\n"
    result = importers.parse(text.replace("\n", newline).encode(encoding), "t.txt")
    assert result.text == text
    _check(result, expected)


@SETTINGS
@given(conversation())
def test_markdown_round_trip(turns):
    text = "# Title\n\n" + "\n\n".join(f"**{s}:** " + "\n\n".join(p) for s, p, _ in turns) + "\n"
    result = importers.parse(text.encode(), "t.md")
    assert result.format == "markdown"
    _check(result, [(s, "\n\n".join(p), None) for s, p, _ in turns])


@SETTINGS
@given(conversation())
def test_otter_round_trip(turns):
    text = "".join(f"{s}  {format_ms(ms)}  \n" + "\n".join(p) + "\n\n" for s, p, ms in turns)
    text += "Transcribed by https://otter.ai\n"
    result = importers.parse(text.encode(), "t_otter_ai.txt")
    assert result.format == "otter"
    _check(result, [(s, "\n".join(p), ms) for s, p, ms in turns])


@SETTINGS
@given(conversation())
def test_rev_round_trip(turns):
    text = "".join(f"{s} ({_hms(ms)}):\n" + "\n".join(p) + "\n\n" for s, p, ms in turns)
    result = importers.parse(text.replace("\n", "\r\n").encode(), "t.txt")
    assert result.format == "rev"
    _check(result, [(s, "\n".join(p), ms // 1000 * 1000) for s, p, ms in turns])


@SETTINGS
@given(conversation(paragraphs=False))
def test_noscribe_round_trip(turns):
    ids = {}
    lines = ["Title", "", "Transcribed with noScribe vers. 0.7", "Audio file: a.mp3", ""]
    expected = []
    for s, p, ms in turns:
        label = ids.setdefault(s, f"S{len(ids):02d}")
        lines.append(f"{label}: [{_hms(ms)}] {p[0]} //S09: overlap. // end")
        lines.append("")
        expected.append((label, f"{p[0]} //S09: overlap. // end", ms // 1000 * 1000))
    result = importers.parse("\n".join(lines).encode(), "t.txt")
    assert result.format == "noscribe"
    _check(result, expected)


# ------------------------------------------------------------------------------ constructed

def _chunks(draw, utterance: str) -> list[str]:
    words = utterance.split(" ")
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(words) - 1)), max_size=3))))
    pieces, last = [], 0
    for cut in cuts + [len(words)]:
        if cut > last:
            pieces.append(" ".join(words[last:cut]))
            last = cut
    return pieces


def _expected_constructed(turns):
    text_blocks, expected = [], []
    for s, p, ms in turns:
        utterance = " ".join(p)
        text_blocks.append(f"{s}: {utterance}")
        expected.append((s, utterance, ms))  # the first cue of a turn starts at the turn's time
    return "\n\n".join(text_blocks), expected


def _vtt_time(ms: int) -> str:
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


@SETTINGS
@given(st.data(), conversation(paragraphs=False))
def test_zoom_vtt_round_trip(data, turns):
    cues, n = [], 0
    extra = data.draw(caption_openers(turns))
    for t, (s, p, ms) in enumerate(turns):
        chunks = _chunks(data.draw, p[0])
        for k, chunk in enumerate(chunks):
            n += 1
            start = ms + k * 100
            cues.append(f"{n}\n{_vtt_time(start)} --> {_vtt_time(start + 90)}\n{s}: {chunk}\n")
        if extra[t]:  # a cue without the name, opening with "Basically:" (Zoom does this)
            n += 1
            start = ms + len(chunks) * 100
            cues.append(f"{n}\n{_vtt_time(start)} --> {_vtt_time(start + 90)}\n{extra[t]} so it goes.\n")
            p[0] += f" {extra[t]} so it goes."
    body = "WEBVTT\n\n" + "\n".join(cues)
    result = importers.parse(body.replace("\n", "\r\n").encode(), "t.transcript.vtt")
    assert result.format == "vtt-zoom"
    text, expected = _expected_constructed(turns)
    assert result.text == text
    _check(result, expected)


@SETTINGS
@given(st.data(), conversation(paragraphs=False))
def test_teams_vtt_round_trip(data, turns):
    cues = []
    for u, (s, p, ms) in enumerate(turns):
        for k, chunk in enumerate(_chunks(data.draw, p[0])):
            start = ms + k * 100
            wrapped = chunk.replace(" ", "\n", 1)  # payload wrapped over two lines
            cues.append(
                f"5fd7f1de-6442-4b37-a79a-7f43656096ca/{u}-{k}\n{_vtt_time(start)} --> {_vtt_time(start + 90)}\n"
                f"<v {s}>{wrapped.replace('&', '&amp;')}</v>\n"
            )
    result = importers.parse(("WEBVTT\n\n" + "\n".join(cues)).encode(), "t.vtt")
    assert result.format == "vtt-teams"
    text, expected = _expected_constructed(turns)
    assert result.text == text
    _check(result, expected)


@SETTINGS
@given(st.data(), conversation(paragraphs=False, colons=False))
def test_srt_round_trip_with_carried_speakers(data, turns):
    cues, n = [], 0
    extra = data.draw(caption_openers(turns))
    for t, (s, p, ms) in enumerate(turns):
        chunks = _chunks(data.draw, p[0])
        if extra[t]:  # a carried cue opening with "Monday:"
            chunks.append(f"{extra[t]} so it goes.")
            p[0] += f" {extra[t]} so it goes."
        for k, chunk in enumerate(chunks):
            n += 1
            start = ms + k * 100
            stamp = _vtt_time(start).replace(".", ",") + " --> " + _vtt_time(start + 90).replace(".", ",")
            cues.append(f"{n}\n{stamp}\n{s + ': ' if k == 0 else ''}{chunk}\n")
    result = importers.parse("\n".join(cues).encode("utf-8-sig"), "t.srt")
    assert result.format == "srt"
    text, expected = _expected_constructed(turns)
    assert result.text == text
    _check(result, expected)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversation())
def test_docx_round_trip(turns):
    from docx import Document

    doc = Document()
    for s, paras, _ in turns:
        p = doc.add_paragraph()
        p.add_run(f"{s}:").bold = True
        p.add_run(" " + paras[0])
        for extra in paras[1:]:
            doc.add_paragraph(extra)
    buffer = io.BytesIO()
    doc.save(buffer)
    result = importers.parse(buffer.getvalue(), "t.docx")
    assert result.format == "docx"
    expected = [(s, "\n".join(p), None) for s, p, _ in turns]
    assert result.text == "\n\n".join(f"{s}: {u}" for s, u, _ in expected)
    _check(result, expected)


# ------------------------------------------------------------------------------ anything

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_give_a_valid_transcript_or_invalid_input(data):
    from qualcode.errors import InvalidInput

    for name in ("x.txt", "x.vtt", "x.srt", "x.docx", "x.md"):
        try:
            result = importers.parse(data, name)
        except InvalidInput:
            continue
        check_invariants(result)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "WEBVTT", "", "1", "00:00:01.000 --> 00:00:02.000", "0:0:1.0 --> 0:0:2.0", "<v Ann>hi</v>",
    "Ann: hello", "NOTE x", "- dash: line", ">> BOB: yo", "[SPEAKER_00]: hey", "I: q", "R: a",
    "Emma  0:00", "Lenny (00:03):", "(00:47):", "S01: [00:00:12] Ja.", "**Ann:** hi", "text: more",
    "[00:43.810 --> 00:47.850]  seg", "Transcribed by https://otter.ai", "# Heading", "{Applause}",
    "00:00:01,000 --> 00:00:02,000", "&amp; &nbsp;", "   ", "\t", "😊 采访者：你好",
]), max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_structured_noise_never_breaks_the_invariants(lines, newline):
    from qualcode.errors import InvalidInput

    data = newline.join(lines).encode()
    for fmt in (None, "text", "vtt", "srt", "otter", "rev", "whisper", "noscribe", "markdown"):
        try:
            result = importers.parse(data, "x.txt", fmt)
        except InvalidInput:
            continue
        check_invariants(result)
