"""The user's TUI state and key remapping, kept outside the study file.

* ``state.json``: per study (by resolved path) the coder last used and the recently applied codes.
* ``keys.toml``: binding id (or a unique action name) -> key(s), e.g. ``"coding.apply_code" = "k"``
  or ``apply_code = "k,ctrl+k"``; optionally inside a ``[keys]`` table.

Both live in ``$QUALCODE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/qualcode``, else ``~/.config/qualcode``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None  # type: ignore[assignment]


def config_dir() -> Path:
    explicit = os.environ.get("QUALCODE_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "qualcode"


def _state_path() -> Path:
    return config_dir() / "state.json"


def load_state() -> dict[str, Any]:
    try:
        data = json.loads(_state_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _key(study_path: str | Path) -> str:
    return str(Path(study_path).resolve())


def study_state(study_path: str | Path) -> dict[str, Any]:
    entry = load_state().get("studies", {}).get(_key(study_path), {})
    return entry if isinstance(entry, dict) else {}


def save_study_state(study_path: str | Path, **values: Any) -> None:
    """Merge ``values`` into the study's entry; never fails loudly (state is a convenience)."""
    state = load_state()
    studies = state.setdefault("studies", {})
    entry = studies.setdefault(_key(study_path), {})
    entry.update(values)
    path = _state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _parse_toml(text: str) -> dict[str, Any]:
    if tomllib is not None:
        return tomllib.loads(text)
    out: dict[str, Any] = {}  # minimal fallback: key = "value" lines, [table] headers
    table = out
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            table = out.setdefault(header.group(1).strip(), {})
            continue
        key, _, value = line.partition("=")
        table[key.strip().strip('"')] = value.strip().strip('"')
    return out


def load_keys() -> tuple[dict[str, str], list[str]]:
    """Read keys.toml: (binding/action name -> key string, problems found)."""
    path = config_dir() / "keys.toml"
    if not path.exists():
        return {}, []
    try:
        data = _parse_toml(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [f"{path}: {exc}"]
    table = data.get("keys", data)
    keys: dict[str, str] = {}
    problems: list[str] = []
    for name, value in table.items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"keys.toml: {name} needs a key like \"k\" or \"ctrl+k\"")
            continue
        keys[str(name)] = value.strip()
    return keys, problems
