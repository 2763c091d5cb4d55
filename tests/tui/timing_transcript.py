"""Timing of the transcript widget on a 50,000-word document with 2,000 codings.

Run by hand (not part of the test run):  python tests/tui/timing_transcript.py
"""
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import random

from textual.app import App
from tui_corpus import long_transcript

from tui.highlight import Span
from tui.widgets.transcript import TranscriptView


def spans_for(parsed, n=2000):
    rng = random.Random(1)
    out = []
    for i in range(n):
        t = rng.choice(parsed.turns)
        s = rng.randint(t.start, t.end - 2)
        e = min(t.end, s + rng.randint(2, 400))
        out.append(Span(i, i % 20, f"code{i % 20}", rng.choice(["A", "B"]), s, e))
    return out


class Bench(App):
    def compose(self):
        yield TranscriptView(id="t")


async def main():
    parsed = long_transcript()
    spans = spans_for(parsed)
    colours = {i: f"#{(i * 40) % 256:02x}{(i * 90) % 256:02x}a0" for i in range(20)}
    print(f"{len(parsed.text):,} chars, {len(parsed.turns)} turns, {len(spans)} codings")
    app = Bench()
    async with app.run_test(size=(160, 45)) as pilot:
        view = app.query_one(TranscriptView)
        t0 = time.perf_counter()
        view.load_document(parsed.text, parsed.turns, spans, colours, None)
        t1 = time.perf_counter()
        await pilot.pause()
        t2 = time.perf_counter()
        print(f"load_document {1000*(t1-t0):.1f} ms, + first paint {1000*(t2-t0):.1f} ms")
        view.focus()
        await pilot.pause()
        # time one render of the whole visible screen after a cursor move
        timings = []
        for i in range(40):
            t0 = time.perf_counter()
            view.action_cursor_down(select=(i % 2 == 0))
            view._line_cache.clear() if i % 10 == 0 else None
            view.render_lines(view.region.reset_offset)  # what the compositor asks for
            timings.append(time.perf_counter() - t0)
        timings.sort()
        print(f"cursor move + render visible lines: median {1000*timings[20]:.2f} ms, max {1000*timings[-1]:.2f} ms")
        timings = []
        for i in range(20):
            t0 = time.perf_counter()
            await pilot.press("shift+right")
            timings.append(time.perf_counter() - t0)
        timings.sort()
        print(f"pilot.press(shift+right) round trip: median {1000*timings[10]:.2f} ms")
        t0 = time.perf_counter()
        rows = view.index.add(Span(99999, 3, "code3", "A", 1000, 1500))
        view.repaint(rows)
        view.render_lines(view.region.reset_offset)
        print(f"add one coding + repaint: {1000*(time.perf_counter()-t0):.2f} ms")
        t0 = time.perf_counter()
        view.set_visible_coders(frozenset({"A"}))
        view.render_lines(view.region.reset_offset)
        print(f"blind toggle (refilter 2000) + repaint: {1000*(time.perf_counter()-t0):.2f} ms")


asyncio.run(main())


# -- the whole app: open a 50,000-word document with 2,000 codings, then move the cursor --------
async def app_timing():
    import os
    import tempfile

    from tui_corpus import add_long, random_codings

    from qualcode.study import Study

    folder = Path(tempfile.mkdtemp())
    os.environ["QUALCODE_CONFIG_DIR"] = str(folder / "config")
    path = folder / "big.qc"
    with Study.create(path, coder="Amira") as s:
        s.coders.add("Ben")
        add_long(s, "big", words=50_000)
        for name in ("A", "B", "C", "D"):
            s.codes.add(name)
        random_codings(s, "big", ["A", "B", "C", "D"], ["Amira", "Ben"], n=2000)
        n = len(s.codings.list(document="big"))
    from tui.app import QualcodeApp

    app = QualcodeApp(path, coder="Amira")
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        await app.switch_mode("coding")
        await pilot.pause()
        screen = app.screen
        app.session.show_others = True
        t0 = time.perf_counter()
        screen.open_document("big")
        while screen.document is None:  # the worker loads, the UI thread applies DocumentLoaded
            await asyncio.sleep(0.001)
        t1 = time.perf_counter()
        screen.view.render_lines(screen.view.region.reset_offset)
        t2 = time.perf_counter()
        print(f"app: open {n} codings / 50k words: worker + load {1000*(t1-t0):.0f} ms, "
              f"first paint {1000*(t2-t1):.0f} ms")
        view = screen.view
        view.focus()
        await pilot.pause()
        timings = []
        for i in range(60):
            t0 = time.perf_counter()
            view.action_cursor_right(select=True) if i % 3 else view.action_cursor_down()
            screen._selection_changed()  # what the selection watcher runs
            view.render_lines(view.region.reset_offset)
            for w in (screen.query_one("#status"), screen.query_one("#on-line")):
                w.render_lines(w.region.reset_offset)
            timings.append(time.perf_counter() - t0)
        timings.sort()
        print(f"app: key -> selection, side panel, status, repaint: median {1000*timings[30]:.2f} ms, "
              f"p95 {1000*timings[57]:.2f} ms, max {1000*timings[-1]:.2f} ms")


asyncio.run(app_timing())
