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


# Which module of ``qualcode.cli`` defines each top-level command. A command's module (and what
# it imports: numpy for agreement, the themes and evidence code ...) is loaded only when that
# command runs or when the full list is needed (``--help``); ``qualcode info`` loads one small
# module. tests/test_cli.py checks this table against every module's ``COMMANDS``.
LAZY_COMMANDS: dict[str, str] = {
    **dict.fromkeys(("init", "info", "settings", "coders", "undo", "redo", "history"), "project"),
    **dict.fromkeys(("participants", "speakers"), "people"),
    **dict.fromkeys(("import", "documents", "search"), "documents"),
    **dict.fromkeys(("codes", "code", "uncode", "codings", "memo", "journal"), "coding"),
    **dict.fromkeys(("demo", "tui"), "demo"),
    **dict.fromkeys(("agreement", "assign", "disagreements", "reconcile", "decisions"), "agreement"),
    **dict.fromkeys(("themes", "phase", "evidence"), "themes"),
    **dict.fromkeys(("export", "report"), "export"),
    "anonymise": "anonymise",
    **dict.fromkeys(("import-qdpx", "import-qdc", "merge"), "refi"),
}


class LazyGroup(click.Group):
    """The top-level group: commands are registered from their module on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self._loaded: set[str] = set()

    def load(self, module: str) -> None:
        """Register every command of ``qualcode.cli.<module>``. The REFI-QDA module adds
        ``qdpx``/``qdc`` to the ``export`` group, so those two modules load together."""
        if module in self._loaded:
            return
        self._loaded.add(module)
        import importlib

        if module in ("export", "refi"):
            for name in ("export", "refi"):
                self._loaded.add(name)
            for command in importlib.import_module("qualcode.cli.export").COMMANDS:
                self.add_command(command)
            importlib.import_module("qualcode.cli.refi").attach(self)
            return
        for command in importlib.import_module(f"qualcode.cli.{module}").COMMANDS:
            self.add_command(command)

    def load_all(self) -> None:
        for module in dict.fromkeys(self.lazy.values()):
            self.load(module)

    def get_command(self, ctx, cmd_name):
        module = self.lazy.get(cmd_name)
        if module is not None:
            self.load(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self.load_all()
        return super().list_commands(ctx)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="qualcode")
def cli() -> None:
    """qualcode — qualitative thematic analysis in the terminal.

    One study is one file (STUDY.qc). Import transcripts, code them alone or as
    independent coders, keep memos and a reflexive journal, and search everything.
    Run `qualcode demo` to build and explore the sample study.
    """


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
    except click.UsageError as exc:
        click.echo(f"qualcode: error: {_usage_line(exc)}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"qualcode: error: {exc.format_message()}", err=True)
        return exc.exit_code if exc.exit_code else 2
    except QualcodeError as exc:
        click.echo(f"qualcode: error: {exc}", err=True)
        return exc.exit_code
    except OverflowError:
        click.echo("qualcode: error: a number given is too large (at most 9223372036854775807)", err=True)
        return 2
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


def _usage_line(exc: click.UsageError) -> str:
    """Click's usage block (Usage / Try / Error) as the one line every error gets here."""
    message = " ".join(exc.format_message().split())
    command = exc.ctx.command_path if exc.ctx is not None else "qualcode"
    return f"{message} (see `{command} --help`)"


def run() -> None:  # console-script entry point
    sys.exit(main())
