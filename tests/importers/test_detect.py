"""Format detection (content first, the file name as a hint), forced formats and the public API."""

from __future__ import annotations

import pytest

import importers
from qualcode.errors import InvalidInput
from importer_helpers import (
    descript_docx,
    fixture_bytes,
    generic_docx,
    otter_docx,
    rev_docx,
    teams_2021_docx,
    teams_docx,
)

EXPECTED = {
    "zoom_transcript.vtt": "vtt-zoom",
    "zoom_captions.cc.vtt": "vtt",
    "teams_meeting.vtt": "vtt-teams",
    "teams_graph_api.vtt": "vtt-teams",
    "teams_graph_json.vtt": "vtt-teams",
    "noscribe.vtt": "vtt-noscribe",
    "whisper_hourless.vtt": "vtt",
    "podcast_carry.srt": "srt",
    "subtitles_cp1252.srt": "srt",
    "whisperx_speakers.srt": "srt",
    "no_index.srt": "srt",
    "broken_timestamp.srt": "srt",
    "broken_timestamp.vtt": "vtt",
    "otter_export.txt": "otter",
    "otter_pasted.md": "otter",
    "otter_no_names.txt": "otter",
    "rev_export.txt": "rev",
    "rev_long.txt": "rev",
    "noscribe.txt": "noscribe",
    "whisper_output.txt": "whisper",
    "verbatim_interview.txt": "text",
    "french_labels.txt": "text",
    "classroom.txt": "text",
    "role_codes.txt": "text",
    "descript_style.txt": "text",
    "markdown_bold.md": "markdown",
    "no_labels.txt": "text",
    "cjk_emoji.txt": "text",
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_detect_fixture(name, fmt):
    assert importers.detect(fixture_bytes(name), name) == fmt


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_detection_is_by_content_not_by_file_name(name, fmt):
    assert importers.detect(fixture_bytes(name), "renamed.dat") == fmt


def test_parse_reports_the_detected_format():
    for name, fmt in EXPECTED.items():
        if name.startswith("broken"):
            continue
        assert importers.parse(fixture_bytes(name), name).format == fmt, name


@pytest.mark.parametrize(
    ("build", "fmt"),
    [
        (generic_docx, "docx"),
        (teams_docx, "docx-teams"),
        (teams_2021_docx, "docx-teams"),
        (otter_docx, "docx-otter"),
        (rev_docx, "docx-rev"),
        (descript_docx, "docx"),
    ],
)
def test_detect_word_layouts(build, fmt):
    data = build()
    assert importers.detect(data, "interview.docx") == fmt
    assert importers.detect(data, "no_suffix") == fmt  # zip bytes are recognised without the name


def test_markdown_by_name_or_by_bold_labels():
    assert importers.detect(b"Ana: Hola.\nBen: Hi.\n", "notes.md") == "markdown"
    assert importers.detect(b"**Ana:** Hola.\n\n**Ben:** Hi.\n", "notes.txt") == "markdown"


def test_text_that_only_mentions_a_word_file_is_text():
    assert importers.detect(b"I: see the attached.docx\nR: ok\n", "notes.docx") == "text"


def test_formats_table_and_defaults():
    assert set(importers.FORMATS) == {
        "text", "markdown", "docx", "docx-teams", "docx-otter", "docx-rev", "vtt", "vtt-zoom",
        "vtt-teams", "vtt-noscribe", "srt", "otter", "rev", "whisper", "noscribe",
    }
    assert all(isinstance(v, str) and v and "\n" not in v for v in importers.FORMATS.values())
    assert importers.DEFAULT_MAX_BYTES == 50 * 1024 * 1024


def test_unknown_format_is_refused():
    with pytest.raises(InvalidInput, match="unknown format 'pdf'"):
        importers.parse(b"I: hi\n", "x.txt", "pdf")


@pytest.mark.parametrize("fmt", ["vtt", "vtt-zoom", "vtt-teams", "vtt-noscribe"])
def test_forced_vtt_flavour_keeps_the_name_and_reads_the_content(fmt):
    result = importers.parse(fixture_bytes("zoom_transcript.vtt"), "x.vtt", fmt)
    assert result.format == fmt
    assert result.turns[0].speaker == "Dr. Melissa Ko"


def test_forced_srt_reader_reads_a_vtt_body():
    result = importers.parse(fixture_bytes("whisper_hourless.vtt"), "x.vtt", "srt")
    assert result.format == "srt" and len(result.turns) == 2
