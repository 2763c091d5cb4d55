"""The ``?`` screen: every key of every screen, as currently mapped (keys.toml included)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keymap import display_key

SCOPES = {"app": "Everywhere", "home": "Documents", "coding": "Coding", "codebook": "Codebook",
          "memos": "Memos & journal", "search": "Search", "reconcile": "Agreement & reconciliation",
          "themes": "Themes", "anonymise": "Anonymisation review", "export": "Export",
          "dialog": "Dialogs"}


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, bindings: dict[str, Binding], keymap: dict[str, str]) -> None:
        super().__init__()
        self.bindings = bindings
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, expand=True, pad_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True, width=16)
        table.add_column("action")
        by_scope: dict[str, list[Binding]] = {}
        for ident, b in self.bindings.items():
            by_scope.setdefault(ident.split(".", 1)[0], []).append(b)
        # Known scopes in screen order; a scope a new screen adds is listed too, under its own name.
        titles = {**SCOPES, **{scope: scope.capitalize() for scope in by_scope if scope not in SCOPES}}
        for scope, title in titles.items():
            if scope not in by_scope:
                continue
            table.add_row(Text(title, style="bold underline"), "")
            for b in by_scope[scope]:
                keys = self.keymap.get(b.id or "", b.key)
                shown = ", ".join(display_key(k) for k in keys.split(","))
                table.add_row(shown, b.description)
            table.add_row("", "")
        table.add_row(Text("Also", style="bold underline"), "")
        table.add_row("shift+arrows", "extend the selection (ctrl+shift+←/→ by word)")
        table.add_row("mouse", "drag to select; double-click a word; triple-click a turn; click a row to open")
        table.add_row("ctrl+p", "command palette: every action by name")
        table.add_row("ctrl+q", "quit")
        with VerticalScroll(classes="dialog dialog-wide", id="help"):
            yield Static(Text("qualcode keys   (remap them in keys.toml; esc closes)", style="bold"))
            yield Static(table)
