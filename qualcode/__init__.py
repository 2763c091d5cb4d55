"""qualcode — qualitative thematic analysis from the terminal, a CLI and Python.

``import qualcode`` gives the same operations the CLI and the TUI use::

    import qualcode
    study = qualcode.Study.create("pain.qc", title="Living with persistent pain")

The core never imports the TUI, the importers or the exporters (see DESIGN.md).
"""

from qualcode.errors import (
    CheckFailed,
    Conflict,
    InvalidInput,
    NotFound,
    QualcodeError,
    StudyFileError,
)
from qualcode.study import Study
from qualcode.transcript import ParsedTranscript, ParsedTurn

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
