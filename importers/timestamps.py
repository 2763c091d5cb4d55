"""Time stamps as transcripts write them, turned into milliseconds.

Two families:

* **cue times** of caption formats (VTT, SRT, Whisper TXT, old Teams DOCX): ``[h:]mm:ss[.,]fff``
  with hours optional and fields not necessarily zero-padded (``0:0:5.320``), a leading ``-``
  tolerated (Teams: transcription began mid-conversation). ``parse_cue_time`` returns ``None``
  for anything else so that the caller can report the line.
* **stamps** inside verbatim text: ``[00:12:03]``, ``[01:23]``, ``[01.23.45]``, ``[02.34]``,
  ``{00:34:20}``, ``#00:12:34.567#``, ``#00:01:02-5#``, ``(00:03)``; and bare clocks such as the
  Otter ``0:46`` / ``1:01:44`` or Teams DOCX ``0:04``. ``STAMP`` is a regex fragment (one
  capturing group per bracket style); ``stamp_ms`` reads a match of it.
"""

from __future__ import annotations

import re

# h:mm:ss or mm:ss (minutes up to 3 digits for QualCoder's "up to 999 minutes"), optional
# fraction, optional f4 "-d" tenths.
CLOCK = r"\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?(?:-\d)?"
_DOTTED = r"\d{1,2}\.\d{2}(?:\.\d{2})?"

# One regex fragment with four capturing groups (square brackets may also hold dotted times).
STAMP = (
    rf"(?:\[\s*({CLOCK}|{_DOTTED})\s*\]"
    rf"|\{{\s*({CLOCK})\s*\}}"
    rf"|#({CLOCK})#"
    rf"|\(\s*({CLOCK})\s*\))"
)
STAMP_GROUPS = 4

_CUE_TIME = re.compile(r"(-)?(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
_CLOCK_PARTS = re.compile(r"(\d+)[:.](\d{2})(?:[:.](\d{2}))?(?:[.,](\d{1,3}))?(?:-(\d))?")


def _fraction_ms(digits: str | None) -> int:
    if not digits:
        return 0
    return int((digits + "00")[:3])


_CUE_FIELDS = r"(-)?(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
TIMING_LINE = re.compile(rf"[ \t]*{_CUE_FIELDS}[ \t]*-->[ \t]*{_CUE_FIELDS}(?:[ \t].*)?")


def cue_fields_ms(sign: str | None, hours: str | None, minutes: str, seconds: str, frac: str | None) -> int | None:
    """Milliseconds from the five groups of a cue time, or None when a field is out of range."""
    mins, secs = int(minutes), int(seconds)
    if secs >= 60 or (hours is not None and mins >= 60):
        return None
    ms = ((int(hours or 0) * 60 + mins) * 60 + secs) * 1000 + _fraction_ms(frac)
    return -ms if sign else ms


def parse_cue_time(token: str) -> int | None:
    """``"00:00:04.489"`` / ``"00:43.810"`` / ``"0:0:5.320"`` / ``"00:00:00,179"`` -> ms, else None."""
    m = _CUE_TIME.fullmatch(token.strip())
    return None if m is None else cue_fields_ms(*m.groups())


def clock_ms(value: str) -> int | None:
    """A clock as written in text (``0:46``, ``1:01:44``, ``01.23.45``, ``00:01:02-5``) -> ms."""
    m = _CLOCK_PARTS.fullmatch(value.strip())
    if m is None:
        return None
    a, b, c, frac, tenths = m.groups()
    if c is None:  # mm:ss
        hours, mins, secs = 0, int(a), int(b)
    else:
        hours, mins, secs = int(a), int(b), int(c)
        if mins >= 60:
            return None
    if secs >= 60:
        return None
    ms = ((hours * 60 + mins) * 60 + secs) * 1000
    if frac:
        ms += _fraction_ms(frac)
    elif tenths:
        ms += int(tenths) * 100
    return ms


def stamp_ms(match: re.Match[str], first_group: int) -> int | None:
    """Milliseconds of a ``STAMP`` match whose groups start at ``first_group``."""
    for g in range(first_group, first_group + STAMP_GROUPS):
        value = match.group(g)
        if value is not None:
            return clock_ms(value)
    return None


def format_ms(ms: int) -> str:
    """``3723000`` -> ``"1:02:03"`` (for messages and metadata)."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    secs = ms // 1000
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"
