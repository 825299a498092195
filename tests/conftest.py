"""Shared fixtures: every test runs against its own database file, never the user's."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's .env or writes to the user's data folder."""
    for name in list(os.environ):
        if name.startswith(("WIREWATCH_", "SLACK_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIREWATCH_DB", str(tmp_path / "wirewatch.db"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wirewatch.db"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running `python -m bot` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env["WIREWATCH_DB"] = str(tmp_path / "cli.db")
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
def store(db_path: Path) -> Iterator[object]:
    from bot.store import Store

    s = Store(db_path)
    yield s
    s.close()
