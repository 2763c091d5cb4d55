"""The core never imports the UI or the adapters (DESIGN.md, "Direction of imports")."""

import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("textual", "tui", "importers", "exporters")


def test_importing_the_core_pulls_in_no_front_end_or_adapter():
    code = (
        "import sys, qualcode, qualcode.study, qualcode.agreement, qualcode.text, qualcode.output\n"
        "from qualcode.study import Study\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("module", sorted(
    p for p in (Path(__file__).parent.parent / "qualcode").rglob("*.py") if "cli" not in p.parts))
def test_no_core_module_mentions_a_forbidden_import(module):
    for line in module.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")):
            top = stripped.split()[1].split(".")[0]
            assert top not in FORBIDDEN, f"{module.name}: {stripped}"
