from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import SETTINGS, Settings, default_db_path, load_settings


def test_defaults_work_with_nothing_set(tmp_path: Path) -> None:
    s = load_settings({}, dotenv_path=tmp_path / "missing.env")
    assert s.db_path == default_db_path()
    assert s.db_path.name == "wirewatch.db"
    assert s.poll_seconds == 900
    assert s.allow_private_feeds is False
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.admins == frozenset()
    assert s.port == 3000


def test_environment_values(tmp_path: Path) -> None:
    s = load_settings(
        {
            "WIREWATCH_DB": str(tmp_path / "x.db"),
            "WIREWATCH_ALLOW_PRIVATE_FEEDS": "yes",
            "WIREWATCH_ADMINS": "U1, U2 ,",
            "WIREWATCH_POLL_SECONDS": "60",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "PORT": "8080",
            "WIREWATCH_SPACY_MODEL": "en_core_web_md",
        },
        dotenv_path=None,
    )
    assert s.db_path == tmp_path / "x.db"
    assert s.allow_private_feeds is True
    assert s.admins == {"U1", "U2"}
    assert s.poll_seconds == 60
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.port == 8080
    assert s.spacy_model == "en_core_web_md"


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WIREWATCH_POLL_SECONDS=120\nWIREWATCH_ADMINS=UA\n")
    s = load_settings({"WIREWATCH_ADMINS": "UB"}, dotenv_path=env_file)
    assert s.poll_seconds == 120
    assert s.admins == {"UB"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WIREWATCH_POLL_SECONDS", "soon"),
        ("WIREWATCH_POLL_SECONDS", "1"),
        ("PORT", "70000"),
        ("WIREWATCH_ALLOW_PRIVATE_FEEDS", "maybe"),
        ("WIREWATCH_NLP_PROCESSES", "0"),
        ("WIREWATCH_NLP_PROCESSES", "many"),
    ],
)
def test_bad_values_are_clear_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings({name: value}, dotenv_path=None)
    assert name in exc.value.message


def test_admins_empty_means_everyone() -> None:
    assert Settings().is_admin("U1") and Settings().is_admin(None)
    s = Settings(admins=frozenset({"U1"}))
    assert s.is_admin("U1") and not s.is_admin("U2") and not s.is_admin(None)


def test_repr_hides_secrets() -> None:
    s = Settings(
        slack_bot_token="xoxb-secret", slack_signing_secret="shh", slack_app_token="xapp-1"
    )
    text = repr(s)
    assert "xoxb-secret" not in text and "shh" not in text and "xapp-1" not in text


def test_every_setting_is_declared_once() -> None:
    names = [spec.name for spec in SETTINGS]
    assert len(names) == len(set(names))
    assert {
        "WIREWATCH_DB", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
        "SLACK_API_URL", "WIREWATCH_SPACY_MODEL", "WIREWATCH_ALLOW_PRIVATE_FEEDS",
        "WIREWATCH_ADMINS", "WIREWATCH_POLL_SECONDS", "PORT",
    } <= set(names)


def test_nlp_processes_auto_or_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.settings as settings_module

    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: 8)
    assert load_settings({}, dotenv_path=None).nlp_processes == 4  # one per CPU, at most 4
    assert load_settings({"WIREWATCH_NLP_PROCESSES": "auto"}, dotenv_path=None
                         ).nlp_processes == 4
    assert load_settings({"WIREWATCH_NLP_PROCESSES": "6"}, dotenv_path=None).nlp_processes == 6
    monkeypatch.setattr(settings_module.os, "cpu_count", lambda: None)
    assert load_settings({}, dotenv_path=None).nlp_processes == 1
