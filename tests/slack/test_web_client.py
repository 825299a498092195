"""Web API calls retry 429 (honouring Retry-After) and 5xx, and go to SLACK_API_URL."""

from __future__ import annotations

import time

from bot.settings import Settings
from bot.slack_app import make_client
from tests.slack.conftest import Running
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack


def test_rate_limited_call_is_retried_after_retry_after(
    slack_settings: Settings, fake_slack: FakeSlack,
) -> None:
    client = make_client(slack_settings)
    fake_slack.fail_next("chat.postMessage", 429, retry_after=1)
    start = time.monotonic()
    resp = client.chat_postMessage(channel="C1", text="hello")
    assert resp["ok"] is True
    assert time.monotonic() - start >= 0.9
    calls = fake_slack.of("chat.postMessage")
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 0.9


def test_server_error_is_retried(slack_settings: Settings, fake_slack: FakeSlack) -> None:
    client = make_client(slack_settings)
    fake_slack.fail_next("views.publish", 503, retry_after=None)
    resp = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert resp["ok"] is True
    assert len(fake_slack.of("views.publish")) == 2


def test_mention_answer_survives_a_429(running: Running) -> None:
    running.fake.fail_next("chat.postMessage", 429, retry_after=1)
    running.sender.event({"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER_ID}> help",
                          "ts": "1.1", "channel": "C111"}, event_id="Ev429")
    posts = running.fake.wait_calls("chat.postMessage", 2)
    assert posts[0].body == posts[1].body  # the same message, sent again
    time.sleep(0.3)
    assert len(running.fake.of("chat.postMessage")) == 2


def test_slash_command_answer_survives_a_429_on_the_response_url(running: Running) -> None:
    url = running.response_url("rl")
    running.fake.fail_next("/hooks/commands/T111/rl", 429, retry_after=1)
    running.sender.command("help", response_url=url)
    calls = running.fake.wait_calls("/hooks/commands/T111/rl", 2)
    assert calls[0].body == calls[1].body and "help" in calls[1].body["text"]
