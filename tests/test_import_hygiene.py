"""The core never imports the UI or the adapters (DESIGN.md, "Direction of imports")."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("textual", "tui", "importers", "exporters")
CORE = Path(__file__).parent.parent / "qualcode"
CORE_MODULES = sorted(
    ".".join(p.relative_to(CORE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts
)


def test_importing_every_core_module_pulls_in_no_front_end_or_adapter():
    # Every module of the core, each imported for real in one fresh interpreter: whatever they
    # import at module level (directly, through importlib, or through a dependency) shows here.
    assert len(CORE_MODULES) > 30
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print('BAD', ','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "BAD", out.stdout


def test_the_probe_would_see_a_forbidden_import():
    # The check above can fail: importing one adapter shows up in the same probe.
    code = f"import sys, exporters\nprint([m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "exporters" in out.stdout


def _imported_names(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield node.args[0].value


@pytest.mark.parametrize("module", sorted(p for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts),
                         ids=lambda p: str(p.relative_to(CORE)))
def test_no_core_module_imports_a_forbidden_package_even_lazily(module):
    # Imports inside functions (lazy ones) never run in the probe above; read them from the code.
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for name in _imported_names(tree):
        assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"
