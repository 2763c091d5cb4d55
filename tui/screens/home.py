"""Home: the study's documents with participants, group, format, words and each coder's progress;
the Braun & Clarke phase. Enter or a click opens a document on the coding screen."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from qualcode.study import PHASES, Study
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ChoiceScreen
from tui.widgets.cells import PlainCell, plain_columns


class DocumentTable(DataTable):
    """A click on a row opens it (DataTable alone needs a second click)."""

    async def _on_click(self, event) -> None:
        before = self.cursor_coordinate
        await super()._on_click(event)
        meta = event.style.meta
        if meta.get("row", -1) >= 0 and self.cursor_coordinate != before:
            self.action_select_cursor()


class HomeScreen(WorkScreen):
    BINDINGS = [
        key("home", "f", "set_phase", "Set B&C phase"),
        key("home", "w", "switch_coder", "Switch coder"),
        key("home", "r", "reload", "Reload"),
        key("home", "k", "mark_complete", "Mark my coding complete / reopen"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="home-title")
        yield Static(id="home-blind")
        yield DocumentTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Static("Enter or click: open a document · 1 documents 2 coding 3 codebook 4 memos 5 search 6 agreement 7 themes 8 anonymise 9 export"
                     " · ?: all keys · ctrl+p: commands", id="home-hint")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.generation = -1
        self._keep: str | None = None  # the document highlighted before a reload
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self.query_one(StatusBar).update(self.status_text())

    def refresh_data(self) -> None:
        self.generation = self.session.generation
        info = self.session.study.info()
        phase = info.get("phase")
        self.query_one("#home-title", Static).update(
            f"[b]{info.get('title')}[/b]  ·  {info.get('approach')}  ·  "
            f"Phase {phase}: {PHASES.get(phase, '?')}  ·  {info.get('documents')} documents, "
            f"{info.get('words'):,} words, {info.get('codings')} codings")
        self.query_one("#home-blind", Static).update(self._blind_line())
        self.query_one(StatusBar).update(self.status_text())
        table = self.query_one(DocumentTable)
        if table.row_count:
            try:
                self._keep = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            except CellDoesNotExist:
                pass
        table.loading = True
        self._load()

    def external_change(self) -> None:
        self.refresh_data()

    def _blind_line(self) -> str:
        """Blind double coding at a glance: the rule, who set it, who has finished."""
        session, study = self.session, self.session.study
        policy = session.policy()
        if policy.forbid:
            rule = "Blind coding: others' codings only after marking yours complete (forbid_unblind)"
        elif policy.blind:
            rule = "Blind coding: others' codings hidden unless shown (o); unblinding allowed"
        else:
            rule = "Not blind: every coder's codings are shown"
        who = study.set_by("forbid_unblind") or study.set_by("blind")
        if who:
            rule += f", set by {who['coder']} {who['created'][:16].replace('T', ' ')}"
        done = [f"{name} ✓ {when[:10]}" for name, when in policy.complete.items()]
        waiting = [name for name in policy.people if name not in policy.complete]
        parts = [rule]
        if done:
            parts.append("complete: " + ", ".join(done))
        if waiting:
            parts.append("still coding: " + ", ".join(waiting))
        mine = "reopen yours" if session.complete else "mark yours complete"
        return " · ".join(parts) + f" · k: {mine}"

    @work(thread=True, exclusive=True, group="home")
    def _load(self) -> None:
        """Rows first (one cheap query), then each coder's progress (a join over codings and turns,
        seconds on a 1,000-transcript study) fills its columns when ready."""
        with Study.open(self.session.path) as study:
            coders = [c.name for c in study.coders.list() if c.kind == "coder"]
            groups = {p.label: p.group for p in study.participants.list()}
            rows = []
            for doc in study.documents.list():
                labels = ", ".join(doc.participants) or "—"
                group = ", ".join(dict.fromkeys(groups.get(p, "") for p in doc.participants if groups.get(p))) or "—"
                rows.append((doc.id, doc.name, [doc.name, labels, group, doc.format, f"{doc.word_count:,}"]))
            self.app.call_from_thread(self._fill, coders, rows)
            progress = study.documents.progress()
        self.app.call_from_thread(self._fill_progress, coders, rows, progress)

    def _coder_column(self, coder: str) -> str:
        return f"{coder}{' (you)' if coder == self.session.coder else ''}"

    def _fill(self, coders: list[str], rows: list[tuple[int, str, list[str]]]) -> None:
        table = self.query_one(DocumentTable)
        table.clear(columns=True)
        headers = [("Document", None), ("Participants", None), ("Group", None), ("Format", None), ("Words", None)]
        headers += [(self._coder_column(coder), f"coder:{coder}") for coder in coders]
        plain_columns(table, headers, [cells for _doc_id, _name, cells in rows],
                      min_widths=[0] * 5 + [len("100%")] * len(coders))
        pending = [PlainCell("…") for _ in coders]
        for _doc_id, name, cells in rows:
            table.add_row(*map(PlainCell, cells), *pending, key=name)
        table.loading = False
        keep, self._keep = self._keep, None
        if keep is not None:
            try:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
            except RowDoesNotExist:  # the document has gone
                pass
        if not rows:
            self.notify("No documents yet: import transcripts with `qualcode import`.")

    def _fill_progress(self, coders: list[str], rows: list[tuple[int, str, list[str]]],
                       progress: dict[int, dict[str, float]]) -> None:
        table = self.query_one(DocumentTable)
        for doc_id, name, _cells in rows:
            shares = progress.get(doc_id, {})
            for coder in coders:
                try:
                    table.update_cell(name, f"coder:{coder}", PlainCell(f"{round(100 * shares.get(coder, 0.0))}%"))
                except CellDoesNotExist:  # the table was refilled meanwhile
                    return

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.open_document(str(event.row_key.value))

    def action_reload(self) -> None:
        self.refresh_data()

    def action_set_phase(self) -> None:
        current = self.session.settings().get("phase")
        choices = [(f"{n}. {name}{'  (current)' if n == current else ''}", n) for n, name in PHASES.items()]

        def chosen(phase) -> None:
            if phase is not None and self.attempt(self.session.perform, f"set phase {phase}",
                                                  self.session.study.configure, phase=phase) is not None:
                self.notify(f"Phase {phase}: {PHASES[phase]}")
                self.refresh_data()

        self.app.push_screen(ChoiceScreen("Braun & Clarke phase", choices), chosen)

    def action_switch_coder(self) -> None:
        self.app.ask_coder()

    def action_mark_complete(self) -> None:
        self.app.action_mark_complete()
