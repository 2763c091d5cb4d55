"""`qualcode agreement`, `assign` and `disagreements` end to end (in-process CLI)."""

import csv
import json
import math

import pytest

from conftest import INTERVIEW, add_interview, file_state
from qualcode.study import Study

COMPARED = ["P1_interview", "PTV1_interview", "S1_interview"]


def code(s, doc, code_, coder, needle):
    text = s.documents.text(s.documents.get(doc).id)
    start = text.index(needle)
    s.codings.add(doc, code_, coder, start, start + len(needle))


@pytest.fixture
def coded(study_path):
    with Study.open(study_path) as s:
        add_interview(s, "P2_interview", INTERVIEW.replace("Sarah", "Tom").replace("Peter", "Jim"))
        add_interview(s, "P3_interview", INTERVIEW.replace("Sarah", "Ann").replace("Peter", "Al"))
        for doc in ("P1_interview", "P2_interview"):
            code(s, doc, "Cliff edge", "Amira", "falling off a cliff edge")
            code(s, doc, "Cliff edge", "Ben", "cliff edge")
            code(s, doc, "Pacing", "Amira", "Learning to pace myself")
        code(s, "P1_interview", "Pacing", "Ben", "I still pace myself every day")
        code(s, "P2_interview", "Pacing", "Ben", "Honestly")
        code(s, "P3_interview", "Pacing", "Amira", "Pacing.")
    return study_path


def test_table_output_and_methods_sentence(qc, coded):
    r = qc("agreement", coded, "--coders", "Amira", "Ben")
    assert r.code == 0, r.err
    for part in ("Pooled", "By code", "By document", "Self-management/Pacing", "P2_interview",
                 "Only documents coded by all of the named coders count as double-coded (2 of 3)",
                 "Left out (not coded by every coder): P3_interview"):
        assert part in r.out
    assert "Two coders independently coded 2 of 3 transcripts (67 %); agreement at the level of " \
           "speaker turns" in r.out
    # repeated flag form and study-first convention both work
    r2 = qc("agreement", coded, "--coders", "Amira", "--coders", "Ben", "--unit", "turn")
    assert r2.out == r.out


def test_json_output(qc, coded):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character", "--json")
    d = r.json()
    assert d["unit"] == "character" and d["coders"] == ["Amira", "Ben"]
    assert d["documents"] == ["P1_interview", "P2_interview"]
    assert d["excluded_documents"][0]["document"] == "P3_interview"
    assert d["pooled"]["stats"]["cohen"]["method"].startswith("Cohen's kappa (NVivo")
    p2 = INTERVIEW.replace("Sarah", "Tom").replace("Peter", "Jim")
    assert d["pooled"]["n_units"] == 2 * (len(INTERVIEW) + len(p2))  # 2 codes x all characters
    assert len(d["cells"]) == 4 and d["files"] == {} and d["saved_round"] is None
    assert d["pairwise"]["kappa"][0][1] == d["pooled"]["stats"]["cohen"]["value"]


@pytest.mark.parametrize("unit", ["character", "segment", "turn", "sentence", "document"])
def test_every_unit_from_the_cli(qc, coded, unit):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", unit, "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["unit"] == unit and d["methods"].startswith("Two coders")
    head = d["pooled"]["stats"][d["headline"]]
    assert head["value"] is not None or head["reason"]


def test_files_csv_markdown_docx_png(qc, coded, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "978307200")  # 2001-01-01: far from the clock
    out = tmp_path / "out"
    out.mkdir()
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character",
           "--bootstrap", "100", "--seed", "4", "--csv", out / "a.csv", "--markdown", out / "a.md",
           "--docx", out / "a.docx", "--heatmap", out / "a.png")
    assert r.code == 0, r.err
    assert "Wrote csv" in r.err and "Wrote heatmap" in r.err
    with (out / "a.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r_["scope"] for r_ in rows] == ["pooled", "code", "code", "document", "document",
                                          "cell", "cell", "cell", "cell"]
    assert rows[0]["cohen"] and rows[0]["cohen_ci_low"] and rows[0]["unit"] == "character"
    assert set(rows[0]) >= {"both", "a_only", "b_only", "neither", "coded_Amira", "alpha_reason"}
    md = (out / "a.md").read_text(encoding="utf-8")
    assert md.startswith("# Inter-coder agreement: characters") and "| code |" in md
    assert "Two coders independently coded" in md
    from docx import Document

    doc = Document(str(out / "a.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Two coders independently coded 2 of 3 transcripts" in text
    assert len(doc.tables) == 4  # pooled, by code, by document, pairwise
    assert doc.tables[1].rows[0].cells[0].text == "code"
    assert doc.tables[1].rows[1].cells[0].text == "Programme ending/Cliff edge"
    png = (out / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    # deterministic: same report, same bytes
    qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character",
       "--bootstrap", "100", "--seed", "4", "--csv", out / "b.csv", "--markdown", out / "b.md",
       "--docx", out / "b.docx")
    assert (out / "a.csv").read_bytes() == (out / "b.csv").read_bytes()
    assert (out / "a.md").read_bytes() == (out / "b.md").read_bytes()
    assert (out / "a.docx").read_bytes() == (out / "b.docx").read_bytes()
    # the Word file's zip members carry the study's last change, not the clock
    import zipfile

    from qualcode.export import export_time
    from qualcode.study import Study

    with Study.open(coded) as s:
        when = export_time(s)
    with zipfile.ZipFile(out / "a.docx") as z:
        assert {i.date_time[:5] for i in z.infolist()} == {(when.year, when.month, when.day, when.hour, when.minute)}


def test_heatmap_for_document_level_and_stat_choice(qc, coded, tmp_path):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "document",
           "--heatmap", tmp_path / "d.png")
    assert r.code == 0 and (tmp_path / "d.png").exists()
    # refused before the study is read: reading would fill its (emptied) span cache
    import sqlite3

    with sqlite3.connect(coded) as raw:
        raw.execute("DELETE FROM span_cache")
        raw.execute("DELETE FROM turn_cache")
    raw.close()
    before = coded.read_bytes()
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "segment",
           "--heatmap", tmp_path / "s.png", "--heatmap-stat", "cohen")
    assert r.code == 2 and r.err == ("qualcode: error: --heatmap-stat cohen is not reported at segment "
                                     "level (have: bp, percent)\n")
    assert coded.read_bytes() == before and not (tmp_path / "s.png").exists()
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "Cy", "--heatmap-stat", "cohen",
           "--heatmap", tmp_path / "t.png")
    assert r.code == 2 and "(have: fleiss, alpha, percent)" in r.err and coded.read_bytes() == before


def test_bootstrap_seed_reproducible_from_cli(qc, coded):
    args = ("agreement", coded, "--coders", "Amira", "Ben", "--bootstrap", "200", "--seed", "9", "--json")
    a, b = qc(*args).json(), qc(*args).json()
    assert a["pooled"]["stats"]["cohen"]["ci95"] == b["pooled"]["stats"]["cohen"]["ci95"]
    assert a["options"]["seed"] == 9 and "95 % CI" in a["methods"]


def test_nan_is_null_with_reason_in_json(qc, coded):
    with Study.open(coded) as s:
        s.coders.add("Dan")
    d = qc("agreement", coded, "--coders", "Amira", "Dan", "--json").json()
    stat = d["pooled"]["stats"]["cohen"]
    assert stat["value"] is None and stat["reason"]
    assert d["warnings"][0].startswith("no document was coded by both Amira and Dan")


def test_nothing_double_coded_is_said_clearly(qc, coded):
    """A coder who coded nothing: no 'No disagreements.' and no tables of n/a, but one clear
    sentence, in both commands (exit 0: nothing is wrong with the request)."""
    with Study.open(coded) as s:
        s.coders.add("Dan")
    said = ("No document was coded by both Amira and Dan, so there is nothing to compare: Dan "
            "coded none of the 3 documents")
    r = qc("disagreements", coded, "--coders", "Amira", "Dan")
    assert r.code == 0 and r.out.startswith(said) and "No disagreements" not in r.out
    r = qc("disagreements", coded, "--coders", "Amira", "Dan", "--json")
    assert r.code == 0 and r.json() == [] and r.err.startswith(said)
    r = qc("agreement", coded, "--coders", "Amira", "Dan")
    assert r.code == 0 and "\nPooled\n" not in r.out and "\nBy code\n" not in r.out
    assert "Warning: no document was coded by both Amira and Dan, so there is nothing to " \
           "compare: Dan coded none of the 3 documents" in r.out
    assert r.out.rstrip().endswith("No transcript was coded by both coders (Amira and Dan), so "
                                   "agreement could not be computed.")
    d = qc("agreement", coded, "--coders", "Amira", "Dan", "--json").json()
    assert d["documents"] == [] and d["warnings"][0].startswith("no document was coded by both")
    # counting every document, Dan's silence is a figure, and the warning says what it means
    d = qc("agreement", coded, "--coders", "Amira", "Dan", "--all-documents", "--json").json()
    assert d["warnings"] == ["Dan coded nothing in the compared documents: every figure compares "
                             "the other coders' codings with none"]
    # Ben coded some of what Amira coded: the usual listing
    assert qc("disagreements", coded, "--coders", "Amira", "Ben").out.endswith("6 disagreements.\n")


def test_methods_sentence_counts_the_study_and_gets_plurals_right(qc, coded):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--documents", "P1_interview",
           "--codes", "Pacing")
    assert r.code == 0, r.err
    assert "(1 double-coded document, 1 code)" in r.out
    assert "Two coders independently coded 1 of 3 transcripts (33 %); agreement at the level of " \
           "speaker turns, pooled over 1 code (4 code × turn units" in r.out
    seg = qc("agreement", coded, "--coders", "Amira", "Ben", "--documents", "P1_interview",
             "--codes", "Pacing", "--unit", "segment").out
    assert "over 2 segments and 1 code;" in seg
    acc = qc("reconcile", coded, "--coders", "Amira", "Ben", "--accept-agreed", "--by", "Amira",
             "--unit", "document")
    assert acc.code == 0 and acc.out == "Accepted 6 agreed places (6 consensus codings).\n"
    again = qc("reconcile", coded, "--coders", "Amira", "Ben", "--accept-agreed", "--by", "Amira")
    assert again.out == "Accepted 0 agreed places (0 consensus codings).\n"
    one = qc("assign", coded, "--coder", "Ben", "--sample", "1", "--seed", "1").out
    assert one.startswith("Ben: 1 of 3 documents (sample 1, seed 1)")


def test_bootstrap_warnings_in_text_and_json(qc, coded):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character",
           "--bootstrap", "100", "--seed", "3")
    assert r.code == 0, r.err
    assert "Warning: the bootstrap resamples whole documents and there are only 2 double-coded " \
           "documents: at most 3 distinct resamples" in r.out
    assert "resampled unit: whole documents (2 documents" in r.out
    assert "]†" in r.out and "† bootstrap interval not reliable" in r.out
    assert "95 % confidence intervals: percentile bootstrap, 100 resamples of whole transcripts." \
        in r.out
    d = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character",
           "--bootstrap", "100", "--seed", "3", "--json").json()
    assert d["warnings"] and d["warnings"][0].startswith("the bootstrap resamples whole documents")
    assert d["options"]["bootstrap_clusters"] == 2
    assert d["pooled"]["ci_note"].startswith("few positive documents")
    assert all(f["ci_note"] for f in d["by_code"])
    # --seed without --bootstrap: said, not silently ignored
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--seed", "3")
    assert "Warning: a seed was given without bootstrap resamples (--bootstrap N)" in r.out
    d = qc("agreement", coded, "--coders", "Amira", "Ben", "--seed", "3", "--json").json()
    assert d["warnings"][0].startswith("a seed was given without bootstrap resamples")
    assert qc("agreement", coded, "--coders", "Amira", "Ben", "--json").json()["warnings"] == []
    # the resampling unit is documented in --help
    help_text = " ".join(qc("agreement", "compute", "--help").out.split())
    assert "Whole documents are resampled" in help_text and "--resample [documents|units]" in help_text
    # turns: whole documents by default (a cluster bootstrap); --resample units draws turns
    d = qc("agreement", coded, "--coders", "Amira", "Ben", "--bootstrap", "100", "--seed", "3", "--json").json()
    assert (d["options"]["resample"], d["options"]["bootstrap_clusters"]) == ("documents", 2)
    assert "resamples of whole transcripts." in d["methods"]
    d = qc("agreement", coded, "--coders", "Amira", "Ben", "--bootstrap", "100", "--seed", "3",
           "--resample", "units", "--json").json()
    assert (d["options"]["resample"], d["options"]["bootstrap_clusters"]) == ("units", 8)
    assert "resamples of speaker turns." in d["methods"]
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--unit", "character", "--bootstrap", "10",
           "--resample", "units")
    assert r.code == 2 and "characters are resampled as whole documents" in r.err


def test_csv_and_markdown_take_any_name_docx_and_png_do_not(qc, coded, tmp_path):
    r = qc("agreement", coded, "--coders", "Amira", "Ben", "--csv", tmp_path / "a.txt",
           "--markdown", tmp_path / "a.markdown", "--docx", tmp_path / "A.DOCX")
    assert r.code == 0, r.err
    assert (tmp_path / "a.txt").read_text().startswith("unit,scope,code")
    assert (tmp_path / "a.markdown").read_text().startswith("# Inter-coder agreement")
    assert (tmp_path / "A.DOCX").read_bytes()[:2] == b"PK"
    help_text = " ".join(qc("agreement", "compute", "--help").out.split())
    assert "(the name must end in .docx)" in help_text and "(the name must end in .png)" in help_text
    from exporters.agreement import write_docx, write_heatmap
    from qualcode.agreement import agreement
    from qualcode.errors import InvalidInput

    with Study.open(coded) as s:
        report = agreement(s, ["Amira", "Ben"])
        with pytest.raises(InvalidInput, match="name it like x.png"):
            write_heatmap(s, report, tmp_path / "x.jpg")
        with pytest.raises(InvalidInput, match="name it like x.docx"):
            write_docx(s, report, tmp_path / "x.doc")
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path / "x.doc").exists()


# -- assign ----------------------------------------------------------------------------------------


def test_assign_is_reproducible_and_recorded(qc, coded, tmp_path):
    r = qc("assign", coded, "--coder", "Ben", "--sample", "50%", "--seed", "42", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["n"] == 2 and d["of"] == 3 and len(d["documents"]) == 2 and d["new"] == d["documents"]
    again = qc("assign", coded, "--coder", "Ben", "--sample", "50%", "--seed", "42", "--json").json()
    assert again["documents"] == d["documents"] and again["new"] == []
    assert again["already_assigned"] == d["documents"]
    listed = qc("assign", coded, "--list", "--json").json()
    assert [x["document"] for x in listed] == d["documents"] and listed[0]["seed"] == 42
    assert "Ben" in qc("assign", coded, "--list").out
    # the same documents in another study (other names, other order) give the same sample
    other = tmp_path / "other.qc"
    s = Study.create(other, coder="Ben")
    texts = {"P1_interview": INTERVIEW,
             "P2_interview": INTERVIEW.replace("Sarah", "Tom").replace("Peter", "Jim"),
             "P3_interview": INTERVIEW.replace("Sarah", "Ann").replace("Peter", "Al")}
    for name in ("P3_interview", "P1_interview", "P2_interview"):
        add_interview(s, "renamed_" + name, texts[name])
    s.close()
    o = qc("assign", other, "--coder", "Ben", "--sample", "2", "--seed", "42", "--json").json()
    assert o["documents"] == ["renamed_" + n for n in d["documents"]]
    seeds = {tuple(qc("assign", other, "--coder", "Ben", "--sample", "1", "--seed", str(k),
                      "--json").json()["documents"]) for k in range(12)}
    assert len(seeds) > 1  # the seed matters
    # history records it
    assert any(h["command"] == "assign" for h in qc("history", coded, "--json").json())


def test_assign_without_seed_reports_one(qc, coded):
    d = qc("assign", coded, "--coder", "Ben", "--sample", "1", "--json").json()
    assert isinstance(d["seed"], int) and d["n"] == 1


@pytest.mark.parametrize("args, message", [
    (["--coder", "Ben", "--sample", "0%"], "--sample"),
    (["--coder", "Ben", "--sample", "x"], "--sample"),
    (["--coder", "Ben", "--sample", "9"], "more than the 3 documents"),
    (["--coder", "Nobody", "--sample", "1"], "unknown coder"),
    (["--sample", "1"], "--coder"),
])
def test_assign_errors(qc, coded, args, message):
    before = file_state(coded)
    r = qc("assign", coded, *args)
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1
    assert file_state(coded) == before


# -- disagreements --------------------------------------------------------------------------------


def test_disagreements_listing(qc, coded):
    r = qc("disagreements", coded, "--coders", "Amira", "Ben", "--json")
    items = r.json()
    # per document: the cliff-edge boundaries differ, and each coder has a Pacing span alone
    assert r.code == 0 and len(items) == 6
    first = items[0]
    assert first["document"] == "P1_interview" and first["code"] == "Programme ending/Cliff edge"
    assert first["spans"]["Amira"] != first["spans"]["Ben"]
    assert first["texts"]["Ben"] == ["cliff edge"]
    assert first["texts"]["Amira"] == ["falling off a cliff edge"]
    assert first["text"] == "falling off a cliff edge" and first["before"].endswith("like ")
    assert first["kind"] == "spans differ" and first["status"] == "open"
    assert len(first["id"]) == 10
    ids = [i["id"] for i in items]
    assert ids == [i["id"] for i in qc("disagreements", coded, "--coders", "Amira", "Ben", "--json").json()]
    # at turn level the cliff-edge boundary differences are agreement
    turn = qc("disagreements", coded, "--coders", "Amira", "Ben", "--unit", "turn", "--json").json()
    assert {(i["document"], i["code"]) for i in turn} == {("P2_interview", "Self-management/Pacing")}
    assert len(turn) == 2  # P1's two Pacing spans share the last turn
    assert {i["id"] for i in turn} <= set(ids)  # same ids whatever the unit
    assert qc("disagreements", coded, "--coders", "Amira", "Ben", "--unit", "document", "--json").json() == []
    seg = qc("disagreements", coded, "--coders", "Amira", "Ben", "--unit", "segment",
             "--threshold", "0.4", "--json").json()
    # "cliff edge" is 10/24 = 42 % of the union with Amira's span: matched at 40 %
    assert len(seg) == 4 and {i["code"] for i in seg} == {"Self-management/Pacing"}
    only = qc("disagreements", coded, "--coders", "Amira", "Ben", "--code", "Pacing",
              "--document", "P2_interview", "--json").json()
    assert [i["kind"] for i in only] == ["only Ben", "only Amira"]  # text order
    text = qc("disagreements", coded, "--coders", "Amira", "Ben").out
    assert "6 disagreements." in text and ids[0] in text
    full = qc("disagreements", coded, "--coders", "Amira", "Ben", "--full", "--limit", "1").out
    assert "context: …" in full and "Ben" in full and "\n1 disagreement." in full


# -- error paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["agreement", "{s}", "--coders", "Amira", "Nobody"], "unknown coder"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--unit", "word"], "word"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--threshold", "lots"], "share"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--threshold", "150%", "--unit", "segment"], "threshold"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--exclude-uncoded"], "--unit character"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--codes", "Nope"], "unknown code"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--heatmap", "/no/such/dir/x.png"], "does not exist"),
    (["agreement", "{s}"], "--coders"),
    (["agreement", "{s}.missing", "--coders", "Amira", "Ben"], "does not exist"),
    (["disagreements", "{s}", "--coders", "Amira"], "at least two different coders"),
    (["disagreements", "{s}", "--coders", "Amira", "Ben", "--overlap", "max"], "max"),
    (["agreement", "{s}", "--coders", "Amira"], "agreement needs at least two different coders"),
    (["agreement", "{s}", "--coders", "Amira", "amira", "--json"], "at least two different coders"),
    (["agreement", "{s}", "--coders", "Amira", "--save-round"], "at least two different coders"),
    (["disagreements", "{s}", "--coders", "Amira", "--json"], "at least two different coders"),
    (["reconcile", "{s}", "--coders", "Amira", "--accept-agreed", "--by", "Amira"],
     "at least two different coders"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--docx", "{d}/out.txt"],
     "--docx writes a .docx file: name it like out.docx, not out.txt"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--heatmap", "{d}/h.svg"],
     "--heatmap writes a .png file: name it like h.png, not h.svg"),
    (["agreement", "{s}", "--coders", "Amira", "Ben", "--heatmap", "{d}/h"], "--heatmap writes a .png"),
    (["agreement", "rounds", "{s}", "--round", "3"], "no agreement round 3"),
])
def test_errors_exit_2_with_one_line_and_leave_the_study_unchanged(qc, coded, args, message,
                                                                   tmp_path):
    before = file_state(coded)
    out = tmp_path / "out"
    out.mkdir()
    r = qc(*[a.replace("{s}", str(coded)).replace("{d}", str(out)) for a in args])
    assert r.code == 2, r.out
    assert message in r.err and "Traceback" not in r.err
    if not r.err.startswith("Usage"):  # click's own usage errors show the usage line too
        assert len(r.err.strip().splitlines()) == 1, r.err
    assert r.out == "" and not any(out.iterdir())
    assert file_state(coded) == before


def test_help_for_every_command(qc):
    for cmd in (["agreement"], ["agreement", "compute"], ["agreement", "rounds"], ["assign"],
                ["disagreements"], ["reconcile"], ["decisions"]):
        r = qc(*cmd, "--help")
        assert r.code == 0 and "Usage" in r.out
    assert "  agreement " in qc("--help").out


# -- the sample study -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from qualcode.cli import main

    folder = tmp_path_factory.mktemp("agreement-demo")
    assert main(["demo", "--headless", "--dir", str(folder)]) == 0
    return folder / "demo.qc"


@pytest.mark.parametrize("unit", ["character", "segment", "turn", "sentence", "document"])
def test_every_unit_on_the_demo_double_coded_transcripts(qc, demo, unit):
    r = qc("agreement", demo, "--coders", "Amira", "Ben", "--unit", unit, "--bootstrap", "200",
           "--seed", "1", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["documents"] == COMPARED and d["n_documents_study"] == 9
    assert d["methods"].startswith("Two coders independently coded 3 of 9 transcripts (33 %)")
    head = d["pooled"]["stats"][d["headline"]]
    assert head["value"] is not None and -1 <= head["value"] <= 1
    assert head["ci95"][0] <= head["value"] <= head["ci95"][1]
    assert len(d["by_code"]) == len(d["codes"]) >= 20
    if unit != "segment":
        assert 0 < d["pooled"]["prevalence"] < 1
        assert d["pooled"]["stats"]["alpha"]["value"] is not None
    if unit in ("turn", "document"):
        assert head["value"] > 0.5  # the sample coders mostly agree on what is where
    with Study.open(demo) as s:
        from qualcode.agreement import agreement

        lib = agreement(s, ["Amira", "Ben"], unit)
        assert math.isclose(float(lib.pooled.stats[lib.headline]), head["value"], abs_tol=1e-6)


def _border_is_blank(png, width=4):
    """Every pixel within ``width`` of the image's edge is white: nothing was cut off."""
    import matplotlib.image

    img = matplotlib.image.imread(str(png))[..., :3]
    edges = [img[:width], img[-width:], img[:, :width], img[:, -width:]]
    return all(bool((e > 0.99).all()) for e in edges)


def _contrast(a, b):
    from exporters.agreement import _luminance

    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("unit, args", [
    ("turn", []), ("document", []), ("character", ["--heatmap-stat", "percent"]),
    ("turn", ["--documents", "P1_interview", "--codes", "Peer support"])])
def test_demo_heatmap_is_whole_readable_and_formatted(qc, demo, tmp_path, unit, args):
    """The audit's heatmap faults: title and colour-bar label cut off on the right, values in
    dark grey on dark cells, and 0.00/1.00 for shares at document level."""
    import matplotlib
    from matplotlib.colors import to_rgba

    from exporters.agreement import heatmap_figure
    from qualcode.agreement import agreement

    png = tmp_path / "h.png"
    r = qc("agreement", demo, "--coders", "Amira", "Ben", "--unit", unit, *args, "--heatmap", png)
    assert r.code == 0, r.err
    assert _border_is_blank(png)
    key = "percent" if unit == "document" or "percent" in args else None
    with Study.open(demo) as s:
        docs = ["P1_interview"] if "--documents" in args else None
        codes = ["Peer support"] if "--codes" in args else None
        report = agreement(s, ["Amira", "Ben"], unit, documents=docs, codes=codes)
        fig = heatmap_figure(report, key)
    ax = fig.axes[0]
    image = ax.images[0]
    texts = ax.texts
    assert len(texts) == len(report.codes) * len(report.documents)
    for t in texts:
        j, i = (round(x) for x in t.get_position())
        cell = image.to_rgba(image.get_array()[i:i + 1, j:j + 1])[0, 0]
        if t.get_text() == "n/a":
            cell = to_rgba("#d9d9d9")
        assert _contrast(to_rgba(t.get_color()), cell) >= 4.0, (t.get_text(), cell)
    labels = [t.get_text() for t in texts if t.get_text() != "n/a"]
    if key == "percent":
        assert all(x.endswith(" %") for x in labels) and "1.00" not in labels
        if unit == "document":
            assert set(labels) <= {"0 %", "100 %"}
        assert fig.axes[1].get_ylabel().endswith("(%)")
    else:
        assert all(len(x.split(".")[-1]) == 2 for x in labels)
    title = ax.get_title()
    assert "Amira, Ben" in title and all(len(line) <= 80 for line in title.splitlines())
    matplotlib.pyplot.close(fig)


def test_demo_disagreements_and_table(qc, demo):
    items = qc("disagreements", demo, "--coders", "Amira", "Ben", "--unit", "turn", "--json").json()
    assert items and {i["document"] for i in items} <= set(COMPARED)
    assert all(i["text"] for i in items)
    out = qc("agreement", demo, "--coders", "Amira", "Ben", "--unit", "character").out
    assert "kappa (NVivo K)" in out and "S1_interview" in out
    json.dumps(items)
