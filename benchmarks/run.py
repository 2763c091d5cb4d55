"""Run the benchmark scenarios and write ``results.json`` and ``RESULTS.md``.

    python -m benchmarks.run --quick             # smoke size (< 1 minute), updates the quick section
    python -m benchmarks.run --full              # study size (1,000 transcripts, 200,000 codings)
    python -m benchmarks.run --all               # quick then full: regenerates RESULTS.md for both
    python -m benchmarks.run --quick --check     # CI: exit 1 only if a scenario crashed; writes nothing
    python -m benchmarks.run --full --only import --only tui-open   # some scenarios (merged into results)
    python -m benchmarks.run --render            # rewrite RESULTS.md from results.json

Each scenario runs in its own worker process (``benchmarks.scenarios``); its median over the
repetitions and its peak RSS (``os.wait4``'s ``ru_maxrss``) are reported, with the baseline's where
there is one, and the ratio product time / baseline time. Corpora and studies are cached under
``benchmarks/out/`` (git-ignored); the study is rebuilt on every complete run (``--rebuild`` forces
it with ``--only``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import corpus
from benchmarks.scenarios import BY_ID, SCENARIOS, Scenario, Target

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

# Repetitions per size: (product, baseline). The alpha matrix has 1,000,000 units at full size.
SETTINGS = {
    "quick": {"repeat": 3, "baseline_repeat": 2, "import_repeat": 2, "export_repeat": 1, "tui_moves": 15,
              "ner_documents": 1, "alpha_units": 100_000, "budget_s": 60, "timeout": 300},
    "full": {"repeat": 7, "baseline_repeat": 3, "import_repeat": 3, "export_repeat": 3, "tui_moves": 200,
             "ner_documents": 10, "alpha_units": 1_000_000, "budget_s": 300, "timeout": 3600},
}


# ---------------------------------------------------------------------------------------------
# Machine


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    commit, dirty = None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--", "qualcode", "tui", "importers",
                                 "exporters"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    versions = {}
    for mod in ("numpy", "textual", "krippendorff", "sqlite_utils"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001 - not installed
            versions[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "os": f"{platform.system()} {platform.release()}",
            "commit": commit, "uncommitted_product_changes": dirty, "packages": versions}


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_line(m: dict) -> str:
    commit = m.get("commit") or "?"
    if m.get("uncommitted_product_changes"):
        commit += " + uncommitted changes"
    return (f"{m['cpu']}, {m['cores']} cores, {m.get('memory_gb')} GB · Python {m['python']} · "
            f"SQLite {m['sqlite']} · numpy {m['packages'].get('numpy')} · textual {m['packages'].get('textual')}"
            f" · qualcode {commit}")


# ---------------------------------------------------------------------------------------------
# Running workers


def run_worker(name: str, ctx: dict, timeout: float) -> dict:
    """Run one worker process; return its result plus wall time and peak RSS (KB)."""
    with tempfile.TemporaryDirectory(prefix="qcbench-") as tmp:
        tmp = Path(tmp)
        ctx = {**ctx, "tmp": str(tmp), "result": str(tmp / "result.json")}
        (tmp / "config").mkdir()
        ctx_path = tmp / "ctx.json"
        ctx_path.write_text(json.dumps(ctx))
        # Exports go through the anonymisation guard, which (rightly) refuses the corpus's real
        # names; allowing leaks keeps the guard's check in the timing but lets the file be written.
        env = {**os.environ, "QUALCODE_CONFIG_DIR": str(tmp / "config"), "PYTHONHASHSEED": "0",
               "QUALCODE_ALLOW_LEAKS": "1"}
        env.pop("QUALCODE_CODER", None)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        with open(tmp / "stderr", "wb") as err:
            t0 = time.perf_counter()
            p = subprocess.Popen([sys.executable, "-m", "benchmarks.scenarios", name, str(ctx_path)],
                                 cwd=ROOT, env=env, stdout=err, stderr=err)
            killed = threading.Event()

            def kill() -> None:
                killed.set()
                p.kill()

            timer = threading.Timer(timeout, kill)
            timer.start()
            _, status, usage = os.wait4(p.pid, 0)
            timer.cancel()
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0 or not Path(ctx["result"]).exists():
            tail = (tmp / "stderr").read_text(errors="replace").strip().splitlines()[-12:]
            why = f"timed out after {timeout:.0f} s" if killed.is_set() else f"exit {p.returncode}"
            raise WorkerError(f"{name}: {why}: " + " | ".join(tail))
        out = json.loads(Path(ctx["result"]).read_text())
    out["wall"] = wall
    out["worker_rss_kb"] = usage.ru_maxrss
    return out


class WorkerError(RuntimeError):
    pass


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def evaluate(target: Target, row: dict) -> dict:
    med, base, rss = row.get("median_s"), (row.get("baseline") or {}).get("median_s"), row.get("peak_rss_mb")
    value, met, shown = None, None, ""
    if target.kind == "max_seconds" and med is not None:
        value, met = med, med <= target.value
        shown = ("> " if row.get("lower_bound") else "") + fmt_time(med)
    elif target.kind == "max_ratio" and med and base:
        value = med / base
        met, shown = value <= target.value, f"{value:.2f}x the baseline's time"
    elif target.kind == "min_speedup" and med and base:
        value = base / med
        met, shown = value >= target.value, f"{value:.1f}x faster"
    elif target.kind == "max_rss_mb" and rss is not None:
        value, met, shown = rss, rss <= target.value, f"{rss:.0f} MB"
    status = "not measured" if met is None else ("met" if met else "not met")
    return {"text": target.text, "kind": target.kind, "limit": target.value, "value": value,
            "measured": shown, "status": status}


# Baselines shared by several rows (the CLI start-up) run once per size.
_BASELINES: dict[tuple[str, str], dict] = {}


def run_scenario(sc: Scenario, ctx: dict, settings: dict, log) -> dict:
    row: dict = {"id": sc.id, "title": sc.title, "note": sc.note}
    repeat = settings["import_repeat"] if sc.id == "import" else settings["repeat"]
    wctx = {**ctx, **{k: v for k, v in settings.items() if k != "timeout"}, "repeat": repeat}
    try:
        row["size"] = sc.size_text(wctx) if sc.size_text else ""
    except Exception:  # noqa: BLE001 - missing context for a row that will not run
        row["size"] = ""
    reason = sc.probe() if sc.probe else None
    if reason or sc.product is None:
        row["status"] = reason or "not built yet"
        row["targets"] = [evaluate(t, {}) | {"status": "not built yet"} for t in sc.targets]
        return row
    t0 = time.perf_counter()
    try:
        out = run_worker(f"{sc.id}:product", wctx, settings["timeout"])
        row.update(status="ok", runs=[round(x, 6) for x in out["times"]], median_s=median(out["times"]),
                   median_cpu_s=median(out.get("cpu") or []), lower_bound=bool(out.get("lower_bound")),
                   peak_rss_mb=round((out.get("rss_kb") or out["worker_rss_kb"]) / 1024, 1),
                   info=out.get("info") or {})
        if out.get("size"):
            row["size"] = out["size"]
        skip = sc.baseline_probe() if sc.baseline is not None and sc.baseline_probe else None
        if skip:
            row["baseline"] = {"title": sc.baseline_title, "skipped": skip}
        elif sc.baseline is not None:
            try:
                shared = _BASELINES.get((ctx["size"], sc.baseline_title))
                b = shared or run_worker(f"{sc.id}:baseline", wctx, settings["timeout"])
                _BASELINES[(ctx["size"], sc.baseline_title)] = b
                row["baseline"] = {"title": sc.baseline_title, "runs": [round(x, 6) for x in b["times"]],
                                   "median_s": median(b["times"]), "median_cpu_s": median(b.get("cpu") or []),
                                   "peak_rss_mb": round((b.get("rss_kb") or b["worker_rss_kb"]) / 1024, 1)}
                if row["median_s"] and row["baseline"]["median_s"]:
                    row["ratio"] = row["median_s"] / row["baseline"]["median_s"]
                if sc.check_keys:
                    pc, bc = out.get("check") or {}, b.get("check") or {}
                    diff = [k for k in sc.check_keys if not _close(pc.get(k), bc.get(k))]
                    row["check"] = ("same result as the baseline (" + ", ".join(sc.check_keys) + ")"
                                    if not diff else "DIFFERENT from the baseline: " + ", ".join(
                                        f"{k} {pc.get(k)} vs {bc.get(k)}" for k in diff))
                    row["check_values"] = {k: pc.get(k) for k in sc.check_keys}
            except WorkerError as exc:
                row["baseline"] = {"title": sc.baseline_title, "error": str(exc)[-600:]}
    except WorkerError as exc:
        row.update(status="crashed", error=str(exc)[-1500:])
    row["seconds"] = round(time.perf_counter() - t0, 1)
    row["targets"] = [evaluate(t, row) for t in sc.targets]
    log(f"  {sc.id:22s} {row['status']:8s} median {fmt_time(row.get('median_s'))}"
        + (f"  baseline {fmt_time(row['baseline'].get('median_s'))}" if row.get("baseline") else "")
        + (f"  ratio {row['ratio']:.2f}" if row.get("ratio") else "") + f"  ({row['seconds']} s)")
    return row


def prepare(size: str, rebuild: bool, log) -> tuple[dict, dict | None]:
    """The corpus and the built study of one size; returns (context, build row or None)."""
    spec = corpus.SIZES[size]
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folder, manifest = corpus.corpus(spec, OUT)
    log(f"[{size}] corpus {folder.name}: {manifest['documents']} transcripts, {manifest['words']:,} words, "
        f"{manifest['codings']:,} codings ({time.perf_counter() - t0:.1f} s)")
    study = OUT / f"study-{size}-{spec.key()}.qc"
    info_path = study.with_suffix(".json")
    settings = SETTINGS[size]
    ctx = {"size": size, "corpus": str(folder), "manifest": manifest, "study": str(study),
           "alpha_units": settings["alpha_units"], "ner_documents": settings["ner_documents"],
           "largest": manifest["largest_document"]}
    build_row = None
    if rebuild or not study.exists() or not info_path.exists():
        log(f"[{size}] building the study (import + {manifest['codings']:,} codings) ...")
        t0 = time.perf_counter()
        try:
            out = run_worker("build", ctx, settings["timeout"])
        except WorkerError as exc:
            raise SystemExit(f"could not build the {size} study: {exc}") from None
        info = out["info"]
        info_path.write_text(json.dumps(info, indent=2))
        build_row = {"id": "load-codings", "title": BY_ID["load-codings"].title, "note": BY_ID["load-codings"].note,
                     "size": f"{info['study']['codings']:,} codings stored ({manifest['codings']:,} generated)",
                     "status": "ok", "runs": out["times"], "median_s": out["times"][0],
                     "peak_rss_mb": round(out["worker_rss_kb"] / 1024, 1),
                     "info": {"build_seconds": info["seconds"],
                              "per_coding_us": round(out["times"][0] / max(1, manifest["codings"]) * 1e6, 1)},
                     "targets": []}
        log(f"[{size}] built in {time.perf_counter() - t0:.1f} s: {info['seconds']}")
    info = json.loads(info_path.read_text())
    largest_chars = info["study"].get("largest_chars")
    if largest_chars is None:
        largest_chars = len((Path(folder) / "transcripts" / f"{manifest['largest_document']}.txt")
                            .read_text(encoding="utf-8"))
    ctx.update(study_info=info["study"], top_code=info["top_code"], top_code_codings=info["top_code_codings"],
               largest_chars=largest_chars)
    return ctx, build_row


def run_size(size: str, only: list[str] | None, rebuild: bool, log, save=None) -> dict:
    """Run the scenarios of one size; ``save(section)`` is called after every row (partial results
    survive an interrupted run: ``only`` lists the rows done so far until the run completes)."""
    started = time.perf_counter()
    load_before = _loadavg()
    ctx, build_row = prepare(size, rebuild or not only, log)
    rows = []
    wanted = [sc for sc in SCENARIOS if not only or sc.id in only]

    def section(done: bool) -> dict:
        partial = only or (None if done else [r["id"] for r in rows])
        return {"size": size, "spec": ctx["manifest"]["spec"], "manifest": ctx["manifest"],
                "study": ctx["study_info"], "machine": machine(),
                "run_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "load_average": {"before": load_before, "after": _loadavg()},
                "seconds": round(time.perf_counter() - started, 1), "only": partial, "scenarios": list(rows)}

    for sc in wanted:
        if sc.id == "load-codings":
            if build_row:
                rows.append(build_row)
            continue
        rows.append(run_scenario(sc, ctx, SETTINGS[size], log))
        if save is not None and sc is not wanted[-1]:
            save(section(False))
    return section(True)


def merge(old: dict | None, new: dict) -> dict:
    """Merge a partial run (``--only``) into the previous results of that size."""
    if not new.get("only") or not old or old.get("manifest", {}).get("key") != new["manifest"].get("key"):
        return new
    by_id = {r["id"]: r for r in old.get("scenarios", [])}
    for r in new["scenarios"]:
        by_id[r["id"]] = r
    order = [s.id for s in SCENARIOS]
    merged = {**old, "machine": new["machine"], "run_at": new["run_at"],
              "load_average_partial": new.get("load_average"),
              "scenarios": sorted(by_id.values(), key=lambda r: order.index(r["id"]) if r["id"] in order else 99)}
    merged["partial_updates"] = sorted(set(old.get("partial_updates", [])) | set(new["only"]))
    return merged


# ---------------------------------------------------------------------------------------------
# Rendering


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_table(section: dict) -> list[str]:
    lines = ["| scenario | size | median | CPU | peak RSS | baseline | baseline median | ratio | target |",
             "|---|---|---:|---:|---:|---|---:|---:|---|"]
    for r in section["scenarios"]:
        base = r.get("baseline") or {}
        if r["status"] != "ok":
            status = "**crashed**" if r["status"] == "crashed" else r["status"]
            tgt = "; ".join(f"{t['text']}: {t['status']}" for t in r.get("targets", []))
            lines.append(f"| {_cell(r['title'])} | {_cell(r.get('size', ''))} | {status} | | | | | | {_cell(tgt)} |")
            continue
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else ""
        tgt = "; ".join(f"{t['status']} ({t['measured']})" for t in r.get("targets", []))
        base_title = base.get("title", "")
        if base.get("error"):
            base_title += " (**baseline crashed**)"
        if base.get("skipped"):
            base_title += f" ({base['skipped']})"
        lines.append(
            f"| {_cell(r['title'])} | {_cell(r.get('size', ''))} | "
            f"{('> ' if r.get('lower_bound') else '') + fmt_time(r.get('median_s'))} | "
            f"{fmt_time(r.get('median_cpu_s')) if r.get('median_cpu_s') is not None else ''} | "
            f"{r.get('peak_rss_mb', 0):.0f} MB | {_cell(base_title)} | {fmt_time(base.get('median_s'))} | "
            f"{ratio} | {_cell(tgt)} |")
    return lines


def _load_text(la: dict) -> str:
    return f"{la.get('before')} before, {la.get('after')} after"


def render_notes(section: dict) -> list[str]:
    out = []
    for r in section["scenarios"]:
        bits = []
        if r.get("note"):
            bits.append(r["note"])
        if r.get("check"):
            bits.append(r["check"])
        info = r.get("info") or {}
        if r["id"] == "tui-cursor" and info:
            bits.append(f"p95 {info.get('p95_ms')} ms, max {info.get('max_ms')} ms, "
                        f"{info.get('codings_painted')} codings in the view's index")
        if r["id"] == "tui-start" and info:
            bits.append(f"home screen mounted after {info.get('home_screen_mounted_s')} s; its table is "
                        "filled by a worker thread")
        if r["id"] == "tui-open" and info:
            bits.append(f"app start (home screen ready) {info.get('app_start_s')} s; open including the "
                        f"pilot's idle wait {info.get('with_pilot_pause_s')} s")
        if r.get("lower_bound"):
            bits.append(f"**stopped after {fmt_time(r.get('median_s'))}** (time budget): the median is a lower bound")
        if r["id"].startswith(("export-", "qdpx-", "agreement-", "import", "anon-")) and info:
            bits.append(", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in info.items()))
        if r["id"] == "load-codings" and info:
            bits.append(f"{info.get('per_coding_us')} µs per coding; build steps (s): {info.get('build_seconds')}")
        if r["id"].startswith("lib-") and info:
            bits.append(f"first call {fmt_time(info.get('first_call_s'))}")
        if r.get("runs") and len(r["runs"]) > 1 and r["id"] != "tui-cursor":
            bits.append(f"{len(r['runs'])} runs, min {fmt_time(min(r['runs']))}, max {fmt_time(max(r['runs']))}")
        if r.get("error"):
            bits.append("error: " + r["error"][-300:])
        if (r.get("baseline") or {}).get("error"):
            bits.append("baseline error: " + r["baseline"]["error"][-300:])
        if bits:
            out.append(f"- **{r['id']}**: " + "; ".join(bits))
    return out


TARGET_ROWS = [
    ("Import ≤ 2× the raw-SQLite floor", "import", "import <= 2x the raw-SQLite floor"),
    ("Peak memory of a full import < 500 MB", "import", "peak memory of a full import < 500 MB"),
    ("Character-level agreement ≥ 20× faster than the per-character baseline", "agreement-character", None),
    ("Turn-level agreement ≥ 20× faster than the per-character baseline", "agreement-turn", None),
    ("Alpha no slower than the `krippendorff` package", "alpha", None),
    ("`qualcode info` on the full study < 100 ms", "cli-info", None),
    ("`qualcode codings --code X` on the full study < 100 ms", "cli-codings", None),
    ("`qualcode search` on the full study < 100 ms", "cli-search", None),
    ("TUI open < 0.5 s: the largest document", "tui-open", None),
    ("TUI open < 0.5 s: start until the home screen lists every document", "tui-start", None),
    ("TUI cursor moves < 16 ms", "tui-cursor", None),
    ("Exports: quote table DOCX (5,000 quotes), thematic map PNG", "export-docx", None),
    ("QDPX export and import", "qdpx-export", None),
    ("Anonymisation scan (register + rules; NER separately)", "anon-scan", None),
]


# Rows shown together with the first one in the targets table.
TARGET_EXTRA = {"export-docx": ("export-map",), "qdpx-export": ("qdpx-import",), "anon-scan": ("anon-ner",)}


def render_targets(results: dict) -> list[str]:
    section = results["sizes"].get("full") or results["sizes"].get("quick")
    if section is None:
        return []
    rows = {r["id"]: r for r in section["scenarios"]}
    lines = [f"Measured at the **{section['size']}** size.", "",
             "| target (issue 9) | measured | status |", "|---|---|---|"]
    for label, sid, text in TARGET_ROWS:
        r = rows.get(sid)
        if r is None:
            lines.append(f"| {label} | — | not run |")
            continue
        if r["status"] not in ("ok", "crashed"):
            lines.append(f"| {label} | — | {r['status']} |")
            continue
        if r["status"] == "crashed":
            lines.append(f"| {label} | — | **crashed** |")
            continue
        t = next((t for t in r.get("targets", []) if text is None or t["text"] == text), None)
        if t is None:
            extra = [rows[x] for x in TARGET_EXTRA.get(sid, ()) if x in rows and rows[x]["status"] == "ok"]
            shown = "; ".join(f"{x['id']} {('> ' if x.get('lower_bound') else '') + fmt_time(x.get('median_s'))}"
                              for x in [r, *extra])
            lines.append(f"| {label} | {shown} | built; no numeric target |")
            continue
        status = {"met": "**met**", "not met": "**not met**"}.get(t["status"], t["status"])
        lines.append(f"| {label} | {t['measured']} | {status} |")
    return lines


def render(results: dict) -> str:
    out = ["# Benchmark results", "",
           "Generated by `python -m benchmarks.run --all` (see [README.md](README.md) for what each "
           "scenario measures and how). Do not edit by hand.", "",
           "Times are medians of the runs (wall clock); *CPU* is the median CPU time (user + system) of "
           "the same runs, which other load on the machine inflates much less than the wall clock; "
           "*peak RSS* is the maximum resident set of the process doing the work (the `qualcode` child "
           "for CLI rows); *ratio* = product time ÷ baseline time (below 1: faster than the baseline). "
           "The machine has 2 cores; a load average above 2 means the run shared them with other work.",
           "", "## Targets", ""]
    out += render_targets(results)
    for size in ("full", "quick"):
        section = results["sizes"].get(size)
        if not section:
            continue
        spec, man, st = section["spec"], section["manifest"], section["study"]
        out += ["", f"## {size} size", "",
                f"Corpus: {man['documents']:,} transcripts ({man['focus_groups']} focus groups), "
                f"{man['words']:,} words, {man['characters']:,} characters, {man['turns']:,} turns, "
                f"{man['participants']:,} participants, {man['codes']} codes; {man['codings']:,} codings "
                f"generated for coders A and B (jitter {spec['jitter']}, swap {spec['swap']}, drop {spec['drop']}, "
                f"extra {spec['extra']}; seed {spec['seed']}), {st.get('codings', 0):,} stored after merging "
                f"overlaps.", "",
                f"Machine: {machine_line(section['machine'])}.", "",
                f"Run at {section['run_at']}, {section['seconds']} s in all"
                + (f"; load average (1, 5, 15 min) {_load_text(section.get('load_average'))}"
                   if section.get("load_average") else "")
                + (f"; rows updated separately since: {', '.join(section['partial_updates'])}"
                   if section.get("partial_updates") else "") + ".", ""]
        out += render_table(section)
        notes = render_notes(section)
        if notes:
            out += ["", "Notes:", ""] + notes
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------


def load_results() -> dict:
    if RESULTS_JSON.exists():
        try:
            return json.loads(RESULTS_JSON.read_text())
        except json.JSONDecodeError:
            pass
    return {"sizes": {}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the smoke size (default)")
    g.add_argument("--full", action="store_true", help="the study size: 1,000 transcripts, 200,000 codings")
    g.add_argument("--all", action="store_true", help="quick, then full")
    g.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from results.json")
    ap.add_argument("--only", action="append", metavar="SCENARIO",
                    help=f"run only this scenario (repeatable): {', '.join(s.id for s in SCENARIOS)}")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a scenario crashed (never on timing); writes no result files")
    ap.add_argument("--write", action="store_true", help="with --check: write the result files anyway")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached study even with --only")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args(argv)

    if args.list:
        for s in SCENARIOS:
            print(f"{s.id:22s} {s.title}")
        return 0
    if args.only:
        unknown = [o for o in args.only if o not in BY_ID]
        if unknown:
            ap.error(f"unknown scenario {', '.join(unknown)}; see --list")
    results = load_results()
    if args.render:
        RESULTS_MD.write_text(render(results))
        print(f"wrote {RESULTS_MD}")
        return 0
    sizes = ["quick", "full"] if args.all else (["full"] if args.full else ["quick"])

    def log(msg: str) -> None:
        print(msg, flush=True)

    crashed = []
    write = not args.check or args.write

    def save(size: str, section: dict, before: dict | None) -> None:
        results["sizes"][size] = merge(before, section)
        if write:
            results["generated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            RESULTS_JSON.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
            RESULTS_MD.write_text(render(results))

    for size in sizes:
        before = results["sizes"].get(size)
        section = run_size(size, args.only, args.rebuild, log,
                           save=lambda sec, size=size, before=before: save(size, sec, before))
        save(size, section, before)
        crashed += [f"{size}/{r['id']}" for r in section["scenarios"] if r["status"] == "crashed"]
        crashed += [f"{size}/{r['id']} (baseline)" for r in section["scenarios"]
                    if (r.get("baseline") or {}).get("error")]
        log(f"[{size}] done in {section['seconds']} s")
    if args.check:
        print("\n".join(render_table(results["sizes"][sizes[-1]])))
    if args.check and crashed:
        print("crashed: " + ", ".join(crashed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
