"""Check a DOCX container before python-docx touches it; everything stays in memory.

Refused with ``InvalidInput``: an OLE/CFB file (``D0 CF 11 E0``: an encrypted/password-protected
Office file or a legacy ``.doc``), bytes that are not a zip archive, a truncated or corrupt zip,
an encrypted zip member, a compression method other than stored/deflate (Word writes nothing
else, and bzip2/LZMA cannot be decompressed in bounded steps), a zip bomb (total uncompressed
size over ``MAX_UNCOMPRESSED`` or a large member compressed more than ``MAX_RATIO`` times), and a
zip without ``word/document.xml``.

The sizes in a zip's headers are only claims: a forged small size passes the checks above. So
members are never read in one piece: ``CheckedArchive.read`` decompresses ``CHUNK`` bytes at a
time, counting the bytes really produced against the same caps (a running total per archive and
the ratio per member), so memory stays bounded whatever the headers say. The header/footer text
is read here too (python-docx would add missing header parts).
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
CHUNK = 256 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_PART_TEXT = re.compile(rb"<w:t(?:\s[^<>]{0,200})?>([^<]*)</w:t>")
_PARAGRAPH_END = re.compile(rb"</w:p>")


def _too_big(total: int) -> InvalidInput:
    return InvalidInput(
        f"the DOCX file expands to {human_size(total)}, over the "
        f"{human_size(MAX_UNCOMPRESSED)} limit (zip bomb?)"
    )


def _bomb(name: str, size: int, compressed: int) -> InvalidInput:
    return InvalidInput(
        f"the DOCX file looks like a zip bomb: part {name!r} expands "
        f"{size // max(compressed, 1)} times to {human_size(size)}"
    )


class CheckedArchive(zipfile.ZipFile):
    """A zip whose members are decompressed in chunks under running caps (module docstring)."""

    produced = 0  # bytes decompressed so far, all members together

    def read(self, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        ratio_cap = max(_RATIO_FLOOR, MAX_RATIO * max(info.compress_size, 1))
        out = bytearray()
        with self.open(info, pwd=pwd) as member:
            while chunk := member.read(CHUNK):
                out += chunk
                self.produced += len(chunk)
                if self.produced > MAX_UNCOMPRESSED:
                    raise _too_big(self.produced)
                if len(out) > ratio_cap:
                    raise _bomb(info.filename, len(out), info.compress_size)
        return bytes(out)


def open_archive(data: bytes) -> CheckedArchive:
    """A checked ``ZipFile`` over ``data`` or ``InvalidInput`` saying what is wrong."""
    if data.startswith(OLE_MAGIC[:4]):
        raise InvalidInput(
            "the Word file is encrypted (password-protected) or an old binary .doc; "
            "save it as an unprotected .docx and import again"
        )
    if not data.startswith(b"PK"):
        raise InvalidInput("not a DOCX file (not a zip archive)")
    try:
        archive = CheckedArchive(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise InvalidInput("the DOCX file is truncated or corrupt (cannot read its zip directory)") from None
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InvalidInput("the DOCX file has encrypted parts; save it without a password")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InvalidInput(
                f"the DOCX file uses an unsupported compression method for {info.filename!r}; "
                "save it again from Word"
            )
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _bomb(info.filename, info.file_size, info.compress_size)
    if total > MAX_UNCOMPRESSED:
        raise _too_big(total)
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
    except InvalidInput:
        raise
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
    except InvalidInput:
        raise
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
    except InvalidInput:
        raise
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):  # the bytes do not match the recorded size/checksum: damaged or forged
            raise InvalidInput(
                f"the DOCX file is corrupt: part {name!r} does not match its recorded size and checksum"
            ) from None
        raise InvalidInput(f"the DOCX file is corrupt or truncated ({type(exc).__name__})") from None
    except Exception as exc:  # truncated members, zlib errors
        raise InvalidInput(f"the DOCX file is corrupt or truncated ({type(exc).__name__})") from None


def header_footer_text(archive: zipfile.ZipFile) -> str:
    """Plain text of every header and footer part (for vendor detection), paragraphs on lines."""
    out: list[str] = []
    for info in archive.infolist():
        name = info.filename
        if name.startswith("word/") and re.fullmatch(r"word/(?:header|footer)\d*\.xml", name):
            try:
                blob = archive.read(info)
            except InvalidInput:
                raise
            except Exception:  # a corrupt part: detection simply does not see it
                continue
            for para in _PARAGRAPH_END.split(blob):
                text = b"".join(_PART_TEXT.findall(para)).decode("utf-8", "replace").strip()
                if text:
                    out.append(text)
    return "\n".join(out)
