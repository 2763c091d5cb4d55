"""qualcode — qualitative thematic analysis from the terminal, a CLI and Python.

``import qualcode`` gives the same operations the CLI and the TUI use::

    import qualcode
    study = qualcode.Study.create("pain.qc", title="Living with persistent pain")

The core never imports the TUI, the importers or the exporters (see DESIGN.md).

Start-up cost matters: every CLI command starts a new interpreter, and the issue-9 target is
under 100 ms for ``qualcode info``. So ``Study`` and the transcript records are imported on first
use (PEP 562 ``__getattr__``), and ``sqlite_utils`` is imported without numpy and pandas (see
``_import_sqlite_utils``).
"""

import sys

from qualcode.errors import (
    CheckFailed,
    Conflict,
    InvalidInput,
    NotFound,
    QualcodeError,
    StudyFileError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckFailed",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "ParsedTranscript",
    "ParsedTurn",
    "QualcodeError",
    "Study",
    "StudyFileError",
    "__version__",
]

_LAZY = {
    "Study": "qualcode.study",
    "ParsedTranscript": "qualcode.transcript",
    "ParsedTurn": "qualcode.transcript",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _import_sqlite_utils() -> None:
    """Import ``sqlite_utils`` (the store's migrations and connection wrapper) without numpy.

    ``sqlite_utils.db`` imports numpy, and tries pandas, at import time only to map their
    scalar types in its table-insert helpers, which qualcode never uses (every write is plain
    SQL). That was ~100 ms of every CLI command. When the process has already imported numpy
    or pandas (a notebook), nothing is blocked and sqlite_utils sees them as usual.
    """
    if "sqlite_utils" in sys.modules:
        return
    blocked = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes ``import name`` fail fast
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]

