"""Baselines the product is measured against, written for the benchmarks only.

* ``floor_import`` -- the physical floor of an import: one process, the standard ``sqlite3``
  module, the same transcripts read and decoded, split into turns with one regular expression,
  inserted as documents + turns + a contentless FTS5 index of the turns (the product's tokenizer)
  in one transaction. No parsing rules, no audit log, no speaker mapping: what any import must pay.
* ``naive_character`` -- character-level agreement the way NVivo's Coding Comparison and
  QualCoder count it: per document, per code, one boolean array per coder with one slot per
  character, then the 2x2 table of characters coded by both / A only / B only / neither.
* ``naive_turn`` -- turn-level agreement from the same per-character arrays: a coder coded a turn
  when any character of the turn is set in that coder's array.

Both agreement baselines use numpy, so they are the *strong* form of the naive method, and read
their input with plain SQL. Two pure-Python forms count the same way without numpy:

* ``python_character`` -- per document, per code, each coder's coded characters as a Python
  ``set`` of positions; both = the intersection's size, A only / B only = the rest of each set.
  This is the cheapest pure-Python per-character count (QualCoder's Coding Comparison walks a list
  with a slot for every character of the document, per code, which is slower still).
* ``python_turn`` -- the same sets; a coder coded a turn when one of the turn's characters is in
  the set (each coded character looked up in a per-document character -> turn list).

All four return the pooled 2x2 table and Cohen's kappa, which the runner checks against the
product's figures.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import numpy as np

TURN_LABEL = re.compile(r"^\[\d\d:\d\d:\d\d\] [^:\n]+: ", re.M)


def floor_import(transcripts: Path, db_path: Path) -> dict:
    paths = sorted(Path(transcripts).glob("*.txt"))
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript("""
        CREATE TABLE documents (id INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL);
        CREATE TABLE turns (id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL, start INTEGER NOT NULL,
                            "end" INTEGER NOT NULL);
        CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='', tokenize='unicode61 remove_diacritics 2');
    """)
    n_turns = 0
    with conn:
        for doc_id, path in enumerate(paths, start=1):
            text = path.read_bytes().decode("utf-8")
            conn.execute("INSERT INTO documents (id, name, text) VALUES (?, ?, ?)", (doc_id, path.stem, text))
            starts = [m.end() for m in TURN_LABEL.finditer(text)]
            bounds = [m.start() for m in TURN_LABEL.finditer(text)][1:] + [len(text)]
            rows = []
            for s, e in zip(starts, bounds):
                while e > s and text[e - 1].isspace():
                    e -= 1
                n_turns += 1
                rows.append((n_turns, doc_id, s, e))
            conn.executemany('INSERT INTO turns (id, document_id, start, "end") VALUES (?, ?, ?, ?)', rows)
            conn.executemany("INSERT INTO turns_fts (rowid, text) VALUES (?, ?)",
                             [(tid, text[s:e]) for tid, _, s, e in rows])
    conn.close()
    return {"documents": len(paths), "turns": n_turns}


# ---------------------------------------------------------------------------------------------


def _load(study_path: Path, coders: tuple[str, str]):
    conn = sqlite3.connect(f"file:{Path(study_path).resolve()}?mode=ro", uri=True)
    ids = [conn.execute("SELECT id FROM coders WHERE name = ?", [c]).fetchone()[0] for c in coders]
    lengths = dict(conn.execute("SELECT id, char_count FROM documents"))
    spans: dict[int, dict[int, dict[int, list[tuple[int, int]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for doc, code, coder, s, e in conn.execute(
            f'SELECT document_id, code_id, coder_id, start, "end" FROM codings '
            f"WHERE coder_id IN ({ids[0]}, {ids[1]})"):
        spans[doc][code][coder].append((s, e))
    # the product's selection: documents coded by both coders; codes either coder used there
    docs = sorted(d for d, by_code in spans.items()
                  if all(any(k in c for c in by_code.values()) for k in ids))
    codes = sorted({c for d in docs for c in spans[d]})
    return conn, ids, lengths, spans, docs, codes


def _kappa(both: int, a_only: int, b_only: int, neither: int) -> dict:
    n = both + a_only + b_only + neither
    p_o = (both + neither) / n
    pa, pb = (both + a_only) / n, (both + b_only) / n
    p_e = pa * pb + (1 - pa) * (1 - pb)
    return {"both": both, "a_only": a_only, "b_only": b_only, "neither": neither, "n_units": n,
            "percent": p_o, "cohen": (p_o - p_e) / (1 - p_e)}


def naive_character(study_path: Path, coders: tuple[str, str] = ("A", "B")) -> dict:
    conn, (a, b), lengths, spans, docs, codes = _load(study_path, coders)
    conn.close()
    both = a_only = b_only = neither = 0
    for d in docs:
        n = lengths[d]
        for c in codes:
            arr_a = np.zeros(n, dtype=bool)
            arr_b = np.zeros(n, dtype=bool)
            by_coder = spans[d].get(c, {})
            for s, e in by_coder.get(a, ()):
                arr_a[s:e] = True
            for s, e in by_coder.get(b, ()):
                arr_b[s:e] = True
            x = int(np.count_nonzero(arr_a & arr_b))
            ya = int(np.count_nonzero(arr_a)) - x
            yb = int(np.count_nonzero(arr_b)) - x
            both, a_only, b_only, neither = both + x, a_only + ya, b_only + yb, neither + n - x - ya - yb
    return _kappa(both, a_only, b_only, neither)


def naive_turn(study_path: Path, coders: tuple[str, str] = ("A", "B")) -> dict:
    conn, (a, b), lengths, spans, docs, codes = _load(study_path, coders)
    turns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for d, s, e in conn.execute('SELECT document_id, start, "end" FROM turns ORDER BY document_id, start'):
        if e > s:  # an empty turn holds no character, so nobody can code it
            turns[d].append((s, e))
    conn.close()
    both = a_only = b_only = neither = 0
    for d in docs:
        n = lengths[d]
        t = np.asarray(turns[d], dtype=np.int64).reshape(-1, 2)
        for c in codes:
            coded = []
            for k in (a, b):
                arr = np.zeros(n, dtype=bool)
                for s, e in spans[d].get(c, {}).get(k, ()):
                    arr[s:e] = True
                cum = np.concatenate(([0], np.cumsum(arr)))
                coded.append(cum[t[:, 1]] - cum[t[:, 0]] > 0)
            x = int(np.count_nonzero(coded[0] & coded[1]))
            ya = int(np.count_nonzero(coded[0])) - x
            yb = int(np.count_nonzero(coded[1])) - x
            both, a_only, b_only, neither = both + x, a_only + ya, b_only + yb, neither + len(t) - x - ya - yb
    return _kappa(both, a_only, b_only, neither)


def _coded_sets(by_coder: dict[int, list[tuple[int, int]]], k: int) -> set[int]:
    chars: set[int] = set()
    for s, e in by_coder.get(k, ()):
        chars.update(range(s, e))
    return chars


def python_character(study_path: Path, coders: tuple[str, str] = ("A", "B")) -> dict:
    conn, (a, b), lengths, spans, docs, codes = _load(study_path, coders)
    conn.close()
    both = a_only = b_only = neither = 0
    for d in docs:
        n = lengths[d]
        for c in codes:
            by_coder = spans[d].get(c, {})
            set_a, set_b = _coded_sets(by_coder, a), _coded_sets(by_coder, b)
            x = len(set_a & set_b)
            ya, yb = len(set_a) - x, len(set_b) - x
            both, a_only, b_only, neither = both + x, a_only + ya, b_only + yb, neither + n - x - ya - yb
    return _kappa(both, a_only, b_only, neither)


def python_turn(study_path: Path, coders: tuple[str, str] = ("A", "B")) -> dict:
    conn, (a, b), lengths, spans, docs, codes = _load(study_path, coders)
    turns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for d, s, e in conn.execute('SELECT document_id, start, "end" FROM turns ORDER BY document_id, start'):
        if e > s:  # an empty turn holds no character, so nobody can code it
            turns[d].append((s, e))
    conn.close()
    both = a_only = b_only = neither = 0
    for d in docs:
        turn_of = [-1] * lengths[d]  # character -> index of its turn (-1: a speaker label)
        for i, (s, e) in enumerate(turns[d]):
            turn_of[s:e] = [i] * (e - s)
        for c in codes:
            by_coder = spans[d].get(c, {})
            coded = []
            for k in (a, b):
                hit = {turn_of[p] for p in _coded_sets(by_coder, k)}
                hit.discard(-1)
                coded.append(hit)
            x = len(coded[0] & coded[1])
            ya, yb = len(coded[0]) - x, len(coded[1]) - x
            both, a_only, b_only, neither = (both + x, a_only + ya, b_only + yb,
                                             neither + len(turns[d]) - x - ya - yb)
    return _kappa(both, a_only, b_only, neither)
