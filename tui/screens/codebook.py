"""The codebook: the code tree with counts (codings, documents, participants) per coder; add,
rename, move, merge, recolour, delete, edit definitions; a code's extracts with participant labels
(Enter on an extract opens it on the coding screen)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option

from qualcode.study import Study
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import (
    ChoiceScreen,
    CodePicker,
    ConfirmScreen,
    DefinitionScreen,
    PromptScreen,
)

TOP = "(top level)"


class CodebookScreen(WorkScreen):
    BINDINGS = [
        key("codebook", "a", "add_code", "Add code"),
        key("codebook", "A", "add_child", "Add child code"),
        key("codebook", "n,f2", "rename_code", "Rename"),
        key("codebook", "r", "reload", "Reload", show=False),
        key("codebook", "v", "move_code", "Move under…"),
        key("codebook", "g", "merge_code", "Merge into…"),
        key("codebook", "k", "recolour_code", "Recolour"),
        key("codebook", "e", "edit_definition", "Edit definition"),
        key("codebook", "x,delete", "delete_code", "Delete code", show=False),
        key("codebook", "tab", "toggle_focus", "Tree / extracts", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, Any] = {}
        self.counts: dict[int, dict[str, dict[str, Any]]] = {}
        self.generation = -1
        self._want: str | None = None
        self._extracts: list = []
        self._scroll: tuple[float, float] | None = None  # tree, extracts scroll kept over a reload
        self._extract_at: tuple[str, int | None] | None = None  # (code, highlighted extract) kept

    def compose(self) -> ComposeResult:
        with Horizontal(id="codebook-main"):
            tree: Tree[str] = Tree("Codebook", id="code-tree")
            tree.show_root = False
            yield tree
            with Vertical(id="code-detail"):
                yield Static("", id="code-def")
                yield Label("Extracts (Enter opens)", classes="side-title")
                yield OptionList(id="extracts")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self.query_one(StatusBar).update(self.status_text())

    # -- loading -----------------------------------------------------------------------------
    def action_reload(self) -> None:
        """Read the codebook and the counts again (work done by the CLI or another window),
        keeping the highlighted code, the highlighted extract and the scroll."""
        self.refresh_data()

    def external_change(self) -> None:
        self.refresh_data()

    def refresh_data(self, select: str | None = None) -> None:
        self.generation = self.session.generation
        current = self.current()
        if select is None and current is not None:
            select = current.path
        self._want = select
        if current is not None and select == current.path:
            self._scroll = (self.query_one(Tree).scroll_y, self.query_one("#extracts", OptionList).scroll_y)
            self._extract_at = (current.path, self.query_one("#extracts", OptionList).highlighted)
        self.query_one(StatusBar).update(self.status_text())
        self.query_one(Tree).loading = True
        self._load()

    @work(thread=True, exclusive=True, group="codebook")
    def _load(self) -> None:
        with Study.open(self.session.path) as study:
            codes = study.codes.list()
            counts = {code_id: entry['by_coder'] for code_id, entry in study.codes.counts().items()}
        self.app.call_from_thread(self._fill, codes, counts)

    def _counts_text(self, code_id: int) -> Text:
        text = Text()
        for coder, numbers in sorted(self.counts.get(code_id, {}).items()):
            if not self.session.can_see(coder):
                continue
            text.append(f"  {coder}: {numbers['codings']}c/{numbers['documents']}d/{numbers.get('participants', 0)}p",
                        style="dim")
        return text

    def _fill(self, codes: list, counts: dict) -> None:
        self.codes = {c.path: c for c in codes}
        self.counts = counts
        tree: Tree[str] = self.query_one(Tree)
        tree.clear()
        nodes = {}
        target = None
        parents = {c.path.rpartition("/")[0] for c in codes}
        for code in codes:  # tree order: parents first
            parent = nodes.get(code.path.rpartition("/")[0], tree.root)
            label = Text.assemble(("■ ", code.colour), code.name, self._counts_text(code.id))
            if code.path in parents:
                node = parent.add(label, data=code.path, expand=True)
            else:
                node = parent.add_leaf(label, data=code.path)
            nodes[code.path] = node
            if code.path == self._want:
                target = node
        tree.loading = False
        if target is None and codes:
            target = nodes[codes[0].path]
        # node lines exist once the tree has been laid out: place the cursor after the refresh
        self.call_after_refresh(self._place_cursor, target)
        if not codes:
            self.query_one("#code-def", Static).update("No codes yet. Press a to add one.")

    def _place_cursor(self, node) -> None:
        tree = self.query_one(Tree)
        scroll, self._scroll = self._scroll, None
        if node is not None:
            tree.move_cursor(node)
            if scroll is not None:  # the same code as before: the same place on screen
                tree.scroll_to(y=scroll[0], animate=False, immediate=True)
                if not scroll[0] <= tree.cursor_line < scroll[0] + tree.scrollable_content_region.height:
                    tree.scroll_to_line(tree.cursor_line, animate=False)
        self._show_detail()
        keep, self._extract_at = self._extract_at, None
        code = self.current()
        extracts = self.query_one("#extracts", OptionList)
        if keep and code is not None and keep[0] == code.path and keep[1] is not None \
                and extracts.option_count:
            extracts.highlighted = min(keep[1], extracts.option_count - 1)
            if scroll is not None:
                extracts.scroll_to(y=scroll[1], animate=False, immediate=True)

    def current(self):
        node = self.query_one(Tree).cursor_node
        if node is None or node.data is None:
            return None
        return self.codes.get(node.data)

    # -- detail ------------------------------------------------------------------------------
    @on(Tree.NodeHighlighted)
    def _highlighted(self, event) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        code = self.current()
        extracts = self.query_one("#extracts", OptionList)
        if code is None:
            self.query_one("#code-def", Static).update("")
            extracts.clear_options()
            return
        lines = Text.assemble(("■ ", code.colour), (code.path, "bold"), f"  {code.colour}  [{code.status}]\n")
        for label, value in (("Description", code.description), ("Include when", code.include_when),
                             ("Exclude when", code.exclude_when), ("Example", code.example)):
            lines.append(f"{label}: ", style="bold")
            lines.append((value or "—") + "\n")
        visible = {c: n for c, n in self.counts.get(code.id, {}).items() if self.session.can_see(c)}
        for coder, n in sorted(visible.items()):
            lines.append(f"{coder}: {n['codings']} codings, {n['documents']} documents, "
                         f"{n.get('participants', 0)} participants\n", style="dim")
        if not visible:
            lines.append("No codings" + ("" if self.session.visible_coders() is None else " of yours") + " yet\n",
                         style="dim")
        self.query_one("#code-def", Static).update(lines)
        codings = self.attempt(self.session.study.codings.list, code=code.path) or []
        self._extracts = [c for c in codings if self.session.can_see(c.coder)]
        options = []
        for c in self._extracts:
            who = c.participant or c.speaker or "—"
            text = " ".join(c.text.split())
            options.append(Option(Text.assemble((f"{who:<6}", "bold"), f" {c.document}  ",
                                                (f"“{text[:120]}{'…' if len(text) > 120 else ''}”", "italic"),
                                                (f"  {c.coder}", "dim"))))
        extracts.set_options(options)

    @on(OptionList.OptionSelected, "#extracts")
    def _open_extract(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        c = self._extracts[event.option_index]
        self.app.open_document(c.document, select=(c.start, c.end))

    def action_toggle_focus(self) -> None:
        tree = self.query_one(Tree)
        (self.query_one("#extracts") if tree.has_focus else tree).focus()

    # -- editing -----------------------------------------------------------------------------
    def _do(self, label: str, fn, *args, select: str | None = None, **kwargs) -> Any:
        result = self.attempt(self.session.perform, label, fn, *args, **kwargs)
        if result is not None:
            self.refresh_data(select=select)
        return result

    def _need_code(self):
        code = self.current()
        if code is None:
            self.notify("Highlight a code first", severity="warning")
        return code

    def action_add_code(self, parent: str | None = None) -> None:
        hint = "Nest with a path: Parent/Child" if parent is None else f"Adds a child of {parent}"

        def add(name: str | None) -> None:
            if name and name.strip():
                code = self._do(f"add code {name}", self.session.study.codes.add, name.strip(), parent=parent)
                if code is not None:
                    self._want = code.path
                    self.notify(f"Added {code.path}", timeout=2)

        self.app.push_screen(PromptScreen("New code" + (f" under {parent}" if parent else ""), hint=hint), add)

    def action_add_child(self) -> None:
        code = self._need_code()
        if code is not None:
            self.action_add_code(parent=code.path)

    def action_rename_code(self) -> None:
        code = self._need_code()
        if code is None:
            return

        def rename(name: str | None) -> None:
            if name and name.strip() and name.strip() != code.name:
                new = code.path.rpartition("/")[0]
                new = f"{new}/{name.strip()}" if new else name.strip()
                self._do(f"rename {code.path}", self.session.study.codes.rename, code.path, name, select=new)

        self.app.push_screen(PromptScreen(f"Rename {code.path}", value=code.name), rename)

    def action_move_code(self) -> None:
        code = self._need_code()
        if code is None:
            return
        inside = [p for p in self.codes if p == code.path or p.startswith(code.path + "/")]

        def move(choice) -> None:
            if not choice:
                return
            parent = None if choice[1] == TOP else choice[1]
            new = f"{parent}/{code.name}" if parent else code.name
            self._do(f"move {code.path}", self.session.study.codes.move, code.path, parent, select=new)

        self.app.push_screen(CodePicker([TOP, *self.codes], [], title=f"Move {code.path} under…",
                                        allow_new=False, exclude=inside), move)

    def action_merge_code(self) -> None:
        code = self._need_code()
        if code is None:
            return

        def merge(choice) -> None:
            if not choice:
                return
            target = choice[1]
            result = self._do(f"merge {code.path} into {target}", self.session.study.codes.merge,
                              code.path, target, select=target)
            if result is not None:
                self.notify(f"Merged {code.path} into {target}: {result['codings_moved']} codings moved")

        self.app.push_screen(CodePicker(list(self.codes), self.session.recent, title=f"Merge {code.path} into…",
                                        allow_new=False, exclude=[code.path]), merge)

    def action_recolour_code(self) -> None:
        code = self._need_code()
        if code is None:
            return
        from qualcode.store.codes import PALETTE

        choices = [(Text.assemble(("██ ", c), c), c) for c in PALETTE] + [("Type a colour…", "")]

        def chosen(colour: str | None) -> None:
            if colour is None:
                return
            if colour == "":
                self.app.push_screen(PromptScreen(f"Colour of {code.path}", value=code.colour,
                                                  hint="#RRGGBB"), chosen)
                return
            self._do(f"recolour {code.path}", self.session.study.codes.describe, code.path, colour=colour,
                     select=code.path)

        self.app.push_screen(ChoiceScreen(f"Colour of {code.path}", choices), chosen)

    def action_edit_definition(self) -> None:
        code = self._need_code()
        if code is None:
            return

        def save(values: dict | None) -> None:
            if values:
                self._do(f"describe {code.path}", self.session.study.codes.describe, code.path, select=code.path,
                         **values)

        self.app.push_screen(DefinitionScreen(code), save)

    def action_delete_code(self) -> None:
        code = self._need_code()
        if code is None:
            return
        total = sum(n["codings"] for n in self.counts.get(code.id, {}).values())

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._do(f"delete {code.path}", self.session.study.codes.delete, code.path,
                         codings="delete" if total else None)

        what = f" and its {total} coding(s), by every coder" if total else ""
        self.app.push_screen(ConfirmScreen(f"Delete {code.path}{what}?"), confirmed)
