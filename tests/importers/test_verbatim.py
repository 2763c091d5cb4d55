"""Text kept in place: plain verbatim, Markdown, Otter TXT, Rev TXT, noScribe TXT."""

from __future__ import annotations

import pytest

import importers
from importer_helpers import check_invariants, fixture_bytes, parse_fixture, spans, times


def parse_text(text: str, name: str = "x.txt", **kwargs):
    result = importers.parse(text.encode("utf-8"), name, **kwargs)
    check_invariants(result)
    assert result.text == text.replace("\r\n", "\n")  # in place: the text IS the file
    return result


def test_plain_interview_with_header_block_continuations_and_marks():
    result = parse_fixture("verbatim_interview.txt")
    assert result.format == "text"
    assert result.text == fixture_bytes("verbatim_interview.txt").decode()
    assert result.metadata == {"title": "Interview with P1", "date": "12 March 2024", "mode": "phone"}
    assert spans(result) == [
        ("Interviewer", "Thank you for taking part. Can you tell me about your first visit?"),
        (
            "P1",
            "Sure. The thing is: I was nervous. [inaudible 00:12:03] Then the nurse came in.\n\n"
            "It took a while before I felt at home, to be honest.\n\n[crosstalk]",
        ),
        ("Interviewer", "What helped?"),
        ("P1", "The volunteers, mostly. {Applause} They were kind (laughs)."),
    ]
    assert times(result) == [(None, None)] * 4


def test_french_space_before_colon_typo_label_and_leading_space():
    result = parse_fixture("french_labels.txt")
    assert spans(result) == [
        ("Interviewer1", "Bonjour, merci d’être là."),
        ("Interviewee", "Avec plaisir."),
        ("Interviewer2", "Une question : comment ça va ?"),
        ("Interviewee", "Bien."),
        ("Interviewer2 2", "Et ensuite ?"),
        ("Interviewee", "On verra."),
    ]


def test_tab_after_colon_dash_separator_and_group_label():
    result = parse_fixture("classroom.txt")
    assert spans(result) == [
        ("Teacher 4", "Students it’s time to learn."),
        ("Multiple Students", "Yes, Miss!"),
        ("Teacher 4", "Good. we‘re starting with fractions. [Cross Talk 3:00]"),
        ("Student 2", "Can I go first?"),
        ("Teacher 4", "Of course."),
    ]


def test_role_codes_with_stamps_after_the_label():
    result = parse_fixture("role_codes.txt")
    assert spans(result) == [
        ("I", "Could you describe your role?"),
        ("R", "I'm a ward nurse. Note: I've been here for ten years."),
        ("I", "And before that?"),
        ("R", "Agency work, mostly."),
        ("B", "Ich war auch dabei."),
    ]
    assert times(result) == [(5000, 9000), (9000, 83000), (83000, None), (None, None), (None, None)]


def test_bracket_prefix_stamps_and_nameless_stamp_continues_the_speaker():
    result = parse_fixture("descript_style.txt")
    assert spans(result) == [
        ("Deb Lin", "We don't talk about this, by the way, often enough."),
        ("Lenny", "Deb Lin is maybe best known for her book."),
        ("Lenny", "We also talk about introverts at work."),
        ("Deb Lin", "Exactly right."),
    ]
    assert times(result) == [(0, 24000), (24000, 58000), (58000, 90000), (90000, None)]


def test_markdown_bold_labels_preamble_mid_turn_marker_and_trailing_section():
    result = parse_fixture("markdown_bold.md")
    assert result.format == "markdown"
    assert result.metadata["title"] == "Episode 12"
    assert spans(result) == [
        (None, "Some notes before the transcript."),  # preamble text: searchable, no speaker
        ("Jonas Roland", "hi everyone. And welcome to the show."),
        ("Ben Walker", "Hey, my name is Ben. [00:00:45] I work on open source.\n\nStill Ben, a second paragraph."),
        ("Jonas Roland", "Awesome. And I'm Jonas."),  # the "## Links" section is not speech
    ]
    assert times(result) == [(None, None), (0, None), (None, None), (60000, None)]


def test_speech_before_the_first_label_is_a_turn_without_a_speaker():
    text = (
        "Interview with participant 7, 12 March.\n\n"
        "So I was saying before you switched it on, the pain started after the fall, and nobody believed me.\n\n"
        "Interviewer: Hello.\n\nMrs Jones: Hello, love.\n\nInterviewer: Shall we?\n"
    )
    result = parse_text(text)
    assert spans(result) == [
        (None, "So I was saying before you switched it on, the pain started after the fall, and nobody believed me."),
        ("Interviewer", "Hello."),
        ("Mrs Jones", "Hello, love."),
        ("Interviewer", "Shall we?"),
    ]
    assert result.metadata["title"] == "Interview with participant 7, 12 March."  # a short first line
    speech = "So I was saying before you switched it on, the pain started after the fall, honestly."
    lines = parse_text(f"{speech}\nInterviewer: Hello.\nMrs Jones: Hi.\nInterviewer: Ok.\n")  # no blank lines
    assert spans(lines)[0] == (None, speech) and "title" not in lines.metadata


def test_preamble_tool_lines_marks_and_metadata_are_not_turns():
    result = parse_fixture("noscribe.txt")
    assert all(t.speaker is not None for t in result.turns)
    result = parse_fixture("verbatim_interview.txt")
    assert result.turns[0].speaker == "Interviewer"


def test_markdown_bold_with_colon_outside():
    result = parse_text("**Ana**: Hola.\n\n**Ben**: Hi: there.\n", "notes.md")
    assert spans(result) == [("Ana", "Hola."), ("Ben", "Hi: there.")]


def test_no_labels_gives_one_turn_per_paragraph():
    result = parse_fixture("no_labels.txt")
    assert spans(result) == [
        (None, "This is a field note without any speakers."),
        (None, "It has a second paragraph,\nwrapped over two lines."),
        (None, "And a third: with a colon in it."),
    ]
    assert result.warnings == ["no speaker labels found: one turn per paragraph, speaker unknown"]


def test_no_labels_and_no_blank_lines_gives_one_turn_per_line():
    result = parse_text("first line\nsecond: line\n")
    assert spans(result) == [(None, "first line"), (None, "second: line")]


def test_cjk_full_width_colon_and_emoji():
    result = parse_fixture("cjk_emoji.txt")
    assert spans(result) == [
        ("采访者", "你好，谢谢你参加这次访谈。"),
        ("受访者", "不客气 😊 很高兴来。"),
        ("采访者", "你第一次来医院是什么时候？"),
        ("受访者", "2019年，我记得很清楚 🏥。"),
    ]


def test_a_colon_in_speech_never_starts_a_turn():
    text = (
        "Interviewer: Tell me.\n"
        "Participant: Well, here's the thing: it hurts.\n"
        "So my answer: yes.\n"
        "Interviewer: And then?\n"
        "Participant: https://example.org is the site, at 10:30 every day.\n"
    )
    result = parse_text(text)
    assert spans(result) == [
        ("Interviewer", "Tell me."),
        ("Participant", "Well, here's the thing: it hurts.\nSo my answer: yes."),
        ("Interviewer", "And then?"),
        ("Participant", "https://example.org is the site, at 10:30 every day."),
    ]


def test_a_single_lead_in_word_is_not_a_speaker_but_a_single_name_is():
    text = (
        "Moderator: Welcome.\nP1: Thanks.\nNote: this line is speech of P1.\n"
        "Moderator: Anyone else?\nP1: No.\nDr. Amelia Stone: I have one thing.\nModerator: Go on.\nP1: Ok.\n"
    )
    result = parse_text(text)
    assert spans(result)[1] == ("P1", "Thanks.\nNote: this line is speech of P1.")
    assert ("Dr. Amelia Stone", "I have one thing.") in spans(result)


def test_a_one_off_common_word_label_is_speech_with_a_warning_but_a_one_off_name_speaks():
    result = parse_fixture("focus_group_colons.txt")
    assert spans(result) == [
        ("Moderator", "What was the hardest week?"),
        ("Priya", "The first one after discharge.\n\nHonestly: I don't know how we got through it."),
        ("Moderator", "And the appointments?"),
        ("Priya", "Monday: physio. Tuesday: the group. Every week.\n\nMonday: the worst day, always."),
        ("Sarah", "For us it was the nights."),
        ("Moderator", "Thank you all."),
    ]
    warned = [w for w in result.warnings if "read as speech" in w]
    assert [w.split(":")[0] for w in warned] == ["line 7", "line 13"]
    assert "'Honestly:'" in warned[0] and "'Monday:'" in warned[1]


def test_a_one_off_label_the_study_maps_is_a_speaker_however_common_the_word():
    text = "Moderator: Who is next?\n\nP1: Me.\n\nMay: And me.\n\nModerator: Thanks.\n\nP1: Bye.\n"
    assert spans(parse_text(text))[1] == ("P1", "Me.\n\nMay: And me.")
    mapped = parse_text(text, mapped={"may"})  # participant names match case-insensitively
    assert spans(mapped)[2] == ("May", "And me.") and not mapped.warnings


def test_the_study_mapping_is_read_only_when_a_one_off_label_asks():
    from importers.labels import MappedLabels

    calls = []

    def known():
        calls.append(1)
        return ["may"]

    recurring = "Moderator: Who is next?\n\nP1: Me.\n\nModerator: Thanks.\n\nP1: Bye.\n"
    parse_text(recurring, mapped=MappedLabels(known))
    assert calls == []  # every label recurs: the mapping is not needed
    text = "Moderator: Who is next?\n\nP1: Me.\n\nMay: And me.\n\nModerator: Thanks.\n\nP1: Bye.\n"
    lazy = MappedLabels(known)
    assert spans(parse_text(text, mapped=lazy))[2] == ("May", "And me.")
    assert calls == [1]  # read once, however often it is consulted
    assert "MAY" in lazy and " may " in lazy and "Mayor" not in lazy


def test_qualcode_style_stamps_and_caption_arrows():
    text = (
        "{00:34:20} Host: One.\n"
        "#00:34:25.500# Guest: Two.\n"
        "[00.34.30] Host: Three.\n"
        ">> GUEST: Four. #00:01:02-5#\n"
        "[02.34] Host: Five.\n"
    )
    result = parse_text(text)
    assert spans(result) == [
        ("Host", "One."),
        ("Guest", "Two."),
        ("Host", "Three."),
        ("GUEST", "Four. #00:01:02-5#"),
        ("Host", "Five."),
    ]
    assert [t.start_ms for t in result.turns] == [2060000, 2065500, 2070000, None, 154000]


def test_label_on_its_own_line_and_name_colon_stamp_variant():
    text = "Interviewer:\nHow are you?\n\nMaria: (03:31)\nFine. [inaudible 00:03:31]\n"
    result = parse_text(text)
    assert spans(result) == [("Interviewer", "How are you?"), ("Maria", "Fine. [inaudible 00:03:31]")]
    assert result.turns[1].start_ms == 211000


def test_a_label_without_speech_is_skipped_with_a_warning():
    result = parse_text("I: Hello?\nR:\nI: Still there?\nR: Yes.\n")
    assert spans(result) == [("I", "Hello?"), ("I", "Still there?"), ("R", "Yes.")]
    assert result.warnings == ["line 2: speaker label 'R' without speech, skipped"]


def test_very_long_turn_kept_whole():
    long = " ".join(["word"] * 20000) + " — end 😊"
    result = parse_text(f"I: Go ahead.\n\nP2: {long}\n\nI: Thanks.\n")
    assert spans(result)[1] == ("P2", long)


def test_otter_txt_headers_footer_and_hour_stamps():
    result = parse_fixture("otter_export.txt")
    assert result.format == "otter"
    assert spans(result) == [
        ("Emma", "It's more important than ever to plan the garden before spring, and today we\nlook at how to do that."),
        ("Kelly", "Welcome to the allotment hour."),
        ("Unknown Speaker", "I'm Kelly. I'm Ali. {Applause}"),
        ("Emma", "How are you doing"),
        ("Tailor", "today?"),
        ("Emma", "We made it past the hour mark."),  # the footer is not part of the last turn
    ]
    assert [t.start_ms for t in result.turns] == [0, 34000, 35000, 145000, 146000, 5896000]
    assert result.turns[0].end_ms == 34000 and result.turns[-1].end_ms is None
    assert "Transcribed by https://otter.ai" in result.text


def test_otter_pasted_into_markdown_with_preamble():
    result = parse_fixture("otter_pasted.md")
    assert result.format == "otter"
    assert spans(result) == [
        (None, "Recorded in the community hall."),  # under "## Details": kept as a speakerless turn
        ("Emma", "Hello and welcome."),
        ("Kelly", "Thanks, Emma."),
    ]
    assert result.metadata["title"] == "Transcript: Allotment hour, episode 4"


def test_otter_with_speaker_names_switched_off():
    result = parse_fixture("otter_no_names.txt")
    assert result.format == "otter"
    assert spans(result) == [(None, "First part of the talk."), (None, "Second part, after a pause.")]
    assert times(result) == [(0, 15000), (15000, None)]


def test_rev_txt_crlf_nameless_continuation_and_inline_tags():
    result = parse_fixture("rev_export.txt")
    assert result.format == "rev"
    assert "\r" not in result.text
    assert spans(result) == [
        ("Lenny", "Welcome to a very special episode of the podcast. [inaudible 00:00:05] We begin now."),
        ("Lenny", "Before we dive in, a quick word about our sponsor."),
        ("Eeke De Milano", "Thanks for having me. [crosstalk 00:03:40]"),
        ("Lenny", "Of course: it's a pleasure. [laughter]"),
    ]
    assert times(result) == [(3000, 47000), (47000, 216000), (216000, 221000), (221000, None)]


def test_rev_hour_long_labels():
    result = parse_fixture("rev_long.txt")
    assert [t.start_ms for t in result.turns] == [0, 3598000, 3602000]
    assert [s for s, _ in spans(result)] == ["Host", "Guest", "Host"]


def test_noscribe_txt_header_overlaps_and_pauses():
    result = parse_fixture("noscribe.txt")
    assert result.format == "noscribe"
    assert result.metadata["title"] == "Ein Gespräch über Hörspiele"
    assert result.metadata["tool_version"] == "0.7"
    assert result.metadata["audio_file"] == "./gespraech.mp3"
    assert result.metadata["options"]["speaker_detection"] == "auto"
    assert spans(result) == [
        ("S01", "Guten Tag, heute spreche ich mit einer Produzentin. (..) Es ist mir eine Ehre. "
                "//S02: Wie schön. // Ich freue mich sehr."),
        ("S00", "Ja."),
        ("S01", "Erinnern Sie sich an Ihr erstes Hörspiel? [00:00:38] Das war doch 1970."),
        ("S00", "Toll. //S02: Ja, genau. // Und das ist lange her. (.)"),
    ]
    assert [t.start_ms for t in result.turns] == [12000, 36000, 36000, 68000]


@pytest.mark.parametrize("fmt", ["text", "markdown", "otter", "rev", "noscribe"])
def test_forcing_an_in_place_format_names_it(fmt):
    result = importers.parse(b"I: one\nR: two\n", "x.txt", fmt)
    assert result.format == fmt
    assert spans(result) == [("I", "one"), ("R", "two")]


def test_markdown_heading_speakers_and_a_section_heading():
    text = (
        "# Study X\n\n### Interviewer\nHow are you?\n\n### Anna\nFine: thanks.\nMore.\n\n"
        "### Interviewer\nGood.\n\n## Appendix\nnot speech\n"
    )
    result = parse_text(text, "x.txt")
    assert result.format == "markdown"
    assert spans(result) == [("Interviewer", "How are you?"), ("Anna", "Fine: thanks.\nMore."), ("Interviewer", "Good.")]


def test_zoom_chat_tab_separated_lines():
    text = (
        "00:21:14\tAndrew Knight:\tHello Everyone - It’s great to see you\n"
        "00:22:02\tDr. Melissa Ko:\tReacted to \"Lots of engagement c...\" with 👍🏻\n"
        "00:23:00\tAndrew Knight:\tBye\n"
    )
    result = parse_text(text, "meeting_saved_chat.txt")
    assert spans(result) == [
        ("Andrew Knight", "Hello Everyone - It’s great to see you"),
        ("Dr. Melissa Ko", "Reacted to \"Lots of engagement c...\" with 👍🏻"),
        ("Andrew Knight", "Bye"),
    ]
    assert [t.start_ms for t in result.turns] == [1274000, 1322000, 1380000]


def test_a_lone_line_shaped_like_another_vendor_label_is_speech():
    text = "I: When?\nR: The meeting was at  10:30\nI: And **Note:** this?\nR: Fine.\n"
    result = parse_text(text)
    assert spans(result) == [
        ("I", "When?"),
        ("R", "The meeting was at  10:30"),
        ("I", "And **Note:** this?"),
        ("R", "Fine."),
    ]
