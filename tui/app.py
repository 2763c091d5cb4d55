"""The qualcode workbench: a Textual app with one mode per main screen.

Modes (each its own screen stack): ``home`` (documents), ``coding``, ``codebook``, ``memos``,
``search``. Later screens (agreement and reconciliation, themes, anonymisation review, export)
are added the same way: a ``WorkScreen`` subclass in ``tui/screens/``, an entry in ``MODES`` and
``SCREENS_WITH_KEYS``, a stylesheet in ``tui/`` listed in ``CSS_PATH``, and a number key.

``run_app(path, coder=None)`` is what ``qualcode tui`` and ``qualcode demo`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from qualcode.errors import QualcodeError
from tui import config
from tui.keymap import bindings_of, display_key, resolve
from tui.screens.base import WorkScreen
from tui.screens.codebook import CodebookScreen
from tui.screens.coder import CoderScreen
from tui.screens.coding import CodingScreen
from tui.screens.dialogs import CodePicker, ConfirmScreen, DefinitionScreen, TextEditScreen
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.memos import MemosScreen
from tui.screens.search import SearchScreen
from tui.screens.reconcile import ReconcileScreen
from tui.screens.themes import ThemesScreen
from tui.screens.anonymise import AnonymiseScreen
from tui.screens.export import ExportScreen
from tui.session import Session

HERE = Path(__file__).parent


class QualcodeApp(App):
    TITLE = "qualcode"
    CSS_PATH = [HERE / "app.tcss", HERE / "home.tcss", HERE / "coding.tcss", HERE / "codebook.tcss",
                HERE / "memos.tcss", HERE / "search.tcss", HERE / "dialogs.tcss",
                HERE / "reconcile.tcss", HERE / "themes.tcss", HERE / "anonymise.tcss", HERE / "export.tcss"]
    MODES = {"home": HomeScreen, "coding": CodingScreen, "codebook": CodebookScreen,
             "memos": MemosScreen, "search": SearchScreen, "reconcile": ReconcileScreen,
             "themes": ThemesScreen, "anonymise": AnonymiseScreen, "export": ExportScreen}
    DEFAULT_MODE = "home"
    # How often the study is checked for commits by other processes (the CLI): one PRAGMA.
    POLL_SECONDS = 2.0
    # Classes whose bindings are listed in help and the palette, and may be remapped.
    SCREENS_WITH_KEYS = (WorkScreen, HomeScreen, CodingScreen, CodebookScreen, MemosScreen, SearchScreen,
                         ReconcileScreen, ThemesScreen, AnonymiseScreen, ExportScreen,
                         TextEditScreen, DefinitionScreen, CodePicker)

    def __init__(self, path: str | Path, coder: str | None = None) -> None:
        self.session = Session(path, coder)
        self.user_keymap: dict[str, str] = {}
        self.errors: list[str] = []  # messages of QualcodeErrors shown, newest last (for the record)
        super().__init__()
        self.title = f"qualcode — {Path(path).name}"

    # -- start and stop ---------------------------------------------------------------------------
    def on_mount(self) -> None:
        user, problems = config.load_keys()
        self.user_keymap, more = resolve(user, self.all_bindings())
        for problem in problems + more:
            self.notify(problem, severity="warning", timeout=8)
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if self.POLL_SECONDS:
            self.set_interval(self.POLL_SECONDS, self.check_external_changes, name="external-changes")
        if not self.session.coder:
            remembered = self.session.remembered_coder()
            if remembered:
                self.session.set_coder(remembered)
                self.notify(f"Coding as {remembered} (1 then w switches coder)", timeout=4)
                self._coder_changed()
            else:
                self.ask_coder(required=True)

    def on_unmount(self) -> None:
        self.session.close()

    def ask_coder(self, required: bool = False) -> None:
        coders = [c.name for c in self.session.study.coders.list() if c.kind == "coder"]

        def chosen(result: tuple[str, bool] | None) -> None:
            if result is None:
                return
            name, new = result
            if self.attempt(self.session.set_coder, name, create=new) is None:
                self.ask_coder(required=required)
                return
            self.notify(f"Coding as {self.session.coder}", timeout=3)
            self._coder_changed()

        self.push_screen(CoderScreen(coders, required=required or not self.session.coder), chosen)

    def _coder_changed(self) -> None:
        self.session.generation += 1
        screen = self.screen
        if isinstance(screen, WorkScreen):
            screen.refresh_data()

    # -- changes made outside the app, completion, blind mode ---------------------------------
    def check_external_changes(self) -> bool:
        """Did another process commit to the study? Then every screen is stale, and the one shown
        reloads at once if it can keep the reader's place (else when it is next shown)."""
        if not self.session.external_change():
            return False
        screen = self.screen
        if isinstance(screen, WorkScreen):
            screen.external_change()
        return True

    def action_mark_complete(self) -> None:
        """Mark the current coder's coding complete, or reopen it (after a confirmation)."""
        session = self.session
        if not session.coder:
            self.ask_coder(required=True)
            return
        reopen = session.complete
        if reopen:
            question = (f"Reopen the coding of {session.coder}? You are marked complete since "
                        f"{session.policy().complete[session.coder]}.")
            if session.forbid_unblind:
                question += " Other coders' codings will be hidden from you again."
        else:
            question = f"Mark the coding of {session.coder} complete for this study?"
            if session.forbid_unblind:
                question += (" You may then see the codings of the other coders who are complete"
                             " (o), and agreement figures with them.")

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            done = self.attempt(session.mark_complete, reopen=reopen)
            if done is None:
                return
            if reopen and not session.may_unblind():
                session.show_others = False
            self.notify(f"Coding of {done['coder']} " +
                        (f"marked complete ({done['since']}); ctrl+z undoes it" if done["complete"]
                         else "reopened"), timeout=4)
            self._after_change()

        self.push_screen(ConfirmScreen(question), confirmed)

    def action_toggle_others(self) -> None:
        screen = next((s for s in reversed(self.screen_stack) if isinstance(s, WorkScreen)), None)
        if screen is not None:
            screen.action_toggle_others()

    # -- errors -------------------------------------------------------------------------------
    def attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QualcodeError as exc:
            self.errors.append(str(exc))
            self.notify(str(exc), severity="error", timeout=6)
            return None

    # -- navigation ---------------------------------------------------------------------------
    def go(self, mode: str) -> None:
        self.switch_mode(mode)

    def open_document(self, name: str, select: tuple[int, int] | None = None) -> None:
        async def show() -> None:
            await self.switch_mode("coding")
            coding = next(s for s in self.screen_stack if isinstance(s, CodingScreen))
            while self.screen is not coding:
                self.pop_screen()
            coding.open_document(name, select)

        self.call_later(show)

    # -- undo / redo ----------------------------------------------------------------------------
    def _after_change(self) -> None:
        screen = self.screen
        if isinstance(screen, WorkScreen):
            screen.refresh_data()

    def action_undo(self) -> None:
        if not self.session.coder:
            self.notify("Choose who is coding first", severity="warning")
            return
        target = self.attempt(self.session.undo)
        if target is not None:
            self.notify(f"Undone: {target['summary']}", timeout=3)
            self._after_change()

    def action_redo(self) -> None:
        if not self.session.coder:
            self.notify("Choose who is coding first", severity="warning")
            return
        target = self.attempt(self.session.redo)
        if target is not None:
            self.notify(f"Redone: {target['summary']}", timeout=3)
            self._after_change()

    # -- keys, help, command palette --------------------------------------------------------------
    def all_bindings(self) -> dict[str, Binding]:
        return bindings_of(self.SCREENS_WITH_KEYS)

    def key_for(self, binding: Binding) -> str:
        return display_key(self.user_keymap.get(binding.id or "", binding.key))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.all_bindings(), self.user_keymap))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        target = screen
        if not isinstance(target, WorkScreen):  # palette opened over a dialog: use the screen below
            target = next((s for s in reversed(self.screen_stack) if isinstance(s, WorkScreen)), None)
        if target is None:
            return
        seen = set()
        for cls in type(target).__mro__:
            for b in getattr(cls, "BINDINGS", []) if "BINDINGS" in cls.__dict__ else []:
                if not isinstance(b, Binding) or not b.id or b.id in seen:
                    continue
                seen.add(b.id)
                yield SystemCommand(b.description, f"key: {self.key_for(b)}",
                                    partial(target.run_action, b.action))
        yield SystemCommand("Switch coder", "Choose who is coding", self.ask_coder)
        if "toggle_others" not in {b.action for b in getattr(type(target), "BINDINGS", [])}:
            yield SystemCommand("Show other coders", "Show/hide other coders' codings (blind coding)",
                                self.action_toggle_others)
        if not any(b.action == "mark_complete" for cls in type(target).__mro__
                   for b in cls.__dict__.get("BINDINGS", [])):
            yield SystemCommand("Mark my coding complete", "Or reopen it (the study's record of who has "
                                "finished; with forbid_unblind, who may see others' codings)",
                                self.action_mark_complete)


def run_app(path: str | Path, coder: str | None = None) -> None:
    QualcodeApp(path, coder=coder).run()
