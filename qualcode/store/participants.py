"""Participants: labels (P1, PTV3, S5), groups and typed attributes.

Attribute types are declared study-wide in ``variables`` (text, integer, float, boolean, date)
so exports and REFI-QDA Variables stay typed. A derived band (years of experience -> new /
experienced / highly experienced) is a variable computed from another one whenever it changes.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from qualcode.csvfile import read_rows
from qualcode.errors import Conflict, InvalidInput, NotFound
from qualcode.records import Participant
from qualcode.store.base import EntityStore, new_guid
from qualcode.store.changes import now

LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,31}$")
TYPES = ("text", "integer", "float", "boolean", "date")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
RESERVED = {"label", "group", "name"}


def label_prefix(label: str) -> str:
    """``PTV3`` -> ``PTV``: the default group of a label when none is given."""
    match = re.match(r"[A-Za-z]+", label)
    return match.group(0).upper() if match else label


def infer_type(values: Iterable[str]) -> str:
    present = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not present:
        return "text"
    if any(re.match(r"[+-]?0\d", v) for v in present):
        return "text"  # 007, 0123: an identifier whose leading zeros must survive
    if all(re.fullmatch(r"[+-]?\d+", v) for v in present):
        return "integer"
    if all(_is_float(v) for v in present):
        return "float"
    if all(v.lower() in _TRUE | _FALSE for v in present) and any(v.isalpha() for v in present):
        return "boolean"
    if all(_is_date(v) for v in present):
        return "date"
    return "text"


def _is_float(v: str) -> bool:
    try:
        return math.isfinite(float(v))
    except ValueError:
        return False


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
        return True
    except ValueError:
        return False


def convert(value: Any, type_: str, name: str) -> Any:
    """Turn a user-typed string into the variable's type, or explain why it cannot be."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    text = str(value).strip()
    try:
        if type_ == "integer":
            return int(text)
        if type_ == "float":
            result = float(text)
            if not math.isfinite(result):
                raise ValueError
            return result
        if type_ == "boolean":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if type_ == "date":
            return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(f"{name} must be {'an' if type_ == 'integer' else 'a'} {type_}, not {text!r}") from None
    return text


def band_of(value: Any, edges: list[float], labels: list[str]) -> str | None:
    if value is None:
        return None
    for edge, label in zip(edges, labels):
        if value < edge:
            return label
    return labels[-1]


class ParticipantStore(EntityStore):
    # -- reading -----------------------------------------------------------------------------
    def _record(self, r: dict[str, Any]) -> Participant:
        return Participant(
            id=r["id"], label=r["label"], group=r["grp"], name=r["name"],
            attributes=json.loads(r["attributes"]),
        )

    def list(self, group: str | None = None) -> list[Participant]:
        sql = "SELECT * FROM participants"
        params: list[Any] = []
        if group:
            sql += " WHERE grp = ? COLLATE NOCASE"
            params.append(group)
        rows = self.rows(sql, params)
        return sorted((self._record(r) for r in rows), key=lambda p: natural_key(p.label))

    def find(self, label: str) -> Participant | None:
        r = self.row("SELECT * FROM participants WHERE label = ?", [label.strip()])
        return self._record(r) if r else None

    def get(self, label: str) -> Participant:
        found = self.find(label)
        if found is None:
            raise NotFound(f"unknown participant {label!r}")
        return found

    def variables(self) -> dict[str, dict[str, Any]]:
        return {
            r["name"]: {
                "type": r["type"],
                "derived_from": r["derived_from"],
                "bands": json.loads(r["bands"]) if r["bands"] else None,
            }
            for r in self.rows("SELECT name, type, derived_from, bands FROM variables ORDER BY id")
        }

    # -- writing -----------------------------------------------------------------------------
    def add(
        self, label: str, group: str | None = None, name: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Participant:
        self._upsert_many([{"label": label, "group": group, "name": name, **(attributes or {})}],
                          command="participants add", allow_update=False)
        return self.get(label)

    def set(self, label: str, values: dict[str, Any]) -> Participant:
        """Set attributes (and ``group`` / ``name``) of an existing participant."""
        self.get(label)
        self._upsert_many([{"label": label, **values}], command="participants set",
                          allow_insert=False)
        return self.get(label)

    def import_csv(self, path: str | Path) -> dict[str, int]:
        path = Path(path)
        rows = read_rows(path)
        if not rows:
            raise InvalidInput(f"{path}: no participant rows under the header")
        fields = list(rows[0])
        lowered = [f.lower() for f in fields]
        if "label" not in lowered:
            raise InvalidInput(f"{path}: needs a 'label' column (e.g. P1, PTV3)")
        rows = [{k.strip().lower() if k and k.strip().lower() in RESERVED else (k or "").strip(): v
                 for k, v in row.items()} for row in rows]
        first_row: dict[str, int] = {}
        for lineno, row in enumerate(rows, start=2):
            label = (row.get("label") or "").strip().lower()
            if label and label in first_row:
                raise InvalidInput(f"{path}: row {lineno}: participant {row['label'].strip()} is also on row "
                                   f"{first_row[label]}; give each participant one row")
            first_row.setdefault(label, lineno)
        types = {f: infer_type(r.get(f) for r in rows) for f in fields if f.lower() not in RESERVED}
        before = {p.label.lower() for p in self.list()}
        self._upsert_many(rows, command="participants import", summary=f"import participants from {path.name}",
                          declared=types)
        labels = {r["label"].strip().lower() for r in rows if r.get("label")}
        return {"added": len(labels - before), "updated": len(labels & before)}

    def define_band(self, name: str, source: str, edges: list[float], labels: list[str]) -> int:
        """Derive ``name`` from numeric ``source``: value < edges[0] -> labels[0], ... ; returns count."""
        variables = self.variables()
        if source not in variables:
            raise NotFound(f"unknown attribute {source!r}")
        if variables[source]["type"] not in ("integer", "float"):
            raise InvalidInput(f"{source} is {variables[source]['type']}, bands need numbers")
        if len(labels) != len(edges) + 1:
            raise InvalidInput(f"{len(edges)} edges need {len(edges) + 1} labels, got {len(labels)}")
        if list(edges) != sorted(edges) or len(set(edges)) != len(edges):
            raise InvalidInput("band edges must increase")
        if name.lower() in RESERVED or name == source:
            raise InvalidInput(f"{name!r} cannot be used as a band name")
        bands = json.dumps({"edges": list(edges), "labels": list(labels)})
        with self.study.change("participants band", f"derive {name} from {source}") as ch:
            existing = self.row("SELECT id, derived_from FROM variables WHERE name = ?", [name])
            if existing and existing["derived_from"] is None:
                raise Conflict(f"{name!r} is an attribute typed by hand; choose another band name")
            row = {"name": name, "type": "text", "derived_from": source, "bands": bands}
            if existing:
                ch.update("variables", existing["id"], row)
            else:
                ch.insert("variables", {**row, "guid": new_guid()})
            n = self._recompute_bands(ch)
        return n

    # -- internals ---------------------------------------------------------------------------
    def _default_group(self, label: str) -> str:
        """The group of a new label given none: the group its prefix already has in the study
        (``P9`` joins ``patient`` when P1..P8 are patients), else the prefix itself."""
        prefix = label_prefix(label)
        groups = {r["grp"] for r in self.rows("SELECT label, grp FROM participants")
                  if label_prefix(r["label"]) == prefix}
        return groups.pop() if len(groups) == 1 else prefix

    def _declare(self, ch, name: str, type_: str) -> str:
        existing = self.row("SELECT type, derived_from FROM variables WHERE name = ?", [name])
        if existing:
            if existing["derived_from"]:
                raise InvalidInput(f"{name} is derived from {existing['derived_from']}; set that instead")
            return existing["type"]
        if type_ not in TYPES:
            raise InvalidInput(f"attribute type must be one of {', '.join(TYPES)}")
        ch.insert("variables", {"name": name, "type": type_, "guid": new_guid()})
        return type_

    def _upsert_many(self, rows: list[dict[str, Any]], command: str, summary: str | None = None,
                     declared: dict[str, str] | None = None, allow_insert: bool = True,
                     allow_update: bool = True) -> None:
        summary = summary or f"{command} {', '.join(str(r.get('label')) for r in rows[:5])}"
        with self.study.change(command, summary) as ch:
            for lineno, raw in enumerate(rows, start=2):
                label = (raw.get("label") or "").strip()
                where = f"row {lineno}: " if len(rows) > 1 else ""
                if not LABEL.match(label):
                    raise InvalidInput(f"{where}participant label {label!r} must start with a letter and "
                                       "use letters, digits, '_', '-' or '.' (e.g. P1, PTV3)")
                existing = self.row("SELECT * FROM participants WHERE label = ?", [label])
                if existing and not allow_update:
                    raise Conflict(f"participant {existing['label']} already exists")
                if not existing and not allow_insert:
                    raise NotFound(f"unknown participant {label!r}")
                attrs = json.loads(existing["attributes"]) if existing else {}
                for key, value in raw.items():
                    if key in RESERVED or key is None:
                        continue
                    if value is None or (isinstance(value, str) and value.strip() == ""):
                        if declared is not None:
                            self._declare(ch, key, (declared or {}).get(key, "text"))
                        attrs.pop(key, None)
                        continue
                    guess = (declared or {}).get(key) or infer_type([str(value)])
                    type_ = self._declare(ch, key, guess)
                    attrs[key] = convert(value, type_, f"{where}{key}")
                group = (raw.get("group") or "").strip() or (existing["grp"] if existing else self._default_group(label))
                name = raw.get("name")
                name = (name.strip() or None) if isinstance(name, str) else (existing["name"] if existing else None)
                values = {"label": label, "grp": group, "name": name,
                          "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True)}
                if existing:
                    ch.update("participants", existing["id"], values)
                else:
                    ch.insert("participants", {**values, "created": now(), "guid": new_guid()})
            self._recompute_bands(ch)
            self.study.speakers.relink(ch)

    def _recompute_bands(self, ch) -> int:
        derived = [(n, v) for n, v in self.variables().items() if v["derived_from"]]
        if not derived:
            return 0
        changed = 0
        for r in self.rows("SELECT id, attributes FROM participants"):
            attrs = json.loads(r["attributes"])
            new = dict(attrs)
            for name, var in derived:
                band = band_of(attrs.get(var["derived_from"]), var["bands"]["edges"], var["bands"]["labels"])
                if band is None:
                    new.pop(name, None)
                else:
                    new[name] = band
            if new != attrs:
                ch.update("participants", r["id"], {"attributes": json.dumps(new, ensure_ascii=False, sort_keys=True)})
                changed += 1
        return changed


def natural_key(label: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", label))
