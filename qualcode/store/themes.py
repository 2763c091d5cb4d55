"""Braun & Clarke themes: candidate themes, themes and subthemes, the codes they gather, key quotes.

A theme is a row of ``themes``; a theme with a parent is a subtheme (any depth is stored; the
maps and tables show theme -> subtheme -> ...). Each has a name, a central organising concept, a
definition, a status (candidate / active / discarded), a colour and a position among its
siblings. A theme gathers codes (``theme_codes``; a code may serve several themes) and keeps key
quotes: codings flagged as illustrative for it (``key_quotes``). Memos on a theme are ordinary
memos with target type ``theme``. Every write is one audited change, so history and undo work.

Codes and codings are referenced by id **and** guid, without foreign keys: merging or deleting a
code elsewhere must never be blocked by a theme, and a link whose code (or coding) is gone is
simply not shown — undoing that merge or delete restores the row with its guid, and the link
comes back. Matching on the guid means a new row that reuses an old id is never mistaken for it.

Wire as ``study.themes = ThemeStore(study)``; until ``Study`` does, use :func:`themes_of`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.records import Record
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

if TYPE_CHECKING:
    from qualcode.study import Study

STATUSES = ("candidate", "active", "discarded")
SEP = "/"
# Okabe-Ito and Tableau hues, distinct for colour-blind readers. Some are light (orange, pink, sky
# blue): text drawn on them is white or black by WCAG contrast (exporters.maps.text_colour).
PALETTE = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#6A3D9A",
    "#B8860B", "#1B7837", "#B2182B", "#4D4D4D", "#2166AC", "#762A83", "#A6611A", "#01665E",
]


@dataclass(frozen=True)
class Theme(Record):
    id: int
    name: str
    path: str                       # "Theme/Subtheme"
    parent_id: int | None
    parent: str | None              # the parent's path
    depth: int                      # 0 = theme, 1 = subtheme, ...
    kind: str                       # "theme" or "subtheme"
    status: str
    concept: str                    # central organising concept
    definition: str
    colour: str
    position: int
    codes: tuple[str, ...] = ()     # paths of the codes it gathers (itself, not its subthemes)
    code_ids: tuple[int, ...] = ()
    children: tuple[str, ...] = ()  # paths of its subthemes
    key_quotes: int = 0
    memos: int = 0
    created: str = ""


@dataclass(frozen=True)
class KeyQuote(Record):
    id: int
    theme_id: int
    theme: str
    coding_id: int
    note: str
    created: str
    present: bool = True            # False: the coding was removed (uncoded, merged) since


@dataclass
class _Node:
    row: dict[str, Any]
    children: list["_Node"] = field(default_factory=list)


def themes_of(study: "Study") -> "ThemeStore":
    """The study's theme store; prefer ``study.themes`` in new code."""
    return study.themes


def _colour(value: str) -> str:
    from qualcode.store.codes import normalise_colour

    return normalise_colour(value)


class ThemeStore(EntityStore):
    # -- reading -----------------------------------------------------------------------------
    def _rows(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM themes ORDER BY id")

    def _paths(self, rows: list[dict[str, Any]]) -> dict[int, str]:
        by_id = {r["id"]: r for r in rows}
        paths: dict[int, str] = {}

        def path(tid: int) -> str:
            if tid not in paths:
                r = by_id[tid]
                paths[tid] = r["name"] if r["parent_id"] is None else path(r["parent_id"]) + SEP + r["name"]
            return paths[tid]

        for tid in by_id:
            path(tid)
        return paths

    def _links(self) -> dict[int, list[tuple[int, str]]]:
        """theme id -> [(code id, code path)] in assignment order, live codes only."""
        code_paths = self.study.codes._paths()
        out: dict[int, list[tuple[int, str]]] = {}
        for r in self.rows(
            "SELECT tc.theme_id, tc.code_id FROM theme_codes tc "
            "JOIN codes c ON c.id = tc.code_id AND c.guid = tc.code_guid ORDER BY tc.position, tc.id"
        ):
            out.setdefault(r["theme_id"], []).append((r["code_id"], code_paths[r["code_id"]]))
        return out

    def _ordered(self, rows: list[dict[str, Any]]) -> list[_Node]:
        """Top-level nodes, children nested; siblings by position, then name."""
        nodes = {r["id"]: _Node(r) for r in rows}
        roots: list[_Node] = []
        for node in nodes.values():
            parent = node.row["parent_id"]
            (nodes[parent].children if parent in nodes else roots).append(node)

        def key(n: _Node):
            return (n.row["position"], n.row["name"].casefold(), n.row["id"])

        def sort(level: list[_Node]) -> None:
            level.sort(key=key)
            for n in level:
                sort(n.children)

        sort(roots)
        return roots

    def list(self, include_discarded: bool = True, status: str | None = None) -> list[Theme]:
        """Every theme in tree order (a theme, then its subthemes), siblings by position."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        rows = self._rows()
        paths = self._paths(rows)
        links = self._links()
        quotes = dict(self.db.execute(
            "SELECT k.theme_id, count(*) FROM key_quotes k JOIN codings c ON c.id = k.coding_id "
            "AND c.guid = k.coding_guid GROUP BY k.theme_id").fetchall())
        memos = dict(self.db.execute(
            "SELECT target_id, count(*) FROM memos WHERE target_type = 'theme' GROUP BY target_id").fetchall())
        out: list[Theme] = []

        def walk(level: list[_Node], depth: int, hidden: bool) -> None:
            for n in level:
                r = n.row
                gone = hidden or (not include_discarded and r["status"] == "discarded")
                if not gone and (status is None or r["status"] == status):
                    out.append(self._record(r, paths, links, depth, n, quotes, memos))
                walk(n.children, depth + 1, gone)

        walk(self._ordered(rows), 0, False)
        return out

    def _record(self, r, paths, links, depth, node, quotes, memos) -> Theme:
        linked = links.get(r["id"], [])
        return Theme(
            id=r["id"], name=r["name"], path=paths[r["id"]], parent_id=r["parent_id"],
            parent=paths.get(r["parent_id"]) if r["parent_id"] else None, depth=depth,
            kind="theme" if depth == 0 else "subtheme", status=r["status"], concept=r["concept"],
            definition=r["definition"], colour=r["colour"], position=r["position"],
            codes=tuple(p for _, p in linked), code_ids=tuple(i for i, _ in linked),
            children=tuple(paths[c.row["id"]] for c in node.children),
            key_quotes=quotes.get(r["id"], 0), memos=memos.get(r["id"], 0), created=r["created"],
        )

    def by_id(self, theme_id: int) -> Theme:
        for t in self.list():
            if t.id == theme_id:
                return t
        raise NotFound(f"theme {theme_id} does not exist")

    def find(self, ref: str) -> Theme | None:
        ref = str(ref).strip()
        themes = self.list()
        exact = [t for t in themes if t.path.casefold() == ref.casefold()]
        if exact:
            return exact[0]
        named = [t for t in themes if t.name.casefold() == ref.casefold()]
        if len(named) > 1:
            raise InvalidInput(f"theme name {ref!r} is used more than once; give its path: "
                               + ", ".join(repr(t.path) for t in named))
        if named:
            return named[0]
        if ref.lstrip("#").isdigit():
            return next((t for t in themes if t.id == int(ref.lstrip("#"))), None)
        return None

    def get(self, ref: str | int) -> Theme:
        found = self.find(str(ref))
        if found is None:
            raise NotFound(f"unknown theme {ref!r} (see `qualcode themes list`)")
        return found

    def descendants(self, ref: str | int) -> list[Theme]:
        """The theme and all its subthemes (tree order)."""
        theme = self.get(ref)
        prefix = theme.path.casefold() + SEP
        return [t for t in self.list() if t.id == theme.id or t.path.casefold().startswith(prefix)]

    def codes_of(self, ref: str | int, subthemes: bool = True) -> list[tuple[int, str]]:
        """(code id, code path) gathered by the theme (and its subthemes), first use first."""
        themes = self.descendants(ref) if subthemes else [self.get(ref)]
        seen: dict[int, str] = {}
        for t in themes:
            for cid, path in zip(t.code_ids, t.codes):
                seen.setdefault(cid, path)
        return list(seen.items())

    def themes_of_code(self, code: str) -> list[Theme]:
        code_rec = self.study.codes.get(code)
        return [t for t in self.list() if code_rec.id in t.code_ids]

    def key_quotes(self, ref: str | int | None = None, include_missing: bool = False) -> list[KeyQuote]:
        """Key quotes of a theme (not its subthemes), or of every theme."""
        rows = self._rows()
        paths = self._paths(rows)
        where, params = "", []
        if ref is not None:
            where, params = "WHERE k.theme_id = ?", [self.get(ref).id]
        out = []
        for r in self.rows(
            "SELECT k.*, (c.id IS NOT NULL) AS present FROM key_quotes k "
            f"LEFT JOIN codings c ON c.id = k.coding_id AND c.guid = k.coding_guid {where} "
            "ORDER BY k.theme_id, k.id", params,
        ):
            if r["present"] or include_missing:
                out.append(KeyQuote(id=r["id"], theme_id=r["theme_id"], theme=paths[r["theme_id"]],
                                    coding_id=r["coding_id"], note=r["note"], created=r["created"],
                                    present=bool(r["present"])))
        return out

    def key_coding_ids(self) -> dict[int, set[int]]:
        """coding id -> ids of the themes for which it is a key quote (live codings only)."""
        out: dict[int, set[int]] = {}
        for cid, tid in self.db.execute(
            "SELECT k.coding_id, k.theme_id FROM key_quotes k JOIN codings c ON c.id = k.coding_id "
            "AND c.guid = k.coding_guid"
        ).fetchall():
            out.setdefault(cid, set()).add(tid)
        return out

    def memos(self, ref: str | int):
        theme = self.get(ref)
        return [m for m in self.study.memos.list(target_type="theme") if m.target_id == theme.id]

    def history(self, ref: str | int) -> list[dict[str, Any]]:
        """Every change that touched the theme, its codes or its key quotes (newest first)."""
        theme = self.get(ref)
        cur = self.db.execute(
            """SELECT DISTINCT ch.id, ch.coder, ch.command, ch.summary, ch.created, ch.undone_by
               FROM audit a JOIN changes ch ON ch.id = a.change_id
               WHERE (a.table_name = 'themes' AND a.row_id = :id)
                  OR (a.table_name IN ('theme_codes', 'key_quotes')
                      AND :id IN (json_extract(a.before, '$.theme_id'), json_extract(a.after, '$.theme_id')))
                  OR (a.table_name = 'memos' AND 'theme' IN (json_extract(a.before, '$.target_type'),
                      json_extract(a.after, '$.target_type'))
                      AND :id IN (json_extract(a.before, '$.target_id'), json_extract(a.after, '$.target_id')))
               ORDER BY ch.id DESC""", {"id": theme.id})
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def count(self) -> dict[str, int]:
        counts = dict(self.db.execute("SELECT status, count(*) FROM themes GROUP BY status").fetchall())
        top = self.scalar("SELECT count(*) FROM themes WHERE parent_id IS NULL AND status != 'discarded'")
        sub = self.scalar("SELECT count(*) FROM themes WHERE parent_id IS NOT NULL AND status != 'discarded'")
        return {"themes": top, "subthemes": sub, **{s: counts.get(s, 0) for s in STATUSES}}

    # -- writing -----------------------------------------------------------------------------
    def _check_free(self, name: str, parent_id: int | None, except_id: int | None = None) -> None:
        clash = self.row("SELECT id FROM themes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
                         [parent_id or 0, name])
        if clash and clash["id"] != except_id:
            where = f"under {self.by_id(parent_id).path!r}" if parent_id else "at the top level"
            raise Conflict(f"a theme named {name!r} already exists {where}")

    def _clean_name(self, name: str) -> str:
        name = " ".join((name or "").split())
        if not name:
            raise InvalidInput("a theme needs a name")
        if SEP in name:
            raise InvalidInput(f"theme names cannot contain {SEP!r} (it separates a theme from its subthemes)")
        return name

    def _next_position(self, parent_id: int | None) -> int:
        return (self.scalar("SELECT max(position) FROM themes WHERE coalesce(parent_id, 0) = ?",
                            [parent_id or 0]) or 0) + 1

    def add(self, name: str, parent: str | None = None, *, concept: str = "", definition: str = "",
            status: str = "candidate", colour: str | None = None, codes: Iterable[str] = ()) -> Theme:
        """Add a candidate theme (or, with ``parent``, a subtheme); optionally gather ``codes``."""
        if SEP in (name or "") and parent is None:
            parent, _, name = name.rpartition(SEP)
        name = self._clean_name(name)
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        parent_theme = self.get(parent) if parent else None
        parent_id = parent_theme.id if parent_theme else None
        self._check_free(name, parent_id)
        if colour:
            colour = _colour(colour)
        elif parent_theme:
            colour = parent_theme.colour
        else:
            used = self.scalar("SELECT count(*) FROM themes WHERE parent_id IS NULL")
            colour = PALETTE[used % len(PALETTE)]
        code_recs = [self.study.codes.get(c) for c in codes]
        kind = "subtheme" if parent_theme else "theme"
        where = f" under {parent_theme.path}" if parent_theme else ""
        with self.study.change("themes add", f"add {kind} {name}{where}") as ch:
            theme_id = ch.insert("themes", {
                "name": name, "parent_id": parent_id, "status": status, "concept": concept.strip(),
                "definition": definition.strip(), "colour": colour,
                "position": self._next_position(parent_id), "created": now(), "guid": new_guid()})
            for code in code_recs:
                self._link(ch, theme_id, code)
        return self.by_id(theme_id)

    def rename(self, ref: str, new_name: str) -> Theme:
        theme = self.get(ref)
        new_name = self._clean_name(new_name)
        self._check_free(new_name, theme.parent_id, except_id=theme.id)
        with self.study.change("themes rename", f"rename theme {theme.path} to {new_name}") as ch:
            ch.update("themes", theme.id, {"name": new_name})
        return self.by_id(theme.id)

    def define(self, ref: str, *, concept: str | None = None, definition: str | None = None,
               colour: str | None = None) -> Theme:
        """Set the central organising concept, the definition and/or the colour."""
        theme = self.get(ref)
        values: dict[str, Any] = {}
        if concept is not None:
            values["concept"] = concept.strip()
        if definition is not None:
            values["definition"] = definition.strip()
        if colour is not None:
            values["colour"] = _colour(colour)
        if values:
            with self.study.change("themes define", f"define theme {theme.path}") as ch:
                ch.update("themes", theme.id, values)
        return self.by_id(theme.id)

    def set_status(self, ref: str, status: str) -> Theme:
        theme = self.get(ref)
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self.study.change("themes status", f"theme {theme.path}: {theme.status} -> {status}") as ch:
            ch.update("themes", theme.id, {"status": status})
        return self.by_id(theme.id)

    def move(self, ref: str, parent: str | None = None, position: int | None = None) -> Theme:
        """Make the theme a subtheme of ``parent`` (``None``: a top-level theme); optionally reorder.

        ``position`` is 1-based among the new siblings; without it the theme goes last when its
        parent changes and stays where it is otherwise.
        """
        theme = self.get(ref)
        new_parent = self.get(parent) if parent else None
        if new_parent and (new_parent.id == theme.id
                           or new_parent.path.casefold().startswith(theme.path.casefold() + SEP)):
            raise InvalidInput(f"cannot move theme {theme.path!r} under itself")
        parent_id = new_parent.id if new_parent else None
        if position is not None and position < 1:
            raise InvalidInput("positions count from 1")
        self._check_free(theme.name, parent_id, except_id=theme.id)
        where = new_parent.path if new_parent else "the top level"
        if parent_id == theme.parent_id:
            # the same parent: a reorder, logged as one; nothing to do is no change at all
            if position is None:
                return theme
            order = self._new_order(theme.id, parent_id, position)
            current = {r["id"]: r["position"] for r in self.rows(
                "SELECT id, position FROM themes WHERE coalesce(parent_id, 0) = ?", [parent_id or 0])}
            if all(current.get(sid) == i for i, sid in enumerate(order, start=1)):
                return theme
            old = next((i for i, sid in enumerate(self._new_order(theme.id, parent_id, None), start=1)
                        if sid == theme.id), None)
            new = order.index(theme.id) + 1
            with self.study.change("themes reorder", f"reorder theme {theme.path}: position {old} -> {new}"
                                   + (f" under {where}" if new_parent else " at the top level")) as ch:
                self._apply_order(ch, order)
            return self.by_id(theme.id)
        with self.study.change("themes move", f"move theme {theme.path} to {where}"
                               + (f" at position {position}" if position is not None else "")) as ch:
            ch.update("themes", theme.id, {"parent_id": parent_id})
            if position is None:
                ch.update("themes", theme.id, {"position": self._next_position(parent_id)})
            else:
                self._apply_order(ch, self._new_order(theme.id, parent_id, position))
        return self.by_id(theme.id)

    def _new_order(self, theme_id: int, parent_id: int | None, position: int | None) -> list[int]:
        """Sibling ids under ``parent_id`` in order, with the theme at ``position`` (1-based; None:
        where it is now)."""
        rows = self.rows("SELECT id FROM themes WHERE coalesce(parent_id, 0) = ? "
                         "ORDER BY position, name COLLATE NOCASE, id", [parent_id or 0])
        siblings = [r["id"] for r in rows]
        if position is None:
            return siblings
        siblings = [sid for sid in siblings if sid != theme_id]
        siblings.insert(min(position, len(siblings) + 1) - 1, theme_id)
        return siblings

    def _apply_order(self, ch, order: list[int]) -> None:
        current = {r["id"]: r["position"] for r in self.rows(
            f"SELECT id, position FROM themes WHERE id IN ({','.join('?' * len(order))})", order)}
        for i, sid in enumerate(order, start=1):
            if current.get(sid) != i:
                ch.update("themes", sid, {"position": i})

    def _link(self, ch, theme_id: int, code) -> bool:
        guid = self.scalar("SELECT guid FROM codes WHERE id = ?", [code.id])
        if self.row("SELECT id FROM theme_codes WHERE theme_id = ? AND code_guid = ?", [theme_id, guid]):
            return False
        position = (self.scalar("SELECT max(position) FROM theme_codes WHERE theme_id = ?", [theme_id]) or 0) + 1
        ch.insert("theme_codes", {"theme_id": theme_id, "code_id": code.id, "code_guid": guid,
                                  "position": position, "created": now()})
        return True

    def assign(self, ref: str, codes: Iterable[str]) -> dict[str, Any]:
        """Gather codes into the theme (a code may serve several themes)."""
        theme = self.get(ref)
        code_recs = [self.study.codes.get(c) for c in codes]
        if not code_recs:
            raise InvalidInput("name at least one code to assign")
        gathered = set(self._guids_of(theme.id))
        new = list({c.id: c for c in code_recs if self._guid(c) not in gathered}.values())
        already = list(dict.fromkeys(c.path for c in code_recs if self._guid(c) in gathered))
        if new:  # codes already there change nothing: no change is recorded (nothing to undo)
            names = ", ".join(c.path for c in new)
            with self.study.change("themes assign", f"assign {names} to theme {theme.path}") as ch:
                for code in new:
                    self._link(ch, theme.id, code)
        return {"theme": theme.path, "assigned": [c.path for c in new], "already": already}

    def _guid(self, code) -> str:
        return self.scalar("SELECT guid FROM codes WHERE id = ?", [code.id])

    def _guids_of(self, theme_id: int) -> list[str]:
        return [g for (g,) in self.db.execute("SELECT code_guid FROM theme_codes WHERE theme_id = ?",
                                              [theme_id]).fetchall()]

    def unassign(self, ref: str, codes: Iterable[str]) -> dict[str, Any]:
        """Take codes out of the theme; its key quotes that only those codes supported go too."""
        theme = self.get(ref)
        code_recs = [self.study.codes.get(c) for c in codes]
        if not code_recs:
            raise InvalidInput("name at least one code to unassign")
        missing = [c.path for c in code_recs if c.id not in theme.code_ids]
        if missing:
            raise NotFound(f"theme {theme.path!r} does not gather {', '.join(missing)}")
        names = ", ".join(c.path for c in code_recs)
        with self.study.change("themes unassign", f"unassign {names} from theme {theme.path}") as ch:
            for code in code_recs:
                for (link_id,) in self.db.execute(
                        "SELECT tc.id FROM theme_codes tc JOIN codes c ON c.guid = tc.code_guid "
                        "WHERE tc.theme_id = ? AND c.id = ?", [theme.id, code.id]).fetchall():
                    ch.delete("theme_codes", link_id)
            dropped = self._drop_unsupported_quotes(ch, [theme.id])
        return {"theme": theme.path, "unassigned": [c.path for c in code_recs], "key_quotes_dropped": dropped}

    def move_codes(self, codes: Iterable[str], source: str, target: str) -> dict[str, Any]:
        """Move codes from one theme to another as one change (one undo): the target gathers
        them, the source's key quotes of those codes go with them, the source lets them go."""
        src, dst = self.get(source), self.get(target)
        if src.id == dst.id:
            raise InvalidInput(f"the codes are already in theme {src.path!r}")
        recs = [self.study.codes.get(c) for c in codes]
        if not recs:
            raise InvalidInput("name at least one code to move")
        missing = [c.path for c in recs if c.id not in src.code_ids]
        if missing:
            raise NotFound(f"theme {src.path!r} does not gather {', '.join(missing)}")
        moving = {c.id for c in recs}
        paths = [c.path for c in recs]
        carried = 0
        with self.study.change("themes move codes", f"move {', '.join(paths)} from theme {src.path} "
                               f"to {dst.path}"):
            self.assign(dst.path, paths)
            for q in self.key_quotes(src.path):
                if self.study.codings.get(q.coding_id).code_id in moving:
                    self.quote(q.coding_id, dst.path, note=q.note)
                    self.quote(q.coding_id, src.path, unflag=True)
                    carried += 1
            self.unassign(src.path, paths)
        return {"source": src.path, "target": dst.path, "codes": paths, "key_quotes_moved": carried}

    def _supported_codes(self, theme_id: int) -> set[int]:
        return {cid for cid, _ in self.codes_of(theme_id, subthemes=True)}

    def _drop_unsupported_quotes(self, ch, theme_ids: Iterable[int]) -> int:
        dropped = 0
        for tid in theme_ids:
            supported = self._supported_codes(tid)
            for r in self.rows(
                "SELECT k.id, c.code_id FROM key_quotes k JOIN codings c ON c.id = k.coding_id "
                "AND c.guid = k.coding_guid WHERE k.theme_id = ?", [tid]):
                if r["code_id"] not in supported:
                    ch.delete("key_quotes", r["id"])
                    dropped += 1
        return dropped

    def quote(self, coding_id: int, theme: str | None = None, *, unflag: bool = False,
              note: str = "") -> dict[str, Any]:
        """Flag (or unflag) a coding as a key quote of a theme.

        Without ``theme``: the one theme whose codes (with its subthemes') include the coding's
        code; asks for ``theme`` when there are several. Flagging checks that the theme gathers
        the coding's code, so a key quote always illustrates its theme.
        """
        coding = self.study.codings.get(int(coding_id))
        if theme is not None:
            target = self.get(theme)
        else:
            candidates = [t for t in self.list() if coding.code_id in t.code_ids]
            if unflag:
                flagged = {q.theme_id for q in self.key_quotes() if q.coding_id == coding.id}
                candidates = [t for t in self.list() if t.id in flagged]
            if not candidates:
                raise NotFound(f"no theme gathers code {coding.code!r} of coding {coding.id}; "
                               "assign the code to a theme first (qualcode themes assign)")
            if len(candidates) > 1:
                raise InvalidInput(f"coding {coding.id} ({coding.code}) serves several themes: "
                                   + ", ".join(t.path for t in candidates) + "; say which with --theme")
            target = candidates[0]
        guid = self.scalar("SELECT guid FROM codings WHERE id = ?", [coding.id])
        existing = self.row("SELECT id FROM key_quotes WHERE theme_id = ? AND coding_guid = ?", [target.id, guid])
        if unflag:
            if not existing:
                raise NotFound(f"coding {coding.id} is not a key quote of theme {target.path!r}")
            with self.study.change("themes quote", f"unflag key quote {coding.id} of theme {target.path}") as ch:
                ch.delete("key_quotes", existing["id"])
            return {"theme": target.path, "coding": coding.id, "key": False}
        if coding.code_id not in self._supported_codes(target.id):
            raise InvalidInput(f"theme {target.path!r} does not gather code {coding.code!r} of coding "
                               f"{coding.id}; assign it first")
        with self.study.change("themes quote", f"flag coding {coding.id} as key quote of theme {target.path}") as ch:
            if existing:
                ch.update("key_quotes", existing["id"], {"note": note.strip()})
            else:
                ch.insert("key_quotes", {"theme_id": target.id, "coding_id": coding.id, "coding_guid": guid,
                                         "note": note.strip(), "created": now()})
        return {"theme": target.path, "coding": coding.id, "key": True}

    def memo(self, ref: str, body: str, coder: str | None = None, title: str = ""):
        """Add a memo on the theme (an ordinary memo with target type ``theme``)."""
        theme = self.get(ref)
        body = body.strip()
        if not body:
            raise InvalidInput("a memo needs some text")
        coder_rec = self.study.coders.resolve(coder)
        stamp = now()
        with self.study.change("memo add", f"memo on theme {theme.path}", coder_rec.name) as ch:
            memo_id = ch.insert("memos", {
                "target_type": "theme", "target_id": theme.id, "document_id": None, "start": None,
                "end": None, "coder_id": coder_rec.id, "title": title.strip(), "body": body,
                "created": stamp, "updated": stamp, "guid": new_guid()})
        return self.study.memos.get(memo_id)

    def merge(self, source: str, target: str) -> dict[str, Any]:
        """Fold ``source`` into ``target``: its codes, key quotes, subthemes and memos; then delete it.

        The source's definition and concept are kept in a memo on the target when they differ.
        """
        src, dst = self.get(source), self.get(target)
        if src.id == dst.id:
            raise InvalidInput("cannot merge a theme into itself")
        if dst.path.casefold().startswith(src.path.casefold() + SEP):
            raise InvalidInput(f"cannot merge theme {src.path!r} into its own subtheme {dst.path!r}")
        moved = {"codes": 0, "key_quotes": 0, "subthemes": 0, "memos": 0}
        with self.study.change("themes merge", f"merge theme {src.path} into {dst.path}") as ch:
            for link in self.rows("SELECT * FROM theme_codes WHERE theme_id = ? ORDER BY position, id", [src.id]):
                ch.delete("theme_codes", link["id"])
                if not self.row("SELECT id FROM theme_codes WHERE theme_id = ? AND code_guid = ?",
                                [dst.id, link["code_guid"]]):
                    position = (self.scalar("SELECT max(position) FROM theme_codes WHERE theme_id = ?",
                                            [dst.id]) or 0) + 1
                    ch.insert("theme_codes", {"theme_id": dst.id, "code_id": link["code_id"],
                                              "code_guid": link["code_guid"], "position": position,
                                              "created": link["created"]})
                    moved["codes"] += 1
            for q in self.rows("SELECT * FROM key_quotes WHERE theme_id = ? ORDER BY id", [src.id]):
                ch.delete("key_quotes", q["id"])
                if not self.row("SELECT id FROM key_quotes WHERE theme_id = ? AND coding_guid = ?",
                                [dst.id, q["coding_guid"]]):
                    ch.insert("key_quotes", {k: q[k] for k in ("coding_id", "coding_guid", "note", "created")}
                              | {"theme_id": dst.id})
                    moved["key_quotes"] += 1
            for child in self.rows("SELECT id, name FROM themes WHERE parent_id = ? ORDER BY position, id", [src.id]):
                self._check_free(child["name"], dst.id)
                ch.update("themes", child["id"], {"parent_id": dst.id,
                                                  "position": self._next_position(dst.id)})
                moved["subthemes"] += 1
            for (memo_id,) in self.db.execute(
                    "SELECT id FROM memos WHERE target_type = 'theme' AND target_id = ?", [src.id]).fetchall():
                ch.update("memos", memo_id, {"target_id": dst.id})
                moved["memos"] += 1
            kept = [f"{label}: {value}" for label, value in (("Central organising concept", src.concept),
                                                             ("Definition", src.definition))
                    if value and value not in (dst.concept, dst.definition)]
            if kept:
                coder_id = self.scalar("SELECT id FROM coders WHERE kind = 'coder' ORDER BY id LIMIT 1")
                stamp = now()
                ch.insert("memos", {
                    "target_type": "theme", "target_id": dst.id, "document_id": None, "start": None,
                    "end": None, "coder_id": coder_id, "title": f"Merged from {src.name}",
                    "body": "\n".join(kept), "created": stamp, "updated": stamp, "guid": new_guid()})
            ch.delete("themes", src.id)
        return {"source": src.path, "target": self.by_id(dst.id).path, **moved}

    def split(self, ref: str, new_name: str, codes: Iterable[str], *, parent: str | None = None,
              as_subtheme: bool = False) -> dict[str, Any]:
        """Move ``codes`` out of a theme into a new candidate theme (with their key quotes).

        The new theme is a sibling of the old one, a subtheme of it with ``as_subtheme``, or
        under ``parent``.
        """
        theme = self.get(ref)
        code_recs = [self.study.codes.get(c) for c in codes]
        if not code_recs:
            raise InvalidInput("name the codes that go to the new theme (--code, repeatable)")
        missing = [c.path for c in code_recs if c.id not in theme.code_ids]
        if missing:
            raise NotFound(f"theme {theme.path!r} does not gather {', '.join(missing)}")
        if as_subtheme and parent:
            raise InvalidInput("give --parent or --subtheme, not both")
        new_parent = theme.path if as_subtheme else parent if parent else theme.parent
        moving = {c.id for c in code_recs}
        with self.study.change("themes split", f"split {new_name} from theme {theme.path}") as ch:
            created = self.add(new_name, parent=new_parent, status="candidate", colour=None)
            for code in code_recs:
                for (link_id,) in self.db.execute(
                        "SELECT tc.id FROM theme_codes tc JOIN codes c ON c.guid = tc.code_guid "
                        "WHERE tc.theme_id = ? AND c.id = ?", [theme.id, code.id]).fetchall():
                    ch.delete("theme_codes", link_id)
                self._link(ch, created.id, code)
            quotes_moved = 0
            for q in self.rows(
                    "SELECT k.*, c.code_id FROM key_quotes k JOIN codings c ON c.id = k.coding_id "
                    "AND c.guid = k.coding_guid WHERE k.theme_id = ? ORDER BY k.id", [theme.id]):
                if q["code_id"] in moving and not as_subtheme:
                    ch.delete("key_quotes", q["id"])
                    ch.insert("key_quotes", {k: q[k] for k in ("coding_id", "coding_guid", "note", "created")}
                              | {"theme_id": created.id})
                    quotes_moved += 1
        return {"source": theme.path, "new": self.by_id(created.id).path,
                "codes": [c.path for c in code_recs], "key_quotes_moved": quotes_moved}

    def delete(self, ref: str) -> Theme:
        """Delete a theme with no subthemes (its code links, key quotes and memos go with it).

        Discarding (``set_status(..., 'discarded')``) keeps the theme in the record; delete is for
        mistakes. Both are undoable.
        """
        theme = self.get(ref)
        if theme.children:
            raise Conflict(f"theme {theme.path!r} has subthemes; move, merge or delete them first")
        with self.study.change("themes delete", f"delete theme {theme.path}") as ch:
            for table, column in (("theme_codes", "theme_id"), ("key_quotes", "theme_id")):
                for (row_id,) in self.db.execute(f"SELECT id FROM {table} WHERE {column} = ?", [theme.id]).fetchall():
                    ch.delete(table, row_id)
            for (memo_id,) in self.db.execute(
                    "SELECT id FROM memos WHERE target_type = 'theme' AND target_id = ?", [theme.id]).fetchall():
                ch.delete("memos", memo_id)
            ch.delete("themes", theme.id)
        return theme

    def snapshot(self) -> str:
        """The whole theme structure as canonical JSON (for tests and change detection)."""
        return json.dumps([t.as_dict() for t in self.list()], sort_keys=True, ensure_ascii=False)
