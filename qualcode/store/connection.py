"""Opening and creating study files safely.

A study is one SQLite file in WAL mode with foreign keys on and a busy timeout, so the CLI and
the TUI can use it at the same time. Opening never creates a file, never touches a file that is
not a qualcode study, and writes nothing to a study that is already up to date: a failed command
must leave the file byte-for-byte as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qualcode.errors import StudyFileError
from qualcode.store.database import StudyDatabase
from qualcode.store.schema import migrations

APPLICATION_ID = 0x51434F44  # "QCOD" in the SQLite header: marks a file as a qualcode study
BUSY_TIMEOUT_MS = 10_000


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create(path: str | Path) -> StudyDatabase:
    path = Path(path)
    if path.exists():
        raise StudyFileError(f"{path} already exists; choose another name or open it")
    if not path.parent.exists():
        raise StudyFileError(f"folder {path.parent} does not exist")
    try:
        conn = _connect(path, "rwc")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA journal_mode = WAL")
        db = StudyDatabase(conn)
        migrations.apply(db)
    except BaseException:
        try:
            conn.close()
        finally:
            path.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    _tune(conn)
    return db


def open_existing(path: str | Path) -> StudyDatabase:
    path = Path(path)
    if not path.exists():
        raise StudyFileError(f"{path} does not exist (create a study with `qualcode init {path}`)")
    if path.is_dir():
        raise StudyFileError(f"{path} is a folder, not a study file")
    if path.stat().st_size == 0:
        raise StudyFileError(f"{path} is empty, not a qualcode study")
    # The header is read through SQLite, never with open()/close() of our own: closing any
    # descriptor of the file drops every POSIX lock this process holds on it, including the
    # locks of a connection already open here (the TUI keeps one while its workers open more).
    # Another process would then take itself for the last user and delete the WAL under us.
    try:
        conn = _connect(path, "rw")
    except sqlite3.DatabaseError as exc:
        raise StudyFileError(f"{path} cannot be opened: {exc}") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise StudyFileError(f"{path} is not a qualcode study (not an SQLite database)") from None
        raise StudyFileError(f"{path} cannot be read: {exc}") from None
    if app_id != APPLICATION_ID:
        conn.close()
        raise StudyFileError(f"{path} is an SQLite database but not a qualcode study")
    try:
        db = StudyDatabase(conn)
        known = {m.name for m in migrations._migrations}
        newer = [m.name for m in migrations.applied(db) if m.name not in known]
        if newer:
            conn.close()
            raise StudyFileError(f"{path} was written by a newer qualcode (schema {newer[-1]}); upgrade qualcode")
        if migrations.pending(db):
            migrations.apply(db)
        _tune(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StudyFileError(f"{path} cannot be read: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return db


def _tune(conn: sqlite3.Connection) -> None:
    # Per-connection settings that make no change to the file itself.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA temp_store = MEMORY")


_READ_RAW = "import shutil, sys\nwith open(sys.argv[1], 'rb') as fh:\n    shutil.copyfileobj(fh, sys.stdout.buffer)\n"


def read_raw(path: str | Path) -> bytes:
    """The bytes of a study file (or its -wal / -shm) while this process may have it open.

    Read in a child process: closing a descriptor of the file here would drop every POSIX lock
    this process's connections hold on it (SQLite's WAL locks live on the -shm file and the
    database file), and another process could then delete the WAL under them. A file that is
    gone gives ``b""``.
    """
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _READ_RAW, str(path)], capture_output=True, check=False)
    return result.stdout if result.returncode == 0 else b""
