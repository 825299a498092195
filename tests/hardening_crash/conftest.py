"""Fixtures of the crash and Slack-fault tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LONG = os.environ.get("WIREWATCH_LONG_TESTS", "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="long variant: set WIREWATCH_LONG_TESTS=1")
    for item in items:
        if "slow" in item.keywords and Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WIREWATCH_", "SLACK_")) and not name.startswith(
            ("WIREWATCH_LONG_TESTS", "WIREWATCH_CRASH_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIREWATCH_DB", str(tmp_path / "env.db"))
