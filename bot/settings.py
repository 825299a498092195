"""Settings: the one place that reads the environment (and an optional ``.env``).

Every setting is declared in ``SETTINGS`` with its default and a one-line description; the
README documents each one (a test checks that).  Nothing else in the code base reads
``os.environ``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from platformdirs import user_data_dir

from bot.errors import ConfigError

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: str | None
    help: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("WIREWATCH_DB", None, "SQLite database path (default: the user's data folder)"),
    SettingSpec("SLACK_BOT_TOKEN", None, "bot token (xoxb-…) for the Slack Web API"),
    SettingSpec("SLACK_APP_TOKEN", None, "app-level token (xapp-…) for Socket Mode"),
    SettingSpec("SLACK_SIGNING_SECRET", None, "signing secret, verifies HTTP-mode requests"),
    SettingSpec("SLACK_API_URL", SLACK_DEFAULT_API_URL, "Slack Web API base URL"),
    SettingSpec("WIREWATCH_SPACY_MODEL", None, "spaCy pipeline to load first"),
    SettingSpec("WIREWATCH_ALLOW_PRIVATE_FEEDS", "0", "allow feeds on private addresses"),
    SettingSpec("WIREWATCH_ADMINS", "", "comma-separated Slack user IDs allowed to manage feeds"),
    SettingSpec("WIREWATCH_POLL_SECONDS", "900", "default seconds between checks of a feed"),
    SettingSpec("PORT", "3000", "HTTP port for `wirewatch serve --http`"),
    SettingSpec("WIREWATCH_HOST", "0.0.0.0",
                "address `wirewatch serve --http` listens on (127.0.0.1: this machine only)"),
    SettingSpec("WIREWATCH_NLP_PROCESSES", "auto",
                "worker processes for large ingestions (auto: the CPU count, at most 4)"),
)
MAX_NLP_PROCESSES = 16

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_nlp_processes() -> int:
    """One per CPU, at most 4 (each holds its own copy of the model, ~0.5–0.7 GB)."""
    return max(1, min(os.cpu_count() or 1, 4))


def default_db_path() -> Path:
    return Path(user_data_dir("wirewatch", appauthor=False)) / "wirewatch.db"


@dataclass(frozen=True)
class Settings:
    db_path: Path = field(default_factory=default_db_path)
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    spacy_model: str | None = None
    allow_private_feeds: bool = False
    admins: frozenset[str] = frozenset()
    poll_seconds: int = 900
    port: int = 3000
    host: str = "0.0.0.0"
    nlp_processes: int = field(default_factory=default_nlp_processes)

    def __repr__(self) -> str:  # never print secrets
        return (
            f"Settings(db_path={str(self.db_path)!r}, slack_api_url={self.slack_api_url!r}, "
            f"spacy_model={self.spacy_model!r}, allow_private_feeds={self.allow_private_feeds}, "
            f"admins={sorted(self.admins)!r}, poll_seconds={self.poll_seconds}, port={self.port}, "
            f"host={self.host!r}, "
            f"nlp_processes={self.nlp_processes}, "
            f"tokens={'set' if self.slack_bot_token else 'unset'})"
        )

    def is_admin(self, user: str | None) -> bool:
        """Users in WIREWATCH_ADMINS; when it is empty, everyone."""
        if not self.admins:
            return True
        return user is not None and user in self.admins


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be on/off (1/0, true/false), not {raw!r}")


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | os.PathLike[str] | None = ".env"
) -> Settings:
    """Read settings from ``environ`` (default: the process environment) over an optional .env.

    Values in the environment win over values in the .env file.
    """
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        if raw is None or raw.strip() == "":
            return None
        return raw.strip()

    db = get("WIREWATCH_DB")
    api_url = get("SLACK_API_URL") or SLACK_DEFAULT_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    admins = frozenset(a.strip() for a in (get("WIREWATCH_ADMINS") or "").split(",") if a.strip())
    return Settings(
        db_path=Path(db).expanduser() if db else default_db_path(),
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_api_url=api_url,
        spacy_model=get("WIREWATCH_SPACY_MODEL"),
        allow_private_feeds=_bool(
            "WIREWATCH_ALLOW_PRIVATE_FEEDS", get("WIREWATCH_ALLOW_PRIVATE_FEEDS") or "0"
        ),
        admins=admins,
        poll_seconds=_int(
            "WIREWATCH_POLL_SECONDS", get("WIREWATCH_POLL_SECONDS") or "900",
            minimum=30, maximum=7 * 24 * 3600,
        ),
        port=_int("PORT", get("PORT") or "3000", minimum=1, maximum=65535),
        host=listen_host("WIREWATCH_HOST", get("WIREWATCH_HOST") or "0.0.0.0"),
        nlp_processes=_processes(get("WIREWATCH_NLP_PROCESSES")),
    )


def _processes(raw: str | None) -> int:
    if raw is None or raw.lower() == "auto":
        return default_nlp_processes()
    return _int("WIREWATCH_NLP_PROCESSES", raw, minimum=1, maximum=MAX_NLP_PROCESSES)


def listen_host(name: str, raw: str) -> str:
    """An IP address (v4 or v6) or a host name to listen on; anything else is a ConfigError."""
    import ipaddress

    value = raw.strip()
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(value.strip("[]")))
    if re.fullmatch(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*", value):
        return value
    raise ConfigError(f"{name} must be an IP address or a host name (e.g. 0.0.0.0 or "
                      f"127.0.0.1), not {raw[:80]!r}")
