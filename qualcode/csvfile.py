"""Reading the CSV files researchers hand us (participants, codebooks, speaker maps).

UTF-8 with or without a BOM (Excel writes one); header names trimmed. Every problem becomes a
one-line ``InvalidInput`` naming the file.
"""

from __future__ import annotations

import csv
from pathlib import Path

from qualcode.errors import InvalidInput


def read_rows(path: str | Path, lower_headers: bool = False) -> list[dict[str, str]]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise InvalidInput(f"{path}: no header row")
            rows = list(reader)
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text (save it as CSV UTF-8)") from None
    except csv.Error as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    def key(k: str | None) -> str:
        k = (k or "").strip()
        return k.lower() if lower_headers else k
    return [{key(k): (v if v is not None else "") for k, v in row.items() if k is not None} for row in rows]
