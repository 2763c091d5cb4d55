"""Shared helpers and fixtures of the TUI tests (imported by the test modules)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from qualcode.study import Study
from qualcode.transcript import ParsedTranscript, ParsedTurn


def transcript(blocks: list[tuple[str, str, int | None]]) -> ParsedTranscript:
    """Blocks of (speaker, speech, start ms) -> text 'Speaker: speech' separated by blank lines."""
    parts, turns, pos = [], [], 0
    for speaker, speech, ms in blocks:
        label = f"{speaker}: "
        start = pos + len(label)
        turns.append(ParsedTurn(start, start + len(speech), speaker, ms, None))
        block = label + speech + "\n\n"
        parts.append(block)
        pos += len(block)
    return ParsedTranscript(text="".join(parts), turns=turns, format="text")


def add_parsed(study: Study, parsed: ParsedTranscript, name: str) -> int:
    digest = hashlib.sha256((name + parsed.text).encode()).hexdigest()
    return study.documents.add(parsed, name, f"{name}.txt", digest)["document"].id


def fresh_codings(path: Path, **filters):
    """Codings as a new process would see them: a fresh Study.open."""
    with Study.open(path) as study:
        return study.codings.list(**filters)


async def settle(pilot) -> None:
    """Wait for workers (loading, searching) and the messages they post."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def open_doc(pilot, name: str, select: tuple[int, int] | None = None):
    app = pilot.app
    app.open_document(name, select)
    await settle(pilot)
    screen = app.screen
    assert screen.document is not None and screen.document.name == name, screen
    return screen


def set_cursor(view, offset: int) -> None:
    view.move_cursor(view.omap.to_location(offset))


async def fill(pilot, value: str, selector: str = "Input") -> None:
    """Put text into the dialog's input (or text area) at once; typing is tested elsewhere."""
    widget = pilot.app.screen.query_one(selector)
    if hasattr(widget, "load_text"):
        widget.load_text(value)
    else:
        widget.value = value
    await pilot.pause()


def cli(*args) -> subprocess.CompletedProcess[str]:
    """Run the real ``qualcode`` command in another process (the console script next to this
    Python, else ``python -c`` through the same entry point); fail loudly if it fails."""
    script = Path(sys.executable).with_name("qualcode")
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys\nfrom qualcode.cli import main\nsys.exit(main(sys.argv[1:]))"]
    env = {k: v for k, v in os.environ.items() if k != "QUALCODE_CODER"}
    done = subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done
