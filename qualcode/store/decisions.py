"""Double-coding records: document assignments, agreement rounds and reconciliation decisions.

The SQL for the tables of migration ``0002_reconciliation``. Writes go through the study's
audited changes (``ch.insert``), so ``qualcode undo`` reverts an assignment, a saved round or a
decision together with the consensus codings it created. The workflow on top of these records
lives in ``qualcode.agreement.reconcile``.

The store is attached lazily with :func:`decisions` (``decisions(study).rounds()``); it could be
wired as ``study.decisions`` by ``Study``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from qualcode.errors import NotFound
from qualcode.store.base import EntityStore
from qualcode.store.changes import now

if TYPE_CHECKING:
    from qualcode.store.changes import Change
    from qualcode.study import Study


def decisions(study: "Study") -> "DecisionStore":
    """The study's decision store (``study.decisions``)."""
    return study.decisions


class DecisionStore(EntityStore):
    # -- assignments -------------------------------------------------------------------------
    def assigned(self, coder_id: int) -> set[int]:
        return {r[0] for r in self.db.execute(
            "SELECT document_id FROM assignments WHERE coder_id = ?", [coder_id]).fetchall()}

    def add_assignment(self, ch: "Change", coder_id: int, document_id: int, sample: str,
                       seed: int, by: str) -> int:
        return ch.insert("assignments", {"coder_id": coder_id, "document_id": document_id,
                                         "sample": sample, "seed": seed, "created": now(),
                                         "created_by": by})

    def assignments(self, coder_id: int | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT a.id, k.name AS coder, d.name AS document, a.sample, a.seed, a.created, "
               "a.created_by FROM assignments a JOIN coders k ON k.id = a.coder_id "
               "JOIN documents d ON d.id = a.document_id")
        params: list[Any] = []
        if coder_id is not None:
            sql += " WHERE a.coder_id = ?"
            params.append(coder_id)
        return self.rows(sql + " ORDER BY k.name, d.name", params)

    # -- agreement rounds ----------------------------------------------------------------------
    def current_round(self) -> int:
        """The latest saved round; decisions made now belong to it (1 before any is saved)."""
        return int(self.scalar("SELECT max(round) FROM agreement_rounds") or 1)

    def next_round(self) -> int:
        return int(self.scalar("SELECT max(round) FROM agreement_rounds") or 0) + 1

    def add_round(self, ch: "Change", round_no: int, coders: list[str], unit: str,
                  headline: str, figures: dict[str, Any], by: str) -> int:
        return ch.insert("agreement_rounds", {
            "round": round_no, "coders": json.dumps(coders, ensure_ascii=False), "unit": unit,
            "headline": headline, "figures": json.dumps(figures, ensure_ascii=False),
            "created": now(), "created_by": by})

    def rounds(self, figures: bool = False) -> list[dict[str, Any]]:
        cols = "id, round, coders, unit, headline, created, created_by" + (", figures" if figures else "")
        out = []
        for r in self.rows(f"SELECT {cols} FROM agreement_rounds ORDER BY round, id"):
            r["coders"] = json.loads(r["coders"])
            if figures:
                r["figures"] = json.loads(r["figures"])
            r["decisions"] = int(self.scalar(
                "SELECT count(*) FROM reconciliation_decisions WHERE round = ?", [r["round"]]))
            out.append(r)
        return out

    def get_round(self, round_no: int) -> list[dict[str, Any]]:
        found = [r for r in self.rounds(figures=True) if r["round"] == round_no]
        if not found:
            raise NotFound(f"no agreement round {round_no} saved (see `qualcode agreement rounds`)")
        return found

    # -- decisions -----------------------------------------------------------------------------
    _DECISION = ("SELECT r.id, r.disagreement, r.round, r.document_id, r.document, r.code_id, "
                 "r.code, r.coders, r.spans, r.decision, r.result, r.rationale, "
                 "k.name AS decided_by, r.adjudicated, r.unit, r.created "
                 "FROM reconciliation_decisions r JOIN coders k ON k.id = r.decided_by")

    @staticmethod
    def _decoded(r: dict[str, Any]) -> dict[str, Any]:
        r["coders"] = json.loads(r["coders"])
        r["spans"] = {k: [tuple(s) for s in v] for k, v in json.loads(r["spans"]).items()}
        r["result"] = [tuple(s) for s in json.loads(r["result"])]
        r["adjudicated"] = bool(r["adjudicated"])
        return r

    def add_decision(self, ch: "Change", row: dict[str, Any]) -> int:
        row = dict(row)
        row["coders"] = json.dumps(row["coders"], ensure_ascii=False)
        row["spans"] = json.dumps({k: [list(s) for s in v] for k, v in row["spans"].items()},
                                  ensure_ascii=False)
        row["result"] = json.dumps([list(s) for s in row["result"]])
        row["adjudicated"] = int(bool(row.get("adjudicated")))
        row.setdefault("created", now())
        return ch.insert("reconciliation_decisions", row)

    def decision(self, decision_id: int) -> dict[str, Any]:
        r = self.row(self._DECISION + " WHERE r.id = ?", [decision_id])
        if r is None:
            raise NotFound(f"decision {decision_id} does not exist")
        return self._decoded(r)

    def decided(self, disagreement_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Decisions by disagreement id (all, or those of the given ids)."""
        sql, params = self._DECISION, []
        if disagreement_ids is not None:
            if not disagreement_ids:
                return {}
            sql += f" WHERE r.disagreement IN ({', '.join('?' for _ in disagreement_ids)})"
            params = list(disagreement_ids)
        return {r["disagreement"]: self._decoded(r) for r in self.rows(sql + " ORDER BY r.id", params)}

    def log(self, round_no: int | None = None, document_id: int | None = None,
            code_id: int | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        for column, value in (("r.round", round_no), ("r.document_id", document_id),
                              ("r.code_id", code_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = self._DECISION + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY r.id"
        return [self._decoded(r) for r in self.rows(sql, params)]
