"""The one door every export leaves the study by: :func:`write_export`.

Every exporter (quote tables, maps, matrices, codebooks, agreement reports, REFI-QDA ...) renders
its file in memory and hands the bytes (or text) to :func:`write_export`, which

1. passes them through :func:`guard` — the anonymisation guard's hook (see below);
2. refuses to overwrite the study file itself;
3. writes atomically (a temporary file in the same folder, then a rename), so a crash never
   leaves half a file behind.

Determinism: exporters sort everything and stamp files with :func:`export_time` — the time of
the study's last recorded change (or ``$SOURCE_DATE_EPOCH`` when set) — never the clock. So the
same study gives the same bytes; the only recorded creation time is that stamp.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.errors import InvalidInput
from qualcode.records import Record

if TYPE_CHECKING:
    from qualcode.study import Study

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ExportResult(Record):
    path: str
    kind: str                       # what was exported: quotes, map, matrix, participants, codebook ...
    format: str                     # file format: docx, csv, png ...
    bytes: int
    sha256: str
    created: str                    # the recorded creation time (ISO 8601, UTC)
    items: int | None = None        # rows / nodes written, when that means something
    notes: tuple[str, ...] = ()     # advice on the file written (a map too tall to print on a page)


def written(path: Any, fmt: str, size: int, items: int | None = None, notes: tuple[str, ...] = ()) -> str:
    """What the CLI and the TUI say of a file they wrote: ``Wrote PATH (FMT, N bytes, N items)``
    and a ``note:`` line per piece of advice."""
    return (f"Wrote {path} ({fmt}, {size:,} bytes" + (f", {items} items" if items is not None else "") + ")"
            + "".join(f"\nnote: {n}" for n in notes))


def export_time(study: "Study") -> datetime:
    """The creation time recorded in exports: ``$SOURCE_DATE_EPOCH`` or the study's last change."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    row = study.db.execute("SELECT created FROM changes ORDER BY id DESC LIMIT 1").fetchone()
    if row:
        try:
            return datetime.fromisoformat(row[0].replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            pass
    return EPOCH


# =============================================================================================
# ANONYMISATION GUARD HOOK
# ---------------------------------------------------------------------------------------------
# Filled in by the anonymisation issue. It sees every export before it is written: ``content``
# is exactly what will be written; ``text`` is the export's human-readable text (quotes, labels,
# cells) for binary formats (DOCX, XLSX, PNG/SVG/PDF) where scanning the bytes is useless. It
# may return the content unchanged, return a cleaned version, or raise
# ``qualcode.errors.CheckFailed`` (exit code 1) to stop the export, e.g. when a real name or an
# identifier from the key file would leak. For now it checks nothing.
# =============================================================================================
def guard(content: str | bytes, *, study: "Study | None" = None, kind: str = "", fmt: str = "",
          path: Path | None = None, text: str | None = None) -> str | bytes:
    """The anonymisation guard: refuse an export holding registered identifiers (see
    ``qualcode.anonymise.guard``); ``allowing_leaks()`` or ``$QUALCODE_ALLOW_LEAKS=1`` overrides."""
    from qualcode.anonymise.guard import export_hook

    return export_hook(content, study=study, kind=kind, fmt=fmt, path=path, text=text)


def write_export(study: "Study", path: str | Path, content: str | bytes, *, kind: str,
                 fmt: str | None = None, text: str | None = None, items: int | None = None) -> ExportResult:
    """Guard, then atomically write one export file; return what was written."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    try:
        if path.exists() and study.path.exists() and path.resolve() == Path(study.path).resolve():
            raise InvalidInput(f"refusing to write an export over the study file {path}")
    except OSError:
        pass
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name, e.g. {path / ('export.' + fmt)}")
    content = guard(content, study=study, kind=kind, fmt=fmt, path=path, text=text)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise InvalidInput(f"folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:      # name the user's path, never the temporary file's
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ExportResult(path=str(path), kind=kind, format=fmt, bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        created=export_time(study).isoformat().replace("+00:00", "Z"), items=items)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def describe(result: ExportResult) -> dict[str, Any]:
    return result.as_dict()
