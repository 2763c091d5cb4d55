"""REFI-QDA export: schema-valid .qdpx/.qdc, the mapping of every study object, determinism.

The XSDs are the shared REFI-QDA 1.0 schemas (../shared/refi/); export output is validated with
xmlschema against them.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import add_interview
from qualcode.store.themes import themes_of
from qualcode.study import Study

xmlschema = pytest.importorskip("xmlschema")

# Verbatim copies of the shared REFI-QDA 1.0 schemas (MIT; provenance in schemas/SOURCE.txt).
SCHEMAS = Path(__file__).parent / "fixtures" / "refi" / "schemas"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "refi"
P = "{urn:QDA-XML:project:1.0}"
C = "{urn:QDA-XML:codebook:1.0}"
EMOJI_TEXT = "Speaker: The pain 😀 is bad. 🐢 Slow and steady wins.\n\nSpeaker: Yes 😀 really.\n"


def schema(name: str):
    path = SCHEMAS / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return xmlschema.XMLSchema(str(path))


@pytest.mark.parametrize("name", ["Project.xsd", "Codebook.xsd"])
def test_schema_copies_are_the_shared_ones(name):
    if not (SHARED / name).exists():
        pytest.skip("the shared folder is not beside this checkout")
    assert (SCHEMAS / name).read_bytes() == (SHARED / name).read_bytes()


@pytest.fixture(scope="module")
def project_schema():
    return schema("Project.xsd")


@pytest.fixture(scope="module")
def codebook_schema():
    return schema("Codebook.xsd")


@pytest.fixture(autouse=True)
def allow_leaks(monkeypatch):
    """These studies register participants' real names and their transcripts still hold them (not
    anonymised): the anonymisation guard would rightly refuse; its own test is below."""
    monkeypatch.setenv("QUALCODE_ALLOW_LEAKS", "1")


def rich_study(path: Path) -> Path:
    """Every kind of object a REFI export carries."""
    s = Study.create(path, title="Pain & peer support <pilot>", coder="Amira")
    s.coders.add("Ben")
    s.participants.add("P1", group="patient", name="Sarah Whitfield",
                       attributes={"age": "52", "years": "2.5", "interview_date": "2024-03-12", "carer": "yes"})
    s.participants.add("S1", group="staff", attributes={"age": "41", "role": "Health connector"})
    s.participants.define_band("experience", "years", [1, 5], ["new", "experienced", "senior"])
    add_interview(s)
    s.speakers.map("Sarah", "P1")
    add_interview(s, "Emoji notes", EMOJI_TEXT)
    s.documents.set_metadata("P1_interview", {"mode": "phone", "minutes": 37})
    s.codes.add("Programme ending", colour="#CA6F1E")
    s.codes.add("Programme ending/Cliff edge", description="Support stops abruptly", include_when="abrupt end",
                exclude_when="planned endings", example="falling off a cliff edge")
    s.codes.add("Self-management")
    s.codes.add("Self-management/Pacing", status="draft")
    s.codings.add_text("P1_interview", "Cliff edge", "Amira", "falling off a cliff edge", memo="in vivo")
    s.codings.add_text("P1_interview", "Programme ending", "Ben", "falling off a cliff edge")
    s.codings.add_text("P1_interview", "Pacing", "Ben", "Learning to pace myself")
    s.codings.add_text("Emoji notes", "Pacing", "Amira", "Slow and steady wins.")
    s.codings.add_text("Emoji notes", "Self-management", "Ben", "Yes 😀 really.")
    s.memos.add("Study-wide thought", coder="Amira", title="Plan")
    s.memos.add("About this interview", coder="Ben", document="P1_interview")
    s.memos.add("Passage thought", coder="Ben", document="P1_interview", span=(70, 100))
    s.memos.add("Code thought", coder="Amira", code="Cliff edge")
    coding = s.codings.list(coder="Ben", code="Programme ending")[0]
    s.memos.add("Coding thought", coder="Ben", coding=coding.id)
    s.memos.add("Participant thought", coder="Amira", participant="P1")
    s.journal.add("I notice my own experience of endings.", coder="Amira", entry_date="2024-04-01", phase=2)
    themes = themes_of(s)
    themes.add("Losing the lifeline", concept="The end of support as a loss", definition="When the group ends",
               codes=["Cliff edge", "Programme ending"], status="active")
    themes.add("Losing the lifeline/Coping alone", codes=["Pacing", "Cliff edge"])
    themes.memo("Losing the lifeline", "Theme thought", coder="Amira")
    s.close()
    return path


@pytest.fixture
def rich(tmp_path) -> Path:
    return rich_study(tmp_path / "rich.qc")


def export(path: Path, out: Path, **kw) -> dict:
    from exporters.refi_qda import export_qdpx

    with Study.open(path) as s:
        return export_qdpx(s, out, **kw)


def project_root(qdpx: Path) -> ET.Element:
    with zipfile.ZipFile(qdpx) as zf:
        return ET.fromstring(zf.read("project.qde"))


def guids(path: Path, table: str, key: str) -> dict[str, str]:
    with Study.open(path) as s:
        return dict(s.db.execute(f"SELECT {key}, guid FROM {table}").fetchall())


# -- validity ----------------------------------------------------------------------------------
def test_project_export_is_valid_against_project_xsd(rich, tmp_path, project_schema):
    out = tmp_path / "rich.qdpx"
    info = export(rich, out)
    with zipfile.ZipFile(out) as zf:
        xml = zf.read("project.qde")
    project_schema.validate(io.BytesIO(xml))
    assert info["codings"] == 5 and info["sources"] == 2 and info["cases"] == 2


def test_codebook_export_is_valid_against_codebook_xsd(rich, tmp_path, codebook_schema):
    from exporters.refi_qda import export_qdc

    out = tmp_path / "codebook.qdc"
    with Study.open(rich) as s:
        info = export_qdc(s, out)
    codebook_schema.validate(str(out))
    root = ET.parse(out).getroot()
    assert root.tag == f"{C}CodeBook"
    names = [c.get("name") for c in root.iter(f"{C}Code")]
    assert names == ["Programme ending", "Cliff edge", "Self-management", "Pacing"]
    assert info["sets"] == 2
    members = [m.get("guid") for m in root.iter(f"{C}MemberCode")]
    assert set(members) <= set(guids(rich, "codes", "name").values())


def test_demo_study_exports_valid_project(tmp_path, project_schema, codebook_schema, qc):
    import sample_transcripts
    from qualcode.cli.demo import build

    build(sample_transcripts.FOLDER, tmp_path / "demo.qc").close()
    assert qc("export", "qdpx", tmp_path / "demo.qc", "-o", tmp_path / "demo.qdpx").code == 0
    assert qc("export", "qdc", tmp_path / "demo.qc", "-o", tmp_path / "demo.qdc").code == 0
    with zipfile.ZipFile(tmp_path / "demo.qdpx") as zf:
        project_schema.validate(io.BytesIO(zf.read("project.qde")))
    codebook_schema.validate(str(tmp_path / "demo.qdc"))


def test_empty_study_exports_a_valid_project(tmp_path, project_schema):
    Study.create(tmp_path / "empty.qc").close()
    export(tmp_path / "empty.qc", tmp_path / "empty.qdpx")
    with zipfile.ZipFile(tmp_path / "empty.qdpx") as zf:
        assert zf.namelist() == ["project.qde"]
        project_schema.validate(io.BytesIO(zf.read("project.qde")))


# -- the container -----------------------------------------------------------------------------
def test_zip_is_deterministic_and_sources_are_plain_utf8(rich, tmp_path):
    a, b = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    export(rich, a)
    export(rich, b)
    assert a.read_bytes() == b.read_bytes()
    docs = guids(rich, "documents", "name")
    with zipfile.ZipFile(a) as zf, Study.open(rich) as s:
        names = zf.namelist()
        assert names == sorted(names) and names[0] == "project.qde"
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        for doc in s.documents.list():
            data = zf.read(f"sources/{docs[doc.name]}.txt")
            assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
            assert data.decode("utf-8") == s.documents.text(doc.id)


def test_guids_are_the_studys_own_and_stable(rich, tmp_path):
    export(rich, tmp_path / "one.qdpx")
    with Study.open(rich) as s:
        s.codes.add("Brand new code")
    export(rich, tmp_path / "two.qdpx")
    first, second = project_root(tmp_path / "one.qdpx"), project_root(tmp_path / "two.qdpx")
    code_guids = guids(rich, "codes", "name")
    for root in (first, second):
        found = {c.get("name"): c.get("guid") for c in root.iter(f"{P}Code")}
        assert all(found[n] == code_guids[n] for n in found)
        users = {u.get("name"): u.get("guid") for u in root.iter(f"{P}User")}
        assert users == guids(rich, "coders", "name")
        codings = {c.get("guid") for c in root.iter(f"{P}Coding")}
        assert codings == set(guids(rich, "codings", "id").values())


# -- the mapping -------------------------------------------------------------------------------
def test_code_tree_colours_and_definitions(rich, tmp_path):
    export(rich, tmp_path / "r.qdpx")
    root = project_root(tmp_path / "r.qdpx")
    codes = root.find(f"{P}CodeBook/{P}Codes")
    top = [c.get("name") for c in codes.findall(f"{P}Code")]
    assert top == ["Programme ending", "Self-management"]
    ending = codes.find(f"{P}Code[@name='Programme ending']")
    assert ending.get("color") == "#CA6F1E" and ending.get("isCodable") == "true"
    cliff = ending.find(f"{P}Code[@name='Cliff edge']")
    assert cliff.find(f"{P}Description").text == (
        "Support stops abruptly\n\nInclude when: abrupt end\n\nExclude when: planned endings\n\n"
        "Example: falling off a cliff edge")
    pacing = codes.find(f"{P}Code[@name='Self-management']/{P}Code[@name='Pacing']")
    assert pacing.find(f"{P}Description").text == "Status: draft"


def test_selections_codings_users_and_times(rich, tmp_path):
    export(rich, tmp_path / "r.qdpx")
    root = project_root(tmp_path / "r.qdpx")
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{P}User")}
    codes = {c.get("guid"): c.get("name") for c in root.iter(f"{P}Code")}
    with Study.open(rich) as s:
        texts = {d.name: s.documents.text(d.id) for d in s.documents.list()}
    seen = []
    for source in root.iter(f"{P}TextSource"):
        text = texts[source.get("name")]
        assert source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
        for sel in source.findall(f"{P}PlainTextSelection"):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert sel.get("name") == text[start:end]  # code points, end exclusive
            for coding in sel.findall(f"{P}Coding"):
                assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", coding.get("creationDateTime"))
                seen.append((source.get("name"), codes[coding.find(f"{P}CodeRef").get("targetGUID")],
                             users[coding.get("creatingUser")], sel.get("name")))
    assert sorted(seen) == sorted([
        ("P1_interview", "Cliff edge", "Amira", "falling off a cliff edge"),
        ("P1_interview", "Programme ending", "Ben", "falling off a cliff edge"),
        ("P1_interview", "Pacing", "Ben", "Learning to pace myself"),
        ("Emoji notes", "Pacing", "Amira", "Slow and steady wins."),
        ("Emoji notes", "Self-management", "Ben", "Yes 😀 really."),
    ])
    # Two coders' codings of one span share a selection (several codings per selection).
    shared = [s for s in root.iter(f"{P}PlainTextSelection") if s.get("name") == "falling off a cliff edge"]
    assert len(shared) == 1 and len(shared[0].findall(f"{P}Coding")) == 2


def test_utf16_offsets_option_counts_surrogate_pairs(rich, tmp_path):
    export(rich, tmp_path / "cp.qdpx")
    export(rich, tmp_path / "u16.qdpx", offsets="utf16")

    def spans(path):
        return {s.get("name"): (int(s.get("startPosition")), int(s.get("endPosition")))
                for s in project_root(path).iter(f"{P}PlainTextSelection")}

    cp, u16 = spans(tmp_path / "cp.qdpx"), spans(tmp_path / "u16.qdpx")
    assert u16["Slow and steady wins."] == tuple(p + 2 for p in cp["Slow and steady wins."])  # 😀 and 🐢 before
    assert u16["Yes 😀 really."] == (cp["Yes 😀 really."][0] + 2, cp["Yes 😀 really."][1] + 3)
    assert u16["falling off a cliff edge"] == cp["falling off a cliff edge"]


def test_cases_carry_typed_variables_and_no_real_names(rich, tmp_path):
    export(rich, tmp_path / "r.qdpx")
    root = project_root(tmp_path / "r.qdpx")
    variables = {v.get("guid"): (v.get("name"), v.get("typeOfVariable")) for v in root.iter(f"{P}Variable")}
    assert ("age", "Integer") in variables.values() and ("years", "Float") in variables.values()
    assert ("interview_date", "Date") in variables.values() and ("carer", "Boolean") in variables.values()
    assert ("group", "Text") in variables.values() and ("experience", "Text") in variables.values()
    p1 = root.find(f"{P}Cases/{P}Case[@name='P1']")
    values = {}
    for vv in p1.findall(f"{P}VariableValue"):
        name, _ = variables[vv.find(f"{P}VariableRef").get("targetGUID")]
        child = [c for c in vv if c.tag != f"{P}VariableRef"][0]
        values[name] = (child.tag.replace(P, ""), child.text)
    assert values == {"group": ("TextValue", "patient"), "age": ("IntegerValue", "52"),
                      "years": ("FloatValue", "2.5"), "interview_date": ("DateValue", "2024-03-12"),
                      "carer": ("BooleanValue", "true"), "experience": ("TextValue", "experienced")}
    docs = guids(rich, "documents", "name")
    assert [r.get("targetGUID") for r in p1.findall(f"{P}SourceRef")] == [docs["P1_interview"]]
    with zipfile.ZipFile(tmp_path / "r.qdpx") as zf:
        assert b"Whitfield" not in zf.read("project.qde")
    # Document metadata rides on the source as VariableValues.
    source = root.find(f"{P}Sources/{P}TextSource[@name='P1_interview']")
    assert len(source.findall(f"{P}VariableValue")) == 2
    assert source.find(f"{P}Description").text == "Speaker Interviewer: interviewer\nSpeaker Sarah: P1"


def test_memos_become_notes_attached_where_they_belong(rich, tmp_path):
    export(rich, tmp_path / "r.qdpx")
    root = project_root(tmp_path / "r.qdpx")
    notes = {n.get("guid"): n for n in root.iter(f"{P}Note")}
    body = {g: n.find(f"{P}PlainTextContent").text for g, n in notes.items()}
    by_body = {v: k for k, v in body.items()}

    def refs(el):
        return {r.get("targetGUID") for r in el.findall(f"{P}NoteRef")}

    assert by_body["Study-wide thought"] in refs(root)
    assert notes[by_body["Study-wide thought"]].get("name") == "Plan"
    p1 = root.find(f"{P}Sources/{P}TextSource[@name='P1_interview']")
    assert by_body["About this interview"] in refs(p1)
    passage = [s for s in p1.findall(f"{P}PlainTextSelection") if by_body["Passage thought"] in refs(s)]
    assert passage and (passage[0].get("startPosition"), passage[0].get("endPosition")) == ("70", "100")
    cliff = root.find(f".//{P}Code[@name='Cliff edge']")
    assert by_body["Code thought"] in refs(cliff)
    coding_notes = [refs(c) for c in root.iter(f"{P}Coding")]
    assert any(by_body["Coding thought"] in r for r in coding_notes)
    assert any(by_body["in vivo"] in r for r in coding_notes)
    assert notes[by_body["in vivo"]].get("name") == "Coding memo"
    link = root.find(f"{P}Links/{P}Link")
    assert link.get("originGUID") == by_body["Participant thought"]
    assert link.get("targetGUID") == root.find(f"{P}Cases/{P}Case[@name='P1']").get("guid")
    sets = {s.get("name"): s for s in root.iter(f"{P}Set")}
    journal = sets["Reflexive journal"]
    member = journal.find(f"{P}MemberNote").get("targetGUID")
    assert notes[member].get("name") == "Journal 2024-04-01" and body[member].startswith("I notice")
    assert notes[member].find(f"{P}Description").text == "Phase 2"


def test_themes_become_sets_of_codes(rich, tmp_path):
    export(rich, tmp_path / "r.qdpx")
    root = project_root(tmp_path / "r.qdpx")
    code_guids = guids(rich, "codes", "name")
    sets = {s.get("name"): s for s in root.iter(f"{P}Set")}
    theme = sets["Theme: Losing the lifeline"]
    assert [m.get("targetGUID") for m in theme.findall(f"{P}MemberCode")] == [
        code_guids["Cliff edge"], code_guids["Programme ending"]]
    assert theme.find(f"{P}Description").text == (
        "Central organising concept: The end of support as a loss\n\nDefinition: When the group ends\n\n"
        "Status: active\n\nColour: " + themes_colour(rich, "Losing the lifeline"))
    assert theme.find(f"{P}MemberNote") is not None
    sub = sets["Theme: Losing the lifeline/Coping alone"]
    assert {m.get("targetGUID") for m in sub.findall(f"{P}MemberCode")} == {code_guids["Pacing"],
                                                                            code_guids["Cliff edge"]}


def themes_colour(path: Path, name: str) -> str:
    with Study.open(path) as s:
        return s.db.execute("SELECT colour FROM themes WHERE name = ?", [name]).fetchone()[0]


# -- the CLI and the export door ---------------------------------------------------------------
def test_cli_export_commands(rich, tmp_path, qc):
    r = qc("export", "qdpx", rich, "-o", tmp_path / "r.qdpx", "--json")
    assert r.code == 0, r.err
    assert r.json()["codings"] == 5 and r.json()["format"] == "qdpx"
    r = qc("export", "qdc", rich, "-o", tmp_path / "r.qdc")
    assert r.code == 0 and "Wrote" in r.out
    assert qc("export", "qdpx", "--help").code == 0


@pytest.mark.parametrize("args", [
    ("export", "qdpx", "{missing}", "-o", "{out}"),
    ("export", "qdpx", "{rich}", "-o", "{nofolder}"),
    ("export", "qdc", "{empty}", "-o", "{out}"),
])
def test_cli_export_errors_write_nothing(rich, tmp_path, qc, args):
    Study.create(tmp_path / "empty.qc").close()
    values = {"missing": tmp_path / "missing.qc", "rich": rich, "out": tmp_path / "out.qdpx",
              "nofolder": tmp_path / "no" / "out.qdpx", "empty": tmp_path / "empty.qc"}
    before = sorted(p.name for p in tmp_path.iterdir())
    r = qc(*[a.format(**values) for a in args])
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_export_usage_error(rich, tmp_path, qc):
    r = qc("export", "qdpx", rich, "-o", tmp_path / "out.qdpx", "--offsets", "bytes")
    assert r.code == 2 and not (tmp_path / "out.qdpx").exists()


def test_export_refused_by_the_anonymisation_guard(rich, tmp_path, qc, monkeypatch):
    monkeypatch.delenv("QUALCODE_ALLOW_LEAKS")
    r = qc("export", "qdpx", rich, "-o", tmp_path / "r.qdpx")
    assert r.code == 1 and "registered identifier" in r.err
    assert not (tmp_path / "r.qdpx").exists()
    assert qc("export", "qdpx", rich, "-o", tmp_path / "r.qdpx", "--allow-leaks").code == 0


def test_export_goes_through_the_export_door(rich, tmp_path, qc, monkeypatch):
    import qualcode.export
    from qualcode.errors import CheckFailed

    seen = []

    def guard(content, **kw):
        seen.append(kw)
        if "Sarah" in (kw.get("text") or ""):
            raise CheckFailed("the export holds a registered name: Sarah")
        return content

    monkeypatch.setattr(qualcode.export, "guard", guard)
    r = qc("export", "qdpx", rich, "-o", tmp_path / "r.qdpx")
    assert r.code == 1 and "registered name" in r.err
    assert not (tmp_path / "r.qdpx").exists()
    assert seen[0]["kind"] == "refi-qdpx" and "falling off a cliff edge" in seen[0]["text"]
