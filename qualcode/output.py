"""Plain-text tables and JSON for the CLI: small, dependency-free, deterministic."""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence


def to_json(data: Any) -> str:
    def default(obj: Any) -> Any:
        if hasattr(obj, "as_dict"):
            return obj.as_dict()
        if isinstance(obj, (set, tuple)):
            return list(obj)
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    return json.dumps(data, ensure_ascii=False, indent=2, default=default)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], max_width: int = 60) -> str:
    """Left-aligned columns; numbers right-aligned; long cells cut with an ellipsis."""
    # A long text (a coding's quote) is tidied from a prefix only: tidying a prefix gives a
    # prefix of the tidied whole, so once that is already too long the cut cell is the same.
    prefix = 4 * max_width + 8

    def tidy(s: str) -> str:
        lead = s[: len(s) - len(s.lstrip(" "))]
        return lead + " ".join(s.split())

    def cell(v: Any) -> str:
        if v is None:
            return ""
        s = v if type(v) is str else str(v)
        if len(s) > prefix:
            head = tidy(s[:prefix])
            s = head if len(head) > max_width else tidy(s)
        else:
            s = tidy(s)
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    body = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    numeric = [all(_is_number(r[i]) for r in body if r[i] != "") and any(r[i] for r in body)
               for i in range(len(headers))]
    def fmt(row: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(row)]
        return "  ".join(parts).rstrip()
    lines = [fmt(list(headers)), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in body]
    return "\n".join(lines)


def _is_number(s: str) -> bool:
    try:
        float(s.rstrip("%"))
        return True
    except ValueError:
        return False
