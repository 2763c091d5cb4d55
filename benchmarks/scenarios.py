"""The timed scenarios. Each runs in its own worker process so that its peak memory is its own.

The runner (``benchmarks.run``) starts ``python -m benchmarks.scenarios ROLE_FUNCTION CONTEXT.json``
and reads the result JSON the worker writes to ``context["result"]``:

    {"times": [seconds, ...], "rss_kb": optional, "check": optional {...}, "info": optional {...}}

``times`` are the timed repetitions (the runner reports their median). When the thing measured is
another process (a ``qualcode`` CLI call), the worker measures that child's wall time and peak
RSS itself (``os.wait4``) and reports ``rss_kb``; otherwise the runner takes the worker's own peak
RSS. Add a scenario by writing a worker function here and an entry in ``SCENARIOS``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

perf = time.perf_counter
# CPU seconds (user + system) of each timed repetition, in the order of ``times``.
_CPU: list[float] = []


# ---------------------------------------------------------------------------------------------
# Helpers


def qualcode_command() -> list[str]:
    script = Path(sys.executable).parent / "qualcode"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from qualcode.cli import run; run()"]


def run_child(argv: list[str], cwd: str | None = None, env: dict | None = None,
              timeout: float | None = None) -> tuple[float, int, int, str]:
    """Run a process; return (wall seconds, exit code, peak RSS in KB, stderr tail); its CPU time
    (user + system, from ``os.wait4``) goes to ``_CPU``."""
    with tempfile.TemporaryFile() as err:
        t0 = perf()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env)
        timer = None
        if timeout:
            import threading

            timer = threading.Timer(timeout, p.kill)
            timer.start()
        _, status, usage = os.wait4(p.pid, 0)
        wall = perf() - t0
        if timer:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        _CPU.append(usage.ru_utime + usage.ru_stime)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    return wall, p.returncode, usage.ru_maxrss, tail


def _self_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------------------------
# Workers: each takes the context dict and returns the result dict


def w_build(ctx: dict) -> dict:
    """Build the study used by the query scenarios; time the bulk load of the codings."""
    from benchmarks import corpus

    path = Path(ctx["study"])
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    result = corpus.build_study(Path(ctx["corpus"]), path)
    from qualcode.study import Study

    with Study.open(path) as study:
        top = study.db.execute(
            "SELECT code_id, count(*) AS n FROM codings GROUP BY code_id ORDER BY n DESC LIMIT 1").fetchone()
        info = {"study": result["info"], "seconds": result["seconds"],
                "top_code": study.codes.by_id(top[0]).path, "top_code_codings": top[1]}
    return {"times": [result["seconds"]["codings"]], "info": info}


def _fresh_study(ctx: dict, folder: Path) -> Path:
    from qualcode.study import Study

    path = folder / "import.qc"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Study.create(path, title="import benchmark", coder="A") as study:
        study.participants.import_csv(Path(ctx["corpus"]) / "participants.csv")
        study.codes.import_csv(Path(ctx["corpus"]) / "codebook.csv")
    return path


def w_import_cli(ctx: dict) -> dict:
    """``qualcode import STUDY transcripts/`` into a study that has participants and a codebook."""
    tmp = Path(ctx["tmp"])
    times, rss = [], 0
    for _ in range(ctx["repeat"]):
        path = _fresh_study(ctx, tmp)
        wall, code, peak, err = run_child([*qualcode_command(), "import", str(path),
                                           str(Path(ctx["corpus"]) / "transcripts")])
        if code != 0:
            raise RuntimeError(f"qualcode import exited {code}: {err}")
        times.append(wall)
        rss = max(rss, peak)
    from qualcode.study import Study

    with Study.open(path) as study:
        info = study.info()
    return {"times": times, "rss_kb": rss,
            "info": {"documents": info["documents"], "turns": info["turns"], "words": info["words"]}}


def w_import_floor(ctx: dict) -> dict:
    from benchmarks.baselines import floor_import

    tmp = Path(ctx["tmp"])
    times = []
    for _ in range(ctx["repeat"]):
        path = tmp / "floor.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        t0, c0 = perf(), time.process_time()
        info = floor_import(Path(ctx["corpus"]) / "transcripts", path)
        times.append(perf() - t0)
        _CPU.append(time.process_time() - c0)
    return {"times": times, "info": info}


def w_code_one(ctx: dict) -> dict:
    """``study.codings.add`` (one coding, its own transaction) on a copy of the full study."""
    from qualcode.study import Study

    copy = Path(ctx["tmp"]) / "code-one.qc"
    shutil.copyfile(ctx["study"], copy)
    times = []
    with Study.open(copy) as study:
        doc = study.documents.get(ctx["largest"])
        turns = [t for t in study.documents.turns(doc.id) if t.participant and t.end - t.start > 40]
        code = ctx["top_code"]
        for i in range(ctx["repeat"] * 4):
            t = turns[(i * 7) % len(turns)]
            t0, c0 = perf(), time.process_time()
            study.codings.add(doc.name, code, "B", t.start, t.start + 30)
            times.append(perf() - t0)
            _CPU.append(time.process_time() - c0)
    return {"times": times}


def _compile_product() -> None:
    """Byte-compile the product's packages, as ``pip install`` does for a user's install: with an
    editable install under PYTHONDONTWRITEBYTECODE=1 every CLI start would otherwise compile
    the sources again (~10 ms), which no user pays."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("qualcode", "importers", "exporters", "tui"):
        compileall.compile_dir(str(root / package), quiet=1)


def _cli(args: list[str]) -> Callable[[dict], dict]:
    def worker(ctx: dict) -> dict:
        argv = [*qualcode_command(), *[a.format(**ctx) for a in args]]
        _compile_product()
        run_child(argv)  # warm the page cache once, as a user's second command would be
        _CPU.clear()
        times, rss = [], 0
        for _ in range(ctx["repeat"]):
            wall, code, peak, err = run_child(argv)
            if code != 0:
                raise RuntimeError(f"{' '.join(argv[-4:])} exited {code}: {err}")
            times.append(wall)
            rss = max(rss, peak)
        return {"times": times, "rss_kb": rss}

    return worker


def _lib(op: str) -> Callable[[dict], dict]:
    def worker(ctx: dict) -> dict:
        from qualcode.study import Study

        times = []
        with Study.open(ctx["study"]) as study:
            fn = {
                "info": study.info,
                "codings": lambda: study.codings.list(code=ctx["top_code"]),
                "search": lambda: study.search("pain"),
                "search-phrase": lambda: study.search('"pain management programme"'),
                "documents": study.documents.list,
            }[op]
            n = None
            for _ in range(ctx["repeat"] + 1):
                t0, c0 = perf(), time.process_time()
                out = fn()
                times.append(perf() - t0)
                _CPU.append(time.process_time() - c0)
                n = len(out) if hasattr(out, "__len__") else None
        return {"times": times[1:], "cpu": _CPU[1:], "info": {"first_call_s": round(times[0], 4), "rows": n}}

    return worker


def _matrix(ctx: dict):
    import numpy as np

    rng = np.random.default_rng(7)
    n = ctx["alpha_units"]
    a = rng.integers(0, 5, n).astype(float)
    b = np.where(rng.random(n) < 0.8, a, rng.integers(0, 5, n)).astype(float)
    b[rng.random(n) < 0.05] = np.nan  # some units rated by one coder only
    return np.vstack([a, b])


def w_alpha(ctx: dict) -> dict:
    from qualcode.agreement.stats import krippendorff_alpha

    data = _matrix(ctx)
    times, value = [], None
    for _ in range(ctx["repeat"]):
        t0, c0 = perf(), time.process_time()
        value = float(krippendorff_alpha(data, level="nominal"))
        times.append(perf() - t0)
        _CPU.append(time.process_time() - c0)
    return {"times": times, "check": {"alpha": value}}


def w_alpha_krippendorff(ctx: dict) -> dict:
    import krippendorff

    data = _matrix(ctx)
    times, value = [], None
    for _ in range(ctx["repeat"]):
        t0, c0 = perf(), time.process_time()
        value = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        times.append(perf() - t0)
        _CPU.append(time.process_time() - c0)
    return {"times": times, "check": {"alpha": value}}


def _agreement(unit: str, cold: bool = False) -> Callable[[dict], dict]:
    """``agreement(study, ["A", "B"], unit=...)`` timed. Warm (default): the study's packed span
    and turn caches (``qualcode.store.span_cache``) hold every document after the first run, as
    they do after any earlier agreement on an unchanged study. ``cold=True``: both caches are
    emptied before every run (not timed), so each run reads the codings and turns tables and
    writes the caches again, as the first agreement after coding does."""
    def worker(ctx: dict) -> dict:
        from qualcode.agreement.units import agreement
        from qualcode.study import Study

        times = []
        with Study.open(ctx["study"]) as study:
            from qualcode.store import span_cache

            if not cold:  # fill the caches (not timed): the warm path
                span_cache.coding_spans(study.db)
                span_cache.turn_spans(study.db)
            for _ in range(ctx["repeat"]):
                if cold:
                    span_cache.invalidate(study.db)
                t0, c0 = perf(), time.process_time()
                report = agreement(study, ["A", "B"], unit=unit)
                times.append(perf() - t0)
                _CPU.append(time.process_time() - c0)
        p = report.pooled
        check = {**p.table, "n_units": p.n_units, **{k: float(v) for k, v in p.stats.items()}}
        return {"times": times, "check": check,
                "info": {"documents": len(report.documents), "codes": len(report.codes)}}

    return worker


def _naive(unit: str) -> Callable[[dict], dict]:
    def worker(ctx: dict) -> dict:
        from benchmarks import baselines

        fn = {"character": baselines.naive_character, "turn": baselines.naive_turn,
              "character-py": baselines.python_character, "turn-py": baselines.python_turn}[unit]
        times, out = [], None
        for _ in range(ctx["baseline_repeat"]):
            t0, c0 = perf(), time.process_time()
            out = fn(Path(ctx["study"]))
            times.append(perf() - t0)
            _CPU.append(time.process_time() - c0)
        return {"times": times, "check": out}

    return worker


def _tui(measure: str) -> Callable[[dict], dict]:
    def worker(ctx: dict) -> dict:
        import asyncio

        return asyncio.run(_tui_run(ctx, measure))

    return worker


async def _tui_run(ctx: dict, measure: str) -> dict:
    """Headless app (``run_test``) on the study, coding as A (blind: A's codings painted).

    open: from ``app.open_document(largest)`` until the coding screen has the document loaded into
    its view (polled every millisecond; the first paint follows at the next refresh tick).
    cursor / key-baseline: CPU time (``time.process_time``, every thread of the process) of one
    ``pilot.press``: the key's handlers, the screen's panel and status updates and the compositor's
    repaint. Wall time per press is not used: the pilot sleeps >= 2 x 20 ms per key waiting for idle.
    The baseline presses an unbound key through the same pilot (harness overhead).
    """
    import asyncio

    from tui.app import QualcodeApp
    from tui.screens.coding import CodingScreen

    name = ctx["largest"]
    if measure == "start":
        return await _tui_start(ctx)
    app = QualcodeApp(ctx["study"], coder="A")
    t0, c0 = perf(), time.process_time()
    opens, moves, settled = [], [], []
    info: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        info["app_start_s"] = round(perf() - t0, 3)

        async def open_doc() -> float:
            for s in app.screen_stack:
                if isinstance(s, CodingScreen):
                    s.document = None
            t = perf()
            app.open_document(name)
            deadline = t + 120
            while perf() < deadline:
                await asyncio.sleep(0.001)
                screen = app.screen
                if (isinstance(screen, CodingScreen) and screen.document is not None
                        and screen.document.name == name and not screen.view.loading):
                    break
            else:
                raise RuntimeError("the document never finished loading")
            loaded = perf() - t
            await pilot.pause()
            settled.append(perf() - t)
            return loaded

        if measure == "open":
            for _ in range(ctx["repeat"]):
                opens.append(await open_doc())
            info["with_pilot_pause_s"] = round(sorted(settled)[len(settled) // 2], 3)
        else:
            await open_doc()
            view = app.screen.view
            view.focus()
            await pilot.pause()
            start_row = view.cursor_location[0]
            key = "f24" if measure == "key-baseline" else "down"
            for _ in range(ctx["tui_moves"]):
                c = time.process_time()
                await pilot.press(key)
                moves.append(time.process_time() - c)
            if measure == "cursor":
                if view.cursor_location[0] <= start_row:
                    raise RuntimeError("the cursor did not move")
                info["codings_painted"] = len(view.index.spans)
                info["rows_moved"] = view.cursor_location[0] - start_row
    if measure == "open":
        return {"times": opens, "info": info}
    _CPU[:] = moves
    ordered = sorted(moves)
    info.update(max_ms=round(ordered[-1] * 1000, 2), p95_ms=round(ordered[int(len(ordered) * 0.95)] * 1000, 2))
    return {"times": moves, "info": info}


async def _tui_start(ctx: dict) -> dict:
    """From constructing the app (it opens the study) until the home screen's document table is
    filled and sized: its rows are loaded by a worker thread, then DataTable measures the new rows
    on its next idle and sets its ``virtual_size`` (until then it cannot scroll and the app does
    not answer keys). Polled every millisecond. Each coder's progress column fills later, from a
    second query in the same worker, which would run on after the app exits: each repetition
    waits for it (untimed) so the next does not share the CPU with it."""
    import asyncio

    from tui.app import QualcodeApp
    from tui.screens.home import DocumentTable, HomeScreen

    times, first_paint, rows_added = [], [], []
    for _ in range(ctx["repeat"]):
        t0 = perf()
        app = QualcodeApp(ctx["study"], coder="A")
        async with app.run_test(size=(120, 40)):
            mounted = added = None
            deadline = t0 + 120
            while perf() < deadline:
                await asyncio.sleep(0.001)
                screen = app.screen
                if isinstance(screen, HomeScreen):
                    mounted = mounted or perf() - t0
                    table = screen.query_one(DocumentTable)
                    if not table.loading and table.row_count:
                        added = added or perf() - t0
                        if table.virtual_size.height >= table.row_count:
                            break
            else:
                raise RuntimeError("the home screen never filled and sized its document table")
            times.append(perf() - t0)
            first_paint.append(mounted)
            rows_added.append(added)
            while perf() < deadline and str(table.get_row_at(table.row_count - 1)[-1]) == "…":
                await asyncio.sleep(0.01)  # the progress query, untimed: not to share the CPU
    mid = len(times) // 2
    return {"times": times, "info": {"home_screen_mounted_s": round(sorted(first_paint)[mid], 3),
                                     "rows_added_s": round(sorted(rows_added)[mid], 3)}}


# ---------------------------------------------------------------------------------------------
# Exports and exchange


def _themed_copy(ctx: dict, quotes: int = 5000) -> tuple[Path, list[str], int]:
    """A copy of the study with themes: one per parent code, one subtheme per child code (the map),
    and a theme "Benchmark quotes" gathering the most used codes until coder A has ``quotes``
    codings in it (the quote table)."""
    from qualcode.store.themes import themes_of
    from qualcode.study import Study

    copy = Path(ctx["tmp"]) / "themed.qc"
    shutil.copyfile(ctx["study"], copy)
    with Study.open(copy) as study:
        store = themes_of(study)
        codes = study.codes.list()
        with study.change("bench", "themes for the export benchmarks"):
            for c in codes:
                if c.parent_id is None:
                    store.add(c.name, codes=[c.path])
            for c in codes:
                if c.parent_id is not None:
                    parent = c.path.rsplit("/", 1)[0]
                    store.add(c.name, parent=parent, codes=[c.path])
            a_id = study.coders.get("A").id
            counts = study.db.execute(
                "SELECT code_id, count(*) AS n FROM codings WHERE coder_id = ? GROUP BY code_id "
                "ORDER BY n DESC, code_id", [a_id]).fetchall()
            chosen, total = [], 0
            for code_id, n in counts:  # most used first, skipping codes that would overshoot
                if total >= quotes * 0.95:
                    break
                if total + n <= quotes * 1.05:
                    chosen.append(study.codes.by_id(code_id).path)
                    total += n
            store.add("Benchmark quotes", codes=chosen)
    return copy, chosen, total


def w_export_quotes(ctx: dict) -> dict:
    from exporters.quotes import export_quotes
    from qualcode.study import Study

    copy, chosen, total = _themed_copy(ctx)
    times, result = [], None
    with Study.open(copy) as study:
        for i in range(ctx["export_repeat"]):
            out = Path(ctx["tmp"]) / f"quotes{i}.docx"
            t0, c0 = perf(), time.process_time()
            result = export_quotes(study, out, themes=["Benchmark quotes"], coder="A")
            times.append(perf() - t0)
            _CPU.append(time.process_time() - c0)
    return {"times": times, "size": f"{result.items:,} quotes from {len(chosen)} codes",
            "info": {"quotes": result.items, "bytes": result.bytes, "codes": len(chosen), "codings_of_a": total}}


def w_export_map(ctx: dict) -> dict:
    from exporters.maps import export_map
    from qualcode.study import Study

    copy, _, _ = _themed_copy(ctx)
    times, result = [], None
    with Study.open(copy) as study:
        for i in range(ctx["export_repeat"]):
            out = Path(ctx["tmp"]) / f"map{i}.png"
            t0, c0 = perf(), time.process_time()
            result = export_map(study, out, counts=True)
            times.append(perf() - t0)
            _CPU.append(time.process_time() - c0)
    return {"times": times, "info": {"items": result.items, "bytes": result.bytes}}


class _Budget(Exception):
    pass


def _with_budget(seconds: float, fn: Callable[[], Any]) -> tuple[Any, bool]:
    """Run ``fn``; stop it (SIGALRM) after ``seconds``. Returns (result, finished)."""
    import signal

    def stop(signum, frame):  # noqa: ARG001
        raise _Budget()

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(), True
    except _Budget:
        return None, False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def w_qdpx_export(ctx: dict) -> dict:
    """``export_qdpx`` (through the export door and its anonymisation guard), with a time budget;
    once, for comparison, the same archive built without the door (snapshot + XML + zip)."""
    from exporters.refi_qda import export_qdpx
    from qualcode.study import Study

    budget = ctx.get("budget_s", 600)
    times, result, info = [], None, {}
    with Study.open(ctx["study"]) as study:
        try:
            from exporters.refi_qda import qdpx_bytes
            from qualcode.store.refi import snapshot

            t0 = perf()
            data = qdpx_bytes(snapshot(study))[0]
            info["without_guard_s"] = round(perf() - t0, 3)
            info["archive_bytes"] = len(data)
        except (ImportError, AttributeError, TypeError) as exc:  # internals moved: skip the comparison
            info["without_guard_s"] = f"n/a ({exc.__class__.__name__})"
        for i in range(ctx["export_repeat"]):
            out = Path(ctx["tmp"]) / f"study{i}.qdpx"
            t0, c0 = perf(), time.process_time()
            result, finished = _with_budget(budget, lambda: export_qdpx(study, out))
            times.append(perf() - t0)
            _CPU.append(time.process_time() - c0)
            if not finished:
                info["stopped_after_s"] = budget
                return {"times": times, "lower_bound": True, "info": info}
            if i:
                out.unlink()
    info.update({k: v for k, v in result.items()
                 if k not in ("file", "path", "sha256", "created", "kind", "format")})
    return {"times": times, "info": info}


def w_qdpx_import(ctx: dict) -> dict:
    """``import_qdpx`` of the whole study's archive into a new study. The archive is built without
    the export door (its guard is timed in ``qdpx-export``)."""
    from importers.refi_qda import import_qdpx
    from qualcode.study import Study

    src = Path(ctx["tmp"]) / "study.qdpx"
    with Study.open(ctx["study"]) as study:
        try:
            from exporters.refi_qda import qdpx_bytes
            from qualcode.store.refi import snapshot

            src.write_bytes(qdpx_bytes(snapshot(study))[0])
        except (ImportError, AttributeError, TypeError):
            from exporters.refi_qda import export_qdpx

            export_qdpx(study, src)
    times = []
    for i in range(min(2, ctx["export_repeat"])):
        out = Path(ctx["tmp"]) / f"imported{i}.qc"
        t0, c0 = perf(), time.process_time()
        import_qdpx(src, out)
        times.append(perf() - t0)
        _CPU.append(time.process_time() - c0)
    with Study.open(out) as study:
        info = study.info()
    return {"times": times, "info": {"archive_bytes": src.stat().st_size,
                                     **{k: info[k] for k in ("documents", "turns", "codings", "codes", "participants")}}}


def _anon(use_ner: bool) -> Callable[[dict], dict]:
    def worker(ctx: dict) -> dict:
        # The submodule, not ``qualcode.anonymise.scan``: importing the submodule (open_key does)
        # rebinds that package attribute from the function to the module.
        from qualcode.anonymise.scan import open_key, scan
        from qualcode.study import Study

        copy = Path(ctx["tmp"]) / "anon.qc"
        shutil.copyfile(ctx["study"], copy)
        documents = None
        if use_ner:  # spaCy on the whole study would take many minutes: a sample of documents
            names = sorted(p.stem for p in (Path(ctx["corpus"]) / "transcripts").glob("*.txt"))
            documents = names[:: max(1, len(names) // ctx["ner_documents"])][: ctx["ner_documents"]]
        times, result = [], None
        with Study.open(copy) as study:
            for i in range(1 if use_ner else ctx["export_repeat"]):
                key = open_key(study, Path(ctx["tmp"]) / f"study{i}.key", create=True)
                try:
                    t0, c0 = perf(), time.process_time()
                    result = scan(study, key, use_ner=use_ner, documents=documents)
                    times.append(perf() - t0)
                    _CPU.append(time.process_time() - c0)
                finally:
                    key.close()
            words = study.db.execute(
                "SELECT sum(word_count), sum(char_count) FROM documents"
                + (f" WHERE name IN ({', '.join('?' for _ in documents)})" if documents else ""),
                documents or []).fetchone()
        info = {"documents": len(documents) if documents else ctx["study_info"].get("documents"),
                "words": words[0], "characters": words[1]}
        for k in ("found", "new", "model", "notes"):
            v = getattr(result, k, None)
            if v:
                info[k] = v
        if use_ner and times:
            info["words_per_s"] = round(words[0] / statistics.median(times))
            info["whole_study_estimate_s"] = round(ctx["study_info"].get("words", 0) / info["words_per_s"])
        return {"times": times, "info": info}

    return worker


# ---------------------------------------------------------------------------------------------
# Availability probes


def _module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def needs(*modules: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        missing = [m for m in modules if not _module(m)]
        return f"not built yet ({', '.join(missing)} missing)" if missing else None

    return probe


def not_built(*candidates: str) -> Callable[[], str | None]:
    """A capability with no scenario yet: say whether a module for it has appeared."""

    def probe() -> str | None:
        present = [m for m in candidates if _module(m)]
        if present:
            return f"partly built ({', '.join(present)} present); no scenario yet"
        return "not built yet"

    return probe


# ---------------------------------------------------------------------------------------------
# The scenario table


@dataclass
class Target:
    text: str                 # as the issue states it
    kind: str                 # max_seconds | max_ratio | min_speedup | max_rss_mb
    value: float


@dataclass
class Scenario:
    id: str
    title: str
    product: Callable[[dict], dict] | None = None
    baseline: Callable[[dict], dict] | None = None
    baseline_title: str = ""
    targets: list[Target] = field(default_factory=list)
    probe: Callable[[], str | None] | None = None
    unit: str = "s"           # what one timed repetition is (shown next to the median)
    note: str = ""
    check_keys: tuple[str, ...] = ()   # result keys that must agree between product and baseline
    baseline_probe: Callable[[], str | None] | None = None
    size_text: Callable[[dict], str] | None = None


def _corpus_size(ctx: dict) -> str:
    m = ctx["manifest"]
    return f"{m['documents']:,} transcripts, {m['words'] / 1e6:.2f} M words" if m["words"] >= 1e6 else \
        f"{m['documents']:,} transcripts, {m['words']:,} words"


def _study_size(ctx: dict) -> str:
    s = ctx.get("study_info") or {}
    return f"{s.get('documents', 0):,} docs, {s.get('turns', 0):,} turns, {s.get('codings', 0):,} codings"


SCENARIOS: list[Scenario] = [
    Scenario("import", "Import transcripts with FTS indexing (`qualcode import`, one process)",
             w_import_cli, w_import_floor, "raw sqlite3 insert + FTS5 build, one process",
             [Target("import <= 2x the raw-SQLite floor", "max_ratio", 2.0),
              Target("peak memory of a full import < 500 MB", "max_rss_mb", 500)],
             note="CLI subprocess; study already has participants and codebook", size_text=_corpus_size),
    Scenario("load-codings", "Load all codings in one transaction (store per-coding write + audit)",
             note="measured while building the query study (`CodingStore._add`, one run)",
             size_text=lambda ctx: f"{ctx['manifest']['codings']:,} codings"),
    Scenario("code-one", "Code one span (`study.codings.add`, own transaction)", w_code_one,
             size_text=_study_size, note="in-process, on a copy of the study"),
    Scenario("cli-info", "`qualcode info`", _cli(["info", "{study}"]), _cli(["--version"]),
             "`qualcode --version` (start-up only)", [Target("CLI queries on the full study < 100 ms",
                                                             "max_seconds", 0.1)], size_text=_study_size),
    Scenario("cli-codings", "`qualcode codings --code <most used code>`",
             _cli(["codings", "{study}", "--code", "{top_code}"]), _cli(["--version"]),
             "`qualcode --version` (start-up only)", [Target("CLI queries on the full study < 100 ms",
                                                             "max_seconds", 0.1)],
             size_text=lambda ctx: f"{ctx.get('top_code_codings', 0):,} codings listed"),
    Scenario("cli-search", "`qualcode search pain`", _cli(["search", "{study}", "pain"]), _cli(["--version"]),
             "`qualcode --version` (start-up only)", [Target("CLI queries on the full study < 100 ms",
                                                             "max_seconds", 0.1)], size_text=_study_size),
    Scenario("lib-info", "`study.info()` in-process", _lib("info"), size_text=_study_size),
    Scenario("lib-codings", "`study.codings.list(code=<most used>)` in-process", _lib("codings"),
             size_text=lambda ctx: f"{ctx.get('top_code_codings', 0):,} codings listed"),
    Scenario("lib-search", "`study.search('pain')` in-process", _lib("search"), size_text=_study_size),
    Scenario("lib-search-phrase", "`study.search('\"pain management programme\"')` in-process",
             _lib("search-phrase"), size_text=_study_size),
    Scenario("lib-documents", "`study.documents.list()` in-process", _lib("documents"), size_text=_study_size),
    Scenario("alpha", "Krippendorff's alpha, nominal, 2 coders (5 % missing)", w_alpha, w_alpha_krippendorff,
             "`krippendorff` package 0.x, same matrix",
             [Target("alpha no slower than the krippendorff package", "max_ratio", 1.0)],
             probe=needs("qualcode.agreement.stats"), check_keys=("alpha",),
             baseline_probe=lambda: None if _module("krippendorff") else "krippendorff package not installed",
             size_text=lambda ctx: f"2 x {ctx['alpha_units']:,} matrix"),
    Scenario("agreement-character", "Character-level agreement, 2 coders, whole study",
             _agreement("character"), _naive("character"), "naive per-character boolean arrays (numpy)",
             [Target("agreement >= 20x faster than the per-character baseline", "min_speedup", 20)],
             probe=needs("qualcode.agreement.units"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size),
    Scenario("agreement-turn", "Turn-level agreement, 2 coders, whole study",
             _agreement("turn"), _naive("turn"), "naive per-character boolean arrays (numpy), any-overlap per turn",
             [Target("agreement >= 20x faster than the per-character baseline", "min_speedup", 20)],
             probe=needs("qualcode.agreement.units"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size),
    Scenario("agreement-character-py", "Character-level agreement, 2 coders, vs pure-Python per-character sets",
             _agreement("character"), _naive("character-py"), "per-character Python sets of coded positions",
             [Target("agreement >= 20x faster than the per-character baseline", "min_speedup", 20)],
             probe=needs("qualcode.agreement.units"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size),
    Scenario("agreement-turn-py", "Turn-level agreement, 2 coders, vs pure-Python per-character sets",
             _agreement("turn"), _naive("turn-py"), "per-character Python sets, character -> turn lookup",
             [Target("agreement >= 20x faster than the per-character baseline", "min_speedup", 20)],
             probe=needs("qualcode.agreement.units"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size),
    Scenario("agreement-character-cold", "Character-level agreement, 2 coders, span cache emptied before each run",
             _agreement("character", cold=True), _naive("character"), "naive per-character boolean arrays (numpy)",
             probe=needs("qualcode.store.span_cache"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size,
             note="cold path: every run rebuilds the packed span and turn caches (no target)"),
    Scenario("agreement-turn-cold", "Turn-level agreement, 2 coders, span cache emptied before each run",
             _agreement("turn", cold=True), _naive("turn"), "naive per-character boolean arrays (numpy), any-overlap per turn",
             probe=needs("qualcode.store.span_cache"),
             check_keys=("both", "a_only", "b_only", "neither", "cohen"), size_text=_study_size,
             note="cold path: every run rebuilds the packed span and turn caches (no target)"),
    Scenario("agreement-segment", "Segment-level (MAXQDA) agreement, 2 coders, whole study",
             _agreement("segment"), probe=needs("qualcode.agreement.units"), size_text=_study_size),
    Scenario("tui-start", "TUI: start until the home screen lists every document (headless)", _tui("start"),
             targets=[Target("TUI open < 0.5 s", "max_seconds", 0.5)], probe=needs("tui.app"),
             size_text=lambda ctx: f"{ctx['manifest']['documents']:,} documents"),
    Scenario("tui-open", "TUI: open the largest document until interactive (headless)", _tui("open"),
             targets=[Target("TUI open < 0.5 s", "max_seconds", 0.5)], probe=needs("tui.app"),
             size_text=lambda ctx: f"{ctx['largest']} ({ctx['largest_chars']:,} chars)"),
    Scenario("tui-cursor", "TUI: CPU time of one cursor move, codings painted", _tui("cursor"),
             _tui("key-baseline"), "an unbound key through the same pilot (harness overhead)",
             targets=[Target("cursor moves < 16 ms", "max_seconds", 0.016)], probe=needs("tui.app"),
             size_text=lambda ctx: f"{ctx['largest']}, {ctx['tui_moves']} moves"),
    Scenario("export-docx", "Export quote table DOCX (~5,000 quotes, coder A)", w_export_quotes,
             probe=needs("exporters.quotes", "qualcode.store.themes"), size_text=_study_size,
             note="themes gathered on a copy of the study (not timed)"),
    Scenario("export-map", "Thematic map PNG (13 themes, 87 subthemes, 100 codes, counts)", w_export_map,
             probe=needs("exporters.maps", "qualcode.store.themes"), size_text=_study_size),
    Scenario("qdpx-export", "QDPX export (whole study)", w_qdpx_export, probe=needs("exporters.refi_qda"),
             size_text=_study_size),
    Scenario("qdpx-import", "QDPX import into a new study", w_qdpx_import, probe=needs("importers.refi_qda"),
             size_text=_study_size),
    Scenario("anon-scan", "Anonymisation scan, register + rules (whole study)", _anon(False),
             probe=needs("qualcode.anonymise.scan"), size_text=_study_size,
             note="on a copy of the study, a new key file each run"),
    Scenario("anon-ner", "Anonymisation scan with spaCy NER (sample of documents)", _anon(True),
             probe=needs("qualcode.anonymise.scan", "spacy"),
             size_text=lambda ctx: f"{ctx['ner_documents']} documents",
             note="the time includes loading the spaCy model, as a scan does"),
]

BY_ID = {s.id: s for s in SCENARIOS}


def resolve(name: str) -> Callable[[dict], dict]:
    """``import:product`` -> the worker function."""
    if name == "build":
        return w_build
    sid, _, role = name.partition(":")
    sc = BY_ID[sid]
    fn = sc.product if role == "product" else sc.baseline
    if fn is None:
        raise KeyError(name)
    return fn


def main(argv: list[str]) -> int:
    name, ctx_path = argv
    ctx = json.loads(Path(ctx_path).read_text())
    out = resolve(name)(ctx)
    out.setdefault("self_rss_kb", _self_rss_kb())
    if len(_CPU) == len(out.get("times", [])):
        out.setdefault("cpu", list(_CPU))
    Path(ctx["result"]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
