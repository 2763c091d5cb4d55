"""Anonymisation review screen — SLOT, not built yet (issue #7: walk scan candidates in context, accept/reject/edit, add to the register).

The app's wiring (mode, number key, stylesheet) is in place; the screen itself is being built.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from tui.screens.base import StatusBar, WorkScreen


class AnonymiseScreen(WorkScreen):
    def compose(self) -> ComposeResult:
        yield Static("Anonymisation review: not built yet.", id="anonymise-placeholder")
        yield StatusBar()
        yield Footer()
