"""The app's hold on one study: who is coding, what they may see, recent codes, undo/redo.

A ``Session`` wraps ``Study`` without adding business rules of its own: every write is one call
to the core (the same function the CLI command calls), wrapped by ``perform`` so screens know
their data is stale. Undo and redo are the core's (the audit log the CLI's ``undo``/``redo``
use), so work done in the TUI can be undone from the CLI and the other way round. No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from qualcode.errors import InvalidInput
from qualcode.study import Study
from tui import config

MRU_SIZE = 20


class Session:
    def __init__(self, path: str | Path, coder: str | None = None) -> None:
        self.path = Path(path)
        self.study = Study.open(self.path)
        self.coder: str | None = None
        self.show_others = False
        self.generation = 0  # bumped on every write; screens reload when theirs is stale
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
    def perform(self, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one core write (``label`` names it for messages). Raises QualcodeError unchanged."""
        result = fn(*args, **kwargs)
        self.generation += 1
        return result

    def undo(self) -> dict[str, Any]:
        """Undo the coder's newest change; returns the core's description of it."""
        target = self.study.undo(self.coder)
        self.generation += 1
        return target

    def redo(self) -> dict[str, Any]:
        """Redo what the coder's newest undo reverted (several undos redo one by one)."""
        target = self.study.redo(self.coder)
        self.generation += 1
        return target
