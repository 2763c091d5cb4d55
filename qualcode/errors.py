"""One exception family for everything a user can cause.

Front ends (CLI, TUI) catch ``QualcodeError`` and show its message once, as a single line;
anything else escaping is a bug and is allowed to produce a traceback.
"""


class QualcodeError(Exception):
    """A problem the user can fix: bad input, unknown names, a file that is not a study."""

    exit_code = 2


class NotFound(QualcodeError):
    """A named document, code, coder, participant, memo ... does not exist."""


class InvalidInput(QualcodeError):
    """Arguments or file contents that cannot be used as given."""


class Conflict(QualcodeError):
    """The change would break an invariant (a duplicate name, codings still attached ...)."""


class StudyFileError(QualcodeError):
    """The study file is missing, not a study, corrupt or from a newer qualcode."""


class CheckFailed(QualcodeError):
    """A check ran and found a problem (e.g. a leak); exit code 1, not a usage error."""

    exit_code = 1
