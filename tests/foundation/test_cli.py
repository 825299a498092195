"""The command line, run as a user runs it: a subprocess, a real database file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(python: str, env: dict[str, str], *args: str, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=ROOT, timeout=timeout,
    )


def test_ask_search_json_contract(python: str, cli_env: dict[str, str]) -> None:
    out = run(python, cli_env, "ask", "--json", "search deportation flights")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["kind"] == "search" and data["total"] >= 4
    assert Path(cli_env["WIREWATCH_DB"]).exists()


def test_ask_error_exits_non_zero(python: str, cli_env: dict[str, str]) -> None:
    out = run(python, cli_env, "ask", "--json", "article", "999")
    assert out.returncode != 0
    data = json.loads(out.stdout)
    assert data["kind"] == "error" and "999" in data["message"]


@pytest.mark.parametrize(
    "hostile",
    ['"', "search \"", "search AND OR NOT (((", "search " + "a" * 20_000, "\x1b[31m",
     "search '; drop table articles; --", "article -1", "who \u202egnp"],
)
def test_hostile_input_never_prints_a_traceback(
    python: str, cli_env: dict[str, str], hostile: str
) -> None:
    out = run(python, cli_env, "ask", hostile)
    assert "Traceback" not in out.stdout + out.stderr
    assert out.stdout.strip()


def test_shell_reads_commands_from_stdin(python: str, cli_env: dict[str, str]) -> None:
    out = run(python, cli_env, "shell", stdin="search deportation flights\nstatus\nquit\n")
    assert out.returncode == 0, out.stderr
    assert "deportation" in out.stdout.lower() and "Articles 5" in out.stdout


def test_ingest_prints_a_summary(python: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("A headline\n\nSomething happened in Caracas.")
    out = run(python, cli_env, "ingest", str(f), str(f))
    assert out.returncode == 0, out.stderr
    assert "Indexed 1 new article" in out.stdout
    missing = run(python, cli_env, "ingest", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_bad_setting_is_a_short_error(python: str, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, WIREWATCH_POLL_SECONDS="often")
    out = run(python, env, "ask", "status")
    assert out.returncode == 2 and "WIREWATCH_POLL_SECONDS" in out.stderr
    assert "Traceback" not in out.stderr
