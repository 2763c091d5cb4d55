"""Shared plumbing for the per-entity stores."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qualcode.study import Study


def new_guid() -> str:
    return str(uuid.uuid4())


class EntityStore:
    def __init__(self, study: "Study") -> None:
        self.study = study
        self.db = study.db

    def rows(self, sql: str, params: list[Any] | tuple = ()) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, list(params))
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def row(self, sql: str, params: list[Any] | tuple = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: list[Any] | tuple = ()) -> Any:
        row = self.db.execute(sql, list(params)).fetchone()
        return row[0] if row else None
