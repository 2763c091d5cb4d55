"""Memos (filtered by what they are attached to) and the reflexive journal (dated entries).

In blind coding other coders' memos stay hidden like their codings; the journal shows the
current coder's own entries."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Select, Static, TabbedContent, TabPane

from qualcode.store.memos import TARGETS
from qualcode.study import PHASES
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ConfirmScreen, TextEditScreen, today


def _one_line(text: str, n: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


class MemosScreen(WorkScreen):
    BINDINGS = [
        key("memos", "n", "new", "New memo / journal entry"),
        key("memos", "e", "edit", "Edit memo"),
        key("memos", "x,delete", "delete", "Delete memo", show=False),
        key("memos", "o", "open_target", "Open in document", show=False),
        key("memos", "j", "show_tab('journal')", "Journal", name="journal"),
        key("memos", "M", "show_tab('memos')", "Memos", name="memos_tab", show=False),
        key("memos", "r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.generation = -1
        self.memos: list = []
        self.entries: list = []

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="memos", id="memo-tabs"):
            with TabPane("Memos", id="memos"):
                yield Select([(t, t) for t in TARGETS], prompt="All memos", allow_blank=True, id="memo-filter")
                with Vertical(classes="split"):
                    yield DataTable(id="memo-table", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="memo-body", classes="body-view")
            with TabPane("Journal", id="journal"):
                with Vertical(classes="split"):
                    yield DataTable(id="journal-table", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="journal-body", classes="body-view")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#memo-table", DataTable).add_columns("On", "Coder", "Updated", "Memo")
        self.query_one("#journal-table", DataTable).add_columns("Date", "Phase", "Entry")
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self.query_one(StatusBar).update(self.status_text())

    # -- data --------------------------------------------------------------------------------
    def action_reload(self) -> None:
        """Read memos and journal again (work done by the CLI or another window), keeping the
        highlighted memo and entry."""
        self.refresh_data()

    def external_change(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self.generation = self.session.generation
        study = self.session.study
        memo, entry = self._current_memo(), self._current_entry()
        tables = (self.query_one("#memo-table", DataTable), self.query_one("#journal-table", DataTable))
        scrolls = [t.scroll_y for t in tables]
        kind = self.query_one("#memo-filter", Select).value
        kind = kind if isinstance(kind, str) else None  # Select.NULL: every memo
        self.memos = [m for m in (self.attempt(study.memos.list, target_type=kind) or [])
                      if self.session.can_see(m.coder)]
        table = self.query_one("#memo-table", DataTable)
        table.clear()
        for m in self.memos:
            table.add_row(f"{m.target_type}: {m.target}", m.coder or "—", m.updated[:10], _one_line(m.body),
                          key=str(m.id))
        self.entries = (self.attempt(study.journal.list, coder=self.session.coder) or []) if self.session.coder else []
        journal = self.query_one("#journal-table", DataTable)
        journal.clear()
        for j in self.entries:
            journal.add_row(j.entry_date, f"{j.phase}" if j.phase else "—", _one_line(j.body), key=str(j.id))
        for t, rows, was, y in ((table, self.memos, memo, scrolls[0]), (journal, self.entries, entry, scrolls[1])):
            row = next((k for k, r in enumerate(rows) if was is not None and r.id == was.id), None)
            if row is not None:  # the same memo (entry) stays highlighted, at the same height
                t.move_cursor(row=row, animate=False, scroll=False)
                self.call_after_refresh(t.scroll_to, y=y, animate=False)
        self._show_bodies()
        self.query_one(StatusBar).update(self.status_text())

    @on(Select.Changed, "#memo-filter")
    def _filter(self) -> None:
        self.refresh_data()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_bodies()

    def _current_memo(self):
        table = self.query_one("#memo-table", DataTable)
        if not self.memos or table.cursor_row is None or table.cursor_row >= len(self.memos):
            return None
        return self.memos[table.cursor_row]

    def _current_entry(self):
        table = self.query_one("#journal-table", DataTable)
        if not self.entries or table.cursor_row is None or table.cursor_row >= len(self.entries):
            return None
        return self.entries[table.cursor_row]

    def _show_bodies(self) -> None:
        m = self._current_memo()
        self.query_one("#memo-body", Static).update(
            f"[b]{m.target_type}: {m.target}[/b] — {m.coder or '—'}, {m.updated}\n\n{m.body}" if m else "")
        j = self._current_entry()
        self.query_one("#journal-body", Static).update(
            f"[b]{j.entry_date}[/b] — phase {j.phase}: {PHASES.get(j.phase, '')}\n\n{j.body}" if j else
            "Your reflexive journal: n adds a dated entry.")

    def _tab(self) -> str:
        return self.query_one(TabbedContent).active or "memos"

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    # -- actions -----------------------------------------------------------------------------
    def action_new(self) -> None:
        if not self.session.coder:
            self.app.ask_coder()
            return
        study = self.session.study
        if self._tab() == "journal":
            def save_entry(result: Any) -> None:
                if result:
                    day, body = result
                    if self.attempt(self.session.perform, "journal entry", study.journal.add, body,
                                    self.session.coder, entry_date=day or None) is not None:
                        self.notify("Journal entry saved", timeout=2)
                        self.refresh_data()

            self.app.push_screen(TextEditScreen("New journal entry", entry_date=today()), save_entry)
        else:
            def save_memo(body: str | None) -> None:
                if body is not None and self.attempt(self.session.perform, "study memo", study.memos.add, body,
                                                     self.session.coder) is not None:
                    self.notify("Memo saved", timeout=2)
                    self.refresh_data()

            self.app.push_screen(TextEditScreen("New memo on the study"), save_memo)

    def action_edit(self) -> None:
        m = self._current_memo() if self._tab() == "memos" else None
        if m is None:
            self.notify("Highlight a memo first", severity="warning")
            return

        def save(body: str | None) -> None:
            if body is not None and self.attempt(self.session.perform, f"edit memo {m.id}",
                                                 self.session.study.memos.edit, m.id, body=body) is not None:
                self.refresh_data()

        self.app.push_screen(TextEditScreen(f"Memo on {m.target_type}: {m.target}", m.body), save)

    def action_delete(self) -> None:
        m = self._current_memo() if self._tab() == "memos" else None
        if m is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes and self.attempt(self.session.perform, f"delete memo {m.id}",
                                    self.session.study.memos.delete, m.id) is not None:
                self.refresh_data()

        self.app.push_screen(ConfirmScreen(f"Delete this memo on {m.target}?"), confirmed)

    def action_open_target(self) -> None:
        m = self._current_memo()
        if m is None or m.document_id is None:
            self.notify("This memo is not attached to a document", severity="warning")
            return
        doc = self.attempt(self.session.study.documents.get, m.document_id)
        if doc is None:
            return
        select = (m.start, m.end) if m.start is not None else None
        if m.target_type == "coding":
            coding = self.attempt(self.session.study.codings.get, m.target_id)
            select = (coding.start, coding.end) if coding else None
        self.app.open_document(doc.name, select=select)

    @on(DataTable.RowSelected, "#memo-table")
    def _memo_selected(self, event) -> None:
        event.stop()
        self.action_open_target()
