"""TUI tests: each test its own config dir; async tests run on a fresh event loop."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests with asyncio.run (no async plugin needed for App.run_test)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


@pytest.fixture(autouse=True)
def quick_idle_checks(monkeypatch):
    """Pilot waits for the app to go idle after every key by sleeping in 20 ms steps; 5 ms steps
    keep the same check (CPU time barely advancing while asleep) and make the suite 2x faster."""
    import textual._wait as wait

    monkeypatch.setattr(wait, "SLEEP_GRANULARITY", 0.005)
    monkeypatch.setattr(wait, "SLEEP_IDLE", 0.005 / 20)


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own user config dir (state.json, keys.toml)."""
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv("QUALCODE_CONFIG_DIR", str(folder))
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    return folder
