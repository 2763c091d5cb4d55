"""Check a DOCX container before python-docx touches it; everything stays in memory.

Refused with ``InvalidInput``: an OLE/CFB file (``D0 CF 11 E0``: an encrypted/password-protected
Office file or a legacy ``.doc``), bytes that are not a zip archive, a truncated or corrupt zip,
an encrypted zip member, a zip bomb (total uncompressed size over ``MAX_UNCOMPRESSED`` or a large
member compressed more than ``MAX_RATIO`` times), and a zip without ``word/document.xml``.
The header/footer text is read here too (python-docx would add missing header parts).
"""

from __future__ import annotations

import io
import re
import zipfile

from qualcode.errors import InvalidInput

from .decoding import human_size

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100
_RATIO_FLOOR = 1024 * 1024  # small members may legitimately compress very well
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_PART_TEXT = re.compile(rb"<w:t(?:\s[^<>]{0,200})?>([^<]*)</w:t>")
_PARAGRAPH_END = re.compile(rb"</w:p>")


def open_archive(data: bytes) -> zipfile.ZipFile:
    """A checked ``ZipFile`` over ``data`` or ``InvalidInput`` saying what is wrong."""
    if data.startswith(OLE_MAGIC[:4]):
        raise InvalidInput(
            "the Word file is encrypted (password-protected) or an old binary .doc; "
            "save it as an unprotected .docx and import again"
        )
    if not data.startswith(b"PK"):
        raise InvalidInput("not a DOCX file (not a zip archive)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise InvalidInput("the DOCX file is truncated or corrupt (cannot read its zip directory)") from None
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InvalidInput("the DOCX file has encrypted parts; save it without a password")
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InvalidInput(
                f"the DOCX file looks like a zip bomb: part {info.filename!r} expands "
                f"{info.file_size // max(info.compress_size, 1)} times to {human_size(info.file_size)}"
            )
    if total > MAX_UNCOMPRESSED:
        raise InvalidInput(
            f"the DOCX file expands to {human_size(total)}, over the "
            f"{human_size(MAX_UNCOMPRESSED)} limit (zip bomb?)"
        )
    if main_part_name(archive) not in {info.filename for info in infos}:
        raise InvalidInput("not a Word document (the zip has no word/document.xml)")
    return archive


_OFFICE_DOCUMENT = re.compile(
    rb"<Relationship\b[^>]*?Type=\"[^\"]*/officeDocument\"[^>]*>|"
    rb"<Relationship\b[^>]*?Target=\"[^\"]*\"[^>]*?Type=\"[^\"]*/officeDocument\"[^>]*>"
)
_TARGET = re.compile(rb'Target="([^"]+)"')


def main_part_name(archive: zipfile.ZipFile) -> str:
    """The main document part named by ``_rels/.rels`` (usually ``word/document.xml``)."""
    try:
        rels = archive.read("_rels/.rels")
    except Exception:
        return "word/document.xml"
    m = _OFFICE_DOCUMENT.search(rels)
    target = _TARGET.search(m.group(0)) if m else None
    if target is None:
        return "word/document.xml"
    return target.group(1).decode("utf-8", "replace").lstrip("/")


_TITLE = re.compile(rb"<dc:title>([^<]*)</dc:title>")


def core_title(archive: zipfile.ZipFile) -> str | None:
    try:
        m = _TITLE.search(archive.read("docProps/core.xml"))
    except Exception:
        return None
    if m is None:
        return None
    from html import unescape

    title = unescape(m.group(1).decode("utf-8", "replace")).strip()
    return title or None


def read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except Exception as exc:  # CRC errors, truncated members, zlib errors
        raise InvalidInput(f"the DOCX file is corrupt or truncated ({type(exc).__name__})") from None


def header_footer_text(archive: zipfile.ZipFile) -> str:
    """Plain text of every header and footer part (for vendor detection), paragraphs on lines."""
    out: list[str] = []
    for info in archive.infolist():
        name = info.filename
        if name.startswith("word/") and re.fullmatch(r"word/(?:header|footer)\d*\.xml", name):
            try:
                blob = archive.read(info)
            except Exception:  # a corrupt part: detection simply does not see it
                continue
            for para in _PARAGRAPH_END.split(blob):
                text = b"".join(_PART_TEXT.findall(para)).decode("utf-8", "replace").strip()
                if text:
                    out.append(text)
    return "\n".join(out)
