"""Participants and speaker-label mapping."""

from __future__ import annotations

import math
from pathlib import Path

import click

from qualcode.cli import DefaultGroup
from qualcode.cli.common import JSON, STUDY, WHO, emit, opened, parse_assignments, say, table
from qualcode.csvfile import read_rows
from qualcode.errors import InvalidInput


@click.group()
def participants():
    """Participants: labels (P1, PTV3, S5), groups and typed attributes."""


def _render_participants(ps) -> str:
    keys: list[str] = []
    for p in ps:
        for k in p.attributes:
            if k not in keys:
                keys.append(k)
    return table([(p.label, p.group, *(p.attributes.get(k, "") for k in keys)) for p in ps],
                 ["label", "group", *keys], max_width=30)


@participants.command("list")
@STUDY
@click.option("--group", help="Only this group.")
@click.option("--names", is_flag=True, help="Also show recorded real names (before anonymisation).")
@JSON
def participants_list(study, group, names, as_json):
    """List participants with their attributes."""
    with opened(study) as s:
        ps = s.participants.list(group)
    if names and not as_json:
        click.echo(table([(p.label, p.group, p.name or "") for p in ps], ["label", "group", "name"]))
        return
    emit(ps, as_json, _render_participants)


@participants.command("add")
@STUDY
@click.argument("label")
@click.option("--group", help="Group (default: the label's prefix, e.g. PTV).")
@click.option("--name", help="Real name, kept until anonymisation (feeds the anonymisation register).")
@click.argument("attributes", nargs=-1, metavar="[KEY=VALUE]...")
@WHO
@JSON
def participants_add(study, label, group, name, attributes, who, as_json):
    """Add participant LABEL with optional attributes, e.g. age=52 role=Patient."""
    with opened(study, actor=who) as s:
        p = s.participants.add(label, group=group, name=name, attributes=parse_assignments(attributes))
    emit(p, as_json, lambda p: f"Added {p.label} ({p.group})")


@participants.command("set")
@STUDY
@click.argument("label")
@click.argument("attributes", nargs=-1, required=True, metavar="KEY=VALUE...")
@WHO
@JSON
def participants_set(study, label, attributes, who, as_json):
    """Set attributes of participant LABEL (KEY= with no value removes one; group=, name= too)."""
    with opened(study, actor=who) as s:
        p = s.participants.set(label, parse_assignments(attributes))
    emit(p, as_json, lambda p: _render_participants([p]))


@participants.command("import")
@STUDY
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@WHO
@JSON
def participants_import(study, csv_file, who, as_json):
    """Add or update participants from CSV (a 'label' column; 'group', 'name'; others typed attributes)."""
    with opened(study, actor=who) as s:
        result = s.participants.import_csv(csv_file)
    emit(result, as_json, lambda r: f"Participants: {r['added']} added, {r['updated']} updated")


@participants.command("band")
@STUDY
@click.argument("name")
@click.option("--from", "source", required=True, help="Numeric attribute to band, e.g. years_experience.")
@click.option("--edges", required=True, help='Upper edges, comma separated, e.g. "0.5,5".')
@click.option("--labels", required=True,
              help='One more label than edges, e.g. "new,experienced,highly experienced".')
@WHO
@JSON
def participants_band(study, name, source, edges, labels, who, as_json):
    """Derive attribute NAME from bands of a numeric attribute (value < edge -> label)."""
    try:
        edge_values = [float(e) for e in edges.split(",")]
    except ValueError:
        raise InvalidInput(f"--edges must be numbers separated by commas, not {edges!r}") from None
    if not all(math.isfinite(e) for e in edge_values):
        raise InvalidInput(f"--edges must be finite numbers, not {edges!r}")
    label_values = [x.strip() for x in labels.split(",")]
    with opened(study, actor=who) as s:
        n = s.participants.define_band(name, source, edge_values, label_values)
        ps = s.participants.list()
    emit({"band": name, "updated": n}, as_json,
         lambda r: f"{name}: derived from {source} for {sum(1 for p in ps if name in p.attributes)} participants")


@click.group(cls=DefaultGroup, default_command="list")
def speakers():
    """Speaker labels and the participants they map to (`qualcode speakers STUDY.qc` lists them)."""


@speakers.command("list")
@STUDY
@click.option("--unmapped", is_flag=True, help="Only labels not mapped to a participant or role.")
@click.option("--document", help="Only this document.")
@JSON
def speakers_list(study, unmapped, document, as_json):
    """List speaker labels per document, with turns and mapping."""
    with opened(study) as s:
        rows = s.speakers.list(unmapped_only=unmapped, document=document)
    def render(rs):
        if not rs:
            return "All speaker labels are mapped." if unmapped else "No speaker labels."
        return table([(r["document"], r["speaker"], r["turns"],
                       r["participant"] or r["role"] or "UNMAPPED") for r in rs],
                     ["document", "speaker", "turns", "maps to"])
    emit(rows, as_json, render)


@speakers.command("map")
@STUDY
@click.argument("label")
@click.argument("target", metavar="PARTICIPANT|interviewer|unknown|other")
@click.option("--document", help="Only in this document (default: everywhere).")
@JSON
def speakers_map(study, label, target, document, as_json):
    """Map speaker LABEL to a participant label or a role."""
    with opened(study) as s:
        result = s.speakers.map(label, target, document)
    emit(result, as_json, lambda r: f"{label} -> {r['participant'] or r['role']}"
         + (f" in {document}" if document else ""))
    if result.get("warning") and not as_json:
        say(f"warning: {result['warning']}")


@speakers.command("import")
@STUDY
@click.argument("mapping", type=click.Path(dir_okay=False, path_type=Path), metavar="CSV")
@JSON
def speakers_import(study, mapping, as_json):
    """Map labels from CSV (columns speaker, participant, optional document) or TOML.

    TOML: a [speakers] table of "label" = "P1" pairs for the whole study, and
    [documents."DOCUMENT"] tables for labels such as R or I that differ per document.
    """
    rows = read_toml_mapping(mapping) if mapping.suffix.lower() == ".toml" else read_rows(mapping, lower_headers=True)
    with opened(study) as s:
        n = s.speakers.import_mapping(rows, source=str(mapping))
        left = s.speakers.list(unmapped_only=True)
    emit({"mapped": n, "unmapped": left}, as_json,
         lambda r: f"Mapped {n} speaker labels; {len(left)} still unmapped")


def read_toml_mapping(path: Path) -> list[dict[str, str]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    rows = [{"speaker": k, "participant": v} for k, v in data.get("speakers", {}).items()]
    for document, table_ in data.get("documents", {}).items():
        rows += [{"speaker": k, "participant": v, "document": document} for k, v in table_.items()]
    if any(not isinstance(r["participant"], str) for r in rows):
        raise InvalidInput(f"{path}: every mapping value must be a participant label in quotes")
    unknown = set(data) - {"speakers", "documents"}
    if unknown:
        raise InvalidInput(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; use [speakers] and [documents.NAME]")
    return rows


COMMANDS = [participants, speakers]
