"""What every CLI command shares: opening the study, printing data, reading text arguments."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from qualcode.errors import InvalidInput
from qualcode.output import table, to_json
from qualcode.study import Study

STUDY = click.argument("study", type=click.Path(dir_okay=False, path_type=Path), metavar="STUDY.qc")
JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
OUTPUT = click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="The file to write; its suffix picks the format.")
ALLOW_LEAKS = click.option("--allow-leaks", is_flag=True,
                           help="Write the export even if it holds registered names (see `qualcode anonymise`).")
CODER = click.option(
    "--coder", metavar="NAME",
    help="Who is doing this (default: $QUALCODE_CODER, or the study's only coder).",
)

# Who makes a change that is not a coder's own coding (the codebook, participants, imports,
# memo edits): recorded in the audit trail, so `undo --coder NAME` finds it.
WHO = click.option(
    "--coder", "who", metavar="NAME",
    help="Who is making this change, for the audit trail (default: $QUALCODE_CODER, else your login name).",
)
MAX_INT = 2**63 - 1  # SQLite's largest integer: ids and limits beyond it can name nothing
ROW_ID = click.IntRange(1, MAX_INT)
COUNT = click.IntRange(1, MAX_INT)


def actor_name(name: str | None = None) -> str | None:
    """The audit trail's "who": the --coder given, else $QUALCODE_CODER (else the login name)."""
    import os

    return name or os.environ.get("QUALCODE_CODER") or None


@contextmanager
def opened(path: Path, actor: str | None = None) -> Iterator[Study]:
    study = Study.open(path)
    study.actor = actor_name(actor)
    try:
        yield study
    finally:
        study.close()


def leaks_allowed(allow: bool):
    """Lift the anonymisation guard for this one export, when asked."""
    from contextlib import nullcontext

    from qualcode.anonymise.guard import allowing_leaks

    return allowing_leaks() if allow else nullcontext()


def emit(data: Any, as_json: bool, render: Callable[[Any], str] | None = None) -> None:
    if as_json:
        click.echo(to_json(data))
    elif render is not None:
        text = render(data)
        if text:
            click.echo(text)


def say(message: str) -> None:
    """A note for the human on stderr, so stdout stays clean for pipes."""
    click.echo(message, err=True)


def read_text(value: str) -> str:
    """A text argument; ``-`` reads standard input."""
    if value == "-":
        return sys.stdin.read()
    return value


def parse_span(value: str) -> tuple[int, int]:
    try:
        start, end = value.split(":")
        return int(start), int(end)
    except ValueError:
        raise InvalidInput(f"span must be START:END in characters, e.g. 120:245, not {value!r}") from None


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"expected KEY=VALUE, not {pair!r}")
        values[key.strip()] = value
    return values


__all__ = ["ALLOW_LEAKS", "CODER", "COUNT", "MAX_INT", "ROW_ID", "WHO", "actor_name", "JSON", "OUTPUT", "STUDY", "leaks_allowed", "emit", "opened", "parse_assignments", "parse_span", "read_text",
           "say", "table"]
