"""Fixtures for the Slack adapter: a fake Slack Web API, the real Bolt app served in HTTP
mode on a random port, and a client that signs requests exactly as Slack does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.ingest import ensure_corpus
from bot.service import Service
from bot.settings import Settings
from bot.store import Store
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
_ROOT = Path(__file__).resolve().parents[2]
# ../shared next to the checkout (or two levels up from a worktree in wt/)
PAYLOADS = next(
    (p for p in (_ROOT.parent / "shared" / "slack-payloads",
                 _ROOT.parent.parent / "shared" / "slack-payloads") if p.is_dir()),
    _ROOT.parent / "shared" / "slack-payloads",
)


def sign(secret: str, timestamp: int, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SlackSender:
    """Sends requests to the app the way Slack does: signed, with Slack's headers."""

    url: str
    secret: str = SECRET

    def post(self, body: str, content_type: str, *, timestamp: int | None = None,
             secret: str | None = None, headers: dict[str, str] | None = None,
             ) -> httpx.Response:
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret or self.secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        return httpx.post(self.url, content=body.encode(), headers=all_headers, timeout=10)

    def command(self, text: str, *, response_url: str, channel: str = "C111",
                user: str = "W111", **kw: Any) -> httpx.Response:
        fields = {
            "token": "verification_token", "team_id": "T111", "team_domain": "test-domain",
            "channel_id": channel, "channel_name": "random", "user_id": user,
            "user_name": "primary-owner", "command": "/news", "text": text,
            "api_app_id": "A111", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": "111.111.xxx",
        }
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **kw)

    def event(self, event: dict[str, Any], *, event_id: str, retry: int | None = None,
              **kw: Any) -> httpx.Response:
        envelope = {
            "token": "verification_token", "team_id": "T111", "api_app_id": "A111",
            "event": event, "type": "event_callback", "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": "T111",
                                "user_id": BOT_USER_ID, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        headers = dict(kw.pop("headers", {}) or {})
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(json.dumps(envelope), "application/json", headers=headers, **kw)

    def action(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(lifetime=90).start()
    yield fake
    fake.stop()


@pytest.fixture
def slack_settings(tmp_path: Path, fake_slack: FakeSlack) -> Settings:
    return Settings(
        db_path=tmp_path / "slack.db", slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET, slack_api_url=fake_slack.api_url,
    )


@pytest.fixture
def slack_store(slack_settings: Settings) -> Iterator[Store]:
    store = Store(slack_settings.db_path)
    ensure_corpus(store, None)
    yield store
    store.close()


@pytest.fixture
def service(slack_store: Store, slack_settings: Settings) -> Service:
    return Service(slack_store, slack_settings)


@dataclass
class Running:
    app: Any
    server: Any
    sender: SlackSender
    fake: FakeSlack
    service: Any
    store: Store

    def response_url(self, name: str = "r1") -> str:
        return f"{self.fake.url}/hooks/commands/T111/{name}"


def start_app(settings: Settings, service: Any, store: Store, fake: FakeSlack,
              ) -> tuple[Any, Any]:
    from bot.slack_app import create_app
    from bot.slack_http import SlackHTTPServer
    from handlers import register_all

    app = create_app(settings, service, store, listeners=[register_all])
    server = SlackHTTPServer(app, store, host="127.0.0.1", port=0).start()
    return app, server


@pytest.fixture
def running(slack_settings: Settings, service: Service, slack_store: Store,
            fake_slack: FakeSlack) -> Iterator[Running]:
    app, server = start_app(slack_settings, service, slack_store, fake_slack)
    try:
        yield Running(app, server, SlackSender(server.url), fake_slack, service, slack_store)
    finally:
        server.stop()


@pytest.fixture
def settings_with(slack_settings: Settings) -> Any:
    def make(**changes: Any) -> Settings:
        return replace(slack_settings, **changes)

    return make
