"""The app's hold on one study: who is coding, what they may see, recent codes, undo/redo.

A ``Session`` wraps ``Study`` without adding business rules of its own: every write is one call
to the core (the same function the CLI command calls), wrapped by ``perform`` so screens know
their data is stale. Undo and redo are the core's (the audit log the CLI's ``undo``/``redo``
use), so work done in the TUI can be undone from the CLI and the other way round. No SQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualcode.errors import InvalidInput
from qualcode.study import Study
from tui import config

MRU_SIZE = 20


@dataclass(frozen=True)
class Policy:
    blind: bool  # coders see only their own codings by default
    forbid: bool  # showing others is refused until the coder is marked complete
    complete: dict[str, str]  # coder -> when they marked their coding complete
    people: tuple[str, ...]  # the coders (persons)
    others: tuple[str, ...]  # the consensus coder, if any


class Session:
    def __init__(self, path: str | Path, coder: str | None = None) -> None:
        self.path = Path(path)
        self.study = Study.open(self.path)
        self.coder: str | None = None
        self.show_others = False
        self.generation = 0  # bumped on every write; screens reload when theirs is stale
        self._policy: tuple[tuple[int, int], Policy] | None = None
        self._data_version = self.study.db.conn.execute("PRAGMA data_version").fetchone()[0]
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
        self.show_others = not self.policy().blind
        config.save_study_state(self.path, coder=coder.name)
        return coder.name

    # -- blind coding ----------------------------------------------------------------------------
    # What a coder may be shown of other coders' work (the same rule on every screen):
    # * blind study (default): only their own codings, memos and counts; ``o`` (or the palette)
    #   shows everybody's. Agreement figures of a pair show once both coders are marked complete
    #   (``qualcode coders complete``), or when everybody's codings are shown.
    # * forbid_unblind: showing others is refused until the coder is marked complete; then only
    #   the codings of coders marked complete too (and the consensus coder's) are shown.
    # * not blind: everybody's from the start (forbid_unblind still holds).
    def policy(self) -> Policy:
        """The study's blind settings and completion marks, read again whenever the study has
        changed (a write here, or a commit by another process: ``PRAGMA data_version``)."""
        conn = self.study.db.conn
        stamp = (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
        if self._policy is None or self._policy[0] != stamp:
            settings = self.study.settings()
            coders = self.study.coders.list()
            self._policy = (stamp, Policy(
                blind=bool(settings.get("blind", True)),
                forbid=bool(settings.get("forbid_unblind", False)),
                complete=self.study.completion(),
                people=tuple(c.name for c in coders if c.kind == "coder"),
                others=tuple(c.name for c in coders if c.kind != "coder")))
        return self._policy[1]

    def settings(self) -> dict[str, Any]:
        return self.study.settings()

    @property
    def forbid_unblind(self) -> bool:
        return self.policy().forbid

    @property
    def complete(self) -> bool:
        """Has the current coder marked their coding complete?"""
        return bool(self.coder) and self.coder in self.policy().complete

    def may_unblind(self) -> bool:
        """May the current coder be shown other coders' codings at all?"""
        return not self.policy().forbid or self.complete

    def unblinded_coders(self) -> frozenset[str] | None:
        """Whose codings the current coder sees when showing others (None: everybody's)."""
        p = self.policy()
        if not p.forbid:
            return None
        if not self.complete:
            return frozenset({self.coder} if self.coder else set())
        if set(p.people) <= set(p.complete):
            return None
        return frozenset({self.coder, *p.complete, *p.others})

    def visible_coders(self) -> frozenset[str] | None:
        """None: everybody's codings; else only these coders'."""
        if self.show_others:
            return self.unblinded_coders()
        return frozenset({self.coder} if self.coder else set())

    def can_see(self, coder: str | None) -> bool:
        visible = self.visible_coders()
        return visible is None or coder in visible

    def sees_all(self, coders) -> bool:
        """Are every one of ``coders``' codings shown to the current coder?"""
        visible = self.visible_coders()
        return visible is None or set(coders) <= visible

    def figures_allowed(self, coders) -> bool:
        """May agreement figures of ``coders`` be shown? When their codings are shown, or once
        every person among them is marked complete."""
        p = self.policy()
        return self.sees_all(coders) or all(c in p.complete for c in coders if c not in p.others)

    def comparison_allowed(self, coders) -> bool:
        """May ``coders``' codings be shown side by side (disagreements, reconciling)? When they
        are shown to the current coder (``o``), or once the current coder and every person among
        them are marked complete (blind coding has then done its work for them)."""
        p = self.policy()
        return self.sees_all(coders) or (
            self.complete and all(c in p.complete for c in coders if c not in p.others))

    def blind_reason(self, coders=()) -> str:
        """Why other coders' codings are hidden, and what would show them."""
        p = self.policy()
        if p.forbid and not self.complete:
            return ("this study forbids showing other coders' codings until coding is marked "
                    "complete (setting forbid_unblind): mark yours complete first (1, then k)")
        waiting = [c for c in coders if c not in p.complete and c not in p.others and c != self.coder]
        if p.forbid:
            return (f"only the codings of coders marked complete are shown; {', '.join(waiting) or 'some coders'} "
                    "not yet")
        return ("blind coding: other coders' codings are hidden (o on the coding screen, or "
                "'Show other coders' in ctrl+p, shows them)")

    def blind_state(self) -> str:
        """One line for the status bar: what is shown and the rule that holds."""
        p = self.policy()
        visible = self.visible_coders()
        if visible is None:
            shown = "all coders"
        elif visible == frozenset({self.coder}):
            shown = "blind: own only"
        else:
            shown = "shown: " + ", ".join(sorted(c for c in visible if c))
        rule = []
        if p.forbid:
            rule.append("unblind after complete")
        if self.complete:
            rule.append("you: complete")
        return shown + (f" ({'; '.join(rule)})" if rule else "")

    def toggle_others(self) -> bool:
        if not self.show_others and not self.may_unblind():
            raise InvalidInput(self.blind_reason())
        self.show_others = not self.show_others
        return self.show_others

    def mark_complete(self, reopen: bool = False) -> dict[str, Any]:
        """The current coder marks their coding complete (or reopens it): the core's call."""
        if not self.coder:
            raise InvalidInput("choose who is coding first")
        return self.perform("coders complete", self.study.mark_complete, self.coder, reopen=reopen)

    # -- changes made by other processes ----------------------------------------------------------
    def external_change(self) -> bool:
        """Has another connection (the CLI, another window) committed since the last call? Bumps
        ``generation`` so that every screen reloads. Cheap: one PRAGMA, no table read."""
        version = self.study.db.conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return False
        self._data_version = version
        self.generation += 1
        return True

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
