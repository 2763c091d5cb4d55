"""Themes (Braun & Clarke phases 3-5): build candidate themes by moving codes between them, with the
evidence in view.

Left: the thematic map as a tree — themes -> subthemes -> codes, each theme with its status and
counts in passages, as in the map and the quote table — and below it the codes no theme gathers
yet. Right: for the highlighted theme or code, its definition, participant coverage by group ("3
of 7 patients: P1, P2, P5") and its codings with participant labels; ``k`` marks one as a key
quote of the theme.

Every change is one call to the same core function the CLI's ``qualcode themes ...`` makes, through
``session.perform`` so that undo and redo work. Loading runs in workers with their own study
connection. Like the codebook, the counts and extracts follow blind mode (``o``): only your own
codings unless every coder's are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from qualcode.errors import QualcodeError
from qualcode.evidence import Evidence, evidence, shorten
from qualcode.records import Code
from qualcode.store.themes import STATUSES, Theme
from qualcode.study import PHASES, Study
from qualcode.themes import MapNode, map_tree, phase_status, set_phase, ungathered_codes
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import (
    ChoiceScreen,
    CodePicker,
    ConfirmScreen,
    DefinitionScreen,
    PromptScreen,
    TextEditScreen,
)

TOP = "(top level)"
NEW = "\x00new theme"          # the "+ new theme…" choice of a theme picker
MAX_EXTRACTS = 500             # shown at once; the coverage line always counts them all
STATUS_STYLE = {"candidate": "yellow", "active": "green", "discarded": "dim strike"}


# -- what the screen shows ---------------------------------------------------------------------

@dataclass(frozen=True)
class Pick:
    """What a tree node stands for: a theme, a code under a theme, a code in no theme."""

    kind: str                   # "theme" | "code" | "free" | "free-root"
    theme: int | None = None    # theme id (for a code: the theme it sits under)
    code: str | None = None     # code path


@dataclass
class Board:
    """The map as loaded by the worker: themes, counts, the codes still to place, the phase."""

    themes: list[Theme]
    counts: dict[str, MapNode]        # "t<id>" / "t<id>c<code id>" -> the map node with counts
    free: list[dict[str, Any]]        # ungathered_codes rows
    colours: dict[str, str]           # code path -> colour
    total_codes: int
    phase: dict[str, Any]


@dataclass
class Detail:
    """Evidence for one pick, as loaded by the worker."""

    pick: Pick
    evidence: Evidence
    key_ids: dict[int, set[int]]      # coding id -> themes it is a key quote of
    code: Code | None = None
    serves: list[str] = field(default_factory=list)   # for a code: the themes gathering it


def load_board(path: Path, coder: str | None) -> Board:
    with Study.open(path) as study:
        themes = study.themes.list()
        tree = map_tree(study, include_discarded=True, counts=True, coder=coder)
        codes = study.codes.list()
        return Board(themes=themes, counts={n.id: n for n, _depth in tree.walk()},
                     free=ungathered_codes(study, coder=coder), colours={c.path: c.colour for c in codes},
                     total_codes=len(codes), phase=phase_status(study))


def load_detail(path: Path, pick: Pick, theme_path: str | None, coder: str | None) -> Detail:
    with Study.open(path) as study:
        store = study.themes
        if pick.kind == "theme":
            ev = evidence(study, theme=theme_path, coder=coder)
            return Detail(pick, ev, store.key_coding_ids())
        ev = evidence(study, code=pick.code, coder=coder)
        return Detail(pick, ev, store.key_coding_ids(), code=study.codes.get(pick.code),
                      serves=[t.path for t in store.themes_of_code(pick.code)])


class ThemeDefinitionScreen(DefinitionScreen):
    """The definition form for a theme: central organising concept, definition, colour."""

    FIELDS = (("concept", "Central organising concept"), ("definition", "Definition"),
              ("colour", "Colour (#RRGGBB)"))

    def on_mount(self, event) -> None:
        event.prevent_default()  # the code form's on_mount would look for its own first field
        self.query_one("#field-concept").focus()


# -- the screen ----------------------------------------------------------------------------------

def _expansion(node: TreeNode[Pick]) -> dict[Pick, bool]:
    """Open or closed, for every node with children under ``node``."""
    found: dict[Pick, bool] = {}
    for child in node.children:
        if child.children and child.data is not None:
            found[child.data] = child.is_expanded
            found.update(_expansion(child))
    return found


class ThemesScreen(WorkScreen):
    BINDINGS = [
        key("themes", "a", "add_theme", "Add theme"),
        key("themes", "A", "add_subtheme", "Add subtheme", show=False),
        key("themes", "t", "assign_code", "Assign code…"),
        key("themes", "m", "move_code", "Move code…"),
        key("themes", "u", "unassign_code", "Take code out"),
        key("themes", "x", "mark_code", "Mark/unmark code", show=False),
        key("themes", "s", "set_status", "Status"),
        key("themes", "e", "define_theme", "Define"),
        key("themes", "r", "rename_theme", "Rename theme", show=False),
        key("themes", "v", "move_theme", "Move theme under…", show=False),
        key("themes", "g", "merge_theme", "Merge theme into…", show=False),
        key("themes", "p", "split_theme", "Split codes off into a new theme", show=False),
        key("themes", "delete", "delete_theme", "Delete theme", show=False),
        key("themes", "k", "key_quote", "Key quote on/off"),
        key("themes", "n", "memo", "Memo on theme", show=False),
        key("themes", "f", "set_phase", "Set B&C phase", show=False),
        key("themes", "o", "toggle_others", "Show/hide other coders", show=False),
        key("themes", "tab", "toggle_focus", "Map / extracts", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.board: Board | None = None
        self.by_id: dict[int, Theme] = {}
        self.detail: Detail | None = None
        self.marked: set[str] = set()
        self.generation = -1
        self._want: Pick | None = None
        self._expanded: dict[Pick, bool] = {}  # the reader's open/closed themes, kept over reloads
        self._extracts: list = []
        self._detail_seq = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="themes-title")
        with Horizontal(id="themes-main"):
            tree: Tree[Pick] = Tree("Thematic map", id="theme-tree")
            tree.show_root = False
            tree.auto_expand = True
            yield tree
            with Vertical(id="theme-detail"):
                yield Static("", id="theme-info")
                yield Label("Extracts", id="theme-extracts-title", classes="side-title")
                yield OptionList(id="theme-extracts")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one(Tree).focus()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self._update_status()

    # -- loading the map -------------------------------------------------------------------------
    def _coder_filter(self) -> str | None:
        """The one coder whose codings count (blind mode), or None for every coder."""
        return None if self.session.visible_coders() is None else self.session.coder

    def external_change(self) -> None:
        # The reload keeps the highlighted theme or code and which themes are open.
        self.refresh_data()

    def refresh_data(self, select: Pick | None = None) -> None:
        self.generation = self.session.generation
        self._want = select or self.current_pick() or self._want
        self._expanded.update(_expansion(self.query_one(Tree).root))
        self.query_one(Tree).loading = True
        self._update_status()
        self._load_board(self.session.path, self._coder_filter())

    @work(thread=True, exclusive=True, group="themes-board")
    def _load_board(self, path: Path, coder: str | None) -> None:
        board = load_board(path, coder)
        self.app.call_from_thread(self._fill, board)

    def _fill(self, board: Board) -> None:
        self.board = board
        self.by_id = {t.id: t for t in board.themes}
        self.marked &= set(board.colours)
        self._show_title()
        tree: Tree[Pick] = self.query_one(Tree)
        tree.clear()
        nodes: dict[Pick, TreeNode[Pick]] = {}
        for t in board.themes:  # tree order: a parent before its subthemes
            parent = nodes.get(Pick("theme", t.parent_id)) if t.parent_id is not None else tree.root
            if parent is None:
                continue
            pick = Pick("theme", t.id)
            node = parent.add(self._theme_label(t), data=pick,
                              expand=self._expanded.get(pick, t.status != "discarded"))
            nodes[pick] = node
            for cid, path in zip(t.code_ids, t.codes):
                code_pick = Pick("code", t.id, path)
                counted = board.counts.get(f"t{t.id}c{cid}")
                nodes[code_pick] = node.add_leaf(self._code_label(path, counted.passages if counted else None),
                                                 data=code_pick)
        free_root = tree.root.add(Text(f"Codes in no theme ({len(board.free)})", style="bold"),
                                  data=Pick("free-root"), expand=self._expanded.get(Pick("free-root"), True))
        nodes[Pick("free-root")] = free_root
        for row in board.free:
            pick = Pick("free", None, row["code"])
            nodes[pick] = free_root.add_leaf(self._code_label(row["code"], row["passages"]), data=pick)
        tree.loading = False
        target = self._best_node(nodes)
        self.call_after_refresh(self._place_cursor, target)
        if not board.themes:
            self.query_one("#theme-info", Static).update(
                "No themes yet. Highlight a code below and press t to gather it into a new theme, or a to add one.")

    def _best_node(self, nodes: dict[Pick, TreeNode[Pick]]) -> TreeNode[Pick] | None:
        want = self._want
        if want is not None:
            if want in nodes:
                return nodes[want]
            if want.code is not None:  # the code moved: find it anywhere, else its old theme
                found = next((n for p, n in nodes.items() if p.code == want.code), None)
                if found is not None:
                    return found
            if want.theme is not None and Pick("theme", want.theme) in nodes:
                return nodes[Pick("theme", want.theme)]
        return next(iter(nodes.values()), None)

    def _place_cursor(self, node: TreeNode[Pick] | None) -> None:
        tree = self.query_one(Tree)
        if node is not None:
            tree.move_cursor(node)
            tree.scroll_to_node(node, animate=False)
        if self.focused is None:
            tree.focus()
        self._request_detail()

    # -- labels --------------------------------------------------------------------------------
    def _theme_label(self, t: Theme) -> Text:
        counted = self.board.counts.get(f"t{t.id}") if self.board else None
        label = Text.assemble(("● ", t.colour), (t.name, "bold" if t.depth == 0 else ""),
                              (f"  {t.status}", STATUS_STYLE.get(t.status, "")))
        if not t.codes and not t.children:
            label.append("  no codes yet", style="dim")
        elif counted is not None and counted.passages is not None:
            label.append(f"  {counted.counts_text()}", style="dim")
        if t.key_quotes:
            label.append(f"  ★{t.key_quotes}", style="yellow")
        return label

    def _code_label(self, path: str, passages: int | None) -> Text:
        colour = self.board.colours.get(path, "#888888") if self.board else "#888888"
        label = Text.assemble(("✓ " if path in self.marked else "", "bold green"), ("■ ", colour), path)
        if passages is not None:   # passages, as in the map and the quote table
            label.append(f"  ({passages})", style="dim" if passages else "dim italic")
        return label

    def _show_title(self) -> None:
        ph = self.board.phase
        themes = self.board.themes
        tops = sum(1 for t in themes if t.depth == 0)
        by_status = {s: sum(1 for t in themes if t.status == s) for s in STATUSES}
        gathered = self.board.total_codes - len(self.board.free)
        text = Text.assemble(
            ("Themes", "bold"), f"  ·  Phase {ph['phase']} of 6: {ph['name']} (f)  ·  {ph['approach']}  ·  ",
            f"{tops} themes, {len(themes) - tops} subthemes "
            f"({', '.join(f'{n} {s}' for s, n in by_status.items())})  ·  "
            f"{gathered} of {self.board.total_codes} codes gathered")
        text.append(f"\n{ph['prompt']}", style="dim italic")
        self.query_one("#themes-title", Static).update(text)

    def _update_status(self) -> None:
        parts = [self.status_text()]
        if self.board is not None:
            parts.append(f"Phase {self.board.phase['phase']}: {PHASES.get(self.board.phase['phase'], '?')}")
        pick = self.current_pick() if self.is_mounted else None
        theme = self.theme_of(pick)
        if pick is not None and pick.code:
            parts.append(f"code {pick.code}" + (f" in {theme.path}" if theme else ""))
        elif theme is not None:
            parts.append(f"theme {theme.path}")
        if self.marked:
            parts.append(f"{len(self.marked)} marked (x)")
        self.query_one(StatusBar).update(" │ ".join(parts))

    # -- selection -----------------------------------------------------------------------------
    def current_pick(self) -> Pick | None:
        node = self.query_one(Tree).cursor_node
        return node.data if node is not None else None

    def theme_of(self, pick: Pick | None) -> Theme | None:
        """The highlighted theme, or the theme the highlighted code sits under."""
        if pick is None or pick.theme is None:
            return None
        return self.by_id.get(pick.theme)

    def _family(self, theme: Theme) -> set[int]:
        """Ids of the theme and its subthemes."""
        prefix = theme.path.casefold() + "/"
        return {t.id for t in self.by_id.values() if t.id == theme.id or t.path.casefold().startswith(prefix)}

    def _need_theme(self) -> Theme | None:
        theme = self.theme_of(self.current_pick())
        if theme is None:
            self.notify("Highlight a theme (or a code under one) first", severity="warning")
        return theme

    def _picked_codes(self, theme: Theme | None = None) -> list[str]:
        """The marked codes (those of ``theme`` when given), else the highlighted code."""
        pick = self.current_pick()
        marked = sorted(self.marked if theme is None else self.marked & set(theme.codes), key=str.casefold)
        if marked:
            return marked
        if pick is not None and pick.code and (theme is None or pick.code in theme.codes):
            return [pick.code]
        return []

    # -- the evidence panel ------------------------------------------------------------------------
    @on(Tree.NodeHighlighted)
    def _highlighted(self, _event) -> None:
        self._request_detail()

    def _request_detail(self) -> None:
        self._update_status()
        pick = self.current_pick()
        info = self.query_one("#theme-info", Static)
        self._detail_seq += 1  # whatever is still loading is for another node now
        if pick is None or pick.kind == "free-root":
            info.loading = False
            self.detail = None
            free = len(self.board.free) if self.board else 0
            info.update(f"{free} code(s) no theme gathers yet. Highlight one: t gathers it into a theme "
                        "(or a new one); x marks several.")
            self.query_one("#theme-extracts", OptionList).clear_options()
            self.query_one("#theme-extracts-title", Label).update("Extracts")
            return
        theme = self.theme_of(pick)
        info.loading = True
        self._load_detail(self._detail_seq, self.session.path, pick, theme.path if theme else None,
                          self._coder_filter())

    @work(thread=True, exclusive=True, group="themes-detail")
    def _load_detail(self, seq: int, path: Path, pick: Pick, theme_path: str | None, coder: str | None) -> None:
        try:
            detail = load_detail(path, pick, theme_path, coder)
        except QualcodeError as exc:  # the theme or code went away meanwhile: say so
            self.app.call_from_thread(self._detail_failed, seq, str(exc))
            return
        self.app.call_from_thread(self._show_detail, seq, detail)

    def _detail_failed(self, seq: int, message: str) -> None:
        if seq == self._detail_seq:
            info = self.query_one("#theme-info", Static)
            info.loading = False
            info.update(Text(message, style="red"))

    def _show_detail(self, seq: int, detail: Detail) -> None:
        if seq != self._detail_seq:
            return  # the cursor moved on (or the data changed): a newer load is under way
        info = self.query_one("#theme-info", Static)
        info.loading = False
        keep = self._highlighted_coding()
        self.detail = detail
        ev = detail.evidence
        theme = self.theme_of(detail.pick)
        text = Text()
        if detail.pick.kind == "theme" and theme is not None:
            text.append("● ", style=theme.colour)
            text.append(theme.path, style="bold")
            text.append(f"  {theme.kind}, ")
            text.append(theme.status, style=STATUS_STYLE.get(theme.status, ""))
            text.append("\n")
            text.append("Central organising concept: ", style="bold")
            text.append((theme.concept or "—") + "\n")
            text.append("Definition: ", style="bold")
            text.append((theme.definition or "—") + "\n")
            text.append("Codes: ", style="bold")
            text.append((", ".join(theme.codes) or "none yet (t gathers one)") + "\n")
            if theme.memos:
                text.append(f"Memos: {theme.memos}\n", style="dim")
        else:
            code = detail.code
            text.append("■ ", style=code.colour if code else "")
            text.append(detail.pick.code or "", style="bold")
            text.append("  code\n")
            if code is not None and code.description:
                text.append("Description: ", style="bold")
                text.append(code.description + "\n")
            text.append("In themes: ", style="bold")
            text.append((", ".join(detail.serves) or "none yet") + "\n")
        text.append(f"{ev.passages} passage{'s' if ev.passages != 1 else ''}", style="bold")
        text.append(f" ({len(ev.extracts)} coding{'s' if len(ev.extracts) != 1 else ''}"
                    + (f"; {ev.unattributed} without a participant" if ev.unattributed else "") + ")")
        who = self._coder_filter()
        text.append(f" · {'only ' + who + chr(39) + 's codings (o shows every coder)' if who else 'every coder'}\n",
                    style="dim")
        text.append("Participants: ", style="bold")
        if ev.groups:
            text.append("\n")
            for g in ev.groups:
                text.append(f"  {g.text}\n")
        else:
            text.append("none yet\n")
        for sub in ev.subthemes:
            text.append(f"  └ {sub['theme'].rsplit('/', 1)[-1]}: {sub['passages']} passages; {sub['coverage']}\n",
                        style="dim")
        info.update(text)
        self._fill_extracts(keep)

    def _key_for(self, coding_id: int) -> bool:
        """Is this coding a key quote here: of the theme in view (or its subthemes), else of any."""
        flagged = self.detail.key_ids.get(coding_id, set()) if self.detail else set()
        theme = self.theme_of(self.detail.pick) if self.detail else None
        return bool(flagged & self._family(theme)) if theme is not None else bool(flagged)

    def _fill_extracts(self, keep: int | None = None) -> None:
        ev = self.detail.evidence
        self._extracts = ev.extracts[:MAX_EXTRACTS]
        options, index = [], None
        for i, e in enumerate(self._extracts):
            star = ("★ ", "yellow") if self._key_for(e.coding_id) else ("  ", "")
            options.append(Option(Text.assemble(
                star, (f"{e.participant or e.speaker or '—':<6}", "bold"), f" {e.document}  ",
                (f"“{shorten(e.text, 140)}”", "italic"), (f"  {e.coder} #{e.coding_id}", "dim"))))
            if e.coding_id == keep:
                index = i
        extracts = self.query_one("#theme-extracts", OptionList)
        extracts.set_options(options)
        if options:
            extracts.highlighted = index if index is not None else 0
        more = f" (first {MAX_EXTRACTS} of {len(ev.extracts)})" if len(ev.extracts) > MAX_EXTRACTS else ""
        self.query_one("#theme-extracts-title", Label).update(
            f"Codings{more} (every coder's) — ★ key quote (k) · Enter opens")

    def _highlighted_coding(self) -> int | None:
        extracts = self.query_one("#theme-extracts", OptionList)
        if extracts.highlighted is None or extracts.highlighted >= len(self._extracts):
            return None
        return self._extracts[extracts.highlighted].coding_id

    @on(OptionList.OptionSelected, "#theme-extracts")
    def _open_extract(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        e = self._extracts[event.option_index]
        self.app.open_document(e.document, select=(e.start, e.end))

    def action_toggle_focus(self) -> None:
        tree = self.query_one(Tree)
        (self.query_one("#theme-extracts") if tree.has_focus else tree).focus()

    # -- writing -------------------------------------------------------------------------------------
    @property
    def store(self):
        return self.session.study.themes

    def _do(self, label: str, fn, *args, select: Pick | None = None, **kwargs) -> Any:
        result = self.attempt(self.session.perform, label, fn, *args, **kwargs)
        if result is not None:
            self.marked.clear()
            self.refresh_data(select=select or self.current_pick())
        return result

    def _theme_choices(self, exclude: set[int] = frozenset(), new: bool = False) -> list[tuple[Text, Any]]:
        choices: list[tuple[Text, Any]] = []
        if new:
            choices.append((Text("+ new theme…", style="bold"), NEW))
        for t in self.by_id.values():
            if t.id in exclude:
                continue
            choices.append((Text.assemble("  " * t.depth, ("● ", t.colour), t.name,
                                          (f"  {t.status}", STATUS_STYLE.get(t.status, ""))), t.path))
        return choices

    def _ask_new_theme(self, title: str, then) -> None:
        def named(name: str | None) -> None:
            if name is not None:  # an empty name goes to the core, which says why it will not do
                then(name.strip())

        self.app.push_screen(PromptScreen(title, hint="Theme/Subtheme makes a subtheme"), named)

    # themes ------------------------------------------------------------------------------------------
    def action_add_theme(self, parent: Theme | None = None) -> None:
        def add(name: str | None) -> None:
            if name is None:
                return
            theme = self._do(f"add theme {name}", self.store.add, name, parent.path if parent else None)
            if theme is not None:
                self._want = Pick("theme", theme.id)
                self.notify(f"Added {theme.kind} {theme.path} (candidate)", timeout=2)

        where = f" under {parent.path}" if parent else ""
        hint = "" if parent else "Theme/Subtheme makes a subtheme"
        self.app.push_screen(PromptScreen(f"New candidate theme{where}", hint=hint), add)

    def action_add_subtheme(self) -> None:
        theme = self._need_theme()
        if theme is not None:
            self.action_add_theme(parent=theme)

    def action_rename_theme(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def rename(name: str | None) -> None:
            if name is not None and name.strip() != theme.name:
                self._do(f"rename theme {theme.path}", self.store.rename, theme.path, name,
                         select=Pick("theme", theme.id))

        self.app.push_screen(PromptScreen(f"Rename theme {theme.path}", value=theme.name), rename)

    def action_move_theme(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def move(parent: str | None) -> None:
            if parent is not None:
                self._do(f"move theme {theme.path}", self.store.move, theme.path, None if parent == TOP else parent,
                         select=Pick("theme", theme.id))

        choices = [(Text(TOP, style="bold"), TOP)] + self._theme_choices(exclude=self._family(theme))
        self.app.push_screen(ChoiceScreen(f"Move {theme.path} under…", choices), move)

    def action_set_status(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def chosen(status: str | None) -> None:
            if status is not None and status != theme.status:
                if self._do(f"status of {theme.path}", self.store.set_status, theme.path, status,
                            select=Pick("theme", theme.id)) is not None:
                    self.notify(f"{theme.path} is now {status}", timeout=2)

        choices = [(Text.assemble((s, STATUS_STYLE[s]), "  (now)" if s == theme.status else ""), s) for s in STATUSES]
        self.app.push_screen(ChoiceScreen(f"Status of {theme.path}", choices), chosen)

    def action_define_theme(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def save(values: dict | None) -> None:
            if values:
                self._do(f"define theme {theme.path}", self.store.define, theme.path, select=Pick("theme", theme.id),
                         **values)

        self.app.push_screen(ThemeDefinitionScreen(theme), save)

    def action_merge_theme(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def merge(target: str | None) -> None:
            if target is None:
                return
            result = self._do(f"merge theme {theme.path} into {target}", self.store.merge, theme.path, target)
            if result is not None:
                self._want = Pick("theme", self.store.get(result["target"]).id)
                self.notify(f"Merged {result['source']} into {result['target']}: {result['codes']} code(s), "
                            f"{result['key_quotes']} key quote(s), {result['subthemes']} subtheme(s) moved")

        choices = self._theme_choices(exclude=self._family(theme))
        if not choices:
            self.notify("There is no other theme to merge into", severity="warning")
            return
        self.app.push_screen(ChoiceScreen(f"Merge {theme.path} into…", choices), merge)

    def action_split_theme(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return
        codes = self._picked_codes(theme)
        if not codes:
            self.notify(f"Mark the codes of {theme.path} to split off (x), or highlight one", severity="warning")
            return

        def named(name: str) -> None:
            def placed(as_subtheme: bool | None) -> None:
                if as_subtheme is None:
                    return
                result = self._do(f"split {name} off {theme.path}", self.store.split, theme.path, name, codes,
                                  as_subtheme=as_subtheme)
                if result is not None:
                    self._want = Pick("theme", self.store.get(result["new"]).id)
                    self.notify(f"Split {result['new']} off {result['source']} with {', '.join(result['codes'])}")

            self.app.push_screen(ChoiceScreen(f"Where does {name} go?", [
                (f"Beside {theme.path} (a new candidate theme)", False),
                (f"Under {theme.path} (a subtheme)", True)]), placed)

        self._ask_new_theme(f"Split {', '.join(codes)} off {theme.path} into a new theme named…", named)

    def action_delete_theme(self) -> None:
        pick = self.current_pick()
        theme = self.theme_of(pick)
        if theme is None or pick.kind != "theme":
            self.notify("Highlight the theme to delete", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._do(f"delete theme {theme.path}", self.store.delete, theme.path,
                         select=Pick("theme", theme.parent_id) if theme.parent_id else None)

        self.app.push_screen(ConfirmScreen(f"Delete theme {theme.path}? (s → discarded keeps it in the record; "
                                           "ctrl+z undoes)"), confirmed)

    def action_memo(self) -> None:
        theme = self._need_theme()
        if theme is None:
            return

        def save(body: str | None) -> None:
            if body is not None:
                if self._do(f"memo on {theme.path}", self.store.memo, theme.path, body,
                            coder=self.session.coder) is not None:
                    self.notify(f"Memo added to {theme.path}", timeout=2)

        self.app.push_screen(TextEditScreen(f"Memo on theme {theme.path}"), save)

    # codes -------------------------------------------------------------------------------------------
    def action_mark_code(self) -> None:
        tree = self.query_one(Tree)
        node = tree.cursor_node
        pick = node.data if node is not None else None
        if pick is None or not pick.code:
            self.notify("Highlight a code to mark", severity="warning")
            return
        self.marked ^= {pick.code}
        for other in self._code_nodes(tree.root, pick.code):
            counted = self._node_count(other.data)
            other.set_label(self._code_label(pick.code, counted))
        self._update_status()
        tree.action_cursor_down()

    def _code_nodes(self, node: TreeNode[Pick], code: str):
        for child in node.children:
            if child.data is not None and child.data.code == code:
                yield child
            yield from self._code_nodes(child, code)

    def _node_count(self, pick: Pick) -> int | None:
        if self.board is None:
            return None
        if pick.kind == "free":
            return next((r["passages"] for r in self.board.free if r["code"] == pick.code), None)
        theme = self.by_id.get(pick.theme)
        if theme is None:
            return None
        cid = dict(zip(theme.codes, theme.code_ids)).get(pick.code)
        counted = self.board.counts.get(f"t{theme.id}c{cid}")
        return counted.passages if counted else None

    def action_assign_code(self) -> None:
        pick = self.current_pick()
        codes = self._picked_codes()
        if codes:
            self._assign_to_chosen_theme(codes)
            return
        theme = self.theme_of(pick)
        if theme is None:
            self.notify("Highlight a code (or mark some with x), or a theme to gather a code into",
                        severity="warning")
            return

        def chosen(choice) -> None:
            if choice:
                self._do(f"assign {choice[1]} to {theme.path}", self.store.assign, theme.path, [choice[1]],
                         select=Pick("code", theme.id, choice[1]))

        paths = list(self.board.colours) if self.board else []
        self.app.push_screen(CodePicker(paths, self.session.recent, self.board.colours if self.board else {},
                                        title=f"Gather a code into {theme.path}", allow_new=False,
                                        exclude=theme.codes), chosen)

    def _assign_to_chosen_theme(self, codes: list[str]) -> None:
        everywhere = {t.id for t in self.by_id.values() if set(codes) <= set(t.codes)}
        names = ", ".join(codes)

        def chosen(target: str | None) -> None:
            if target is None:
                return
            if target == NEW:
                def create(name: str) -> None:
                    theme = self._do(f"add theme {name}", self.store.add, name, codes=codes)
                    if theme is not None:
                        self._want = Pick("code", theme.id, codes[0])
                        self.notify(f"Added candidate theme {theme.path} gathering {names}", timeout=3)

                self._ask_new_theme(f"New candidate theme gathering {names}", create)
                return
            result = self._do(f"assign {names} to {target}", self.store.assign, target, codes,
                              select=Pick("code", self.store.get(target).id, codes[0]))
            if result is not None:
                self.notify(f"{result['theme']}: gathered {', '.join(result['assigned']) or 'nothing new'}", timeout=3)

        self.app.push_screen(ChoiceScreen(f"Gather {names} into…", self._theme_choices(everywhere, new=True)), chosen)

    def action_move_code(self) -> None:
        pick = self.current_pick()
        source = self.theme_of(pick)
        if source is None or pick.kind != "code":
            self.notify("Highlight a code under a theme to move it (t gathers a code in no theme)",
                        severity="warning")
            return
        codes = self._picked_codes(source)
        names = ", ".join(codes)

        def chosen(target: str | None) -> None:
            if target is None:
                return
            if target == NEW:
                def split(name: str) -> None:
                    result = self._do(f"split {name} off {source.path}", self.store.split, source.path, name, codes)
                    if result is not None:
                        self._want = Pick("code", self.store.get(result["new"]).id, codes[0])
                        self.notify(f"Moved {names} to the new theme {result['new']}", timeout=3)

                self._ask_new_theme(f"Move {names} to a new candidate theme named…", split)
                return
            result = self._do(f"move {names} to {target}", self.store.move_codes, codes, source.path, target,
                              select=Pick("code", self.store.get(target).id, codes[0]))
            if result is not None:
                extra = f" with {result['key_quotes_moved']} key quote(s)" if result["key_quotes_moved"] else ""
                self.notify(f"Moved {names} from {result['source']} to {result['target']}{extra}", timeout=3)

        self.app.push_screen(ChoiceScreen(f"Move {names} from {source.path} to…",
                                          self._theme_choices({source.id}, new=True)), chosen)

    def action_unassign_code(self) -> None:
        pick = self.current_pick()
        theme = self.theme_of(pick)
        if theme is None or pick.kind != "code":
            self.notify("Highlight a code under a theme to take it out", severity="warning")
            return
        codes = self._picked_codes(theme)
        result = self._do(f"unassign {', '.join(codes)} from {theme.path}", self.store.unassign, theme.path, codes,
                          select=Pick("theme", theme.id))
        if result is not None:
            dropped = result["key_quotes_dropped"]
            self.notify(f"Took {', '.join(codes)} out of {theme.path}"
                        + (f"; {dropped} key quote(s) dropped" if dropped else ""), timeout=3)

    # key quotes --------------------------------------------------------------------------------------
    def action_key_quote(self) -> None:
        coding_id = self._highlighted_coding()
        if coding_id is None or self.detail is None:
            self.notify("Highlight an extract first (tab moves to the extracts)", severity="warning")
            return
        theme = self.theme_of(self.detail.pick)
        flagged = self.detail.key_ids.get(coding_id, set())
        if theme is not None:
            mine = flagged & self._family(theme)
            if mine:  # unflag it where it is flagged: this theme first, else the subtheme
                where = theme.id if theme.id in mine else min(mine)
                args, unflag, target = (coding_id, self.by_id[where].path), True, self.by_id[where].path
            else:
                args, unflag, target = (coding_id, theme.path), False, theme.path
        else:  # a code in no theme: the core finds the theme, or says why it cannot
            unflag = bool(flagged)
            args, target = (coding_id, None), None
        result = self.attempt(self.session.perform,
                              f"{'unflag' if unflag else 'flag'} key quote {coding_id}",
                              self.store.quote, *args, unflag=unflag)
        if result is None:
            return
        self.notify(f"#{coding_id} is {'now' if result['key'] else 'no longer'} a key quote of "
                    f"{result['theme'] or target}", timeout=2)
        self.refresh_data()

    # other ------------------------------------------------------------------------------------------
    def action_set_phase(self) -> None:
        current = self.session.settings().get("phase")
        choices = [(f"{n}. {name}{'  (current)' if n == current else ''}", n) for n, name in PHASES.items()]

        def chosen(phase: int | None) -> None:
            if phase is not None and self.attempt(self.session.perform, f"set phase {phase}", set_phase,
                                                  self.session.study, phase) is not None:
                self.notify(f"Phase {phase}: {PHASES[phase]}", timeout=2)
                self.refresh_data()

        self.app.push_screen(ChoiceScreen("Braun & Clarke phase", choices), chosen)

    def action_toggle_others(self) -> None:
        shown = self.attempt(self.session.toggle_others)
        if shown is None:
            return
        self.notify("Showing every coder's codings" if shown else "Blind: only your own codings", timeout=2)
        self.refresh_data()
