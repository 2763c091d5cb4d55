"""Word transcripts (generic, Teams, Otter, Rev, bracket-prefix) and DOCX safety checks."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

import importers
from importers import docx_archive
from qualcode.errors import InvalidInput
from importer_helpers import (
    check_invariants,
    descript_docx,
    generic_docx,
    names_on_own_line_docx,
    otter_docx,
    rev_docx,
    spans,
    teams_2021_docx,
    teams_docx,
    times,
)


def parse_docx(data: bytes, name: str = "x.docx", **kwargs):
    result = importers.parse(data, name, **kwargs)
    check_invariants(result)
    assert result.encoding == "docx"
    return result


def test_generic_word_transcript():
    result = parse_docx(generic_docx())
    assert result.format == "docx"
    assert result.metadata == {"title": "Interview P9 – Grace", "date": "2024-04-02", "mode": "face-to-face"}
    assert result.text == (
        "Interviewer: Thanks for coming. Shall we start?\n\n"
        "Grace: Yes. It’s been a long week: three appointments.\nA second paragraph from Grace. 🙂\n\n"
        "Interviewer: Tell me more.\n\n"
        "Grace: The physio helped most.\n\n"
        "Interviewer: How so?"
    )
    assert spans(result) == [
        ("Interviewer", "Thanks for coming. Shall we start?"),
        ("Grace", "Yes. It’s been a long week: three appointments.\nA second paragraph from Grace. 🙂"),
        ("Interviewer", "Tell me more."),
        ("Grace", "The physio helped most."),
        ("Interviewer", "How so?"),
    ]
    assert times(result)[3:] == [(605000, 620000), (620000, None)]
    assert "CONFIDENTIAL" not in result.text and "Page 1" not in result.text


def test_teams_docx_current_layout():
    result = parse_docx(teams_docx())
    assert result.format == "docx-teams"
    assert result.metadata == {
        "title": "Clinic huddle-20251028_120720-Meeting Recording",
        "date": "October 28, 2025, 10:07AM",
        "duration": "50m 58s",
        "transcription_events": 2,
    }
    assert spans(result) == [
        ("Nicola Blanc", "Hi everyone and welcome. I'm hoping this works."),
        ("Ian van Nieuwkerk", "Thanks."),
        ("Ian van Nieuwkerk", "Yeah. Um."),
        ("Nicola Blanc", "Over an hour: wow."),
    ]
    assert times(result) == [(4000, 50000), (50000, 113000), (113000, 3723000), (3723000, None)]
    assert "transcription" not in result.text


def test_teams_docx_2021_cue_layout_is_merged_like_captions():
    result = parse_docx(teams_2021_docx())
    assert result.format == "docx-teams"
    assert spans(result) == [("Some Body", "OK. Yeah. Let's begin."), ("Other Person", "Fine by me.")]
    assert times(result) == [(0, 4200), (4500, 6000)]


def test_otter_docx_only_the_transcript_section():
    result = parse_docx(otter_docx(), "webcast_otter_ai.docx")
    assert result.format == "docx-otter"
    assert result.metadata == {
        "title": "Webcast: A new direction for allotments",
        "date": "Thu, Jan 22, 2026 4:07PM",
        "duration": "1:05:21",
        "keywords": ["soil", "compost", "volunteers"],
        "speakers": ["Rebecca Wint", "Kara Swift", "Speaker 1"],
    }
    assert spans(result) == [
        ("Rebecca Wint", "A little bit. Okay, hi, welcome everybody."),
        ("Kara Swift", "Thank you. {Applause} Great to be here."),
        ("Rebecca Wint", "We are over the hour."),
    ]
    assert [t.start_ms for t in result.turns] == [46000, 797000, 3704000]
    assert "AI summary" not in result.text and "otter.ai" not in result.text


def test_otter_docx_is_detected_by_its_footer_without_the_file_name_hint():
    assert importers.detect(otter_docx(), "webcast.docx") == "docx-otter"


def test_rev_docx_skips_header_and_footer():
    result = parse_docx(rev_docx())
    assert result.format == "docx-rev"
    assert spans(result) == [
        ("Lenny", "Welcome to the episode. [inaudible 00:00:05]"),
        ("Lenny", "Before we dive in, our sponsor."),
        ("Eeke De Milano", "Thanks for having me."),
    ]
    assert [t.start_ms for t in result.turns] == [3000, 47000, 3816000]
    assert "Rev.com" not in result.text and "exported" not in result.text


def test_bracket_prefix_docx_with_bold_names_without_colon():
    result = parse_docx(descript_docx())
    assert spans(result) == [
        ("Deb Lin", "We don't talk about this enough."),
        ("Lenny", "Deb Lin is known for her book."),
        ("Lenny", "We also talk about introverts."),
        ("Deb Lin", "Exactly."),
    ]
    assert [t.start_ms for t in result.turns] == [0, 24000, 58000, 90000]


def test_bold_names_on_their_own_line():
    result = parse_docx(names_on_own_line_docx())
    assert spans(result) == [
        ("Interviewer", "How are you?"),
        ("Anna", "Fine, thanks."),
        ("Interviewer", "Good."),
        ("Anna", "And you?"),
    ]


def test_forcing_a_docx_flavour():
    result = parse_docx(generic_docx(), format="docx-rev")
    assert result.format == "docx-rev"
    assert [s for s, _ in spans(result)] == ["Interviewer", "Grace", "Interviewer", "Grace", "Interviewer"]


# ------------------------------------------------------------------------------ safety

def _rezip(source: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, (replace or {}).get(info.filename, zin.read(info)))
        for name, blob in (add or {}).items():
            zout.writestr(name, blob)
    return out.getvalue()


@pytest.mark.parametrize("name", ["x.docx", "x.txt"])
def test_truncated_docx(name):
    data = generic_docx()
    for cut in (len(data) // 2, 100, 4):
        with pytest.raises(InvalidInput, match="truncated or corrupt"):
            importers.parse(data[:cut], name)


def test_encrypted_docx_ole_container():
    data = bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4000)
    with pytest.raises(InvalidInput, match="encrypted"):
        importers.parse(data, "secret.docx")
    with pytest.raises(InvalidInput, match="encrypted"):
        importers.detect(data, "secret.docx")


def test_zip_bomb_by_compression_ratio():
    bomb = _rezip(generic_docx(), add={"word/media/image1.bin": b"\0" * (20 * 1024 * 1024)})
    with pytest.raises(InvalidInput, match="zip bomb"):
        importers.parse(bomb, "bomb.docx")


def test_zip_bomb_by_total_size(monkeypatch):
    monkeypatch.setattr(docx_archive, "MAX_UNCOMPRESSED", 20_000)
    data = _rezip(generic_docx(), add={"word/media/noise.bin": os.urandom(30_000)})
    with pytest.raises(InvalidInput, match="expands to .* over the .* limit"):
        importers.parse(data, "big.docx")


def test_zip_without_word_document():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(InvalidInput, match="no word/document.xml"):
        importers.parse(out.getvalue(), "x.docx")


def test_docx_with_broken_xml():
    data = _rezip(generic_docx(), replace={"word/document.xml": b"<w:document><oops"})
    with pytest.raises(InvalidInput, match="not a readable Word document"):
        importers.parse(data, "x.docx")


def test_random_bytes_named_docx_are_refused():
    with pytest.raises(InvalidInput):
        importers.parse(os.urandom(3000) + b"\0", "x.docx")


def test_forced_docx_on_text_bytes():
    with pytest.raises(InvalidInput, match="not a zip archive"):
        importers.parse(b"I: hello\n", "x.txt", "docx")


def test_word_document_without_text():
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    with pytest.raises(InvalidInput, match="no transcript text"):
        importers.parse(buffer.getvalue(), "empty.docx")
