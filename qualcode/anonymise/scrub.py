"""Scrubbing free text outside the documents: memos, coding memos, the journal, code definitions,
document names and metadata, change summaries and the audit log's before/after rows.

A ``Scrubber`` replaces registered terms (matched as the scan matches them, without fuzzy
matching) and the exact strings accepted in the documents (``Sara``, ``07700 900123``) with their
replacements. JSON values are parsed and only their string leaves are scrubbed, so a row in the
audit log stays valid JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from qualcode.anonymise.register import Matcher, Term
from qualcode.anonymise.remap import Edit, apply_edits, resolve_overlaps
from qualcode.store.anonymise import KEEP_COLUMNS


class Scrubber:
    def __init__(self, terms: Iterable[Term], literals: dict[str, str]) -> None:
        self.matcher = Matcher(list(terms), threshold=None)
        usable = {k: v for k, v in literals.items() if len(k.strip()) >= 3}
        self.literals = usable
        self._literal_re = (re.compile(r"(?<!\w)(?:" + "|".join(
            re.escape(k) for k in sorted(usable, key=len, reverse=True)) + r")(?!\w)") if usable else None)

    def __bool__(self) -> bool:
        return bool(self.matcher) or self._literal_re is not None

    def edits(self, text: str) -> list[Edit]:
        pairs: list[tuple[int, Edit]] = []
        if self._literal_re is not None:
            for m in self._literal_re.finditer(text):
                pairs.append((1, Edit(m.start(), m.end(), self.literals[m.group(0)])))
        for m in self.matcher.exact(text):
            pairs.append((1, Edit(m.start, m.end, m.term.replacement)))
        if not pairs:
            return []
        kept, _ = resolve_overlaps(pairs)
        return kept

    def text(self, text: str) -> str:
        edits = self.edits(text)
        return apply_edits(text, edits) if edits else text

    def value(self, value: str, column: str | None = None) -> str:
        """Scrub one stored value; JSON objects and arrays are scrubbed leaf by leaf."""
        if not value or not self:
            return value
        if not self.edits(value):
            return value
        stripped = value.lstrip()
        if stripped[:1] in "{[":
            try:
                data = json.loads(value)
            except ValueError:
                data = None
            if isinstance(data, (dict, list)):
                new = self.json(data)
                return json.dumps(new, ensure_ascii=False) if new != data else value
        return self.text(value)

    def json(self, data: Any, key: str | None = None) -> Any:
        if isinstance(data, dict):
            return {k: (v if k in KEEP_COLUMNS else self.json(v, k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self.json(v, key) for v in data]
        if isinstance(data, str):
            return self.value(data)
        return data
