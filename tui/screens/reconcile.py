"""Agreement and reconciliation screen — SLOT, not built yet (issue #5: agreement figures per unit, walk disagreements side by side, decide, rounds).

The app's wiring (mode, number key, stylesheet) is in place; the screen itself is being built.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from tui.screens.base import StatusBar, WorkScreen


class ReconcileScreen(WorkScreen):
    def compose(self) -> ComposeResult:
        yield Static("Agreement and reconciliation: not built yet.", id="reconcile-placeholder")
        yield StatusBar()
        yield Footer()
