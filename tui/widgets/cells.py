"""Plain-text DataTable cells for long tables (the home screen's 1,000 documents).

DataTable turns a ``str`` cell into markup (so ``Interview [final]`` would lose its brackets) and,
after rows are added, measures every cell of every new row through Rich (``console.options`` per
cell): about 0.3 s for 1,000 rows x 7 columns, during which the app does not answer keys.
A ``PlainCell`` is drawn as the text it holds, never markup, and carries no ``__rich_measure__``:
its column has a fixed width computed here once from the strings' cell lengths, so DataTable's
measuring pass costs next to nothing. It compares equal to its text, so ``get_row_at`` reads as
strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable


class PlainCell:
    """One table cell: plain text on one line, cut with an ellipsis if the column is narrower."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console, options):
        yield Text(self.text, no_wrap=True, overflow="ellipsis", end="")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"PlainCell({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlainCell):
            return self.text == other.text
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    def __lt__(self, other: object) -> bool:  # DataTable.sort
        return self.text < str(other)

    def __hash__(self) -> int:
        return hash(self.text)


def plain_columns(table: DataTable, headers: Sequence[tuple[str, str | None]],
                  rows: Sequence[Sequence[str]], min_widths: Sequence[int] = ()) -> None:
    """Add fixed-width columns to ``table`` fitting ``headers`` (label, key) and every row's
    strings; ``min_widths`` reserves room for values filled in later (a progress ``100%``)."""
    widths = [max(cell_len(label), 1) for label, _ in headers]
    for i, minimum in enumerate(min_widths):
        widths[i] = max(widths[i], minimum)
    for row in rows:
        for i, value in enumerate(row):
            n = cell_len(value)
            if n > widths[i]:
                widths[i] = n
    for (label, key), width in zip(headers, widths):
        table.add_column(Text(label), key=key, width=width)
