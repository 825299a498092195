"""Red team, issue 17 part 3 — other people's channels.  Replays the hostile member's
findings against the real Bolt app (HTTP mode, requests signed as Slack signs them) and the
fake Slack Web API, with WIREWATCH_ADMINS empty (everyone manages watches: the weakest
setting, where channel membership is the only fence).

- `watch … in <#private>` by a non-member: refused, nothing stored (no filling its limit).
- a non-member's App Home shows no watch of that channel, whether or not Slack lists the
  user's channels.
- forged, signed `block_actions` naming that channel's watch (Home or message): refused,
  nothing changes.
- a watch where wirewatch is not a member: one refused post, then paused (not retried, not
  counted as alerts), shown with the reason and how to invite wirewatch.
- the Unwatch button asks to confirm.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_channels_OWNER = "UOWNER"
_channels_EVIL = "UEVIL"
_channels_PRIVATE = "CPRIV"
_channels_PUBLIC = "C111"


@dataclass
class _channels_World:
    app: Any
    server: Any
    sender: Any
    fake: Any

    def hook(self, name: str) -> str:
        return f"{self.fake.url}/hooks/commands/T111/{name}"

    def answer(self, name: str) -> dict[str, Any]:
        [call] = self.fake.wait_calls(f"/hooks/commands/T111/{name}", timeout=10)
        return dict(call.body)


@pytest.fixture
def _channels_world(tmp_path: Path) -> Iterator[_channels_World]:
    from bot.ingest import ensure_corpus
    from bot.settings import Settings
    from bot.wiring import build
    from tests.slack.conftest import SECRET, SlackSender, start_app
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=90).start()
    fake.private_channels = {_channels_PRIVATE}
    fake.bot_channels = {_channels_PRIVATE, _channels_PUBLIC}
    fake.channels_for_user = {_channels_OWNER: [_channels_PRIVATE, _channels_PUBLIC],
                              _channels_EVIL: [_channels_PUBLIC]}
    settings = Settings(db_path=tmp_path / "rt.db", slack_bot_token="xoxb-red-team",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = build(settings, seed=False, backfill=False)
    ensure_corpus(app.store, None)
    _, server = start_app(settings, app.service, app.store, fake)
    try:
        yield _channels_World(app, server, SlackSender(server.url), fake)
    finally:
        server.stop()
        fake.stop()
        app.close()


def _channels_private_watch(w: _channels_World) -> int:
    """The owner's watch in the private channel, made the ordinary way (from the channel)."""
    w.sender.command("watch secret merger talks", channel=_channels_PRIVATE,
                     user=_channels_OWNER, response_url=w.hook("own"))
    assert "Watching here" in w.answer("own")["text"]
    [watch] = w.app.store.channel_watches(_channels_PRIVATE)
    return int(watch.id)


def _channels_rows(w: _channels_World) -> list[tuple[Any, ...]]:
    with w.app.store.lock:
        return [tuple(r) for r in w.app.store.db.execute(
            "SELECT * FROM watches ORDER BY id").fetchall()] + [tuple(r) for r in
            w.app.store.db.execute("SELECT * FROM watch_feedback").fetchall()]


def _channels_click(action_id: str, value: str, *, channel: str | None,
                    response_url: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": _channels_EVIL, "team_id": "T111"},
        "api_app_id": "A111", "token": "verification_token", "team": {"id": "T111"},
        "trigger_id": "9.9.9",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button",
                     "value": value, "action_ts": "9.9"}],
    }
    if channel is None:
        payload["container"] = {"type": "view", "view_id": "V1"}
        payload["view"] = {"id": "V1", "type": "home"}
    else:
        payload["container"] = {"type": "message", "message_ts": "9.8", "channel_id": channel}
        payload["channel"] = {"id": channel}
        payload["response_url"] = response_url
    return payload


def test_red_team_channels_non_member_cannot_watch_a_private_channel(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    for n in range(3):  # over and over (the 100-watch limit is not the member's to fill)
        w.sender.command(f"watch deportation flights {n} in <#{_channels_PRIVATE}|secret>",
                         channel=_channels_PUBLIC, user=_channels_EVIL,
                         response_url=w.hook(f"evil{n}"))
        text = w.answer(f"evil{n}")["text"]
        assert f"Only members of #{_channels_PRIVATE}" in text, text
    # the same through a mention and a DM
    w.sender.event({"type": "app_mention", "user": _channels_EVIL, "channel": _channels_PUBLIC,
                    "text": f"<@UBOT0001> watch oil in <#{_channels_PRIVATE}|secret>",
                    "ts": "5.1", "event_ts": "5.1"}, event_id="EvRtMention")
    w.sender.event({"type": "message", "channel_type": "im", "user": _channels_EVIL,
                    "channel": "DEVIL", "text": f"watch oil in <#{_channels_PRIVATE}|secret>",
                    "ts": "5.2", "event_ts": "5.2"}, event_id="EvRtDm")
    posts = w.fake.wait_calls("chat.postMessage", 2, timeout=10)
    assert all(f"Only members of #{_channels_PRIVATE}" in p.body["text"] for p in posts)
    assert w.app.store.active_watches() == []
    # Slack cannot say who is in the channel: refused as well (fail closed)
    w.fake.channels_for_user = None
    w.fake.info_error = "missing_scope"
    w.sender.command(f"watch oil in <#{_channels_PRIVATE}|secret>", channel=_channels_PUBLIC,
                     user=_channels_EVIL, response_url=w.hook("blind"))
    assert "can't check" in w.answer("blind")["text"]
    assert w.app.store.active_watches() == []


def test_red_team_channels_non_member_home_shows_no_watch_of_that_channel(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    _channels_private_watch(w)
    w.sender.event({"type": "app_home_opened", "user": _channels_EVIL, "tab": "home",
                    "event_ts": "6.1"}, event_id="EvRtHome1")
    w.fake.channels_for_user = None  # users.conversations refused: channels unknown
    w.sender.event({"type": "app_home_opened", "user": _channels_EVIL, "tab": "home",
                    "event_ts": "6.2"}, event_id="EvRtHome2")
    publishes = w.fake.wait_calls("views.publish", 2, timeout=10)
    for p in publishes:
        view = json.dumps(p.body["view"], ensure_ascii=False)
        assert "secret merger" not in view and _channels_PRIVATE not in view
        buttons = [e for b in p.body["view"]["blocks"] if b["type"] == "actions"
                   for e in b["elements"]]
        assert buttons == []


def test_red_team_channels_forged_buttons_change_nothing(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    wid = _channels_private_watch(w)
    before = _channels_rows(w)
    for n, action in enumerate(("ww_unwatch", "ww_mute", "ww_not_relevant")):
        value = f"{wid}:1" if action == "ww_not_relevant" else str(wid)
        resp = w.sender.action(_channels_click(action, value, channel=None))  # App Home
        assert resp.status_code == 200
        w.fake.wait_calls("views.publish", n + 1, timeout=10)
        resp = w.sender.action(_channels_click(action, value, channel=_channels_PUBLIC,
                                               response_url=w.hook(f"f{n}")))
        assert resp.status_code == 200
        assert "no watch" in w.answer(f"f{n}")["text"]
    notices = [json.dumps(p.body["view"]) for p in w.fake.of("views.publish")]
    assert all(f"Only members of #{_channels_PRIVATE}" in v for v in notices)
    assert _channels_rows(w) == before


def test_red_team_channels_not_in_channel_pauses_instead_of_failing_forever(
        _channels_world: _channels_World) -> None:
    from slack_sdk import WebClient

    from bot.alerts import AlertPipeline
    from bot.ingest import ArticleDraft, ingest_drafts
    from handlers.alerts import SlackSender

    w = _channels_world
    store = w.app.store
    # a watch stored before the fix, in a channel wirewatch was never invited to
    store.add_watch(channel="CNOBOT", query="deportation flights to Venezuela",
                    understood="", mode="central", created_by=_channels_EVIL,
                    created_at="2025-01-01T00:00:00+00:00")
    pipeline = AlertPipeline(store, sleeper=lambda s: None)
    sender = SlackSender(WebClient(token="xoxb-red-team", base_url=w.fake.api_url))
    for n, word in enumerate(["harbour", "ministry", "orchestra"]):
        ids = ingest_drafts(store, [ArticleDraft(
            title=f"Deportation flights to Venezuela: {word} {n}",
            text=f"Deportation flights to Venezuela and the {word} ({n}). More deportation "
                 f"flights to Venezuela are planned near the {word}.",
            url=f"https://news.example/rt/{n}")]).new_ids
        pipeline.on_new_articles(ids, backfill=False)
        pipeline.deliver_pending(sender)
    refused = [c for c in w.fake.of("chat.postMessage") if c.body.get("channel") == "CNOBOT"]
    assert len(refused) == 1  # one refusal, then never again
    w.fake.channels_for_user = {_channels_EVIL: ["CNOBOT"]}
    w.sender.command("watches", channel="CNOBOT", user=_channels_EVIL,
                     response_url=w.hook("paused"))
    blocks = json.dumps(w.answer("paused")["blocks"])
    assert "paused: wirewatch is not in #CNOBOT; /invite @wirewatch there" in blocks
    assert "0 alerts" in blocks


def test_red_team_channels_unwatch_asks_to_confirm(_channels_world: _channels_World) -> None:
    w = _channels_world
    _channels_private_watch(w)
    w.sender.event({"type": "app_home_opened", "user": _channels_OWNER, "tab": "home",
                    "event_ts": "7.1"}, event_id="EvRtHome3")
    [publish] = w.fake.wait_calls("views.publish", timeout=10)
    unwatch = [e for b in publish.body["view"]["blocks"] if b["type"] == "actions"
               for e in b["elements"] if e["action_id"] == "ww_unwatch"]
    assert unwatch and all(e["confirm"]["confirm"]["text"] == "Unwatch" for e in unwatch)
