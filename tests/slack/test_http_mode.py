"""The real Bolt app in HTTP mode against the fake Slack, with requests signed as Slack signs
them."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from bot.replies import Reply
from bot.service import Context, Service
from tests.slack.conftest import PAYLOADS, Running, start_app
from tests.slack.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack


def _texts(call: Any) -> str:
    """Everything a user could read in a posted message: text plus every block's text."""
    return call.body.get("text", "") + "\n" + json.dumps(call.body.get("blocks") or [],
                                                        ensure_ascii=False)


# -- slash command ---------------------------------------------------------------------------

def test_slash_command_acks_fast_and_answers_ephemerally_on_response_url(
    running: Running,
) -> None:
    start = time.monotonic()
    resp = running.sender.command("search deportation", response_url=running.response_url())
    elapsed = time.monotonic() - start
    assert resp.status_code == 200
    assert elapsed < 3.0
    [answer] = running.fake.wait_calls("/hooks/commands/T111/r1")
    assert answer.body["response_type"] == "ephemeral"
    assert "deportation" in answer.body["text"]
    assert answer.body["blocks"], "a Block Kit answer"
    assert answer.body["unfurl_links"] is False
    assert len(answer.body["blocks"]) <= 50
    # nothing was posted to the channel
    assert running.fake.of("chat.postMessage") == []


def test_slash_command_share_posts_in_channel(running: Running) -> None:
    running.sender.command("share help", response_url=running.response_url())
    [answer] = running.fake.wait_calls("/hooks/commands/T111/r1")
    assert answer.body["response_type"] == "in_channel"


def test_slow_answer_shows_working_first_then_replaces_it(
    running: Running, monkeypatch: Any,
) -> None:
    import handlers.common

    monkeypatch.setattr(handlers.common, "WORKING_AFTER", 0.2)
    real = running.service.handle

    def slow(text: str, ctx: Context | None = None) -> Reply:
        time.sleep(0.8)
        return real(text, ctx)

    monkeypatch.setattr(running.service, "handle", slow)
    start = time.monotonic()
    resp = running.sender.command("status", response_url=running.response_url())
    assert resp.status_code == 200 and time.monotonic() - start < 0.7
    calls = running.fake.wait_calls("/hooks/commands/T111/r1", 2)
    assert calls[0].body["text"] == "working…"
    assert calls[1].body["replace_original"] is True
    assert "articles" in calls[1].body["text"]


def test_fast_answer_shows_no_working(running: Running) -> None:
    running.sender.command("help", response_url=running.response_url())
    running.fake.wait_calls("/hooks/commands/T111/r1")
    time.sleep(0.3)
    calls = running.fake.of("/hooks/commands/T111/r1")
    assert len(calls) == 1 and calls[0].body.get("replace_original") is False


def test_bad_command_gets_a_short_clear_ephemeral_error(running: Running) -> None:
    running.sender.command("frobnicate<!channel> now", response_url=running.response_url())
    [answer] = running.fake.wait_calls("/hooks/commands/T111/r1")
    assert answer.body["response_type"] == "ephemeral"
    assert "frobnicate" in answer.body["text"]
    assert "<!channel>" not in _texts(answer)
    assert "&lt;!channel&gt;" in _texts(answer)


# -- signature -------------------------------------------------------------------------------

def test_wrong_signature_is_401_and_calls_nothing(running: Running) -> None:
    running.fake.reset()
    resp = running.sender.command("help", response_url=running.response_url(),
                                  secret="not-the-secret")
    assert resp.status_code == 401
    time.sleep(0.3)
    assert running.fake.calls == []


def test_stale_timestamp_is_401_and_calls_nothing(running: Running) -> None:
    running.fake.reset()
    resp = running.sender.command("help", response_url=running.response_url(),
                                  timestamp=int(time.time()) - 6 * 60)
    assert resp.status_code == 401
    resp = running.sender.event({"type": "app_mention", "user": "U1", "text": "help",
                                 "ts": "1.1", "channel": "C1"}, event_id="EvStale",
                                timestamp=int(time.time()) - 6 * 60)
    assert resp.status_code == 401
    time.sleep(0.3)
    assert running.fake.calls == []


def test_url_verification_is_answered(running: Running) -> None:
    body = (PAYLOADS / "bolt_url_verification.json").read_text() if PAYLOADS.is_dir() else (
        json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"})
    )
    resp = running.sender.post(body, "application/json")
    assert resp.status_code == 200
    assert resp.json()["challenge"] == json.loads(body)["challenge"]


def test_healthz_and_unknown_paths(running: Running) -> None:
    import httpx

    base = running.server.url.rsplit("/slack/events", 1)[0]
    assert httpx.get(base + "/healthz", timeout=5).text == "ok"
    assert httpx.post(base + "/elsewhere", content=b"x", timeout=5).status_code == 404
    import socket

    with socket.create_connection(("127.0.0.1", running.server.port), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 2000000\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert running.fake.of("chat.postMessage") == []


# -- mentions and DMs ------------------------------------------------------------------------

def _mention(text: str, ts: str = "1700000001.000100", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": "U222", "text": text, "ts": ts,
            "channel": "C111", "event_ts": ts, **extra}


def test_mention_is_answered_in_a_thread_under_it(running: Running) -> None:
    resp = running.sender.event(_mention(f"<@{BOT_USER_ID}> search deportation flights"),
                                event_id="EvM1")
    assert resp.status_code == 200
    [post] = running.fake.wait_calls("chat.postMessage")
    assert post.body["channel"] == "C111"
    assert post.body["thread_ts"] == "1700000001.000100"
    assert "deportation" in post.body["text"]
    assert post.headers["authorization"] == "Bearer xoxb-test-token"


def test_mention_plain_english_who_is(running: Running) -> None:
    running.sender.event(_mention(f"<@{BOT_USER_ID}> who is Trump?"), event_id="EvM2")
    [post] = running.fake.wait_calls("chat.postMessage")
    assert post.body["thread_ts"] == "1700000001.000100"
    # the plain-English form reaches `who` (this fixture's corpus is indexed without NLP)
    assert "trump" in post.body["text"].lower()


def test_mention_inside_a_thread_answers_in_that_thread(running: Running) -> None:
    running.sender.event(_mention(f"<@{BOT_USER_ID}> help", ts="1700000009.000200",
                                  thread_ts="1700000001.000100"), event_id="EvM3")
    [post] = running.fake.wait_calls("chat.postMessage")
    assert post.body["thread_ts"] == "1700000001.000100"


def test_dm_is_answered_in_the_dm(running: Running) -> None:
    event = {"type": "message", "channel": "D024BE91L", "user": "U2147483697",
             "text": "search Venezuela", "ts": "1355517523.000005",
             "event_ts": "1355517523.000005", "channel_type": "im"}
    running.sender.event(event, event_id="EvD1")
    [post] = running.fake.wait_calls("chat.postMessage")
    assert post.body["channel"] == "D024BE91L"
    assert "thread_ts" not in post.body
    assert "Venezuela" in post.body["text"]


def test_retried_event_is_answered_once(running: Running) -> None:
    event = _mention(f"<@{BOT_USER_ID}> status")
    first = running.sender.event(event, event_id="EvRetry1")
    second = running.sender.event(event, event_id="EvRetry1", retry=1)
    third = running.sender.event(event, event_id="EvRetry1", retry=2)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    running.fake.wait_calls("chat.postMessage")
    time.sleep(0.5)
    assert len(running.fake.of("chat.postMessage")) == 1


def test_retry_after_a_restart_is_still_answered_once(
    running: Running, slack_settings: Any, fake_slack: FakeSlack,
) -> None:
    from bot.store import Store

    event = _mention(f"<@{BOT_USER_ID}> help")
    running.sender.event(event, event_id="EvRestart")
    running.fake.wait_calls("chat.postMessage")
    running.server.stop()
    store = Store(slack_settings.db_path)
    try:
        service = Service(store, slack_settings)
        _app, server = start_app(slack_settings, service, store, fake_slack)
        try:
            running.sender.url = server.url
            assert running.sender.event(event, event_id="EvRestart", retry=1).status_code == 200
            time.sleep(0.5)
            assert len(fake_slack.of("chat.postMessage")) == 1
        finally:
            server.stop()
    finally:
        store.close()


def test_bot_messages_are_ignored(running: Running) -> None:
    other_bot = json.loads((PAYLOADS / "bolt_bot_message_event.json").read_text())["event"] \
        if PAYLOADS.is_dir() else {"bot_id": "B999", "type": "message", "text": "hi",
                                   "user": "UB111", "ts": "1.2", "channel": "C111",
                                   "channel_type": "channel"}
    other_bot = {**other_bot, "channel": "D111", "channel_type": "im", "text": "help"}
    ours = {"type": "message", "subtype": "bot_message", "bot_id": BOT_ID, "text": "help",
            "ts": "1.3", "channel": "D111", "channel_type": "im"}
    ours_as_user = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": "help",
                    "ts": "1.4", "channel": "D111", "channel_type": "im"}
    bot_mention = _mention(f"<@{BOT_USER_ID}> help", bot_id="B999")
    for i, event in enumerate((other_bot, ours, ours_as_user, bot_mention)):
        assert running.sender.event(event, event_id=f"EvBot{i}").status_code == 200
    # a person's DM afterwards is answered: the listener is alive, the bots were ignored
    person = {"type": "message", "user": "U9", "text": "help", "ts": "1.5", "channel": "D111",
              "channel_type": "im"}
    running.sender.event(person, event_id="EvPerson")
    posts = running.fake.wait_calls("chat.postMessage")
    time.sleep(0.3)
    posts = running.fake.of("chat.postMessage")
    assert len(posts) == 1 and posts[0].body["channel"] == "D111"


def test_message_edits_and_channel_messages_are_not_commands(running: Running) -> None:
    edit = {"type": "message", "subtype": "message_changed", "channel": "D111",
            "channel_type": "im", "ts": "1.6", "message": {"text": "help"}}
    channel_msg = {"type": "message", "user": "U9", "text": "help", "ts": "1.7",
                   "channel": "C111", "channel_type": "channel"}
    for i, event in enumerate((edit, channel_msg)):
        assert running.sender.event(event, event_id=f"EvNot{i}").status_code == 200
    time.sleep(0.4)
    assert running.fake.of("chat.postMessage") == []


# -- App Home --------------------------------------------------------------------------------

def _add_watch(store: Any, channel: str, query: str) -> int:
    with store.lock:
        cur = store.db.execute(
            "INSERT INTO watches(channel, query, understood, active) VALUES (?, ?, ?, 1)",
            [channel, query, query],
        )
        return int(cur.lastrowid)


def test_app_home_is_published_with_the_users_channels_watches(running: Running) -> None:
    mine = _add_watch(running.store, "C111", "deportation flights")
    _add_watch(running.store, "C999", "secret other channel watch")
    running.fake.channels_for_user = {"U222": ["C111"]}
    event = {"type": "app_home_opened", "user": "U222", "channel": "D1", "tab": "home",
             "event_ts": "1.8"}
    running.sender.event(event, event_id="EvHome1")
    [publish] = running.fake.wait_calls("views.publish")
    assert publish.body["user_id"] == "U222"
    view = publish.body["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "deportation flights" in text and "secret other channel" not in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"action_id": "ww_mute", "value": str(mine)}.items() <= buttons[0].items()
    assert "search QUERY" in text  # the help


def test_app_home_shows_only_own_watches_when_channels_unknown(running: Running) -> None:
    _add_watch(running.store, "C111", "deportation flights")
    _add_watch(running.store, "C999", "other channel watch")
    running.service.handle("watch my own query", Context(channel="C555", user="U222",
                                                         front_end="slack"))
    running.fake.channels_for_user = None  # users.conversations → missing_scope
    running.sender.event({"type": "app_home_opened", "user": "U222", "tab": "home",
                          "event_ts": "1.9"}, event_id="EvHome2")
    [publish] = running.fake.wait_calls("views.publish")
    text = json.dumps(publish.body["view"], ensure_ascii=False)
    assert "my own query" in text
    assert "deportation flights" not in text and "other channel watch" not in text
    assert "Watches you made" in text and "cannot list your channels" in text


def test_messages_tab_publishes_nothing(running: Running) -> None:
    running.sender.event({"type": "app_home_opened", "user": "U222", "tab": "messages",
                          "event_ts": "1.9"}, event_id="EvHome3")
    time.sleep(0.4)
    assert running.fake.of("views.publish") == []


# -- buttons ---------------------------------------------------------------------------------

def _click(action_id: str, value: str, *, response_url: str,
           container: dict[str, Any] | None = None) -> dict[str, Any]:
    if PAYLOADS.is_dir():
        payload = json.loads((PAYLOADS / "bolt_block_actions_button.json").read_text())["payload"]
    else:
        payload = {"type": "block_actions", "user": {"id": "W111"}, "api_app_id": "A111",
                   "team": {"id": "T111"}, "channel": {"id": "C111"}, "trigger_id": "1.2.3",
                   "container": {"type": "message", "message_ts": "1.2", "channel_id": "C111"},
                   "actions": [{"action_id": "a", "block_id": "b", "type": "button",
                                "value": "v", "action_ts": "1.3"}]}
    payload = json.loads(json.dumps(payload))
    payload["response_url"] = response_url
    payload["actions"][0]["action_id"] = action_id
    payload["actions"][0]["value"] = value
    if container is not None:
        payload["container"] = container
        payload.pop("channel", None)
        payload.pop("response_url", None)
    return payload


class Recorder:
    def __init__(self, service: Service) -> None:
        self.real = service.handle
        self.seen: list[tuple[str, Context | None]] = []
        self.lock = threading.Lock()

    def handle(self, text: str, ctx: Context | None = None) -> Reply:
        with self.lock:
            self.seen.append((text, ctx))
        return self.real(text, ctx)


def test_mute_button_reaches_the_service(running: Running, monkeypatch: Any) -> None:
    recorder = Recorder(running.service)
    monkeypatch.setattr(running.service, "handle", recorder.handle)
    resp = running.sender.action(_click("ww_mute", "3", response_url=running.response_url("b1")))
    assert resp.status_code == 200
    [answer] = running.fake.wait_calls("/hooks/commands/T111/b1")
    text, ctx = recorder.seen[0]
    assert text == "mute 3 for 24h"
    assert ctx is not None and ctx.channel == "C111" and ctx.user == "W111"
    assert answer.body["response_type"] == "ephemeral"


def test_unwatch_button_in_app_home_republishes_home(running: Running, monkeypatch: Any) -> None:
    wid = _add_watch(running.store, "C777", "flights")
    recorder = Recorder(running.service)
    monkeypatch.setattr(running.service, "handle", recorder.handle)
    payload = _click("ww_unwatch", str(wid), response_url="",
                     container={"type": "view", "view_id": "V1"})
    payload["view"] = {"id": "V1", "type": "home"}
    running.sender.action(payload)
    [publish] = running.fake.wait_calls("views.publish")
    text, ctx = recorder.seen[0]
    assert text == f"unwatch {wid}"
    assert ctx is not None and ctx.channel == "C777"  # the watch's channel
    assert publish.body["user_id"] == "W111"


def test_more_button_shows_the_next_page(running: Running) -> None:
    value = json.dumps({"c": "search Venezuela page 1", "p": 1})
    running.sender.action(_click("ww_more", value, response_url=running.response_url("m1")))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/m1")
    assert "Venezuela" in answer.body["text"]


def test_stale_button_value_gets_a_short_error(running: Running) -> None:
    running.sender.action(_click("ww_mute", "not-a-number",
                                 response_url=running.response_url("s1")))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/s1")
    assert "out of date" in answer.body["text"]
    assert answer.body["response_type"] == "ephemeral"


def test_unknown_action_is_acked_and_logged(running: Running, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="wirewatch.slack")
    resp = running.sender.action(_click("something_else", "x",
                                        response_url=running.response_url("u1")))
    assert resp.status_code == 200
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "something_else" not in caplog.text:
        time.sleep(0.05)
    assert "unknown action 'something_else'" in caplog.text
    assert running.fake.of("/hooks/commands/T111/u1") == []


# -- errors ----------------------------------------------------------------------------------

def test_crash_is_logged_with_traceback_and_user_sees_an_apology(
    running: Running, monkeypatch: Any, caplog: Any,
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="wirewatch.slack")

    def boom(text: str, ctx: Context | None = None) -> Reply:
        raise RuntimeError("database on fire at /secret/path")

    monkeypatch.setattr(running.service, "handle", boom)
    running.sender.command("status", response_url=running.response_url("e1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/e1")
    assert "Sorry" in answer.body["text"]
    assert "secret" not in answer.body["text"] and "Traceback" not in answer.body["text"]
    assert answer.body["response_type"] == "ephemeral"
    assert "Traceback" in caplog.text and "database on fire" in caplog.text


def test_crash_in_a_mention_apologises_ephemerally_in_the_thread(
    running: Running, monkeypatch: Any,
) -> None:
    def boom(text: str, ctx: Context | None = None) -> Reply:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(running.service, "handle", boom)
    running.sender.event(_mention(f"<@{BOT_USER_ID}> status"), event_id="EvCrash")
    [eph] = running.fake.wait_calls("chat.postEphemeral")
    assert eph.body["user"] == "U222" and "Sorry" in eph.body["text"]
    assert "kaboom" not in eph.body["text"]


# -- escaping end to end ----------------------------------------------------------------------

def test_feed_title_with_channel_ping_renders_escaped(running: Running) -> None:
    with running.store.lock:
        running.store.db.execute(
            "INSERT INTO feeds(url, title, status, error) VALUES (?, ?, 'failing', ?)",
            ["https://evil.example/rss", "<!channel> Breaking <@U123> <https://evil|bank>",
             "bad <!here> error"],
        )
    running.sender.command("status", response_url=running.response_url("x1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/x1")
    everything = _texts(answer)
    for bad in ("<!channel>", "<@U123>", "<https://evil|bank>", "<!here>"):
        assert bad not in everything
    assert "&lt;!channel&gt; Breaking" in everything
    # and in App Home
    running.sender.event({"type": "app_home_opened", "user": "U5", "tab": "home",
                          "event_ts": "2.0"}, event_id="EvHomeX")
    [publish] = running.fake.wait_calls("views.publish")
    view = json.dumps(publish.body["view"], ensure_ascii=False)
    assert "<!channel>" not in view and "&lt;!channel&gt;" in view


def test_article_titled_with_a_ping_renders_escaped(running: Running) -> None:
    aid = running.store.insert_article({
        "title": "<!channel> Flights resume & more", "text": "Deportation zzyzx flights. " * 5,
        "content_hash": "h-ping", "url": "https://news.example/a?x=1&y=<2>|3",
    })
    running.sender.command("search zzyzx", response_url=running.response_url("x2"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/x2")
    running.sender.command(f"article {aid}", response_url=running.response_url("x3"))
    [article] = running.fake.wait_calls("/hooks/commands/T111/x3")
    for call in (answer, article):
        everything = _texts(call)
        assert "<!channel>" not in everything
        assert "&lt;!channel&gt; Flights resume &amp; more" in everything
    assert "<https://news.example/a?x=1&amp;y=%3C2%3E%7C3|" in _texts(answer)


def test_slow_mention_posts_working_then_updates_it(running: Running, monkeypatch: Any) -> None:
    import handlers.common

    monkeypatch.setattr(handlers.common, "WORKING_AFTER", 0.2)
    real = running.service.handle

    def slow(text: str, ctx: Context | None = None) -> Reply:
        time.sleep(0.8)
        return real(text, ctx)

    monkeypatch.setattr(running.service, "handle", slow)
    running.sender.event(_mention(f"<@{BOT_USER_ID}> status"), event_id="EvSlow")
    [update] = running.fake.wait_calls("chat.update")
    [working] = running.fake.of("chat.postMessage")
    assert working.body["text"] == "working…"
    assert working.body["thread_ts"] == "1700000001.000100"
    assert update.body["channel"] == "C111" and update.body["ts"]
    assert "articles" in update.body["text"]


# -- Slack's own recorded payloads, replayed byte for byte ------------------------------------

def test_recorded_slash_command_body_is_answered(running: Running) -> None:
    import pytest

    if not PAYLOADS.is_dir():
        pytest.skip("../shared/slack-payloads not present")
    from urllib.parse import quote

    raw = json.loads((PAYLOADS / "bolt_slash_command.json").read_text())["_raw_body"]
    raw = raw.replace("command=%2Fhello-world", "command=%2Fnews").replace("text=Hi", "text=help")
    raw = raw.replace(quote("https://hooks.slack.com/commands/T111/111/xxxxx", safe=""),
                      quote(running.response_url("rec"), safe=""))
    resp = running.sender.post(raw, "application/x-www-form-urlencoded")
    assert resp.status_code == 200
    [answer] = running.fake.wait_calls("/hooks/commands/T111/rec")
    assert "help" in answer.body["text"]


def test_recorded_block_action_body_is_acked(running: Running, caplog: Any) -> None:
    import logging

    import pytest

    if not PAYLOADS.is_dir():
        pytest.skip("../shared/slack-payloads not present")
    caplog.set_level(logging.INFO, logger="wirewatch.slack")
    raw = json.loads((PAYLOADS / "bolt_block_actions_button.json").read_text())["_raw_body"]
    resp = running.sender.post(raw, "application/x-www-form-urlencoded")
    assert resp.status_code == 200  # action_id "a" is unknown: acked and logged
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "unknown action 'a'" not in caplog.text:
        time.sleep(0.05)
    assert "unknown action 'a'" in caplog.text


def test_slow_answers_never_hold_back_other_acks(running: Running, monkeypatch: Any) -> None:
    release = threading.Event()
    real = running.service.handle

    def stuck(text: str, ctx: Context | None = None) -> Reply:
        if text == "status":
            release.wait(20)
        return real(text, ctx)

    monkeypatch.setattr(running.service, "handle", stuck)
    try:
        for i in range(8):  # more slow answers than Bolt's default pool of 5 threads
            resp = running.sender.command("status", response_url=running.response_url(f"st{i}"))
            assert resp.status_code == 200
        start = time.monotonic()
        resp = running.sender.command("help", response_url=running.response_url("quick"))
        assert resp.status_code == 200 and time.monotonic() - start < 2.0
        running.fake.wait_calls("/hooks/commands/T111/quick")
    finally:
        release.set()
    running.fake.wait_calls("/hooks/commands/T111/st7")


def test_text_arrives_as_typed_and_leaves_escaped(running: Running, monkeypatch: Any) -> None:
    recorder = Recorder(running.service)
    monkeypatch.setattr(running.service, "handle", recorder.handle)
    # Slack sends a typed "&", "<", ">" as entities; its own markup stays markup
    running.sender.command("search AT&amp;T &lt;b&gt; in <#C123|general>",
                           response_url=running.response_url("t1"))
    [answer] = running.fake.wait_calls("/hooks/commands/T111/t1")
    running.sender.event(_mention(f"<@{BOT_USER_ID}> search R&amp;D"), event_id="EvAmp")
    [post] = running.fake.wait_calls("chat.postMessage")
    texts = [t for t, _ in recorder.seen]
    assert texts == ["search AT&T <b> in <#C123|general>", "search R&D"]
    assert "AT&amp;T &lt;b&gt;" in answer.body["text"]
    assert "R&amp;D" in post.body["text"]
