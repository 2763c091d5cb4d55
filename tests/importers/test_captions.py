"""Constructed text from caption formats: WebVTT (Zoom, Teams, noScribe, Whisper), SRT, Whisper TXT."""

from __future__ import annotations

import pytest

import importers
from importers.captions import clean
from qualcode.errors import InvalidInput
from importer_helpers import check_invariants, parse_fixture, spans, times


def parse_text(text: str, name: str, **kwargs):
    result = importers.parse(text.encode("utf-8"), name, **kwargs)
    check_invariants(result)
    return result


# ------------------------------------------------------------------------------ WebVTT

def test_zoom_transcript_names_merging_nbsp_entities_and_crlf():
    result = parse_fixture("zoom_transcript.vtt")
    assert result.format == "vtt-zoom"
    assert result.text == (
        "Dr. Melissa Ko: Hi everyone!\n\n"
        "Conor Healy: Let's get this started. So the plan is simple: we talk for\u00a090 min and then we stop.\n\n"
        "Unknown Speaker: Can you hear me? There's an echo & a delay.\n\n"
        "Dr. Melissa Ko: Yes, loud and clear."
    )
    assert spans(result) == [
        ("Dr. Melissa Ko", "Hi everyone!"),
        ("Conor Healy", "Let's get this started. So the plan is simple: we talk for\u00a090 min and then we stop."),
        ("Unknown Speaker", "Can you hear me? There's an echo & a delay."),
        ("Dr. Melissa Ko", "Yes, loud and clear."),
    ]
    assert times(result) == [(50, 1790), (2070, 9200), (9900, 12400), (12500, 14000)]


def test_zoom_closed_captions_without_names_split_at_pauses():
    result = parse_fixture("zoom_captions.cc.vtt")
    assert result.format == "vtt"
    assert result.text == "This doesn't. work for me\n\nNew thought after a pause."
    assert spans(result) == [(None, "This doesn't. work for me"), (None, "New thought after a pause.")]
    assert times(result) == [(68000, 71000), (75000, 77000)]


def test_teams_guid_ids_voice_spans_wrapped_lines_and_missing_voice():
    result = parse_fixture("teams_meeting.vtt")
    assert result.format == "vtt-teams"
    assert spans(result) == [
        ("Nicola Blanc", "Good afternoon all and welcome to our monthly clinic staff meeting, part one "
                         "of two. Today we talk about the new rota."),
        ("Ian van Nieuwkerk", "Thanks. Can I ask one thing: who covers Fridays?"),
        (None, "Sure."),
        ("Speaker 1 (Room 2.14)", "We do, on alternate weeks."),
    ]
    assert times(result) == [(4489, 16585), (17100, 21000), (21400, 21900), (22000, 25500)]
    assert result.warnings == ["1 cue(s) without a <v> speaker tag (first at line 22): speaker left unknown"]


def test_teams_graph_unpadded_and_negative_times():
    result = parse_fixture("teams_graph_api.vtt")
    assert result.format == "vtt-teams"
    assert spans(result) == [
        ("User Name", "Already talking when it started. This is a transcript test."),
        ("Other Person", "And this is the reply."),
    ]
    assert times(result) == [(0, 5320), (5320, 7500)]
    assert any("negative times" in w for w in result.warnings)


def test_teams_graph_json_payloads():
    result = parse_fixture("teams_graph_json.vtt")
    assert spans(result) == [("User Name", "Hello from the API."), ("Second User", "Hi.")]


def test_noscribe_vtt_note_title_unclosed_voices_and_overlaps():
    result = parse_fixture("noscribe.vtt")
    assert result.format == "vtt-noscribe"
    assert result.metadata["title"] == "Ein Gespräch über Hörspiele"
    assert result.metadata["tool"] == "noScribe"
    assert result.metadata["options"]["language"] == "German (de)"
    assert "skipped 1 NOTE block(s) (kept in metadata)" in result.warnings
    assert spans(result) == [
        (None, "(12 seconds pause)"),
        ("S01", "Guten Tag, heute spreche ich mit einer Produzentin. (..) Es ist mir eine Ehre. "
                "//S02: Wie schön. // Ich freue mich sehr."),
        ("S00", "Ja."),
        ("S01", "Erinnern Sie sich an Ihr erstes Hörspiel?"),
        ("S02", "Okay, also war jemand anders schneller? //S00: So ungefähr. // Ja, ja, ja."),
    ]


def test_whisper_vtt_hourless_times():
    result = parse_fixture("whisper_hourless.vtt")
    assert result.format == "vtt"
    assert spans(result) == [
        (None, "Welcome back to the show. Today we talk about gardening."),
        (None, "First, the soil."),
    ]
    assert times(result) == [(0, 7850), (10500, 13000)]


def test_vtt_header_fields_style_region_and_markup():
    text = (
        "\ufeffWEBVTT\tMy title\nKind: captions\nLanguage: en\n\n"
        "STYLE\n::cue { color: red }\n\n"
        "REGION\nid:left width:40%\n\n"
        "intro\n00:00:01.000 --> 00:00:02.000 align:start position:10%\n"
        "<v.loud Ann Lee><c.yellow>Hello</c> <i>there</i> &lt;3 &amp;&nbsp;you&lrm;</v>\n\n"
        "00:00:02.500 --> 00:00:03.000\n<v Ann Lee><00:00:02.600>again <b>and</b> <u>again</u>\n"
    )
    result = parse_text(text, "x.vtt")
    assert result.metadata["title"] == "My title"
    assert result.metadata["kind"] == "captions" and result.metadata["language"] == "en"
    assert spans(result) == [("Ann Lee", "Hello there <3 &\u00a0you\u200e again and again")]


def test_two_voices_in_one_cue_become_two_turns():
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Bob>Hi</v> <v Alice>Hello</v>\n"
    result = parse_text(text, "x.vtt")
    assert spans(result) == [("Bob", "Hi"), ("Alice", "Hello")]


def test_missing_blank_line_between_cues_and_text_outside_cues():
    text = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nP1: First.\n2\n00:00:02.000 --> 00:00:03.000\n"
        "P1: Second.\n\nstray wrapped line\n\n3\n00:00:04.000 --> 00:00:05.000\nI: Third.\n"
    )
    result = parse_text(text, "x.vtt")
    assert spans(result) == [("P1", "First. Second. stray wrapped line"), ("I", "Third.")]
    assert any("outside a cue" in w for w in result.warnings)


def test_zoom_colon_in_speech_of_a_carried_speaker_is_not_a_label():
    text = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nModerator: Welcome back.\n\n"
        "2\n00:00:02.000 --> 00:00:03.000\nP12: Thanks: glad to be here.\n\n"
        "3\n00:00:03.000 --> 00:00:04.000\nModerator: Next question.\n\n"
        "4\n00:00:04.000 --> 00:00:05.000\nP12: Sure.\n"
    )
    result = parse_text(text, "x.vtt")
    assert result.format == "vtt-zoom"
    assert spans(result) == [
        ("Moderator", "Welcome back."),
        ("P12", "Thanks: glad to be here."),
        ("Moderator", "Next question."),
        ("P12", "Sure."),
    ]


def test_zoom_cue_opening_with_a_common_word_and_colon_continues_the_speaker():
    result = parse_fixture("zoom_colon_speech.transcript.vtt")
    assert result.format == "vtt-zoom"
    assert spans(result) == [
        ("Amira Haddad", "What did they say?"),
        ("Gareth Pryce", "The consultant said: Basically: you'll live with it."),
        ("Amira Haddad", "Right."),
        ("Dr. Melissa Ko", "Sorry I'm late."),  # a one-off full name still speaks
        ("Amira Haddad", "No problem."),
    ]
    assert [w for w in result.warnings if "read as speech" in w][0].startswith("line 13: 'Basically:'")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken_timestamp.vtt", "line 6: malformed timestamp '00:00:02.0a0'"),
        ("broken_timestamp.srt", "line 10: malformed timestamp '00:0x:01,000'"),
        ("broken_arrow.srt",
         "line 6: malformed timing line '00:00:05,000 -> 00:00:06,000' (expected 'start --> end')"),
        ("missing_arrow.vtt",
         "line 6: malformed timing line '00:00:05.000 00:00:06.000' (expected 'start --> end')"),
    ],
)
def test_broken_timestamps_name_the_line(name, message):
    with pytest.raises(InvalidInput) as info:
        parse_fixture(name)
    assert str(info.value) == message


def test_a_timing_line_with_a_misspelt_arrow_is_refused_not_read_as_speech():
    for line in ("00:00:05,000 => 00:00:06,000", "0:0:5.0 — 0:0:6.0", "00:05.000 to 00:06.000 align:start"):
        with pytest.raises(InvalidInput, match="line 6: malformed timing line"):
            importers.parse(f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA: hi\n\n{line}\nB: yo\n".encode(), "x.vtt")
    ok = importers.parse(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA: we met 10:30 to 11:00 today\n", "x.vtt")
    assert "10:30 to 11:00" in ok.text  # clocks in speech have no cue fractions


def test_a_cue_ending_before_it_starts_is_a_warning_and_ends_at_its_start():
    result = parse_fixture("backwards_cue.vtt")
    assert spans(result) == [("Ann", "The clock went backwards."), ("Ben", "Still fine.")]
    assert times(result) == [(5000, 5000), (6000, 7000)]
    assert "1 cue(s) end before they start (first at line 3); their end was set to their start" in result.warnings


def test_vtt_without_cues_or_header():
    with pytest.raises(InvalidInput, match="no cues"):
        importers.parse(b"WEBVTT\n\nNOTE only a note\n", "x.vtt")
    with pytest.raises(InvalidInput, match="not a WebVTT file"):
        importers.parse(b"I: hello\n", "x.vtt", "vtt")


def test_headerless_vtt_named_vtt_is_read_as_vtt():
    data = b"00:00:01.000 --> 00:00:02.000\nHello.\n"
    assert importers.detect(data, "talk.vtt") == "vtt"
    result = importers.parse(data, "talk.vtt")
    assert result.format == "vtt" and spans(result) == [(None, "Hello.")]
    assert "no WEBVTT header line; read as WebVTT anyway" in result.warnings


# ------------------------------------------------------------------------------ SRT

def test_srt_speaker_only_on_first_cue_is_carried_forward():
    result = parse_fixture("podcast_carry.srt")
    assert result.format == "srt"
    assert result.text == (
        "Travis: When you first get started in podcasting, it's hard to know where to begin.\n\n"
        "Dana: That's true. Here's a tip: start small. Really small.\n\n"
        "Travis: Agreed."
    )
    assert times(result) == [(179, 4100), (4500, 7250), (7300, 9000)]


def test_srt_cp1252_index_zero_dashes_markup_and_zero_length_cue():
    result = parse_fixture("subtitles_cp1252.srt")
    assert result.encoding == "cp1252"
    assert spans(result) == [
        (None, "Downloaded from an example subtitle site"),
        (None, "Where’s Colin going?"),
        ("Colin", "Home, I think."),
        ("Colin", "Café ahead – “careful”. Hidden zero-length cue."),
        (None, "Is it far?"),
        (None, "Not really, it's around the corner."),
    ]
    assert times(result)[1:3] == [(2500, 4000), (2500, 4000)]
    assert times(result)[3] == (4500, 6000)


def test_srt_whisperx_and_caption_arrow_speakers():
    result = parse_fixture("whisperx_speakers.srt")
    assert spans(result) == [
        ("SPEAKER_00", "Thanks for joining us today."),
        ("SPEAKER_01", "Happy to be here. Really."),
        ("ALICE", "And I am Alice."),
        (None, "Someone new speaks here. ♪♪♪"),
    ]


def test_srt_without_index_lines():
    result = parse_fixture("no_index.srt")
    assert spans(result) == [(None, "First line without an index. Second line, still none.")]
    assert times(result) == [(1000, 3500)]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_srt_in_utf16_with_bom(encoding):
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nJosé: ♪ hola ♪\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nJosé: adiós\r\n"
    bom = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
    result = importers.parse(bom + text.encode(encoding), "x.srt")
    check_invariants(result)
    assert result.encoding == encoding
    assert spans(result) == [("José", "♪ hola ♪ adiós")]


def test_srt_with_bom_and_utf8():
    data = b"\xef\xbb\xbf1\n00:00:01,000 --> 00:00:02,000\nHi\n"
    result = importers.parse(data, "x.srt")
    assert result.format == "srt" and result.encoding == "utf-8-sig"
    assert spans(result) == [(None, "Hi")]


def test_srt_without_cues():
    with pytest.raises(InvalidInput, match="no subtitle cues"):
        importers.parse(b"just text\n", "x.srt", "srt")


# ------------------------------------------------------------------------------ Whisper TXT

def test_whisper_txt_segments_pauses_and_hours():
    result = parse_fixture("whisper_output.txt")
    assert result.format == "whisper"
    assert spans(result) == [
        (None, "Welcome back to the show. Today we talk about gardening."),
        (None, "First, the soil."),
        (None, "Almost an hour in."),
    ]
    assert times(result) == [(0, 7850), (10500, 13000), (3598000, 3601500)]


def test_whisper_txt_with_whisperx_speakers():
    text = (
        "[00:00.000 --> 00:02.000]  [SPEAKER_00]: Hello.\n"
        "[00:02.000 --> 00:03.000]  [SPEAKER_00]: Again.\n"
        "[00:03.000 --> 00:04.000]  [SPEAKER_01]: Hi.\n"
    )
    result = parse_text(text, "x.txt")
    assert result.format == "whisper"
    assert spans(result) == [("SPEAKER_00", "Hello. Again."), ("SPEAKER_01", "Hi.")]


def test_markup_cleaner():
    assert clean('{\\an8}<font color="#fff" size=3>Hi</font> &#39;you&#x27; &#10;') == "Hi 'you'"
    assert clean("<i>- Fine &amp; dandy</i>") == "- Fine & dandy"
    assert clean("a < b and c > d") == "a < b and c > d"


def test_one_speaker_over_many_cues_is_one_long_turn():
    n = 30_000
    cues = "".join(
        f"{i}\n00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d} --> "
        f"00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}\n<v Ann>word{i}</v>\n\n"
        for i in range(n)
    )
    result = parse_text("WEBVTT\n\n" + cues, "long.vtt")
    assert len(result.turns) == 1
    assert spans(result) == [("Ann", " ".join(f"word{i}" for i in range(n)))]


def test_a_whisper_segment_with_a_misspelt_arrow_is_refused_not_joined_to_the_previous_one():
    good = "[00:00.000 --> 00:02.000]  Hello.\n"
    for broken in ("[00:02.000 -> 00:04.000]  Again.", "[00:02.000 => 00:04.000] Again.",
                   "[00:02.000 00:04.000] Again.", "[01:00:02.000 — 01:00:04.000]"):
        with pytest.raises(InvalidInput) as info:
            importers.parse(f"{good}{broken}\n".encode(), "x.txt")
        assert str(info.value) == (f"line 2: malformed time range {broken.split(']')[0] + ']'!r} "
                                   "(expected '[start --> end]')")
    # a bracketed aside that is not a time range still continues the segment
    result = parse_text(f"{good}[laughs] and more\n", "x.txt")
    assert spans(result) == [(None, "Hello. [laughs] and more")]
