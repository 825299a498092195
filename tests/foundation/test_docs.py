"""The README documents every setting, command-line command and grammar command; CI runs
exactly the README's test command."""

from __future__ import annotations

import re

from bot.cli import build_parser
from bot.grammar import COMMANDS
from bot.settings import SETTINGS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for spec in SETTINGS:
        assert f"`{spec.name}`" in README, spec.name


def test_every_command_line_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"`wirewatch {name}" in README, name


def test_every_grammar_command_is_documented() -> None:
    for command in COMMANDS:
        assert f"`{command.name}" in README, command.usage
        # every sub-command spelled out in the usage ("feed add URL | feed remove ID | …")
        for sub in re.findall(rf"\b{command.name} ([a-z]+) [A-Z]", command.usage):
            assert f"`{command.name} {sub}" in README, command.usage


def test_ci_runs_exactly_the_readme_test_command() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", quick, flags=re.S)
    assert len(blocks) == 2, "Quick start has two commands: set up and start; run the tests"
    setup, test_command = blocks
    assert "wirewatch shell" in setup
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    last = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][-1]
    assert last.strip() == test_command.strip()
    assert "pip install" in ci and "-e '.[dev]'" in ci


def test_changelog_has_unreleased_on_top() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (.+)$", text, flags=re.M)
    assert first is not None and first.group(1).strip() == "Unreleased"
