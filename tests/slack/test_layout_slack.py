"""The Slack adapter stays at the edge: the core loads no Slack module, bot/ finds the
listeners without importing handlers, and the deployment files say what the code does."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from tests.conftest import ROOT


def test_core_imports_load_no_slack_module() -> None:
    code = (
        "import sys, watchlists, bot.service, bot.home, bot.grammar, bot.store, bot.render;"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in "
        "('slack_bolt', 'slack_sdk', 'handlers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_bot_has_no_import_of_handlers() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "handlers" for n in names), path


def test_listeners_are_found_through_the_entry_point_group() -> None:
    from bot.slack_app import load_frontends
    from handlers import register_all

    assert load_frontends() == [register_all]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points."wirewatch.frontends"]' in pyproject
    assert 'slack = "handlers:register_all"' in pyproject


def test_manifest_and_procfile() -> None:
    manifest = (ROOT / "manifest.yml").read_text(encoding="utf-8")
    for needed in ("command: /news", "app_mention", "message.im", "app_home_opened",
                   "socket_mode_enabled: true", "is_enabled: true", "chat:write", "commands",
                   "app_mentions:read", "im:history", "bot_user:", "home_tab_enabled: true"):
        assert needed in manifest, needed
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8").strip().splitlines()
    assert procfile == ["worker: wirewatch serve"]  # one process, so one scheduler
    assert not re.search(r"^web:", "\n".join(procfile), flags=re.M)
