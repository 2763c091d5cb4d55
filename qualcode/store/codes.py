"""The codebook: a tree of codes with definitions (description, include/exclude, example).

Codes are named by name, or by path (``Peer support/Feeling understood``) when a name is used
under more than one parent. Merging moves codings (merging overlaps); deleting refuses while
codings or child codes remain, unless told where the codings go.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qualcode.csvfile import read_rows
from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.records import Code
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# A palette that stays readable on dark and light terminals (Tableau 20, reordered).
PALETTE = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC", "#A0CBE8", "#FFBE7D", "#8CD17D", "#B6992D", "#F1CE63", "#86BCB6",
    "#D37295", "#FABFD2", "#D4A6C8", "#79706E",
]
DEFINITION_FIELDS = ("description", "include_when", "exclude_when", "example", "colour", "status")
SEP = "/"


def normalise_colour(value: str) -> str:
    value = value.strip()
    if re.fullmatch(r"#[0-9A-Fa-f]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if not COLOUR.match(value):
        raise InvalidInput(f"colour must look like #RRGGBB, not {value!r}")
    return value.upper()


class CodeStore(EntityStore):
    def _all(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM codes ORDER BY id")

    def _paths(self, rows: list[dict[str, Any]] | None = None) -> dict[int, str]:
        rows = rows if rows is not None else self._all()
        by_id = {r["id"]: r for r in rows}
        paths: dict[int, str] = {}

        def path(cid: int) -> str:
            if cid not in paths:
                r = by_id[cid]
                paths[cid] = r["name"] if r["parent_id"] is None else path(r["parent_id"]) + SEP + r["name"]
            return paths[cid]

        for cid in by_id:
            path(cid)
        return paths

    def _record(self, r: dict[str, Any], paths: dict[int, str]) -> Code:
        return Code(
            id=r["id"], name=r["name"], path=paths[r["id"]], parent_id=r["parent_id"],
            colour=r["colour"], description=r["description"], include_when=r["include_when"],
            exclude_when=r["exclude_when"], example=r["example"], status=r["status"],
        )

    def list(self) -> list[Code]:
        """All codes in tree order (parents before children, siblings by name)."""
        rows = self._all()
        paths = self._paths(rows)
        return sorted((self._record(r, paths) for r in rows), key=lambda c: c.path.casefold().split(SEP))

    def by_id(self, code_id: int) -> Code:
        rows = self._all()
        for r in rows:
            if r["id"] == code_id:
                return self._record(r, self._paths(rows))
        raise NotFound(f"code {code_id} does not exist")

    def find(self, ref: str) -> Code | None:
        ref = ref.strip()
        codes = self.list()
        exact = [c for c in codes if c.path.casefold() == ref.casefold()]
        if exact:
            return exact[0]
        named = [c for c in codes if c.name.casefold() == ref.casefold()]
        if len(named) > 1:
            raise InvalidInput(
                f"code name {ref!r} is used more than once; give its path: "
                + ", ".join(repr(c.path) for c in named)
            )
        return named[0] if named else None

    def get(self, ref: str) -> Code:
        found = self.find(ref)
        if found is None:
            raise NotFound(f"unknown code {ref!r} (see `qualcode codes list`)")
        return found

    def counts(self) -> dict[int, dict[str, Any]]:
        """Per code: codings, documents and participants, overall and per coder."""
        out: dict[int, dict[str, Any]] = {}
        for r in self.rows(
            "SELECT c.code_id, k.name AS coder, count(*) AS codings, count(DISTINCT c.document_id) AS documents "
            "FROM codings c JOIN coders k ON k.id = c.coder_id GROUP BY c.code_id, c.coder_id"
        ):
            entry = out.setdefault(r["code_id"], {"codings": 0, "documents": 0, "participants": 0, "by_coder": {}})
            entry["codings"] += r["codings"]
            entry["by_coder"][r["coder"]] = {"codings": r["codings"], "documents": r["documents"]}
        for r in self.rows(
            "SELECT code_id, count(DISTINCT document_id) AS documents FROM codings GROUP BY code_id"
        ):
            out[r["code_id"]]["documents"] = r["documents"]
        for r in self.rows(
            """SELECT c.code_id, k.name AS coder, count(DISTINCT t.participant_id) AS participants
               FROM codings c JOIN coders k ON k.id = c.coder_id JOIN turns t ON t.id = (
                   SELECT id FROM turns WHERE document_id = c.document_id AND start <= c.start
                   ORDER BY start DESC LIMIT 1)
               WHERE t.participant_id IS NOT NULL GROUP BY c.code_id, c.coder_id"""
        ):
            out[r["code_id"]]["by_coder"][r["coder"]]["participants"] = r["participants"]
        for r in self.rows(
            """SELECT c.code_id, count(DISTINCT t.participant_id) AS participants
               FROM codings c JOIN turns t ON t.id = (
                   SELECT id FROM turns WHERE document_id = c.document_id AND start <= c.start
                   ORDER BY start DESC LIMIT 1)
               WHERE t.participant_id IS NOT NULL GROUP BY c.code_id"""
        ):
            out[r["code_id"]]["participants"] = r["participants"]
        for entry in out.values():
            for per_coder in entry["by_coder"].values():
                per_coder.setdefault("participants", 0)
        return out

    # -- writing -----------------------------------------------------------------------------
    def add(self, name: str, parent: str | None = None, colour: str | None = None, **definition: str) -> Code:
        name = name.strip()
        if not name:
            raise InvalidInput("a code needs a name")
        if SEP in name:
            if parent is not None:
                raise InvalidInput(f"code names cannot contain {SEP!r} ({SEP} separates a path)")
            parent_path, _, name = name.rpartition(SEP)
            name = name.strip()
            if self.find(parent_path) is None:
                raise NotFound(f"parent code {parent_path!r} does not exist; add it first")
            parent = parent_path
        if not name:
            raise InvalidInput("a code needs a name")
        _check_characters(name)
        parent_id = self.get(parent).id if parent else None
        self._check_free(name, parent_id)
        unknown = set(definition) - set(DEFINITION_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown code field: {', '.join(sorted(unknown))}")
        used = self.scalar("SELECT count(*) FROM codes")
        row = {
            "name": name, "parent_id": parent_id,
            "colour": normalise_colour(colour) if colour else PALETTE[used % len(PALETTE)],
            "created": now(), "guid": new_guid(),
            **{k: (v or "").strip() for k, v in definition.items() if k != "colour"},
        }
        with self.study.change("codes add", f"add code {name}") as ch:
            code_id = ch.insert("codes", row)
        return self.by_id(code_id)

    def _check_free(self, name: str, parent_id: int | None, except_id: int | None = None) -> None:
        clash = self.row(
            "SELECT id FROM codes WHERE coalesce(parent_id, 0) = ? AND name = ? COLLATE NOCASE",
            [parent_id or 0, name],
        )
        if clash and clash["id"] != except_id:
            where = f"under {self.by_id(parent_id).path!r}" if parent_id else "at the top level"
            raise Conflict(f"a code named {name!r} already exists {where}")

    def rename(self, ref: str, new_name: str) -> Code:
        code = self.get(ref)
        new_name = new_name.strip()
        if not new_name or SEP in new_name:
            raise InvalidInput(f"a code name cannot be empty or contain {SEP!r}")
        _check_characters(new_name)
        self._check_free(new_name, code.parent_id, except_id=code.id)
        with self.study.change("codes rename", f"rename code {code.path} to {new_name}") as ch:
            ch.update("codes", code.id, {"name": new_name})
        return self.by_id(code.id)

    def move(self, ref: str, parent: str | None) -> Code:
        code = self.get(ref)
        parent_code = self.get(parent) if parent else None
        if parent_code is not None:
            if parent_code.id == code.id or parent_code.path.casefold().startswith(code.path.casefold() + SEP):
                raise InvalidInput(f"cannot move {code.path!r} under itself")
        parent_id = parent_code.id if parent_code else None
        self._check_free(code.name, parent_id, except_id=code.id)
        where = parent_code.path if parent_code else "the top level"
        with self.study.change("codes move", f"move code {code.path} to {where}") as ch:
            ch.update("codes", code.id, {"parent_id": parent_id})
        return self.by_id(code.id)

    def describe(self, ref: str, **fields: str | None) -> Code:
        code = self.get(ref)
        values = {k: v for k, v in fields.items() if v is not None}
        unknown = set(values) - set(DEFINITION_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown code field: {', '.join(sorted(unknown))}")
        if "colour" in values:
            values["colour"] = normalise_colour(values["colour"])
        if not values:
            return code
        with self.study.change("codes describe", f"describe code {code.path}") as ch:
            ch.update("codes", code.id, values)
        return self.by_id(code.id)

    def merge(self, source: str, target: str) -> dict[str, int]:
        """Move ``source``'s codings and children into ``target`` and delete ``source``."""
        src, dst = self.get(source), self.get(target)
        if src.id == dst.id:
            raise InvalidInput("cannot merge a code into itself")
        if dst.path.casefold().startswith(src.path.casefold() + SEP):
            raise InvalidInput(f"cannot merge {src.path!r} into its own child {dst.path!r}")
        with self.study.change("codes merge", f"merge code {src.path} into {dst.path}") as ch:
            moved = self.study.codings.move_code(ch, src.id, dst.id)
            children = self.rows("SELECT id, name FROM codes WHERE parent_id = ?", [src.id])
            for child in children:
                self._check_free(child["name"], dst.id)
                ch.update("codes", child["id"], {"parent_id": dst.id})
            ch.delete("codes", src.id)
        return {"codings_moved": moved, "children_moved": len(children)}

    def delete(self, ref: str, codings: str | None = None, move_to: str | None = None) -> dict[str, int]:
        """Delete a code. With codings attached, ``codings='delete'`` or ``move_to=CODE`` is required."""
        code = self.get(ref)
        if self.scalar("SELECT count(*) FROM codes WHERE parent_id = ?", [code.id]):
            raise Conflict(f"code {code.path!r} has child codes; move or delete them first")
        attached = self.scalar("SELECT count(*) FROM codings WHERE code_id = ?", [code.id])
        if attached and move_to:
            result = self.merge(code.path, move_to)
            return {"codings_deleted": 0, "codings_moved": result["codings_moved"]}
        if attached and codings != "delete":
            raise Conflict(
                f"code {code.path!r} has {attached} coding(s); say --codings delete "
                "or --move-to CODE (nothing was changed)"
            )
        with self.study.change("codes delete", f"delete code {code.path}") as ch:
            for (coding_id,) in self.db.execute("SELECT id FROM codings WHERE code_id = ?", [code.id]).fetchall():
                ch.delete("codings", coding_id)
            ch.delete("codes", code.id)
        return {"codings_deleted": attached, "codings_moved": 0}

    def import_csv(self, path: str | Path) -> dict[str, int]:
        """Add (or update the definitions of) codes from CSV: code/name, colour, description, ..."""
        path = Path(path)
        rows = read_rows(path)
        aliases = {"code": "path", "name": "path", "path": "path", "colour": "colour", "color": "colour",
                   "description": "description", "include": "include_when", "include_when": "include_when",
                   "exclude": "exclude_when", "exclude_when": "exclude_when", "example": "example"}
        added = updated = 0
        with self.study.change("codes import", f"import codebook {path.name}"):
            for i, raw in enumerate(rows, start=2):
                row = {aliases[k.strip().lower()]: (v or "").strip() for k, v in raw.items()
                       if k and k.strip().lower() in aliases}
                code_path = row.pop("path", "")
                if not code_path:
                    raise InvalidInput(f"{path.name} row {i}: no code name")
                existing = self.find(code_path)
                try:
                    if existing:
                        self.describe(existing.path, **{k: v for k, v in row.items() if v})
                        updated += 1
                    else:
                        parent, _, leaf = code_path.rpartition(SEP)
                        self.add(leaf, parent=parent or None, colour=row.pop("colour", None) or None, **row)
                        added += 1
                except (InvalidInput, NotFound, Conflict) as exc:
                    raise InvalidInput(f"{path.name} row {i}: {exc}") from None
        return {"added": added, "updated": updated}


def _check_characters(name: str) -> None:
    """A code name is one line: a tab or line break would break every table and export."""
    if any(ch < " " or ch == "\x7f" for ch in name):
        raise InvalidInput(f"a code name cannot contain tabs, line breaks or control characters: {name!r}")
