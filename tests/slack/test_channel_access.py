"""Channel access in Slack: ``handlers.access.SlackAccess`` against the fake Web API, and the
real Bolt app refusing `watch … in #channel` to non-members, re-checking buttons, asking
before Unwatch and resuming a paused channel when wirewatch is invited back."""

from __future__ import annotations

import json
import time
from typing import Any

from slack_sdk import WebClient

from bot.alerts import AlertPipeline, AlertView
from bot.service import Context
from handlers import blocks
from handlers.access import SlackAccess
from handlers.alerts import SlackSender, alert_message
from tests.slack.conftest import Running, start_app
from tests.slack.conftest import SlackSender as SlackSender_
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack


def _client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def _watch(running: Running, channel: str, query: str, user: str = "UOWNER") -> int:
    return running.store.add_watch(channel=channel, query=query, understood=query,
                                   mode="central", created_by=user, created_at="2025-01-01")


def _click(action_id: str, value: str, *, user: str, channel: str | None,
           response_url: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "team_id": "T111"}, "api_app_id": "A111",
        "token": "verification_token", "team": {"id": "T111"}, "trigger_id": "1.2.3",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button",
                     "value": value, "action_ts": "1.3"}],
    }
    if channel is None:  # App Home
        payload["container"] = {"type": "view", "view_id": "V1"}
        payload["view"] = {"id": "V1", "type": "home"}
    else:
        payload["container"] = {"type": "message", "message_ts": "1.2", "channel_id": channel}
        payload["channel"] = {"id": channel}
        payload["response_url"] = response_url
    return payload


def test_slack_access_follows_pages_up_to_its_cap(fake_slack: FakeSlack) -> None:
    """slack_sdk follows ``next_cursor``; past MAX_CHANNEL_PAGES the channels are unknown."""
    from handlers.access import MAX_CHANNEL_PAGES

    fake_slack.page_size = 2  # type: ignore[attr-defined]
    fake_slack.channels_for_user = {
        "U1": [f"C{n}" for n in range(2 * MAX_CHANNEL_PAGES - 1)],  # fits in the cap
        "U2": [f"C{n}" for n in range(2 * MAX_CHANNEL_PAGES + 1)],  # one page too many
    }
    access = SlackAccess(_client(fake_slack))
    assert access.user_channels("U1") == fake_slack.channels_for_user["U1"]
    assert len(fake_slack.of("users.conversations")) == MAX_CHANNEL_PAGES
    assert access.user_channels("U2") is None
    assert len(fake_slack.of("users.conversations")) == 2 * MAX_CHANNEL_PAGES  # no 6th page


def test_slack_access_answers_from_the_web_api(fake_slack: FakeSlack) -> None:
    fake_slack.channels_for_user = {"U1": ["C1", "CPRIV"]}
    fake_slack.bot_channels = {"C1", "CPRIV"}
    fake_slack.private_channels = {"CPRIV", "CHIDDEN"}
    fake_slack.archived_channels = {"COLD"}
    access = SlackAccess(_client(fake_slack))
    assert access.is_member("U1", "CPRIV") is True and access.is_member("U1", "C2") is False
    assert len(fake_slack.of("users.conversations")) == 1  # cached for the request
    assert access.bot_can_post("C1") is True
    assert access.bot_can_post("C2") is False  # public, not a member, no chat:write.public
    assert access.bot_can_post("CHIDDEN") is False  # private without wirewatch: not found
    assert access.bot_can_post("COLD") is False and access.bot_can_post("D1") is True
    public = SlackAccess(_client(fake_slack), ["chat:write", "chat:write.public"])
    assert public.bot_can_post("C2") is True and public.bot_can_post("CHIDDEN") is False
    # users.conversations refused: conversations.members of the channel instead
    fake_slack.channels_for_user = None
    again = SlackAccess(_client(fake_slack))
    assert again.user_channels("U1") is None
    assert again.is_member("U1", "C1") is False and again.is_member("U1", "CHIDDEN") is None
    fake_slack.info_error = "missing_scope"
    assert SlackAccess(_client(fake_slack)).bot_can_post("C1") is None


def test_non_member_cannot_watch_another_channel(running: Running) -> None:
    running.fake.channels_for_user = {"U1": ["C111"], "U9": ["CPRIV"]}
    running.fake.private_channels = {"CPRIV"}
    running.sender.command("watch deportation flights in <#CPRIV|secret>", user="U1",
                           response_url=running.response_url("w1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/w1")
    assert "Only members of #CPRIV" in answer.body["text"]
    assert running.store.active_watches() == []
    # a member, where wirewatch is: allowed
    running.fake.channels_for_user["U1"].append("COPEN")
    running.sender.command("watch deportation flights in <#COPEN|open>", user="U1",
                           response_url=running.response_url("w2"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/w2")
    assert "Watching in #COPEN" in answer.body["text"]
    assert [w.channel for w in running.store.active_watches()] == ["COPEN"]


def test_watch_where_wirewatch_is_not_says_invite(running: Running) -> None:
    running.fake.bot_channels = {"C111"}
    running.sender.command("watch deportation flights", channel="CNOBOT", user="U1",
                           response_url=running.response_url("i1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/i1")
    assert "/invite @wirewatch" in answer.body["text"] and "#CNOBOT" in answer.body["text"]
    assert running.store.active_watches() == []


def test_chat_write_public_scope_lets_it_watch_public_channels(
        slack_settings: Any, service: Any, slack_store: Any, fake_slack: FakeSlack) -> None:
    # the scopes come from auth.test's X-OAuth-Scopes header, as Bolt reads them
    fake_slack.scopes = "chat:write,chat:write.public,channels:read,groups:read"
    fake_slack.bot_channels = {"C111"}
    fake_slack.private_channels = {"CPRIV"}
    _app, server = start_app(slack_settings, service, slack_store, fake_slack)
    try:
        sender = SlackSender_(server.url)
        hook = f"{fake_slack.url}/hooks/commands/T111/"
        sender.command("watch deportation flights", channel="CNOBOT", user="U1",
                       response_url=hook + "s1")
        [answer] = fake_slack.wait_calls("/hooks/commands/T111/s1")
        assert "Watching here" in answer.body["text"]
        sender.command("watch deportation flights", channel="CPRIV", user="U1",
                       response_url=hook + "s2")  # private: still needs an invitation
        [answer] = fake_slack.wait_calls("/hooks/commands/T111/s2")
        assert "/invite @wirewatch" in answer.body["text"]
    finally:
        server.stop()
    assert [w.channel for w in slack_store.active_watches()] == ["CNOBOT"]


def test_forged_home_click_on_another_channels_watch_changes_nothing(running: Running) -> None:
    wid = _watch(running, "CPRIV", "secret query")
    running.fake.channels_for_user = {"UEVIL": ["C111"], "UOWNER": ["CPRIV"]}
    for n, action in enumerate((blocks.ACTION_UNWATCH, blocks.ACTION_MUTE)):
        resp = running.sender.action(_click(action, str(wid), user="UEVIL", channel=None))
        assert resp.status_code == 200
        publishes = running.fake.wait_calls("views.publish", n + 1)
    w = running.store.get_watch(wid)
    assert w is not None and w.active and w.muted_until is None
    view = json.dumps(publishes[-1].body["view"], ensure_ascii=False)
    assert "Only members of #CPRIV" in view and "secret query" not in view
    # the same click by a member of the channel works
    running.fake.channels_for_user["UMEMBER"] = ["CPRIV"]
    running.sender.action(_click(blocks.ACTION_UNWATCH, str(wid), user="UMEMBER", channel=None))
    running.fake.wait_calls("views.publish", 3)
    assert not running.store.get_watch(wid).active  # type: ignore[union-attr]


def test_alert_button_by_a_non_member_is_refused(running: Running) -> None:
    wid = _watch(running, "C111", "public query")
    running.fake.channels_for_user = {"UVIEWER": []}  # sees the public channel, not in it
    running.sender.action(_click(blocks.ACTION_MUTE, str(wid), user="UVIEWER", channel="C111",
                                 response_url=running.response_url("a1")))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/a1")
    assert "Only members of #C111" in answer.body["text"]
    assert running.store.get_watch(wid).muted_until is None  # type: ignore[union-attr]


def test_every_unwatch_button_asks_to_confirm(running: Running) -> None:
    ctx = Context(channel="C111", user="U1", front_end="slack")
    reply = running.service.handle("watch deportation flights", ctx)
    buttons = [e for b in blocks.render(reply).blocks if b["type"] == "actions"
               for e in b["elements"]]
    running.fake.channels_for_user = {"U1": ["C111"]}
    running.sender.event({"type": "app_home_opened", "user": "U1", "tab": "home",
                          "event_ts": "1.1"}, event_id="EvConfirm")
    [publish] = running.fake.wait_calls("views.publish")
    buttons += [e for b in publish.body["view"]["blocks"] if b["type"] == "actions"
                for e in b["elements"]]
    unwatch = [b for b in buttons if b["action_id"] == blocks.ACTION_UNWATCH]
    assert len(unwatch) == 2
    for b in unwatch:
        assert b["confirm"]["confirm"]["text"] == "Unwatch" and b["confirm"]["style"] == "danger"
    assert all("confirm" not in b for b in buttons if b["action_id"] != blocks.ACTION_UNWATCH)


def test_alert_unwatch_button_asks_to_confirm() -> None:
    from bot.alerts import AlertButton

    view = AlertView(
        alert_id=1, watch_id=7, watch_query="q", channel="C111", article_id=3, title="t",
        url=None, source=None, date=None, lead=None, why=[], actors=[], key_event=None,
        buttons=[AlertButton("ww_mute", "Mute 24 h", "7"), AlertButton("ww_unwatch", "Unwatch",
                                                                         "7")],
    )
    [actions] = [b for b in alert_message(view).blocks if b["type"] == "actions"]
    mute, unwatch = actions["elements"]
    assert "confirm" in unwatch and "confirm" not in mute


def test_not_in_channel_pauses_until_wirewatch_joins(running: Running) -> None:
    from tests.watch.conftest import draft, ingest

    _watch(running, "CNOBOT", "deportation flights to Venezuela")
    running.fake.bot_channels = {"C111"}
    pipeline = AlertPipeline(running.store, sleeper=lambda s: None)
    ids = ingest(running.store, [draft(
        "Deportation flights to Venezuela resume",
        "Deportation flights to Venezuela resumed on Monday. More deportation flights to "
        "Venezuela are planned, officials said.", url="https://news.example/p1")])
    pipeline.on_new_articles(ids, backfill=False)
    report = pipeline.deliver_pending(SlackSender(_client(running.fake)))
    assert report.failed == 1
    assert running.store.channel_pause("CNOBOT") == "not_in_channel"
    running.sender.command("watches", channel="CNOBOT", user="U1",
                           response_url=running.response_url("p1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/p1")
    assert "paused: wirewatch is not in #CNOBOT; /invite @wirewatch there" in json.dumps(
        answer.body["blocks"])
    assert "0 alerts" in json.dumps(answer.body["blocks"])
    # someone else joining changes nothing; wirewatch joining resumes the channel
    for n, user in enumerate(("U5", BOT_USER_ID)):
        running.sender.event({"type": "member_joined_channel", "user": user,
                              "channel": "CNOBOT", "channel_type": "C", "team": "T111",
                              "event_ts": f"3.{n}"}, event_id=f"EvJoin{n}")
    deadline = time.monotonic() + 8
    while running.store.channel_pause("CNOBOT") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.store.channel_pause("CNOBOT") is None
