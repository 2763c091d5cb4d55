"""Double coding from the command line: agreement, assign, disagreements, reconcile, decisions.

``--coders``, ``--codes``, ``--documents`` (and ``--span``) take several values after one flag
(``--coders Amira Ben``) or the flag repeated; give STUDY.qc first.
"""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.agreement import reconcile as rec
from qualcode.agreement.report import fmt_value, text_report
from qualcode.agreement.units import (OVERLAPS, SENTENCIZERS, UNITS, agreement as compute_agreement, stat_keys,
                                      plural)
from qualcode.cli import DefaultGroup
from qualcode.cli.common import ALLOW_LEAKS, JSON, STUDY, emit, leaks_allowed, opened, parse_span, say, table
from qualcode.errors import InvalidInput

MULTI = {"--coders", "--codes", "--code", "--documents", "--document", "--span"}


def _expand(args: list[str]) -> list[str]:
    """``--coders A B --unit turn`` -> ``--coders A --coders B --unit turn``."""
    out: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        out.append(token)
        i += 1
        if token in MULTI:
            first = True
            while i < len(args) and (first or (not args[i].startswith("-")
                                               and not args[i].lower().endswith(".qc"))):
                if not first:
                    out.append(token)
                out.append(args[i])
                i += 1
                first = False
    return out


class MultiValueCommand(click.Command):
    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _expand(list(args)))


class MultiDefaultGroup(DefaultGroup):
    def parse_args(self, ctx, args):
        return super().parse_args(ctx, _expand(list(args)))


class Share(click.ParamType):
    """A share: 0.9 or 90%."""

    name = "share"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"expected a share such as 0.9 or 90%, not {value!r}", param, ctx)


SHARE = Share()


def _distinct(coders) -> int:
    """How many different coders are named (names compare as the store does, ignoring case)."""
    return len({str(c).strip().casefold() for c in coders if str(c).strip()})


def _two_coders(coders, what: str) -> None:
    """Refuse fewer than two different coders, before the study is opened (one line, exit 2).

    The library still answers for one coder (every figure NaN with its reason)."""
    if _distinct(coders) < 2:
        raise InvalidInput(f"{what} needs at least two different coders, e.g. --coders Amira Ben")


# The file each option writes, by suffix: Word and PNG are refused under another name, because
# the name would lie about the content; CSV and Markdown are plain text and take any name.
SUFFIXES = {"--docx": (".docx",), "--heatmap": (".png",)}


def _check_targets(targets: dict[str, Path | None]) -> None:
    for option, target in targets.items():
        if target is None:
            continue
        wanted = SUFFIXES.get(option)
        if wanted and target.suffix.lower() not in wanted:
            raise InvalidInput(f"{option} writes a {wanted[0]} file: name it like "
                               f"{target.with_suffix(wanted[0]).name}, not {target.name}")
        if not target.parent.exists():
            raise InvalidInput(f"folder {target.parent} does not exist")


def _coders_option(required: bool = True):
    return click.option("--coders", multiple=True, required=required, metavar="A B [...]",
                        help="The coders to compare (first = A, second = B).")


UNIT_OPTIONS = [
    click.option("--codes", "--code", "codes", multiple=True, metavar="CODE...",
                 help="Only these codes (default: every code the coders used)."),
    click.option("--documents", "--document", "documents", multiple=True, metavar="DOC...",
                 help="Only these documents (still only those coded by every coder)."),
    click.option("--all-documents", is_flag=True,
                 help="Count selected documents even if a coder did not code them."),
    click.option("--threshold", type=SHARE, default=0.9, show_default=True,
                 help="Segment level: minimum overlap for a match (0.9 or 90%)."),
    click.option("--overlap", type=click.Choice(OVERLAPS), default="union", show_default=True,
                 help="Segment level: overlap = intersection / union, or / shorter span."),
    click.option("--min-overlap", type=SHARE, default=0.0, show_default=True,
                 help="Turn/sentence/document: share of the unit a coding must cover (0 = any)."),
    click.option("--sentencizer", type=click.Choice(SENTENCIZERS), default="regex",
                 show_default=True, help="Sentence level: rule-based regex or spaCy sentencizer."),
]


def unit_options(f):
    for option in reversed(UNIT_OPTIONS):
        f = option(f)
    return f


def _unit_kwargs(codes, documents, all_documents, threshold, overlap, min_overlap, sentencizer):
    return dict(codes=list(codes) or None, documents=list(documents) or None,
                all_documents=all_documents, threshold=threshold, overlap=overlap,
                min_overlap=min_overlap, sentencizer=sentencizer)


# ---------------------------------------------------------------------------------------------
# agreement


@click.group(cls=MultiDefaultGroup, default_command="compute")
def agreement():
    """Inter-coder agreement at an explicit unit: `qualcode agreement STUDY.qc --coders A B`.

    Subcommands: compute (the default; see `qualcode agreement compute --help` for the units
    and options) and rounds (the figures kept per round).
    """


@agreement.command("compute", cls=MultiValueCommand)
@STUDY
@_coders_option()
@click.option("--unit", type=click.Choice(UNITS), default="turn", show_default=True,
              help="Unit of analysis.")
@unit_options
@click.option("--exclude-uncoded", is_flag=True,
              help="Character level: leave out text no coder coded (overlap share only).")
@click.option("--nvivo", "nvivo_compat", is_flag=True,
              help="Character level: report K = 1 where there is no variation, as NVivo does.")
@click.option("--bootstrap", type=click.IntRange(0, 100_000), default=0,
              help="Bootstrap resamples for 95 % confidence intervals (e.g. 1000). Whole documents "
                   "are resampled (fewer than 10 give a warning): the units of one transcript are "
                   "not independent.")
@click.option("--resample", type=click.Choice(["documents", "units"]), default="documents", show_default=True,
              help="What the bootstrap draws: whole documents, or (turn, sentence and document units) "
                   "the units one by one, as if independent, which gives narrower intervals.")
@click.option("--seed", type=int,
              help="Seed for the bootstrap (printed when not given; ignored, with a warning, "
                   "without --bootstrap).")
@click.option("--cells", is_flag=True, help="Also show every code x document figure.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every figure to a CSV file (comma-separated text, whatever the name).")
@click.option("--markdown", "md_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the tables as Markdown (plain text, whatever the name).")
@click.option("--docx", "docx_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the tables to a Word document (the name must end in .docx).")
@click.option("--heatmap", "png_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a codes x documents heatmap (the name must end in .png).")
@click.option("--heatmap-stat", type=click.Choice(["cohen", "fleiss", "alpha", "percent", "bp"]),
              help="Statistic of the heatmap (default: the headline kappa).")
@click.option("--save-round", is_flag=True, help="Keep these figures as the next agreement round.")
@click.option("--by", metavar="NAME", help="Who saves the round (for the audit log; default $QUALCODE_CODER).")
@ALLOW_LEAKS
@JSON
def agreement_compute(study, coders, unit, codes, documents, all_documents, threshold, overlap,
                      min_overlap, sentencizer, exclude_uncoded, nvivo_compat, bootstrap, resample, seed,
                      cells, csv_file, md_file, docx_file, png_file, heatmap_stat, save_round,
                      by, allow_leaks, as_json):
    """Agreement per code, per document and pooled, with N units, prevalence and the methods
    sentence. Only documents coded by every named coder count as double-coded; at least two
    different coders are needed. Warnings (too few documents to resample, rare codes, nothing
    double-coded) are printed under the tables and listed in JSON as "warnings"."""
    _two_coders(coders, "agreement")
    _check_targets({"--csv": csv_file, "--markdown": md_file, "--docx": docx_file,
                    "--heatmap": png_file})
    if heatmap_stat:  # checked before the study is read, which can fill its span cache
        keys = stat_keys(unit, _distinct(coders), exclude_uncoded)
        if heatmap_stat not in keys:
            raise InvalidInput(f"--heatmap-stat {heatmap_stat} is not reported at {unit} level "
                               f"(have: {', '.join(keys)})")
    with opened(study, actor=by) as s:
        report = compute_agreement(
            s, list(coders), unit, exclude_uncoded=exclude_uncoded, nvivo_compat=nvivo_compat,
            bootstrap=bootstrap, seed=seed, resample=resample,
            **_unit_kwargs(codes, documents, all_documents, threshold, overlap, min_overlap,
                           sentencizer))
        if heatmap_stat and heatmap_stat not in report.stat_keys:
            raise InvalidInput(f"--heatmap-stat {heatmap_stat} is not reported at {unit} level "
                               f"(have: {', '.join(report.stat_keys)})")
        files = {}
        if csv_file or md_file or docx_file or png_file:
            from exporters import agreement as export

            with leaks_allowed(allow_leaks):
                files = _write_files(export, s, report, csv_file, md_file, docx_file, png_file,
                                     heatmap_stat, cells)
        saved = rec.save_round(s, report, by) if save_round else None
    if as_json:
        data = report.as_dict(cells=True)
        data["files"] = files
        data["saved_round"] = saved
        emit(rec._clean(data), True)
        return
    click.echo(text_report(report, per_document=True, cells=cells))
    for kind, name in files.items():
        say(f"Wrote {kind}: {name}")
    if saved:
        say(f"Saved as agreement round {saved['round']}.")


def _write_files(export, s, report, csv_file, md_file, docx_file, png_file, heatmap_stat, cells) -> dict:
    """Each requested file, through the export door (and its leak guard)."""
    files = {}
    if csv_file:
        files["csv"] = str(export.write_csv(s, report, csv_file))
    if md_file:
        files["markdown"] = str(export.write_markdown(s, report, md_file, cells=cells))
    if docx_file:
        files["docx"] = str(export.write_docx(s, report, docx_file, cells=cells))
    if png_file:
        files["heatmap"] = str(export.write_heatmap(s, report, png_file, heatmap_stat))
    return files


@agreement.command("rounds")
@STUDY
@click.option("--round", "round_no", type=int, help="Show this round's saved figures in full.")
@JSON
def agreement_rounds(study, round_no, as_json):
    """Agreement figures kept per round (`qualcode agreement ... --save-round`)."""
    with opened(study) as s:
        if round_no is not None:
            from qualcode.store.decisions import decisions

            data = decisions(s).get_round(round_no)
            emit(data, as_json, lambda rs: "\n\n".join(
                f"Round {r['round']} ({r['unit']}, {', '.join(r['coders'])}, {r['created']})\n"
                f"{r['headline']}" for r in rs))
            return
        rows = rec.rounds(s)
    emit(rows, as_json, lambda rs: table(
        [(r["round"], r["created"][:16].replace("T", " "), r["unit"], ", ".join(r["coders"]),
          r["statistic"], fmt_value(r["value"]), fmt_value(r["alpha"]), r["decisions"],
          r["created_by"]) for r in rs],
        ["round", "saved", "unit", "coders", "statistic", "value", "alpha", "decisions", "by"])
        if rs else "No agreement rounds saved yet (qualcode agreement STUDY.qc --coders A B "
                   "--save-round).")


# ---------------------------------------------------------------------------------------------
# assign


@click.command(cls=MultiValueCommand)
@STUDY
@click.option("--coder", help="The second coder who gets the documents.")
@click.option("--sample", help="How many: a percentage (20%) or a number of documents (5).")
@click.option("--seed", type=click.IntRange(0), help="Random seed (printed when not given).")
@click.option("--documents", "--document", "documents", multiple=True, metavar="DOC...",
              help="Choose from these documents only (default: all).")
@click.option("--list", "list_only", is_flag=True, help="List the assignments made so far.")
@JSON
def assign(study, coder, sample, seed, documents, list_only, as_json):
    """Choose a reproducible random subset of documents for double coding and record it."""
    with opened(study) as s:
        if list_only:
            rows = rec.assignments(s, coder)
            emit(rows, as_json, lambda rs: table(
                [(r["coder"], r["document"], r["sample"], r["seed"], r["created"][:10])
                 for r in rs], ["coder", "document", "sample", "seed", "assigned"])
                if rs else "No documents assigned yet.")
            return
        if not coder or not sample:
            raise InvalidInput("say who and how many: --coder NAME --sample 20% (or --list)")
        r = rec.assign_sample(s, coder, sample, seed, documents=list(documents) or None)
    emit(r, as_json, lambda r: "\n".join(
        [(f"{r['coder']}: {r['n']:,} of {plural(r['of'], 'document')} (sample {r['sample']}, "
          f"seed {r['seed']})")]
        + [f"  {d}" + ("  (already assigned)" if d in r["already_assigned"] else "")
           for d in r["documents"]]))


# ---------------------------------------------------------------------------------------------
# disagreements, reconcile, decisions


def _span_text(spans) -> str:
    return ", ".join(f"{s}:{e}" for s, e in spans) or "-"


def _render_items(items, coders, full: bool, empty: str = "No disagreements.") -> str:
    if not items:
        return empty
    count = plural(len(items), "disagreement") + "."
    if not full:
        return table([(i.id, i.document, i.code, *(_span_text(i.spans[c]) for c in i.spans),
                       i.kind, i.status, i.text) for i in items],
                     ["id", "document", "code", *list(items[0].spans), "kind", "status", "text"],
                     max_width=50) + f"\n{count}"
    blocks = []
    for i in items:
        lines = [f"[{i.id}] {i.document} · {i.code} · {i.kind} ({i.status})"]
        for name, spans in i.spans.items():
            if spans:
                for (s, e), text in zip(spans, i.span_text(name)):
                    lines.append(f"  {name} {s}:{e}: “{' '.join(text.split())}”")
            else:
                lines.append(f"  {name}: not coded")
        lines.append(f"  context: …{' '.join(i.before.split())} [{' '.join(i.text.split())}] "
                     f"{' '.join(i.after.split())}…")
        if i.decision:
            d = i.decision
            lines.append(f"  decided: {d['decision']} by {d['decided_by']} (round {d['round']}): "
                         f"{d['rationale']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + f"\n\n{count}"


@click.command(cls=MultiValueCommand)
@STUDY
@_coders_option()
@click.option("--unit", type=click.Choice(UNITS), default="character", show_default=True,
              help="What counts as a disagreement (character: any difference).")
@unit_options
@click.option("--all", "include_decided", is_flag=True, help="Include already decided ones.")
@click.option("--full", is_flag=True, help="Every coder's text and the context, not a table.")
@click.option("--limit", type=click.IntRange(1), help="At most this many.")
@JSON
def disagreements(study, coders, unit, codes, documents, all_documents, threshold, overlap,
                  min_overlap, sentencizer, include_decided, full, limit, as_json):
    """Every disagreement: document, code, each coder's spans, the text and its context.

    Ids are stable while the codings involved do not change; act on them with `qualcode reconcile`.
    When no document was coded by every named coder, it says so (on stderr with --json).
    """
    _two_coders(coders, "listing disagreements")
    kwargs = _unit_kwargs(codes, documents, all_documents, threshold, overlap, min_overlap,
                          sentencizer)
    empty = "No disagreements."
    with opened(study) as s:
        found = rec.disagreements(s, list(coders), unit, include_decided=include_decided, **kwargs)
        if not found:
            from qualcode.agreement.units import nothing_compared, select

            why = nothing_compared(select(s, list(coders), kwargs["codes"], kwargs["documents"],
                                          all_documents))
            if why:
                empty = why[0].upper() + why[1:] + "."
    if limit:
        found = found[:limit]
    if as_json and not found and empty != "No disagreements.":
        say(empty)
    emit([i.as_dict() for i in found], as_json, lambda _: _render_items(found, coders, full, empty))


@click.command(cls=MultiValueCommand)
@STUDY
@_coders_option()
@click.option("--id", "ident", metavar="ID", help="The disagreement (id or prefix from the listing).")
@click.option("--decision", type=click.Choice(rec.DECISIONS),
              help="keep-a / keep-b (first / second coder), union, intersection, drop, edit.")
@click.option("--span", "spans", multiple=True, metavar="S:E",
              help="With --decision edit: the consensus span(s).")
@click.option("--rationale", help="Why (kept in the decision log).")
@click.option("--by", metavar="NAME", help="Who decides (default $QUALCODE_CODER; a third coder adjudicates).")
@click.option("--accept-agreed", is_flag=True,
              help="Copy every place the coders agree on to the consensus coder instead.")
@click.option("--unit", type=click.Choice(UNITS), default="character", show_default=True,
              help="With --accept-agreed: the unit at which places count as agreed.")
@JSON
def reconcile(study, coders, ident, decision, spans, rationale, by, accept_agreed, unit, as_json):
    """Resolve a disagreement: consensus codings + a decision log entry (who, when, why, round).

    Who decides: --by, else $QUALCODE_CODER; a coder other than the compared ones adjudicates.
    """
    _two_coders(coders, "reconciliation")
    with opened(study, actor=by) as s:
        if accept_agreed:
            if ident or decision or spans:
                raise InvalidInput("--accept-agreed takes no --id, --decision or --span")
            r = rec.accept_agreed(s, list(coders), unit, by=by,
                                  rationale=rationale or "the coders agreed")
            emit(r, as_json, lambda r: f"Accepted {plural(r['accepted'], 'agreed place')} "
                                       f"({plural(r['codings'], 'consensus coding')}).")
            return
        if not ident or not decision:
            raise InvalidInput("give --id ID and --decision (or --accept-agreed)")
        d = rec.decide(s, list(coders), ident, decision, rationale or "", by=by,
                       spans=[parse_span(x) for x in spans] or None)
    emit(d, as_json, lambda d: (
        f"Decision {d['id']} (round {d['round']}): {d['decision']} for {d['code']} in "
        f"{d['document']} by {d['decided_by']}{' (adjudicated)' if d['adjudicated'] else ''}; "
        f"consensus {_span_text(d['result'])}"))


@click.command()
@STUDY
@click.option("--round", "round_no", type=int, help="Only this round.")
@click.option("--document", help="Only this document.")
@click.option("--code", help="Only this code.")
@JSON
def decisions(study, round_no, document, code, as_json):
    """The reconciliation decision log."""
    with opened(study) as s:
        rows = rec.decision_log(s, round_no, document, code)
    emit(rows, as_json, lambda rs: table(
        [(r["id"], r["round"], r["created"][:16].replace("T", " "), r["decided_by"]
          + (" (adj.)" if r["adjudicated"] else ""), r["document"], r["code"], r["decision"],
          _span_text(r["result"]), r["rationale"]) for r in rs],
        ["id", "round", "when", "by", "document", "code", "decision", "consensus", "rationale"])
        if rs else "No decisions yet.")


COMMANDS = [agreement, assign, disagreements, reconcile, decisions]
