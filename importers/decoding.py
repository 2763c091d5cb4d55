"""Bytes -> canonical text, or a clear refusal.

Order: byte-order mark (UTF-8, UTF-16 LE/BE) -> strict UTF-8 -> strict Windows-1252. Never a
silent latin-1: cp1252 maps 0x80-0x9F to ``€ ‚ „ … ’ “ ”`` and leaves five bytes undefined, so
bytes that are neither UTF-8 nor cp1252 are refused. BOM-less UTF-16 is recognised when NULs sit
regularly on one side of the byte pairs (the high byte of ASCII characters): at least 30% of the
pairs there, and on the other side no more than a tenth as many (``😀`` and ``一`` put a NUL in
the low byte, so a few are allowed). A BOM-less UTF-16 file of mostly non-Latin text (CJK) has
too few NULs to be told from binary and is refused: save it with a BOM or as UTF-8. Binary data
is refused: NUL bytes, undecodable bytes, or many control characters; so is text behind a stray
UTF-16 byte-order mark (it decodes, pair by pair, as CJK-looking gibberish without a line break).
"""

from __future__ import annotations

import re

from qualcode.errors import InvalidInput
from qualcode.text import canonicalise

# C0 controls except TAB LF VT FF CR, plus DEL and the C1 block (cp1252 never yields C1, but
# UTF-8 can). ESC and SUB occasionally appear in old files, so a few are tolerated.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f\x80-\x9f]")
_MAX_CONTROL_RATIO = 0.01


def human_size(n: int) -> str:
    """Bytes for messages: ``64160000`` -> ``"61.2 MB"``, ``52428800`` -> ``"50 MB"``."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            value = f"{n / size:.1f}"
            return (value[:-2] if value.endswith(".0") else value) + f" {unit}"
    return f"{n} bytes"


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) == 0:
        raise InvalidInput("file is empty")
    if len(data) > max_bytes:
        size, limit = human_size(len(data)), human_size(max_bytes)
        if size == limit:
            size, limit = f"{len(data)} bytes", f"{max_bytes} bytes"
        raise InvalidInput(f"file is {size}, over the {limit} import limit")


def _bomless_utf16(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` when NULs sit regularly on one side of each pair (see the
    module docstring); the strict decode and the NUL-character check that follow do the rest."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd >= 0.3 * half and even * 10 <= odd:
        return "utf-16-le"
    if even >= 0.3 * half and odd * 10 <= even:
        return "utf-16-be"
    return None


def _strict(data: bytes, codec: str, what: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what}: undecodable bytes at offset {exc.start}") from None


def _utf16_after_bom(data: bytes, codec: str) -> str:
    """The text after a UTF-16 byte-order mark, refused when it cannot be UTF-16 text.

    Bytes of ASCII or UTF-8 text behind a stray UTF-16 BOM decode without error, as CJK-looking
    characters pair by pair, and would be imported as gibberish. Any real transcript in UTF-16
    has line breaks or spaces (U+000A, U+0020, U+3000); such mojibake has none."""
    text = _strict(data[2:], codec, "not valid UTF-16")
    if len(text) >= 16 and not any(c in text for c in ("\n", "\r", " ", "\u3000", "\t")):
        raise InvalidInput("the file starts with a UTF-16 byte-order mark but its text has no line breaks "
                           "or spaces: it is not UTF-16 text (a damaged or mislabelled file?)")
    return text


def decode(data: bytes) -> tuple[str, str]:
    """Return ``(canonical_text, encoding)``; raise ``InvalidInput`` for binary or empty input."""
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = _strict(data[3:], "utf-8", "not valid UTF-8 despite its BOM"), "utf-8-sig"
    elif data.startswith(b"\xff\xfe"):
        text, encoding = _utf16_after_bom(data, "utf-16-le"), "utf-16-le"
    elif data.startswith(b"\xfe\xff"):
        text, encoding = _utf16_after_bom(data, "utf-16-be"), "utf-16-be"
    elif b"\x00" in data:
        encoding = _bomless_utf16(data)
        if encoding is None:
            raise InvalidInput("file looks binary (contains NUL bytes), not a text transcript")
        text = _strict(data, encoding, "not valid UTF-16")
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                raise InvalidInput(
                    "file is neither UTF-8 nor Windows-1252 text (undecodable bytes); "
                    "is it a binary file?"
                ) from None
    text = canonicalise(text)
    if "\x00" in text:
        raise InvalidInput("file looks binary (contains NUL characters), not a text transcript")
    controls = len(_CONTROL.findall(text))
    if controls and controls > _MAX_CONTROL_RATIO * len(text):
        raise InvalidInput("file looks binary (many control characters), not a text transcript")
    if not text.strip():
        raise InvalidInput("file is empty")
    return text, encoding
