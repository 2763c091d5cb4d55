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
    """Left-aligned columns; numbers right-aligned; long cells cut with an ellipsis.

    Built a column at a time: a listing of 9,000 codings is 63,000 cells, and per-cell
    function calls were most of the time ``qualcode codings`` spent after its query.
    """
    columns = [_cells(col, max_width) for col in zip(*rows)] or [[] for _ in headers]
    widths = [max(len(h), max(map(len, col), default=0)) for h, col in zip(headers, columns)]
    numeric = [any(col) and all(_is_number(v) for v in col if v != "") for col in columns]
    spec = "  ".join(f"{{:{'>' if n else '<'}{w}}}" for n, w in zip(numeric, widths))
    lines = [spec.format(*headers).rstrip(), spec.format(*("-" * w for w in widths)).rstrip()]
    lines += [spec.format(*r).rstrip() for r in zip(*columns)]
    return "\n".join(lines)


def _cells(values: Iterable[Any], max_width: int) -> list[str]:
    """One column's cells: whitespace runs made one space (leading spaces kept), cut to fit."""
    # A long text (a coding's quote) is tidied from a prefix only: tidying a prefix gives a
    # prefix of the tidied whole, so once that is already too long the cut cell is the same.
    prefix = 2 * max_width + 8
    out = []
    for v in values:
        if v is None:
            out.append("")
            continue
        s = v if type(v) is str else str(v)
        # Already tidy (most ids, names and labels): only printable characters, so no
        # whitespace but the plain space, never two in a row, none at the end.
        if not (s.isprintable() and "  " not in s and not s.endswith(" ")):
            if len(s) > prefix:
                head = _tidy(s[:prefix])
                s = head if len(head) > max_width else _tidy(s)
            else:
                s = _tidy(s)
        out.append(s if len(s) <= max_width else s[: max_width - 1] + "…")
    return out


def _tidy(s: str) -> str:
    lead = s[: len(s) - len(s.lstrip(" "))]
    return lead + " ".join(s.split())


def _is_number(s: str) -> bool:
    try:
        float(s.rstrip("%"))
        return True
    except ValueError:
        return False
