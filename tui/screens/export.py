"""Export screen: quote tables, thematic maps, framework matrices, participant tables, codebooks,
agreement reports and REFI-QDA files, written from the TUI.

The form only gathers options. Every file is written by the very function the CLI command calls
(``run_export`` below mirrors ``qualcode/cli/export.py``, ``refi.py`` and ``agreement.py`` call for
call), in a worker thread with its own ``Study`` connection, through the export door
(``qualcode.export.write_export``: anonymisation guard, atomic write). So the TUI and the CLI give
the same bytes for the same options.

- The format comes from the output file's suffix; the suffixes each exporter accepts are listed
  under the path (read from the exporters' own ``FORMATS``). A relative path starts in the study's
  folder, where the default name also points.
- A guard refusal (registered identifiers in the export) writes nothing and is shown with the
  identifiers it found; "Export anyway" is the CLI's ``--allow-leaks`` for that one export.
- An existing file is overwritten only after a confirmation (the CLI overwrites without asking).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Button, Checkbox, ContentSwitcher, Footer, Input, Label, OptionList, Select, SelectionList, Static,
)
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from qualcode.errors import CheckFailed, InvalidInput, QualcodeError
from qualcode.export import written
from qualcode.study import Study
from tui.keymap import key
from tui.screens.base import StatusBar, WorkScreen
from tui.screens.dialogs import ConfirmScreen, Dialog

# -- what can be exported, with which options ---------------------------------------------------


@dataclass(frozen=True)
class Kind:
    id: str
    label: str
    suffix: str          # default format
    name: str            # default file name after the study's stem: demo-quotes.docx
    about: str
    strict: bool = True  # the suffix must be one of formats(); REFI-QDA files take any name, as in the CLI


KINDS = (
    Kind("quotes", "Quote table", "docx", "-quotes",
         "Theme | subtheme | quote | attribution, grouped by theme (qualcode export quotes)."),
    Kind("map", "Thematic map", "png", "-map",
         "Theme → subthemes → codes, as a figure or as text (qualcode export map)."),
    Kind("matrix", "Framework matrix", "xlsx", "-matrix",
         "Participants × themes or codes: memos and quote references (qualcode export matrix)."),
    Kind("participants", "Participant table", "docx", "-participants",
         "Participant characteristics by group, COREQ item 16 (qualcode export participants)."),
    Kind("codebook", "Codebook", "docx", "-codebook",
         "The code tree with definitions, counts and themes (qualcode export codebook)."),
    Kind("agreement", "Agreement report", "docx", "-agreement",
         "Inter-coder agreement of two coders at one unit: tables, or a codes × documents heatmap "
         "as .png (qualcode agreement --csv/--markdown/--docx/--heatmap)."),
    Kind("qdpx", "REFI-QDA project", "qdpx", "",
         "The whole study for NVivo, ATLAS.ti, MAXQDA, QualCoder … (qualcode export qdpx).", strict=False),
    Kind("qdc", "REFI-QDA codebook", "qdc", "-codebook",
         "The codebook, themes as sets of codes (qualcode export qdc).", strict=False),
)
BY_ID = {k.id: k for k in KINDS}
EXPORTER_MODULES = {"quotes": "exporters.quotes", "map": "exporters.maps", "matrix": "exporters.matrix",
                    "participants": "exporters.participants_table", "codebook": "exporters.codebook"}
# exporters.agreement has no FORMATS: these are the files `qualcode agreement` can write.
AGREEMENT_FORMATS = {"csv": "write_csv", "md": "write_markdown", "markdown": "write_markdown",
                     "docx": "write_docx", "png": "write_heatmap"}


def formats(kind: str) -> tuple[str, ...]:
    """The suffixes the exporter of ``kind`` accepts (its own list, imported when needed)."""
    if kind in EXPORTER_MODULES:
        return tuple(importlib.import_module(EXPORTER_MODULES[kind]).FORMATS)
    if kind == "agreement":
        return tuple(AGREEMENT_FORMATS)
    return (BY_ID[kind].suffix,)


@dataclass(frozen=True)
class Field:
    """One option of an export, as the form shows it; ``name`` is the key ``run_export`` reads."""

    name: str
    label: str
    widget: str          # check, text, int, list, choice, coder, themes
    default: Any = None
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    hint: str = ""


def _themes(label: str) -> Field:
    return Field("themes", label, "themes")


CODER = Field("coder", "Coder", "coder", hint="blank: every coder")
DISCARDED = Field("discarded", "Include discarded themes", "check", False)
FIELDS: dict[str, tuple[Field, ...]] = {
    "quotes": (
        _themes("Themes (each with its subthemes; none ticked: every theme)"),
        Field("key_only", "Only key quotes", "check", False),
        Field("template", "Attribution template", "text", "({label})"),
        CODER, DISCARDED,
        Field("title", "Heading of the table (DOCX, Markdown)", "text", "", hint="blank: Illustrative quotes"),
    ),
    "map": (
        _themes("Themes (each with its subthemes; none ticked: every theme)"),
        Field("counts", "Show counts (extracts per code, participants per theme)", "check", False),
        DISCARDED,
        Field("no_codes", "Themes and subthemes only (no codes)", "check", False),
        Field("layout", "Layout", "choice", "auto", ("auto", "map", "tree"),
              hint="auto: the two-sided map when it fits a printed column, else a tree"),
        Field("title", "Centre label", "text", "", hint="blank: the study title"),
        Field("dpi", "PNG resolution (dpi)", "int", None, low=50, high=1200, hint="blank: 300"),
        Field("coder", "Count only this coder's codings (with counts)", "coder", hint="blank: every coder"),
    ),
    "matrix": (
        Field("by", "Columns", "choice", "themes", ("themes", "subthemes", "codes")),
        Field("group_by", "Group rows by attribute(s)", "list", "group"),
        Field("sort_by", "Sort rows by attribute(s)", "list", ""),
        Field("attributes", "Attribute columns", "list", ""),
        Field("excerpts", "Excerpts shortened to N characters (0: none)", "int", 0, low=0),
        CODER, DISCARDED,
    ),
    "participants": (
        Field("attributes", "Characteristics", "list", "", hint="blank: age and gender when recorded"),
        Field("suppress_below", "Show counts below this as <N (0: no suppression)", "int", 5, low=0),
        Field("groups", "Group columns, in this order", "list", "", hint="blank: every group"),
    ),
    "codebook": (),
    "agreement": (
        Field("coder_a", "Coder A", "coder"),
        Field("coder_b", "Coder B", "coder"),
        Field("unit", "Unit of analysis", "choice", "turn",
              ("character", "segment", "turn", "sentence", "document")),
        Field("cells", "Also every code × document figure (Markdown, DOCX)", "check", False),
    ),
    "qdpx": (
        Field("offsets", "Selection positions count", "choice", "codepoint", ("codepoint", "utf16"),
              hint="utf16: what NVivo and QualCoder read"),
    ),
    "qdc": (),
}


# -- the calls (the same as the CLI's) ----------------------------------------------------------


def run_export(kind: str, study: Study, path: Path, o: dict[str, Any]) -> str:
    """Write ``kind`` to ``path`` with the form's options ``o``; return the one-line summary.

    Each branch is the call its CLI command makes with the same options."""
    if kind == "quotes":
        from exporters.quotes import export_quotes

        r = export_quotes(study, path, themes=o["themes"] or None, key_only=o["key_only"],
                          template=o["template"] or "({label})", coder=o["coder"],
                          include_discarded=o["discarded"], title=o["title"] or None)
    elif kind == "map":
        from exporters.maps import export_map

        r = export_map(study, path, themes=o["themes"] or None, counts=o["counts"], include_discarded=o["discarded"],
                       codes=not o["no_codes"], layout=o["layout"], title=o["title"] or None, dpi=o["dpi"],
                       coder=o["coder"])
    elif kind == "matrix":
        from exporters.matrix import export_matrix

        r = export_matrix(study, path, by=o["by"], group_by=o["group_by"] or ("group",), sort_by=o["sort_by"],
                          attributes=o["attributes"], coder=o["coder"], excerpts=o["excerpts"],
                          include_discarded=o["discarded"])
    elif kind == "participants":
        from exporters.participants_table import export_participants

        r = export_participants(study, path, attributes=o["attributes"] or None, suppress_below=o["suppress_below"],
                                groups=o["groups"] or None)
    elif kind == "codebook":
        from exporters.codebook import export_codebook

        r = export_codebook(study, path)
    elif kind == "agreement":
        return _agreement(study, path, o)
    elif kind in ("qdpx", "qdc"):
        from exporters import refi_qda

        data = (refi_qda.export_qdpx(study, path, offsets=o["offsets"]) if kind == "qdpx"
                else refi_qda.export_qdc(study, path))
        return written(data["file"], data["format"], data["bytes"], data["items"])
    else:
        raise InvalidInput(f"unknown export {kind!r}")
    return written(r.path, r.format, r.bytes, r.items, r.notes)


def _agreement(study: Study, path: Path, o: dict[str, Any]) -> str:
    """``qualcode agreement STUDY --coders A B --unit U --docx FILE`` (or --csv, --markdown, --heatmap)."""
    from exporters import agreement as export
    from qualcode.agreement.units import agreement

    fmt = path.suffix.lower().lstrip(".")
    if fmt not in AGREEMENT_FORMATS:
        raise InvalidInput(f"cannot tell the report format from {path.name!r}: use .docx, .csv, .md or .png")
    if not o["coder_a"] or not o["coder_b"]:
        raise InvalidInput("choose the two coders to compare")
    report = agreement(study, [o["coder_a"], o["coder_b"]], o["unit"])
    writer = getattr(export, AGREEMENT_FORMATS[fmt])
    if fmt == "csv":
        writer(study, report, path)
    elif fmt == "png":
        writer(study, report, path, None)
    else:
        writer(study, report, path, cells=o["cells"])
    return written(path, fmt, path.stat().st_size)


def default_path(study_path: Path, kind: str) -> Path:
    """Next to the study: ``demo.qc`` -> ``demo-quotes.docx``."""
    k = BY_ID[kind]
    study_path = Path(study_path).resolve()
    return study_path.parent / f"{study_path.stem}{k.name}.{k.suffix}"


def target_path(text: str, study_path: Path) -> Path:
    """The file the user typed; a relative path starts in the study's folder."""
    text = text.strip()
    if not text:
        raise InvalidInput("give the file to write; its suffix picks the format")
    path = Path(text).expanduser()
    return path if path.is_absolute() else Path(study_path).resolve().parent / path


def parse_int(text: str, f: Field) -> int | None:
    text = text.strip()
    if not text:
        if f.default is None:
            return None
        raise InvalidInput(f"{f.label}: give a whole number")
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{f.label}: {text!r} is not a whole number") from None
    if (f.low is not None and value < f.low) or (f.high is not None and value > f.high):
        bounds = f"at least {f.low}" if f.high is None else f"between {f.low} and {f.high}"
        raise InvalidInput(f"{f.label}: {value} is out of range (give a number {bounds})")
    return value


# -- the screen ---------------------------------------------------------------------------------


class LeakScreen(Dialog):
    """The guard refused: say what would leak; write the file only on an explicit "Export anyway"."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="leak-dialog"):
            yield Label("Not written: the export names registered people or identifiers", classes="dialog-title")
            yield Static(self.message, id="leak-message", markup=False)
            yield Static("Export anyway writes the file with these identifiers in it (the CLI's --allow-leaks). "
                         "Safer: anonymise the study first (key 8).", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export anyway", id="leak-anyway", variant="error", compact=True)
                yield Button("Cancel (esc)", id="leak-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#leak-cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "leak-anyway")

    def action_cancel(self) -> None:
        self.dismiss(False)


def _field_widgets(kind: str, f: Field) -> ComposeResult:
    ident = f"{kind}-{f.name}"
    if f.widget == "check":
        yield Checkbox(f.label, bool(f.default), id=ident, compact=True)
        return
    yield Label(f.label + (f"  ({f.hint})" if f.hint else ""), id=f"{ident}-label", classes="field-label",
                markup=False)
    if f.widget in ("text", "list", "int"):
        value = "" if f.default is None else str(f.default)
        yield Input(value, id=ident, compact=True, placeholder="comma-separated" if f.widget == "list" else "")
    elif f.widget == "choice":
        yield Select([(c, c) for c in f.choices], value=f.default, allow_blank=False, id=ident, compact=True)
    elif f.widget == "coder":
        yield Select([], prompt="every coder" if f.name == "coder" else "choose a coder", id=ident,
                     compact=True, classes="coder-select")
    elif f.widget == "themes":
        yield SelectionList(id=ident, classes="theme-select", compact=True)


class ExportScreen(WorkScreen):
    BINDINGS = [
        key("export", "ctrl+s", "export", "Write the export"),
        key("export", "ctrl+o", "focus_path", "Output file"),
        key("export", "ctrl+r", "default_path", "Default file name"),
        key("export", "ctrl+l", "focus_kinds", "Choose what to export"),
    ]

    class Finished(Message):
        """A worker's outcome: a summary, a guard refusal, or an error."""

        def __init__(self, kind: str, path: Path, options: dict[str, Any], summary: str | None = None,
                     refused: str | None = None, error: str | None = None) -> None:
            super().__init__()
            self.kind, self.path, self.options = kind, path, options
            self.summary, self.refused, self.error = summary, refused, error

    def __init__(self) -> None:
        super().__init__()
        self.kind = KINDS[0].id
        self.generation = -1
        self.busy = False
        self._default = ""  # the path we put in the input (replaced on a kind change unless edited)
        self.last_result: str = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="export-main"):
            yield OptionList(*[Option(k.label, id=k.id) for k in KINDS], id="export-kinds")
            with VerticalScroll(id="export-form"):
                yield Static("", id="export-about")
                with ContentSwitcher(initial=f"opts-{self.kind}", id="export-options"):
                    for k in KINDS:
                        with Vertical(id=f"opts-{k.id}", classes="export-options"):
                            if any(f.widget == "list" for f in FIELDS[k.id]):
                                yield Static("", id=f"{k.id}-known", markup=False,
                                             classes="field-hint attributes-known")
                            for f in FIELDS[k.id]:
                                yield from _field_widgets(k.id, f)
                            if not FIELDS[k.id]:
                                yield Static("No options.", classes="field-hint")
                yield Label("Output file  (Enter writes it)", classes="field-label")
                yield Input(id="export-path", compact=True)
                yield Static("", id="export-formats", classes="field-hint")
                with Horizontal(id="export-buttons"):
                    yield Button("Export (ctrl+s)", id="export-run", variant="primary", compact=True)
                    yield Button("Default name (ctrl+r)", id="export-default", compact=True)
                yield Static("", id="export-result", markup=False)
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        kinds = self.query_one("#export-kinds", OptionList)
        kinds.highlighted = 0
        self.show_kind(self.kind)
        self.refresh_data()
        kinds.focus()

    def on_screen_resume(self) -> None:
        if self.generation != self.session.generation:
            self.refresh_data()
        self.query_one(StatusBar).update(self.status_text())

    # -- data --------------------------------------------------------------------------------
    def external_change(self) -> None:
        if not self.busy:
            self.refresh_data()

    def refresh_data(self) -> None:
        """Themes, coders and attribute names offered by the form, from the study."""
        self.generation = self.session.generation
        study = self.session.study
        themes = self.attempt(study.themes.list) or []
        for widget in self.query(".theme-select").results(SelectionList):
            keep = set(widget.selected)
            widget.clear_options()
            widget.add_options([Selection(t.path + ("" if t.status == "active" else f"  ({t.status})"), t.path,
                                          t.path in keep) for t in themes])
        everyone = self.attempt(study.coders.list) or []
        coders = [c.name for c in everyone]
        for select in self.query(".coder-select").results(Select):
            keep = select.value
            select.set_options([(name, name) for name in coders])
            if keep in coders:
                select.value = keep
        people = [c.name for c in everyone if c.kind == "coder"]
        pair = (self.query_one("#agreement-coder_a", Select), self.query_one("#agreement-coder_b", Select))
        if len(people) >= 2 and all(not isinstance(w.value, str) for w in pair):
            pair[0].value, pair[1].value = people[0], people[1]  # the usual pair: the first two coders
        from qualcode.evidence import BASE_FIELDS

        attributes = list(self.attempt(study.participants.variables) or {})
        fields = ", ".join("{" + name + "}" for name in [*BASE_FIELDS, *attributes])
        self.query_one("#quotes-template-label", Label).update(f"Attribution template  (fields: {fields})")
        for hint in self.query(".attributes-known").results(Static):
            names = ["group", *attributes] if hint.id == "matrix-known" else attributes
            hint.update(f"Participant attributes: {', '.join(names) or 'none recorded'}")
        self.query_one(StatusBar).update(self.status_text())

    # -- the form ----------------------------------------------------------------------------
    def show_kind(self, kind: str) -> None:
        self.kind = kind
        k = BY_ID[kind]
        self.query_one("#export-options", ContentSwitcher).current = f"opts-{kind}"
        self.query_one("#export-about", Static).update(f"[b]{k.label}[/b] — {k.about}")
        suffixes = " ".join("." + s for s in formats(kind))
        self.query_one("#export-formats", Static).update(
            f"Formats: {suffixes} (from the file's suffix). A relative path starts in the study's folder.")
        path = self.query_one("#export-path", Input)
        if not path.value.strip() or path.value == self._default:
            self._default = str(default_path(self.session.path, kind))
            path.value = self._default

    @on(OptionList.OptionHighlighted, "#export-kinds")
    def _kind_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.kind:
            self.show_kind(event.option.id)

    @on(OptionList.OptionSelected, "#export-kinds")
    def _kind_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        panel = self.query_one(f"#opts-{self.kind}")
        first = next((w for w in panel.query("*") if w.can_focus), None)
        (first or self.query_one("#export-path", Input)).focus()

    def options(self, kind: str) -> dict[str, Any]:
        """The form's values for ``kind`` (InvalidInput for a number that is not one)."""
        values: dict[str, Any] = {}
        for f in FIELDS[kind]:
            widget = self.query_one(f"#{kind}-{f.name}")
            if f.widget == "check":
                values[f.name] = bool(widget.value)
            elif f.widget == "text":
                values[f.name] = widget.value
            elif f.widget == "int":
                values[f.name] = parse_int(widget.value, f)
            elif f.widget == "list":
                values[f.name] = tuple(part.strip() for part in widget.value.split(",") if part.strip())
            elif f.widget in ("choice", "coder"):
                values[f.name] = widget.value if isinstance(widget.value, str) else None
            elif f.widget == "themes":
                values[f.name] = tuple(widget.selected)
        return values

    def action_focus_path(self) -> None:
        self.query_one("#export-path", Input).focus()

    def action_focus_kinds(self) -> None:
        self.query_one("#export-kinds", OptionList).focus()

    def action_default_path(self) -> None:
        self._default = str(default_path(self.session.path, self.kind))
        self.query_one("#export-path", Input).value = self._default

    @on(Button.Pressed, "#export-default")
    def _default_pressed(self) -> None:
        self.action_default_path()

    @on(Button.Pressed, "#export-run")
    def _run_pressed(self) -> None:
        self.action_export()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    # -- writing -----------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        result = self.query_one("#export-result", Static)
        result.update(text)
        result.display = bool(text)

    def _fail(self, message: str) -> None:
        self.app.errors.append(message)
        self.notify(message, severity="error", timeout=8)
        self._say(message)

    def action_export(self) -> None:
        if self.busy:
            self.notify("An export is being written; wait for it", severity="warning")
            return
        kind = self.kind
        try:
            path = target_path(self.query_one("#export-path", Input).value, self.session.path)
            options = self.options(kind)
            accepted = formats(kind)
            if path.is_dir():  # the exporters would only say they cannot tell its format
                raise InvalidInput(f"{path} is a folder; give a file name, e.g. "
                                   f"{path / default_path(self.session.path, kind).name}")
            if not path.parent.is_dir():  # before any rendering (the export door checks it last)
                raise InvalidInput(f"folder {path.parent} does not exist")
            if BY_ID[kind].strict and path.suffix.lower().lstrip(".") not in accepted:
                raise InvalidInput(f"cannot tell the {BY_ID[kind].label.lower()} format from {path.name!r}: use "
                                   + ", ".join("." + s for s in accepted))
            self.check_blind(kind, options)
        except QualcodeError as exc:
            self._fail(str(exc))
            return
        if path.is_file():
            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._start(kind, path, options, allow=False)

            self.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"), confirmed)
            return
        self._start(kind, path, options, allow=False)

    def check_blind(self, kind: str, o: dict[str, Any]) -> None:
        """The forbid_unblind setting holds for what the TUI writes too: an export that would hold
        codings (or their counts, or agreement figures) of coders the current coder may not be
        shown is refused. (Plain blind coding hides others only until asked, so it exports.)"""
        session = self.session
        allowed = session.unblinded_coders()
        if allowed is None:
            return
        hidden = ("this study shows other coders' codings only to a coder marked complete, and only "
                  "of coders marked complete (forbid_unblind)")
        if kind in ("quotes", "matrix") or (kind == "map" and o.get("counts")):
            if not o.get("coder") or o["coder"] not in allowed:
                raise InvalidInput(f"this export would hold other coders' codings, and {hidden}: "
                                   "choose yourself as the coder")
        elif kind == "codebook":
            raise InvalidInput(f"the codebook export counts every coder's codings, and {hidden}; the "
                               "REFI-QDA codebook (.qdc) has no counts")
        elif kind == "qdpx":
            raise InvalidInput(f"a REFI-QDA project holds every coder's codings, and {hidden}")
        elif kind == "agreement" and o.get("coder_a") and o.get("coder_b") \
                and not session.figures_allowed([o["coder_a"], o["coder_b"]]):
            raise InvalidInput(f"blind coding: the agreement of {o['coder_a']} and {o['coder_b']} can be "
                               "exported once both have marked their coding complete")

    def _start(self, kind: str, path: Path, options: dict[str, Any], allow: bool) -> None:
        self.busy = True
        self.query_one("#export-form").loading = True
        self._say(f"Writing {path} …")
        self._write(kind, path, options, allow)

    @work(thread=True, exclusive=True, group="export")
    def _write(self, kind: str, path: Path, options: dict[str, Any], allow: bool) -> None:
        from qualcode.anonymise.guard import allowing_leaks

        done = self.Finished
        try:
            with Study.open(self.session.path) as study, allowing_leaks(allow):
                summary = run_export(kind, study, path, options)
        except CheckFailed as exc:  # the anonymisation guard
            self.post_message(done(kind, path, options, refused=str(exc)))
        except QualcodeError as exc:
            self.post_message(done(kind, path, options, error=str(exc)))
        except OSError as exc:
            self.post_message(done(kind, path, options, error=f"cannot write {path}: {exc.strerror or exc}"))
        else:
            self.post_message(done(kind, path, options, summary=summary))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.busy = False
        self.query_one("#export-form").loading = False
        if message.summary:
            self.last_result = message.summary
            self._say(message.summary)
            self.notify(message.summary, title="Exported", timeout=8)
        elif message.refused:
            self.app.errors.append(message.refused)
            self._say(f"Not written. {message.refused}")

            def anyway(yes: bool | None) -> None:
                if yes:
                    self._start(message.kind, message.path, message.options, allow=True)

            self.app.push_screen(LeakScreen(message.refused), anyway)
        elif message.error:
            self._fail(message.error)
