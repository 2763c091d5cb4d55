"""Reading the CSV files researchers hand us (participants, codebooks, speaker maps).

UTF-8 with or without a BOM (Excel writes one); header names trimmed. Every problem becomes a
one-line ``InvalidInput`` naming the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

from qualcode.errors import InvalidInput


def read_rows(path: str | Path, lower_headers: bool = False) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts. A repeated column name or a row with more fields than
    the header is refused (naming the row): silently keeping one of two values loses data."""
    path = Path(path)

    def key(k: str | None) -> str:
        k = (k or "").strip()
        return k.lower() if lower_headers else k

    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header or not any(h.strip() for h in header):
                raise InvalidInput(f"{path}: no header row")
            names = [key(h) for h in header]
            seen: set[str] = set()
            for name in names:
                if name and name in seen:
                    raise InvalidInput(f"{path}: column {name!r} appears twice in the header")
                seen.add(name)
            rows = []
            for fields in reader:
                if not any(f.strip() for f in fields):
                    continue  # a blank line
                if len(fields) > len(names) and any(f.strip() for f in fields[len(names):]):
                    raise InvalidInput(f"{path}: line {reader.line_num} has {len(fields)} fields but the header "
                                       f"has {len(names)} (a comma inside a value needs quotes)")
                fields = fields + [""] * (len(names) - len(fields))
                rows.append({n: v for n, v in zip(names, fields) if n})
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text (save it as CSV UTF-8)") from None
    except csv.Error as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    return rows
