"""The app's hold on one study: who is coding, what they may see, recent codes, undo/redo.

A ``Session`` wraps ``Study`` without adding business rules of its own: every write is one call
to the core (the same function the CLI command calls), wrapped by ``perform`` so the app can
offer redo (see ``NEEDS_CORE.md``). No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualcode.errors import InvalidInput, QualcodeError
from qualcode.study import Study
from tui import config

MRU_SIZE = 20


@dataclass
class Op:
    """One user action as the app did it: replayable by value for redo."""

    label: str
    replay: Callable[[], Any]
    change_id: int | None


class Session:
    def __init__(self, path: str | Path, coder: str | None = None) -> None:
        self.path = Path(path)
        self.study = Study.open(self.path)
        self.coder: str | None = None
        self.show_others = False
        self.generation = 0  # bumped on every write; screens reload when theirs is stale
        self.undo_stack: list[Op] = []
        self.redo_stack: list[Op] = []
        state = config.study_state(self.path)
        self.recent: list[str] = [p for p in state.get("recent_codes", []) if isinstance(p, str)]
        if coder:
            self.set_coder(coder)

    def close(self) -> None:
        try:
            self.study.close()
        except Exception:  # noqa: BLE001 - closing twice or after a failed open
            pass

    # -- coder -------------------------------------------------------------------------------
    def remembered_coder(self) -> str | None:
        name = config.study_state(self.path).get("coder")
        if isinstance(name, str) and self.study.coders.find(name):
            return name
        return None

    def set_coder(self, name: str, create: bool = False) -> str:
        name = name.strip()
        if create and self.study.coders.find(name) is None:
            self.study.coders.add(name)
        coder = self.study.coders.get(name)
        self.coder = coder.name
        self.study.actor = coder.name
        self.show_others = not self.settings().get("blind", True) and not self.forbid_unblind
        config.save_study_state(self.path, coder=coder.name)
        return coder.name

    # -- blind coding ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return self.study.settings()

    @property
    def forbid_unblind(self) -> bool:
        return bool(self.settings().get("forbid_unblind", False))

    def visible_coders(self) -> frozenset[str] | None:
        """None: everybody's codings; else only these coders'."""
        if self.show_others and not self.forbid_unblind:
            return None
        return frozenset({self.coder} if self.coder else set())

    def can_see(self, coder: str | None) -> bool:
        visible = self.visible_coders()
        return visible is None or coder in visible

    def toggle_others(self) -> bool:
        if not self.show_others and self.forbid_unblind:
            raise InvalidInput("this study forbids showing other coders' codings until coding is "
                               "marked complete (setting forbid_unblind)")
        self.show_others = not self.show_others
        return self.show_others

    # -- recent codes ----------------------------------------------------------------------------
    def note_code_used(self, path: str) -> None:
        self.recent = [path] + [p for p in self.recent if p != path][: MRU_SIZE - 1]
        config.save_study_state(self.path, recent_codes=self.recent)

    # -- writes, undo, redo --------------------------------------------------------------------
    def _last_change_id(self) -> int | None:
        history = self.study.history(1)
        return history[0]["id"] if history else None

    def perform(self, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one core write; remember it for redo. Raises QualcodeError unchanged."""
        before = self._last_change_id()
        result = fn(*args, **kwargs)
        after = self._last_change_id()
        self.generation += 1
        if after != before:
            self.undo_stack.append(Op(label, lambda: fn(*args, **kwargs), after))
            self.redo_stack.clear()
        return result

    def undo(self) -> dict[str, Any]:
        target = self.study.undo(self.coder)
        self.generation += 1
        if self.undo_stack and self.undo_stack[-1].change_id == target["id"]:
            self.redo_stack.append(self.undo_stack.pop())
        else:  # undone work was not done here (CLI, another session): nothing to redo
            self.undo_stack = [op for op in self.undo_stack if op.change_id != target["id"]]
            self.redo_stack.clear()
        return target

    def redo(self) -> str:
        if not self.redo_stack:
            raise InvalidInput("nothing to redo")
        op = self.redo_stack.pop()
        try:
            op.replay()
        except QualcodeError:
            self.redo_stack.clear()
            raise
        self.generation += 1
        op.change_id = self._last_change_id()
        self.undo_stack.append(op)
        return op.label
