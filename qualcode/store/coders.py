"""Coders: the named people whose codings, memos and decisions are kept apart."""

from __future__ import annotations

import os

from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.records import Coder
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

CONSENSUS = "consensus"


class CoderStore(EntityStore):
    def list(self) -> list[Coder]:
        return [Coder(**r) for r in self.rows("SELECT id, name, kind FROM coders ORDER BY id")]

    def find(self, name: str) -> Coder | None:
        r = self.row("SELECT id, name, kind FROM coders WHERE name = ?", [name.strip()])
        return Coder(**r) if r else None

    def get(self, name: str) -> Coder:
        found = self.find(name)
        if found is None:
            known = ", ".join(c.name for c in self.list()) or "none yet"
            raise NotFound(
                f"unknown coder {name!r} (known: {known}); add one with `qualcode coders add`"
            )
        return found

    def add(self, name: str, kind: str = "coder") -> Coder:
        name = name.strip()
        if not name:
            raise InvalidInput("a coder needs a name")
        if any(ch < " " for ch in name):
            raise InvalidInput("a coder's name cannot contain tabs, line breaks or control characters")
        if name.lower() == CONSENSUS and kind != "consensus":
            raise InvalidInput(f"{name!r} is reserved for reconciled codings; choose another coder name")
        if self.find(name):
            raise Conflict(f"coder {name!r} already exists")
        with self.study.change("coders add", f"add coder {name}") as ch:
            ch.insert("coders", {"name": name, "kind": kind, "created": now(), "guid": new_guid()})
        return self.get(name)

    def rename(self, old: str, new: str) -> Coder:
        """Rename a coder everywhere the study names them: the coder, the history's "who"
        (``changes.coder``) and the coder's own row in the audit log, so that the old name leaves
        the file (freed space is zeroed and the WAL checkpointed). One change without row images:
        it is not undone by ``undo`` (rename back instead)."""
        import json

        coder = self.get(old)
        new = new.strip()
        if not new:
            raise InvalidInput("a coder needs a name")
        if any(ch < " " for ch in new):
            raise InvalidInput("a coder's name cannot contain tabs, line breaks or control characters")
        if coder.kind == "consensus" or new.lower() == CONSENSUS:
            raise InvalidInput(f"{CONSENSUS!r} is reserved for reconciled codings")
        other = self.find(new)
        if other is not None and other.id != coder.id:
            raise Conflict(f"coder {new!r} already exists")
        if new == coder.name:
            return coder
        self.db.execute("PRAGMA secure_delete = ON")
        with self.study.change("coders rename", f"renamed coder {coder.id} to {new}"):
            self.db.execute("UPDATE coders SET name = ? WHERE id = ?", [new, coder.id])
            self.db.execute("UPDATE changes SET coder = ? WHERE coder = ? COLLATE NOCASE", [new, coder.name])
            for rid, before, after in self.db.execute(
                    "SELECT id, before, after FROM audit WHERE table_name = 'coders' AND row_id = ?",
                    [coder.id]).fetchall():
                images = []
                for raw in (before, after):
                    data = json.loads(raw) if raw else None
                    if isinstance(data, dict) and isinstance(data.get("name"), str) \
                            and data["name"].lower() == coder.name.lower():
                        data["name"] = new
                    images.append(json.dumps(data, ensure_ascii=False) if data is not None else None)
                self.db.execute("UPDATE audit SET before = ?, after = ? WHERE id = ?", [*images, rid])
            if self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'anonymisation'").fetchone():
                from qualcode.store.anonymise import rename_reviewer

                rename_reviewer(self.db, coder.name, new)
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.get(new)

    def consensus(self) -> Coder:
        """The coder that holds reconciled codings; created on first use."""
        found = self.find(CONSENSUS)
        if found is not None and found.kind != "consensus":
            raise Conflict(f"the coder named {found.name!r} is a person (made by an older qualcode), so "
                           "reconciled codings have nowhere to go; rename that coder first")
        return found or self.add(CONSENSUS, kind="consensus")

    def resolve(self, name: str | None) -> Coder:
        """The acting coder: the name given, else $QUALCODE_CODER, else the study's only coder."""
        name = name or os.environ.get("QUALCODE_CODER")
        if name:
            return self.get(name)
        coders = [c for c in self.list() if c.kind == "coder"]
        if len(coders) == 1:
            return coders[0]
        if not coders:
            raise InvalidInput("this study has no coders yet; add one with `qualcode coders add`")
        raise InvalidInput(
            "say who is coding with --coder NAME (coders: "
            + ", ".join(c.name for c in coders)
            + ")"
        )
