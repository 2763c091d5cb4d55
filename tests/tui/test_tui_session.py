"""Session (coder, blind mode, undo/redo bookkeeping) and the user config files, without a UI."""

from __future__ import annotations

import json

import pytest

from qualcode.errors import InvalidInput, NotFound
from qualcode.study import Study
from tui import config
from tui.app import QualcodeApp
from tui.keymap import bindings_of, resolve
from tui.screens.coding import in_vivo_name
from tui.screens.dialogs import rank_codes
from tui.session import Session
from tui.widgets.transcript import format_ms, sentence_span, word_span


def test_state_is_per_study_and_merged(tmp_path, config_dir):
    a, b = tmp_path / "a.qc", tmp_path / "b.qc"
    config.save_study_state(a, coder="Amira")
    config.save_study_state(b, coder="Ben")
    config.save_study_state(a, recent_codes=["X"])
    assert config.study_state(a) == {"coder": "Amira", "recent_codes": ["X"]}
    assert config.study_state(b) == {"coder": "Ben"}
    (config_dir / "state.json").write_text("{not json", encoding="utf-8")
    assert config.study_state(a) == {}  # a damaged state file is ignored, never fatal


def test_config_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("QUALCODE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config.config_dir() == tmp_path / "xdg" / "qualcode"
    monkeypatch.setenv("QUALCODE_CONFIG_DIR", str(tmp_path / "explicit"))
    assert config.config_dir() == tmp_path / "explicit"


def test_keys_toml_forms_and_problems(config_dir):
    (config_dir / "keys.toml").write_text(
        'apply_code = "k"\n"app.undo" = ["ctrl+u", "f9"]\nbad = 3\nnope = "z"\n', encoding="utf-8")
    user, problems = config.load_keys()
    assert user == {"apply_code": "k", "app.undo": "ctrl+u,f9", "nope": "z"}
    assert problems and "bad" in problems[0]
    keymap, unknown = resolve(user, bindings_of(QualcodeApp.SCREENS_WITH_KEYS))
    assert keymap == {"coding.apply_code": "k", "app.undo": "ctrl+u,f9"}
    assert unknown == ["keys.toml: unknown action 'nope'"]
    (config_dir / "keys.toml").write_text("this is = = not toml", encoding="utf-8")
    assert config.load_keys()[0] == {}


def test_a_binding_id_names_one_key_and_action():
    seen = {}
    for cls in QualcodeApp.SCREENS_WITH_KEYS:
        for b in cls.__dict__.get("BINDINGS", []):
            if getattr(b, "id", None):  # shared ids (dialog.save) are remapped together
                assert seen.setdefault(b.id, (b.key, b.action)) == (b.key, b.action), b.id


def test_blind_toggle_follows_study_settings(study_path):
    session = Session(study_path, coder="Amira")
    assert session.visible_coders() == frozenset({"Amira"})  # blind by default
    assert session.toggle_others() is True and session.visible_coders() is None
    assert session.toggle_others() is False
    session.study.configure(forbid_unblind=True)
    with pytest.raises(InvalidInput, match="forbids"):
        session.toggle_others()
    session.study.configure(forbid_unblind=False, blind=False)
    session.set_coder("Ben")
    assert session.visible_coders() is None  # a non-blind study shows everybody from the start
    session.close()


def test_undo_and_redo_are_the_cores(study_path):
    session = Session(study_path, coder="Amira")
    study = session.study
    session.perform("code", study.codings.add_text, "P1_interview", "Self-management/Pacing", "Amira", "Pacing")
    session.perform("code", study.codings.add_text, "P1_interview", "Self-management", "Amira", "pace")
    session.undo()
    session.undo()
    assert study.codings.list() == []
    assert session.redo()["summary"].startswith("code")
    assert [c.code for c in study.codings.list()] == ["Self-management/Pacing"]
    session.redo()
    assert sorted(c.code for c in study.codings.list()) == ["Self-management", "Self-management/Pacing"]
    with pytest.raises(NotFound, match="nothing to redo"):
        session.redo()
    # work done in the CLI is undone and redone here too (one audit log)
    with Study.open(study_path) as other:
        other.actor = "Amira"
        other.codes.add("From the CLI")
    session.undo()
    assert study.codes.find("From the CLI") is None
    session.redo()
    assert study.codes.find("From the CLI") is not None
    # new work ends what could be redone
    session.undo()
    session.perform("memo", study.memos.add, "note", "Amira")
    with pytest.raises(NotFound, match="redo follows an undo"):
        session.redo()
    session.close()


def test_recent_codes_are_remembered(study_path):
    session = Session(study_path, coder="Amira")
    session.note_code_used("Self-management")
    session.note_code_used("Programme ending")
    session.note_code_used("Self-management")
    session.close()
    again = Session(study_path)
    assert again.recent == ["Self-management", "Programme ending"]
    assert rank_codes("", ["Programme ending", "Self-management", "Z"], again.recent) == [
        "Self-management", "Programme ending", "Z"]
    again.close()


def test_text_helpers():
    text = "Sarah: Honestly, it was like falling off a cliff edge. The group was my lifeline!\nNext"
    assert word_span(text, text.index("nestly")) == (7, 15)
    lo, hi = 7, text.index("\n")
    assert text[slice(*sentence_span(text, text.index("cliff"), lo, hi))] == \
        "Honestly, it was like falling off a cliff edge."
    assert text[slice(*sentence_span(text, text.index("group"), lo, hi))] == "The group was my lifeline!"
    assert in_vivo_name('  "falling off a\ncliff edge."  ') == "falling off a cliff edge"
    assert in_vivo_name("either/or") == "either-or"
    assert format_ms(65_000) == "01:05" and format_ms(3_723_000) == "1:02:03"
    assert json.dumps(in_vivo_name("x" * 200)).count("x") <= 80
