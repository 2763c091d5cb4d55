"""Bytes -> canonical text: BOMs, UTF-16, cp1252, line endings, binary refusal, size limits."""

from __future__ import annotations

import os

import pytest

import importers
from importers.decoding import decode, human_size
from qualcode.errors import InvalidInput
from importer_helpers import check_invariants, spans

TEXT = "Interviewer: Don’t worry — café? 😊\r\nP1: “Fine”\u00a0thanks.\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), "utf-16-le"),
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),  # BOM-less UTF-16 is recognised too
    ],
)
def test_unicode_encodings_decode_to_the_same_canonical_text(data, encoding):
    text, found = decode(data)
    assert found == encoding
    assert text == "Interviewer: Don’t worry — café? 😊\nP1: “Fine”\u00a0thanks.\n"
    result = importers.parse(data, "x.txt")
    check_invariants(result)
    assert result.encoding == encoding
    assert spans(result) == [
        ("Interviewer", "Don’t worry — café? 😊"),
        ("P1", "“Fine”\u00a0thanks."),
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_with_characters_that_have_a_nul_byte(codec):
    """😀 is D83D DE00 and 一 is 4E00: a NUL on the 'wrong' side of a pair must not mean binary."""
    text = "Interviewer: 😀 一 — 中文 ok?\nP1: Fine 😀, thanks.\nInterviewer: Good.\n"
    decoded, found = decode(text.encode(codec))
    assert (decoded, found) == (text, codec)
    with pytest.raises(InvalidInput, match="binary"):  # a real NUL character still is binary
        decode(("Interviewer: a\x00b\n" * 5).encode(codec))


def test_cp1252_fallback_maps_0x92_to_right_single_quote():
    data = b"Interviewer: It\x92s \x93quoted\x94 \x96 \x80 5 caf\xe9\r\nR: Ok\x85\r\n"
    result = importers.parse(data, "x.txt")
    assert result.encoding == "cp1252"
    assert spans(result) == [("Interviewer", "It’s “quoted” – € 5 café"), ("R", "Ok…")]


def test_bytes_that_are_neither_utf8_nor_cp1252_are_refused_not_read_as_latin1():
    # 0x81 and 0x8D are undefined in cp1252; latin-1 would silently accept them
    with pytest.raises(InvalidInput, match="neither UTF-8 nor Windows-1252"):
        importers.parse(b"Name: caf\xe9 \x81\x8d", "x.txt")


@pytest.mark.parametrize(
    "ending", ["\r\n", "\r", "\u2028", "\u2029", "\u0085"], ids=["crlf", "cr", "ls", "ps", "nel"]
)
def test_line_endings_are_normalised(ending):
    data = f"I: one{ending}{ending}R: two{ending}".encode("utf-8")
    result = importers.parse(data, "x.txt")
    assert result.text == "I: one\n\nR: two\n"
    assert spans(result) == [("I", "one"), ("R", "two")]


def test_mixed_crlf_and_cr():
    result = importers.parse(b"I: one\r\nR: two\rI: three\n", "x.txt")
    assert result.text == "I: one\nR: two\nI: three\n"
    assert [s for s, _ in spans(result)] == ["I", "R", "I"]


def test_nbsp_smart_quotes_and_wrong_way_quote_are_kept():
    text = "Teacher 4:\twe‘re here\u00a0now, “ok” … done\n"
    result = importers.parse(text.encode(), "x.txt")
    assert result.text == text
    assert spans(result) == [("Teacher 4", "we‘re here\u00a0now, “ok” … done")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"\xef\xbb\xbf", "file is empty"),
        (b" \n\t\r\n", "file is empty"),
        (b"abc\x00def", "binary"),
        (os.urandom(4096) + b"\x00", "binary"),
        (bytes(range(1, 9)) * 50, "control characters"),
        (b"\x89PNG\r\n\x1a\n\x81\x8d\x8f", "neither UTF-8 nor Windows-1252"),
        (b"\xff\xfeA\x00B", "UTF-16"),
    ],
    ids=["empty", "bom-only", "whitespace", "nul", "random", "controls", "png", "odd-utf16"],
)
def test_bad_bytes_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidInput, match=message):
        importers.parse(data, "x.txt")
    with pytest.raises(InvalidInput):
        importers.detect(data, "x.txt")


def test_over_the_size_limit_message():
    data = b"x" * int(61.2 * 1024 * 1024)
    with pytest.raises(InvalidInput) as info:
        importers.parse(data, "big.txt")
    assert str(info.value) == "file is 61.2 MB, over the 50 MB import limit"


def test_configurable_size_limit():
    with pytest.raises(InvalidInput, match="over the 1 KB import limit"):
        importers.parse(b"I: hi\n" * 400, "x.txt", max_bytes=1024)
    assert importers.parse(b"I: hi\n" * 100, "x.txt", max_bytes=1024).turns


def test_human_size():
    assert human_size(50 * 1024 * 1024) == "50 MB"
    assert human_size(int(61.2 * 1024 * 1024)) == "61.2 MB"
    assert human_size(2048) == "2 KB"
    assert human_size(12) == "12 bytes"


N = 100_000
PATHOLOGICAL = {
    "long line": "x " * N,
    "unclosed tags": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + "<a " * N + "\n",
    "unclosed voices": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + "<v " * N + "\n",
    "arrow then digits": "-->" + "1" * N + "\n",
    "space run": "I: a" + " " * N + "b\n",
    "colons": "a: " * N,
    "brackets": "[" * N,
    "stamps": "[00:00:01] " * N,
    "rev parens": "Name (" * N + "):\n",
    "otter spaces": "Name" + "  1:00" * N + "\n",
    "bold marks": "**" * N + "\n",
    "dash line": "1\n00:00:01,000 --> 00:00:02,000\n" + "- " * N + "\n",
    "caption arrows": "1\n00:00:01,000 --> 00:00:02,000\n" + ">> " * N + "\n",
    "entities": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + "&#" * N + "\n",
    "options": "Transcribed with noScribe\n(" + "(a|" * N + "\n",
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_inputs_are_parsed_in_linear_time(name):
    """No wall-clock limit (see DESIGN.md); a quadratic regex would make this test hang."""
    data = PATHOLOGICAL[name].encode()
    for filename in ("x.txt", "x.md", "x.srt", "x.vtt"):
        try:
            result = importers.parse(data, filename)
        except InvalidInput:
            continue
        check_invariants(result)


def test_text_behind_a_stray_utf16_bom_is_refused_not_imported_as_gibberish():
    body = "Interviewer: How are you?\n\nP1: Not bad, thank you, the pain is better.\n".encode()
    body += b"\n" * (len(body) % 2)  # an even length decodes as UTF-16 without error (an odd one is refused)
    for bom in (b"\xff\xfe", b"\xfe\xff"):
        with pytest.raises(InvalidInput, match="UTF-16 byte-order mark but its text has no line breaks"):
            decode(bom + body)
    # real UTF-16 keeps working, Chinese included
    for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        for text in ("Interviewer: How are you?\n\nP1: Fine.\n", "访谈者：你好吗？\n受访者：我很好，谢谢。疼痛好多了。\n"):
            assert decode(bom + text.encode(codec)) == (text, codec)
