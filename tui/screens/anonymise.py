"""Anonymisation review (issue #7): walk the scan's candidates in context, decide, then apply.

The key file (the register, the candidates, the anonymisation log, the original text) is chosen
with ``k`` and remembered per study in the TUI state (``state.json``, ``anonymise_key``); it is
never the study and never inside it. Each action does what one CLI command does
(``qualcode/cli/anonymise.py``) with the same core functions: ``anonymise.open_key``, ``scan``,
``apply`` and ``anonymise.review`` (accept, reject, edit, add to the register, same text). The key
is opened for one action and closed again, as a CLI command would. Scans, dry runs and applies
run in worker threads with their own study and key connections and post their result back.

Applying rewrites the study's text, so it happens only after a dialog that shows the counts of
the dry run (and its diff on ``d``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Label, Static

from qualcode import anonymise
from qualcode.errors import QualcodeError
from qualcode.study import Study
from tui import config
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ChoiceScreen, ConfirmScreen, Dialog, PromptScreen

FILTERS = ("open", "accepted", "rejected", "all")
CONTEXT_WIDTH = 240  # characters of text shown on each side of a candidate
DIFF_ROWS = 2000  # rows the diff dialog lists (the CLI's --dry-run lists them all)
TABLE_CHUNK = 500  # candidate rows added to the table at a time
STATE_KEY = "anonymise_key"  # the key file's path in the TUI state, per study
COLUMNS = (("id", "#"), ("status", "Status"), ("document", "Document"), ("rule", "Rule"),
           ("original", "Original"), ("replacement", "Replacement"))
STATUS_STYLE = {"open": "", "accepted": "green", "rejected": "red"}


def _cell(value: Any, style: str = "") -> Text:
    """Table cells are Text, never markup: ``[name of P1]`` must show as written."""
    return Text(" ".join(str(value).split()), style=style, no_wrap=True, overflow="ellipsis")


def _rule_counts(by_rule: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in by_rule.items()) or "none"


@dataclass
class Outcome:
    """What a worker hands back: its result or the one-line error of a QualcodeError."""

    result: Any = None
    error: str | None = None


def _in_worker(fn: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(fn())
    except QualcodeError as exc:
        return Outcome(error=str(exc))
    except OSError as exc:  # an unreadable key file, a full disk
        return Outcome(error=f"cannot use the key file: {exc.strerror or exc}")


# -- dialogs -------------------------------------------------------------------------------------
class DiffScreen(Dialog):
    """The dry run: every change apply would make, in context (``[original -> replacement]``)."""

    def __init__(self, result) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        rows = self.result.diff
        more = len(rows) - DIFF_ROWS
        title = f"Dry run: {len(rows)} change(s) in {self.result.documents} document(s)"
        if more > 0:
            title += f" (the first {DIFF_ROWS}; `qualcode anonymise apply --dry-run` lists all)"
        with Vertical(classes="dialog dialog-wide", id="anon-diff"):
            yield Label(Text(title), classes="dialog-title")
            yield DataTable(id="anon-diff-table", cursor_type="row", zebra_stripes=True)
            yield Static("esc closes", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Document", "At", "Rule", "Change")
        for d in self.result.diff[:DIFF_ROWS]:
            table.add_row(_cell(d["document"]), d["start"], _cell(d["rule"]), _cell(d["context"]))
        table.focus()


class ApplyConfirmScreen(Dialog):
    """The counts of the dry run, and the one way on to apply: y. Returns True to apply."""

    BINDINGS = [Binding("y", "answer(True)", "Apply"), Binding("n", "answer(False)", "Cancel"),
                Binding("d", "diff", "Show the diff")]

    def __init__(self, result) -> None:
        super().__init__()
        self.result = result

    def summary(self) -> str:
        r = self.result
        by_rule = {rule: n for rule, n in r.by_rule.items() if rule != "speaker-label"}
        lines = [(f"{r.documents} document(s): {r.replacements} replacement(s) ({_rule_counts(by_rule)}), "
                  f"{r.labels} speaker label(s) become participant labels."),
                 (f"{r.participants_moved} participant name(s) move to the key file; "
                  f"{r.scrubbed} other value(s) (memos, names ...) are scrubbed.")]
        if r.open_left:
            lines.append(f"{r.open_left} open candidate(s) are left as they are (not replaced).")
        if r.skipped:
            lines.append(f"{len(r.skipped)} candidate(s) skipped: "
                         + "; ".join(f"#{s['id']} {s['reason']}" for s in r.skipped[:3])
                         + (" ..." if len(r.skipped) > 3 else ""))
        lines.append("")
        lines.append("This rewrites the study's text; codings, turns, memos and key quotes are moved with "
                     "their words. Undo cannot bring the text back: the original stays in the key file.")
        return "\n".join(lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="anon-confirm"):
            yield Label("Apply the accepted replacements?", classes="dialog-title")
            yield Static(Text(self.summary()), id="anon-confirm-summary")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (y)", id="apply", variant="warning", compact=True)
                yield Button("Show diff (d)", id="diff", compact=True)
                yield Button("Cancel (n)", id="cancel", compact=True)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_diff(self) -> None:
        self.app.push_screen(DiffScreen(self.result))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "diff":
            self.action_diff()
        else:
            self.dismiss(event.button.id == "apply")


# -- the screen ----------------------------------------------------------------------------------
class AnonymiseScreen(WorkScreen):
    BINDINGS = [
        key("anonymise", "k", "key_file", "Key file"),
        key("anonymise", "s", "scan", "Scan"),
        key("anonymise", "a", "accept", "Accept"),
        key("anonymise", "r", "reject", "Reject"),
        key("anonymise", "e", "edit", "Edit replacement"),
        key("anonymise", "A", "accept_same", "Accept all with this text"),
        key("anonymise", "g", "add_to_register", "Add to register"),
        key("anonymise", "u", "reopen", "Reopen (undecided)", show=False),
        key("anonymise", "f", "cycle_filter", "Filter"),
        key("anonymise", "d", "dry_run", "Dry run (diff)", show=False),
        key("anonymise", "p", "apply", "Apply…"),
        key("anonymise", "ctrl+a", "accept_all_open", "Accept every open candidate", show=False),
    ]

    class Scanned(Message):
        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    class DryRun(Message):
        def __init__(self, outcome: Outcome, confirm: bool) -> None:
            super().__init__()
            self.outcome, self.confirm = outcome, confirm

    class Applied(Message):
        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self) -> None:
        super().__init__()
        self.key_path: Path | None = None
        self.filter = "open"
        self.rows: list[int] = []  # candidate ids in table order
        self.waiting: list[int] = []  # ids of the filter not in the table yet (added as the cursor nears the end)
        self.cands: dict[int, Any] = {}
        self.entry_names: dict[int, str] = {}
        self.busy: str | None = None  # what a worker is doing (scan, dry run, apply)
        self.key_problem: str | None = None  # why the key file could not be opened last time
        self.generation = -1

    def compose(self) -> ComposeResult:
        yield Static("", id="anon-header")
        yield DataTable(id="anon-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="anon-context")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#anon-table", DataTable)
        for col_key, label in COLUMNS:
            table.add_column(label, key=col_key)
        remembered = config.study_state(self.session.path).get(STATE_KEY)
        if isinstance(remembered, str) and remembered:
            self.key_path = Path(remembered)
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self.query_one(StatusBar).update(self.status_text())

    # -- the key ---------------------------------------------------------------------------------
    @property
    def reviewer(self) -> str:
        from qualcode.store.changes import default_actor

        return self.session.coder or default_actor()

    def with_key(self, fn: Callable[[Any], Any], create: bool = False, quiet: bool = False) -> Any:
        """Open the key, call ``fn(key)``, close it. A user error becomes one notification and
        None (``quiet``: not repeated while it stays the same, as on every refresh)."""
        if self.key_path is None:
            if not quiet:
                self.notify("No key file yet: press k to choose one (it holds the real names, apart from the "
                            "study)", severity="warning", timeout=6)
            return None
        try:
            with anonymise.open_key(self.session.study, self.key_path, create=create) as key_file:
                result = fn(key_file)
        except QualcodeError as exc:
            message = str(exc)
        except OSError as exc:  # an unreadable file, a volume that went away
            message = f"cannot use the key file {self.key_path}: {exc.strerror or exc}"
        else:
            self.key_problem = None
            return result
        if not (quiet and message == self.key_problem):
            self._error(message)
        self.key_problem = message
        return None

    def action_key_file(self) -> None:
        if self._refuse_while_busy():
            return
        current = str(self.key_path) if self.key_path else ""
        suggestion = str(self.session.path.resolve().with_suffix(".key"))

        def chosen(value: str | None) -> None:
            if value is None or not value.strip():
                return
            path = Path(value.strip()).expanduser()
            path = path if path.is_absolute() else Path.cwd() / path
            if path.exists():
                self._use_key(path, create=False)
                return
            self.app.push_screen(
                ConfirmScreen(f"{path} does not exist. Create a new key file there?"),
                lambda yes: self._use_key(path, create=True) if yes else None)

        self.app.push_screen(PromptScreen(
            "Key file (the register and the real names: keep it apart from the study, e.g. on an encrypted "
            "volume)", current, placeholder=suggestion,
            hint="Enter opens it (or offers to create it); esc cancels."), chosen)

    def _use_key(self, path: Path, create: bool) -> None:
        previous = self.key_path
        self.key_path = path
        if self.with_key(lambda k: True, create=create) is None:
            self.key_path = previous
            return
        config.save_study_state(self.session.path, **{STATE_KEY: str(path)})
        self.notify(f"Key file: {path}", timeout=4, markup=False)
        self.refresh_data()

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        self.generation = self.session.generation
        table = self.query_one("#anon-table", DataTable)
        table.clear()
        self.rows, self.cands, self.waiting = [], {}, []
        loaded = self.with_key(self._read, quiet=True) if self.key_path else None
        if loaded is not None:
            cands, summary, state, stale, names = loaded
            self.entry_names = names
            self.cands = {c.id: c for c in cands}
            self.waiting = [c.id for c in reversed(cands)]
            self._fill()
            self._header(summary, state, stale)
        else:
            self._header(None, None, False)
        self._show_context()
        self.query_one(StatusBar).update(self.status_text())

    def _read(self, key_file) -> tuple:
        cands = key_file.candidates(status=None if self.filter == "all" else self.filter)
        state = key_file.meta("scan")
        stale = bool(state) and state.get("register_version") != key_file.register_version()
        names = {e.id: e.name for e in key_file.entries()}
        return cands, anonymise.review.summary(key_file), state, stale, names

    def _cells(self, c) -> list[Text]:
        status = c.status + (" (stale)" if getattr(c, "stale", False) else "")
        return [_cell(c.id), _cell(status, STATUS_STYLE.get(c.status, "")), _cell(c.document), _cell(c.rule),
                _cell(c.original, "bold"), _cell(c.replacement)]

    def _header(self, summary: dict[str, int] | None, state: dict | None, stale: bool) -> None:
        header = self.query_one("#anon-header", Static)
        if self.key_path is None:
            header.update(Text("No key file: press k to choose one (or create it), then s to scan.", style="bold"))
            return
        text = Text.assemble(("Key ", "dim"), (str(self.key_path), "bold"), ("  │ filter ", "dim"),
                             (self.filter, "bold"), (" (f)", "dim"))
        if self.key_problem and summary is None and not self.busy:
            text.append("  │ cannot be opened: k chooses another, s scans into a new one", style="bold red")
        if summary is not None:
            text.append(f"  │ {summary['open']} open · {summary['accepted']} accepted · "
                        f"{summary['rejected']} rejected")
        if self.busy:
            text.append(f"  │ {self.busy}…", style="bold yellow")
        elif summary is not None and not state:
            text.append("  │ not scanned yet: s scans", style="yellow")
        elif stale:
            text.append("  │ the register changed: scan again (s) before apply", style="yellow")
        elif state:
            model = f", NER {state['model']}" if state.get("model") else ""
            text.append(f"  │ scanned {str(state.get('time', ''))[:16].replace('T', ' ')}{model}", style="dim")
        header.update(text)

    def current(self):
        table = self.query_one("#anon-table", DataTable)
        row = table.cursor_row
        if not self.rows or row is None or not 0 <= row < len(self.rows):
            return None
        return self.cands[self.rows[row]]

    def _fill(self) -> None:
        """Add the next ``TABLE_CHUNK`` rows: a big study has tens of thousands of candidates,
        and a table row costs far more than a candidate in memory."""
        table = self.query_one("#anon-table", DataTable)
        added = 0
        while self.waiting and added < TABLE_CHUNK:
            c = self.cands[self.waiting.pop()]
            if self.filter not in ("all", c.status):  # decided meanwhile (e.g. all with the same text)
                continue
            self.rows.append(c.id)
            table.add_row(*self._cells(c), key=str(c.id))
            added += 1

    @on(DataTable.RowHighlighted, "#anon-table")
    def _highlighted(self) -> None:
        row = self.query_one("#anon-table", DataTable).cursor_row or 0
        if self.waiting and row >= len(self.rows) - TABLE_CHUNK // 10:
            self._fill()
        self._show_context()

    def _show_context(self) -> None:
        panel = self.query_one("#anon-context", Static)
        c = self.current()
        if c is None:
            if self.key_path is None:
                hint = ("The key file keeps the register of real names, the candidates, the log and the original "
                        "text apart from the study. k chooses it.")
            else:
                hint = (f"No {self.filter if self.filter != 'all' else ''} candidates. s scans the study; "
                        "f shows the others; p applies the accepted ones.")
            panel.update(Text(hint, style="dim"))
            return
        left, original, right = anonymise.review.context(self.session.study, c, CONTEXT_WIDTH)
        source = c.rule
        if c.entry_id is not None and c.entry_id in self.entry_names:
            source += f" — register entry {c.entry_id}: {self.entry_names[c.entry_id]}"
        if c.score is not None and c.rule.endswith("fuzzy"):
            source += f" (similarity {c.score:g})"
        decided = f"{c.status}" + (f" by {c.reviewer}, {str(c.reviewed)[:16].replace('T', ' ')}"
                                   if c.reviewer else "")
        text = Text.assemble((f"#{c.id} ", "bold"), (c.document, "bold"), f"  at {c.start}–{c.end}  │ ",
                             ("source ", "dim"), source, "  │ ", (decided, STATUS_STYLE.get(c.status, "")), "\n")
        text.append("…" + left.lstrip(), style="dim")
        text.append(original, style="reverse bold")
        text.append(right.rstrip() + "…", style="dim")
        text.append("\n→ ")
        text.append(c.replacement, style="bold")
        if c.edited and c.replacement != c.proposed:
            text.append(f"   (proposed {c.proposed})", style="dim")
        panel.update(text)

    # -- review ------------------------------------------------------------------------------------
    def _refuse_while_busy(self) -> bool:
        if self.busy:
            self.notify(f"Wait: {self.busy} is running", severity="warning", timeout=3)
            return True
        return False

    def _review(self, fn: Callable[[Any], list[int]], advance: bool = True) -> list[int] | None:
        """Run one review action (``fn(key) -> ids changed``), then show those rows afresh."""
        if self._refuse_while_busy():
            return None

        def act(key_file):
            ids = fn(key_file)
            return ids, key_file.candidates(ids=ids), anonymise.review.summary(key_file), key_file.meta("scan")

        done = self.with_key(act)
        if done is None:
            return None
        ids, fresh, summary, state = done
        self._update_rows(fresh, advance)
        self._header(summary, state, False)
        return ids

    def _update_rows(self, fresh, advance: bool) -> None:
        table = self.query_one("#anon-table", DataTable)
        before = table.cursor_row or 0
        current = self.current()
        removed_current = False
        for c in fresh:
            self.cands[c.id] = c
            if c.id not in self.rows:
                continue
            if self.filter in ("all", c.status):
                for col, cell in zip((k for k, _ in COLUMNS), self._cells(c)):
                    table.update_cell(str(c.id), col, cell)
            else:
                removed_current = removed_current or (current is not None and current.id == c.id)
                table.remove_row(str(c.id))
                self.rows.remove(c.id)
        if self.waiting and len(self.rows) - before < TABLE_CHUNK // 10:
            self._fill()
        if self.rows:
            target = before if removed_current or not advance else before + 1
            table.move_cursor(row=max(0, min(target, len(self.rows) - 1)))
        self._show_context()

    def _ids(self) -> list[int] | None:
        c = self.current()
        if c is None:
            self.notify("No candidate here" if self.key_path else "No key file yet: press k to choose one",
                        severity="warning", timeout=3)
            return None
        return [c.id]

    def action_accept(self) -> None:
        ids = self._ids()
        if ids:
            self._review(lambda k: (anonymise.review.accept(k, ids, self.reviewer), ids)[1])

    def action_reject(self) -> None:
        ids = self._ids()
        if ids:
            self._review(lambda k: (anonymise.review.reject(k, ids, self.reviewer), ids)[1])

    def action_reopen(self) -> None:
        ids = self._ids()
        if ids:
            self._review(lambda k: (anonymise.review.reopen(k, ids, self.reviewer), ids)[1])

    def action_accept_same(self) -> None:
        ids = self._ids()
        if not ids:
            return

        def same(k) -> list[int]:
            chosen = anonymise.review.select(k, [str(ids[0])], same_as=ids[0])
            anonymise.review.accept(k, chosen, self.reviewer)
            return chosen

        chosen = self._review(same)
        if chosen:
            self.notify(f"Accepted {len(chosen)} candidate(s) with this text", timeout=3)

    def action_accept_all_open(self) -> None:
        if self._refuse_while_busy():
            return
        summary = self.with_key(anonymise.review.summary)
        if not summary or not summary["open"]:
            if summary is not None:
                self.notify("No open candidates", timeout=3)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                def everything(k) -> list[int]:
                    chosen = anonymise.review.select(k, all_open=True)
                    anonymise.review.accept(k, chosen, self.reviewer)
                    return chosen

                if self._review(everything, advance=False) is not None:
                    self.refresh_data()

        self.app.push_screen(ConfirmScreen(f"Accept all {summary['open']} open candidate(s)?"), answer)

    def action_edit(self) -> None:
        c = self.current()
        if c is None:
            self._ids()
            return
        if self._refuse_while_busy():
            return

        def edited(value: str | None) -> None:
            if value is None:
                return
            if self._review(lambda k: (anonymise.review.edit(k, [c.id], value, self.reviewer), [c.id])[1]):
                self.notify(Text(f"#{c.id} now reads {value.strip()} (accepted)").plain, timeout=3, markup=False)

        self.app.push_screen(PromptScreen(f"Replacement for “{c.original}” (#{c.id})", c.replacement,
                                          hint="Enter sets it and accepts the candidate; esc cancels."), edited)

    def action_add_to_register(self) -> None:
        c = self.current()
        if c is None:
            self._ids()
            return

        changed: list[bool] = []

        def register(k) -> list[int]:
            before = k.register_version()
            anonymise.review.add_to_register(k, c.id)
            changed.append(k.register_version() != before)
            return [c.id]

        if self._review(register, advance=False) is None:
            return
        if changed[0]:
            self.notify(f"“{c.original}” is now in the register: scan again (s) so every mention is found "
                        "(apply refuses until then)", timeout=6, markup=False)
        else:
            self.notify(f"“{c.original}” is in the register already", timeout=4, markup=False)
        self.refresh_data()

    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self.refresh_data()

    # -- scan ------------------------------------------------------------------------------------
    def action_scan(self) -> None:
        if self._refuse_while_busy():
            return
        if self.key_path is None:
            self.with_key(lambda k: None)  # says how to choose one
            return

        def how(use_ner: bool | None) -> None:
            if use_ner is None:
                return
            if self.key_path is not None and not self.key_path.exists():
                self.app.push_screen(
                    ConfirmScreen(f"{self.key_path} does not exist. Create a new key file there and scan?"),
                    lambda yes: self._start_scan(use_ner) if yes else None)
                return
            self._start_scan(use_ner)

        self.app.push_screen(ChoiceScreen("Scan the study for names, places, dates, phone numbers …", [
            ("Register and rules (fast)", False),
            ("Register, rules and spaCy NER, if a model is installed (slower)", True),
        ]), how)

    def _start_scan(self, use_ner: bool) -> None:
        self.busy = "scanning"
        self.query_one("#anon-table", DataTable).loading = True
        self._header(None, None, False)
        self._scan(self.session.path, self.key_path, use_ner)

    @work(thread=True, exclusive=True, group="anonymise")
    def _scan(self, study_path: Path, key_path: Path, use_ner: bool) -> None:
        def run():
            with Study.open(study_path) as study, anonymise.open_key(study, key_path, create=True) as key_file:
                return anonymise.scan(study, key_file, use_ner=use_ner)

        self.post_message(self.Scanned(_in_worker(run)))

    @on(Scanned)
    def _scanned(self, message: Scanned) -> None:
        self.busy = None
        self.query_one("#anon-table", DataTable).loading = False
        if message.outcome.error:
            self._error(message.outcome.error)
        else:
            r = message.outcome.result
            for note in r.notes:
                self.notify(note, timeout=5, markup=False)
            self.notify(f"Scanned {r.documents} document(s), {r.words:,} words: {_rule_counts(r.found)}. "
                        f"{r.new} new, {r.kept} seen before, {r.removed} gone.", timeout=6, markup=False)
            if self.key_path is not None:
                config.save_study_state(self.session.path, **{STATE_KEY: str(self.key_path)})
        self.refresh_data()

    def _error(self, message: str) -> None:
        self.app.errors.append(message)
        self.notify(message, severity="error", timeout=6, markup=False)

    # -- dry run and apply ------------------------------------------------------------------------
    def action_dry_run(self) -> None:
        self._start_dry_run(confirm=False)

    def action_apply(self) -> None:
        self._start_dry_run(confirm=True)

    def _start_dry_run(self, confirm: bool) -> None:
        if self._refuse_while_busy():
            return
        if self.key_path is None:
            self.with_key(lambda k: None)
            return
        self.busy = "dry run"
        self._header(None, None, False)
        self._dry_run(self.session.path, self.key_path, self.reviewer, confirm)

    @work(thread=True, exclusive=True, group="anonymise")
    def _dry_run(self, study_path: Path, key_path: Path, reviewer: str, confirm: bool) -> None:
        def run():
            with Study.open(study_path) as study, anonymise.open_key(study, key_path) as key_file:
                return anonymise.apply(study, key_file, dry_run=True, reviewer=reviewer)

        self.post_message(self.DryRun(_in_worker(run), confirm))

    @on(DryRun)
    def _dry_run_done(self, message: DryRun) -> None:
        self.busy = None
        self.refresh_data()
        if message.outcome.error:
            self._error(message.outcome.error)
            return
        result = message.outcome.result
        if not message.confirm:
            self.app.push_screen(DiffScreen(result))
            return
        if not result.diff and not result.participants_moved and not result.scrubbed:
            self._error("nothing to apply: no accepted candidates (accept some first, a or A)")
            return
        self.app.push_screen(ApplyConfirmScreen(result), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.key_path is None:
            return
        self.busy = "applying"
        self.query_one("#anon-table", DataTable).loading = True
        self._header(None, None, False)
        self._apply(self.session.path, self.key_path, self.reviewer)

    @work(thread=True, exclusive=True, group="anonymise")
    def _apply(self, study_path: Path, key_path: Path, reviewer: str) -> None:
        def run():
            with Study.open(study_path) as study, anonymise.open_key(study, key_path) as key_file:
                study.actor = reviewer
                return anonymise.apply(study, key_file, reviewer=reviewer)

        self.post_message(self.Applied(_in_worker(run)))

    @on(Applied)
    def _applied(self, message: Applied) -> None:
        self.busy = None
        self.query_one("#anon-table", DataTable).loading = False
        self.session.generation += 1  # every screen reloads the rewritten text
        if message.outcome.error:
            self._error(message.outcome.error)
        else:
            r = message.outcome.result
            a = r.anchors
            self.notify(f"Rewrote {r.documents} document(s): {r.replacements} replacement(s), {r.labels} speaker "
                        f"label(s); remapped {a.get('anchors', 0)} codings/memos/anchors and {a.get('turns', 0)} "
                        "turns. The original text is in the key file.", timeout=8, markup=False)
            for warning in getattr(r, "warnings", ()):
                self.notify(warning, severity="warning", timeout=15, markup=False)
        self.refresh_data()

    def status_text(self) -> str:
        return super().status_text() + f" │ reviewing as {self.reviewer}"


__all__ = ["AnonymiseScreen", "ApplyConfirmScreen", "DiffScreen"]
