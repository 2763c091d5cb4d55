"""Every key of the app in one place: bindings with ids, remappable from ``keys.toml``.

Each screen declares its keys with ``key(...)``; the binding id is ``<scope>.<action>``
(``coding.apply_code``). The help screen and the command palette read the same bindings, so a
remapped key shows up everywhere. ``resolve`` turns the user's file into Textual's keymap.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding


def key(scope: str, keys: str, action: str, description: str, *, show: bool = True,
        priority: bool = False, name: str | None = None) -> Binding:
    """A binding whose id is ``scope.name`` (name defaults to the action's name)."""
    ident = f"{scope}.{name or action.split('(')[0]}"
    return Binding(keys, action, description, show=show, priority=priority, id=ident)


def bindings_of(classes: Iterable[type]) -> dict[str, Binding]:
    """id -> Binding for every qualcode binding (one with an id) declared by ``classes``."""
    out: dict[str, Binding] = {}
    for cls in classes:
        for b in getattr(cls, "BINDINGS", []):
            if isinstance(b, Binding) and b.id:
                out.setdefault(b.id, b)
    return out


def resolve(user: dict[str, str], known: dict[str, Binding]) -> tuple[dict[str, str], list[str]]:
    """Map the user's names (full ids, or action names unique to one scope... or shared by
    several scopes, which are then all remapped) to keys; report unknown names."""
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for name, keys in user.items():
        if name in known:
            keymap[name] = keys
            continue
        matches = [ident for ident in known if ident.split(".", 1)[1] == name]
        if matches:
            for ident in matches:
                keymap[ident] = keys
        else:
            problems.append(f"keys.toml: unknown action {name!r}")
    return keymap, problems


def display_key(keys: str) -> str:
    """``ctrl+z,super+z`` -> ``ctrl+z``; long names back to their characters."""
    names = {"question_mark": "?", "slash": "/", "left_square_bracket": "[",
             "right_square_bracket": "]", "left_curly_bracket": "{", "right_curly_bracket": "}",
             "full_stop": ".", "comma": ",", "escape": "esc", "enter": "enter",
             "less_than_sign": "<", "greater_than_sign": ">", "plus": "+", "minus": "-"}
    first = keys.split(",")[0].strip()
    return names.get(first, first)
