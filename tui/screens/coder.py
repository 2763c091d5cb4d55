"""Who is coding? Pick one of the study's coders or type a new name (added to the study)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option


class CoderScreen(ModalScreen):
    """Dismisses with (name, is_new) — or None on escape when a coder is already set."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, coders: list[str], required: bool = True) -> None:
        super().__init__()
        self.coders = coders
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Who is coding?", classes="dialog-title")
            if self.coders:
                yield OptionList(*[Option(name, id=f"coder-{i}") for i, name in enumerate(self.coders)],
                                 id="coder-list")
            yield Input(placeholder="…or type a new coder's name and press Enter", id="coder-new")
            yield Static("Your codings, memos and journal are kept under this name. "
                         "The choice is remembered for this study.", classes="dialog-hint")

    def on_mount(self) -> None:
        if self.coders:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()
        else:
            self.query_one(Input).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss((self.coders[event.option_index], False))

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if not name:
            self.notify("Type a name, or pick a coder from the list", severity="warning")
            return
        existing = {c.casefold(): c for c in self.coders}
        if name.casefold() in existing:
            self.dismiss((existing[name.casefold()], False))
        else:
            self.dismiss((name, True))

    def action_cancel(self) -> None:
        if self.required:
            self.notify("Choose a coder first (or ctrl+q to quit)", severity="warning")
        else:
            self.dismiss(None)
