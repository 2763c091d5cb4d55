"""Shared helpers for the importer tests (imported by name; pytest puts this folder on sys.path):
fixture paths, invariant checks and Word documents built in memory.

The DOCX layouts are built with python-docx so that each vendor's structure (runs, breaks,
headings, headers/footers, tables) is visible in the test code itself.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.shared import RGBColor

import importers
from qualcode.text import is_canonical

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def spans(result) -> list[tuple[str | None, str]]:
    """``(speaker, utterance)`` of every turn."""
    return [(t.speaker, result.text[t.start : t.end]) for t in result.turns]


def times(result) -> list[tuple[int | None, int | None]]:
    return [(t.start_ms, t.end_ms) for t in result.turns]


def check_invariants(result) -> None:
    """What every importer promises about its output."""
    text = result.text
    assert is_canonical(text)
    previous_end = 0
    for turn in result.turns:
        assert 0 <= previous_end <= turn.start < turn.end <= len(text), turn
        piece = text[turn.start : turn.end]
        assert piece == piece.strip(), turn
        previous_end = turn.end
    assert result.format in importers.FORMATS
    assert result.encoding in ("utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252", "docx")


def parse_fixture(name: str, **kwargs):
    result = importers.parse(fixture_bytes(name), name, **kwargs)
    check_invariants(result)
    return result


def _save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def generic_docx() -> bytes:
    """Typed in Word: bold title, details table, bold labels with and without colon, continuation
    paragraphs, a heading, a transcript table, page header and footer."""
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "CONFIDENTIAL – study header"
    doc.sections[0].footer.paragraphs[0].text = "Page 1"
    doc.add_paragraph().add_run("Interview P9 – Grace").bold = True
    doc.add_paragraph("Recorded in the clinic garden room")
    doc.add_paragraph().add_run("Interview details").bold = True
    details = doc.add_table(rows=2, cols=2)
    details.cell(0, 0).text, details.cell(0, 1).text = "Date", "2024-04-02"
    details.cell(1, 0).text, details.cell(1, 1).text = "Mode", "face-to-face"
    doc.add_paragraph("")
    p = doc.add_paragraph()
    p.add_run("Interviewer:").bold = True
    p.add_run(" Thanks for coming. Shall we start?")
    p = doc.add_paragraph()
    p.add_run("Grace").bold = True
    p.add_run(" Yes. It’s been a long week: three appointments.")
    doc.add_paragraph("A second paragraph from Grace. 🙂")
    p = doc.add_paragraph()
    p.add_run("Interviewer").bold = True
    p.add_run(": Tell me more.")
    doc.add_heading("Part two", level=2)
    table = doc.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [("Time", "Speaker", "Text"),
                                       ("00:10:05", "Grace", "The physio helped most."),
                                       ("00:10:20", "Interviewer:", "How so?")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    return _save(doc)


def teams_docx(break_run: bool = False) -> bytes:
    """Teams 2024/25: title, date, duration, events, one paragraph per turn with w:br runs.

    ``break_run``: the line break before the name in a run of its own (not bold), as some
    exports and re-saved files have it; the paragraph text is the same."""
    doc = Document()
    doc.add_paragraph().add_run("Clinic huddle-20251028_120720-Meeting Recording").bold = True
    doc.add_paragraph("October 28, 2025, 10:07AM")
    doc.add_paragraph("50m 58s")
    p = doc.add_paragraph()
    p.add_run().add_break()
    p.add_run("Nicola Blanc started transcription")
    for name, stamp, sentences in [
        ("Nicola Blanc", "0:04", ["Hi everyone and welcome.", "I'm hoping this works."]),
        ("Ian van Nieuwkerk", "0:50", ["Thanks."]),
        ("Ian van Nieuwkerk", "1:53", ["Yeah.", "Um."]),
        ("Nicola Blanc", "1:02:03", ["Over an hour: wow."]),
    ]:
        p = doc.add_paragraph()
        run = p.add_run()
        run.add_break()
        if break_run:
            run.bold = False
            run = p.add_run()
        run.bold = True
        run.add_text(name + "   ")
        grey = p.add_run(stamp)
        grey.font.color.rgb = RGBColor(0x61, 0x61, 0x61)
        for sentence in sentences:
            r = p.add_run()
            r.add_break()
            r.add_text(sentence)
    p = doc.add_paragraph()
    p.add_run().add_break()
    p.add_run("Nicola Blanc stopped transcription")
    return _save(doc)


def teams_2021_docx() -> bytes:
    doc = Document()
    for timing, name, text in [
        ("0:0:0.0 --> 0:0:1.510", "Some Body", "OK. Yeah."),
        ("0:0:1.510 --> 0:0:4.200", "Some Body", "Let's begin."),
        ("0:0:4.500 --> 0:0:6.0", "Other Person", "Fine by me."),
    ]:
        p = doc.add_paragraph()
        p.add_run(timing)
        for piece in (name, text):
            r = p.add_run()
            r.add_break()
            r.add_text(piece)
    return _save(doc)


def otter_docx() -> bytes:
    doc = Document()
    doc.add_paragraph("")
    doc.add_paragraph("Webcast: A new direction for allotments")
    doc.add_paragraph("Thu, Jan 22, 2026 4:07PM • 1:05:21")
    doc.add_heading("SUMMARY KEYWORDS", level=2)
    doc.add_paragraph("soil, compost, volunteers")
    doc.add_heading("SPEAKERS", level=2)
    doc.add_paragraph("Rebecca Wint, Kara Swift, Speaker 1")
    doc.add_heading("SUMMARY", level=1)
    doc.add_paragraph("Rebecca Wint: an AI summary that nobody said out loud.")
    doc.add_heading("TRANSCRIPT", level=1)
    doc.add_paragraph("https://otter.ai/u/abc123?view=summary")
    for name, stamp, text in [
        ("Rebecca Wint", "00:46", "A little bit. Okay, hi, welcome everybody."),
        ("Kara Swift", "13:17", "Thank you. {Applause} Great to be here."),
        ("Rebecca Wint", "1:01:44", "We are over the hour."),
    ]:
        p = doc.add_paragraph()
        p.add_run(name).bold = True
        p.add_run("  " + stamp)
        doc.add_paragraph(text)
        doc.add_paragraph("")
    doc.sections[0].footer.paragraphs[0].text = "\t\tTranscribed by https://otter.ai"
    return _save(doc)


def rev_docx() -> bytes:
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = (
        "This transcript was exported on Mar 05, 2023 - view latest version here."
    )
    doc.sections[0].footer.paragraphs[0].text = (
        "FINAL_episode (Completed 03/03/23) Transcript by Rev.com Page 1 of 1"
    )
    for label, text in [
        ("Lenny (00:00:03):", "Welcome to the episode. [inaudible 00:00:05]"),
        ("(00:00:47):", "Before we dive in, our sponsor."),
        ("Eeke De Milano (01:03:36):", "Thanks for having me."),
    ]:
        doc.add_paragraph(label)
        doc.add_paragraph(text)
        doc.add_paragraph("")
    return _save(doc)


def descript_docx() -> bytes:
    doc = Document()
    for stamp, name, text in [
        ("[00:00:00] ", "Deb Lin", " We don't talk about this enough."),
        ("[00:00:24] ", "Lenny", " Deb Lin is known for her book."),
        ("[00:00:58] ", None, "We also talk about introverts."),
        ("[00:01:30] ", "Deb Lin", " Exactly."),
    ]:
        p = doc.add_paragraph(style=None)
        p.add_run(stamp)
        if name:
            p.add_run(name).bold = True
        p.add_run(text)
    return _save(doc)


def names_on_own_line_docx() -> bytes:
    doc = Document()
    for name, text in [("Interviewer", "How are you?"), ("Anna", "Fine, thanks."),
                       ("Interviewer", "Good."), ("Anna", "And you?")]:
        doc.add_paragraph().add_run(name).bold = True
        doc.add_paragraph(text)
    return _save(doc)
