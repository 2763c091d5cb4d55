"""Full-text search across the study, results in context; Enter opens the document with the hit
selected. The search runs in a worker thread with its own connection."""

from __future__ import annotations


from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from qualcode.errors import QualcodeError
from qualcode.study import Study
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen

LIMIT = 500


class SearchScreen(WorkScreen):
    BINDINGS = [key("search", "ctrl+l", "focus_query", "New search", show=False)]

    class Results(Message):
        def __init__(self, query: str, total: int, hits: list, error: str | None = None) -> None:
            super().__init__()
            self.query, self.total, self.hits, self.error = query, total, hits, error

    def __init__(self) -> None:
        super().__init__()
        self.hits: list = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder='Search: words, "a phrase", prefix*, OR   (Enter searches)', id="search-input")
        yield Static("", id="search-summary")
        yield OptionList(id="hits")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_screen_resume(self) -> None:
        self.query_one(StatusBar).update(self.status_text())

    def action_focus_query(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search(event.value)

    def search(self, query: str) -> None:
        if not query.strip():
            return
        self.query_one("#hits", OptionList).loading = True
        self.query_one("#search-summary", Static).update(f"Searching for {query}…")
        self._run(query)

    @work(thread=True, exclusive=True, group="search")
    def _run(self, query: str) -> None:
        try:
            with Study.open(self.session.path) as study:
                total, found = study.search(query, limit=LIMIT)
                hits = [(h, h.left, h.match, h.right) for h in found]
        except QualcodeError as exc:
            self.post_message(self.Results(query, 0, [], str(exc)))
            return
        self.post_message(self.Results(query, total, hits))

    @on(Results)
    def _show(self, message: Results) -> None:
        hits_widget = self.query_one("#hits", OptionList)
        hits_widget.loading = False
        summary = self.query_one("#search-summary", Static)
        if message.error:
            summary.update(message.error)
            self.notify(message.error, severity="error")
            return
        self.hits = [h for h, *_context in message.hits]
        options = []
        for h, left, match, right in message.hits:
            who = h.participant or h.speaker or "—"
            options.append(Option(Text.assemble((f"{h.document}", "bold"), f" · {who}  ", f"…{left}",
                                                (match, "reverse bold"), f"{right}…")))
        hits_widget.set_options(options)
        more = f" (showing turns up to {LIMIT})" if message.total > LIMIT else ""
        summary.update(f"{message.total} matching turn(s), {len(self.hits)} hit(s) for {message.query}{more}"
                       " — Enter opens the hit")
        if options:
            hits_widget.highlighted = 0
            hits_widget.focus()

    @on(OptionList.OptionSelected, "#hits")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        hit = self.hits[event.option_index]
        self.app.open_document(hit.document, select=(hit.start, hit.end))
