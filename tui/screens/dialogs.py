"""Small modal dialogs shared by every screen: prompt, choice, confirm, text editor, code picker,
code definition form. Each returns its answer through ``dismiss`` (``None`` when cancelled)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui.keymap import key


class Dialog(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptScreen(Dialog):
    """One line of text."""

    def __init__(self, title: str, value: str = "", placeholder: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.placeholder, self.hint = title, value, placeholder, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            if self.hint:
                yield Static(self.hint, classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)


class ChoiceScreen(Dialog):
    """Pick one of several labelled values."""

    def __init__(self, title: str, choices: Sequence[tuple[str | Text, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(label, id=str(i)) for i, (label, _v) in enumerate(self.choices)],
                             id="choices")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[int(event.option.id)][1])


class ConfirmScreen(Dialog):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="warning", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextEditScreen(Dialog):
    """Several lines of text (memos, journal entries): ctrl+s saves, escape cancels."""

    BINDINGS = [key("dialog", "ctrl+s", "save", "Save")]

    def __init__(self, title: str, text: str = "", entry_date: str | None = None) -> None:
        super().__init__()
        self.title_text, self.text, self.entry_date = title, text, entry_date

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide"):
            yield Label(self.title_text, classes="dialog-title")
            if self.entry_date is not None:
                yield Input(self.entry_date, placeholder="YYYY-MM-DD", id="entry-date", compact=True)
            yield TextArea(self.text, id="body", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        body = self.query_one("#body", TextArea)
        body.focus()
        body.move_cursor(body.document.end)

    def action_save(self) -> None:
        body = self.query_one("#body", TextArea).text
        if self.entry_date is not None:
            self.dismiss((self.query_one("#entry-date", Input).value.strip(), body))
        else:
            self.dismiss(body)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


def _code_score(query: str, path: str, **_kwargs: Any) -> float:
    """How well ``query`` names ``path``: the whole path (WRatio) or a part of its leaf name."""
    leaf = path.rsplit("/", 1)[-1]
    score = max(fuzz.WRatio(query, path), 0.95 * fuzz.partial_ratio(query, leaf))
    words = re.split(r"[\s/_-]+", path)
    tokens = query.split()
    if len(tokens) > 1 and all(any(w.startswith(t) for w in words) for t in tokens):
        score = max(score, 92.0)  # "prog end" -> Programme ending
    return score


def rank_codes_scored(query: str, paths: Sequence[str], recent: Sequence[str],
                      limit: int = 50) -> list[tuple[str, float]]:
    """(path, score) for the picker: fuzzy matches (rapidfuzz) boosted for a leaf that starts
    with the query and for recent use; with no query, recent codes first, then the codebook in
    tree order (score 0)."""
    rank = {p: i for i, p in enumerate(recent)}
    if not query.strip():
        known = set(paths)
        first = [p for p in recent if p in known]
        return [(p, 0.0) for p in (first + [p for p in paths if p not in rank])[:limit]]
    q = query.strip()
    found = process.extract(q, list(paths), scorer=_code_score, processor=str.casefold,
                            limit=None, score_cutoff=50)
    lowered = q.casefold()
    scored = []
    for path, value, _ in found:
        leaf = path.rsplit("/", 1)[-1].casefold()
        bonus = 15 if leaf.startswith(lowered) else 8 if lowered in path.casefold() else 0
        recency = (len(recent) - rank[path]) / max(len(recent), 1) * 6 if path in rank else 0
        scored.append((path, value + bonus + recency))
    scored.sort(key=lambda item: (-item[1], item[0].casefold()))
    return scored[:limit]


def rank_codes(query: str, paths: Sequence[str], recent: Sequence[str], limit: int = 50) -> list[str]:
    return [p for p, _score in rank_codes_scored(query, paths, recent, limit)]


STRONG_MATCH = 80  # below this, a typed name that is no code's is offered first as a new code


class CodePicker(Dialog):
    """Type a few letters, pick a code; or create the typed name as a new code.

    Returns ``("code", path)`` or ``("new", name)``.
    """

    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("pagedown", "move(8)", "Page down", show=False),
        Binding("pageup", "move(-8)", "Page up", show=False),
        key("dialog", "ctrl+n", "create", "Create the typed name as a new code"),
    ]

    def __init__(self, paths: Sequence[str], recent: Sequence[str], colours: dict[str, str] | None = None,
                 title: str = "Apply code", allow_new: bool = True, exclude: Iterable[str] = ()) -> None:
        super().__init__()
        excluded = set(exclude)
        self.paths = [p for p in paths if p not in excluded]
        self.recent = list(recent)
        self.colours = colours or {}
        self.title_text = title
        self.allow_new = allow_new
        self.results: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="picker"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(placeholder="type to filter; Enter applies; a new name creates a code",
                        id="picker-input")
            yield OptionList(id="picker-options")

    def on_mount(self) -> None:
        self._refill("")
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._refill(event.value)

    def _refill(self, query: str) -> None:
        ranked = rank_codes_scored(query, self.paths, self.recent)
        self.results = [("code", p) for p, _score in ranked]
        name = query.strip()
        if self.allow_new and name and name.casefold() not in {p.casefold() for p in self.paths}:
            if ranked and ranked[0][1] >= STRONG_MATCH:
                self.results.append(("new", name))
            else:
                self.results.insert(0, ("new", name))
        options = []
        for kind, value in self.results:
            if kind == "new":
                options.append(Option(Text.assemble(("+ new code ", "bold"), (value, "italic"))))
            else:
                swatch = self.colours.get(value, "#888888")
                label = Text.assemble(("■ ", swatch), value)
                if value in self.recent[:5]:
                    label.append("  recent", style="dim")
                options.append(Option(label))
        widget = self.query_one(OptionList)
        widget.set_options(options)
        widget.highlighted = 0 if options else None

    def action_move(self, step: int) -> None:
        widget = self.query_one(OptionList)
        if widget.option_count:
            current = widget.highlighted or 0
            widget.highlighted = max(0, min(widget.option_count - 1, current + step))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        widget = self.query_one(OptionList)
        if widget.highlighted is not None and self.results:
            self.dismiss(self.results[widget.highlighted])

    def action_create(self) -> None:
        name = self.query_one(Input).value.strip()
        if self.allow_new and name:
            self.dismiss(("new", name))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.results[event.option_index])


class DefinitionScreen(Dialog):
    """Edit a code's definition fields and colour; returns a dict of changed fields."""

    BINDINGS = [key("dialog", "ctrl+s", "save", "Save")]
    FIELDS = (("description", "Description"), ("include_when", "Include when"),
              ("exclude_when", "Exclude when"), ("example", "Example"), ("colour", "Colour (#RRGGBB)"))

    def __init__(self, code) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog dialog-wide"):
            yield Label(f"Definition of {self.code.path}", classes="dialog-title")
            for name, label in self.FIELDS:
                yield Label(label, classes="field-label")
                yield Input(getattr(self.code, name) or "", id=f"field-{name}", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-description", Input).focus()

    def action_save(self) -> None:
        values = {}
        for name, _label in self.FIELDS:
            value = self.query_one(f"#field-{name}", Input).value
            if value != (getattr(self.code, name) or ""):
                values[name] = value
        self.dismiss(values)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


def today() -> str:
    return date.today().isoformat()
