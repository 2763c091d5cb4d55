"""The ``qualcode`` command line: the front door to the same operations as the library and TUI.

Conventions: the study file is the first argument after the command words; ``--json`` on every
command that prints data; exit 0 on success, 1 when a check fails (or some files of a batch
were skipped), 2 on bad input or usage — always one line on stderr, never a traceback.
"""

from __future__ import annotations

import sqlite3
import sys

import click

from qualcode import __version__
from qualcode.errors import QualcodeError


class DefaultGroup(click.Group):
    """A group that runs ``default_command`` when the first argument is not a subcommand."""

    def __init__(self, *args, default_command: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx, args):
        if args and self.default_command and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="qualcode")
def cli() -> None:
    """qualcode — qualitative thematic analysis in the terminal.

    One study is one file (STUDY.qc). Import transcripts, code them alone or as
    independent coders, keep memos and a reflexive journal, and search everything.
    Run `qualcode demo` to build and explore the sample study.
    """


def _register() -> None:
    from qualcode.cli import coding, demo, documents, people, project

    for module in (project, people, documents, coding, demo):
        for command in module.COMMANDS:
            cli.add_command(command)
    from qualcode.cli.agreement import COMMANDS as agreement_commands; list(map(cli.add_command, agreement_commands))  # noqa: E702
    from qualcode.cli import export as _export, themes as _themes; [cli.add_command(c) for m in (_themes, _export) for c in m.COMMANDS]  # noqa: E702
    from qualcode.cli.anonymise import COMMANDS as anonymise_commands; list(map(cli.add_command, anonymise_commands))  # noqa: E702
    from qualcode.cli.refi import attach as _attach_refi; _attach_refi(cli)  # noqa: E702  -- export qdpx|qdc, import-qdpx, import-qdc, merge


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="qualcode", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # a command's own non-zero exit (a failed check, skipped files)
        return exc.code if isinstance(exc.code, int) else 1
    except click.exceptions.Abort:
        click.echo("qualcode: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except QualcodeError as exc:
        click.echo(f"qualcode: error: {exc}", err=True)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:
        click.echo(f"qualcode: error: the study file cannot be used: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("qualcode: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        click.echo(f"qualcode: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        return 2
    return 0


def run() -> None:  # console-script entry point
    sys.exit(main())
