"""watchlists/ is pure; the watch modules of bot/ load no Slack, spaCy, feedparser or
APScheduler."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("slack_bolt", "slack_sdk", "spacy", "feedparser", "apscheduler")


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    return {m.split(".")[0] for m in out.stdout.split()}


def test_watchlists_is_pure() -> None:
    mods = loaded_after(
        "import watchlists.query, watchlists.matcher, watchlists.relevance, "
        "watchlists.decide, watchlists.storage, watchlists.document"
    )
    assert not mods & {*FORBIDDEN, "bot", "handlers", "httpx", "sqlite_utils"}


def test_bot_watch_modules_load_nothing_heavy() -> None:
    mods = loaded_after("import bot.service, bot.alerts, bot.watch_commands, bot.demo")
    assert not mods & {*FORBIDDEN, "handlers"}


def test_watchlists_sources_import_nothing_outside() -> None:
    for path in (ROOT / "watchlists").glob("*.py"):
        text = path.read_text("utf-8")
        for name in (*FORBIDDEN, "bot", "handlers"):
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)
