"""The CLI's table writer: long cells are tidied from a prefix, with the same result as tidying all."""

import random

from qualcode.output import table


def _reference_cell(v, max_width=60):
    s = "" if v is None else str(v)
    lead = s[: len(s) - len(s.lstrip(" "))]
    s = lead + " ".join(s.split())
    return s if len(s) <= max_width else s[: max_width - 1] + "…"


def _reference_table(rows, headers, max_width=60):
    body = [[_reference_cell(v, max_width) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))

    def number(s):
        try:
            float(s.rstrip("%"))
            return True
        except ValueError:
            return False

    numeric = [all(number(r[i]) for r in body if r[i] != "") and any(r[i] for r in body)
               for i in range(len(headers))]

    def fmt(row):
        return "  ".join(v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i])
                         for i, v in enumerate(row)).rstrip()

    return "\n".join([fmt(list(headers)), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def test_long_and_whitespace_heavy_cells_match_tidying_the_whole_text():
    rng = random.Random(9)
    pieces = ["word", " ", "  ", "\n", "\t", "\u00a0", "😀", "e\u0301", "\u2028", "\u3000", "\x1c", "\x85", "\u200b", " " * 300, "x" * 70, "\n" * 250]
    rows = []
    for n in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        rows.append((n, text, None, 12.5, " " * rng.randint(0, 400) + text))
    headers = ["id", "text", "none", "num", "lead"]
    for width in (60, 5, 1, 200):
        assert table(rows, headers, max_width=width) == _reference_table(rows, headers, max_width=width)


def test_exact_boundaries():
    for n in range(110, 260):  # around the tidied prefix (2 x 60 + 8) and beyond
        for text in ("a" * n, " " * n + "b", "a " * n, "a" + "\n" * n + "b"):
            assert table([(text,)], ["t"]) == _reference_table([(text,)], ["t"])
