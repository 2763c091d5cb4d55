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
        "Recorded in the clinic garden room\n\n"
        "Interviewer: Thanks for coming. Shall we start?\n\n"
        "Grace: Yes. It’s been a long week: three appointments.\nA second paragraph from Grace. 🙂\n\n"
        "Interviewer: Tell me more.\n\n"
        "Grace: The physio helped most.\n\n"
        "Interviewer: How so?"
    )
    assert spans(result) == [
        (None, "Recorded in the clinic garden room"),  # text before the first label is kept
        ("Interviewer", "Thanks for coming. Shall we start?"),
        ("Grace", "Yes. It’s been a long week: three appointments.\nA second paragraph from Grace. 🙂"),
        ("Interviewer", "Tell me more."),
        ("Grace", "The physio helped most."),
        ("Interviewer", "How so?"),
    ]
    assert times(result)[4:] == [(605000, 620000), (620000, None)]
    assert "CONFIDENTIAL" not in result.text and "Page 1" not in result.text


@pytest.mark.parametrize("break_run", [False, True])
def test_teams_docx_current_layout(break_run):
    result = parse_docx(teams_docx(break_run))
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


def test_word_paragraphs_before_the_first_label_are_kept_as_speakerless_turns():
    from docx import Document

    doc = Document()
    doc.add_paragraph("Interview with participant 7, 12 March.")
    doc.add_paragraph("So I was saying before you switched it on, the pain started after the fall.")
    for line in ("Interviewer: Hello.", "Mrs Jones: Hello, love.", "Interviewer: Shall we?", "Mrs Jones: Yes."):
        doc.add_paragraph(line)
    buffer = io.BytesIO()
    doc.save(buffer)
    result = parse_docx(buffer.getvalue())
    assert spans(result)[:3] == [
        (None, "Interview with participant 7, 12 March."),
        (None, "So I was saying before you switched it on, the pain started after the fall."),
        ("Interviewer", "Hello."),
    ]


def test_forcing_a_docx_flavour():
    result = parse_docx(generic_docx(), format="docx-rev")
    assert result.format == "docx-rev"
    assert [s for s, _ in spans(result)] == [None, "Interviewer", "Grace", "Interviewer", "Grace", "Interviewer"]


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


def _forge_size(data: bytes, member: str, size: int) -> bytes:
    """Write a false uncompressed size for ``member`` into both its local and central headers."""
    blob = bytearray(data)
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = blob.find(signature)
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if blob[name_at : name_at + len(name)] == name:
                blob[at + offset : at + offset + 4] = size.to_bytes(4, "little")
            at = blob.find(signature, at + 4)
    return bytes(blob)


def _bomb_docx(megabytes: int, noise: bool = False) -> bytes:
    """A DOCX whose document.xml holds ``megabytes`` of spaces (or of hex noise, compressing ~2x)."""
    head = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    size = megabytes * 1024 * 1024
    filler = os.urandom(size // 2).hex().encode() if noise else b" " * size
    xml = head + filler + b"</w:body></w:document>"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(generic_docx())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, xml if info.filename == "word/document.xml" else zin.read(info))
    return out.getvalue()


def test_zip_bomb_with_forged_sizes_stays_in_bounded_memory():
    import tracemalloc

    forged = _forge_size(_bomb_docx(40), "word/document.xml", 5000)
    with zipfile.ZipFile(io.BytesIO(forged)) as z:
        assert z.getinfo("word/document.xml").file_size == 5000  # the headers pass every size check
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="does not match its recorded size"):
            importers.parse(forged, "forged.docx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # 40 MB of XML behind the forged header, never held at once


def test_members_are_read_under_a_running_cap_whatever_the_headers_say(monkeypatch):
    archive = docx_archive.open_archive(_bomb_docx(3, noise=True))  # honest sizes, within the caps
    monkeypatch.setattr(docx_archive, "MAX_UNCOMPRESSED", 2 * 1024 * 1024)  # as if the headers had lied
    with pytest.raises(InvalidInput, match="over the 2 MB limit"):
        docx_archive.read_part(archive, "word/document.xml")
    monkeypatch.setattr(docx_archive, "MAX_UNCOMPRESSED", 200 * 1024 * 1024)
    archive = docx_archive.open_archive(_bomb_docx(3, noise=True))
    monkeypatch.setattr(docx_archive, "MAX_RATIO", 1)
    with pytest.raises(InvalidInput, match="zip bomb: part 'word/document.xml'"):
        docx_archive.read_part(archive, "word/document.xml")


def test_docx_members_compressed_other_than_deflate_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(generic_docx())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    with pytest.raises(InvalidInput, match="unsupported compression method"):
        importers.parse(out.getvalue(), "x.docx")


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


W_MAIN = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
RAW_BODY = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{ns}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<w:body>
<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>Interviewer:</w:t></w:r><w:r><w:t xml:space="preserve"> See </w:t></w:r><w:hyperlink r:id="rId99"><w:r><w:t>the site</w:t></w:r></w:hyperlink><w:ins w:id="1" w:author="x"><w:r><w:t xml:space="preserve"> now</w:t></w:r></w:ins><w:del w:id="2" w:author="x"><w:r><w:delText> later</w:delText></w:r></w:del><w:r><w:t>.</w:t></w:r></w:p>
<w:sdt><w:sdtContent><w:p><w:r><w:t>Anna: In a content control.</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:tbl>
<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>Anna</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>First row text.</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p><w:r><w:t>Second row, same merged speaker cell.</w:t></w:r></w:p></w:tc></w:tr>
</w:tbl>
<w:p><w:r><w:t>Interviewer: Bye</w:t></w:r><w:r><w:br w:type="page"/></w:r><w:r><w:tab/><w:t>then</w:t><w:noBreakHyphen/><w:t>ok.</w:t></w:r></w:p>
</w:body></w:document>"""


@pytest.mark.parametrize("namespace", [W_MAIN, "http://purl.oclc.org/ooxml/wordprocessingml/main"])
def test_hyperlinks_tracked_changes_content_controls_and_merged_cells(namespace):
    data = _rezip(generic_docx(), replace={"word/document.xml": RAW_BODY.format(ns=namespace).encode()})
    result = parse_docx(data)
    assert spans(result) == [
        ("Interviewer", "See the site now."),
        ("Anna", "In a content control."),
        ("Anna", "First row text.\nSecond row, same merged speaker cell."),
        ("Interviewer", "Bye\tthen-ok."),
    ]


def test_xml_entities_are_not_expanded():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        f'<w:document xmlns:w="{W_MAIN}"><w:body><w:p><w:r><w:t>I: &c;</w:t></w:r></w:p>'
        "<w:p><w:r><w:t>R: fine</w:t></w:r></w:p></w:body></w:document>"
    )
    data = _rezip(generic_docx(), replace={"word/document.xml": bomb.encode()})
    try:
        result = importers.parse(data, "x.docx")
    except InvalidInput:
        return
    assert "a" * 100 not in result.text


def test_main_part_found_through_the_package_relationships():
    source = generic_docx()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        rels = z.read("_rels/.rels").replace(b"word/document.xml", b"word/main.xml")
        body = z.read("word/document.xml")
        ctypes = z.read("[Content_Types].xml").replace(b"/word/document.xml", b"/word/main.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == "word/document.xml":
                zout.writestr("word/main.xml", body)
            elif info.filename == "_rels/.rels":
                zout.writestr(info, rels)
            elif info.filename == "[Content_Types].xml":
                zout.writestr(info, ctypes)
            else:
                zout.writestr(info, zin.read(info))
    result = parse_docx(out.getvalue())
    assert [s for s, _ in spans(result)][:3] == [None, "Interviewer", "Grace"]
