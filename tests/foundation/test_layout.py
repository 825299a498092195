"""The dependency rule `watchlists ← bot ← handlers`, checked on the code as it is."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

FORBIDDEN_IN_CORE = ("slack_bolt", "slack_sdk", "spacy", "feedparser", "apscheduler")


def _imports(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


def test_watchlists_imports_no_framework_and_nothing_above() -> None:
    for path, name in _imports(ROOT / "watchlists"):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_IN_CORE, f"{path} imports {name}"
        assert top not in ("bot", "handlers"), f"{path} imports {name}"


def test_bot_never_imports_handlers() -> None:
    for path, name in _imports(ROOT / "bot"):
        assert name.split(".")[0] != "handlers", f"{path} imports {name}"


def test_importing_core_loads_no_slack_spacy_feedparser_or_apscheduler() -> None:
    code = (
        "import sys, watchlists, bot.service, bot.grammar, bot.store;"
        "bad=[m for m in sys.modules if m.split('.')[0] in "
        f"{FORBIDDEN_IN_CORE!r}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
