"""What every main screen shares: navigation keys, undo/redo, help, status bar, error display."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widgets import Static

from tui.keymap import key

if TYPE_CHECKING:
    from tui.app import QualcodeApp
    from tui.session import Session


class StatusBar(Static):
    """One line: who is coding, what is open and selected, whether coding is blind."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def update(self, content="", *, layout: bool = False) -> None:
        """One fixed-size line: a new text needs a repaint, never a layout of the whole screen
        (which would cost a frame on every cursor move). Unchanged text costs nothing."""
        if content == getattr(self, "_shown", None):
            return
        self._shown = content
        super().update(content, layout=layout)


class WorkScreen(Screen):
    """A main screen (one per app mode)."""

    BINDINGS = [
        key("app", "1", "go('home')", "Documents", name="documents", show=False),
        key("app", "2", "go('coding')", "Coding", name="coding", show=False),
        key("app", "3", "go('codebook')", "Codebook", name="codebook", show=False),
        key("app", "4", "go('memos')", "Memos & journal", name="memos", show=False),
        key("app", "5,slash", "go('search')", "Search", name="search", show=False),
        key("app", "6", "go('reconcile')", "Agreement & reconciliation", name="reconcile", show=False),
        key("app", "7", "go('themes')", "Themes", name="themes", show=False),
        key("app", "8", "go('anonymise')", "Anonymisation review", name="anonymise", show=False),
        key("app", "9", "go('export')", "Export", name="export", show=False),
        key("app", "ctrl+z", "undo", "Undo", show=False),
        key("app", "ctrl+y", "redo", "Redo", show=False),
        key("app", "question_mark,f1", "help", "Help"),
    ]

    app: QualcodeApp

    @property
    def session(self) -> Session:
        return self.app.session

    def attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the core; show a QualcodeError as a notification and return None."""
        return self.app.attempt(fn, *args, **kwargs)

    def action_go(self, mode: str) -> None:
        self.app.go(mode)

    def action_help(self) -> None:
        self.app.action_help()

    def action_undo(self) -> None:
        self.app.action_undo()

    def action_redo(self) -> None:
        self.app.action_redo()

    def refresh_data(self) -> None:
        """Reload what this screen shows from the study (after undo, redo or other screens' work)."""

    def external_change(self) -> None:
        """Another process (the CLI, another window) changed the study while this screen is shown.
        By default nothing happens now (the screen reloads when it is next shown); screens that can
        reload without losing the reader's place do it at once."""

    def others_toggled(self) -> None:
        """Other coders' codings were shown or hidden (``o``): show this screen's data again."""
        self.refresh_data()

    def action_toggle_others(self) -> None:
        shown = self.attempt(self.session.toggle_others)
        if shown is None:
            return
        self.session.generation += 1  # every screen shows other coders' work anew
        self.others_toggled()
        if shown:
            visible = self.session.visible_coders()
            what = ("every coder's codings" if visible is None else
                    "the codings of " + ", ".join(sorted(c for c in visible if c)) + " (marked complete)")
            self.notify(f"Showing {what}", timeout=3)
        else:
            self.notify("Blind: only your own codings", timeout=2)
        self.query_one(StatusBar).update(self.status_text())

    def status_text(self) -> str:
        s = self.session
        coder = s.coder or "(no coder)"
        return f"Coder: {coder} │ {s.blind_state()}"
