"""Agreement and reconciliation (issue #5): figures at an explicit unit, the disagreement walker,
rounds.

One choice of coders (A, B and an optional third) and unit drives three tabs:

* **Agreement** -- the tables of ``qualcode agreement`` (pooled, by code, by document) with the
  number of units and the prevalence, formatted by ``qualcode.agreement.report`` so every figure
  is the CLI's to the digit; the screen never computes a statistic itself.
* **Disagreements** -- ``qualcode disagreements`` at the same unit as a list; the highlighted one
  is shown side by side (each coder's spans highlighted in the surrounding text). Keep A, keep B,
  union, intersection, drop or edit, each with a rationale, go through
  ``qualcode.agreement.reconcile.decide`` (the CLI ``reconcile``) as the current coder: a coder
  other than the compared ones adjudicates. Decided items stay listed as decided (h hides them).
* **Rounds** -- ``qualcode agreement rounds`` and the decision log (``qualcode decisions``);
  s recomputes the figures and records them as a new round.

Blind coding holds here as on the coding screen (``Session``'s rule): the figures of a choice of
coders show once every person among them is marked complete, or when their codings are shown to
the current coder; the disagreements (their codings, with text and offsets) and reconciling once
the current coder is complete too, or when their codings are shown (``v`` here, ``o`` on the coding
screen; refused under ``forbid_unblind`` until the current coder is complete); the decision log
(consensus codings) likewise.

Computing runs in a worker thread with its own ``Study`` connection and posts its results; writes
happen on the UI thread through ``Session.perform`` so undo and redo cover them.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Label, Select, Static, TabbedContent, TabPane

from qualcode.agreement import reconcile as rec
from qualcode.agreement.report import fmt_value, footer_lines, sections, summary_lines
from qualcode.agreement.units import (STAT_SYMBOLS, UNIT_LABELS, UNITS, agreement as compute_agreement,
                                      plural)
from qualcode.errors import QualcodeError
from qualcode.study import Study
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ConfirmScreen, PromptScreen

DEFAULT_UNIT = "turn"  # as `qualcode agreement`
SIDE_STYLES = ("bold black on #e5c07b", "bold black on #61afef", "bold black on #98c379")
LETTERS = "ABC"
DECISION_LABELS = {"keep-a": "Keep A", "keep-b": "Keep B", "union": "Union",
                   "intersection": "Intersection", "drop": "Drop", "edit": "Edit the span"}
PARTS = ("rounds", "report", "items")


def spans_text(spans) -> str:
    """``[(1, 5), (9, 12)]`` -> ``1:5, 9:12`` (``—`` for none), as the CLI lists them."""
    return ", ".join(f"{s}:{e}" for s, e in spans) or "—"


def one_line(text: str, n: int = 80) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def side_text(item: rec.Disagreement, coder: str, style: str) -> Text:
    """The item in its context with ``coder``'s spans highlighted (context dimmed)."""
    out = Text()
    out.append("…" + item.before, style="dim")
    pos = item.start
    for s, e in item.spans.get(coder, []):
        out.append(item.text[pos - item.start:s - item.start])
        out.append(item.text[s - item.start:e - item.start], style=style)
        pos = e
    out.append(item.text[pos - item.start:])
    out.append(item.after + "…", style="dim")
    return out


class ReconcileScreen(WorkScreen):
    BINDINGS = [
        key("reconcile", "a", "decide('keep-a')", "Keep A", name="keep_a"),
        key("reconcile", "b", "decide('keep-b')", "Keep B", name="keep_b"),
        key("reconcile", "u", "decide('union')", "Union", name="union"),
        key("reconcile", "i", "decide('intersection')", "Intersection", name="intersection"),
        key("reconcile", "x", "decide('drop')", "Drop", name="drop"),
        key("reconcile", "e", "decide('edit')", "Edit span", name="edit"),
        key("reconcile", "n", "next_open(1)", "Next undecided", name="next_open"),
        key("reconcile", "p", "next_open(-1)", "Previous undecided", name="previous_open", show=False),
        key("reconcile", "h", "toggle_decided", "Show/hide decided", show=False),
        key("reconcile", "o", "open_document", "Open in the coding view", show=False),
        key("reconcile", "v", "toggle_others", "Show/hide other coders (blind coding)", show=False),
        key("reconcile", "A", "accept_agreed", "Accept the agreed places", show=False),
        key("reconcile", "c", "recompute", "Recompute"),
        key("reconcile", "s", "save_round", "Record a new round"),
        key("reconcile", "f", "show_tab('agreement')", "Agreement figures", name="figures", show=False),
        key("reconcile", "w", "show_tab('walker')", "Disagreements", name="walker", show=False),
        key("reconcile", "r", "show_tab('rounds')", "Rounds", name="rounds", show=False),
    ]

    class Loaded(Message):
        """One part of a load ("rounds", "report", "items") or an error, from the worker."""

        def __init__(self, token: int, part: str, data: Any = None, error: str | None = None) -> None:
            super().__init__()
            self.token, self.part, self.data, self.error = token, part, data, error

    def __init__(self) -> None:
        super().__init__()
        self.generation = -1
        self._tokens = count(1)
        self.token = 0
        self.pending: set[str] = set()
        self.shown: tuple[tuple[str, ...], str] | None = None  # (coders, unit) being shown
        self.save_after: int | None = None  # token whose report is to be saved as a round
        self.report = None
        self.items: list[rec.Disagreement] = []
        self.listed: list[rec.Disagreement] = []
        self.show_decided = True
        self.want: tuple[str, Any] | None = None  # where the walker's cursor goes after a reload
        self.round_rows: list[dict[str, Any]] = []
        self.log_rows: list[dict[str, Any]] = []
        self.error: str | None = None
        self.coder_names: list[str] = []
        self.hidden_rounds = 0  # rounds and decisions left out by blind coding
        self.hidden_decisions = 0

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        names = self.coder_names = self._coder_names()
        people = [c.name for c in self.session.study.coders.list() if c.kind == "coder"]
        first = people[:2] + [None, None]
        choices = [(n, n) for n in names]
        with Horizontal(id="rc-controls"):
            yield Label("A", classes="rc-label")
            yield Select(choices, prompt="coder A", value=first[0] or Select.NULL, id="coder-a",
                         compact=True)
            yield Label("B", classes="rc-label")
            yield Select(choices, prompt="coder B", value=first[1] or Select.NULL, id="coder-b",
                         compact=True)
            yield Label("+", classes="rc-label")
            yield Select(choices, prompt="third coder (optional)", id="coder-c", compact=True)
            yield Label("unit", classes="rc-label")
            yield Select([(f"{u} ({UNIT_LABELS[u]})", u) for u in UNITS], value=DEFAULT_UNIT,
                         allow_blank=False, id="unit", compact=True)
        with TabbedContent(initial="agreement", id="rc-tabs"):
            with TabPane("Agreement (f)", id="agreement"):
                with Vertical():
                    yield Static("", id="agr-summary")
                    yield DataTable(id="agr-table", cursor_type="row", zebra_stripes=True)
                    with VerticalScroll(id="agr-notes-box"):
                        yield Static("", id="agr-notes")
            with TabPane("Disagreements (w)", id="walker"):
                with Vertical():
                    yield Static("", id="dis-summary")
                    yield DataTable(id="dis-table", cursor_type="row", zebra_stripes=True)
                    with Horizontal(id="sides"):
                        for i in range(3):
                            with VerticalScroll(classes="side", id=f"side-box-{i}"):
                                yield Static("", id=f"side-{i}")
                    yield Static("", id="dis-decision")
            with TabPane("Rounds (r)", id="rounds"):
                with Vertical():
                    yield DataTable(id="rounds-table", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="round-detail")
                    yield Label("Decision log", classes="side-title")
                    yield DataTable(id="log-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rounds-table", DataTable).add_columns(
            "round", "saved", "unit", "coders", "statistic", "value", "alpha", "agreement",
            "decisions", "by")
        self.query_one("#log-table", DataTable).add_columns(
            "id", "round", "when", "by", "document", "code", "decision", "consensus", "rationale")
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self._update_status()

    # -- choice of coders and unit ----------------------------------------------------------------
    def _coder_names(self) -> list[str]:
        """Everybody who can be compared: the coders, then the consensus coder if there is one."""
        coders = self.session.study.coders.list()
        return ([c.name for c in coders if c.kind == "coder"]
                + [c.name for c in coders if c.kind != "coder"])

    def chosen(self) -> tuple[list[str], str]:
        """The coders (A, B, then the optional third) and the unit chosen in the controls."""
        names = []
        for ident in ("#coder-a", "#coder-b", "#coder-c"):
            value = self.query_one(ident, Select).value
            if isinstance(value, str):
                names.append(value)
        unit = self.query_one("#unit", Select).value
        return names, unit if isinstance(unit, str) else DEFAULT_UNIT

    def _sync_coder_options(self) -> None:
        """New coders (added from the coder dialog, or by undo/redo) appear in the choices."""
        names = self._coder_names()
        if names == self.coder_names:
            return
        self.coder_names = names
        for ident in ("#coder-a", "#coder-b", "#coder-c"):
            select = self.query_one(ident, Select)
            value = select.value
            with self.prevent(Select.Changed):
                select.set_options([(n, n) for n in names])
                if isinstance(value, str) and value in names:
                    select.value = value

    @on(Select.Changed)
    def _choice_changed(self, event: Select.Changed) -> None:
        event.stop()
        coders, unit = self.chosen()
        if (tuple(coders), unit) != self.shown:
            self.want = None
            self.load(PARTS)

    # -- loading ----------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        """Reload everything (after undo, redo, a coder switch or work on other screens)."""
        self.generation = self.session.generation
        self._sync_coder_options()
        item = self.current_item()
        if item is not None and self.want is None:
            self.want = ("id", item.id)
        self.load(PARTS)

    def load(self, parts) -> None:
        """Start the worker for ``parts`` (together with any parts still on their way)."""
        coders, unit = self.chosen()
        self.shown = (tuple(coders), unit)
        self.token = next(self._tokens)
        self.pending = set(parts) | self.pending
        self.error = None
        if len(coders) < 2:
            self.pending.discard("report")
            self.pending.discard("items")
            self._show_message("Choose two coders to compare (A and B above).")
        elif not self.session.figures_allowed(coders):
            self.pending.discard("report")
            self.pending.discard("items")
            self._show_message(self._blind_text(coders, figures=True))
        elif not self.session.comparison_allowed(coders):
            self.pending.discard("items")
            self._show_blind_items(self._blind_text(coders, figures=False))
        for part, ident in (("report", "#agr-table"), ("items", "#dis-table")):
            if part in self.pending:
                self.query_one(ident, DataTable).loading = True
        self._work(self.token, coders, unit, frozenset(self.pending))

    @work(thread=True, exclusive=True, group="reconcile")
    def _work(self, token: int, coders: list[str], unit: str, parts: frozenset[str]) -> None:
        try:
            with Study.open(self.session.path) as study:
                if "rounds" in parts:
                    self.post_message(self.Loaded(token, "rounds",
                                                  (rec.rounds(study), rec.decision_log(study))))
                if "report" in parts:
                    report = compute_agreement(study, coders, unit)
                    self.post_message(self.Loaded(token, "report", report))
                if "items" in parts:
                    found = rec.disagreements(study, coders, unit, include_decided=True)
                    self.post_message(self.Loaded(token, "items", found))
        except QualcodeError as exc:
            self.post_message(self.Loaded(token, "error", error=str(exc)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        if message.token != self.token:  # an earlier load, overtaken by a newer choice
            return
        if message.part == "error":
            self.pending.clear()
            self.save_after = None
            self.app.errors.append(message.error)
            self.notify(message.error, severity="error", timeout=6)
            self._show_message(message.error)
            return
        self.pending.discard(message.part)
        if message.part == "rounds":
            self._show_rounds(*message.data)
        elif message.part == "report":
            self._show_report(message.data)
            if self.save_after == message.token:
                self.save_after = None
                self._save_round(message.data)
        else:
            self._show_items(message.data)
        self._update_status()

    def external_change(self) -> None:
        self.refresh_data()

    def _blind_text(self, coders: list[str], figures: bool) -> str:
        """Why the figures (or the disagreements) of ``coders`` are not shown, and what would."""
        session = self.session
        policy = session.policy()
        waiting = [c for c in coders if c in policy.people and c not in policy.complete]
        if figures:
            text = (f"Blind coding: the agreement figures of {' and '.join(coders)} show once "
                    f"{'both have' if len(coders) == 2 else 'each has'} marked their coding complete "
                    f"(k on the documents screen, or qualcode coders complete; still coding: "
                    f"{', '.join(waiting) or '—'})")
            if session.may_unblind():
                text += ", or when other coders' codings are shown (v)"
            return text + "."
        text = (f"Blind coding: the disagreements show the codings of {', '.join(coders)}, which are "
                f"hidden from you until you and they have marked your coding complete")
        if not session.complete:
            waiting = [session.coder, *waiting]
        text += f" (still coding: {', '.join(dict.fromkeys(waiting)) or '—'})"
        if not session.may_unblind():
            return text + "; this study forbids unblinding before that."
        return text + "; v shows other coders' codings now."

    def _show_blind_items(self, text: str) -> None:
        """The figures may be shown but the disagreements (other coders' codings) may not."""
        self.items, self.listed = [], []
        table = self.query_one("#dis-table", DataTable)
        table.loading = False
        table.clear(columns=True)
        self.query_one("#dis-summary", Static).update(text)
        self._show_item(None)

    def _show_message(self, text: str) -> None:
        """No figures to show (an error or an incomplete choice): say why in both tabs."""
        self.error = text
        self.report, self.items, self.listed = None, [], []
        for ident in ("#agr-table", "#dis-table"):
            table = self.query_one(ident, DataTable)
            table.loading = False
            table.clear(columns=True)
        self.query_one("#agr-summary", Static).update(text)
        self.query_one("#agr-notes", Static).update("")
        self.query_one("#dis-summary", Static).update(text)
        self._show_item(None)
        self._update_status()

    # -- agreement tab ----------------------------------------------------------------------------
    def _show_report(self, report) -> None:
        self.report = report
        table = self.query_one("#agr-table", DataTable)
        table.loading = False
        table.clear(columns=True)
        parts = sections(report, per_document=True)
        table.add_columns("scope", "name", *parts[0][1][1:])
        for title, _headers, rows in parts:
            scope = title.split()[-1].lower()  # Pooled / By code / By document
            for row in rows:
                table.add_row(Text(scope, style="dim"), Text(row[0], style="bold") if scope == "pooled"
                              else row[0], *row[1:], key=f"{scope}:{row[0]}")
        self.query_one("#agr-summary", Static).update("\n".join(summary_lines(report)))
        self.query_one("#agr-notes", Static).update(Text("\n".join(footer_lines(report)).strip()))

    def figure_row(self, scope: str, name: str) -> list[str]:
        """The cells shown for one figure (``scope`` pooled / code / document), without labels."""
        table = self.query_one("#agr-table", DataTable)
        return [str(c) for c in table.get_row(f"{scope}:{name}")[2:]]

    # -- disagreement walker --------------------------------------------------------------------
    def _show_items(self, found: list[rec.Disagreement]) -> None:
        self.items = found
        coders, unit = self.shown or ((), DEFAULT_UNIT)
        self.listed = [i for i in found if self.show_decided or i.status == "open"]
        table = self.query_one("#dis-table", DataTable)
        table.loading = False
        table.clear(columns=True)
        names = list(found[0].spans) if found else list(coders)
        table.add_columns("status", "document", "code",
                          *(f"{LETTERS[k]}: {n}" for k, n in enumerate(names)), "kind", "text")
        for i in self.listed:
            status = (Text("✓ " + i.decision["decision"], style="green") if i.status == "decided"
                      else Text("open", style="bold"))
            table.add_row(status, i.document, i.code, *(spans_text(i.spans[n]) for n in names),
                          i.kind, one_line(i.text, 50), key=i.id)
        n_open = sum(1 for i in found if i.status == "open")
        hidden = "" if self.show_decided else " (decided ones hidden: h shows them)"
        self.query_one("#dis-summary", Static).update(
            f"{plural(len(found), 'disagreement')} between {', '.join(names)} at the level of "
            f"{UNIT_LABELS.get(unit, unit)}: {n_open} open, {len(found) - n_open} decided{hidden}. "
            f"Deciding as {self._decider_label()}.")
        self._place_cursor()

    def _place_cursor(self) -> None:
        table = self.query_one("#dis-table", DataTable)
        want, self.want = self.want, None
        row = 0
        if want and want[0] == "id":
            row = next((k for k, i in enumerate(self.listed) if i.id == want[1]), 0)
        elif want and want[0] == "after":
            row = self._open_from(want[1], 1)
            if row is None:
                row = min(want[1], max(len(self.listed) - 1, 0))
        if self.listed:
            table.move_cursor(row=row)
        self._show_item(self.current_item())

    def _open_from(self, start: int, step: int) -> int | None:
        """Index of the first open item from ``start`` in direction ``step``, wrapping around."""
        n = len(self.listed)
        for k in range(n):
            idx = (start + step * k) % n
            if self.listed[idx].status == "open":
                return idx
        return None

    def current_item(self) -> rec.Disagreement | None:
        table = self.query_one("#dis-table", DataTable)
        row = table.cursor_row
        if not self.listed or row is None or not (0 <= row < len(self.listed)):
            return None
        return self.listed[row]

    @on(DataTable.RowHighlighted, "#dis-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_item(self.current_item())

    def _show_item(self, item: rec.Disagreement | None) -> None:
        names = list(item.spans) if item else []
        for k in range(3):
            box = self.query_one(f"#side-box-{k}")
            box.display = k < max(len(names), 2)
            side = self.query_one(f"#side-{k}", Static)
            if k >= len(names):
                side.update("")
                continue
            name = names[k]
            spans = item.spans[name]
            head = Text.assemble((f"{LETTERS[k]} · {name}", "bold"), "  ",
                                 spans_text(spans) if spans else "not coded", "\n")
            side.update(head + side_text(item, name, SIDE_STYLES[k]))
        decision = self.query_one("#dis-decision", Static)
        if item is None:
            decision.update("")
        elif item.status == "decided":
            d = item.decision
            who = d["decided_by"] + (" (adjudicated)" if d["adjudicated"] else "")
            decision.update(Text.assemble(
                ("✓ Decided: ", "bold green"), f"{d['decision']} by {who}, round {d['round']} — ",
                (d["rationale"], "italic"), f" → consensus {spans_text(d['result'])}"
                "   (ctrl+z undoes the last decision)"))
        else:
            decision.update(Text.assemble(
                (f"{item.code}", "bold"), f" in {item.document} · {item.kind} — ",
                "a keep A · b keep B · u union · i intersection · x drop · e edit "
                f"(deciding as {self._decider_label()})"))
        self._update_status()

    def _decider_label(self) -> str:
        coder = self.session.coder
        if not coder:
            return "(no coder: choose who you are first)"
        compared = {n.casefold() for n in (self.shown[0] if self.shown else ())}
        return coder if coder.casefold() in compared else f"{coder}, adjudicating"

    def action_next_open(self, step: int = 1) -> None:
        if not self._on_walker():
            return
        table = self.query_one("#dis-table", DataTable)
        if not self.listed:
            return
        start = (table.cursor_row or 0) + step
        row = self._open_from(start % len(self.listed), step)
        if row is None:
            self.notify("Every disagreement is decided", timeout=3)
            return
        table.move_cursor(row=row)

    def action_toggle_decided(self) -> None:
        item = self.current_item()
        self.show_decided = not self.show_decided
        self.want = ("id", item.id) if item else None
        self._show_items(self.items)

    def action_open_document(self) -> None:
        item = self.current_item()
        if item is not None:
            self.app.open_document(item.document, select=(item.start, item.end))

    def _on_walker(self) -> bool:
        """Decision keys act in the Disagreements tab; elsewhere they bring it up first."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != "walker":
            tabs.active = "walker"
            return False
        return True

    # -- deciding -------------------------------------------------------------------------------
    def action_decide(self, decision: str) -> None:
        if not self._on_walker():
            return
        item = self.current_item()
        if item is None:
            self.notify("No disagreement here to decide", severity="warning")
            return
        if item.status == "decided":
            d = item.decision
            self.notify(f"Already decided ({d['decision']} by {d['decided_by']}); ctrl+z undoes "
                        "the last decision", severity="warning")
            return
        if not self.session.coder:
            self.app.ask_coder()
            return
        names = list(item.spans)
        label = DECISION_LABELS[decision]
        if decision in ("keep-a", "keep-b"):
            label += f" ({names[0 if decision == 'keep-a' else 1]})"

        def with_rationale(spans=None):
            def decided(rationale: str | None) -> None:
                if rationale is not None:
                    self.decide(item, decision, rationale, spans)

            self.app.push_screen(PromptScreen(
                f"{label}: {item.code} in {item.document}. Why?",
                placeholder="rationale (kept in the decision log)",
                hint=f"Decided by {self._decider_label()}. Enter records it, Esc cancels."), decided)

        if decision != "edit":
            with_rationale()
            return

        def typed(text: str | None) -> None:
            if text is None:
                return
            spans = self.attempt(rec.parse_spans, text)
            if spans is not None:
                with_rationale(spans)

        # The item's extent is the union of the coders' spans (they overlap in a chain).
        self.app.push_screen(PromptScreen(
            f"Consensus span(s) for {item.code} in {item.document}", value=f"{item.start}:{item.end}",
            hint="START:END in characters of the document, several separated by commas "
                 f"(A: {spans_text(item.spans[names[0]])}; B: {spans_text(item.spans[names[1]])})"),
            typed)

    def decide(self, item: rec.Disagreement, decision: str, rationale: str,
               spans: list[tuple[int, int]] | None = None) -> dict[str, Any] | None:
        """Record one decision through the core (the CLI's ``reconcile``); reload and move on."""
        coders, unit = self.shown or ((), DEFAULT_UNIT)
        index = next((k for k, i in enumerate(self.listed) if i.id == item.id), 0)
        done = self.attempt(self.session.perform, f"reconcile {item.id}: {decision}", rec.decide,
                            self.session.study, list(coders), item.id, decision, rationale,
                            spans=spans, by=self.session.coder, unit=unit, codes=[item.code],
                            documents=[item.document])
        if done is None:
            return None
        self.generation = self.session.generation
        self.notify(f"{decision} for {item.code} in {item.document}: consensus "
                    f"{spans_text(done['result'])}", timeout=3)
        self.want = ("after", index)
        consensus = {c.name for c in self.session.study.coders.list() if c.kind != "coder"}
        self.load(PARTS if consensus & set(coders) else ("items", "rounds"))
        self._sync_coder_options()
        return done

    def action_accept_agreed(self) -> None:
        coders, unit = self.shown or ((), DEFAULT_UNIT)
        if len(coders) < 2:
            self.notify("Choose two coders to compare first", severity="warning")
            return
        if not self.session.comparison_allowed(coders):
            self.notify(self._blind_text(list(coders), figures=False), severity="warning", timeout=6)
            return
        if not self.session.coder:
            self.app.ask_coder()
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            done = self.attempt(self.session.perform, f"accept agreed ({unit})", rec.accept_agreed,
                                self.session.study, list(coders), unit, by=self.session.coder)
            if done is not None:
                self.generation = self.session.generation
                self.notify(f"Accepted {done['accepted']} agreed places "
                            f"({done['codings']} consensus codings)", timeout=4)
                self._sync_coder_options()
                self.load(PARTS)

        self.app.push_screen(ConfirmScreen(
            f"Copy every open place where {', '.join(coders)} agree (at {unit} level) to the "
            "consensus coder?"), confirmed)

    # -- rounds -----------------------------------------------------------------------------------
    def action_recompute(self) -> None:
        self.load(PARTS)

    def action_save_round(self) -> None:
        """Recompute the figures for the current choice, then record them as the next round."""
        coders, _unit = self.chosen()
        if len(coders) < 2:
            self.notify("Choose two coders to compare first", severity="warning")
            return
        if not self.session.coder:
            self.app.ask_coder()
            return
        if not self.session.figures_allowed(coders):
            self.notify(self._blind_text(coders, figures=True), severity="warning", timeout=6)
            return
        self.load(("report", "rounds"))
        self.save_after = self.token

    def _save_round(self, report) -> None:
        saved = self.attempt(self.session.perform, f"save agreement round ({report.unit})",
                             rec.save_round, self.session.study, report, self.session.coder)
        if saved is not None:
            self.generation = self.session.generation
            self.notify(f"Saved agreement round {saved['round']} ({saved['unit']})", timeout=4)
            self.load(("rounds",))

    def _show_rounds(self, rounds: list[dict[str, Any]], log: list[dict[str, Any]]) -> None:
        shown = [r for r in rounds if self.session.figures_allowed(r["coders"])]
        self.hidden_rounds = len(rounds) - len(shown)
        consensus = self.session.policy().others
        if not (self.session.sees_all(consensus) or self.session.complete):  # consensus codings
            self.hidden_decisions, log = len(log), []
        else:
            self.hidden_decisions = 0
        rounds = shown
        self.round_rows, self.log_rows = rounds, log
        table = self.query_one("#rounds-table", DataTable)
        table.clear()
        for r in rounds:
            table.add_row(str(r["round"]), r["created"][:16].replace("T", " "), r["unit"],
                          ", ".join(r["coders"]), r["statistic"], fmt_value(r["value"]),
                          fmt_value(r["alpha"]), fmt_value(r["percent"], percent=r["unit"] != "segment"),
                          str(r["decisions"]), r["created_by"] or "", key=str(r["id"]))
        if rounds:
            table.move_cursor(row=len(rounds) - 1)
        self._show_round_detail()
        logt = self.query_one("#log-table", DataTable)
        logt.clear()
        for d in log:
            logt.add_row(str(d["id"]), str(d["round"]), d["created"][:16].replace("T", " "),
                         d["decided_by"] + (" (adj.)" if d["adjudicated"] else ""), d["document"],
                         d["code"], d["decision"], spans_text(d["result"]), one_line(d["rationale"], 60),
                         key=str(d["id"]))
        if log:
            logt.move_cursor(row=len(log) - 1)

    @on(DataTable.RowHighlighted, "#rounds-table")
    def _round_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_round_detail()

    def _show_round_detail(self) -> None:
        detail = self.query_one("#round-detail", Static)
        hidden = []
        if self.hidden_rounds:
            hidden.append(f"{plural(self.hidden_rounds, 'round')} of coders not yet complete")
        if self.hidden_decisions:
            hidden.append(f"{plural(self.hidden_decisions, 'decision')} (consensus codings)")
        note = Text(f"\nHidden by blind coding: {'; '.join(hidden)}." if hidden else "", style="dim")
        if not self.round_rows:
            detail.update(Text("No agreement rounds saved yet: s records the current figures as round 1."
                               if not self.hidden_rounds else "") + note)
            return
        row = self.query_one("#rounds-table", DataTable).cursor_row or 0
        r = self.round_rows[min(row, len(self.round_rows) - 1)]
        detail.update(Text.assemble((f"Round {r['round']}: ", "bold"), r["headline"] or "") + note)

    # -- tabs and status --------------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"agreement": "#agr-table", "walker": "#dis-table", "rounds": "#rounds-table"}[tab]
        self.query_one(target).focus()

    def status_text(self) -> str:
        coders, unit = self.shown or ((), DEFAULT_UNIT)
        parts = [f"Coder: {self._decider_label()}", self.session.blind_state()]
        if len(coders) >= 2:
            parts.append(f"{' vs '.join(coders)} · {unit}")
        if self.report is not None:
            value = fmt_value(self.report.pooled.value(self.report.headline))
            symbol = STAT_SYMBOLS.get(self.report.headline, self.report.headline)
            parts.append(f"pooled {symbol} {value}")
        if self.items:
            n_open = sum(1 for i in self.items if i.status == "open")
            parts.append(f"{n_open} open / {len(self.items)} disagreements")
        if self.round_rows:
            parts.append(f"round {self.round_rows[-1]['round']} saved")
        if self.pending:
            parts.append("computing…")
        return " │ ".join(parts)

    def _update_status(self) -> None:
        self.query_one(StatusBar).update(self.status_text())
