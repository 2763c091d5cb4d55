"""Themes screen — SLOT, not built yet (issue #6: build themes from codes, extracts and participant coverage, key quotes, the map as a tree).

The app's wiring (mode, number key, stylesheet) is in place; the screen itself is being built.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from tui.screens.base import StatusBar, WorkScreen


class ThemesScreen(WorkScreen):
    def compose(self) -> ComposeResult:
        yield Static("Themes: not built yet.", id="themes-placeholder")
        yield StatusBar()
        yield Footer()
