"""The library front door ``from qualcode import anonymise``: every documented function works
again and again, also after its same-named submodule (``qualcode.anonymise.scan``) was imported."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from qualcode.study import Study

# Runs in a fresh interpreter, so that the first call is the one importing the submodules (what
# used to rebind ``anonymise.scan`` to the module ``qualcode.anonymise.scan``).
SCRIPT = r"""
import json, sys
from qualcode import anonymise
from qualcode.study import Study

study_path, key_path, csv_path = sys.argv[1:4]
out = {"rounds": []}
with Study.open(study_path) as s:
    for _ in range(2):
        key = anonymise.open_key(s, key_path, create=True)
        try:
            reg = anonymise.register_csv(s, key, csv_path)
            scan = anonymise.scan(s, key, use_ner=False)
            ids = [c.id for c in key.candidates()]
            accepted = anonymise.review.accept(key, ids, reviewer="Amira")
            leaks = anonymise.guard.check(s, "Sarah said Peter came", key)
            check = anonymise.check_study(s, key)
            dry = anonymise.apply(s, key, dry_run=True)
        finally:
            key.close()
        out["rounds"].append({
            "register": reg, "new": scan.new, "kept": scan.kept, "found": scan.found, "accepted": accepted,
            "leaks": sorted(l.text for l in leaks), "check_ok": check["ok"], "dry_replacements": dry.replacements,
            "types": [type(getattr(anonymise, n)).__name__ for n in ("open_key", "scan", "apply", "register_csv",
                                                                        "check_study")],
        })
    applied = []
    for dry_run in (False, True):
        with anonymise.open_key(s, key_path) as key:
            applied.append(anonymise.apply(s, key, dry_run=dry_run).replacements)
    out["applied"] = applied
    out["text"] = s.documents.text(s.documents.list()[0].id)
print(json.dumps(out))
"""


def test_every_public_function_twice_through_the_package(study_path, tmp_path):
    csv = tmp_path / "register.csv"
    csv.write_text("name,replacement,kind\nPeter,[name of P1's husband],person\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(study_path), str(tmp_path / "k.key"), str(csv)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    first, second = out["rounds"]
    assert first["types"] == second["types"] == ["function"] * 5
    # Same candidates both times: the second scan keeps every one and finds nothing new.
    assert first["new"] > 0 and first["kept"] == 0
    assert second["new"] == 0 and second["kept"] == first["new"] and second["found"] == first["found"]
    assert first["accepted"] == second["accepted"] == first["new"]
    assert first["leaks"] == second["leaks"] and {"Sarah", "Peter"} <= set(first["leaks"])
    assert first["check_ok"] is second["check_ok"] is False
    assert first["dry_replacements"] == second["dry_replacements"] == first["new"]
    # Applied once for real; the dry run after it has nothing left to replace.
    assert out["applied"] == [first["new"], 0]
    assert "[name of P1's husband] tried to help" in out["text"] and "Peter" not in out["text"]


def test_a_submodule_import_never_replaces_a_function():
    import importlib

    from qualcode import anonymise

    for name in ("scan", "apply"):
        module = importlib.import_module(f"qualcode.anonymise.{name}")
        assert isinstance(module, types.ModuleType) and sys.modules[module.__name__] is module
        function = getattr(anonymise, name)
        assert isinstance(function, types.FunctionType) and function.__module__ == "qualcode.anonymise", name
    # Modules that are meant to be modules stay modules; other attributes can still be set.
    assert isinstance(anonymise.review, types.ModuleType) and isinstance(anonymise.guard, types.ModuleType)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(anonymise, "scan", lambda *a, **k: "patched")
        assert anonymise.scan() == "patched"
    assert isinstance(anonymise.scan, types.FunctionType)


def test_the_package_functions_call_the_submodules(study_path, tmp_path):
    """In this process too (other tests imported the submodules long ago)."""
    from qualcode import anonymise
    from qualcode.anonymise.scan import scan as module_scan

    csv = tmp_path / "register.csv"
    csv.write_text("name,kind\nLinda,person\n", encoding="utf-8")
    with Study.open(study_path) as s:
        for _ in range(2):
            with anonymise.open_key(s, tmp_path / "k.key", create=True) as key:
                anonymise.register_csv(s, key, csv)
                anonymise.scan(s, key, use_ner=False)
                via_package = [(c.start, c.end, c.original) for c in key.candidates()]
                module_scan(s, key, use_ner=False)
                assert [(c.start, c.end, c.original) for c in key.candidates()] == via_package
                assert [c[2] for c in via_package] == ["Linda"]
