"""The coding screen: read a transcript, select, code, memo, move between codings.

The transcript is one ``TranscriptView`` (a read-only TextArea); the side panel lists the codings
at the cursor (with their coders when others are visible). Every write is one core call through
``Session.perform``; afterwards only the codings concerned are fetched again and repainted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.widgets.text_area import Selection

from qualcode.errors import QualcodeError
from qualcode.study import Study
from tui.highlight import Span
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ChoiceScreen, CodePicker, TextEditScreen
from tui.textmap import is_boundary
from tui.widgets.transcript import TranscriptView, format_ms

_TRIM = " \t\n\"'“”‘’.,;:!?-—–()[]…"


def quote_excerpt(text: str, limit: int = 40) -> str:
    """The selected text on one line for the status bar: “first words…”."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        cut = limit - 1
        while cut > 0 and not is_boundary(flat, cut):  # never half an emoji
            cut -= 1
        flat = flat[:cut].rstrip() + "…"
    return f"“{flat}”"


def in_vivo_name(text: str, limit: int = 80) -> str:
    """The selected words as a code name: one line, no path separator, trimmed punctuation."""
    name = " ".join(text.split()).strip(_TRIM).replace("/", "-")
    if len(name) > limit:
        name = name[:limit].rsplit(" ", 1)[0].rstrip(_TRIM) + "…"
    return name


@dataclass
class Loaded:
    document: Any
    text: str
    turns: list
    codings: list
    codes: list


class CodingScreen(WorkScreen):
    BINDINGS = [
        key("coding", "c", "apply_code", "Apply code"),
        key("coding", "v", "in_vivo", "In-vivo code"),
        key("coding", "x,delete", "remove_coding", "Remove coding"),
        key("coding", "a", "adjust_coding", "Adjust coding to selection", show=False),
        key("coding", "w", "select_word", "Select word (again: extend)", show=False),
        key("coding", "s", "select_sentence", "Select sentence (again: extend)", show=False),
        key("coding", "t", "select_turn", "Select turn (again: extend)", show=False),
        key("coding", "n,right_square_bracket", "next_coding", "Next coding", show=False),
        key("coding", "N,left_square_bracket", "previous_coding", "Previous coding", show=False),
        key("coding", "u,right_curly_bracket", "next_uncoded", "Next uncoded turn", show=False),
        key("coding", "U,left_curly_bracket", "previous_uncoded", "Previous uncoded turn", show=False),
        key("coding", "m", "memo", "Memo"),
        key("coding", "l", "list_codings", "Codings here", show=False),
        key("coding", "o", "toggle_others", "Show/hide other coders", show=False),
        key("coding", "r", "reload", "Reload from the study", show=False),
        key("coding", "ctrl+o", "open_document", "Open document…", show=False),
        key("coding", "escape", "clear_or_leave", "Clear selection / back", show=False),
    ]

    class DocumentLoaded(Message):
        def __init__(self, data: Loaded, select: tuple[int, int] | None, keep: bool = False) -> None:
            super().__init__()
            self.data = data
            self.select = select
            self.keep = keep  # a reload of the open document: keep the selection and the scroll

    def __init__(self) -> None:
        super().__init__()
        self.document = None
        self.text = ""
        self.turns: list = []
        self.codes: dict[int, Any] = {}
        self.picked: int | None = None
        self.generation = -1
        self._panel_key: tuple | None = None
        self._on_line_shown: Text | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="coding-main"):
            yield TranscriptView(id="transcript")
            with Vertical(id="side"):
                yield Static("No document open.\nPress 1 for the documents, or ctrl+o.", id="doc-info")
                yield Label("Codings here", classes="side-title")
                yield OptionList(id="at-cursor")
                yield Label("On this line", classes="side-title")
                yield Static("", id="on-line")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def on_mount(self) -> None:
        # The side panel and status bar follow the selection in the same frame as the transcript:
        # a watcher runs as the selection changes, where the SelectionChanged message would be
        # handled after the transcript's repaint and cost a second frame for every key.
        self.watch(self.view, "selection", self._selection_changed, init=False)
        self._update_status()

    def on_screen_resume(self) -> None:
        if self.document is not None and self.generation != self.session.generation:
            self.refresh_data()
        self._update_status()
        if self.document is not None:
            self.view.focus()

    # -- loading -----------------------------------------------------------------------------
    def open_document(self, name: str, select: tuple[int, int] | None = None) -> None:
        self.view.loading = True
        self._load(name, select)

    def action_reload(self) -> None:
        """Read the open document, its codings and the codebook again (work done by the CLI or
        another window), keeping the selection and the scroll position."""
        if self.document is None:
            return
        self.generation = self.session.generation
        self._load(self.document.id, None, True)

    def external_change(self) -> None:
        self.action_reload()
        self._update_status()

    @work(thread=True, exclusive=True, group="coding-load")
    def _load(self, name: str | int, select: tuple[int, int] | None, keep: bool = False) -> None:
        try:
            with Study.open(self.session.path) as study:
                doc = study.documents.get(name)
                data = Loaded(doc, study.documents.text(doc.id), study.documents.turns(doc.id),
                              study.codings.list(document=doc.name), study.codes.list())
        except QualcodeError as exc:
            self.app.call_from_thread(self._load_failed, str(exc), keep)
            return
        self.post_message(self.DocumentLoaded(data, select, keep))

    def _load_failed(self, message: str, keep: bool = False) -> None:
        self.view.loading = False
        if keep:  # the open document was deleted (or renamed away) meanwhile
            message = f"The open document can no longer be read: {message}"
        self.notify(message, severity="error")

    @on(DocumentLoaded)
    def _loaded(self, message: DocumentLoaded) -> None:
        data = message.data
        if message.keep:
            if self.document is not None and self.document.id == data.document.id:
                self._reloaded(data)
            return
        self.document, self.text, self.turns = data.document, data.text, data.turns
        self.codes = {c.id: c for c in data.codes}
        self.picked = None
        self._panel_key = None
        self._on_line_shown = None
        self.generation = self.session.generation
        view = self.view
        view.load_document(data.text, data.turns, [Span.of(c) for c in data.codings],
                           {c.id: c.colour for c in data.codes}, self.session.visible_coders())
        view.loading = False
        self._show_info(data)
        view.focus()
        if message.select:
            view.select_span(*message.select)
        self._update_panel()
        self._update_status()

    def _reloaded(self, data: Loaded) -> None:
        """A reload of the open document arrived: same text and turns -> only the codings and
        colours change (nothing moves); a rewritten text (anonymised, re-imported) -> the text is
        loaded again with the selection (clamped) and the scroll position kept."""
        view = self.view
        self.document = data.document
        codes = {c.id: c for c in data.codes}
        colours = {c.id: c.colour for c in data.codes}
        if data.text == self.text and data.turns == self.turns:
            if colours != {cid: c.colour for cid, c in self.codes.items()}:
                view.colours = colours
                view._styles.clear()
            self.codes = codes
            if view.index.visible_coders != self.session.visible_coders():
                view.index.set_visible(self.session.visible_coders())
            view.update_spans([Span.of(c) for c in data.codings])
            view.repaint()
        else:
            s, e = view.selection.start, view.selection.end
            scroll = view.scroll_offset
            self.text, self.turns, self.codes = data.text, data.turns, codes
            view.load_document(data.text, data.turns, [Span.of(c) for c in data.codings], colours,
                               self.session.visible_coders())
            last = view.document.line_count - 1

            def clamp(loc: tuple[int, int]) -> tuple[int, int]:
                row = min(loc[0], last)
                return row, min(loc[1], len(view.document.get_line(row)))

            view.selection = Selection(clamp(s), clamp(e))
            view.call_after_refresh(view.scroll_to, scroll.x, scroll.y, animate=False)
        if self.picked is not None and self.picked not in view.index.spans:
            self.picked = None
        self._show_info(data)
        self._panel_key = None
        self._on_line_shown = None
        self._update_panel()
        self._update_status()

    def _show_info(self, data: Loaded) -> None:
        doc = data.document
        meta = ", ".join(f"{k}: {v}" for k, v in sorted(doc.metadata.items()) if v not in (None, ""))
        self.query_one("#doc-info", Static).update(
            f"[b]{escape(doc.name)}[/b]\n{escape(', '.join(doc.participants) or 'no participants mapped')}"
            f" · {doc.word_count:,} words · {len(data.turns)} turns"
            + (f"\n[dim]{escape(meta)}[/dim]" if meta else ""))

    def refresh_data(self) -> None:
        """Fetch codes and this document's codings again (after undo/redo or codebook edits);
        the whole document when its record changed (text rewritten, participants mapped)."""
        if self.document is None:
            return
        study = self.session.study
        try:
            doc = study.documents.get(self.document.id)
        except QualcodeError:
            self.document = None
            self.notify("The open document no longer exists", severity="warning")
            return
        if doc != self.document:
            self.action_reload()
            return
        self.generation = self.session.generation
        codes = study.codes.list()
        colours = {c.id: c.colour for c in codes}
        if colours != {cid: c.colour for cid, c in self.codes.items()}:
            self.view.colours = colours
            self.view._styles.clear()
        self.codes = {c.id: c for c in codes}
        if self.view.index.visible_coders != self.session.visible_coders():  # coder switched
            self.view.index.set_visible(self.session.visible_coders())
        self.view.update_spans([Span.of(c) for c in study.codings.list(document=self.document.name)])
        self.view.repaint()
        self._panel_key = None
        self._on_line_shown = None
        self._update_panel()

    def _refetch(self, code_path: str) -> None:
        """After a write on one code: fetch that code's codings by this coder again."""
        study = self.session.study
        code = study.codes.get(code_path)
        if code.id not in self.codes or self.codes[code.id].colour != code.colour:
            self.codes = {c.id: c for c in study.codes.list()}
            self.view.set_colours({c.id: c.colour for c in self.codes.values()})
        spans = [Span.of(c) for c in study.codings.list(document=self.document.name, code=code.path,
                                                         coder=self.session.coder)]
        self.view.update_spans(spans, code_id=code.id, coder=self.session.coder)
        self.generation = self.session.generation
        self._panel_key = None
        self._on_line_shown = None
        self._update_panel()
        self._update_status()

    # -- panel and status -------------------------------------------------------------------
    def _selection_changed(self, _selection=None) -> None:
        if self.picked is not None:
            span = self.view.index.spans.get(self.picked)
            s, e = self.view.selection_span
            if span is None or not (span.start <= e and span.end >= s):
                self.picked = None
        self._update_panel()
        self._update_status()

    def _here(self) -> list[Span]:
        """Visible codings at the cursor, or overlapping the selection."""
        if self.document is None:
            return []
        view = self.view
        s, e = view.selection_span
        if s == e:
            return view.index.at(s)
        return sorted(view.index.overlapping(s, e), key=lambda sp: (sp.start, sp.id))

    def _update_panel(self) -> None:
        if self.document is None:
            return
        here = self._here()
        view = self.view
        row = view.cursor_location[0]
        key_ = (tuple(sp.id for sp in here), row)
        if key_ == self._panel_key:  # same codings, same line: nothing to redraw
            return
        if self._panel_key is None or key_[0] != self._panel_key[0]:
            options = []
            show_coder = self.session.visible_coders() != frozenset({self.session.coder})
            for sp in here:
                label = Text.assemble((" ■ ", self._colour(sp.code_id)), sp.code)
                if show_coder or sp.coder != self.session.coder:
                    label.append(f"  {sp.coder}", style="italic")
                label.append(f"  {sp.start}:{sp.end}", style="dim")
                if sp.memo:
                    label.append(f"\n    ✎ {sp.memo[:60]}", style="dim")
                options.append(Option(label, id=f"c{sp.id}"))
            panel = self.query_one("#at-cursor", OptionList)
            panel.set_options(options)
        self._panel_key = key_
        on_line = []
        seen = set()
        show_coder = self.session.visible_coders() != frozenset({self.session.coder})
        for sp in view.index.on_row(row):
            if (sp.code_id, sp.coder) in seen:
                continue
            seen.add((sp.code_id, sp.coder))
            who = f" ({sp.coder})" if show_coder else ""
            on_line.append(Text.assemble(("■ ", self._colour(sp.code_id)), sp.code + who))
        shown = Text("\n").join(on_line) if on_line else Text("—", style="dim")
        if shown != self._on_line_shown:  # same codes on the next line: no layout, no repaint
            self._on_line_shown = shown
            # #on-line fills the rest of the side panel (1fr): new text repaints it, no layout.
            self.query_one("#on-line", Static).update(shown, layout=False)

    def _colour(self, code_id: int) -> str:
        code = self.codes.get(code_id)
        return code.colour if code else "#888888"

    def _update_status(self) -> None:
        parts = [self.status_text()]
        if self.document is not None:
            view = self.view
            s, e = view.selection_span
            parts.append(escape(self.document.name))
            if s != e:
                parts.append(f"{s}:{e} ({e - s} chars) {escape(quote_excerpt(self.text[s:e]))}")
            else:
                parts.append(f"at {s}")
            i = view.turn_index_at(s)
            if i is not None and self.turns:
                turn = self.turns[i]
                who = escape(turn.participant or turn.speaker or "?")
                stamp = f" {format_ms(turn.start_ms)}" if turn.start_ms is not None else ""
                parts.append(f"turn {i + 1}/{len(self.turns)} {who}{stamp}")
        self.query_one(StatusBar).update(" │ ".join(parts))

    @on(OptionList.OptionSelected, "#at-cursor")
    def _panel_pick(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        span = self.view.index.spans.get(int(event.option.id[1:]))
        if span:
            self._select_coding(span)
            self.view.focus()

    # -- helpers -----------------------------------------------------------------------------
    def _require_document(self) -> bool:
        if self.document is None:
            self.notify("Open a document first (1: documents, ctrl+o)", severity="warning")
            return False
        if not self.session.coder:
            self.notify("Choose who is coding first", severity="warning")
            self.app.ask_coder()
            return False
        return True

    def _selection(self) -> tuple[int, int] | None:
        if not self._require_document():
            return None
        s, e = self.view.selection_span
        if s == e:
            self.notify("Select some text first: shift+arrows, w / s / t, or drag with the mouse",
                        severity="warning")
            return None
        return s, e

    def _own_here(self) -> list[Span]:
        here = self._here()
        if self.picked is not None and self.picked in self.view.index.spans:
            picked = self.view.index.spans[self.picked]
            if picked.coder == self.session.coder:
                return [picked]
        return [sp for sp in here if sp.coder == self.session.coder]

    def _choose_coding(self, spans: list[Span], title: str, then) -> None:
        if not spans:
            others = [sp for sp in self._here() if sp.coder != self.session.coder]
            self.notify("Only your own codings can be changed" if others else "No coding of yours here",
                        severity="warning")
            return
        if len(spans) == 1:
            then(spans[0])
            return
        choices = [(Text.assemble(("■ ", self._colour(sp.code_id)), f"{sp.code}  {sp.start}:{sp.end}  "
                                  f"“{self.text[sp.start:sp.end][:40]}”"), sp) for sp in spans]
        self.app.push_screen(ChoiceScreen(title, choices), lambda sp: sp and then(sp))

    def _select_coding(self, span: Span) -> None:
        self.picked = span.id
        self.view.select_span(span.start, span.end)
        self.picked = span.id

    # -- coding actions --------------------------------------------------------------------------
    def action_apply_code(self) -> None:
        sel = self._selection()
        if sel is None:
            return
        codes = list(self.codes.values())
        colours = {c.path: c.colour for c in codes}
        self.app.push_screen(CodePicker([c.path for c in codes], self.session.recent, colours),
                             lambda choice: choice and self._apply(choice, *sel))

    def _apply(self, choice: tuple[str, str], start: int, end: int) -> None:
        kind, value = choice
        study, coder, doc = self.session.study, self.session.coder, self.document.name

        def code_it() -> Any:
            with study.change("code", f"code {doc} {start}:{end} as {value} ({coder})", coder):
                if kind == "new":
                    created = study.codes.add(value)
                    return study.codings.add(doc, created.path, coder, start, end)
                return study.codings.add(doc, value, coder, start, end)

        label = f"{'new code ' if kind == 'new' else ''}{value} on {start}:{end}"
        coding = self.attempt(self.session.perform, label, code_it)
        if coding is None:
            return
        self.session.note_code_used(coding.code)
        self._refetch(coding.code)
        self.notify(f"Coded {coding.end - coding.start} chars as {coding.code}", timeout=2)

    def action_in_vivo(self) -> None:
        sel = self._selection()
        if sel is None:
            return
        name = in_vivo_name(self.text[sel[0]:sel[1]])
        if not name:
            self.notify("The selection has no words to name a code", severity="warning")
            return
        try:
            existing = self.session.study.codes.find(name)
        except QualcodeError as exc:
            self.app.errors.append(str(exc))
            self.notify(str(exc), severity="error")
            return
        self._apply(("code", existing.path) if existing else ("new", name), *sel)

    def action_remove_coding(self) -> None:
        if not self._require_document():
            return
        s, e = self.view.selection_span

        def remove(span: Span) -> None:
            study = self.session.study
            whole = s == e or (s <= span.start and e >= span.end)
            if whole:
                result = self.attempt(self.session.perform, f"remove {span.code} {span.start}:{span.end}",
                                      study.codings.delete, span.id)
            else:
                result = self.attempt(self.session.perform, f"uncode {span.code} {s}:{e}",
                                      study.codings.remove, self.document.name, span.code,
                                      self.session.coder, s, e)
            if result is not None:
                self.picked = None
                self._refetch(span.code)
                if whole:
                    self.notify(f"Deleted coding {span.code} {span.start}:{span.end}", timeout=2)
                else:
                    self.notify(f"Uncoded {max(s, span.start)}:{min(e, span.end)} of {span.code} "
                                f"{span.start}:{span.end}", timeout=2)

        self._choose_coding(self._own_here(), "Remove which coding?", remove)

    def action_adjust_coding(self) -> None:
        sel = self._selection()
        if sel is None:
            return

        def adjust(span: Span) -> None:
            coding = self.attempt(self.session.perform, f"adjust {span.code} to {sel[0]}:{sel[1]}",
                                  self.session.study.codings.adjust, span.id, *sel)
            if coding is not None:
                self.picked = coding.id
                self._refetch(coding.code)
                self.notify(f"{coding.code} now spans {coding.start}:{coding.end}", timeout=2)

        self._choose_coding(self._own_here(), "Adjust which coding to the selection?", adjust)

    # -- selection and navigation ------------------------------------------------------------------
    def action_select_word(self) -> None:
        if self.document is not None:
            self.view.select_word()

    def action_select_sentence(self) -> None:
        if self.document is not None:
            self.view.select_sentence()

    def action_select_turn(self) -> None:
        if self.document is not None:
            self.view.select_turn()

    def action_next_coding(self) -> None:
        if self.document is None:
            return
        span = self.view.index.next_after(self.view.selection_span[0])
        if span is None:
            self.notify("No further coding", timeout=2)
        else:
            self._select_coding(span)

    def action_previous_coding(self) -> None:
        if self.document is None:
            return
        span = self.view.index.previous_before(self.view.selection_span[0])
        if span is None:
            self.notify("No earlier coding", timeout=2)
        else:
            self._select_coding(span)

    def _units(self) -> list:
        """Turns that count for 'uncoded': participants' turns when speakers are mapped."""
        return [t for t in self.turns if t.participant] or self.turns

    def _jump_uncoded(self, forward: bool) -> None:
        if self.document is None:
            return
        here = self.view.selection_span[0]
        units = self._units()
        order = units if forward else list(reversed(units))
        for t in order:
            if (t.start > here if forward else t.start < here) and t.end > t.start \
                    and not self.view.index.covers(t.start, t.end):
                self.view.move_to(t.start)
                return
        self.notify("No uncoded turn " + ("after" if forward else "before") + " this point", timeout=2)

    def action_next_uncoded(self) -> None:
        self._jump_uncoded(True)

    def action_previous_uncoded(self) -> None:
        self._jump_uncoded(False)

    def action_clear_or_leave(self) -> None:
        view = self.view
        if self.document is not None and view.selection.start != view.selection.end:
            view.move_cursor(view.selection.end)
        else:
            self.app.go("home")

    def action_list_codings(self) -> None:
        if self.document is None:
            return
        here = self._here()
        if not here:
            self.notify("No coding here", timeout=2)
            return
        choices = [(Text.assemble(("■ ", self._colour(sp.code_id)), f"{sp.code} — {sp.coder} — "
                                  f"{sp.start}:{sp.end}" + (f" — ✎ {sp.memo[:40]}" if sp.memo else "")), sp)
                   for sp in here]
        self.app.push_screen(ChoiceScreen("Codings here (Enter selects)", choices),
                             lambda sp: sp and self._select_coding(sp))

    def others_toggled(self) -> None:
        self.generation = self.session.generation
        if self.document is not None:
            self.view.set_visible_coders(self.session.visible_coders())
            self._panel_key = None
            self._on_line_shown = None
            self._update_panel()
        self._update_status()

    def action_open_document(self) -> None:
        docs = self.session.study.documents.list()
        choices = [(f"{d.name}  ({', '.join(d.participants) or '—'}, {d.word_count:,} words)", d.name)
                   for d in docs]
        self.app.push_screen(ChoiceScreen("Open document", choices),
                             lambda name: name and self.open_document(name))

    # -- memos -------------------------------------------------------------------------------
    def action_memo(self) -> None:
        if not self._require_document():
            return
        s, e = self.view.selection_span
        choices: list[tuple[str | Text, Any]] = []
        for sp in self._own_here():
            choices.append((Text.assemble("Memo on coding ", ("■ ", self._colour(sp.code_id)),
                                          f"{sp.code} {sp.start}:{sp.end}"), ("coding", sp)))
        if s != e:
            excerpt = " ".join(self.text[s:e].split())[:40]
            choices.append((f"Memo on passage {s}:{e} “{excerpt}”", ("passage", (s, e))))
        choices.append((f"Memo on document {self.document.name}", ("document", None)))
        self.app.push_screen(ChoiceScreen("Write a memo on…", choices),
                             lambda target: target and self._write_memo(*target))

    def _write_memo(self, kind: str, target: Any) -> None:
        study, coder, doc = self.session.study, self.session.coder, self.document.name
        if kind == "coding":
            title, text = f"Memo on coding {target.code} {target.start}:{target.end}", target.memo
        elif kind == "passage":
            title, text = f"Memo on passage {target[0]}:{target[1]} of {doc}", ""
        else:
            title, text = f"Memo on {doc}", ""

        def save(body: str | None) -> None:
            if body is None:
                return
            if kind == "coding":
                done = self.attempt(self.session.perform, f"memo on coding {target.id}",
                                    study.codings.set_memo, target.id, body)
                if done is not None:
                    self._refetch(target.code)
            elif kind == "passage":
                done = self.attempt(self.session.perform, "passage memo", study.memos.add, body, coder,
                                    document=doc, span=target)
            else:
                done = self.attempt(self.session.perform, "document memo", study.memos.add, body, coder,
                                    document=doc)
            if done is not None:
                self.notify("Memo saved", timeout=2)

        self.app.push_screen(TextEditScreen(title, text), save)
