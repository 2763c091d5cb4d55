"""Export screen — SLOT, not built yet (issues #4/#6: write quote tables, maps, matrices, participant tables, codebooks, QDPX from the TUI).

The app's wiring (mode, number key, stylesheet) is in place; the screen itself is being built.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from tui.screens.base import StatusBar, WorkScreen


class ExportScreen(WorkScreen):
    def compose(self) -> ComposeResult:
        yield Static("Export: not built yet.", id="export-placeholder")
        yield StatusBar()
        yield Footer()
