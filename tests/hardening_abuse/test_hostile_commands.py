"""Issue 8 part 4: hostile commands through the service and through Slack.

Each gets a clear, short answer and changes nothing it should not: a snapshot of every table
is compared before and after."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from bot.replies import Reply
from bot.service import Context
from tests.hardening_abuse.conftest import ADMIN, snapshot

HERE = Context(channel="C1", user="U1", front_end="slack")
ADMIN_HERE = Context(channel="C1", user=ADMIN, front_end="slack")
STRANGER_HERE = Context(channel="C1", user="U2", front_end="slack")
ELSEWHERE = Context(channel="C2", user="U2", front_end="slack")
ADMIN_ELSEWHERE = Context(channel="C2", user=ADMIN, front_end="slack")

URLS = [
    "file:///etc/passwd", "gopher://127.0.0.1:25/_HELO", "ftp://example.com/feed",
    "data:text/xml,<rss/>", "javascript:alert(1)", "http://127.0.0.1/", "http://10.0.0.1/feed",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0x7f000001/",
    "http://2130706433/", "http://localhost/", "http://[::ffff:127.0.0.1]/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://192.168.1.1:22/",
    "<http://127.0.0.1/|bank>", "http://user:pass@127.0.0.1/", "http:///nohost",
    "http://" + "a" * 300 + ".example/", "file:" + "/" * 3000,
]

# Commands that must be refused (or only read) and change nothing, for anyone, anywhere.
HOSTILE = [
    "", " ", "\x00", "\x00" * 50, "\u202e", "\t\r\n", "a" * 100_000, "who " + "x" * 100_000,
    "x" * 3999, "search " + '"' * 1000, "search ) OR (", "search NEAR(a b)", "search *",
    'search "unterminated', "search a AND OR NOT b", "search col:val", "search ^start",
    "search a' OR 1=1; DROP TABLE articles; --", "who Robert'); DROP TABLE actors;--",
    "article 1; DELETE FROM articles", "search \u202e\u202d\u2066evil\u2069",
    "who \x1b[2J\x1b[H", "events \x07\x08",
    "mute 1 for 99999d", "mute 1 for 99999999999999999999h", "mute 1 for -5h", "mute 1 for 0s",
    "mute 1 until 99999-01-01", "mute 1 until 1970-01-01", "mute 1 for 1e308h",
    "events since 99999-01-01", "events since 0000-00-00", "events since 9" * 50,
    "events since 2025-13-45", "events until 1e400",
    "digest 1 daily 99:99", "digest 1 daily 24:00", "digest 1 daily -1:00", "digest 1 weekly",
    "digest 1 daily 08:30:99", "article 99999999999999999999999", "article -1", "article 0",
    "article 1.5", "article NaN", "unwatch 99999999999999999999999", "unwatch -1",
    "unwatch 1 OR 1=1", "mute 0", "unmute 2147483648", "digest 9223372036854775808 off",
    "watch " + "(" * 3000, "watch " + "a OR " * 700 + "b", "watch )", 'watch "', "watch -",
    "watch NOT", "watch actor:", "watch type:'; DROP TABLE watches;--(",
    "feed remove 99999", "feed remove -1", "feed remove 1 OR 1=1", "feed import /etc/passwd",
    "feed import file:///etc/passwd", "feed add", "feed add  ",
    *[f"feed add {u}" for u in URLS], *[f"feed import {u}" for u in URLS if "127" in u],
    "help " + "x" * 3000, "help \u202e", "<!channel>", "<@U0BOSS> who", "poll poll poll",
]


def _ok(reply: Any, text: str) -> dict[str, Any]:
    assert isinstance(reply, Reply), text[:80]
    data = reply.to_dict()
    json.dumps(data)
    assert data["kind"], text[:80]
    if data["kind"] == "error":
        message = data["message"]
        assert message and "Traceback" not in message and "sqlite3" not in message, message
        assert len(message) < 4500, len(message)
    return data


@pytest.mark.parametrize("ctx", [HERE, ADMIN_HERE, ELSEWHERE], ids=["user", "admin", "other"])
def test_hostile_commands_get_clear_answers_and_change_nothing(ww: Any, ctx: Context) -> None:
    wid = ww.service.handle("watch deportation flights", HERE).to_dict()["watch"]["id"]
    assert wid == 1
    before = snapshot(ww.store)
    kinds: dict[str, int] = {}
    for text in HOSTILE:
        data = _ok(ww.service.handle(text, ctx), text)
        kinds[data["kind"]] = kinds.get(data["kind"], 0) + 1
        after = snapshot(ww.store)
        changed = [t for t in before if before[t] != after.get(t)]
        assert not changed, (text[:80], changed)
    assert kinds.get("error", 0) > len(HOSTILE) // 2, kinds


def test_private_and_non_http_feed_urls_are_refused_even_for_admins(ww: Any) -> None:
    for url in URLS:
        data = _ok(ww.service.handle(f"feed add {url}", ADMIN_HERE), url)
        assert data["kind"] == "error", (url, data)
        assert data["code"] in ("bad_command", "not_available", "forbidden"), data
    assert ww.store.list_feeds() == []


def test_control_and_bidi_characters_never_reach_a_stored_watch(ww: Any) -> None:
    data = _ok(ww.service.handle("watch \u202eflights\u202c \x1b[31mVenezuela\x00\u200f", HERE),
               "bidi")
    assert data["kind"] == "watch"
    for watch in ww.store.channel_watches("C1"):
        for ch in watch.query:
            assert unicodedata.category(ch) not in ("Cc", "Cf"), repr(watch.query)


def test_watches_are_managed_only_from_their_channel_by_creator_or_admin(ww: Any) -> None:
    wid = ww.service.handle("watch deportation flights", HERE).to_dict()["watch"]["id"]
    verbs = [f"unwatch {wid}", f"stop watching {wid}", f"mute {wid} for 2h", f"mute {wid}",
             f"unmute {wid}", f"digest {wid} daily 08:30", f"digest {wid} off"]
    before = snapshot(ww.store)
    for ctx, code in ((ELSEWHERE, "not_found"), (ADMIN_ELSEWHERE, "not_found"),
                      (STRANGER_HERE, "forbidden")):
        for text in verbs:
            if ctx is ADMIN_ELSEWHERE and "watch" in text:
                continue  # an admin may remove any watch from anywhere (issue 17)
            data = _ok(ww.service.handle(text, ctx), text)
            assert (data["kind"], data.get("code")) == ("error", code), (ctx, text, data)
        data = _ok(ww.service.mark_not_relevant(ctx, watch_id=wid, article_id=1), "nr")
        assert data["kind"] == "error", (ctx, data)
        listing = _ok(ww.service.handle("watches", ctx), "watches")
        if ctx.channel != "C1":
            assert listing["watches"] == []  # another channel's watches are not listed
    assert snapshot(ww.store) == before
    for ctx in (HERE, ADMIN_HERE):  # the creator and an admin, in the watch's channel
        assert _ok(ww.service.handle(f"mute {wid} for 2h", ctx), "m")["kind"] == "watch"
    assert _ok(ww.service.handle(f"unwatch {wid}", ADMIN_HERE), "u")["kind"] == "text"


def test_feed_management_follows_wirewatch_admins(ww: Any) -> None:
    ww.store.add_feed("http://feeds.example/rss", now="2026-01-01T00:00:00+00:00",
                      channel="C1")
    before = snapshot(ww.store)
    for text in ("feed add https://feeds.example/other.xml", "feed remove 1",
                 "feed import https://feeds.example/opml.xml", "feed import /tmp/x.opml"):
        for ctx in (HERE, ELSEWHERE, Context(channel="C1", user=None, front_end="slack")):
            data = _ok(ww.service.handle(text, ctx), text)
            assert (data["kind"], data.get("code")) == ("error", "forbidden"), (text, data)
    assert snapshot(ww.store) == before
    assert _ok(ww.service.handle("feeds", HERE), "feeds")["kind"] == "feeds"  # reading is open
    data = _ok(ww.service.handle("feed remove 1", ADMIN_ELSEWHERE), "admin remove")
    assert data["kind"] != "error", data


# -- the same through Slack ----------------------------------------------------------------


SLACK_HOSTILE = [
    "", "\x00", "\u202e" * 10, "x" * 3900, "a" * 20_000, "search ) OR (",
    "who Robert'); DROP TABLE actors;--", "mute 1 for 99999d", "events since 99999-01-01",
    "digest 1 daily 99:99", "feed add file:///etc/passwd", "feed add gopher://127.0.0.1:70/",
    "feed add <http://127.0.0.1/|bank>", "feed add http://169.254.169.254/",
    "unwatch 1", "mute 1 for 2h", "feed import /etc/passwd", "&lt;!channel&gt;",
    "who <!channel> <@U0BOSS>", "search <http://evil.example|bank>",
]


def test_hostile_slash_commands_are_answered_escaped_and_change_nothing(slack_ww: Any) -> None:
    wid = slack_ww.service.handle("watch deportation flights", HERE).to_dict()["watch"]["id"]
    before = snapshot(slack_ww.store)
    for n, text in enumerate(SLACK_HOSTILE):
        hook = slack_ww.response_url(f"h{n}")
        resp = slack_ww.sender.command(text, response_url=hook, channel="C2", user="U2")
        assert resp.status_code == 200, (text[:40], resp.status_code)
        [answer] = slack_ww.fake.wait_calls(f"/hooks/commands/T111/h{n}", timeout=10)
        body = json.dumps(answer.body)
        assert "<!channel>" not in body and "<@U0BOSS>" not in body, body[:300]
        assert "<http://evil.example|bank>" not in body and "|bank>" not in body, body[:300]
        assert "Traceback" not in body
        assert len(body) < 50_000
    # a button for another channel's watch changes nothing either
    from tests.slack.test_http_mode import _click

    for action in ("ww_unwatch", "ww_mute"):
        resp = slack_ww.sender.action(_click(action, str(wid),
                                             response_url=slack_ww.response_url(action)))
        assert resp.status_code == 200
        slack_ww.fake.wait_calls(f"/hooks/commands/T111/{action}", timeout=10)
    assert snapshot(slack_ww.store) == before
    assert slack_ww.fake.of("chat.postMessage") == []  # nothing was posted in any channel


def test_absurd_mute_durations_say_what_is_wrong(ww: Any) -> None:
    wid = ww.service.handle("watch deportation flights", HERE).to_dict()["watch"]["id"]
    for text in (f"mute {wid} for 99999d", f"mute {wid} for 99999999999999999999h",
                 f"mute {wid} for 9999d"):
        data = _ok(ww.service.handle(text, HERE), text)
        assert data["kind"] == "error" and ("year" in data["message"]), data
    assert ww.store.get_watch(wid).muted_until is None
