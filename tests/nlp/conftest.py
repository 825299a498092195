"""Fixtures for the NLP tests: the real model is loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings


@pytest.fixture(autouse=True)
def _nlp_isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's settings or writes to the user's data folder."""
    for name in list(os.environ):
        if name.startswith(("WIREWATCH_", "SLACK_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIREWATCH_DB", str(tmp_path / "nlp-test.db"))


@pytest.fixture(scope="session")
def nlp() -> Any:
    from bot.nlp.pipeline import load_nlp

    return load_nlp(None)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, nlp: Any) -> Iterator[Any]:
    """The application built on the bundled corpus, from a clean database (read-only use)."""
    from bot.wiring import build

    db = tmp_path_factory.mktemp("seeded") / "wirewatch.db"
    app = build(Settings(db_path=db), nlp=nlp)
    yield app
    app.close()


@pytest.fixture
def ask(seeded: Any) -> Any:
    def run(text: str) -> dict[str, Any]:
        from bot.service import Context

        out: dict[str, Any] = seeded.service.handle(text, Context()).to_dict()
        return out

    return run
