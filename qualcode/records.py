"""Plain records handed out by the store: frozen dataclasses, JSON-ready with ``as_dict``.

They carry what a front end needs to show (names, labels, counts), never a live connection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class Record:
    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Coder(Record):
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class Participant(Record):
    id: int
    label: str
    group: str
    name: str | None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Document(Record):
    id: int
    name: str
    source_name: str
    format: str
    encoding: str
    sha256: str
    char_count: int
    word_count: int
    metadata: dict[str, Any]
    imported: str
    participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn(Record):
    id: int
    document_id: int
    seq: int
    speaker: str | None
    participant: str | None
    start: int
    end: int
    start_ms: int | None
    end_ms: int | None


@dataclass(frozen=True)
class Code(Record):
    id: int
    name: str
    path: str
    parent_id: int | None
    colour: str
    description: str
    include_when: str
    exclude_when: str
    example: str
    status: str


@dataclass(frozen=True)
class Coding(Record):
    id: int
    document_id: int
    document: str
    code_id: int
    code: str
    coder: str
    start: int
    end: int
    text: str
    memo: str
    created: str
    speaker: str | None = None
    participant: str | None = None


@dataclass(frozen=True)
class Memo(Record):
    id: int
    target_type: str
    target_id: int | None
    target: str
    document_id: int | None
    start: int | None
    end: int | None
    coder: str | None
    title: str
    body: str
    created: str
    updated: str


@dataclass(frozen=True)
class JournalEntry(Record):
    id: int
    coder: str
    entry_date: str
    phase: int | None
    body: str
    created: str


@dataclass(frozen=True)
class SearchHit(Record):
    document_id: int
    document: str
    turn_id: int
    speaker: str | None
    participant: str | None
    start: int
    end: int
    left: str
    match: str
    right: str
